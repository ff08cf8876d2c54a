"""Where a pass's signal readings come from: the compiled signal query run where the usage lives, or
the reference engine over snapshots read from this database.

``SCORING_PUSHDOWN`` (environment): ``auto`` (default) runs the query of ``scoring.pushdown`` once
per pass, with DuckDB, over

- the usage of a source marked *score in place* (Parquet files or a DuckDB file, never copied here), or
- the local usage store (``scoring.usage_store``) kept from this database's snapshots;

and keeps the per-account result in ``<EXPANSION_VAR_DIR>/readings/<key>.parquet``, the key naming the
query, the usage's version and the accounts, so an unchanged hour reuses it. Chunks read their
account range from that file; a chunk on a machine without it computes its own range the same way.
``off``, or a signal the compiler refuses, reads snapshots and evaluates with ``scoring.engine``.
Both give the same readings (``tests/scoring/test_pushdown.py``, and the pass tests run both ways).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from django.conf import settings

from expansion.models import SourceKind, WarehouseSource
from expansion.sources import readers
from expansion.sources.services import in_place_usage_problem, source_location
from scoring import config as cfg
from scoring import engine, pushdown, selectors, usage_store

logger = logging.getLogger(__name__)

PUSHDOWN_AUTO = "auto"
PUSHDOWN_OFF = "off"
PUSHDOWN_MODES = (PUSHDOWN_AUTO, PUSHDOWN_OFF)
#: Readings files kept (the newest); older ones are deleted when a pass writes a new one.
KEEP_READINGS = 4


class SourceUnavailable(RuntimeError):
    """A score-in-place source's usage cannot be read (no file where the source says)."""


@dataclass(frozen=True)
class UsagePlace:
    """Where the compiled query reads usage: a DuckDB relation keyed by ``key_column`` accounts."""

    relation: str  # SQL of a relation (account, metric, date, value)
    version: str  # changes whenever the usage does
    keyed_by_account_id: bool  # True: ``account`` is the warehouse account_id, else our pk
    attach: str = ""  # a DuckDB file to attach read-only as ``src`` first
    label: str = ""


def pushdown_mode() -> str:
    mode = getattr(settings, "SCORING_PUSHDOWN", PUSHDOWN_AUTO)
    return mode if mode in PUSHDOWN_MODES else PUSHDOWN_AUTO


def query_memory() -> str:
    """DuckDB's memory ceiling for the pass query (``SCORING_QUERY_MEMORY``; it spills beyond it)."""
    return getattr(settings, "SCORING_QUERY_MEMORY", "1500MB")


def in_place_source() -> WarehouseSource | None:
    """The enabled source whose usage is scored in place (the first by name), if any."""
    return (
        WarehouseSource.objects.filter(
            enabled=True, score_in_place=True, kind__in=[SourceKind.PARQUET, SourceKind.DUCKDB]
        )
        .prefetch_related("inputs")
        .order_by("name")
        .first()
    )


def _source_place(source: WarehouseSource) -> UsagePlace:
    problem = in_place_usage_problem(source)
    if problem:
        raise SourceUnavailable(problem)
    location = source_location(source)
    spec = next((i for i in source.inputs.all() if i.input == "usage"), None)
    configured = spec.query.strip() if spec else ""
    if source.kind == SourceKind.PARQUET:
        found = readers.parquet_path(location, "usage", configured)
        if found is None:
            raise SourceUnavailable(f"source {source.name}: no usage Parquet under {location}")
        target, label = found
        files = sorted(Path(p) for p in _glob(target))
        if not files:
            raise SourceUnavailable(f"source {source.name}: {label}: no Parquet files")
        version = hashlib.sha256(
            "|".join(f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files).encode()
        ).hexdigest()
        quoted = target.replace("'", "''")
        relation = (
            "SELECT CAST(account_id AS VARCHAR) AS account, CAST(metric AS VARCHAR) AS metric, "  # nosec B608: the source's own configured path, quoted
            f"CAST(date AS DATE) AS date, TRY_CAST(value AS DOUBLE) AS value "
            f"FROM read_parquet('{quoted}', union_by_name = true)"
        )
        return UsagePlace(relation=relation, version=version, keyed_by_account_id=True, label=label)
    path = Path(location)
    if not path.is_file():
        raise SourceUnavailable(f"source {source.name}: {location}: no DuckDB database file here")
    stat = path.stat()
    table = configured or "usage"
    body = (
        f"SELECT * FROM src.{table}"  # nosec B608: the source's own configured table or query
        if readers.is_table_name(table)
        else f"SELECT * FROM ({table.rstrip(';')}) AS q"  # nosec B608: the source's own configured query
    )
    relation = (
        "SELECT CAST(account_id AS VARCHAR) AS account, CAST(metric AS VARCHAR) AS metric, "  # nosec B608: see above
        f"CAST(date AS DATE) AS date, TRY_CAST(value AS DOUBLE) AS value FROM ({body}) AS s"
    )
    return UsagePlace(
        relation=relation,
        version=f"{path}:{stat.st_size}:{stat.st_mtime_ns}",
        keyed_by_account_id=True,
        attach=str(path),
        label=table,
    )


