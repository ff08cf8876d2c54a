"""Backtest: replay the signal model over history and score it against the expansions that happened.

Pure, like ``scoring.engine``: pandas frames and the frozen dataclasses of ``scoring.config`` in, a
JSON-ready dict out; no ORM, no settings, no I/O. ``scoring.backtest_services`` loads the frames.

Replay (``spec/domain.md``, "Evaluation order", steps 1-5): for each step date d = start, start +
step_days, ... <= end the engine evaluates every account at d (vectorised); then, per account, the
production dedup and suppression are applied to the accounts that qualify:

- **Dedup**: an account with an open simulated EQL gets no other one.
- **Close**: a simulated EQL created on day c closes on the first *counted* expansion of its account
  created on a day m with c <= m <= c + match_window_days (the EQL is **matched**; it closes on m),
  otherwise it closes unmatched on c + match_window_days. An expansion matches at most one EQL.
- **Suppression**: after a close on day x the account gets no new EQL before x + suppression_days.
  An account that keeps qualifying therefore produces one EQL per (open period + suppression) cycle.
- **CSM review items** (only watch signals fired, ``watch_only``) are counted apart (``csm_reviews``):
  they never count as EQLs for precision or recall, never block or suppress a real EQL (production
  upgrades them in place), and are assumed to stay open for match_window_days.

Definitions (exact):

- **Counted expansion**: a historical expansion whose status is ``won`` or ``open`` (the customer
  bought or is buying; a ``lost`` deal is not "an expansion happened"). With ``won_only`` only ``won``.
  Lost deals are ignored entirely (they neither match nor close a simulated EQL).
- **precision** = matched EQLs / EQLs (None when there are no EQLs). ``precision_settled`` leaves out
  *pending* EQLs: unmatched ones whose window runs past ``observed_until`` (outcome not known yet).
- **Eligible expansion** (the recall base): a counted expansion created in [start, end] on an account
  that was *eligible* (not blocked by a ``block`` gate and with fresh usage data) on at least one step
  date s with created - match_window_days <= s <= created, i.e. the model could have flagged it.
- **recall** = eligible expansions preceded by a simulated EQL of the same account created on a day c
  with c <= created <= c + match_window_days / eligible expansions (None when there are none).
  ``matched_expansions`` is that numerator.
- **EQLs per week** = EQLs / (days in [start, end] / 7).
- **By signal**: per primary signal of the simulated EQL: eqls, matched, precision.
- **By owner**: per account AE (``accounts.ae_id``; ``None`` = no AE): eqls, matched, precision, EQLs
  per week, the peak number of simulated EQLs open at a step date and how many step dates that number
  exceeded the AE's ``capacity`` (max open EQLs; None = unlimited).

Known limits: account fields (status, health, contract ARR, owned modules, AE) are today's values,
not the values at each step date; uplifts are calibrated by the caller (the service uses expansions
closed before ``start`` only, so there is no look-ahead).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scoring import dedup, engine
from scoring.config import (
    COMPARE_CHANGE,
    COMPARE_RATIO,
    COMPARE_VALUE,
    EXPANSION_MODULE,
    EXPANSION_NONE,
    EXPANSION_SEATS,
    EXPANSION_TIER,
    OPERATORS,
    PRIORITY_RANK,
    ScoringConfig,
    SignalSpec,
)

__all__ = [
    "COUNTED_STATUSES",
    "DEFAULT_MATCH_WINDOW_DAYS",
    "DEFAULT_STEP_DAYS",
    "POLICY_FIELDS",
    "SIGNAL_FIELDS",
    "WON_ONLY_STATUSES",
    "OverrideError",
    "apply_overrides",
    "backtest",
    "config_summary",
    "parse_override",
    "replace_signal",
    "replay",
    "step_dates",
]

DEFAULT_STEP_DAYS = 7
DEFAULT_MATCH_WINDOW_DAYS = 90
#: Expansion statuses that mean "an expansion happened" (default) and with ``won_only``.
COUNTED_STATUSES = ("won", "open")
WON_ONLY_STATUSES = ("won",)
#: Steps beyond this are refused: a daily replay of three years is the most anybody needs.
MAX_STEPS = 1200

_NEVER = np.iinfo(np.int64).max // 4  # "no such day" (far future), safe to add a window to
_LONG_AGO = np.iinfo(np.int64).min // 4
_KEY_SPAN = 1 << 22  # day numbers (days since 1970) stay far below this; keys are pos * span + day
_EPOCH = dt.date(1970, 1, 1)


class OverrideError(ValueError):
    """An override names an unknown signal or field, or a value of the wrong kind."""


# --------------------------------------------------------------------------------------------------
# Edited configurations (what-if)
# --------------------------------------------------------------------------------------------------


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true/false")


def _as_int(value: Any) -> int:
    number = float(value)
    if math.isnan(number) or not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _as_float(value: Any) -> float:
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{value!r} is not a number")
    return number


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip()
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(a or '(empty)' for a in allowed)}")
        return text

    return convert


def _at_least(minimum: float, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        result = convert(value)
        if result < minimum:
            raise ValueError(f"{result} is below the minimum {minimum:g}")
        return result

    return checked


def _between(low: float, high: float, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        result = convert(value)
        if not low <= result <= high:
            raise ValueError(f"{result} is outside {low:g}..{high:g}")
        return result

    return checked


#: Signal fields an override may set, with their parser (``active`` adds or removes the signal).
SIGNAL_FIELDS: dict[str, Callable[[Any], Any]] = {
    "threshold": _as_float,
    "points": _between(0, 100, _as_int),
    "persistence_days": _at_least(1, _as_int),
    "window_days": _at_least(0, _as_int),
    "operator": _one_of(*OPERATORS),
    "compare": _one_of(COMPARE_VALUE, COMPARE_CHANGE, COMPARE_RATIO),
    "metric": lambda v: str(v).strip(),
    "denominator_metric": lambda v: str(v).strip(),
    "denominator_field": _one_of("", "seats_licensed", "api_limit_30d", "contract_arr"),
    "priority": _one_of(*PRIORITY_RANK),
    "expansion_type": _one_of(EXPANSION_SEATS, EXPANSION_TIER, EXPANSION_MODULE, EXPANSION_NONE),
    "target": lambda v: str(v).strip(),
    "default_uplift": _between(0, 10, _as_float),
    "active": _as_bool,
}
#: Policy fields an override may set (``policy.<field>``, or the bare field name).
POLICY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "score_threshold": _between(0, 100, _as_int),
    "min_expansion_pct": _between(0, 10, _as_float),
    "suppression_days": _at_least(0, _as_int),
    "max_data_age_days": _at_least(0, _as_int),
}
POLICY_PREFIX = "policy"


def parse_override(text: str) -> tuple[str, str]:
    """``"seat_utilisation.threshold=0.95"`` -> ``("seat_utilisation.threshold", "0.95")``."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise OverrideError(f"{text!r}: write signal_key.field=value, e.g. seat_utilisation.threshold=0.95")
    return name, value


