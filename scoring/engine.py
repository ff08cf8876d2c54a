"""Pure scoring engine: hard gates, signals, score, qualification and estimate for every account at once.

Inputs are pandas frames and the frozen dataclasses of ``scoring.config``; outputs are frames. No ORM, no
Django, no settings, no I/O, so a Celery worker, a backtest or a test can call it with hand-built data.

Evaluation for one ``as_of`` (``spec/domain.md``, "Evaluation order"):

1. Gates in ``order``: a failing ``block`` gate blocks the account (the first one is ``blocked_by``);
   a failing ``self_serve`` gate only marks it ``self_serve``.
2. Signals, read on the account's *anchor day* (its latest snapshot of any metric on or before
   ``as_of``); an anchor older than ``policy.max_data_age_days`` is *stale*: it has no reading and
   fires nothing.
   A signal fires when its condition held on each of the ``persistence_days`` calendar days ending
   at the anchor day.
3. Score = min(100, sum of points of fired non-watch signals), floored at 0.
4. Qualify = not blocked, score >= threshold, a fired non-watch signal targets something not owned,
   estimate = contract_arr x uplift(primary expansion type) >= min_expansion_pct x contract_arr.

Everything is vectorised: snapshots are scattered once into an (metric, account, day) cube and every
rule is a numpy expression over accounts; Python loops run only per gate, signal, module or day of
persistence.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import (
    ACCOUNT_FIELDS,
    COMPARE_CHANGE,
    COMPARE_RATIO,
    COMPARE_VALUE,
    CONDITION_EVENT_COUNT,
    CONDITION_FAMILY_COUNT,
    CONDITION_FIELD,
    CONDITION_KEY_SEPARATOR,
    EXPANSION_MODULE,
    EXPANSION_NONE,
    EXPANSION_TIER,
    GATE_BLOCK,
    GATE_SELF_SERVE,
    LIST_SEPARATOR,
    MODULE_WILDCARD,
    PRIORITY_RANK,
    SET_OPERATORS,
    TIER_ORDER,
    ConditionSpec,
    GateSpec,
    ScoringConfig,
    SignalSpec,
    cooldown_column,
    event_column,
)
from scoring.frames import to_float
from scoring.uplift import UPLIFT_DEFAULT, default_uplifts

__all__ = [
    "LIST_SEPARATOR",
    "MAX_SCORE",
    "REASON_BELOW_FLOOR",
    "REASON_BLOCKED_PREFIX",
    "REASON_NO_SIGNAL",
    "REASON_OWNED",
    "REASON_SCORE_BELOW",
    "REASON_STALE",
    "Evaluation",
    "Readings",
    "SignalReading",
    "apply_conditions",
    "evaluate",
    "evaluate_readings",
    "readings_from_snapshots",
    "triggered_signals",
    "triggered_signals_by_account",
]

#: Score is reported on this scale.
MAX_SCORE = 100

REASON_BLOCKED_PREFIX = "blocked:"
REASON_STALE = "stale"
REASON_NO_SIGNAL = "no_signal"
REASON_OWNED = "owned"
REASON_SCORE_BELOW = "score_below_threshold"
REASON_BELOW_FLOOR = "below_expansion_floor"


# Operators of gates and signals; all work element-wise on numpy arrays and pandas Series.
_COMPARATORS: dict[str, Callable[[Any, Any], Any]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
    "eq": operator.eq,
    "ne": operator.ne,
}
_TIER_RANK = {tier: rank for rank, tier in enumerate(TIER_ORDER)}
# Integer keys up to this many slots beyond the frame size use a direct lookup table, not hashing.
_DIRECT_LOOKUP_SLACK = 1_000_000


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What one evaluation returns.

    ``accounts_result`` (index ``account``, one row per input account):
      blocked bool, blocked_by str ("" = none), self_serve bool, self_serve_by str, stale bool,
      score int64, qualifies bool, reason str ("" when it qualifies), primary_signal str,
      expansion_type str, target str, estimate float64 (NaN without a counting signal),
      estimate_source str, uplift float64, watch_fired str (``;``-joined keys in signal order,
      "" = none), watch_only bool, anchor_date datetime64[ns] (NaT = no snapshot on or before as_of).
      primary_signal .. uplift are filled whenever a counting signal exists, also for an account
      that does not qualify (blocked, below threshold or floor), so its reason can be explained.
    ``signals_result`` (RangeIndex, account-major, signals in config order):
      account int64, signal str, value float64 (reading on the anchor day), threshold float64,
      points int64, fired bool, counts bool, target str, priority str, expansion_type str.
    ``latest_metrics`` (index ``account``): one float64 column per metric the config reads (family
      members included): the latest value on or before as_of, NaN when none. Feeds the opening angle.
    """

    accounts_result: pd.DataFrame
    signals_result: pd.DataFrame
    latest_metrics: pd.DataFrame


# --------------------------------------------------------------------------------------------------
# Snapshot cube
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Cube:
    """Snapshots on or before as_of as float arrays (account x day); column ``n_days - 1`` is as_of."""

    n_accounts: int
    n_days: int
    values: tuple[np.ndarray, ...]  # per slot: (accounts, days) float64, NaN = no snapshot
    slots: dict[str, int]
    seen_metrics: tuple[str, ...]
    anchor_col: np.ndarray  # (accounts,) int64; -1 = no snapshot at all
    fold_day: np.ndarray  # (accounts,) latest day number folded into column 0; -1 = none

    def anchor_day_numbers(self, as_of_day: int) -> np.ndarray:
        """Anchor day as days since 1970-01-01 (-1 without an anchor)."""
        day = as_of_day - (self.n_days - 1 - self.anchor_col)
        day = np.where((self.anchor_col == 0) & (self.fold_day >= 0), self.fold_day, day)
        return np.where(self.anchor_col >= 0, day, -1)

    def metric(self, name: str) -> np.ndarray:
        slot = self.slots.get(name)
        if slot is None:
            return np.full((self.n_accounts, self.n_days), np.nan)
        return self.values[slot]

    def family(self, wildcard_metric: str) -> list[tuple[str, str]]:
        """(module, metric name) of every seen member of a ``name:*`` family, sorted by module."""
        prefix = wildcard_metric[: -len(MODULE_WILDCARD)] + ":"
        members = [(m[len(prefix) :], m) for m in self.seen_metrics if m.startswith(prefix) and m != prefix]
        return sorted(members)