def _glob(target: str) -> list[str]:
    import glob

    return glob.glob(target)


def read_back_days(config: cfg.ScoringConfig) -> int:
    """How many days before as_of the readings look at most (the engine's horizon)."""
    return config.lookback_days + config.policy.max_data_age_days + 1


def _store_place(config: cfg.ScoringConfig, as_of: dt.date) -> UsagePlace:
    first = as_of - dt.timedelta(days=read_back_days(config) + 1)
    path, version = usage_store.usage_store_refresh(first_date=first)
    return UsagePlace(
        relation="SELECT account, metric, date, value FROM src.usage",
        version=version,
        keyed_by_account_id=False,
        attach=str(path),
        label="usage store",
    )


def _accounts_version(accounts: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(accounts.drop(columns=["owned_modules"]), index=True)
    owned = accounts["owned_modules"].map(lambda m: ";".join(sorted(m or ()))).to_numpy()
    digest = hashlib.sha256(hashed.to_numpy().tobytes())
    digest.update("\x1f".join(owned).encode())
    return digest.hexdigest()


def _connect(place: UsagePlace) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{query_memory()}'")
    con.execute(f"SET temp_directory = '{Path(settings.VAR_DIR) / 'duckdb-tmp'}'")
    if place.attach:
        con.execute(f"ATTACH '{place.attach.replace(chr(39), chr(39) * 2)}' AS src (READ_ONLY)")
    return con


def _run(compiled: pushdown.CompiledSignals, place: UsagePlace, accounts: pd.DataFrame) -> pd.DataFrame:
    """The compiled query over ``place`` for ``accounts`` (pk index); the result keyed by pk."""
    with usage_store.store_reading() if not place.keyed_by_account_id else contextlib.nullcontext():
        return _run_unlocked(compiled, place, accounts)


def _run_unlocked(
    compiled: pushdown.CompiledSignals, place: UsagePlace, accounts: pd.DataFrame
) -> pd.DataFrame:
    con = _connect(place)
    try:
        if place.keyed_by_account_id:
            by_id = accounts.reset_index().set_index("account_id")
            wide = pushdown.duckdb_table(compiled, accounts=by_id, usage_sql=place.relation, connection=con)
            wide["account"] = wide["account"].map(by_id["account"]).astype("int64")
        else:
            wide = pushdown.duckdb_table(
                compiled, accounts=accounts, usage_sql=place.relation, connection=con
            )
    finally:
        con.close()
    return wide


def _usage_place(config: cfg.ScoringConfig, as_of: dt.date) -> UsagePlace:
    source = in_place_source()
    return _source_place(source) if source is not None else _store_place(config, as_of)


def _compiled(config: cfg.ScoringConfig, as_of: dt.date) -> pushdown.CompiledSignals | None:
    if pushdown_mode() == PUSHDOWN_OFF:
        return None
    compiled = pushdown.compile_signals(config, as_of)
    if compiled.refused:
        logger.info(
            "scoring: the engine evaluates this pass (not compiled: %s)", "; ".join(compiled.refused.values())
        )
        return None
    return compiled


def pass_readings_prepare(*, config: cfg.ScoringConfig, as_of: dt.date) -> str:
    """Once per pass: the readings of every account, computed where the usage lives and kept in a
    file named by what they depend on (reused when nothing changed). "" = the engine evaluates."""
    compiled = _compiled(config, as_of)
    if compiled is None:
        return ""
    started = time.monotonic()
    place = _usage_place(config, as_of)
    accounts = selectors.pushdown_accounts_frame()
    key = hashlib.sha256(
        "\x1e".join([compiled.sql, place.version, _accounts_version(accounts)]).encode()
    ).hexdigest()[:32]
    folder = Path(settings.VAR_DIR) / "readings"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.parquet"
    if target.exists():
        logger.info("scoring: readings unchanged (%s), reused", target.name)
        target.touch()
        return str(target)
    wide = _run(compiled, place, accounts)
    partial = target.with_suffix(".partial")
    wide.sort_values("account").to_parquet(partial, index=False)
    partial.replace(target)
    for old in sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime)[:-KEEP_READINGS]:
        old.unlink(missing_ok=True)
    logger.info(
        "scoring: readings of %d accounts from %s in %.1fs",
        len(wide),
        place.label,
        time.monotonic() - started,
    )
    return str(target)


