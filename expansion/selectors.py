"""Read-side queries of the core domain that build the frames the layers above compute on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from django.db import connection

from expansion.models import ProductEvent

EVENT_COLUMNS = ["account", "event", "occurred_at"]


def events_frame(
    *,
    names: Iterable[str],
    since: dt.datetime,
    until: dt.datetime | None = None,
    pk_range: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Product events named ``names`` with ``since <= occurred_at < until`` (``until`` None: no end),
    optionally of accounts whose pk is in ``pk_range`` (inclusive), in one query.

    Columns: ``account`` (int pk), ``event`` (str), ``occurred_at`` (datetime64, UTC); empty with
    those columns when nothing matches."""
    names = sorted({names} if isinstance(names, str) else set(names))
    if not names:
        return _events(pd.DataFrame.from_records([], columns=EVENT_COLUMNS))
    # Only the model's table name and %s marks are formatted in; every value is a parameter.
    table, marks = ProductEvent._meta.db_table, ", ".join(["%s"] * len(names))
    ops = connection.ops
    sql = f"SELECT account_id, event, occurred_at FROM {table} WHERE event IN ({marks})"  # nosec B608: see above
    sql += " AND occurred_at >= %s"
    params: list = [*names, ops.adapt_datetimefield_value(since)]
    if until is not None:
        sql += " AND occurred_at < %s"
        params.append(ops.adapt_datetimefield_value(until))
    if pk_range is not None:
        sql += " AND account_id >= %s AND account_id <= %s"
        params += [pk_range[0], pk_range[1]]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=EVENT_COLUMNS)
    return _events(frame)


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's columns in their types (SQLite returns times as text, PostgreSQL as aware values)."""
    return pd.DataFrame(
        {
            "account": frame["account"].astype("int64"),
            "event": frame["event"].astype(str),
            "occurred_at": pd.to_datetime(frame["occurred_at"], utc=True, format="ISO8601").astype(
                "datetime64[ns, UTC]"
            ),
        }
    )