_NAT = np.iinfo(np.int64).min


def _day_numbers(dates: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Calendar day numbers (days since 1970-01-01, a fresh array) and a validity mask (None = all).

    Accepts datetime64 of any unit (time of day is dropped), tz-aware datetimes (their local date),
    and date objects or ISO strings.
    """
    if not pd.api.types.is_datetime64_any_dtype(dates.dtype):
        # Few distinct dates: convert those once, then map back by code.
        codes, uniques = pd.factorize(dates, use_na_sentinel=True)
        if len(uniques) == 0:
            return np.zeros(len(codes), np.int64), np.zeros(len(codes), dtype=bool)
        converted = pd.Series(pd.to_datetime(pd.Series(uniques, dtype=object), errors="coerce"))
        unique_days, unique_ok = _day_numbers(converted)
        ok = codes >= 0
        if unique_ok is not None:
            ok &= unique_ok[np.maximum(codes, 0)]
        return unique_days[codes], (None if ok.all() else ok)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    raw = dates.to_numpy()
    ints = raw.view(np.int64)
    unit, count = np.datetime_data(raw.dtype)
    per_day = int(np.timedelta64(1, "D") / np.timedelta64(count, unit))
    days = ints // per_day
    nat = ints == _NAT
    return days, (~nat if nat.any() else None)


def _account_positions(index: pd.Index, keys: np.ndarray) -> np.ndarray:
    """Row position of each key in ``index`` (-1 when absent), a fresh int64 array.

    Dense non-negative integer keys use a direct lookup table instead of hashing.
    """
    if len(index) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    if pd.api.types.is_integer_dtype(index.dtype) and pd.api.types.is_integer_dtype(keys.dtype):
        lo, hi = int(index.min()), int(index.max())
        if lo >= 0 and hi < len(index) + _DIRECT_LOOKUP_SLACK:
            table = np.full(hi + 2, -1, dtype=np.int64)  # the last slot answers out-of-range keys
            table[index.to_numpy()] = np.arange(len(index))
            if int(keys.min()) >= 0 and int(keys.max()) <= hi:
                return table[keys]
            return table[np.where((keys < 0) | (keys > hi), hi + 1, keys)]
    return index.get_indexer(keys).astype(np.int64)


def _metric_codes(metrics: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer code per row (-1 = missing name) and the distinct metric names.

    A categorical column is used as is (the fast path for large frames); otherwise it is factorized.
    """
    if isinstance(metrics.dtype, pd.CategoricalDtype):
        return metrics.cat.codes.to_numpy(), tuple(str(c) for c in metrics.cat.categories)
    # Factorizing the plain object array skips the string-dtype wrapper (about 30% faster).
    codes, uniques = pd.factorize(metrics.to_numpy(dtype=object))
    return codes, tuple(str(u) for u in uniques)


def _needed_metrics(config: ScoringConfig, seen: Sequence[str]) -> list[str]:
    """Metrics the config reads that occur in the snapshots (module families expanded)."""
    prefixes = []
    names: list[str] = []
    for spec in config.reading_signals:
        if spec.is_module_family:
            prefixes.append(spec.metric[: -len(MODULE_WILDCARD)] + ":")
        else:
            names.append(spec.metric)
        if spec.denominator_metric:
            names.append(spec.denominator_metric)
    for spec in config.signals:
        for c in spec.conditions:
            if c.kind == CONDITION_FAMILY_COUNT and c.metric.endswith(MODULE_WILDCARD):
                prefixes.append(c.metric[: -len(MODULE_WILDCARD)] + ":")
    names += [g.subject for g in config.gates if g.subject not in ACCOUNT_FIELDS]
    names += [m for m in seen if any(m.startswith(p) and m != p for p in prefixes)]
    seen_set = set(seen)
    return [m for m in dict.fromkeys(names) if m in seen_set]


def _last_of_groups(keys: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Positions of the latest-day row of each key (ties: the later row)."""
    order = np.lexsort((np.arange(len(keys)), days, keys))
    sorted_keys = keys[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = sorted_keys[:-1] != sorted_keys[1:]
    return order[last]


def _build_cube(snapshots: pd.DataFrame, index: pd.Index, as_of: dt.date, config: ScoringConfig) -> _Cube:
    """Scatter the long snapshot frame into a (metric, account, day) cube in one pass.

    Rows after as_of, of unknown accounts or without a date are dropped; metrics the config never
    reads stay out of the cube but still set the anchor day. NaN values count as no value for their
    metric but as a snapshot for the anchor. One (account, metric, day) given twice: one of the two
    is used (the import keeps them unique). Days before the horizon the rules can read
    (``lookback_days + max_data_age_days``) fold into the first column, keeping each metric's latest
    value, so "latest on or before" stays exact and memory stays bounded for long histories.

    Large buffers are reused in place: at 28M rows every fresh array costs page faults.
    """
    n_accounts = len(index)
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    no_anchor = np.full(n_accounts, -1, np.int64)
    empty = _Cube(n_accounts, 1, (), {}, (), no_anchor, no_anchor)
    if snapshots is None or len(snapshots) == 0 or n_accounts == 0:
        return empty

    pos = _account_positions(index, snapshots["account"].to_numpy())
    offset, date_ok = _day_numbers(snapshots["date"])
    np.subtract(as_of_day, offset, out=offset)  # days before as_of; negative = after as_of
    valid = pos >= 0
    valid &= offset >= 0
    if date_ok is not None:
        valid &= date_ok
    if not valid.any():
        return empty
    span = int(offset.max(where=valid, initial=0)) + 1
    horizon = config.lookback_days + config.policy.max_data_age_days + 1
    n_days = min(span, horizon)

    codes, seen = _metric_codes(snapshots["metric"])
    needed = _needed_metrics(config, seen)
    slots = {name: k for k, name in enumerate(needed)}
    dump_slot = len(needed)  # unread metrics (and rows without a metric name) land in a scratch slab
    slot_of_code = np.array([slots.get(name, dump_slot) for name in seen] + [dump_slot], dtype=np.int64)
    values = to_float(snapshots["value"])

    folded = None
    if span > horizon:
        old_rows = np.flatnonzero(valid & (offset >= n_days - 1))
        folded = (
            pos[old_rows],
            as_of_day - offset[old_rows],
            slot_of_code[codes[old_rows]],
            values[old_rows],
        )
        valid[old_rows] = False

    # Cell of each row: account * n_days + column; rows not scattered go to a scratch cell.
    cells = n_accounts * n_days
    flat = pos
    flat *= n_days
    flat += n_days - 1
    flat -= offset
    np.putmask(flat, ~valid, cells)
    presence = np.zeros(cells + 1, dtype=bool)
    presence[flat] = True
    presence = presence[:cells].reshape(n_accounts, n_days)

    slab = cells + 1
    target = np.take(slot_of_code, codes, out=offset)
    target *= slab
    target += flat
    del flat, pos
    cube = np.full((dump_slot + 1) * slab, np.nan)
    cube[target] = values
    del target

    fold_day = np.full(n_accounts, -1, np.int64)
    if folded is not None:
        acc, day, slot, vals = folded
        latest = _last_of_groups(acc, day)
        fold_day[acc[latest]] = day[latest]
        presence[acc[latest], 0] = True
        usable = np.flatnonzero((slot < dump_slot) & ~np.isnan(vals))
        latest = usable[_last_of_groups(slot[usable] * n_accounts + acc[usable], day[usable])]
        cube[slot[latest] * slab + acc[latest] * n_days] = vals[latest]

    has_any = presence.any(axis=1)
    last = (n_days - 1) - np.argmax(presence[:, ::-1], axis=1)
    anchor_col = np.where(has_any, last, -1).astype(np.int64)
    views = tuple(cube[k * slab : k * slab + cells].reshape(n_accounts, n_days) for k in range(dump_slot))
    return _Cube(
        n_accounts=n_accounts,
        n_days=n_days,
        values=views,
        slots=slots,
        seen_metrics=seen,
        anchor_col=anchor_col,
        fold_day=fold_day,
    )


def _forward_fill(arr: np.ndarray) -> np.ndarray:
    """Each cell becomes the latest non-NaN value at or before it in its row (NaN if none)."""
    n_days = arr.shape[1]
    idx = np.where(np.isnan(arr), -1, np.arange(n_days))
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(arr, np.maximum(idx, 0), axis=1)
    out[idx < 0] = np.nan
    return out


def _latest(arr: np.ndarray) -> np.ndarray:
    """Latest non-NaN value per row (NaN if none)."""
    present = ~np.isnan(arr)
    n_days = arr.shape[1]
    last = (n_days - 1) - np.argmax(present[:, ::-1], axis=1)
    out = arr[np.arange(arr.shape[0]), last]
    out[~present.any(axis=1)] = np.nan
    return out


# --------------------------------------------------------------------------------------------------
# Account fields and gates
# --------------------------------------------------------------------------------------------------


def _tenure_days(accounts: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """(as_of - customer_since).days as float, NaN when customer_since is missing."""
    if "customer_since" not in accounts:
        return pd.Series(np.nan, index=accounts.index)
    days, ok = _day_numbers(accounts["customer_since"])
    tenure = (int(np.datetime64(as_of, "D").astype(np.int64)) - days).astype(float)
    if ok is not None:
        tenure[~ok] = np.nan
    return pd.Series(tenure, index=accounts.index)


def _account_field(accounts: pd.DataFrame, name: str, tenure: pd.Series) -> pd.Series:
    if name == "tenure_days":
        return tenure
    if name in accounts:
        return accounts[name]
    return pd.Series(np.nan, index=accounts.index, dtype=float)


def _parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _comparator(op_name: str, what: str) -> Callable[[Any, Any], Any]:
    try:
        return _COMPARATORS[op_name]
    except KeyError:
        raise ValueError(
            f"{what}: unknown operator {op_name!r}; use one of {', '.join(_COMPARATORS)}"
        ) from None


def _gate_passes(subject: pd.Series, gate: GateSpec) -> np.ndarray:
    """Rule: subject <operator> value, numerically when both are numbers, else as text.

    A missing subject passes when ``skip_if_missing`` and fails otherwise.
    """
    compare = _comparator(gate.operator, f"gate {gate.name!r}")
    missing = subject.isna().to_numpy()
    target = _parse_number(gate.value)
    numbers = None
    if target is not None and not pd.api.types.is_bool_dtype(subject.dtype):
        numbers = to_float(subject)
        if (np.isnan(numbers) & ~missing).any():  # some present value is not a number: compare text
            numbers = None
    if numbers is not None:
        with np.errstate(invalid="ignore"):
            result = np.asarray(compare(numbers, target), dtype=bool)
    else:
        text = subject.astype(object).where(~missing, "").astype(str)
        result = np.asarray(compare(text, str(gate.value)).to_numpy(), dtype=bool)
    return np.where(missing, gate.skip_if_missing, result)


def _apply_gates(
    accounts: pd.DataFrame, gates: Sequence[GateSpec], tenure: pd.Series, latest: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(blocked, blocked_by, self_serve, self_serve_by): first failing gate name of each action."""
    n = len(accounts)
    blocked = np.zeros(n, dtype=bool)
    blocked_by = np.full(n, "", dtype=object)
    self_serve = np.zeros(n, dtype=bool)
    self_serve_by = np.full(n, "", dtype=object)
    segments = accounts["segment"] if "segment" in accounts else pd.Series("", index=accounts.index)
    for gate in sorted(gates, key=lambda g: g.order):
        if gate.subject in ACCOUNT_FIELDS:
            subject = _account_field(accounts, gate.subject, tenure)
        else:
            values = latest[gate.subject].to_numpy(float) if gate.subject in latest else np.full(n, np.nan)
            subject = pd.Series(values, index=accounts.index)
        failed = ~_gate_passes(subject, gate)
        if gate.segments:
            failed &= segments.isin(gate.segments).to_numpy()
        if gate.action == GATE_BLOCK:
            blocked_by[failed & ~blocked] = gate.name
            blocked |= failed
        elif gate.action == GATE_SELF_SERVE:
            self_serve_by[failed & ~self_serve] = gate.name
            self_serve |= failed
        else:
            raise ValueError(f"gate {gate.name!r}: unknown action {gate.action!r}")
    return blocked, blocked_by, self_serve, self_serve_by


# --------------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SignalReading:
    """One signal's reading on each account's anchor day and whether it fired (accounts order)."""

    value: np.ndarray  # float (accounts,), NaN = no reading
    fired: np.ndarray  # bool (accounts,)
    target: np.ndarray | None = None  # object (accounts,): the module a family fired for ("" = none)


@dataclass(frozen=True, eq=False)
class Readings:
    """What the signal arithmetic hands to the decision step, in the accounts frame's row order.

    Built from snapshots by ``readings_from_snapshots`` (the reference) or from a compiled SQL query
    run where the usage lives (``scoring.pushdown.readings_from_table``); ``evaluate_readings`` turns
    either into the same Evaluation.
    """

    anchor_day: np.ndarray  # int64 days since 1970-01-01 of the latest snapshot on or before as_of; -1 none
    fresh: np.ndarray  # bool: anchor within policy.max_data_age_days of as_of
    signals: Mapping[str, SignalReading]  # by signal key, every signal of the config
    latest: pd.DataFrame  # index = accounts index; float column per metric read (latest on or before)


@dataclass(frozen=True, eq=False)
class _SignalOutcome:
    value: np.ndarray  # float (accounts,)
    fired: np.ndarray  # bool
    counts: np.ndarray  # bool: fired, not watch, targets something not owned
    target: np.ndarray  # object (accounts,)


def _reading_series(spec: SignalSpec, metric: np.ndarray, cube: _Cube, fields: Mapping[str, np.ndarray]):
    """Base array (account x day): metric, divided by its denominator (zero/missing -> NaN)."""
    if spec.denominator_metric:
        denominator = cube.metric(spec.denominator_metric)
    elif spec.denominator_field:
        denominator = fields[spec.denominator_field][:, None]
    else:
        return metric
    denominator = np.where(denominator == 0, np.nan, denominator)
    return metric / denominator


def _signal_fires(
    spec: SignalSpec,
    metric: np.ndarray,
    cube: _Cube,
    fields: Mapping[str, np.ndarray],
    fresh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(fired, reading on the anchor day) of one metric array under ``spec``.

    Reading on day d: value: base(d); change: base(d) - base*(d - window); ratio: base(d) / base*(d -
    window), where base* is the latest value on or before that day and 0 or missing gives NaN.
    Fired: reading <op> threshold (NaN -> False) on every day of [anchor - persistence + 1, anchor].
    """
    compare = _comparator(spec.operator, f"signal {spec.key!r}")
    if spec.compare not in (COMPARE_VALUE, COMPARE_CHANGE, COMPARE_RATIO):
        raise ValueError(f"signal {spec.key!r}: unknown compare {spec.compare!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        base = _reading_series(spec, metric, cube, fields)
        past_base = _forward_fill(base) if spec.compare != COMPARE_VALUE else base
    rows = np.arange(cube.n_accounts)

    def at(arr: np.ndarray, cols: np.ndarray) -> np.ndarray:
        ok = cols >= 0
        out = arr[rows, np.where(ok, cols, 0)]
        out[~ok] = np.nan
        return out

    def reading(cols: np.ndarray) -> np.ndarray:
        now = at(base, cols)
        if spec.compare == COMPARE_VALUE:
            return now
        past = at(past_base, cols - spec.window_days)
        with np.errstate(divide="ignore", invalid="ignore"):
            if spec.compare == COMPARE_CHANGE:
                return now - past
            return now / np.where(past == 0, np.nan, past)

    anchor = cube.anchor_col
    value = reading(anchor)
    fired = fresh.copy()
    for back in range(max(spec.persistence_days, 1)):
        current = value if back == 0 else reading(anchor - back)
        with np.errstate(invalid="ignore"):
            fired &= np.asarray(compare(current, spec.threshold), dtype=bool) & ~np.isnan(current)
    return fired, value


def _owned_lookup(accounts: pd.DataFrame) -> Callable[[str], np.ndarray]:
    """Function module -> bool array: the account already owns that module."""
    n = len(accounts)
    if "owned_modules" not in accounts or n == 0:
        return lambda module: np.zeros(n, dtype=bool)
    # Lists (or tuples/arrays) per row; a ";"-joined string is accepted too.
    exploded = accounts["owned_modules"].reset_index(drop=True).explode().dropna()
    exploded = exploded.astype(str).str.split(LIST_SEPARATOR).explode().str.strip()
    exploded = exploded[exploded != ""]
    positions = exploded.index.to_numpy()
    names = exploded.to_numpy(dtype=object)
    cache: dict[str, np.ndarray] = {}

    def lookup(module: str) -> np.ndarray:
        if module not in cache:
            mask = np.zeros(n, dtype=bool)
            mask[positions[names == module]] = True
            cache[module] = mask
        return cache[module]

    return lookup


def _signal_reading(
    spec: SignalSpec,
    cube: _Cube,
    fields: Mapping[str, np.ndarray],
    fresh: np.ndarray,
    owned: Callable[[str], np.ndarray],
) -> SignalReading:
    """Read and fire one signal for every account from the cube (a family also picks its module)."""
    n = cube.n_accounts
    if not spec.is_module_family:
        fired, value = _signal_fires(spec, cube.metric(spec.metric), cube, fields, fresh)
        return SignalReading(value=value, fired=fired)
    # Each non-owned module is its own candidate; the highest firing reading wins (ties: by name).
    fired = np.zeros(n, dtype=bool)
    best = np.full(n, -np.inf)
    nearest = np.full(n, np.nan)
    target = np.full(n, "", dtype=object)
    for module, metric_name in cube.family(spec.metric):
        module_fired, module_value = _signal_fires(spec, cube.metric(metric_name), cube, fields, fresh)
        available = ~owned(module)
        module_fired &= available
        take = module_fired & (~fired | (module_value > best))
        best[take] = module_value[take]
        target[take] = module
        fired |= module_fired
        closer = available & ~np.isnan(module_value) & (np.isnan(nearest) | (module_value > nearest))
        nearest[closer] = module_value[closer]
    value = np.where(fired, best, nearest)
    return SignalReading(value=value, fired=fired, target=target)


def _signal_outcome(
    spec: SignalSpec,
    reading: SignalReading,
    owned: Callable[[str], np.ndarray],
    tier_rank: np.ndarray,
    plan_tier: np.ndarray,
) -> _SignalOutcome:
    """Decide from account fields what a fired signal targets and whether the account owns it already."""
    n = len(plan_tier)
    fired, value = reading.fired, reading.value
    if spec.is_module_family:
        target = reading.target if reading.target is not None else np.full(n, "", dtype=object)
        not_owned = np.ones(n, dtype=bool)
    else:
        if spec.expansion_type == EXPANSION_TIER:
            if spec.target:
                target = np.full(n, spec.target, dtype=object)
                wanted = _TIER_RANK.get(spec.target)
                at_or_above = plan_tier == spec.target
                if wanted is not None:
                    at_or_above |= (tier_rank >= 0) & (tier_rank >= wanted)
                not_owned = ~at_or_above
            else:
                next_rank = tier_rank + 1
                has_next = (tier_rank >= 0) & (next_rank < len(TIER_ORDER))
                names = np.array([*TIER_ORDER, ""], dtype=object)
                target = names[np.where(has_next, next_rank, len(TIER_ORDER))]
                not_owned = has_next
        elif spec.expansion_type == EXPANSION_MODULE and spec.target:
            target = np.full(n, spec.target, dtype=object)
            not_owned = ~owned(spec.target)
        else:
            target = np.full(n, spec.target, dtype=object)
            not_owned = np.ones(n, dtype=bool)
    commercial = not spec.is_watch and spec.expansion_type != EXPANSION_NONE
    counts = fired & not_owned if commercial else np.zeros(n, dtype=bool)
    return _SignalOutcome(value=value, fired=fired, counts=counts, target=target)


# --------------------------------------------------------------------------------------------------
# Conditions, scope, cooldowns and timing of triggers
# --------------------------------------------------------------------------------------------------


def _column(accounts: pd.DataFrame, name: str, default: Any) -> pd.Series:
    if name in accounts:
        return accounts[name]
    return pd.Series(default, index=accounts.index)


def _field_condition(
    spec: SignalSpec, c: ConditionSpec, accounts: pd.DataFrame, tenure: pd.Series
) -> np.ndarray:
    subject = _account_field(accounts, c.subject, tenure)
    if c.operator in SET_OPERATORS:
        members = set(c.members)
        text = subject.astype(object).where(subject.notna(), "").astype(str).str.strip()
        inside = text.isin(members).to_numpy() & subject.notna().to_numpy()
        return inside if c.operator == "in" else ~inside & subject.notna().to_numpy()
    gate = GateSpec(name=f"{spec.key} condition", subject=c.subject, operator=c.operator, value=c.value)
    return _gate_passes(subject, gate)


def _family_count(c: ConditionSpec, latest: pd.DataFrame) -> np.ndarray:
    prefix = c.metric[: -len(MODULE_WILDCARD)] + ":" if c.metric.endswith(MODULE_WILDCARD) else c.metric + ":"
    members = [m for m in latest.columns if str(m).startswith(prefix) and m != prefix]
    if members:
        count = (latest[members].to_numpy(dtype=float) > 0).sum(axis=1).astype(float)
    else:
        count = np.zeros(len(latest))
    return np.asarray(_comparator(c.operator, f"condition on {c.metric!r}")(count, c.threshold), dtype=bool)


def _event_count(c: ConditionSpec, accounts: pd.DataFrame) -> np.ndarray:
    counts = to_float(_column(accounts, event_column(c.subject, c.window_days), 0.0))
    counts = np.nan_to_num(counts, nan=0.0)
    return np.asarray(
        _comparator(c.operator, f"condition on event {c.subject!r}")(counts, c.threshold), dtype=bool
    )


def conditions_hold(
    spec: SignalSpec, accounts: pd.DataFrame, readings: Readings, as_of: dt.date
) -> np.ndarray:
    """Whether every extra condition and the scope of ``spec`` hold for each account (accounts order).

    Metric and trend conditions are the hidden readings ``<key>~<n>`` the signal arithmetic produced;
    field, family-count and event-count conditions are decided here from the account row (an event
    count comes from the ``events:<name>:<days>`` column, absent = no events)."""
    n = len(accounts)
    holds = np.ones(n, dtype=bool)
    if spec.segments:
        holds &= _column(accounts, "segment", "").isin(spec.segments).to_numpy()
    if spec.tiers:
        holds &= _column(accounts, "plan_tier", "").isin(spec.tiers).to_numpy()
    tenure = None
    for position, c in enumerate(spec.conditions):
        if c.reads_like_signal:
            reading = readings.signals.get(f"{spec.key}{CONDITION_KEY_SEPARATOR}{position}")
            holds &= reading.fired if reading is not None else False
        elif c.kind == CONDITION_FIELD:
            if tenure is None:
                tenure = _tenure_days(accounts, as_of)
            holds &= _field_condition(spec, c, accounts, tenure)
        elif c.kind == CONDITION_FAMILY_COUNT:
            holds &= _family_count(c, readings.latest)
        elif c.kind == CONDITION_EVENT_COUNT:
            holds &= _event_count(c, accounts)
        else:
            raise ValueError(f"signal {spec.key!r}: unknown condition kind {c.kind!r}")
    return holds


@dataclass(frozen=True, eq=False)
class TriggerState:
    """Per timed trigger: where it fires with all its conditions (before any hold), by account."""

    firing: Mapping[str, np.ndarray]
    held: Mapping[str, np.ndarray]
    cooling: Mapping[str, np.ndarray]


def apply_conditions(
    accounts: pd.DataFrame,
    readings: Readings,
    config: ScoringConfig,
    as_of: dt.date,
    *,
    hold: Callable[[SignalSpec, np.ndarray], np.ndarray] | None = None,
) -> tuple[Readings, TriggerState]:
    """The readings with each trigger's fired flag narrowed to its conditions and scope, its cooldown
    (the ``cooldown:<key>`` column, True = cooling) and any timing hold: ``hold(spec, firing)`` says
    which firing accounts are not due yet (``scoring.triggers.timing_holds``). Hidden condition
    readings are dropped."""
    signals: dict[str, SignalReading] = {}
    firing: dict[str, np.ndarray] = {}
    cooling: dict[str, np.ndarray] = {}
    held_out: dict[str, np.ndarray] = {}
    for spec in config.signals:
        if spec.has_metric:
            reading = readings.signals[spec.key]
        else:  # no clause of its own: its conditions decide, on accounts with current data (none: nowhere)
            base = readings.fresh.copy() if spec.conditions else np.zeros(len(accounts), dtype=bool)
            reading = SignalReading(value=np.full(len(accounts), np.nan), fired=base)
        fired = reading.fired & conditions_hold(spec, accounts, readings, as_of)
        firing[spec.key] = fired
        if spec.cooldown_days > 0:
            cool = _column(accounts, cooldown_column(spec.key), False).fillna(False).to_numpy(dtype=bool)
            cooling[spec.key] = fired & cool
            fired = fired & ~cool
        if hold is not None and spec.is_timed:
            waiting = fired & hold(spec, fired)
            held_out[spec.key] = waiting
            fired = fired & ~waiting
        signals[spec.key] = SignalReading(value=reading.value, fired=fired, target=reading.target)
    narrowed = Readings(
        anchor_day=readings.anchor_day, fresh=readings.fresh, signals=signals, latest=readings.latest
    )
    return narrowed, TriggerState(firing=firing, held=held_out, cooling=cooling)


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def _signal_rank_key(spec: SignalSpec) -> tuple[int, int, str]:
    """Primary-signal order: most points, then higher priority (high before medium), then key."""
    return (-spec.points, PRIORITY_RANK.get(spec.priority, len(PRIORITY_RANK)), spec.key)


def _join_keys(keys: Sequence[str], masks: Sequence[np.ndarray], n: int) -> np.ndarray:
    joined = np.full(n, "", dtype=object)
    for key, mask in zip(keys, masks, strict=True):
        separator = np.where(joined == "", "", LIST_SEPARATOR)
        joined = np.where(mask, joined + separator + key, joined)
    return joined


def readings_from_snapshots(
    accounts: pd.DataFrame, snapshots: pd.DataFrame, config: ScoringConfig, as_of: dt.date
) -> Readings:
    """Every signal's reading and fired flag from a long snapshot frame (see ``evaluate``)."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    cube = _build_cube(snapshots, accounts.index, as_of, config)
    has_anchor = cube.anchor_col >= 0
    fresh = has_anchor & (cube.anchor_col >= cube.n_days - 1 - config.policy.max_data_age_days)
    tenure = _tenure_days(accounts, as_of)
    field_names = {s.denominator_field for s in config.reading_signals if s.denominator_field}
    fields = {name: to_float(_account_field(accounts, name, tenure)) for name in field_names}
    owned = _owned_lookup(accounts)
    signals = {}
    for spec in config.reading_signals:
        reading = _signal_reading(spec, cube, fields, fresh, owned)
        # a stale account has no current reading: it shows none rather than an old one
        signals[spec.key] = SignalReading(
            value=np.where(fresh, reading.value, np.nan),
            fired=reading.fired & fresh,
            target=None if reading.target is None else np.where(fresh, reading.target, ""),
        )
    account_index = accounts.index.copy()
    account_index.name = "account"
    latest = pd.DataFrame(
        {name: _latest(cube.values[slot]) for name, slot in cube.slots.items()}, index=account_index
    )
    anchor_day = cube.anchor_day_numbers(int(np.datetime64(as_of, "D").astype(np.int64)))
    return Readings(anchor_day=anchor_day, fresh=fresh, signals=signals, latest=latest)


def evaluate(
    accounts: pd.DataFrame,
    snapshots: pd.DataFrame,
    config: ScoringConfig,
    as_of: dt.date,
    uplifts: Mapping[str, tuple[float, str]] | None = None,
) -> Evaluation:
    """Gates, signals, score, qualification and estimate of every account at ``as_of``.

    ``accounts``: indexed by account pk; columns account_id, segment, plan_tier, status, contract_arr,
    customer_since, health_score, seats_licensed, api_limit_30d, owned_modules (list per row).
    ``snapshots``: long frame account, date, metric, value; rows after ``as_of`` are ignored. A
    ``category`` metric column is the fast path (a string column is factorized: ~1 s per 28M rows).
    ``uplifts``: expansion type -> (fraction, source), e.g. from ``calibrate_uplifts``; a type missing
    from it (or ``uplifts=None``) uses ``default_uplifts(config.signals)``.

    Rules (see the module docstring): score = clip(sum of points of fired non-watch signals, 0, 100);
    primary = the counting signal ranked by (points desc, priority, key); estimate = contract_arr x
    uplift[primary.expansion_type]; qualifies = not blocked and not stale and a counting signal and
    score >= score_threshold and estimate >= min_expansion_pct x contract_arr. ``reason`` is the first
    of blocked:<gate>, stale, no_signal, owned, score_below_threshold, below_expansion_floor.
    """
    if accounts.index.has_duplicates:
        raise ValueError("accounts: the index (account pk) must be unique")
    readings = readings_from_snapshots(accounts, snapshots, config, as_of)
    return evaluate_readings(accounts, readings, config, as_of, uplifts)


def evaluate_readings(
    accounts: pd.DataFrame,
    readings: Readings,
    config: ScoringConfig,
    as_of: dt.date,
    uplifts: Mapping[str, tuple[float, str]] | None = None,
    *,
    conditioned: bool = False,
) -> Evaluation:
    """The decision step of ``evaluate`` (gates, score, primary, qualification) from signal readings.

    ``readings`` straight from the arithmetic are narrowed by ``apply_conditions`` first; readings
    already narrowed (``conditioned=True``) are used as they are."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if accounts.index.has_duplicates:
        raise ValueError("accounts: the index (account pk) must be unique")
    if not conditioned:
        readings, _ = apply_conditions(accounts, readings, config, as_of)
    policy = config.policy
    index = accounts.index
    n = len(accounts)

    tenure = _tenure_days(accounts, as_of)
    blocked, blocked_by, self_serve, self_serve_by = _apply_gates(
        accounts, config.gates, tenure, readings.latest
    )

    fresh = readings.fresh
    has_anchor = readings.anchor_day >= 0
    stale = ~fresh

    owned = _owned_lookup(accounts)
    plan_tier = (
        accounts["plan_tier"].astype(object).to_numpy()
        if "plan_tier" in accounts
        else np.full(n, "", dtype=object)
    )
    tier_rank = pd.Series(plan_tier).map(_TIER_RANK).fillna(-1).to_numpy(dtype=np.int64)

    signals = tuple(config.signals)
    outcomes = [_signal_outcome(s, readings.signals[s.key], owned, tier_rank, plan_tier) for s in signals]

    # Score: fired non-watch signals, including those that target something already owned.
    score = np.zeros(n, dtype=np.int64)
    any_scoring = np.zeros(n, dtype=bool)
    for spec, outcome in zip(signals, outcomes, strict=True):
        if not spec.is_watch:
            score += outcome.fired * int(spec.points)
            any_scoring |= outcome.fired
    score = np.clip(score, 0, MAX_SCORE)

    # Primary signal: first counting signal in rank order.
    uplift_table = {**default_uplifts(signals), **dict(uplifts or {})}
    ranked = sorted(range(len(signals)), key=lambda i: _signal_rank_key(signals[i]))
    rows = np.arange(n)
    if ranked:
        counting = np.column_stack([outcomes[i].counts for i in ranked])
        targets = np.column_stack([outcomes[i].target for i in ranked])
        has_primary = counting.any(axis=1)
        first = np.argmax(counting, axis=1)
        ranked_specs = [signals[i] for i in ranked]

        def pick(values: list[str]) -> np.ndarray:
            return np.array(values, dtype=object)[first]

        primary = np.where(has_primary, pick([s.key for s in ranked_specs]), "")
        expansion_type = np.where(has_primary, pick([s.expansion_type for s in ranked_specs]), "")
        uplift_of = [uplift_table.get(s.expansion_type, (0.0, UPLIFT_DEFAULT)) for s in ranked_specs]
        uplift = np.where(has_primary, np.array([u[0] for u in uplift_of], dtype=float)[first], np.nan)
        source = np.where(has_primary, pick([u[1] for u in uplift_of]), "")
        target = np.where(has_primary, targets[rows, first], "")
    else:
        has_primary = np.zeros(n, dtype=bool)
        primary = expansion_type = source = target = np.full(n, "", dtype=object)
        uplift = np.full(n, np.nan)

    contract_arr = to_float(accounts["contract_arr"]) if "contract_arr" in accounts else np.full(n, np.nan)
    estimate = contract_arr * uplift
    with np.errstate(invalid="ignore"):
        above_floor = estimate >= policy.min_expansion_pct * contract_arr
    above_threshold = score >= policy.score_threshold
    qualifies = ~blocked & fresh & has_primary & above_threshold & above_floor
    reason = np.select(
        [blocked, stale, ~any_scoring, ~has_primary, ~above_threshold, ~above_floor],
        [
            REASON_BLOCKED_PREFIX + blocked_by,
            REASON_STALE,
            REASON_NO_SIGNAL,
            REASON_OWNED,
            REASON_SCORE_BELOW,
            REASON_BELOW_FLOOR,
        ],
        default="",
    ).astype(object)

    watch = [(s.key, o.fired) for s, o in zip(signals, outcomes, strict=True) if s.is_watch]
    watch_fired = _join_keys([k for k, _ in watch], [m for _, m in watch], n)
    watch_any = np.logical_or.reduce([m for _, m in watch]) if watch else np.zeros(n, dtype=bool)
    watch_only = ~blocked & ~qualifies & watch_any

    anchor_date = np.where(has_anchor, readings.anchor_day, np.datetime64("NaT", "D").astype(np.int64))
    anchor_date = anchor_date.astype("datetime64[D]").astype("datetime64[ns]")

    account_index = index.copy()
    account_index.name = "account"
    accounts_result = pd.DataFrame(
        {
            "blocked": blocked,
            "blocked_by": blocked_by,
            "self_serve": self_serve,
            "self_serve_by": self_serve_by,
            "stale": stale,
            "score": score.astype(np.int64),
            "qualifies": qualifies,
            "reason": reason,
            "primary_signal": primary,
            "expansion_type": expansion_type,
            "target": target,
            "estimate": estimate,
            "estimate_source": source,
            "uplift": uplift,
            "watch_fired": watch_fired,
            "watch_only": watch_only,
            "anchor_date": anchor_date,
        },
        index=account_index,
    )

    n_signals = len(signals)
    signals_result = pd.DataFrame(
        {
            "account": np.repeat(index.to_numpy(), n_signals),
            "signal": np.tile(np.array([s.key for s in signals], dtype=object), n),
            "value": _interleave([o.value for o in outcomes], n, float),
            "threshold": np.tile(np.array([s.threshold for s in signals], dtype=float), n),
            "points": np.tile(np.array([s.points for s in signals], dtype=np.int64), n),
            "fired": _interleave([o.fired for o in outcomes], n, bool),
            "counts": _interleave([o.counts for o in outcomes], n, bool),
            "target": _interleave([o.target for o in outcomes], n, object),
            "priority": np.tile(np.array([s.priority for s in signals], dtype=object), n),
            "expansion_type": np.tile(np.array([s.expansion_type for s in signals], dtype=object), n),
        }
    )

    latest_metrics = readings.latest
    return Evaluation(
        accounts_result=accounts_result, signals_result=signals_result, latest_metrics=latest_metrics
    )


def _interleave(per_signal: Sequence[np.ndarray], n: int, dtype: Any) -> np.ndarray:
    """Per-signal (accounts,) arrays as one account-major column (account 0's signals first)."""
    if not per_signal:
        return np.empty(0, dtype=dtype)
    return np.column_stack([np.asarray(a, dtype=dtype) for a in per_signal]).reshape(-1)


# --------------------------------------------------------------------------------------------------
# Triggered signals (stored on the EQL record)
# --------------------------------------------------------------------------------------------------

_TRIGGERED_COLUMNS = ["signal", "value", "threshold", "points"]


def _fired_sorted(signals_result: pd.DataFrame) -> pd.DataFrame:
    fired = signals_result[signals_result["fired"].to_numpy(dtype=bool)]
    rank = fired["priority"].map(PRIORITY_RANK).fillna(len(PRIORITY_RANK))
    return fired.assign(_neg_points=-fired["points"], _rank=rank).sort_values(
        ["account", "_neg_points", "_rank", "signal"], kind="stable"
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for signal, value, threshold, points in frame[_TRIGGERED_COLUMNS].itertuples(index=False, name=None):
        out.append(
            {
                "signal": str(signal),
                "value": None if pd.isna(value) else float(value),
                "threshold": float(threshold),
                "points": int(points),
            }
        )
    return out


def triggered_signals(signals_result: pd.DataFrame, account: Any) -> list[dict[str, Any]]:
    """Fired signals of one account as ``{signal, value, threshold, points}`` (JSON-ready).

    Every fired signal is listed (watch and owned-target ones included), primary order first: points
    desc, priority, key. ``value`` is None when the reading is NaN.
    """
    rows = signals_result[signals_result["account"].to_numpy() == account]
    return _records(_fired_sorted(rows))


def triggered_signals_by_account(signals_result: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    """``triggered_signals`` for every account with at least one fired signal, in one pass."""
    ordered = _fired_sorted(signals_result)
    out: dict[Any, list[dict[str, Any]]] = {}
    records = _records(ordered)
    for account, record in zip(ordered["account"].tolist(), records, strict=True):
        out.setdefault(account, []).append(record)
    return out