def readings_for(
    *,
    config: cfg.ScoringConfig,
    as_of: dt.date,
    accounts: pd.DataFrame,
    pk_range: tuple[int, int] | None = None,
    path: str = "",
) -> engine.Readings:
    """The readings of ``accounts`` (an engine accounts frame): from the pass's readings file when
    given and present, else computed now (pushdown for just these accounts, or the engine)."""
    compiled = _compiled(config, as_of) if path or pushdown_mode() == PUSHDOWN_AUTO else None
    max_age = config.policy.max_data_age_days
    if compiled is not None and path and Path(path).exists():
        lo, hi = pk_range if pk_range is not None else (int(accounts.index.min()), int(accounts.index.max()))
        con = duckdb.connect()
        try:
            wide = con.execute(
                "SELECT * FROM read_parquet(?) WHERE account BETWEEN ? AND ?", [path, lo, hi]
            ).df()
        finally:
            con.close()
        return pushdown.readings_from_table(wide, accounts.index, compiled, as_of, max_age)
    if compiled is not None:
        place = _usage_place(config, as_of)
        numeric = selectors.pushdown_accounts_frame(pks=accounts.index.tolist())
        wide = _run(compiled, place, numeric)
        return pushdown.readings_from_table(wide, accounts.index, compiled, as_of, max_age)
    source = in_place_source()
    if source is not None:
        snapshots = _source_snapshots(_source_place(source), config, as_of, accounts)
    else:
        snapshots = selectors.snapshot_window(
            config, as_of, pk_range=pk_range, pks=None if pk_range is not None else accounts.index.tolist()
        )
    return engine.readings_from_snapshots(accounts, snapshots, config, as_of)


def _source_snapshots(
    place: UsagePlace, config: cfg.ScoringConfig, as_of: dt.date, accounts: pd.DataFrame
) -> pd.DataFrame:
    """The engine's long snapshot frame (pk keyed) read from a score-in-place source."""
    first = as_of - dt.timedelta(days=read_back_days(config))
    con = _connect(place)
    try:
        keys = pd.DataFrame(
            {"account_id": accounts["account_id"].to_numpy(), "pk": accounts.index.to_numpy()}
        )
        con.register("pass_keys", keys)
        frame = con.execute(
            f"SELECT k.pk AS account, u.date AS date, u.metric AS metric, u.value AS value "  # nosec B608: the place's relation is built in this module
            f"FROM ({place.relation}) AS u JOIN pass_keys AS k ON k.account_id = u.account "
            "WHERE u.date >= ? AND u.date <= ?",
            [first, as_of],
        ).df()
    finally:
        con.close()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["value"] = frame["value"].astype(float)
    return frame
