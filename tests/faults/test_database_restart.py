"""PostgreSQL restarts under traffic: gunicorn in the production configuration (DEBUG off) on a private
PostgreSQL cluster, requests flowing while the cluster stops and starts again. No request may return a
stack trace or a bare 500: during the outage pages answer 503 "back in a moment" (JSON for the API),
readiness says the database is down, and once PostgreSQL is back every request succeeds again on
fresh connections.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest
import requests

from tests.faults.harness import (
    ROOT,
    STARTUP_SECONDS,
    PostgresCluster,
    Process,
    free_port,
    http_ok,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]

EMAIL, PASSWORD = "ae.restart@example.com", "restart-test-password-2026"
PATHS = ("/", "/api/eqls/", "/health/ready")


@dataclass
class Hit:
    at: float
    path: str
    status: int
    body: str
    retry_after: str | None


@pytest.fixture
def cluster():
    cluster = PostgresCluster().init()
    cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE eql")
    yield cluster
    cluster.destroy()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600
    )


@pytest.fixture
def web(cluster, tmp_path):
    """gunicorn with the production settings on the private cluster, a user, one completed pass."""
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url("eql"),
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",
        "DJANGO_SECRET_KEY": "fault-test-" + "k" * 50,
        "ATTRIBUTION_CHAIN_KEY": "fault-test-" + "a" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "STATIC_COMPRESS": "false",
        "EXPANSION_VAR_DIR": str(tmp_path / "var"),
    }
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "collectstatic", "--noinput", "-v0")
    _manage(
        env,
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from expansion.models import User\n"
        "from scoring.models import ScoringPass\n"
        f"User.objects.create_user(username='{EMAIL}', email='{EMAIL}', password='{PASSWORD}', role='AE')\n"
        "now = timezone.now()\n"
        "ScoringPass.objects.create(as_of=now, started_at=now, finished_at=now, status='completed')\n",
    )
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "expansion.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "2", "--timeout", "30"]
    server = Process(args, env=env, log=tmp_path / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    # the first request to a fresh gunicorn worker imports the whole project: it may be slow
    wait_until(
        lambda: http_ok(f"{base}/health/live"),
        timeout=STARTUP_SECONDS,
        what=lambda: f"gunicorn\n{server.text()[-2000:]}",
    )
    yield base
    server.stop()


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=30)
    response = session.post(
        f"{base}/login/",
        data={"username": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=30,
    )
    assert response.ok
    assert session.get(f"{base}/", timeout=30).url == f"{base}/", "the sign-in did not take"
    return session


class Traffic(threading.Thread):
    """A signed-in person clicking through the inbox, the API and readiness, without pause."""

    def __init__(self, base: str, session: requests.Session):
        super().__init__(daemon=True)
        self.base, self.session = base, session
        self.hits: list[Hit] = []
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for path in PATHS:
                try:
                    r = self.session.get(f"{self.base}{path}", timeout=30, allow_redirects=False)
                except requests.RequestException as exc:  # a dropped or refused connection to gunicorn
                    self.errors.append(f"{path}: {exc}")
                    continue
                hit = Hit(time.monotonic(), path, r.status_code, r.text, r.headers.get("Retry-After"))
                self.hits.append(hit)
            time.sleep(0.02)

    def since(self, t: float) -> list[Hit]:
        return [h for h in list(self.hits) if h.at >= t]


def test_postgresql_restarting_under_traffic_gives_503s_then_recovers(cluster, web):
    traffic = Traffic(web, _signed_in(web))
    traffic.start()
    try:
        wait_until(lambda: len(traffic.hits) >= 15, timeout=90, what="traffic before the restart")
        before = list(traffic.hits)

        cluster.stop("fast")  # terminates every open connection
        down_at = time.monotonic()
        wait_until(lambda: len(traffic.since(down_at)) >= 15, timeout=90, what="traffic during the outage")
        cluster.start()
        up_at = time.monotonic()

        # connections recover by themselves: within seconds every request succeeds again
        def recovered() -> bool:
            recent = traffic.since(up_at)
            return len(recent) >= 15 and all(h.status == 200 for h in recent[-12:])

        wait_until(recovered, timeout=90, what="requests to succeed after the restart")
    finally:
        traffic.done.set()
        traffic.join(timeout=60)

    assert traffic.errors == []
    assert {h.status for h in before} == {200}
    during = [h for h in traffic.since(down_at) if h.at < up_at]
    assert any(h.status == 503 for h in during), "the outage was never seen"
    for hit in traffic.hits:
        assert hit.status in (200, 503), (hit.path, hit.status, hit.body[:500])
        assert "Traceback" not in hit.body
        assert "OperationalError" not in hit.body or hit.path == "/health/ready"
        if hit.status != 503:
            continue
        assert hit.path == "/health/ready" or hit.retry_after == "5", hit
        if hit.path == "/":
            assert "Back in a moment" in hit.body
        elif hit.path == "/api/eqls/":
            assert "database is briefly unavailable" in hit.body
        else:
            assert '"database": "error: OperationalError"' in hit.body
    after = traffic.since(up_at)
    assert {h.status for h in after[-12:]} == {200}
    assert {h.path for h in after[-12:]} == set(PATHS)
