"""Signal-conversion and weekly KPI metrics from plain frames: pure pandas, no ORM, no Django, no I/O.

Inputs (one row each, columns by name; extra columns are ignored):

- ``eqls``: eql_id, account_id, owner_id, route, primary_signal, triggered_signals (a list of signal
  keys, or of ``{"signal": key, ...}`` dicts as the EQL record stores them), created_at, assigned_at,
  first_contact_at, sla_breached, status, closed_at, won_arr, segment.
- ``events``: eql_id, event, occurred_at: the EQL lifecycle activities (contacted, call_booked,
  proposal_sent, won, lost, declined, and ``self_serve_sent``: the self-serve motion's message went to
  the account's admin contact; anything else is ignored).
- ``accounts``: account_id, status, customer_since, segment, ae_id, csm_id.

Time: an instant's *day* is its UTC calendar date (as in ``dashboards.metrics``). Everything is read as
it stood at the end of ``as_of``: EQLs created and events that occurred on a day <= ``as_of``.

Which records count: CSM review items (route ``csm_review``: a watch signal's hand-off to the CSM,
no score threshold, no SLA) are not EQLs for the conversion metrics; they count only in the trigger
fire rate (the signal fired) and are shown as their own column.

Definitions (``spec/domain.md``, "Metrics"):

- **Assignment day** ``a`` = day of ``assigned_at`` (unassigned EQLs have none and are left out of
  accuracy and time to contact). ``day n`` of an event = ``(event day - a).days``.
- **EQL accuracy** (*matured* EQLs only: ``(as_of - a).days >= 30``): the share that reached
  ``call_booked`` or ``proposal_sent`` or beyond within 30 days of assignment, i.e. a
  call_booked, proposal_sent or won event on day <= 30 (a loss follows a call or proposal when it
  counts, so "lost after a call" is the call's event; lost straight after ``contacted`` is not one).
  A decline counts as a non-conversion: an EQL declined on day <= 30 is not converted even when a call
  had been booked before. The state at day 30 is what counts, so a matured cohort's accuracy never
  changes afterwards.
- **Time to first contact**: hours from ``assigned_at`` to the first ``contacted`` or ``call_booked``
  event (the record's ``first_contact_at`` when no such event exists); median and p90 with linear
  interpolation (``Series.quantile``) over the EQLs contacted so far.
- **EQL-to-opportunity**: share of EQLs that reached ``proposal_sent`` or ``won`` (by ``as_of``);
  **EQL-to-won**: share with a ``won`` event (or status won closed) by ``as_of``. Denominator: every
  EQL created in the group, so young cohorts read low until they play out.
- **Self-serve sent**: EQLs whose self-serve message was sent by ``as_of`` (an outcome like the others;
  the EQL still converts, is won or declined by its lifecycle events).
- **SLA misses**: EQLs whose record says ``sla_breached`` (set when the deadline passed before the
  first contact).
- **Trigger fire rate** per signal per quarter: fired / eligible, where eligible = accounts with status
  active and tenure ``(quarter end - customer_since).days > 182`` (quarter end capped at ``as_of``;
  status is the current one), and *fired* = eligible accounts with an EQL record (CSM review items
  included) created in the quarter whose primary or triggered signals include the signal. This is a
  **proxy**: the scoring pass stores fires only on EQL records, so a fire on an account that already had
  an open EQL, was suppressed or blocked by a gate is not seen, and ``triggered_signals`` is the record's
  latest list. Healthy band 5-15%; > 40% too permissive; < 3% too restrictive.
- **Drift flag** (per primary signal): accuracy of the EQLs assigned in the 4 weeks ending on the
  latest matured assignment day (``as_of - 30``) is >= 5 points below the accuracy of the 26 weeks
  ending on that day, with at least ``min_drift_eqls`` matured EQLs in the 4-week window.
- **Retirement flag** (per primary signal): no EQL of the signal closed won in either of the last two
  complete quarters before ``as_of``'s quarter, both on or after the launch quarter (the first EQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboards.numbers import as_date, float_or_nan, rate
from expansion.statuses import OPEN as OPEN_STATUSES
from routing.lifecycle import is_overdue

#: Days after assignment within which a call or proposal makes an EQL accurate.
ACCURACY_WINDOW_DAYS = 30
#: Days before ``as_of`` an EQL must have been assigned to count in accuracy (its window has closed).
MATURITY_DAYS = 30
#: Route of a CSM review item (a watch signal's hand-off), not an EQL for the conversion metrics.
REVIEW_ROUTE = "csm_review"
CONTACT_EVENTS = ("contacted", "call_booked")
CONVERSION_EVENTS = ("call_booked", "proposal_sent", "won")
OPPORTUNITY_EVENTS = ("proposal_sent", "won")
WON, LOST, DECLINED = "won", "lost", "declined"
SELF_SERVE_SENT = "self_serve_sent"
P90 = 0.9
#: Fire-rate band (share of eligible accounts firing a signal in a quarter).
FIRE_BAND = (0.05, 0.15)
FIRE_TOO_PERMISSIVE = 0.40
FIRE_TOO_RESTRICTIVE = 0.03
ELIGIBLE_MIN_TENURE_DAYS = 182
ACTIVE_STATUS = "active"
#: Drift: short window, long window (weeks), and the drop (accuracy points, as a fraction) that flags.
DRIFT_SHORT_WEEKS = 4
DRIFT_LONG_WEEKS = 26
DRIFT_DROP = 0.05
DEFAULT_MIN_DRIFT_EQLS = 5
#: Retirement: consecutive complete quarters without a won EQL.
RETIREMENT_QUARTERS = 2
RATE_DECIMALS = 4
HOURS_DECIMALS = 1
#: Tolerance when comparing rates (float noise must not decide a flag).
EPS = 1e-9

OUTCOME_COLUMNS = [
    "eql_id",
    "account_id",
    "owner_id",
    "segment",
    "route",
    "review_item",
    "primary_signal",
    "signals",
    "created_day",
    "created_week",
    "assigned_day",
    "assigned_week",
    "matured",
    "converted",
    "declined",
    "first_contact_at",
    "ttfc_hours",
    "opportunity",
    "won",
    "won_day",
    "won_arr",
    "sla_missed",
    "self_serve_sent",
]


# --------------------------------------------------------------------------------------------- helpers


def _utc(values: pd.Series) -> pd.Series:
    """Datetimes (aware or naive), dates, ISO strings -> naive UTC timestamps (NaT for missing)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values
    if values.empty:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    return pd.to_datetime(values, utc=True, format="mixed").dt.tz_localize(None)


