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

- anchor offset = the smallest ``off`` of any usage row of the account (any metric, NULL value too),
  at most ``H - 1``; fresh = anchor offset <= max_data_age_days.
- days at or beyond ``H - 1`` fold into day ``H - 1`` keeping each metric's latest non-NULL value.
- grid ``c_j`` = the metric on day anchor + j (j = 0 .. H - 1), so "the latest value on or before day
  anchor + j" is ``COALESCE(c_j, c_(j+1), ..., c_(H-1))``.
- base = metric / NULLIF(denominator, 0); reading at back k: value: ``base_k``; change: ``base_k -
  ffill(base)_(k+W)``; ratio: ``base_k / NULLIF(ffill(base)_(k+W), 0)``.
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

from scoring.config import (
    ACCOUNT_FIELDS,
    COMPARE_CHANGE,
    COMPARE_RATIO,
    COMPARE_VALUE,
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
    "owned_frame",
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


def _ffill(columns: list[str]) -> str:
    return columns[0] if len(columns) == 1 else f"COALESCE({', '.join(columns)})"


def _readings(spec: SignalSpec, horizon: int, num: str, den: str | None) -> list[str]:
    """SQL of reading_k for k in 0 .. persistence - 1 (``num``/``den`` are grid aliases or a field)."""

    def base(j: int) -> str:
        now = f"{num}.c{j}"
        if den is None:
            return now
        divisor = f"{den}.c{j}" if "." not in den else den
        return f"({now} / NULLIF({divisor}, 0))"

    out = []
    for k in range(max(spec.persistence_days, 1)):
        if k >= horizon:
            out.append("CAST(NULL AS DOUBLE)")
            continue
        if spec.compare == COMPARE_VALUE:
            out.append(base(k))
            continue
        start = k + spec.window_days
        past = _ffill([base(j) for j in range(start, horizon)]) if start < horizon else "CAST(NULL AS DOUBLE)"
        if spec.compare == COMPARE_CHANGE:
            out.append(f"({base(k)} - {past})")
        else:
            out.append(f"({base(k)} / NULLIF({past}, 0))")
    return out


def _fired(spec: SignalSpec, readings: list[str]) -> str:
    op = _SQL_OPERATORS[spec.operator]
    threshold = _number(spec.threshold)
    terms = " AND ".join(f"{r} IS NOT NULL AND {r} {op} {threshold}" for r in readings)
    return f"CASE WHEN a.fresh = 1 AND {terms} THEN 1 ELSE 0 END"


def compile_signals(
    config: ScoringConfig,
    as_of: dt.date,
    *,
    usage: str = "usage",
    accounts: str = "accounts",
    owned: str = "owned",
    dialect: str = "duckdb",
) -> CompiledSignals:
    """One query answering every compilable signal of ``config`` at ``as_of`` (see the module doc).

    Signals ``refusal`` rejects are left out and listed in ``refused``; with none compilable the
    query still returns the right (empty) columns.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    horizon = config.lookback_days + config.policy.max_data_age_days + 1
    last = horizon - 1
    refused = {s.key: refusal(s) for s in config.signals if refusal(s)}
    specs = [s for s in config.signals if s.key not in refused]

    names: set[str] = set()
    prefixes: set[str] = set()
    fields: list[str] = []
    for spec in specs:
        if spec.is_module_family:
            prefixes.add(spec.metric[: -len(MODULE_WILDCARD)] + ":")
        else:
            names.add(spec.metric)
        if spec.denominator_metric:
            names.add(spec.denominator_metric)
        if spec.denominator_field and spec.denominator_field not in fields:
            fields.append(spec.denominator_field)
    metric_filter = [f"metric IN ({', '.join(_text(n) for n in sorted(names))})"] if names else []
    metric_filter += [
        f"(SUBSTR(metric, 1, {len(p)}) = {_text(p)} AND LENGTH(metric) > {len(p)})" for p in sorted(prefixes)
    ]
    wanted = " OR ".join(metric_filter) or "1 = 0"
    as_of_sql = f"DATE '{as_of.isoformat()}'"
    field_sql = {
        "tenure_days": f"CAST(CAST({as_of_sql} - acc.customer_since AS INTEGER) AS DOUBLE)",
        **{f: f"CAST(acc.{f} AS DOUBLE)" for f in NUMERIC_FIELDS if f != "tenure_days"},
    }
    cols = ", ".join(
        f"MAX(CASE WHEN f.off = a.anchor + {j} THEN f.value END) AS c{j}" for j in range(horizon)
    )

    ctes = [
        f"u AS (SELECT x.account AS account, x.metric AS metric, "  # nosec B608: literals via _text/_number, table names from code
        f"CAST({as_of_sql} - x.date AS INTEGER) AS off, "
        f"CAST(x.value AS DOUBLE) AS value FROM {usage} AS x "
        f"JOIN {accounts} AS acc ON acc.account = x.account "
        f"WHERE x.date <= {as_of_sql})",
        f"a AS (SELECT account, LEAST(MIN(off), {last}) AS anchor, "  # nosec B608: literals via _text/_number, table names from code
        f"CASE WHEN MIN(off) <= {int(config.policy.max_data_age_days)} THEN 1 ELSE 0 END AS fresh "
        "FROM u GROUP BY account)",
        f"w AS (SELECT account, metric, off, value FROM u WHERE ({wanted}) AND value IS NOT NULL)",  # nosec B608: literals via _text/_number, table names from code
        # days at or beyond the horizon fold into its first day: each metric's latest value
        f"f AS (SELECT account, metric, off, value FROM w WHERE off < {last} UNION ALL "  # nosec B608: literals via _text/_number, table names from code
        f"SELECT account, metric, {last} AS off, value FROM (SELECT account, metric, value, "
        "ROW_NUMBER() OVER "
        f"(PARTITION BY account, metric ORDER BY off) AS rn FROM w WHERE off >= {last}) AS old WHERE rn = 1)",
        f"g AS (SELECT f.account AS account, f.metric AS metric, {cols} "  # nosec B608: literals via _text/_number, table names from code
        "FROM f JOIN a ON a.account = f.account "
        "GROUP BY f.account, f.metric)",
    ]
    selects = []
    for i, spec in enumerate(specs):
        joins = [f"JOIN {accounts} AS acc ON acc.account = a.account"]
        den: str | None = None
        if spec.denominator_metric:
            joins.append(
                f"LEFT JOIN g AS d ON d.account = a.account AND d.metric = {_text(spec.denominator_metric)}"
            )
            den = "d"
        elif spec.denominator_field:
            den = field_sql[spec.denominator_field]
        readings = _readings(spec, horizon, "n", den)
        fired = _fired(spec, readings)
        threshold = _number(spec.threshold)
        key = _text(spec.key)
        if not spec.is_module_family:
            body = (
                f"SELECT a.account AS account, {readings[0]} AS value, {fired} AS fired, '' AS target FROM a "  # nosec B608: literals via _text/_number, table names from code
                f"JOIN g AS n ON n.account = a.account AND n.metric = {_text(spec.metric)} {' '.join(joins)}"
            )
            ctes.append(f"s{i} AS ({body})")
        else:
            prefix = spec.metric[: -len(MODULE_WILDCARD)] + ":"
            member = (
                f"SUBSTR(n.metric, 1, {len(prefix)}) = {_text(prefix)} AND LENGTH(n.metric) > {len(prefix)}"
            )
            module = f"SUBSTR(n.metric, {len(prefix) + 1})"
            ctes.append(
                f"m{i} AS (SELECT a.account AS account, {module} AS module, {readings[0]} AS value, "  # nosec B608: literals via _text/_number, table names from code
                f"{fired} AS fired, CASE WHEN o.account IS NULL THEN 1 ELSE 0 END AS avail FROM a "
                f"JOIN g AS n ON n.account = a.account AND {member} {' '.join(joins)} "
                f"LEFT JOIN {owned} AS o ON o.account = a.account AND o.module = {module})"
            )
            rank = (
                "CASE WHEN fired = 1 AND avail = 1 THEN 0 "
                "WHEN avail = 1 AND value IS NOT NULL THEN 1 ELSE 2 END"
            )
            ctes.append(
                f"r{i} AS (SELECT account, module, value, {rank} AS pick, ROW_NUMBER() OVER "  # nosec B608: literals via _text/_number, table names from code
                f"(PARTITION BY account ORDER BY {rank}, value DESC NULLS LAST, module) AS rn FROM m{i})"
            )
            ctes.append(
                f"s{i} AS (SELECT account, CASE WHEN pick < 2 THEN value END AS value, "  # nosec B608: literals via _text/_number, table names from code
                f"CASE WHEN pick = 0 THEN 1 ELSE 0 END AS fired, "
                "CASE WHEN pick = 0 THEN module ELSE '' END AS target "
                f"FROM r{i} WHERE rn = 1)"
            )
        selects.append(
            f"SELECT acc.account AS account, {key} AS signal, s{i}.value AS value, {threshold} AS threshold, "  # nosec B608: literals via _text/_number, table names from code
            f"COALESCE(s{i}.fired, 0) = 1 AS fired, COALESCE(s{i}.target, '') AS target "
            f"FROM {accounts} AS acc LEFT JOIN s{i} ON s{i}.account = acc.account"
        )
    if not selects:
        selects.append(
            "SELECT CAST(NULL AS BIGINT) AS account, '' AS signal, CAST(NULL AS DOUBLE) AS value, "
            "CAST(NULL AS DOUBLE) AS threshold, 1 = 0 AS fired, '' AS target WHERE 1 = 0"
        )
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return CompiledSignals(
        sql=sql,
        signals=tuple(s.key for s in specs),
        refused=refused,
        account_fields=tuple(fields),
        reads_owned=bool(prefixes),
    )


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


def duckdb_run(
    compiled: CompiledSignals,
    *,
    accounts: pd.DataFrame,
    usage: pd.DataFrame | None = None,
    usage_sql: str | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Run a compiled (DuckDB-dialect) query; ``accounts`` an engine accounts frame.

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
            "CAST(value AS DOUBLE) AS value FROM pushdown_usage_df"
        )
    if usage_sql is None:
        raise ValueError("duckdb_run: give usage or usage_sql")
    con.execute(f"CREATE OR REPLACE TEMP VIEW usage AS {usage_sql}")
    result = con.execute(compiled.sql).df()
    for name in ("pushdown_accounts_df", "pushdown_owned_df", "pushdown_usage_df"):
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)
    result["fired"] = result["fired"].astype(bool)
    result["value"] = result["value"].astype(float)
    return result
