"""The throwaway PostgreSQL database a benchmark runs on: (re)created at the start, dropped at the end."""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse


def maintenance_url(url: str) -> tuple[str, str]:
    """(URL of the server's ``postgres`` database, name of the benchmark database) for ``url``."""
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--database-url needs a database name, e.g. .../expansion_bench")
    return urlunparse(parts._replace(path="/postgres")), name


def pg_create(url: str) -> None:
    """Create the database named by ``url``, dropping one an earlier run left behind."""
    import psycopg
    from psycopg import sql

    maintenance, name = maintenance_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            print(f"dropping leftover benchmark database {name}", flush=True)
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pg_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    maintenance, name = maintenance_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def bench_environment(*, database_url: str, var_dir: str, **extra: str) -> None:
    """The settings a benchmark process runs the product with: its database, its own var folder, an
    in-memory broker (tasks never leave the process) and quiet logs; ``extra`` sets more variables."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expansion.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["EXPANSION_VAR_DIR"] = var_dir
    os.environ.update(extra)