def _day(values: pd.Series) -> pd.Series:
    return _utc(values).dt.normalize()


def _as_datetimes(values: pd.Series) -> pd.Series:
    """A series mapped through a dict of timestamps (all-NaN floats when nothing matched) as datetimes.

    (Mapping through an *empty* datetime Series raises in pandas 3, hence dicts.)"""
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values
    return pd.to_datetime(values.astype(object).where(values.notna(), None))


def _bool(values: pd.Series) -> pd.Series:
    return values.astype(object).map(lambda v: bool(v) if v is not None and v == v else False).astype(bool)


def _float(values: pd.Series) -> pd.Series:
    return values.astype(object).map(float_or_nan).astype(float)


def week_start(day: dt.date) -> dt.date:
    """Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def _week_of(days: pd.Series) -> pd.Series:
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_label(quarter: tuple[int, int]) -> str:
    return f"{quarter[0]}-Q{quarter[1]}"


def quarter_bounds(quarter: tuple[int, int]) -> tuple[dt.date, dt.date]:
    year, q = quarter
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    nxt = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    return start, nxt - dt.timedelta(days=1)


def _next_quarter(quarter: tuple[int, int], step: int = 1) -> tuple[int, int]:
    index = quarter[0] * 4 + quarter[1] - 1 + step
    return index // 4, index % 4 + 1


def quarters_between(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    quarters, q, end = [], quarter_of(first), quarter_of(last)
    while q <= end:
        quarters.append(q)
        q = _next_quarter(q)
    return quarters


def fired_signals(primary: Any, triggered: Any) -> tuple[str, ...]:
    """Signal keys on a record: the primary first, then the triggered ones (dicts or keys), no repeats."""
    keys: list[str] = []
    if isinstance(primary, str) and primary:
        keys.append(primary)
    if isinstance(triggered, Iterable) and not isinstance(triggered, str | bytes | Mapping):
        for item in triggered:
            key = item.get("signal") if isinstance(item, Mapping) else item
            if isinstance(key, str) and key and key not in keys:
                keys.append(key)
    return tuple(keys)


def _quantile(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    if values.empty:
        return None
    return round(float(values.quantile(q)), HOURS_DECIMALS)


# -------------------------------------------------------------------------------------------- outcomes


def eql_outcomes(eqls: pd.DataFrame, events: pd.DataFrame, as_of: dt.date | str) -> pd.DataFrame:
    """One row per EQL record created on or before ``as_of`` with what it had reached by then
    (``OUTCOME_COLUMNS``; rules in the module docstring). Review items are kept, flagged ``review_item``."""
    as_of = as_date(as_of)
    as_of_ts = pd.Timestamp(as_of)
    if eqls is None or eqls.empty:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    created_at = _utc(eqls["created_at"])
    keep = (created_at.dt.normalize() <= as_of_ts).to_numpy()
    src = eqls[keep].reset_index(drop=True)
    if src.empty:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    created_at = created_at[keep].reset_index(drop=True)
    assigned_at = _utc(src["assigned_at"]) if "assigned_at" in src else pd.Series(pd.NaT, index=src.index)
    out = pd.DataFrame(
        {
            "eql_id": src["eql_id"].to_numpy(),
            "account_id": src["account_id"].to_numpy() if "account_id" in src else None,
            "owner_id": src["owner_id"].to_numpy() if "owner_id" in src else None,
            "segment": src["segment"].to_numpy() if "segment" in src else "",
            "route": src["route"].fillna("").to_numpy() if "route" in src else "",
        }
    )
    out["review_item"] = out["route"] == REVIEW_ROUTE
    out["primary_signal"] = src["primary_signal"].fillna("").astype(str).to_numpy()
    triggered = src["triggered_signals"] if "triggered_signals" in src else pd.Series([()] * len(src))
    out["signals"] = [fired_signals(p, t) for p, t in zip(out["primary_signal"], triggered, strict=True)]
    out["created_day"] = created_at.dt.normalize().to_numpy()
    out["created_week"] = _week_of(out["created_day"])
    out["assigned_day"] = assigned_at.dt.normalize().to_numpy()
    out["assigned_week"] = _week_of(out["assigned_day"])
    out["matured"] = ((as_of_ts - out["assigned_day"]).dt.days >= MATURITY_DAYS).fillna(False).astype(bool)

    ev = _events_until(events, as_of_ts, out["eql_id"])
    ev = ev.merge(out[["eql_id", "assigned_day"]], on="eql_id", how="left")
    ev["n"] = (ev["day"] - ev["assigned_day"]).dt.days
    in_window = (ev["n"] <= ACCURACY_WINDOW_DAYS).fillna(False).astype(bool)
    reached = set(ev.loc[in_window & ev["event"].isin(CONVERSION_EVENTS), "eql_id"])
    declined_in_window = set(ev.loc[in_window & (ev["event"] == DECLINED), "eql_id"])
    out["declined"] = out["eql_id"].isin(set(ev.loc[ev["event"] == DECLINED, "eql_id"]))
    out["converted"] = out["matured"] & out["eql_id"].isin(reached) & ~out["eql_id"].isin(declined_in_window)

    # Time to first contact (events first, the record's field when the events are missing).
    contact = ev[ev["event"].isin(CONTACT_EVENTS)].groupby("eql_id")["at"].min()
    first_contact = _as_datetimes(out["eql_id"].map(contact.to_dict()))
    if "first_contact_at" in src:
        recorded = _utc(src["first_contact_at"])
        recorded = recorded.where(recorded.dt.normalize() <= as_of_ts)
        first_contact = first_contact.fillna(pd.Series(recorded.to_numpy(), index=out.index))
    out["first_contact_at"] = pd.to_datetime(first_contact)
    hours = (out["first_contact_at"] - pd.Series(assigned_at.to_numpy(), index=out.index)).dt.total_seconds()
    out["ttfc_hours"] = (hours / 3600.0).clip(lower=0)

    # Opportunity and won by as_of.
    out["opportunity"] = out["eql_id"].isin(set(ev.loc[ev["event"].isin(OPPORTUNITY_EVENTS), "eql_id"]))
    first_won = ev[ev["event"] == WON].groupby("eql_id")["day"].min()
    won_day = _as_datetimes(out["eql_id"].map(first_won.to_dict()))
    if {"status", "closed_at"} <= set(src.columns):
        closed_day = _day(src["closed_at"])
        recorded_won = (src["status"] == WON).to_numpy() & (closed_day <= as_of_ts).fillna(False).to_numpy()
        won_day = won_day.fillna(pd.Series(closed_day.where(recorded_won).to_numpy(), index=out.index))
    out["won_day"] = pd.to_datetime(won_day)
    out["won"] = out["won_day"].notna()
    out["opportunity"] = out["opportunity"] | out["won"]
    won_arr = _float(src["won_arr"]) if "won_arr" in src else pd.Series(np.nan, index=src.index)
    out["won_arr"] = np.where(out["won"], won_arr.fillna(0.0).to_numpy(), 0.0)
    out["sla_missed"] = _bool(src["sla_breached"]).to_numpy() if "sla_breached" in src else False
    out["self_serve_sent"] = out["eql_id"].isin(set(ev.loc[ev["event"] == SELF_SERVE_SENT, "eql_id"]))
    return out[OUTCOME_COLUMNS]


def _events_until(events: pd.DataFrame | None, as_of_ts: pd.Timestamp, eql_ids: pd.Series) -> pd.DataFrame:
    columns = ["eql_id", "event", "at", "day"]
    if events is None or events.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[ns]" if c in ("at", "day") else object) for c in columns}
        )
    at = _utc(events["occurred_at"])
    frame = pd.DataFrame(
        {"eql_id": events["eql_id"].to_numpy(), "event": events["event"].astype(str).to_numpy(), "at": at}
    )
    frame["day"] = frame["at"].dt.normalize()
    frame = frame[(frame["day"] <= as_of_ts) & frame["eql_id"].isin(set(eql_ids))]
    return frame.reset_index(drop=True)


def eqls_only(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The EQLs among the records (CSM review items left out)."""
    return outcomes[~outcomes["review_item"].astype(bool)]


