"""Real services to break on purpose: a private Redis, a private PostgreSQL cluster, Celery workers,
beat schedulers and gunicorn, each in its own process group so a test can SIGKILL it like the kernel's
OOM killer would, restart it, and watch what the product does.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import django.db
import kombu.exceptions
import redis
import requests
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql")

#: How long a started process (a worker, gunicorn, redis-server) may take to come up on a loaded
#: two-core machine running several test sessions at once.
STARTUP_SECONDS = 120

#: Errors a probe meets while what it waits for is still coming up, going down or busy (a refused or
#: timed-out connection, a database restarting, a broker not yet listening): they mean "not yet".
TRANSIENT = (
    OSError,  # includes ConnectionError, TimeoutError and requests' RequestException
    requests.RequestException,
    redis.RedisError,
    django.db.Error,
    kombu.exceptions.KombuError,
)


def running_database_url() -> str:
    """The URL of the database this test runs on, for processes the test starts."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def process_env(redis: RedisServer, **settings: object) -> dict[str, str]:
    """The environment of a process the test starts: this test's database, ``redis`` as broker and
    result backend, tasks queued for real, plus ``settings`` (environment variables, as text)."""
    return {
        **os.environ,
        "DATABASE_URL": running_database_url(),
        "CELERY_BROKER_URL": redis.url(0),
        "CELERY_RESULT_BACKEND": redis.url(1),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **{name: str(value) for name, value in settings.items()},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], object], *, timeout: float, what: str | Callable[[], str], every: float = 0.2
):
    """Poll until ``predicate()`` is truthy and return its value. A transient error raised by the
    predicate (see ``TRANSIENT``) counts as "not yet". At the deadline the test fails with ``what``
    (text, or a function giving it then, e.g. the tail of a log) and the last error met."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except TRANSIENT as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            error = f"\nlast error: {type(last_error).__name__}: {last_error}" if last_error else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {detail}{error}") from last_error
        time.sleep(every)


def http_ok(url: str, *, timeout: float = 5) -> bool:
    """A readiness probe: True once ``url`` answers 200; refused, reset or slow means "not yet"."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


class Process:
    """A child process in its own session: ``kill()`` takes it and every child it forked."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.args, self.log = args, log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handlers, no acks, no commits."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()


class RedisServer:
    """A throwaway redis-server on its own port, without persistence (a restart loses every queue)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.process = Process(args, env=dict(os.environ), log=self.workdir / "redis.log")
        wait_until(self.ping, timeout=STARTUP_SECONDS, what=lambda: f"redis-server\n{self.process.text()}")
        return self

    def ping(self) -> bool:
        return bool(redis.Redis(port=self.port, socket_timeout=2).ping())

    def kill(self) -> None:
        if self.process:
            self.process.kill()


class PostgresCluster:
    """A private PostgreSQL cluster (initdb in a temporary directory) that a test may restart."""

    def __init__(self):
        versions = sorted((p.name for p in PG_BIN.iterdir() if (p / "bin" / "initdb").exists()), key=int)
        self.bin = PG_BIN / versions[-1] / "bin"
        self.dir = Path(tempfile.mkdtemp(prefix="eql-pg-"))
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0  # initdb and postgres refuse to run as root
        if self._as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=STARTUP_SECONDS)

    def init(self) -> PostgresCluster:
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "expansion", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.dir / "data"), str(self.dir / "log")
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://expansion@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Sender:
    """What beat does: put a task on the private broker by name (CELERY_BROKER_URL in this process's
    environment names the suite's broker, so the URL is given per connection)."""

    def __init__(self, url: str):
        self.url = url
        self.app = Celery("fault-sender", set_as_current=False)

    def send_task(self, name: str, args: tuple = ()) -> None:
        with self.app.connection_for_write(self.url) as conn:
            self.app.send_task(name, args=args, connection=conn)


def celery_worker(env: dict[str, str], log: Path, *, concurrency: int = 1, name: str = "w1") -> Process:
    """Start a worker and wait until it says it is ready (it logs ``ready.`` once it consumes)."""
    args = [sys.executable, "-m", "celery", "-A", "expansion", "worker", "--pool", "prefork"]
    args += ["--concurrency", str(concurrency), "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    args += ["-n", f"{name}@%h"]
    worker = Process(args, env=env, log=log)
    wait_until(
        lambda: " ready." in worker.text() or not worker.alive(),
        timeout=STARTUP_SECONDS,
        what=lambda: f"worker {name} to start\n{worker.text()[-3000:]}",
    )
    assert worker.alive(), worker.text()[-3000:]
    return worker


def pool_children(worker: Process) -> list[int]:
    """The pids of a prefork worker's pool processes (the ones that run tasks)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == worker.proc.pid:
            pids.append(int(stat.parent.name))
    return pids


def celery_beat(env: dict[str, str], log: Path) -> Process:
    args = [sys.executable, "-m", "celery", "-A", "expansion", "beat", "--loglevel", "INFO"]
    args += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1"]
    args += ["--pidfile", ""]
    return Process(args, env=env, log=log)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class HangingEndpoint:
    """Accepts TCP connections and never answers: an SMTP relay or a webhook that hangs."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)  # held open, never read or written

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


class FakeSMTP:
    """Just enough SMTP to accept mail and remember it."""

    def __init__(self):
        self.messages: list[bytes] = []
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 fake ESMTP\r\n")
                data, lines = False, []
                while line := self.rfile.readline():
                    if data:
                        if line.rstrip(b"\r\n") == b".":
                            fake.messages.append(b"".join(lines))
                            data, lines = False, []
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            lines.append(line)
                        continue
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        data = True
                        self.wfile.write(b"354 end with .\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSlack:
    """An incoming-webhook endpoint that answers 200 and remembers every post."""

    def __init__(self):
        self.posts: list[dict] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/fake"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
