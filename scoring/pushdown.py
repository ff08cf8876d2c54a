"""Compile the signal definitions of a ScoringConfig into one SQL query (pure: no Django).

The query reads a long usage table and an accounts table and returns one row per account and compiled
signal, never daily rows::

    account, signal, value, threshold, fired, target

``value`` is the reading on the account's anchor day (NULL when none), ``fired`` follows the engine's
rules exactly, ``target`` is the module a module family fired for ("" otherwise; tier and module targets
of ordinary signals are decided from account fields by the engine). ``scoring.engine`` stays the
reference; ``tests/scoring/test_pushdown.py`` holds the two to identical fired tables.

Input tables (names are parameters):

- usage ``(account, metric, date, value)``: ``date`` a DATE, ``value`` a double; a missing value is NULL
  (load NaN as NULL). Rows after as_of or of accounts not in the accounts table are ignored.
- accounts ``(account, customer_since, <numeric fields>)``: one row per account to evaluate, with the
  numeric account fields the compiled signals divide by (``tenure_days`` is derived from
  ``customer_since``).
- owned ``(account, module)``: the modules each account owns (read only by module families).

Semantics, as in the engine (``scoring.engine._signal_fires`` and ``_build_cube``), with ``off`` = days
before as_of and ``H`` = config.lookback_days + max_data_age_days + 1 (the engine's horizon):

- anchor offset ``A`` = the smallest ``off`` of any usage row of the account (any metric, NULL value
  too); fresh = ``A <= max_data_age_days``. A stale account has no reading and fires nothing.
- one aggregate per (account, metric), keyed by the two alone (no join ahead of the big scan):
  ``e<o>`` = the value ``o`` days before as_of, ``q<s>`` = the latest value at least ``s`` days before
  as_of, ``latest``. A fresh account's readings pick ``e<A + k>`` and ``q<A + k + W>`` (``A`` takes
  only max_data_age_days + 1 values, so a CASE on it does).
- base = metric / NULLIF(denominator, 0); reading at back k: value: ``base_k``; change: ``base_k -
  ffill(base)_(k+W)``; ratio: ``base_k / NULLIF(ffill(base)_(k+W), 0)``. With a denominator metric the
  ratio is formed day by day first (days at or beyond ``H - 1`` fold into day ``H - 1`` keeping each
  metric's latest value, as the engine's cube does).
- fired = fresh and, for every k < persistence, reading_k IS NOT NULL and reading_k <op> threshold.
- module family: each member metric ``prefix:<module>`` whose module the account does not own is a
  candidate; the highest firing reading wins (ties: module name); without one the value is the highest
  reading of a not-owned module.

The SQL is written in the DuckDB dialect and transpiled by sqlglot, so the same definition runs on
PostgreSQL (and the warehouses sqlglot writes). Module-name ties sort by the database collation
(byte order under DuckDB and PostgreSQL's "C" collation).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import sqlglot

from scoring import engine
from scoring.config import (
    ACCOUNT_FIELDS,
    COMPARE_CHANGE,
    COMPARE_RATIO,
    COMPARE_VALUE,
    CONDITION_FAMILY_COUNT,
    MODULE_WILDCARD,
    OPERATORS,
    ScoringConfig,
    SignalSpec,
)

__all__ = [
    "NUMERIC_FIELDS",
    "OUTPUT_COLUMNS",
    "CompiledSignals",
    "PushdownRefused",
    "accounts_table",
    "compile_signals",
    "duckdb_run",
    "duckdb_table",
    "long_table",
    "owned_frame",
    "readings_from_table",
    "refusal",
]

#: Columns of the compiled query's result, in order.
OUTPUT_COLUMNS = ("account", "signal", "value", "threshold", "fired", "target")

#: Account fields a denominator may read in SQL (the text fields never give a number).
NUMERIC_FIELDS = ("contract_arr", "tenure_days", "health_score", "seats_licensed", "api_limit_30d")

_SQL_OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=", "ne": "<>"}


class PushdownRefused(ValueError):
    """A signal definition the compiler does not translate (the engine evaluates it instead)."""


@dataclass(frozen=True)
class CompiledSignals:
    """The query, the signal keys it answers, and the refused ones with their reason."""

    sql: str
    signals: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    account_fields: tuple[str, ...] = ()  # numeric accounts columns the query reads
    reads_owned: bool = False  # the query joins the owned table
    latest_metrics: tuple[str, ...] = ()  # l<i> columns: the latest value of each
    thresholds: tuple[float, ...] = ()  # of ``signals``, in order


def refusal(spec: SignalSpec) -> str:
    """Why ``spec`` cannot be compiled ("" = it can)."""
    if spec.operator not in OPERATORS:
        return f"signal {spec.key!r}: unknown operator {spec.operator!r}"
    if spec.compare not in (COMPARE_VALUE, COMPARE_CHANGE, COMPARE_RATIO):
        return f"signal {spec.key!r}: unknown compare {spec.compare!r}"
    if spec.window_days < 0:
        return f"signal {spec.key!r}: window_days must not be negative"
    if spec.denominator_metric and spec.denominator_metric.endswith(MODULE_WILDCARD):
        return f"signal {spec.key!r}: a module family cannot be a denominator"
    if any(c.kind == CONDITION_FAMILY_COUNT for c in spec.conditions):
        return f"signal {spec.key!r}: a family-count condition is only evaluated by the engine"
    if spec.denominator_field and spec.denominator_field not in NUMERIC_FIELDS:
        if spec.denominator_field in ACCOUNT_FIELDS:
            return (
                f"signal {spec.key!r}: denominator field {spec.denominator_field!r} is text, "
                "not a number; only the engine evaluates it"
            )
        return f"signal {spec.key!r}: unknown denominator field {spec.denominator_field!r}"
    return ""


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _number(value: float) -> str:
    # repr round-trips the double exactly; CAST keeps PostgreSQL from comparing as numeric.
    return f"CAST({float(value)!r} AS DOUBLE)"


_NULL = "CAST(NULL AS DOUBLE)"


@dataclass
class _Needs:
    """Columns of the (account, metric) summary: exact days before as_of and "latest from" days."""

    days: set[int] = field(default_factory=set)
    since: set[int] = field(default_factory=set)

    def add(self, spec: SignalSpec, max_age: int) -> None:
        # a fresh account's anchor is 0 .. max_age days before as_of
        for anchor in range(max_age + 1):
            for k in range(max(spec.persistence_days, 1)):
                self.days.add(anchor + k)
                if spec.compare != COMPARE_VALUE:
                    self.since.add(anchor + k + spec.window_days)


def _first_by(value: str, order: str, condition: str, dialect: str) -> str:
    """The ``value`` of the row with the smallest ``order`` among rows meeting ``condition``."""
    where = f"{condition} AND {value} IS NOT NULL"
    if dialect == "duckdb":
        return f"ARG_MIN({value}, {order}) FILTER (WHERE {where})"
    return f"(ARRAY_AGG({value} ORDER BY {order}) FILTER (WHERE {where}))[1]"


def _summary_columns(needs: dict[str, _Needs], horizon: int, dialect: str) -> list[str]:
    """Aggregates of one (account, metric) group of rows ``u``: ``e<o>`` the value ``o`` days before
    as_of, ``q<s>`` the latest value at least ``s`` days before as_of, ``latest`` the latest value
    within the horizon (the days a pass reads).

    Every metric gets the columns any metric needs: limiting a column to the metrics that read it
    costs a test per row and aggregate, more than it saves (measured on DuckDB).
    """
    days = sorted(set().union(*(n.days for n in needs.values())))
    since = sorted(set().union(*(n.since for n in needs.values())))
    cols = [f"MAX(u.value) FILTER (WHERE u.off = {o}) AS e{o}" for o in days]
    cols += [f"{_first_by('u.value', 'u.off', f'u.off >= {s}', dialect)} AS q{s}" for s in since]
    cols.append(f"{_first_by('u.value', 'u.off', f'u.off <= {horizon - 1}', dialect)} AS latest")
    return cols


def _at_anchor(row: str, column: str, shift: int, max_age: int) -> str:
    """``<row>.<column><anchor + shift>`` for a fresh account (anchor 0 .. max_age); NULL when stale."""
    branches = " ".join(f"WHEN {anchor} THEN {row}.{column}{anchor + shift}" for anchor in range(max_age + 1))
    return f"(CASE a.first_off {branches} END)"


def _readings(spec: SignalSpec, row: str, divisor: str | None, max_age: int) -> list[str]:
    """SQL of reading_k (k < persistence) over a summary row alias; ``divisor`` an account field.

    A stale account (no usage within max_age days) reads NULL: it has no current reading.
    """

    def scaled(column: str) -> str:
        return column if divisor is None else f"({column} / NULLIF({divisor}, 0))"

    out = []
    for k in range(max(spec.persistence_days, 1)):
        now = scaled(_at_anchor(row, "e", k, max_age))
        if spec.compare == COMPARE_VALUE:
            out.append(now)
            continue
        past = scaled(_at_anchor(row, "q", k + spec.window_days, max_age))
        out.append(f"({now} - {past})" if spec.compare == COMPARE_CHANGE else f"({now} / NULLIF({past}, 0))")
    return out


def _fired(spec: SignalSpec, readings: list[str]) -> str:
    op = _SQL_OPERATORS[spec.operator]
    threshold = _number(spec.threshold)
    terms = " AND ".join(f"{r} IS NOT NULL AND {r} {op} {threshold}" for r in readings)
    return f"CASE WHEN {terms} THEN 1 ELSE 0 END"


def _member(column: str, prefix: str) -> str:
    return f"(SUBSTR({column}, 1, {len(prefix)}) = {_text(prefix)} AND LENGTH({column}) > {len(prefix)})"


def compile_signals(
    config: ScoringConfig,
    as_of: dt.date,
    *,
    usage: str = "usage",
    accounts: str = "accounts",
    owned: str = "owned",
    dialect: str = "duckdb",
    latest_metrics: tuple[str, ...] | None = None,
) -> CompiledSignals:
    """One query answering every compilable signal of ``config`` at ``as_of`` (see the module doc).

    The result has one row per account of the accounts table: ``account``, ``anchor_off`` (days from
    the latest usage row on or before as_of to as_of; NULL = none), ``l<i>`` the latest value of
    ``latest_metrics[i]`` (default: the metrics the signals and gates read), and per compiled signal
    ``v<i>`` (reading), ``f<i>`` (fired) and ``t<i>`` (the module a family fired for).
    ``long_table`` turns it into one row per account and signal.

    Signals ``refusal`` rejects are left out and listed in ``refused``.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    horizon = config.lookback_days + config.policy.max_data_age_days + 1
    last = horizon - 1
    refused = {s.key: refusal(s) for s in config.reading_signals if refusal(s)}
    specs = [s for s in config.reading_signals if s.key not in refused]
    if latest_metrics is None:
        latest_metrics = tuple(
            dict.fromkeys(
                [s.metric for s in specs if not s.is_module_family]
                + [s.denominator_metric for s in specs if s.denominator_metric]
                + [g.subject for g in config.gates if g.subject not in ACCOUNT_FIELDS]
            )
        )

    # What the shared summary (signals without a denominator metric) needs per metric or family.
    max_age = int(config.policy.max_data_age_days)
    needs: dict[str, _Needs] = {}
    for spec in specs:
        if not spec.denominator_metric:
            needs.setdefault(spec.metric, _Needs()).add(spec, max_age)
    for name in latest_metrics:
        needs.setdefault(name, _Needs())
    names = sorted(n for n in needs if not n.endswith(MODULE_WILDCARD))
    prefixes = sorted(n[: -len(MODULE_WILDCARD)] + ":" for n in needs if n.endswith(MODULE_WILDCARD))
    wanted = [f"u.metric IN ({', '.join(_text(n) for n in names)})"] if names else []
    wanted += [_member("u.metric", p) for p in prefixes]

    as_of_sql = f"DATE '{as_of.isoformat()}'"
    # the usage rows on or before as_of, each with its day offset (inlined where used: never stored)
    rows = (
        f"(SELECT x.account AS account, x.metric AS metric, CAST({as_of_sql} - x.date AS INTEGER) AS off, "  # nosec B608: literals via _text/_number, table names from code
        f"CAST(x.value AS DOUBLE) AS value FROM {usage} AS x WHERE x.date <= {as_of_sql})"
    )
    field_sql = {
        "tenure_days": f"CAST(CAST({as_of_sql} - acc.customer_since AS INTEGER) AS DOUBLE)",
        **{f: f"CAST(acc.{f} AS DOUBLE)" for f in NUMERIC_FIELDS if f != "tenure_days"},
    }
    ctes = [
        f"a AS (SELECT u.account AS account, MIN(u.off) AS first_off FROM {rows} AS u GROUP BY u.account)",  # nosec B608: literals via _text/_number, table names from code
    ]
    if wanted:
        # one aggregate over the usage rows, keyed by account and metric alone (no join before it)
        ctes.append(
            "sm AS (SELECT u.account AS account, u.metric AS metric, "  # nosec B608: literals via _text/_number, table names from code
            + ", ".join(_summary_columns(needs, horizon, dialect))
            + f" FROM {rows} AS u WHERE {' OR '.join(wanted)} GROUP BY u.account, u.metric)"
        )
    joins = ["LEFT JOIN a ON a.account = acc.account"]
    metric_alias: dict[str, str] = {}

    def metric_row(name: str) -> str:
        if name not in metric_alias:
            alias = f"n{len(metric_alias)}"
            metric_alias[name] = alias
            joins.append(
                f"LEFT JOIN sm AS {alias} ON {alias}.account = acc.account AND {alias}.metric = {_text(name)}"
            )
        return metric_alias[name]

    outputs = ["acc.account AS account", "a.first_off AS anchor_off"]
    for i, name in enumerate(latest_metrics):
        outputs.append(f"{metric_row(name)}.latest AS l{i}")
    for i, spec in enumerate(specs):
        divisor = field_sql[spec.denominator_field] if spec.denominator_field else None
        source = "sm"
        if spec.denominator_metric:
            # the ratio is formed day by day (the fold day divides the two metrics' latest old values),
            # then summarised like a metric
            metric_test = (
                _member("n.metric", spec.metric[: -len(MODULE_WILDCARD)] + ":")
                if spec.is_module_family
                else f"n.metric = {_text(spec.metric)}"
            )
            numerator = metric_test.replace("n.metric", "u.metric")
            read = f"({numerator} OR u.metric = {_text(spec.denominator_metric)})"
            ctes.append(
                f"q{i} AS (SELECT u.account AS account, u.metric AS metric, u.off AS off, u.value AS value "  # nosec B608: literals via _text/_number, table names from code
                f"FROM {rows} AS u WHERE {read} AND u.off < {last} AND u.value IS NOT NULL UNION ALL "
                f"SELECT u.account, u.metric, {last}, {_first_by('u.value', 'u.off', '1 = 1', dialect)} "
                f"FROM {rows} AS u WHERE {read} AND u.off >= {last} GROUP BY u.account, u.metric)"
            )
            ctes.append(
                f"b{i} AS (SELECT n.account AS account, n.metric AS metric, n.off AS off, "  # nosec B608: literals via _text/_number, table names from code
                f"n.value / NULLIF(d.value, 0) AS value FROM q{i} AS n JOIN q{i} AS d "
                f"ON d.account = n.account AND d.off = n.off "
                f"AND d.metric = {_text(spec.denominator_metric)} WHERE {metric_test})"
            )
            own = _Needs()
            own.add(spec, max_age)
            ctes.append(
                f"sd{i} AS (SELECT u.account AS account, u.metric AS metric, "  # nosec B608: literals via _text/_number, table names from code
                + ", ".join(_summary_columns({spec.metric: own}, horizon, dialect))
                + f" FROM b{i} AS u GROUP BY u.account, u.metric)"
            )
            source = f"sd{i}"
        if not spec.is_module_family:
            if source == "sm":
                row = metric_row(spec.metric)
            else:
                row = f"x{i}"
                joins.append(f"LEFT JOIN {source} AS {row} ON {row}.account = acc.account")
            readings = _readings(spec, row, divisor, max_age)
            outputs += [
                f"{readings[0]} AS v{i}",
                f"{_fired(spec, readings)} = 1 AS f{i}",
                f"'' AS t{i}",
            ]
            continue
        prefix = spec.metric[: -len(MODULE_WILDCARD)] + ":"
        module = f"SUBSTR(r.metric, {len(prefix) + 1})"
        readings = _readings(spec, "r", divisor, max_age)
        ctes.append(
            f"m{i} AS (SELECT r.account AS account, {module} AS module, {readings[0]} AS value, "  # nosec B608: literals via _text/_number, table names from code
            f"{_fired(spec, readings)} AS fired, "
            "CASE WHEN o.account IS NULL THEN 1 ELSE 0 END AS avail "
            f"FROM {source} AS r JOIN a ON a.account = r.account "
            f"JOIN {accounts} AS acc ON acc.account = r.account "
            f"LEFT JOIN {owned} AS o ON o.account = r.account AND o.module = {module} "
            f"WHERE {_member('r.metric', prefix)})"
        )
        rank = (
            "CASE WHEN fired = 1 AND avail = 1 THEN 0 WHEN avail = 1 AND value IS NOT NULL THEN 1 ELSE 2 END"
        )
        ctes.append(
            f"r{i} AS (SELECT account, module, value, {rank} AS pick, ROW_NUMBER() OVER "  # nosec B608: literals via _text/_number, table names from code
            f"(PARTITION BY account ORDER BY {rank}, value DESC NULLS LAST, module) AS rn FROM m{i})"
        )
        ctes.append(
            f"s{i} AS (SELECT account, CASE WHEN pick < 2 THEN value END AS value, "  # nosec B608: literals via _text/_number, table names from code
            "CASE WHEN pick = 0 THEN 1 ELSE 0 END AS fired, "
            f"CASE WHEN pick = 0 THEN module ELSE '' END AS target FROM r{i} WHERE rn = 1)"
        )
        joins.append(f"LEFT JOIN s{i} ON s{i}.account = acc.account")
        outputs += [
            f"s{i}.value AS v{i}",
            f"COALESCE(s{i}.fired, 0) = 1 AS f{i}",
            f"COALESCE(s{i}.target, '') AS t{i}",
        ]
    if not wanted:
        # nothing to summarise: every latest column is NULL
        outputs = [
            o if not o.split(" AS ")[-1].startswith("l") else f"{_NULL} AS {o.split(' AS ')[-1]}"
            for o in outputs
        ]
        joins = [j for j in joins if " sm AS " not in j]
    sql = (
        "WITH "
        + ", ".join(ctes)
        + f" SELECT {', '.join(outputs)} FROM {accounts} AS acc "  # nosec B608: literals via _text/_number, table names from code
        + " ".join(joins)
    )
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return CompiledSignals(
        sql=sql,
        signals=tuple(s.key for s in specs),
        refused=refused,
        account_fields=tuple(dict.fromkeys(s.denominator_field for s in specs if s.denominator_field)),
        reads_owned=any(s.is_module_family for s in specs),
        latest_metrics=tuple(latest_metrics),
        thresholds=tuple(float(s.threshold) for s in specs),
    )


