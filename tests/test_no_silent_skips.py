"""Under ``CI=true`` a skip fails the run (``tests/no_silent_skips.py``): pytest in a subprocess on small
test files, with and without ``CI``, alone and with this suite's conftest (service markers, the shared
contract check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SKIPS = """
import pytest

def test_needs_redis():
    pytest.skip("needs Redis at redis://127.0.0.1:6379")

@pytest.mark.skipif(True, reason="no Chromium at /usr/bin/chromium")
def test_needs_chromium():
    pass

@pytest.mark.xfail(reason="a known gap", strict=True)
def test_known_gap():
    assert False

def test_passes():
    pass
"""

MODULE_SKIP = """
import pytest

pytest.importorskip("no_such_module_for_the_ci_check")

def test_never_runs():
    pass
"""

SERVICES = """
import pytest

@pytest.mark.postgres
def test_on_postgresql():
    pass

@pytest.mark.celery_worker
def test_with_a_worker():
    pass

def test_anywhere():
    pass
"""

CONTRACT = """
def test_uses_the_contract_check(contract_check):
    assert callable(contract_check.example_coverage)
"""


def run_pytest(folder: Path, *args: str, ci: str | None, suite: bool = False, **env: str):
    """pytest on ``folder``'s files; ``suite``: with this project's settings and tests/conftest.py, on
    SQLite and a filesystem broker whatever the outer run uses."""
    drop = {"CI", "PYTEST_ADDOPTS", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL"}
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    environ.update(env, EXPANSION_VAR_DIR=str(folder / "var"))
    if ci is not None:
        environ["CI"] = ci
    plugins = ["-c", str(ROOT / "pyproject.toml"), "-p", "tests.conftest"] if suite else ["-p", "no:django"]
    command = [sys.executable, "-m", "pytest", *plugins, "-p", "tests.no_silent_skips"]
    command += ["-p", "no:cacheprovider", "--rootdir", str(folder), "-q", "-rA", "-W", "ignore", *args]
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def summary(output: str) -> str:
    return output.strip().splitlines()[-1]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "test_skips.py").write_text(SKIPS)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    (tmp_path / "test_services.py").write_text(SERVICES)
    (tmp_path / "test_contract.py").write_text(CONTRACT)
    return tmp_path


def test_in_ci_a_skipped_test_fails_with_its_reason(folder):
    code, out = run_pytest(folder, str(folder / "test_skips.py"), ci="true")

    assert code == 1
    assert re.search(r"1 failed, 1 passed, 1 xfailed, 1 error", summary(out)), out
    assert "skipped under CI=true, which fails the run: needs Redis at redis://127.0.0.1:6379" in out
    assert "skipped under CI=true, which fails the run: no Chromium at /usr/bin/chromium" in out
    assert re.search(r"FAILED .*test_skips.py::test_needs_redis", out)
    assert re.search(r"ERROR .*test_skips.py::test_needs_chromium", out)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_outside_ci_a_skip_stays_a_skip(folder, ci):
    code, out = run_pytest(folder, str(folder / "test_skips.py"), ci=ci)

    assert code == 0, out
    assert re.search(r"1 passed, 2 skipped, 1 xfailed", summary(out)), out


def test_in_ci_a_module_that_skips_itself_fails_the_run(folder):
    code, out = run_pytest(folder, str(folder / "test_module_skip.py"), ci="true")
    assert code != 0
    assert (
        "skipped under CI=true, which fails the run: could not import 'no_such_module_for_the_ci_check'"
        in out
    )

    code, out = run_pytest(
        folder, str(folder / "test_module_skip.py"), str(folder / "test_skips.py"), ci=None
    )
    assert code == 0, out
    assert re.search(r"1 passed, 3 skipped, 1 xfailed", summary(out)), out


def test_in_ci_a_postgres_or_worker_test_without_those_services_fails(folder):
    code, out = run_pytest(folder, str(folder / "test_services.py"), ci="true", suite=True)

    assert code == 1
    assert re.search(r"1 passed, 2 errors", summary(out)), out
    assert "skipped under CI=true, which fails the run: needs PostgreSQL" in out
    assert "skipped under CI=true, which fails the run: needs Redis and PostgreSQL" in out


def test_the_sqlite_half_deselects_postgres_and_worker_tests_so_nothing_skips(folder):
    # the selection the Makefile's SQLite half uses
    selection = "not browser and not postgres and not celery_worker"
    code, out = run_pytest(folder, "-m", selection, str(folder / "test_services.py"), ci="true", suite=True)

    assert code == 0, out
    assert re.search(r"1 passed, 2 deselected", summary(out)), out
    makefile = (ROOT / "Makefile").read_text()
    assert f'-m "{selection}"' in makefile


def test_in_ci_a_missing_contract_check_fails(folder):
    empty = folder / "no-checks-here"
    empty.mkdir()
    args = (str(folder / "test_contract.py"),)

    code, out = run_pytest(folder, *args, ci="true", suite=True, SHARED_CHECKS_DIR=str(empty))
    assert code == 1
    assert f"skipped under CI=true, which fails the run: no contract_check.py in {empty}" in out

    code, out = run_pytest(folder, *args, ci=None, suite=True, SHARED_CHECKS_DIR=str(empty))
    assert code == 0, out
    assert "1 skipped" in summary(out)


def test_the_contract_check_is_found_next_to_the_repository(folder):
    if not (ROOT.parent / "shared" / "checks" / "contract_check.py").is_file():
        pytest.fail(
            f"no contract_check.py in {ROOT.parent / 'shared' / 'checks'}: the contract tests cannot run"
        )
    code, out = run_pytest(folder, str(folder / "test_contract.py"), ci="true", suite=True)
    assert code == 0, out
    assert "1 passed" in summary(out)
