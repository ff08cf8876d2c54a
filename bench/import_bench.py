"""Throughput of the usage.csv import (expansion.services.import_file) on SQLite or PostgreSQL.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--database-url URL] [--profile N]

Builds a throwaway database (SQLite in a temporary folder by default; for PostgreSQL pass e.g.
``--database-url postgres://expansion:expansion@127.0.0.1:5432/expansion_bench``: the database is
created when missing, recreated when left over from an earlier run, and dropped at the end), migrates
it, loads users and accounts, writes a long usage.csv with exactly ``--rows`` rows (accounts x 40 days
x 7 metrics) and times two imports of it: the first creates every row, the second must change nothing.
Peak memory is the process's ``ru_maxrss``, which includes the Python/Django/pandas baseline (printed
too). ``--profile N`` runs the first import under cProfile and prints the N most expensive functions.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import pg_create, pg_drop  # noqa: E402
from _synthetic import METRICS  # noqa: E402

DAYS = 40
AS_OF = dt.date(2026, 3, 31)
TARGET_ROWS_PER_SECOND = 50_000
TARGET_PEAK_MB = 500


def peak_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def write_reference_files(folder: Path, accounts: int) -> tuple[Path, Path]:
    users = folder / "users.csv"
    users.write_text("email,name,role,manager_email,capacity\nae@bench.example,Bench AE,AE,,\n")
    path = folder / "accounts.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "account_id,name,segment,plan_tier,contract_arr,customer_since,renewal_date,seats_licensed,"
            "api_limit_30d,owned_modules,health_score,status,ae_email,csm_email\n"
        )
        for i in range(accounts):
            out.write(
                f"B{i:06d},Bench Account {i},MidMarket,Business,{50_000 + i % 1000}.00,2023-01-01,"
                f"2026-12-31,100,2000000,analytics,80,active,ae@bench.example,\n"
            )
    return users, path


def write_usage(path: Path, rows: int, accounts: int) -> None:
    """Long usage rows in export order (account, date, metric), exactly ``rows`` of them, written in
    blocks so this process's peak memory stays near its baseline before the import is measured."""
    import numpy as np

    dates = [(AS_OF - dt.timedelta(days=DAYS - 1 - d)).isoformat() for d in range(DAYS)]
    per_account = DAYS * len(METRICS)
    rng = np.random.default_rng(0)
    block = 500
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("account_id,date,metric,value\n")
        for first in range(0, accounts, block):
            lines = []
            values = rng.integers(0, 100_000, size=block * per_account)
            k = 0
            for a in range(first, min(first + block, accounts)):
                account = f"B{a:06d}"
                for day in dates:
                    for metric in METRICS:
                        if written >= rows:
                            break
                        lines.append(f"{account},{day},{metric},{values[k]}\n")
                        k += 1
                        written += 1
            out.write("".join(lines))
            if written >= rows:
                break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="usage rows (default 1,000,000)")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile the first import")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="import-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    postgres = url.startswith(("postgres://", "postgresql://"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "expansion.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["EXPANSION_VAR_DIR"] = str(tmp / "var")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if postgres:
        pg_create(url)
    try:
        return run(args, tmp, url, postgres)
    finally:
        from django.db import connections

        connections.close_all()
        if postgres:
            pg_drop(url)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path, url: str, postgres: bool) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from expansion.services import import_file

    call_command("migrate", verbosity=0, interactive=False)
    accounts = -(-args.rows // (DAYS * len(METRICS)))
    users, accounts_csv = write_reference_files(tmp, accounts)
    for path in (users, accounts_csv):
        with path.open("rb") as stream:
            import_file(name=path.name, stream=stream)
    usage = tmp / "usage.csv"
    write_usage(usage, args.rows, accounts)
    size_mb = usage.stat().st_size / 2**20
    baseline = peak_mb()

    vendor = connection.vendor
    if vendor == "sqlite":
        import sqlite3

        db_label = f"SQLite {sqlite3.sqlite_version}"
    else:
        db_label = f"PostgreSQL {connection.pg_version // 10000}"

    runs = []
    for label in ("first import", "re-import"):
        profiler = cProfile.Profile() if args.profile and label == "first import" else None
        with usage.open("rb") as stream:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            result = import_file(name="usage.csv", stream=stream)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
        runs.append((label, result, seconds, peak_mb()))
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(out.getvalue())

    print(
        f"usage.csv import benchmark: {db_label}, {args.rows:,} rows ({accounts:,} accounts x {DAYS} days x "
        f"{len(METRICS)} metrics, {size_mb:.0f} MB), 1 process on {os.cpu_count()} cores"
    )
    print(f"baseline RSS before the import (Python + Django + pandas): {baseline:.0f} MB")
    print(f"{'run':<14}{'rows':>11}{'created':>11}{'updated':>9}{'seconds':>9}{'rows/s':>10}{'peak MB':>9}")
    for label, result, seconds, peak in runs:
        rate = result.rows / seconds if seconds else float("inf")
        print(
            f"{label:<14}{result.rows:>11,}{result.created:>11,}{result.updated:>9,}"
            f"{seconds:>9.2f}{rate:>10,.0f}{peak:>9.0f}"
        )
    first, again = runs
    problems = []
    if first[1].created != args.rows:
        problems.append(f"first import created {first[1].created:,} rows, expected {args.rows:,}")
    if again[1].created or again[1].updated:
        problems.append(f"re-import changed rows (created={again[1].created}, updated={again[1].updated})")
    for label, result, seconds, _ in runs:
        if result.rows / seconds < TARGET_ROWS_PER_SECOND:
            problems.append(f"{label}: below the target of {TARGET_ROWS_PER_SECOND:,} rows/s")
    if runs[-1][3] >= TARGET_PEAK_MB:
        problems.append(f"peak memory at or above the target of {TARGET_PEAK_MB} MB")
    for problem in problems:
        print(f"MISSED: {problem}")
    if not problems:
        print(f"targets met: >= {TARGET_ROWS_PER_SECOND:,} rows/s, peak < {TARGET_PEAK_MB} MB")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