def _split_name(name: str) -> tuple[str, str]:
    owner, sep, field = name.strip().rpartition(".")
    if not sep:
        owner, field = POLICY_PREFIX, name.strip()
    return owner, field


def apply_overrides(
    config: ScoringConfig,
    overrides: Mapping[str, Any],
    *,
    inactive: Mapping[str, SignalSpec] | None = None,
) -> ScoringConfig:
    """``config`` with ``{"signal_key.field": value, "policy.field": value}`` applied (a new object).

    ``signal_key.active=false`` drops an active signal; ``=true`` adds one from ``inactive`` (the saved
    but switched-off definitions). Raises ``OverrideError`` with a message a RevOps person can act on.
    """
    if not overrides:
        return config
    signals = {s.key: s for s in config.signals}
    inactive = dict(inactive or {})
    policy_changes: dict[str, Any] = {}
    signal_changes: dict[str, dict[str, Any]] = {}
    for name, raw in overrides.items():
        owner, field = _split_name(name)
        if owner == POLICY_PREFIX:
            if field not in POLICY_FIELDS:
                raise OverrideError(
                    f"{name}: unknown policy field; use one of {', '.join(sorted(POLICY_FIELDS))}"
                )
            try:
                policy_changes[field] = POLICY_FIELDS[field](raw)
            except (TypeError, ValueError) as exc:
                raise OverrideError(f"{name}: {exc}") from None
            continue
        if owner not in signals and owner not in inactive:
            known = ", ".join(sorted({*signals, *inactive})) or "none"
            raise OverrideError(f"{name}: no signal with key {owner!r}; signals are: {known}")
        if field not in SIGNAL_FIELDS:
            raise OverrideError(
                f"{name}: unknown signal field; use one of {', '.join(sorted(SIGNAL_FIELDS))}"
            )
        try:
            signal_changes.setdefault(owner, {})[field] = SIGNAL_FIELDS[field](raw)
        except (TypeError, ValueError) as exc:
            raise OverrideError(f"{name}: {exc}") from None

    ordered = list(config.signals)
    for key, changes in signal_changes.items():
        active = changes.pop("active", key in signals)
        base = signals.get(key) or inactive[key]
        spec = dataclasses.replace(base, **changes) if changes else base
        if key in signals:
            ordered = (
                [spec if s.key == key else s for s in ordered]
                if active
                else [s for s in ordered if s.key != key]
            )
        elif active:
            ordered.append(spec)
    policy = dataclasses.replace(config.policy, **policy_changes) if policy_changes else config.policy
    return dataclasses.replace(config, signals=tuple(ordered), policy=policy)