# ---------------------------------------------------------------------------------------- group metrics


def metrics_of(rows: pd.DataFrame) -> dict[str, Any]:
    """The conversion metrics of a set of EQLs (rows of ``eql_outcomes``, review items removed)."""
    n = len(rows)
    matured = rows["matured"].astype(bool)
    n_matured = int(matured.sum())
    n_converted = int((rows["converted"].astype(bool) & matured).sum())
    n_opp = int(rows["opportunity"].astype(bool).sum())
    n_won = int(rows["won"].astype(bool).sum())
    ttfc = rows["ttfc_hours"].astype(float)
    return {
        "eqls": n,
        "matured": n_matured,
        "converted": n_converted,
        "accuracy": rate(n_converted, n_matured, empty=None, digits=RATE_DECIMALS),
        "opportunities": n_opp,
        "opportunity_rate": rate(n_opp, n, empty=None, digits=RATE_DECIMALS),
        "won": n_won,
        "won_rate": rate(n_won, n, empty=None, digits=RATE_DECIMALS),
        "won_arr": round(float(rows["won_arr"].astype(float).sum()), 2),
        "contacted": int(ttfc.notna().sum()),
        "ttfc_median_hours": _quantile(ttfc, 0.5),
        "ttfc_p90_hours": _quantile(ttfc, P90),
        "sla_misses": int(rows["sla_missed"].astype(bool).sum()),
        "declined": int(rows["declined"].astype(bool).sum()),
        "self_serve_sent": int(rows["self_serve_sent"].astype(bool).sum()),
    }


