"""Shared fixtures: database vendor markers, a real Celery worker process, Playwright on Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.harness import STARTUP_SECONDS, running_database_url, wait_until

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


def pytest_collection_modifyitems(config, items):
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


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters (login, API) never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


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