def replace_signal(config: ScoringConfig, key: str | None, spec: SignalSpec | None) -> ScoringConfig:
    """``config`` with the signal ``key`` replaced by ``spec`` (added when ``key`` is None or absent;
    removed when ``spec`` is None): the admin's edited-but-unsaved signal against the saved model."""
    signals = list(config.signals)
    position = next((i for i, s in enumerate(signals) if key is not None and s.key == key), None)
    if position is None:
        if spec is not None:
            signals = [s for s in signals if s.key != spec.key] + [spec]
    elif spec is None:
        del signals[position]
    else:
        signals[position] = spec
        signals = [s for i, s in enumerate(signals) if i == position or s.key != spec.key]
    return dataclasses.replace(config, signals=tuple(signals))


def config_summary(config: ScoringConfig) -> dict[str, Any]:
    """What a run used, JSON-ready: per signal the tunable numbers, and the policy."""
    return {
        "version": config.version,
        "signals": {
            s.key: {
                "name": s.name,
                "threshold": s.threshold,
                "points": s.points,
                "operator": s.operator,
                "persistence_days": s.persistence_days,
                "priority": s.priority,
            }
            for s in config.signals
        },
        "policy": dataclasses.asdict(config.policy),
    }


# --------------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------------

#: Where snapshots come from: a frame covering the period (+ lookback), or a loader per step date.
SnapshotSource = pd.DataFrame | Callable[[dt.date], pd.DataFrame]
Progress = Callable[[int, int], None]


def step_dates(start: dt.date, end: dt.date, step_days: int) -> list[dt.date]:
    """start, start + step_days, ... up to and including end."""
    if step_days < 1:
        raise ValueError("step_days must be at least 1")
    if end < start:
        raise ValueError(f"the end ({end}) is before the start ({start})")
    count = (end - start).days // step_days + 1
    if count > MAX_STEPS:
        raise ValueError(f"{count} steps is too many (at most {MAX_STEPS}); use a longer step")
    return [start + dt.timedelta(days=i * step_days) for i in range(count)]