def long_table(wide: pd.DataFrame, compiled: CompiledSignals) -> pd.DataFrame:
    """The compiled query's result as one row per account and signal (account-major, signal order):
    account, signal, value, threshold, fired, target."""
    n, k = len(wide), len(compiled.signals)
    if k == 0:
        return pd.DataFrame(
            {
                "account": pd.Series([], dtype="int64"),
                "signal": pd.Series([], dtype=object),
                "value": pd.Series([], dtype=float),
                "threshold": pd.Series([], dtype=float),
                "fired": pd.Series([], dtype=bool),
                "target": pd.Series([], dtype=object),
            }
        )

    def stack(prefix: str, dtype) -> np.ndarray:
        return np.column_stack([wide[f"{prefix}{i}"].to_numpy(dtype=dtype) for i in range(k)]).reshape(-1)

    return pd.DataFrame(
        {
            "account": np.repeat(wide["account"].to_numpy(), k),
            "signal": np.tile(np.array(compiled.signals, dtype=object), n),
            "value": stack("v", float),
            "threshold": np.tile(np.array(compiled.thresholds, dtype=float), n),
            "fired": stack("f", bool),
            "target": stack("t", object),
        }
    )


def readings_from_table(
    wide: pd.DataFrame,
    index: pd.Index,
    compiled: CompiledSignals,
    as_of: dt.date,
    max_data_age_days: int,
    *,
    keys: pd.Series | None = None,
) -> engine.Readings:
    """Engine readings, in the order of ``index`` (the accounts frame's), from a compiled query result.

    ``keys`` maps each index entry to the account key the query used (default: the index itself),
    e.g. the warehouse's account_id text when the query ran on the source. Accounts missing from the
    result read as having no usage.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    frame = wide.set_index("account")
    frame = frame[~frame.index.duplicated()]
    lookup = keys.to_numpy() if keys is not None else index.to_numpy()
    rows = frame.reindex(lookup)
    anchor_off = rows["anchor_off"].to_numpy(dtype=float)
    has = ~np.isnan(anchor_off)
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    anchor_day = np.where(has, as_of_day - np.nan_to_num(anchor_off).astype(np.int64), -1)
    fresh = has & (np.nan_to_num(anchor_off, nan=np.inf) <= max_data_age_days)
    signals = {}
    for i, key in enumerate(compiled.signals):
        fired = rows[f"f{i}"].fillna(False).to_numpy(dtype=bool)
        target = rows[f"t{i}"].fillna("").to_numpy(dtype=object)
        signals[key] = engine.SignalReading(
            value=rows[f"v{i}"].to_numpy(dtype=float), fired=fired, target=target
        )
    account_index = index.copy()
    account_index.name = "account"
    latest = pd.DataFrame(
        {name: rows[f"l{i}"].to_numpy(dtype=float) for i, name in enumerate(compiled.latest_metrics)},
        index=account_index,
    )
    return engine.Readings(anchor_day=anchor_day, fresh=fresh, signals=signals, latest=latest)


def owned_frame(accounts: pd.DataFrame) -> pd.DataFrame:
    """Long (account, module) frame of an engine accounts frame's ``owned_modules`` (lists or ``;`` text)."""
    if "owned_modules" not in accounts or accounts.empty:
        return pd.DataFrame({"account": pd.Series([], dtype="int64"), "module": pd.Series([], dtype=object)})
    exploded = accounts["owned_modules"].explode().dropna().astype(str).str.split(";").explode().str.strip()
    exploded = exploded[exploded != ""]
    frame = pd.DataFrame({"account": exploded.index.to_numpy(), "module": exploded.to_numpy(dtype=object)})
    return frame.drop_duplicates(ignore_index=True)


