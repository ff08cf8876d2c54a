"""The pass's local usage store: recent usage snapshots in a DuckDB file the compiled signal query reads.

When usage arrives through the CSV folder (or a synced source) it lives in this database, one row per
account, metric and day. Reading those rows back every hour is what made a large pass slow, so the pass
keeps the days it reads in ``<EXPANSION_VAR_DIR>/usage-store.duckdb`` and refreshes it past a
watermark:

- days written since the store's last refresh (``expansion.UsageChange``, recorded by every writer of
  snapshots) are read again; rows inserted since (snapshot id above the store's highest) are added;
- an unchanged hour reads nothing from the database;
- a store this database does not know (its token has no ``UsageStoreState`` row: a new machine, a
  restored database) or one starting later than the pass now needs is rebuilt.

The file is a cache: deleting it only costs one rebuild. One process refreshes it at a time (a lock
file next to it); each machine keeps its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Max

from expansion.models import Metric, UsageChange, UsageSnapshot
from scoring.models import UsageStoreState

logger = logging.getLogger(__name__)

STORE_NAME = "usage-store.duckdb"
#: Rows read from the database per fetch while (re)filling the store.
FETCH_ROWS = 200_000
#: A rebuild keeps this many days more than the pass needs, so the window moving by a day does not
#: rebuild the store every day.
SPARE_DAYS = 14


def store_path() -> Path:
    return Path(settings.VAR_DIR) / STORE_NAME


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def store_reading() -> contextlib.AbstractContextManager[None]:
    """Hold while a query reads the store: DuckDB lets no other process open a file one process
    writes, so readers and the refresh take turns on the same lock file."""
    return _locked(store_path())


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(
        # no key index: a rebuild appends tens of millions of rows, and a key index would cost more
        # than the query saves; rows are unique by (account, metric, date) by construction (_load)
        "CREATE TABLE IF NOT EXISTS usage (account BIGINT, metric VARCHAR, date DATE, value DOUBLE)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    return con


def _meta(con, key: str) -> str | None:
    # fetchall: a result left unfinished (fetchone) blocks the connection's next statement (DuckDB 2)
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def _rows(where: str, params: list) -> Iterator[pd.DataFrame]:
    """Snapshot rows (account, metric, date, value) in frames of FETCH_ROWS."""
    names = dict(Metric.objects.values_list("pk", "name"))
    table = UsageSnapshot._meta.db_table
    sql = f"SELECT account_id, metric_id, CAST(date AS TEXT), value FROM {table} WHERE {where}"  # nosec B608: model table, the condition is code; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while batch := cur.fetchmany(FETCH_ROWS):
            frame = pd.DataFrame.from_records(batch, columns=["account", "metric", "date", "value"])
            frame["metric"] = frame["metric"].map(names)
            frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
            yield frame


def _load(con, frames: Iterator[pd.DataFrame], *, replace: bool = True) -> int:
    """Append snapshot rows; ``replace`` first removes stored rows with the same keys."""
    rows = 0
    for frame in frames:
        con.register("store_batch", frame)
        if replace:
            con.execute(
                "DELETE FROM usage AS u USING store_batch AS b WHERE u.account = b.account "
                "AND u.metric = b.metric AND u.date = CAST(b.date AS DATE)"
            )
        con.execute("INSERT INTO usage SELECT account, metric, CAST(date AS DATE), value FROM store_batch")
        con.unregister("store_batch")
        rows += len(frame)
    return rows


def usage_store_refresh(*, first_date: dt.date) -> tuple[Path, str]:
    """Bring the store up to date for a pass reading usage from ``first_date`` on.

    Returns its path and a key that changes whenever its contents do (the pass caches its readings
    by it).
    """
    path = store_path()
    with _locked(path):
        con = _connect(path)
        try:
            return path, _refresh(con, first_date)
        finally:
            con.close()


def _merged_ranges(ranges, *, floor: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Date ranges (first, last) clipped at ``floor`` and merged where they overlap or touch, so a day
    written by many batches is read once."""
    merged: list[list[dt.date]] = []
    for first, last in sorted((max(start, floor), end) for start, end in ranges if end >= floor):
        if merged and first <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(start, end) for start, end in merged]


def _refresh(con, first_date: dt.date) -> str:
    token = _meta(con, "token")
    state = UsageStoreState.objects.filter(token=token).first() if token else None
    last_change = UsageChange.objects.aggregate(m=Max("pk"))["m"] or 0
    max_id = UsageSnapshot.objects.aggregate(m=Max("pk"))["m"] or 0
    if state is None or state.first_date > first_date:
        start = first_date - dt.timedelta(days=SPARE_DAYS)
        con.execute("DELETE FROM usage")
        con.execute("DELETE FROM meta")
        token = str(uuid.uuid4())
        con.execute("INSERT INTO meta VALUES ('token', ?)", [token])
        rows = _load(con, _rows("date >= %s", [start]), replace=False)
        state = UsageStoreState.objects.create(
            token=token, change_id=last_change, snapshot_max_id=max_id, first_date=start
        )
        logger.info("usage store rebuilt from %s: %d rows", start, rows)
        return f"{token}:{last_change}:{max_id}"
    floor = first_date - dt.timedelta(days=SPARE_DAYS)
    if floor > state.first_date + dt.timedelta(days=SPARE_DAYS):
        # the passes moved on: drop the days no pass reads any more (the answer for them is unchanged)
        con.execute("DELETE FROM usage WHERE date < ?", [floor])
        UsageStoreState.objects.filter(pk=state.pk).update(first_date=floor)
        state.first_date = floor
        logger.info("usage store now starts at %s", floor)
    if state.change_id == last_change and state.snapshot_max_id == max_id:
        return f"{token}:{last_change}:{max_id}"
    rows = 0
    for first, last in _merged_ranges(
        UsageChange.objects.filter(pk__gt=state.change_id).values_list("first_date", "last_date"),
        floor=state.first_date,
    ):
        con.execute("DELETE FROM usage WHERE date BETWEEN ? AND ?", [first, last])
        rows += _load(con, _rows("date >= %s AND date <= %s", [first, last]), replace=False)
    if max_id > state.snapshot_max_id:
        rows += _load(con, _rows("id > %s AND date >= %s", [state.snapshot_max_id, state.first_date]))
    # days that fell out of every pass's window
    con.execute("DELETE FROM usage WHERE date < ?", [state.first_date])
    UsageStoreState.objects.filter(pk=state.pk).update(change_id=last_change, snapshot_max_id=max_id)
    logger.info("usage store refreshed: %d rows re-read", rows)
    return f"{token}:{last_change}:{max_id}"
