"""Throughput of a warehouse source sync (expansion.sources) of usage rows: read, validate, write.

    .venv/bin/python bench/source_sync.py [--rows 500000] [--database-url URL] [--warehouse-url URL]

The product database is a throwaway SQLite file (or ``--database-url``, created and dropped like
bench/import_bench.py). Users and accounts are imported first; then ``--rows`` long usage rows
(accounts x 40 days x 7 metrics) are synced from a Parquet file and, with ``--warehouse-url`` (e.g.
postgres://expansion:expansion@127.0.0.1:5432/warehouse_bench, created and dropped here), from a
PostgreSQL table through the SQL source. Each sync starts from an empty snapshot table, so every row
is validated and written; a second sync then reads 0 rows (watermark). The same Parquet file is also
synced as a source scored in place: every row validated (on its Arrow types), none copied.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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
from import_bench import AS_OF, DAYS, write_reference_files  # noqa: E402

TARGET_PARQUET = 500_000
TARGET_SQL = 150_000


def usage_table(rows: int):
    import numpy as np
    import pyarrow as pa

    per_account = DAYS * len(METRICS)
    idx = np.arange(rows)
    account = idx // per_account
    day = (idx // len(METRICS)) % DAYS
    first = AS_OF - dt.timedelta(days=DAYS - 1)
    return pa.table(
        {
            "account_id": pa.array([f"B{a:06d}" for a in account]),
            "date": pa.array(np.datetime64(first) + day.astype("timedelta64[D]")),
            "metric": pa.array(np.array(METRICS, dtype=object)[idx % len(METRICS)]),
            "value": pa.array(np.random.default_rng(0).integers(0, 100_000, rows).astype("float64")),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--warehouse-url", default="")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="source-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    postgres = url.startswith(("postgres://", "postgresql://"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "expansion.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["EXPANSION_VAR_DIR"] = str(tmp / "var")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if postgres:
        pg_create(url)
    if args.warehouse_url:
        pg_create(args.warehouse_url)
    try:
        return run(args, tmp)
    finally:
        from django.db import connections

        connections.close_all()
        if postgres:
            pg_drop(url)
        if args.warehouse_url:
            pg_drop(args.warehouse_url)
        shutil.rmtree(tmp, ignore_errors=True)


def timed_sync(name: str, rows: int, target: int) -> bool:
    from expansion.models import UsageSnapshot, WarehouseSource
    from expansion.sources.services import source_sync

    UsageSnapshot.objects.all().delete()
    source = WarehouseSource.objects.get(name=name)
    started = time.monotonic()
    result = source_sync(source=source)
    seconds = time.monotonic() - started
    usage = result.inputs["usage"]
    in_place = source.score_in_place
    if not result.ok or usage.rows != rows or usage.created != (0 if in_place else rows):
        raise SystemExit(f"sync did not load every row: {result.rejected} {result.failed}")
    again_result = source_sync(source=source)
    if "usage" not in again_result.inputs:
        raise SystemExit(f"second sync failed: {again_result.failed} {again_result.rejected}")
    again = again_result.inputs["usage"]
    rate = rows / seconds
    ok = rate >= target
    print(
        f"{name:<8} {rows:>10,} rows  {seconds:6.2f} s  {rate:>10,.0f} rows/s  target {target:,}  "
        f"{'ok' if ok else 'BELOW TARGET'}  (second sync read {again.rows} rows in {again.seconds:.2f} s)"
    )
    return ok


def run(args, tmp: Path) -> int:
    import django

    django.setup()
    import pyarrow.parquet as pq
    from django.core.management import call_command
    from django.db import connection

    from expansion.models import SourceInput, WarehouseSource
    from expansion.services import import_file

    call_command("migrate", verbosity=0, interactive=False)
    accounts = -(-args.rows // (DAYS * len(METRICS)))
    for path in write_reference_files(tmp, accounts):
        with path.open("rb") as stream:
            import_file(name=path.name, stream=stream)
    table = usage_table(args.rows)
    lake = tmp / "lake"
    lake.mkdir()
    pq.write_table(table, lake / "usage.parquet")
    WarehouseSource.objects.create(name="parquet", kind="parquet", location=str(lake))
    print(f"database {connection.vendor}; {accounts:,} accounts; machine shared with other work")
    ok = timed_sync("parquet", args.rows, TARGET_PARQUET)
    # the same file for a source scored in place: every row validated, none copied
    WarehouseSource.objects.create(name="in-place", kind="parquet", location=str(lake), score_in_place=True)
    ok = timed_sync("in-place", args.rows, TARGET_PARQUET) and ok
    if args.warehouse_url:
        import psycopg

        with psycopg.connect(args.warehouse_url) as con:
            con.execute(
                "CREATE TABLE usage (account_id text, date date, metric text, value double precision)"
            )
            with con.cursor().copy("COPY usage FROM STDIN") as copy:
                for batch in table.to_batches(100_000):
                    for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                        copy.write_row(row)
            con.execute("ANALYZE usage")
        os.environ["BENCH_WAREHOUSE_URL"] = args.warehouse_url.replace("postgres://", "postgresql+psycopg://")
        source = WarehouseSource.objects.create(
            name="postgres", kind="sql", location="env:BENCH_WAREHOUSE_URL"
        )
        SourceInput.objects.create(source=source, input="usage", query="SELECT * FROM usage")
        ok = timed_sync("postgres", args.rows, TARGET_SQL) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