def accounts_table(accounts: pd.DataFrame, compiled: CompiledSignals) -> pd.DataFrame:
    """The accounts input of a compiled query from an engine accounts frame (index = account pk)."""
    frame = pd.DataFrame({"account": accounts.index.to_numpy()})
    since = (
        accounts["customer_since"]
        if "customer_since" in accounts
        else pd.Series(pd.NaT, index=accounts.index)
    )
    frame["customer_since"] = pd.to_datetime(since).dt.tz_localize(None).dt.normalize().to_numpy()
    for name in NUMERIC_FIELDS:
        if name != "tenure_days":
            column = accounts[name] if name in accounts else pd.Series(np.nan, index=accounts.index)
            frame[name] = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
    return frame


def duckdb_table(
    compiled: CompiledSignals,
    *,
    accounts: pd.DataFrame,
    usage: pd.DataFrame | None = None,
    usage_sql: str | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Run a compiled (DuckDB-dialect) query and return its per-account result; ``accounts`` an engine
    accounts frame (its index is the account key the usage uses).

    Usage comes from a long frame (``usage``: account, metric, date, value; NaN = missing) or from a
    DuckDB relation given as SQL (``usage_sql``, e.g. a Parquet scan or a side-store table).
    """
    con = connection or duckdb.connect()
    acc = accounts_table(accounts, compiled)
    own = owned_frame(accounts)
    con.register("pushdown_accounts_df", acc)
    con.register("pushdown_owned_df", own)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW accounts AS SELECT account, "  # nosec B608: literals via _text/_number, table names from code
        "CAST(customer_since AS DATE) AS customer_since, "
        + ", ".join(f for f in NUMERIC_FIELDS if f != "tenure_days")
        + " FROM pushdown_accounts_df"
    )
    con.execute("CREATE OR REPLACE TEMP VIEW owned AS SELECT account, module FROM pushdown_owned_df")
    if usage is not None:
        con.register("pushdown_usage_df", usage)
        usage_sql = (
            "SELECT account, CAST(metric AS VARCHAR) AS metric, CAST(date AS DATE) AS date, "
            "CASE WHEN isnan(value) THEN NULL ELSE CAST(value AS DOUBLE) END AS value FROM pushdown_usage_df"
        )
    if usage_sql is None:
        raise ValueError("duckdb_table: give usage or usage_sql")
    con.execute(f"CREATE OR REPLACE TEMP VIEW usage AS {usage_sql}")
    try:
        return con.execute(compiled.sql).df()
    finally:
        for name in ("pushdown_accounts_df", "pushdown_owned_df", "pushdown_usage_df"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)


def duckdb_run(compiled: CompiledSignals, **kwargs) -> pd.DataFrame:
    """``duckdb_table`` as one row per account and signal (``long_table``)."""
    return long_table(duckdb_table(compiled, **kwargs), compiled)
