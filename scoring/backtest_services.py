"""Backtests against the stored history: selectors -> ``scoring.backtest`` (pure) -> ``BacktestRun``.

``backtest_run`` replays one configuration (the saved model, or an edited copy) over the stored usage
snapshots and historical expansions and returns the result dict; ``backtest_compare`` replays several
configurations in lockstep (one snapshot read per step for all of them). ``backtest_run_create`` /
``backtest_run_execute`` keep a run's parameters, progress and result in ``dashboards.BacktestRun``;
the Celery task ``dashboards.tasks.run_backtest`` calls the latter.

Snapshots are never loaded whole: at each step date only the days the configurations read are
fetched (``SnapshotLoader``: the exact days for accounts whose latest snapshot is the step date, the
production windows of ``scoring.selectors.needed_windows`` for the others), windows of the same metric
merged so no row is read twice. With the default signals that is 14 values per account and step
(280,000 rows per step at 20,000 accounts) instead of 44.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils import timezone

from expansion.models import Expansion, Metric, UsageSnapshot, User
from scoring import backtest as bt
from scoring import config as cfg
from scoring import selectors, uplift
from scoring.models import SignalDefinition

logger = logging.getLogger(__name__)

#: The admin preview replays this many days back from the last snapshot, weekly.
PREVIEW_DAYS = 364
PREVIEW_STEP_DAYS = 7
#: Above this many accounts the admin preview is queued as two runs instead of answered inline.
PREVIEW_SYNC_MAX_ACCOUNTS = 3_000
#: Progress is written at most this often (percent points), so a long run does not hammer the row.

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------------


def expansions_history() -> pd.DataFrame:
    """Every historical expansion: account (pk), created_date, closed_date, status, type, money (1 query)."""
    columns = [
        "account",
        "created_date",
        "closed_date",
        "status",
        "expansion_type",
        "expansion_arr",
        "contract_arr_at_close",
    ]
    rows = Expansion.objects.order_by().values_list(
        "account_id",
        "created_date",
        "closed_date",
        "status",
        "expansion_type",
        "expansion_arr",
        "contract_arr_at_close",
    )
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    for column in ("expansion_arr", "contract_arr_at_close"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def owners_frame(owner_ids: Iterable[Any]) -> pd.DataFrame:
    """The AEs of the replayed accounts: index = user pk; email, name, capacity (1 query)."""
    ids = sorted({int(i) for i in owner_ids if i is not None and not pd.isna(i)})
    rows = User.objects.filter(pk__in=ids).values_list("pk", "email", "name", "capacity")
    frame = pd.DataFrame.from_records(list(rows), columns=["pk", "email", "name", "capacity"])
    return frame.set_index("pk")


def _snapshot_day(*, last: bool) -> dt.date | None:
    """The first or last snapshot day in 1 query, asked per metric inside it: every snapshot index
    starts with the metric or the date, so each metric is one index seek, where a MIN/MAX over the
    whole table may walk an index of 50M rows."""
    edge = (
        UsageSnapshot.objects.filter(metric=OuterRef("pk"))
        .order_by("-date" if last else "date")
        .values("date")[:1]
    )
    aggregate = Max if last else Min
    return Metric.objects.order_by().annotate(day=Subquery(edge)).aggregate(edge=aggregate("day"))["edge"]


def snapshot_last_date() -> dt.date | None:
    """The last day any usage snapshot was imported for."""
    return _snapshot_day(last=True)


def snapshot_first_date() -> dt.date | None:
    """The first day any usage snapshot was imported for."""
    return _snapshot_day(last=False)


def preview_period(days: int = PREVIEW_DAYS) -> tuple[dt.date, dt.date]:
    """The ``days`` before the last usage snapshot, starting no earlier than the first one (the period
    of the admin's "Preview impact" and of ``manage.py config apply``)."""
    end = snapshot_last_date() or timezone.localdate()
    start = end - dt.timedelta(days=days)
    first = snapshot_first_date()
    if first is not None and start < first <= end:
        start = first
    return start, end


def inactive_signals() -> dict[str, cfg.SignalSpec]:
    """Saved but switched-off signals, so ``--set key.active=true`` can try one (1 query)."""
    return {s.key: selectors.signal_spec(s) for s in SignalDefinition.objects.filter(active=False)}


def _merge(spans: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Union of inclusive day ranges as disjoint ranges (adjacent ones joined)."""
    merged: list[tuple[dt.date, dt.date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


#: Accounts re-read with the full production windows in one query at most (IN-list size).
ACCOUNT_CHUNK = 500
#: When more than this share of accounts needs the full windows, read them for everybody.
FULL_READ_SHARE = 0.25


def _exact_windows_possible(config: cfg.ScoringConfig) -> bool:
    """The anchor-day shortcut covers every signal except change/multiple ones over a module family."""
    return not any(s.is_module_family and s.compare != cfg.COMPARE_VALUE for s in config.signals)


class SnapshotLoader:
    """``as_of -> frame`` of the snapshot rows the configurations read at that date.

    Production (``selectors.needed_windows``) reads each signal's days with ``max_data_age_days`` of
    slack on both ends, because an account's anchor day (its latest snapshot) may lag ``as_of``. With
    daily data nearly every account's anchor *is* ``as_of``, and for such an account the engine only
    looks at exact days: the ``persistence_days`` ending at ``as_of``, the same days ``window_days``
    earlier for change/multiple signals, and ``as_of`` for metric gates. So the loader reads those
    exact days for everybody (about a third of the rows) and re-reads the production windows for the
    accounts where the shortcut could differ (no row on ``as_of``, a metric gate without a value on
    ``as_of``, or no value on the first day of a change signal's earlier window, where production
    would look further back). The engine's result is the same as on the production windows
    (``tests/scoring/test_backtest.py`` checks it on the demo data).

    One query per day read (numbers only; the date is the query's), converted by numpy in one go; the
    metric comes back as a categorical of all metric names.
    """

    def __init__(
        self,
        configs: Sequence[cfg.ScoringConfig],
        *,
        accounts: Iterable[int] | None = None,
        exact_days: bool = True,
    ):
        self.configs = list(configs)
        self.metric_ids = dict(Metric.objects.values_list("name", "pk"))
        names = sorted(self.metric_ids)
        self.categories = pd.Index(names, dtype=object)
        self.code_of_name = {name: code for code, name in enumerate(names)}
        top = max(self.metric_ids.values(), default=0)
        self.code_of_id = np.full(top + 1, -1, dtype=np.int64)
        for code, name in enumerate(names):
            self.code_of_id[self.metric_ids[name]] = code
        self.table = connection.ops.quote_name(UsageSnapshot._meta.db_table)
        self.accounts = None if accounts is None else np.unique(np.fromiter(accounts, np.int64))
        self.exact_days = (
            exact_days and self.accounts is not None and all(map(_exact_windows_possible, self.configs))
        )
        # Before the first snapshot there is nothing to read (a 12-month preview on a short history).
        self.first_day = snapshot_first_date()
        self.rows_read = 0
        self.accounts_reread = 0

    def _ids(self, metric: str) -> list[int]:
        if metric.endswith(cfg.MODULE_WILDCARD):
            prefix = metric[: -len(cfg.MODULE_WILDCARD)] + ":"
            return [pk for name, pk in self.metric_ids.items() if name.startswith(prefix)]
        return [self.metric_ids[metric]] if metric in self.metric_ids else []

    def _group(
        self, windows: Iterable[tuple[str, dt.date, dt.date]]
    ) -> dict[tuple[dt.date, dt.date], list[int]]:
        """Disjoint (first, last) day ranges -> metric ids read over that range (no row read twice)."""
        spans: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
        for metric, first, last in windows:
            for metric_id in self._ids(metric):
                spans[metric_id].append((first, last))
        groups: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
        for metric_id, metric_spans in spans.items():
            for span in _merge(metric_spans):
                groups[span].append(metric_id)
        return groups

    def ranges(self, as_of: dt.date) -> dict[tuple[dt.date, dt.date], list[int]]:
        """The production windows (``selectors.needed_windows``) of every configuration, merged."""
        return self._group(w for c in self.configs for w in selectors.needed_windows(c, as_of))

    def exact_ranges(self, as_of: dt.date) -> tuple[dict, list[tuple[str, dt.date]]]:
        """The anchor-day windows, and the (metric, day) values an account must have for them to do."""
        windows: list[tuple[str, dt.date, dt.date]] = []
        required: list[tuple[str, dt.date]] = []
        for config in self.configs:
            for spec in config.signals:
                first = as_of - dt.timedelta(days=spec.persistence_days - 1)
                metrics = [spec.metric] + ([spec.denominator_metric] if spec.denominator_metric else [])
                for metric in metrics:
                    windows.append((metric, first, as_of))
                    if spec.compare != cfg.COMPARE_VALUE and spec.window_days:
                        shift = dt.timedelta(days=spec.window_days)
                        windows.append((metric, first - shift, as_of - shift))
                        required.append((metric, first - shift))
            for gate in config.gates:
                if gate.subject not in cfg.ACCOUNT_FIELDS:
                    windows.append((gate.subject, as_of, as_of))
                    required.append((gate.subject, as_of))
        return self._group(windows), required

    def _read(self, groups: Mapping[tuple[dt.date, dt.date], list[int]], accounts=None) -> pd.DataFrame:
        """Rows of the given day ranges and metrics: one query per day (the date then needs no
        column), numbers only, converted by numpy in one go."""
        blocks: list[np.ndarray] = []
        days: list[np.ndarray] = []
        adapt = connection.ops.adapt_datefield_value
        chunks: list[list[int] | None] = [None]
        if accounts is not None:
            ids = [int(a) for a in accounts]
            chunks = [ids[i : i + ACCOUNT_CHUNK] for i in range(0, len(ids), ACCOUNT_CHUNK)]
        by_day: dict[dt.date, set[int]] = defaultdict(set)
        for (first, last), metric_ids in groups.items():
            for offset in range((last - first).days + 1):
                by_day[first + dt.timedelta(days=offset)].update(metric_ids)
        with connection.cursor() as cursor:
            for day, metric_ids in sorted(by_day.items()):
                marks = ", ".join(["%s"] * len(metric_ids))
                for chunk in chunks:
                    where, params = "", []
                    if chunk is not None:
                        where = f" AND account_id IN ({', '.join(['%s'] * len(chunk))})"
                        params = list(chunk)
                    cursor.execute(
                        f"SELECT account_id, metric_id, value FROM {self.table} "  # nosec B608: model table
                        f"WHERE date = %s AND metric_id IN ({marks}){where}",
                        [adapt(day), *sorted(metric_ids), *params],
                    )
                    rows = cursor.fetchall()
                    if rows:
                        blocks.append(np.asarray(rows, dtype=np.float64))  # None (NULL) -> NaN
                        days.append(np.full(len(rows), np.datetime64(day, "D")))
        if not blocks:
            empty = pd.Categorical.from_codes(np.empty(0, np.int64), categories=self.categories)
            return pd.DataFrame(
                {
                    "account": np.empty(0, np.int64),
                    "date": np.empty(0, "datetime64[s]"),
                    "metric": empty,
                    "value": np.empty(0),
                }
            )
        values = np.concatenate(blocks)
        codes = self.code_of_id[values[:, 1].astype(np.int64)]
        frame = pd.DataFrame(
            {
                "account": values[:, 0].astype(np.int64),
                "date": np.concatenate(days).astype("datetime64[s]"),
                "metric": pd.Categorical.from_codes(codes, categories=self.categories),
                "value": values[:, 2],
            }
        )
        self.rows_read += len(frame)
        return frame

    def _lacking(
        self, frame: pd.DataFrame, as_of: dt.date, required: list[tuple[str, dt.date]]
    ) -> np.ndarray:
        """Accounts for which the anchor-day shortcut might not give production's result."""
        account = frame["account"].to_numpy()
        day = frame["date"].to_numpy().astype("datetime64[D]")
        code = frame["metric"].cat.codes.to_numpy()
        has_value = ~np.isnan(frame["value"].to_numpy())
        complete = np.unique(account[day == np.datetime64(as_of, "D")])
        for metric, when in dict.fromkeys(required):
            wanted = self.code_of_name.get(metric, -2)
            rows = (code == wanted) & (day == np.datetime64(when, "D")) & has_value
            complete = np.intersect1d(complete, account[rows])
        return np.setdiff1d(self.accounts, complete)

    def _sparse(self, required: list[tuple[str, dt.date]]) -> bool:
        """True when a required (metric, day) has too few rows for the shortcut to pay (e.g. the
        history starts less than a change signal's window before as_of): one index-only count each."""
        enough = (1 - FULL_READ_SHARE) * len(self.accounts)
        with connection.cursor() as cursor:
            for metric, day in dict.fromkeys(required):
                ids = self._ids(metric)
                if not ids:
                    return True
                marks = ", ".join(["%s"] * len(ids))
                sql = f"SELECT COUNT(*) FROM {self.table} WHERE date = %s AND metric_id IN ({marks})"  # nosec B608: model table
                cursor.execute(sql, [connection.ops.adapt_datefield_value(day), *ids])
                if cursor.fetchone()[0] < enough:
                    return True
        return False

    def __call__(self, as_of: dt.date) -> pd.DataFrame:
        if self.first_day is None or as_of < self.first_day:
            return self._read({})
        if not self.exact_days:
            return self._read(self.ranges(as_of))
        groups, required = self.exact_ranges(as_of)
        if self._sparse(required):
            return self._read(self.ranges(as_of))
        frame = self._read(groups)
        lacking = self._lacking(frame, as_of, required)
        if len(lacking) > FULL_READ_SHARE * len(self.accounts):
            self.accounts_reread += len(self.accounts)
            return self._read(self.ranges(as_of))
        if len(lacking) == 0:
            return frame
        self.accounts_reread += len(lacking)
        keep = ~np.isin(frame["account"].to_numpy(), lacking)
        extra = self._read(self.ranges(as_of), accounts=lacking)
        return pd.concat([frame[keep], extra], ignore_index=True)


# --------------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------------


def config_with_overrides(
    overrides: Mapping[str, Any] | None = None,
    *,
    signals: Sequence[Mapping[str, Any]] = (),
    base: cfg.ScoringConfig | None = None,
) -> cfg.ScoringConfig:
    """The saved configuration (or ``base``) with whole signals replaced/added (``signals``: SignalSpec
    fields as dicts, e.g. an edited admin form) and then ``{"key.field": value}`` overrides applied."""
    config = base or selectors.scoring_config_load()
    for data in signals:
        spec = spec_from_dict(data)
        config = bt.replace_signal(config, data.get("replaces") or spec.key, spec)
    if overrides:
        config = bt.apply_overrides(config, overrides, inactive=inactive_signals())
    return config


def config_with_gate(
    base: cfg.ScoringConfig, original_name: str | None, gate: cfg.GateSpec | None
) -> cfg.ScoringConfig:
    """``base`` with the gate named ``original_name`` replaced by ``gate`` (an edited admin form), or
    dropped (``gate`` None: switched off); a new gate (no original) is added. Gates stay in order."""
    gates = [g for g in base.gates if original_name is None or g.name != original_name]
    if gate is not None:
        gates.append(gate)
    gates.sort(key=lambda g: (g.order, g.name))
    return dataclasses.replace(base, gates=tuple(gates))


def config_with_policy(base: cfg.ScoringConfig, policy: cfg.PolicySpec) -> cfg.ScoringConfig:
    """``base`` with the EQL policy replaced (an edited admin form)."""
    return dataclasses.replace(base, policy=policy)


def spec_to_dict(spec: cfg.SignalSpec) -> dict[str, Any]:
    return cfg.signal_to_dict(spec)


def spec_from_dict(data: Mapping[str, Any]) -> cfg.SignalSpec:
    return cfg.signal_from_dict(data)


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def _inputs(start: dt.date, configs: Sequence[cfg.ScoringConfig]):
    accounts = selectors.accounts_frame()
    expansions = expansions_history()
    # Uplifts from what was known at the start: expansions closed before it (no look-ahead).
    closed = pd.to_datetime(expansions["closed_date"], errors="coerce")
    known = expansions[(closed < pd.Timestamp(start)).to_numpy(dtype=bool)]
    signals = list({s.key: s for c in configs for s in c.signals}.values())
    min_samples = max(c.policy.min_calibration_samples for c in configs)
    uplifts = uplift.calibrate_uplifts(known, signals, min_samples)
    owners = owners_frame(accounts["ae_id"].dropna().unique() if "ae_id" in accounts else [])
    return accounts, expansions, uplifts, owners


def backtest_compare(
    *,
    start: dt.date,
    end: dt.date,
    step_days: int = bt.DEFAULT_STEP_DAYS,
    configs: Mapping[str, cfg.ScoringConfig],
    match_window_days: int = bt.DEFAULT_MATCH_WINDOW_DAYS,
    won_only: bool = False,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Replay each named configuration over the stored history in lockstep; ``{name: result}``.

    The result of each is described in ``scoring.backtest``; one snapshot read per step serves all.
    """
    started = time.perf_counter()
    accounts, expansions, uplifts, owners = _inputs(start, list(configs.values()))
    loader = SnapshotLoader(list(configs.values()), accounts=accounts.index)
    observed = min(timezone.localdate(), max(end, snapshot_last_date() or end))
    results = bt.replay(
        accounts,
        loader,
        configs,
        start=start,
        end=end,
        step_days=step_days,
        expansions=expansions,
        uplifts=uplifts,
        match_window_days=match_window_days,
        won_only=won_only,
        owners=owners,
        observed_until=observed,
        progress=progress,
    )
    seconds = round(time.perf_counter() - started, 3)
    for result in results.values():
        result["seconds"] = seconds
        result["snapshot_rows_read"] = loader.rows_read
        result["accounts_reread"] = loader.accounts_reread
    logger.info(
        "backtest %s..%s step=%d configs=%d accounts=%d rows=%d seconds=%.2f",
        start,
        end,
        step_days,
        len(configs),
        len(accounts),
        loader.rows_read,
        seconds,
    )
    return results


def backtest_run(
    *,
    start: dt.date,
    end: dt.date,
    step_days: int = bt.DEFAULT_STEP_DAYS,
    config: cfg.ScoringConfig | None = None,
    progress: Progress | None = None,
    match_window_days: int = bt.DEFAULT_MATCH_WINDOW_DAYS,
    won_only: bool = False,
) -> dict[str, Any]:
    """Replay ``config`` (default: the saved model) from ``start`` to ``end``; the result dict."""
    config = config or selectors.scoring_config_load()
    return backtest_compare(
        start=start,
        end=end,
        step_days=step_days,
        configs={"run": config},
        match_window_days=match_window_days,
        won_only=won_only,
        progress=progress,
    )["run"]


# --------------------------------------------------------------------------------------------------
# Stored runs
# --------------------------------------------------------------------------------------------------


def run_params(
    *,
    start: dt.date,
    end: dt.date,
    step_days: int = bt.DEFAULT_STEP_DAYS,
    overrides: Mapping[str, Any] | None = None,
    signals: Sequence[Mapping[str, Any]] = (),
    match_window_days: int = bt.DEFAULT_MATCH_WINDOW_DAYS,
    won_only: bool = False,
) -> dict[str, Any]:
    """A run's parameters as stored in ``BacktestRun.params`` (validated: raises ValueError)."""
    bt.step_dates(start, end, step_days)
    params = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step_days": step_days,
        "match_window_days": match_window_days,
        "won_only": won_only,
        "overrides": dict(overrides or {}),
    }
    if signals:
        params["signals"] = [dict(s) for s in signals]
    config_with_overrides(params["overrides"], signals=signals)  # fail now, not in the worker
    return params


def contract_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's ``backtest --json`` keys first, then everything else of the result."""
    head = {k: result[k] for k in ("eqls", "matched_expansions", "precision", "recall", "by_signal")}
    return {**head, **{k: v for k, v in result.items() if k not in head}}