def _day(value: dt.date) -> int:
    return (value - _EPOCH).days


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def _day_array(values: pd.Series) -> np.ndarray:
    """Day numbers of a date column (dates, datetimes or ISO strings); NaT -> _NEVER."""
    stamps = pd.to_datetime(values, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), _NEVER, days)


class _FrameSource:
    """Per-step slices of one long snapshot frame: the rows of [as_of - horizon, as_of]."""

    def __init__(self, frame: pd.DataFrame, configs: Sequence[ScoringConfig]):
        days = _day_array(frame["date"]) if len(frame) else np.empty(0, np.int64)
        order = np.argsort(days, kind="stable")
        self.frame = frame.iloc[order]
        self.days = days[order]
        # Enough for every window the configs read, with data-age slack before and after.
        self.horizon = max(c.lookback_days + 2 * c.policy.max_data_age_days for c in configs) + 1

    def __call__(self, as_of: dt.date) -> pd.DataFrame:
        day = _day(as_of)
        lo = np.searchsorted(self.days, day - self.horizon, side="left")
        hi = np.searchsorted(self.days, day, side="right")
        return self.frame.iloc[lo:hi]


class _Simulation:
    """Dedup, suppression and outcome bookkeeping of one configuration over the step dates."""

    def __init__(
        self,
        config: ScoringConfig,
        n_accounts: int,
        n_steps: int,
        expansion_keys: np.ndarray,
        match_window: int,
    ):
        self.config = config
        self.match_window = match_window
        self.suppression = int(config.policy.suppression_days)
        self.expansion_keys = expansion_keys
        self.open_until = np.full(n_accounts, _LONG_AGO, np.int64)  # close day of the last real EQL
        self.free_from = np.full(n_accounts, _LONG_AGO, np.int64)  # its close day + suppression
        self.watch_until = np.full(n_accounts, _LONG_AGO, np.int64)
        self.used_until = np.full(n_accounts, _LONG_AGO, np.int64)  # last expansion day already matched
        self.eligible = np.zeros((n_steps, n_accounts), dtype=bool)
        self.new_csm_reviews = np.zeros(n_steps, dtype=np.int64)
        self.parts: list[dict[str, np.ndarray]] = []

    def _next_expansion(self, positions: np.ndarray, from_day: np.ndarray) -> np.ndarray:
        """Day of each account's first counted expansion on or after from_day (_NEVER if none)."""
        keys = self.expansion_keys
        if len(keys) == 0 or len(positions) == 0:
            return np.full(len(positions), _NEVER, np.int64)
        wanted = positions * _KEY_SPAN + from_day
        at = np.searchsorted(keys, wanted, side="left")
        found = at < len(keys)
        hit = keys[np.minimum(at, len(keys) - 1)]
        same = found & (hit // _KEY_SPAN == positions)
        return np.where(same, hit - positions * _KEY_SPAN, _NEVER)

    def step(self, index: int, day: int, result: pd.DataFrame) -> None:
        qualifies = result["qualifies"].to_numpy(dtype=bool)
        watch_only = result["watch_only"].to_numpy(dtype=bool)
        self.eligible[index] = ~result["blocked"].to_numpy(dtype=bool) & ~result["stale"].to_numpy(dtype=bool)
        real_open = self.open_until > day
        review_open = self.watch_until > day
        action = dedup.dedup_actions(
            qualifies=qualifies,
            has_open=real_open | review_open,
            open_is_review=~real_open & review_open,
            suppressed=~real_open & (self.free_from > day),
        )
        new = np.flatnonzero(qualifies & np.isin(action, [dedup.CREATE, dedup.UPGRADE]))
        if len(new):
            start_from = np.maximum(day, self.used_until[new] + 1)
            nxt = self._next_expansion(new, start_from)
            matched = nxt <= day + self.match_window
            close = np.where(matched, nxt, day + self.match_window)
            self.open_until[new] = close
            self.free_from[new] = close + self.suppression
            self.used_until[new[matched]] = nxt[matched]
            self.parts.append(
                {
                    "pos": new,
                    "step": np.full(len(new), index, np.int64),
                    "created": np.full(len(new), day, np.int64),
                    "closed": close,
                    "matched": matched,
                    "primary": result["primary_signal"].to_numpy(dtype=object)[new],
                    "self_serve": result["self_serve"].to_numpy(dtype=bool)[new],
                }
            )
        watch = watch_only & (action == dedup.CREATE)
        self.watch_until[watch] = day + self.match_window
        self.new_csm_reviews[index] = int(watch.sum())

    def eqls(self) -> dict[str, np.ndarray]:
        columns = ("pos", "step", "created", "closed", "matched", "primary", "self_serve")
        if not self.parts:
            empty = {c: np.empty(0, np.int64) for c in columns}
            empty.update(matched=np.empty(0, bool), primary=np.empty(0, object), self_serve=np.empty(0, bool))
            return empty
        return {c: np.concatenate([p[c] for p in self.parts]) for c in columns}


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _expansion_frame(
    expansions: pd.DataFrame | None, index: pd.Index, statuses: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(account positions, created day numbers) of the counted expansions on known accounts."""
    if expansions is None or len(expansions) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    counted = expansions[expansions["status"].astype(str).isin(list(statuses)).to_numpy()]
    pos = index.get_indexer(counted["account"].to_numpy()).astype(np.int64)
    days = _day_array(counted["created_date"])
    keep = (pos >= 0) & (days != _NEVER)
    return pos[keep], days[keep]


def _owner_table(
    eqls: dict[str, np.ndarray],
    accounts: pd.DataFrame,
    owners: pd.DataFrame | None,
    steps: np.ndarray,
    weeks: float,
) -> list[dict[str, Any]]:
    """Per account AE: volume, precision, and peak simulated open EQLs against capacity."""
    if len(eqls["pos"]) == 0:
        return []
    no_owner = -1
    if "ae_id" in accounts:
        ae_column = pd.to_numeric(accounts["ae_id"], errors="coerce").to_numpy(dtype=float)[eqls["pos"]]
        ae = np.where(np.isnan(ae_column), no_owner, np.nan_to_num(ae_column)).astype(np.int64)
    else:
        ae = np.full(len(eqls["pos"]), no_owner, np.int64)
    owner_ids, code = np.unique(ae, return_inverse=True)
    keys = [None if int(o) == no_owner else int(o) for o in owner_ids]
    n_owners = len(keys)
    # Open at step date d: created <= d < closed.
    open_counts = np.zeros((len(steps), n_owners), dtype=np.int64)
    for i, day in enumerate(steps):
        is_open = (eqls["created"] <= day) & (eqls["closed"] > day)
        open_counts[i] = np.bincount(code[is_open], minlength=n_owners)
    total = np.bincount(code, minlength=n_owners)
    matched = np.bincount(code[eqls["matched"]], minlength=n_owners)
    info = owners if owners is not None else pd.DataFrame(columns=["email", "name", "capacity"])
    rows = []
    for k, owner in enumerate(keys):
        person = info.loc[owner] if owner is not None and owner in info.index else None
        capacity = None
        if person is not None and "capacity" in person and not pd.isna(person["capacity"]):
            capacity = int(person["capacity"])
        peak = int(open_counts[:, k].max()) if len(steps) else 0
        rows.append(
            {
                "owner_id": owner,
                "name": (str(person.get("name") or person.get("email") or "")) if person is not None else "",
                "email": str(person.get("email") or "") if person is not None else "",
                "capacity": capacity,
                "eqls": int(total[k]),
                "matched": int(matched[k]),
                "precision": _ratio(int(matched[k]), int(total[k])),
                "eqls_per_week": round(int(total[k]) / weeks, 2) if weeks else 0.0,
                "peak_open": peak,
                "steps_over_capacity": int((open_counts[:, k] > capacity).sum())
                if capacity is not None
                else 0,
            }
        )
    rows.sort(key=lambda r: (-r["eqls"], r["name"], str(r["owner_id"])))
    return rows


def _summarise(
    sim: _Simulation,
    *,
    accounts: pd.DataFrame,
    owners: pd.DataFrame | None,
    steps: list[dt.date],
    start: dt.date,
    end: dt.date,
    step_days: int,
    match_window: int,
    won_only: bool,
    observed_until: dt.date,
    expansion_pos: np.ndarray,
    expansion_days: np.ndarray,
) -> dict[str, Any]:
    config = sim.config
    eqls = sim.eqls()
    step_days_arr = np.array([_day(d) for d in steps], dtype=np.int64)
    weeks = ((end - start).days + 1) / 7
    observed = _day(observed_until)
    n_eqls = len(eqls["pos"])
    n_matched = int(eqls["matched"].sum())
    pending = ~eqls["matched"] & (eqls["created"] + match_window > observed)
    settled = n_eqls - int(pending.sum())

    # Recall: counted expansions created in the period on accounts eligible within the window before.
    in_period = (expansion_days >= _day(start)) & (expansion_days <= _day(end))
    exp_pos, exp_day = expansion_pos[in_period], expansion_days[in_period]
    cumulative = np.vstack([np.zeros((1, sim.eligible.shape[1]), np.int64), np.cumsum(sim.eligible, axis=0)])
    hi = np.searchsorted(step_days_arr, exp_day, side="right")  # steps <= created
    lo = np.searchsorted(step_days_arr, exp_day - match_window, side="left")  # steps >= created - W
    eligible = (cumulative[hi, exp_pos] - cumulative[lo, exp_pos]) > 0 if len(exp_pos) else np.empty(0, bool)
    preceded = np.zeros(len(exp_pos), dtype=bool)
    if n_eqls and len(exp_pos):
        eql_keys = np.sort(eqls["pos"] * _KEY_SPAN + eqls["created"])
        at = np.searchsorted(eql_keys, exp_pos * _KEY_SPAN + exp_day, side="right") - 1
        ok = at >= 0
        hit = eql_keys[np.maximum(at, 0)]
        preceded = ok & (hit // _KEY_SPAN == exp_pos) & (exp_day - hit % _KEY_SPAN <= match_window)
    base = int(eligible.sum())
    matched_expansions = int((eligible & preceded).sum())

    names = {s.key: s.name for s in config.signals}
    primary = eqls["primary"].astype(str) if n_eqls else np.empty(0, dtype=str)
    keys = [s.key for s in config.signals if not s.is_watch]
    keys += sorted(set(primary.tolist()) - set(keys))
    by_signal = {}
    for key in keys:
        mine = primary == key
        count, hits = int(mine.sum()), int(eqls["matched"][mine].sum())
        by_signal[key] = {
            "name": names.get(key, key),
            "eqls": count,
            "matched": hits,
            "precision": _ratio(hits, count),
        }

    weekly = []
    step_of = eqls["step"]
    for i, day in enumerate(step_days_arr):
        new = step_of == i
        weekly.append(
            {
                "date": steps[i].isoformat(),
                "eqls": int(new.sum()),
                "matched": int(eqls["matched"][new].sum()),
                "open": int(((eqls["created"] <= day) & (eqls["closed"] > day)).sum()),
                "csm_reviews": int(sim.new_csm_reviews[i]),
                "eligible_accounts": int(sim.eligible[i].sum()),
            }
        )

    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step_days": step_days,
        "steps": len(steps),
        "match_window_days": match_window,
        "won_only": won_only,
        "counted_statuses": list(WON_ONLY_STATUSES if won_only else COUNTED_STATUSES),
        "suppression_days": sim.suppression,
        "score_threshold": config.policy.score_threshold,
        "observed_until": observed_until.isoformat(),
        "accounts": len(accounts),
        "eqls": n_eqls,
        "matched_eqls": n_matched,
        "pending_eqls": int(pending.sum()),
        "precision": _ratio(n_matched, n_eqls),
        "precision_settled": _ratio(n_matched, settled),
        "expansions": base,
        "matched_expansions": matched_expansions,
        "recall": _ratio(matched_expansions, base),
        "eqls_per_week": round(n_eqls / weeks, 2) if weeks else 0.0,
        "csm_reviews": int(sim.new_csm_reviews.sum()),
        "self_serve_eqls": int(eqls["self_serve"].sum()),
        "by_signal": by_signal,
        "by_owner": _owner_table(eqls, accounts, owners, step_days_arr, weeks),
        "weekly": weekly,
        "config": config_summary(config),
    }


def replay(
    accounts: pd.DataFrame,
    snapshots: SnapshotSource,
    configs: Mapping[str, ScoringConfig],
    *,
    start: dt.date,
    end: dt.date,
    step_days: int = DEFAULT_STEP_DAYS,
    expansions: pd.DataFrame | None = None,
    uplifts: Mapping[str, tuple[float, str]] | None = None,
    match_window_days: int = DEFAULT_MATCH_WINDOW_DAYS,
    won_only: bool = False,
    owners: pd.DataFrame | None = None,
    observed_until: dt.date | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Backtest each named configuration over the same step dates; ``{name: result}``.

    ``accounts``: as for ``engine.evaluate`` (index = account pk), plus ``ae_id`` for the owner table.
    ``snapshots``: a long frame (account, date, metric, value) covering [start - lookback, end], or a
    function ``as_of -> frame`` returning what the configurations read at that date (every config
    is evaluated on the same frame, so a comparison costs one read per step).
    ``expansions``: account (pk), created_date, status. ``owners``: index = user pk; email, name,
    capacity. ``observed_until``: last day expansions are known for (default ``end``).
    ``progress(done, total)`` is called after each step. Definitions: see the module docstring.
    """
    if not configs:
        raise ValueError("no configuration to replay")
    if match_window_days < 1:
        raise ValueError("match_window_days must be at least 1")
    if accounts.index.has_duplicates:
        raise ValueError("accounts: the index (account pk) must be unique")
    steps = step_dates(start, end, step_days)
    source = snapshots if callable(snapshots) else _FrameSource(snapshots, list(configs.values()))
    statuses = WON_ONLY_STATUSES if won_only else COUNTED_STATUSES
    exp_pos, exp_days = _expansion_frame(expansions, accounts.index, statuses)
    expansion_keys = np.sort(exp_pos * _KEY_SPAN + exp_days)
    sims = {
        name: _Simulation(config, len(accounts), len(steps), expansion_keys, match_window_days)
        for name, config in configs.items()
    }
    for i, as_of in enumerate(steps):
        frame = source(as_of)
        for sim in sims.values():
            evaluation = engine.evaluate(accounts, frame, sim.config, as_of, uplifts)
            sim.step(i, _day(as_of), evaluation.accounts_result)
        if progress is not None:
            progress(i + 1, len(steps))
    return {
        name: _summarise(
            sim,
            accounts=accounts,
            owners=owners,
            steps=steps,
            start=start,
            end=end,
            step_days=step_days,
            match_window=match_window_days,
            won_only=won_only,
            observed_until=observed_until or end,
            expansion_pos=exp_pos,
            expansion_days=exp_days,
        )
        for name, sim in sims.items()
    }


def backtest(
    accounts: pd.DataFrame, snapshots: SnapshotSource, config: ScoringConfig, **options: Any
) -> dict[str, Any]:
    """One configuration's backtest (``replay`` with a single config)."""
    return replay(accounts, snapshots, {"run": config}, **options)["run"]
