"""Shared fixtures: database vendor markers, a real Celery worker process, Playwright on Debian's Chromium,
the shared contract check; under ``CI=true`` no test may skip (``tests/no_silent_skips.py``)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests import no_silent_skips
from tests.faults.harness import STARTUP_SECONDS, running_database_url, wait_until

pytest_plugins = ["tests.crm_fakes.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Fixtures through which a test reaches the database.
_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_setup", "live_server", "client", "admin_client"}
)


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="Leave out tests that touch no database (pure code gives the same answer on every database; "
        "the SQLite half runs them). Tests marked postgres or celery_worker always stay.",
    )


def _uses_database(item) -> bool:
    if item.get_closest_marker("django_db") or item.get_closest_marker("postgres"):
        return True
    if item.get_closest_marker("celery_worker"):
        return True
    return bool(_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("tests.no_silent_skips"):  # not already given with -p
        config.pluginmanager.register(no_silent_skips, "tests.no_silent_skips")


def pytest_collection_modifyitems(config, items):
    """Tests for a service this run does not have are skipped on a developer machine; under ``CI=true``
    those skips fail the run. ``make test`` deselects them (``-m``) from the SQLite half by design."""
    if config.getoption("--database-tests-only", default=False):
        pure = [item for item in items if not _uses_database(item)]
        if pure:
            config.hook.pytest_deselected(items=pure)
            items[:] = [item for item in items if _uses_database(item)]
    if not settings.configured:  # running pure tests with -p no:django
        return
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = settings.CELERY_BROKER_URL.startswith("redis://")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://...)")
    skip_worker = pytest.mark.skip(reason="needs Redis and PostgreSQL for a real Celery worker")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "celery_worker" in item.keywords and not (on_redis and on_postgres):
            item.add_marker(skip_worker)


def shared_checks_dir() -> Path:
    """The organisation's shared checks (``../shared/checks``); ``SHARED_CHECKS_DIR`` points elsewhere."""
    return Path(os.environ.get("SHARED_CHECKS_DIR") or ROOT.parent / "shared" / "checks")


@pytest.fixture(scope="session")
def contract_check():
    """``contract_check.py`` of the shared checks, the end-to-end contract check and its example data.

    Missing, it skips the tests built on it, and under ``CI=true`` fails them."""
    path = shared_checks_dir() / "contract_check.py"
    if not path.is_file():
        pytest.skip(f"no contract_check.py in {path.parent} (set SHARED_CHECKS_DIR)")
    spec = importlib.util.spec_from_file_location("contract_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fresh_cache():
    """API rate-limit counters never leak from one test into the next (sign-in attempts are in the
    database, rolled back with each test)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _attribution_anchor_file(tmp_path, monkeypatch):
    """Each test has its own anchor file of the split-credit log: a flushed table must never meet the
    signed heads an earlier test left behind."""
    if settings.configured:
        monkeypatch.setattr(settings, "ATTRIBUTION_ANCHOR_FILE", tmp_path / "attribution-anchors.jsonl")


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline in tests unless a test starts a real worker (``celery_worker_process``)."""
    from expansion.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture(scope="session", autouse=True)
def _patient_expect():
    """A page on a loaded two-core machine may take longer than Playwright's 5 s to settle: each
    ``expect`` polls up to 30 s (it returns as soon as the page matches)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real Celery worker in its own process, on the test database and the Redis broker."""
    from expansion.celery import app

    app.control.purge()  # a message left on the shared broker by an aborted run must not leak in
    env = {**os.environ, "DATABASE_URL": running_database_url(), "CELERY_TASK_ALWAYS_EAGER": "false"}
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "expansion",
            "worker",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "--logfile",
            str(log),
        ],
        cwd=ROOT,
        env=env,
    )
    app.conf.task_always_eager = False

    def log_text() -> str:
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"Celery worker exited: {log_text()}")
        return bool(app.control.inspect(timeout=1).ping())

    try:
        wait_until(
            answers, timeout=STARTUP_SECONDS, what=lambda: f"the Celery worker to answer a ping\n{log_text()}"
        )
    except AssertionError:
        proc.kill()
        raise
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