def summary_by(outcomes: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Conversion metrics per group of EQLs (review items left out, but counted in ``review_items``).

    ``by``: ``primary_signal``; ``signal`` (every signal on the record: an EQL counts under each);
    ``owner_id``; ``segment``. Groups are sorted by key; a missing key is ``""``."""
    frame = outcomes
    key = by
    if by == "signal":
        frame = outcomes.assign(signal=outcomes["signals"]).explode("signal")
        frame = frame[frame["signal"].notna()]
    frame = frame.assign(_key=frame[key].astype(object).where(frame[key].notna(), ""))
    rows = []
    for value, group in frame.groupby("_key", sort=False):
        eqls = eqls_only(group)
        rows.append({"key": value, **metrics_of(eqls), "review_items": int(group["review_item"].sum())})
    return sorted(rows, key=lambda r: (str(r["key"]) == "", str(r["key"])))


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    start, end = week_start(first), week_start(last)
    return [start + dt.timedelta(weeks=i) for i in range((end - start).days // 7 + 1)]


def launch_day(outcomes: pd.DataFrame) -> dt.date | None:
    """The day of the first EQL record (the product's launch for the reports)."""
    if outcomes.empty:
        return None
    return pd.Timestamp(outcomes["created_day"].min()).date()


def first_maturity_day(outcomes: pd.DataFrame) -> dt.date | None:
    """The day the first assigned EQL's accuracy window closes (its assignment day + 30), if any."""
    days = eqls_only(outcomes)["assigned_day"].dropna()
    if days.empty:
        return None
    return pd.Timestamp(days.min()).date() + dt.timedelta(days=MATURITY_DAYS)


def weekly(outcomes: pd.DataFrame, as_of: dt.date | str, *, by_signal: bool = True) -> list[dict[str, Any]]:
    """Per week since launch (Monday-start weeks), per primary signal (``""`` = all signals):

    ``eqls``, ``opportunity_rate``, ``won_rate``, ``sla_misses`` over the EQLs *created* that week;
    ``accuracy`` (matured only), ``ttfc_*`` over the EQLs *assigned* that week."""
    as_of = as_date(as_of)
    eqls = eqls_only(outcomes)
    launch = launch_day(outcomes)
    if launch is None:
        return []
    groups: list[tuple[str, pd.DataFrame]] = [("", eqls)]
    if by_signal:
        groups += [(k, g) for k, g in eqls.groupby("primary_signal", sort=True)]
    rows = []
    for key, group in groups:
        by_created = dict(list(group.groupby("created_week")))
        by_assigned = dict(list(group.groupby("assigned_week")))
        for week in weeks_between(launch, as_of):
            ts = pd.Timestamp(week)
            created = by_created.get(ts, group.iloc[0:0])
            assigned = by_assigned.get(ts, group.iloc[0:0])
            c, a = metrics_of(created), metrics_of(assigned)
            rows.append(
                {
                    "signal": key,
                    "week": week,
                    "eqls": c["eqls"],
                    "opportunity_rate": c["opportunity_rate"],
                    "won_rate": c["won_rate"],
                    "sla_misses": c["sla_misses"],
                    "assigned": a["eqls"],
                    "matured": a["matured"],
                    "accuracy": a["accuracy"],
                    "ttfc_median_hours": a["ttfc_median_hours"],
                    "ttfc_p90_hours": a["ttfc_p90_hours"],
                }
            )
    return rows


# ------------------------------------------------------------------------------------------- fire rate


def fire_flag(value: float | None) -> str:
    """``too_permissive`` (> 40%), ``above_band`` (> 15%), ``healthy`` (5-15%), ``below_band`` (< 5%),
    ``too_restrictive`` (< 3%); ``""`` when nothing was eligible."""
    if value is None:
        return ""
    low, high = FIRE_BAND
    if value > FIRE_TOO_PERMISSIVE + EPS:
        return "too_permissive"
    if value < FIRE_TOO_RESTRICTIVE - EPS:
        return "too_restrictive"
    if value > high + EPS:
        return "above_band"
    if value < low - EPS:
        return "below_band"
    return "healthy"


def eligible_accounts(accounts: pd.DataFrame, day: dt.date) -> set:
    """Active accounts with tenure > 182 days at ``day`` (status as it is now)."""
    if accounts is None or accounts.empty:
        return set()
    tenure = (pd.Timestamp(day) - _day(accounts["customer_since"])).dt.days
    mask = (accounts["status"] == ACTIVE_STATUS).to_numpy() & (tenure > ELIGIBLE_MIN_TENURE_DAYS).to_numpy()
    return set(accounts.loc[mask, "account_id"])


def fire_rates(
    outcomes: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: dt.date | str,
    signals: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Trigger fire rate per signal per quarter from the launch quarter to ``as_of``'s (module docstring).

    Rows: signal, quarter (``YYYY-Qn``), start, end (capped at ``as_of``), partial, eligible, fired,
    rate (None when nothing was eligible), flag (``fire_flag``)."""
    as_of = as_date(as_of)
    launch = launch_day(outcomes)
    if launch is None:
        return []
    keys = list(dict.fromkeys([*signals, *sorted({s for ss in outcomes["signals"] for s in ss})]))
    exploded = outcomes[["account_id", "created_day", "signals"]].explode("signals")
    exploded = exploded[exploded["signals"].notna()]
    rows = []
    for quarter in quarters_between(launch, as_of):
        start, end = quarter_bounds(quarter)
        cap = min(end, as_of)
        eligible = eligible_accounts(accounts, cap)
        in_q = exploded[
            (exploded["created_day"] >= pd.Timestamp(start)) & (exploded["created_day"] <= pd.Timestamp(cap))
        ]
        fired_by_signal = in_q.groupby("signals")["account_id"].agg(set).to_dict()
        for key in keys:
            fired = len(fired_by_signal.get(key, set()) & eligible)
            value = rate(fired, len(eligible), empty=None, digits=RATE_DECIMALS)
            rows.append(
                {
                    "signal": key,
                    "quarter": quarter_label(quarter),
                    "start": start,
                    "end": cap,
                    "partial": cap < end,
                    "eligible": len(eligible),
                    "fired": fired,
                    "rate": value,
                    "flag": fire_flag(value),
                }
            )
    return rows


# ----------------------------------------------------------------------------------------------- flags


@dataclass(frozen=True)
class SignalFlags:
    signal: str
    short_accuracy: float | None
    short_matured: int
    long_accuracy: float | None
    long_matured: int
    drift: bool
    won_by_quarter: tuple[tuple[str, int], ...]
    retire: bool
    retire_note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "short_accuracy": self.short_accuracy,
            "short_matured": self.short_matured,
            "long_accuracy": self.long_accuracy,
            "long_matured": self.long_matured,
            "drift": self.drift,
            "won_by_quarter": dict(self.won_by_quarter),
            "retire": self.retire,
            "retire_note": self.retire_note,
        }


def _window_accuracy(rows: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> tuple[float | None, int]:
    inside = rows[(rows["assigned_day"] > first) & (rows["assigned_day"] <= last) & rows["matured"]]
    return rate(int(inside["converted"].sum()), len(inside), empty=None, digits=RATE_DECIMALS), len(inside)


def signal_flags(
    outcomes: pd.DataFrame,
    as_of: dt.date | str,
    signals: Sequence[str] = (),
    *,
    min_drift_eqls: int = DEFAULT_MIN_DRIFT_EQLS,
) -> dict[str, SignalFlags]:
    """Drift and retirement flags per primary signal (module docstring), for ``signals`` plus every
    primary signal seen."""
    as_of = as_date(as_of)
    eqls = eqls_only(outcomes)
    keys = list(dict.fromkeys([*signals, *sorted(k for k in eqls["primary_signal"].unique() if k)]))
    last = pd.Timestamp(as_of - dt.timedelta(days=MATURITY_DAYS))
    short_first = last - pd.Timedelta(weeks=DRIFT_SHORT_WEEKS)
    long_first = last - pd.Timedelta(weeks=DRIFT_LONG_WEEKS)

    launch = launch_day(outcomes)
    current = quarter_of(as_of)
    review_quarters = [_next_quarter(current, -i) for i in range(RETIREMENT_QUARTERS, 0, -1)]
    enough_history = launch is not None and quarter_of(launch) <= review_quarters[0]

    flags = {}
    for key in keys:
        rows = eqls[eqls["primary_signal"] == key]
        short, n_short = _window_accuracy(rows, short_first, last)
        long, n_long = _window_accuracy(rows, long_first, last)
        drift = (
            short is not None
            and long is not None
            and n_short >= min_drift_eqls
            and long - short >= DRIFT_DROP - EPS
        )
        won_days = rows.loc[rows["won"], "won_day"]
        won_by_quarter = []
        for quarter in review_quarters:
            start, end = quarter_bounds(quarter)
            n = int(((won_days >= pd.Timestamp(start)) & (won_days <= pd.Timestamp(end))).sum())
            won_by_quarter.append((quarter_label(quarter), n))
        if not enough_history:
            retire, note = False, "fewer than two complete quarters since launch"
        else:
            retire = all(n == 0 for _, n in won_by_quarter)
            labels = " and ".join(label for label, _ in won_by_quarter)
            note = f"no won EQL in {labels}" if retire else ""
        flags[key] = SignalFlags(
            signal=key,
            short_accuracy=short,
            short_matured=n_short,
            long_accuracy=long,
            long_matured=n_long,
            drift=bool(drift),
            won_by_quarter=tuple(won_by_quarter),
            retire=retire,
            retire_note=note,
        )
    return flags


# ------------------------------------------------------------------------------------------ weekly KPIs


def parse_iso_week(text: str) -> dt.date:
    """``YYYY-Www`` (ISO 8601 week, e.g. ``2026-W07``) -> its Monday; ValueError with a plain message."""
    value = (text or "").strip().upper()
    try:
        year_text, week_text = value.split("-W")
        return dt.date.fromisocalendar(int(year_text), int(week_text), 1)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO week; use YYYY-Www, e.g. 2026-W07") from exc


def _open_now(live: pd.DataFrame, now: dt.datetime | None) -> pd.DataFrame:
    """The open EQLs of ``live`` (review items left out) with ``owner_id`` and ``overdue`` at ``now``."""
    if live.empty:
        return pd.DataFrame({"owner_id": pd.Series(dtype=object), "overdue": pd.Series(dtype=bool)})
    if now is None:
        raise ValueError("member_kpis: 'now' is required with 'live'")
    at = pd.Timestamp(now)
    at = (at.tz_convert("UTC").tz_localize(None) if at.tzinfo else at).to_pydatetime()
    rows = live[live["status"].isin(OPEN_STATUSES) & (live["route"].fillna("") != REVIEW_ROUTE)]
    deadlines = _utc(rows["sla_deadline"]) if len(rows) else pd.Series(dtype="datetime64[ns]")
    contacts = _utc(rows["first_contact_at"]) if len(rows) else pd.Series(dtype="datetime64[ns]")
    overdue = [
        is_overdue(
            deadline=None if pd.isna(d) else d.to_pydatetime(),
            first_contact_at=None if pd.isna(c) else c.to_pydatetime(),
            status=status,
            now=at,
        )
        for d, c, status in zip(deadlines, contacts, rows["status"], strict=True)
    ]
    return pd.DataFrame({"owner_id": rows["owner_id"].to_numpy(), "overdue": np.array(overdue, dtype=bool)})


def iso_week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def member_kpis(
    outcomes: pd.DataFrame,
    coverage_table: pd.DataFrame,
    accounts: pd.DataFrame,
    members: Sequence[Any],
    week: dt.date,
    as_of: dt.date | str,
    *,
    live: pd.DataFrame | None = None,
    now: dt.datetime | None = None,
) -> dict[Any, dict[str, Any]]:
    """Weekly KPIs per team member for the week starting ``week`` (Monday), read at ``as_of`` (the
    week's Sunday, or today for the current week; ``outcomes`` computed at the same ``as_of``).

    - ``eqls_created``: EQLs owned by the member created in the week.
    - ``ttfc_median_hours``: median time to first contact of the member's EQLs assigned in the week.
    - ``accuracy``: of the member's EQLs whose 30-day window closed in the week (assigned 30 days
      before a day of the week, matured by ``as_of``), the share converted.
    - ``coverage``: of the expansion-ready accounts on the member's book (account AE or CSM) in the
      coverage table at ``as_of``, the share covered (a commercial touch in the 365 days before).
    - ``won_arr``: ARR of the member's EQLs won (won event day) in the week.
    - ``open_now`` / ``overdue_now`` (with ``live``, the EQL records as they are at ``now``: owner_id,
      route, status, first_contact_at, sla_deadline): the member's open EQLs, and those of them overdue
      by ``routing.lifecycle.is_overdue`` (open, no first contact, SLA deadline passed); CSM review
      items are not EQLs. ``None`` without ``live``.

    Key ``None`` holds the team total over all ``members`` pooled (books united, EQLs pooled)."""
    as_of = as_date(as_of)
    start = pd.Timestamp(week)
    end = min(pd.Timestamp(week + dt.timedelta(days=6)), pd.Timestamp(as_of))
    shift = pd.Timedelta(days=ACCURACY_WINDOW_DAYS)
    eqls = eqls_only(outcomes)
    ready = coverage_table[coverage_table["expansion_ready"].astype(bool)] if len(coverage_table) else None
    book_of = accounts.set_index("account_id")[["ae_id", "csm_id"]] if len(accounts) else None
    open_now = _open_now(live, now) if live is not None else None

    def kpis(owner_ids: set, owners_book: set) -> dict[str, Any]:
        mine = eqls[eqls["owner_id"].isin(owner_ids)]
        created = mine[(mine["created_day"] >= start) & (mine["created_day"] <= end)]
        assigned = mine[(mine["assigned_day"] >= start) & (mine["assigned_day"] <= end)]
        closing = mine[
            (mine["assigned_day"] >= start - shift) & (mine["assigned_day"] <= end - shift) & mine["matured"]
        ]
        won = mine[mine["won"] & (mine["won_day"] >= start) & (mine["won_day"] <= end)]
        if ready is not None and book_of is not None:
            on_book = ready[ready["account_id"].isin(owners_book)]
            n_ready, n_covered = len(on_book), int(on_book["covered"].astype(bool).sum())
        else:
            n_ready = n_covered = 0
        return {
            "eqls_created": len(created),
            "assigned": len(assigned),
            "ttfc_median_hours": _quantile(assigned["ttfc_hours"].astype(float), 0.5),
            "contacted": int(assigned["ttfc_hours"].notna().sum()),
            "accuracy": rate(int(closing["converted"].sum()), len(closing), empty=None, digits=RATE_DECIMALS),
            "accuracy_matured": len(closing),
            "book_ready": n_ready,
            "book_covered": n_covered,
            "coverage": rate(n_covered, n_ready, empty=None, digits=RATE_DECIMALS),
            "won": len(won),
            "won_arr": round(float(won["won_arr"].sum()), 2),
            "open_now": None if open_now is None else int(open_now["owner_id"].isin(owner_ids).sum()),
            "overdue_now": None
            if open_now is None
            else int((open_now["owner_id"].isin(owner_ids) & open_now["overdue"]).sum()),
        }

    def book(owner_ids: set) -> set:
        if book_of is None:
            return set()
        mask = book_of["ae_id"].isin(owner_ids) | book_of["csm_id"].isin(owner_ids)
        return set(book_of.index[mask.to_numpy()])

    result: dict[Any, dict[str, Any]] = {m: kpis({m}, book({m})) for m in members}
    result[None] = kpis(set(members), book(set(members)))
    return result
