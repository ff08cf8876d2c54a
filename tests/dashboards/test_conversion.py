"""Signal-conversion and KPI core (dashboards.conversion): no database.

Hand-built EQL histories; accuracy and time to contact are also checked against ``reference_*``,
independent plain-Python readings of spec/domain.md ("Metrics") over dates and hours.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboards.conversion import (
    eql_outcomes,
    fire_flag,
    fire_rates,
    iso_week_label,
    member_kpis,
    metrics_of,
    parse_iso_week,
    signal_flags,
    summary_by,
    weekly,
)

UTC = dt.UTC
AS_OF = dt.date(2026, 3, 31)


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


class History:
    """EQL records and their lifecycle events, written the way the database holds them."""

    def __init__(self) -> None:
        self.eqls: list[dict] = []
        self.events: list[tuple] = []

    def eql(
        self,
        assigned: dt.date | None,
        *steps: tuple[str, int],
        signal: str = "seat",
        triggered: tuple[str, ...] = (),
        owner: int | None = 1,
        route: str = "ae",
        account: str | None = None,
        created: dt.date | None = None,
        assigned_hour: int = 9,
        step_hours: dict[int, int] | None = None,
        won_arr: float | None = None,
        sla_breached: bool = False,
    ) -> int:
        """One EQL assigned on ``assigned`` with ``steps`` = (event, day n after assignment)."""
        eql_id = len(self.eqls) + 1
        created = created or assigned
        status, closed = "new", None
        for i, (event, n) in enumerate(steps):
            day = (assigned or created) + dt.timedelta(days=n)
            hour = (step_hours or {}).get(i, 10)
            self.events.append((eql_id, event, at(day, hour)))
            status = event
            if event in ("won", "lost", "declined"):
                closed = at(day, hour)
        self.eqls.append(
            {
                "eql_id": eql_id,
                "account_id": account or f"A{eql_id}",
                "owner_id": owner,
                "route": route,
                "primary_signal": signal,
                "triggered_signals": [{"signal": signal, "points": 40}, *({"signal": t} for t in triggered)],
                "created_at": at(created, assigned_hour),
                "assigned_at": at(assigned, assigned_hour) if assigned else None,
                "first_contact_at": None,
                "sla_breached": sla_breached,
                "status": status,
                "closed_at": closed,
                "won_arr": won_arr if status == "won" else None,
                "segment": "SMB",
            }
        )
        return eql_id

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return pd.DataFrame(self.eqls), pd.DataFrame(self.events, columns=["eql_id", "event", "occurred_at"])

    def outcomes(self, as_of: dt.date = AS_OF) -> pd.DataFrame:
        return eql_outcomes(*self.frames(), as_of)


# ------------------------------------------------------------------------------------------ reference


def reference_accuracy(eqls: list[dict], events: list[tuple], as_of: dt.date) -> tuple[int, int]:
    """(converted, matured), read straight from the spec with plain dates."""
    matured = converted = 0
    for e in eqls:
        if e["route"] == "csm_review" or e["assigned_at"] is None or e["created_at"].date() > as_of:
            continue
        assigned = e["assigned_at"].date()
        if (as_of - assigned).days < 30:
            continue
        matured += 1
        mine = sorted(
            (when.date(), event)
            for eid, event, when in events
            if eid == e["eql_id"] and when.date() <= as_of and (when.date() - assigned).days <= 30
        )
        reached = any(event in ("call_booked", "proposal_sent", "won") for _, event in mine)
        declined = any(event == "declined" for _, event in mine)
        converted += reached and not declined
    return converted, matured


def reference_quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy/pandas default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ------------------------------------------------------------------------------------------- accuracy


@pytest.fixture
def accuracy_history() -> History:
    h = History()
    h.eql(ago(60), ("call_booked", 10))  # converted
    h.eql(ago(60), ("contacted", 1), ("call_booked", 30), assigned_hour=20, step_hours={1: 23})  # day 30
    h.eql(ago(60), ("contacted", 2), ("call_booked", 31))  # day 31: too late
    h.eql(ago(60), ("contacted", 2), ("declined", 5))  # declined: non-conversion
    h.eql(ago(45), ("proposal_sent", 3))  # beyond call_booked
    h.eql(ago(45), ("contacted", 1), ("lost", 10))  # lost without a call
    h.eql(ago(50), ("call_booked", 4), ("lost", 20))  # lost after a call counts
    h.eql(ago(30))  # matured exactly today, nothing happened
    h.eql(ago(29), ("call_booked", 1))  # assigned < 30 days ago: excluded
    h.eql(ago(40), ("call_booked", 5), ("declined", 12))  # declined inside the window
    h.eql(ago(90), ("call_booked", 5), ("won", 40))  # won
    h.eql(ago(60), ("call_booked", 1), route="csm_review")  # a CSM review item, not an EQL
    h.eql(None, created=ago(60))  # never assigned
    return h


def test_accuracy_matches_the_hand_computation(accuracy_history):
    outcomes = accuracy_history.outcomes()

    result = metrics_of(outcomes[~outcomes["review_item"]])

    assert (result["converted"], result["matured"]) == (5, 10)
    assert (result["converted"], result["matured"]) == reference_accuracy(
        accuracy_history.eqls, accuracy_history.events, AS_OF
    )
    assert result["accuracy"] == 0.5


def test_accuracy_per_eql(accuracy_history):
    outcomes = accuracy_history.outcomes().set_index("eql_id")

    assert outcomes["converted"].to_dict() == {
        1: True,
        2: True,  # call booked on day 30 (at 23:00, more than 30 x 24 h later) counts
        3: False,  # day 31 does not
        4: False,  # a decline is a non-conversion
        5: True,
        6: False,
        7: True,
        8: False,
        9: False,
        10: False,
        11: True,
        13: False,
    } | {12: True}  # the review item reached a call, but is no EQL (left out of every metric)
    assert not outcomes.loc[9, "matured"]
    assert outcomes.loc[8, "matured"]
    assert not outcomes.loc[13, "matured"]


def test_window_boundary_is_calendar_day_30():
    h = History()
    on_30 = h.eql(ago(40), ("call_booked", 30))
    on_31 = h.eql(ago(40), ("call_booked", 31))

    outcomes = h.outcomes().set_index("eql_id")

    assert outcomes.loc[on_30, "converted"]
    assert not outcomes.loc[on_31, "converted"]


def test_eqls_assigned_less_than_30_days_before_as_of_are_excluded():
    h = History()
    h.eql(ago(29), ("call_booked", 1))
    h.eql(ago(30), ("call_booked", 1))

    result = metrics_of(h.outcomes())

    assert (result["converted"], result["matured"], result["accuracy"]) == (1, 1, 1.0)


def test_events_after_as_of_are_not_seen():
    h = History()
    eql = h.eql(ago(100), ("call_booked", 10), ("won", 99), won_arr=12000.0)

    before = h.outcomes(ago(2)).set_index("eql_id")
    after = h.outcomes(AS_OF).set_index("eql_id")

    assert not before.loc[eql, "won"]
    assert before.loc[eql, "won_arr"] == 0
    assert after.loc[eql, "won"]
    assert after.loc[eql, "won_arr"] == 12000.0


def test_a_decline_after_the_window_does_not_undo_a_conversion():
    h = History()
    eql = h.eql(ago(80), ("call_booked", 5), ("declined", 45))

    assert h.outcomes().set_index("eql_id").loc[eql, "converted"]


# --------------------------------------------------------------------------------- time to first contact


def test_time_to_first_contact_median_and_p90():
    h = History()
    # Assigned at 09:00; first contacted / call booked this many hours later (contacted first wins).
    offsets = [1, 2, 4, 10, 30, 55]
    for hours in offsets:
        day, hour = divmod(9 + hours, 24)
        h.eql(ago(10), ("contacted", day), ("call_booked", day + 1), step_hours={0: hour})
    h.eql(ago(10))  # not contacted: not in the distribution
    h.eql(ago(10), ("proposal_sent", 1))  # a proposal is not a first contact

    result = metrics_of(h.outcomes())

    assert result["contacted"] == 6
    assert result["ttfc_median_hours"] == 7.0  # (4 + 10) / 2
    assert result["ttfc_median_hours"] == reference_quantile(offsets, 0.5)
    assert result["ttfc_p90_hours"] == round(reference_quantile(offsets, 0.9), 1) == 42.5


def test_first_contact_falls_back_to_the_record():
    h = History()
    h.eql(ago(10))
    eqls, events = h.frames()
    eqls["first_contact_at"] = [at(ago(10), 15)]

    assert metrics_of(eql_outcomes(eqls, events, AS_OF))["ttfc_median_hours"] == 6.0


# ----------------------------------------------------------------------------- conversion by signal


def test_opportunity_and_won_by_primary_and_by_any_signal():
    h = History()
    h.eql(ago(50), ("call_booked", 2), ("proposal_sent", 5), ("won", 20), triggered=("api",), won_arr=9000.0)
    h.eql(ago(50), ("call_booked", 2), ("proposal_sent", 6), ("lost", 25))
    h.eql(ago(50), ("contacted", 1), signal="api", sla_breached=True)
    h.eql(ago(50), signal="export", route="csm_review", triggered=("seat",))

    primary = {r["key"]: r for r in summary_by(h.outcomes(), "primary_signal")}
    anyfired = {r["key"]: r for r in summary_by(h.outcomes(), "signal")}

    assert (primary["seat"]["eqls"], primary["seat"]["opportunities"], primary["seat"]["won"]) == (2, 2, 1)
    assert primary["seat"]["opportunity_rate"] == 1.0
    assert primary["seat"]["won_rate"] == 0.5
    assert primary["seat"]["won_arr"] == 9000.0
    assert (primary["api"]["eqls"], primary["api"]["won"], primary["api"]["sla_misses"]) == (1, 0, 1)
    assert primary["export"]["eqls"] == 0
    assert primary["export"]["review_items"] == 1
    assert (anyfired["api"]["eqls"], anyfired["api"]["won"]) == (2, 1)
    assert anyfired["seat"]["eqls"] == 2
    assert anyfired["seat"]["review_items"] == 1


def test_weekly_rows_start_at_launch():
    h = History()
    h.eql(dt.date(2026, 2, 25), ("call_booked", 1))  # a Wednesday: launch week starts Monday 23 Feb
    h.eql(dt.date(2026, 3, 18), signal="api")

    rows = weekly(h.outcomes(), AS_OF)
    everything = [r for r in rows if r["signal"] == ""]

    assert [r["week"] for r in everything] == [dt.date(2026, 2, 23)] + [
        dt.date(2026, 3, d) for d in (2, 9, 16, 23, 30)
    ]
    assert [r["eqls"] for r in everything] == [1, 0, 0, 1, 0, 0]
    assert everything[0]["accuracy"] == 1.0
    assert everything[3]["accuracy"] is None
    assert {r["signal"] for r in rows} == {"", "seat", "api"}


# ------------------------------------------------------------------------------------------ fire rate


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (0.0, "too_restrictive"),
        (0.029, "too_restrictive"),
        (0.03, "below_band"),
        (0.049, "below_band"),
        (0.05, "healthy"),
        (0.15, "healthy"),
        (0.151, "above_band"),
        (0.40, "above_band"),
        (0.401, "too_permissive"),
        (None, ""),
    ],
)
def test_fire_flag_band(value, flag):
    assert fire_flag(value) == flag


def test_fire_rate_per_signal_per_quarter():
    accounts = pd.DataFrame(
        [
            {
                "account_id": f"A{i}",
                "status": "active",
                "customer_since": dt.date(2024, 1, 1),
                "segment": "SMB",
            }
            for i in range(20)
        ]
        + [
            {"account_id": "CHURNED", "status": "churned", "customer_since": dt.date(2024, 1, 1)},
            {"account_id": "YOUNG", "status": "active", "customer_since": dt.date(2026, 1, 1)},
        ]
    )
    h = History()
    h.eql(dt.date(2026, 1, 5), signal="seat", account="A0")  # seat: 1 of 20 = 5% (healthy)
    for i in range(9):  # api: 9 of 20 = 45% (too permissive), one of them a CSM review item
        h.eql(dt.date(2026, 2, 1), signal="api", account=f"A{i}", route="csm_review" if i == 0 else "ae")
    h.eql(dt.date(2026, 2, 1), signal="api", account="A1")  # the same account twice counts once
    h.eql(dt.date(2026, 2, 1), signal="seat", account="CHURNED")  # not eligible
    h.eql(dt.date(2026, 2, 1), signal="seat", account="YOUNG")  # tenure under 182 days
    h.eql(dt.date(2026, 4, 2), signal="seat", account="A5")  # after as_of

    rows = {
        (r["signal"], r["quarter"]): r
        for r in fire_rates(h.outcomes(), accounts, AS_OF, ["seat", "api", "auto"])
    }

    assert set(rows) == {("seat", "2026-Q1"), ("api", "2026-Q1"), ("auto", "2026-Q1")}
    seat, api, auto = rows["seat", "2026-Q1"], rows["api", "2026-Q1"], rows["auto", "2026-Q1"]
    assert (seat["fired"], seat["eligible"], seat["rate"], seat["flag"]) == (1, 20, 0.05, "healthy")
    assert (api["fired"], api["rate"], api["flag"]) == (9, 0.45, "too_permissive")
    assert (auto["fired"], auto["rate"], auto["flag"]) == (0, 0.0, "too_restrictive")
    assert seat["end"] == AS_OF
    assert not seat["partial"]


# ---------------------------------------------------------------------------------------------- flags


def _cohort(h: History, signal: str, day: dt.date, converted: int, total: int) -> None:
    for i in range(total):
        if i < converted:
            h.eql(day, ("call_booked", 3), signal=signal)
        else:
            h.eql(day, signal=signal)


def test_drift_flag():
    h = History()
    # Windows end on as_of - 30 = 1 Mar 2026: 4 weeks (1 Feb, 1 Mar], 26 weeks (31 Aug 2025, 1 Mar].
    _cohort(h, "seat", dt.date(2025, 11, 1), 10, 10)
    _cohort(h, "seat", dt.date(2026, 2, 15), 2, 5)  # 40% vs 12/15 = 80%
    _cohort(h, "api", dt.date(2025, 11, 1), 8, 10)
    _cohort(h, "api", dt.date(2026, 2, 15), 4, 5)  # 80% vs 80%
    _cohort(h, "auto", dt.date(2025, 11, 1), 10, 10)
    _cohort(h, "auto", dt.date(2026, 2, 15), 1, 4)  # a big drop on too few EQLs

    flags = signal_flags(h.outcomes(), AS_OF)

    assert (flags["seat"].short_accuracy, flags["seat"].long_accuracy, flags["seat"].drift) == (
        0.4,
        0.8,
        True,
    )
    assert (flags["api"].short_accuracy, flags["api"].long_accuracy, flags["api"].drift) == (0.8, 0.8, False)
    assert flags["auto"].short_matured == 4
    assert not flags["auto"].drift
    assert signal_flags(h.outcomes(), AS_OF, min_drift_eqls=4)["auto"].drift


@pytest.mark.parametrize(("recent_converted", "drift"), [(3, True), (4, False)])
def test_drift_flag_at_five_points(recent_converted, drift):
    h = History()
    # 26 weeks: 16 older with 13 converted + 4 recent -> 16/20 = 80% (3 recent) or 17/20 = 85% (4 recent).
    _cohort(h, "seat", dt.date(2025, 10, 1), 13, 16)
    _cohort(h, "seat", dt.date(2026, 2, 20), recent_converted, 4)

    flag = signal_flags(h.outcomes(), AS_OF, min_drift_eqls=4)["seat"]

    # 3 recent: 75% vs 80% = exactly 5 points -> drift. 4 recent: 100% vs 85% -> no drift.
    assert flag.drift is drift


def test_drift_window_ignores_cohorts_older_than_26_weeks():
    h = History()
    _cohort(h, "seat", dt.date(2025, 6, 1), 10, 10)  # before 31 Aug 2025
    _cohort(h, "seat", dt.date(2026, 2, 15), 2, 5)

    flag = signal_flags(h.outcomes(), AS_OF)["seat"]

    assert (flag.long_accuracy, flag.long_matured, flag.drift) == (0.4, 5, False)


def test_retirement_flag():
    h = History()
    h.eql(dt.date(2025, 4, 10))  # launch in 2025-Q2; review quarters are 2025-Q3 and 2025-Q4
    h.eql(dt.date(2025, 10, 1), ("call_booked", 2), ("won", 20), signal="seat", won_arr=5000.0)  # Q4 win
    h.eql(dt.date(2025, 5, 1), ("call_booked", 2), ("won", 20), signal="api", won_arr=5000.0)  # Q2 only
    h.eql(dt.date(2025, 8, 1), ("call_booked", 2), ("lost", 20), signal="auto")
    h.eql(dt.date(2026, 1, 5), ("call_booked", 2), ("won", 20), signal="auto", won_arr=5000.0)  # this quarter

    flags = signal_flags(h.outcomes(), AS_OF, ["seat", "api", "auto", "never"])

    assert not flags["seat"].retire
    assert dict(flags["seat"].won_by_quarter) == {"2025-Q3": 0, "2025-Q4": 1}
    assert flags["api"].retire
    assert flags["api"].retire_note == "no won EQL in 2025-Q3 and 2025-Q4"
    assert flags["auto"].retire  # a win in the current, incomplete quarter does not count yet
    assert flags["never"].retire


def test_retirement_needs_two_complete_quarters_since_launch():
    h = History()
    h.eql(dt.date(2025, 8, 1), signal="seat")  # launch in 2025-Q3: Q3 and Q4 complete
    assert signal_flags(h.outcomes(), AS_OF)["seat"].retire

    late = History()
    late.eql(dt.date(2025, 10, 1), signal="seat")  # launch in 2025-Q4: only one complete quarter
    flag = signal_flags(late.outcomes(), AS_OF)["seat"]
    assert not flag.retire
    assert flag.retire_note == "fewer than two complete quarters since launch"


# ----------------------------------------------------------------------------------------------- KPIs


def test_iso_weeks():
    assert parse_iso_week("2026-W07") == dt.date(2026, 2, 9)
    assert parse_iso_week("2026-w1") == dt.date(2025, 12, 29)
    assert iso_week_label(dt.date(2025, 12, 29)) == "2026-W01"
    with pytest.raises(ValueError, match="YYYY-Www"):
        parse_iso_week("2026-02-09")


def test_member_kpis_for_one_week():
    week = dt.date(2026, 3, 23)  # Monday; the week ends on Sunday 29 Mar
    h = History()
    h.eql(dt.date(2026, 3, 24), ("contacted", 0), owner=1, step_hours={0: 13})  # 4 h
    h.eql(dt.date(2026, 3, 25), ("contacted", 1), owner=1, step_hours={0: 9})  # 24 h
    h.eql(dt.date(2026, 3, 25), owner=2)
    h.eql(dt.date(2026, 2, 22), ("call_booked", 3), owner=1)  # window closes 24 Mar: converted
    h.eql(dt.date(2026, 2, 23), owner=1)  # window closes 25 Mar: not converted
    h.eql(dt.date(2026, 2, 10), ("call_booked", 3), ("won", 42), owner=1, won_arr=7000.0)  # won 24 Mar
    h.eql(dt.date(2026, 3, 24), owner=1, route="csm_review")  # not an EQL
    accounts = pd.DataFrame({"account_id": ["X", "Y", "Z"], "ae_id": [1, 1, 2], "csm_id": [3, None, 1]})
    coverage = pd.DataFrame(
        {
            "account_id": ["X", "Y", "Z"],
            "expansion_ready": [True, True, False],
            "covered": [True, False, False],
        }
    )
    as_of = dt.date(2026, 3, 29)

    kpis = member_kpis(h.outcomes(as_of), coverage, accounts, [1, 2], week, as_of)

    one = kpis[1]
    assert one["eqls_created"] == 2
    assert one["ttfc_median_hours"] == 14.0
    assert (one["accuracy"], one["accuracy_matured"]) == (0.5, 2)
    assert (one["book_ready"], one["book_covered"], one["coverage"]) == (2, 1, 0.5)
    assert (one["won"], one["won_arr"]) == (1, 7000.0)
    assert kpis[2]["eqls_created"] == 1
    assert kpis[2]["coverage"] is None
    assert kpis[None]["eqls_created"] == 3
    assert kpis[None]["book_ready"] == 2


def test_empty_history():
    empty = eql_outcomes(pd.DataFrame(), pd.DataFrame(), AS_OF)

    assert metrics_of(empty)["accuracy"] is None
    assert weekly(empty, AS_OF) == []
    assert fire_rates(empty, pd.DataFrame(), AS_OF, ["seat"]) == []
    assert signal_flags(empty, AS_OF, ["seat"])["seat"].retire is False
