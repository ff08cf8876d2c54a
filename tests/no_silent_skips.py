"""Under ``CI=true`` a skipped test fails the run, with the reason it would have been skipped for.

A test skipped because a service is missing (PostgreSQL, Redis, a Celery worker, Chromium) or a file
it checks against is absent (``shared/checks/contract_check.py``) looks like a pass in a summary; in
CI that is a hole nobody sees. Tests that a half of ``make test`` leaves out by design are
*deselected* with ``-m`` (not collected, so not skipped); whatever still skips is a fault.

Loaded by ``tests/conftest.py`` (or ``-p tests.no_silent_skips``). Expected failures (``xfail``) are
left alone. On a developer machine (no ``CI``) skips stay skips.
"""

from __future__ import annotations

import os

import pytest

CI_VALUES = ("true", "1", "yes")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def _reason(longrepr) -> str:
    """The reason of a skip report (``(path, lineno, reason)``), else its text."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, lineno, reason = longrepr
        return f"{reason} ({path}:{lineno})" if lineno is not None else f"{reason} ({path})"
    return str(longrepr)


def _as_failure(report) -> None:
    reason = _reason(report.longrepr).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which fails the run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        _as_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Module-level ``pytest.skip(allow_module_level=True)`` and ``pytest.importorskip``."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci():
        _as_failure(report)
