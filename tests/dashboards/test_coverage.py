"""Coverage diagnostic core (dashboards.metrics): no database.

Every number is checked against ``reference``, an independent plain-Python reading of
spec/domain.md ("Coverage diagnostic"), written like ``example_coverage`` in
shared/checks/contract_check.py; the hand-built cases also pin the expected values literally.
The reference works in exact fractions and converts once, so equality means full precision: rates
are never rounded, only the estimates (money) to cents.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.metrics import (
    DEFAULT_DIMENSIONS,
    Dimension,
    coverage_diagnostic,
    coverage_trend,
    month_ends,
    quartile_of_position,
)

AS_OF = dt.date(2026, 3, 31)
COMMERCIAL = ("call", "email", "meeting", "proposal")
CONTRACT_KEYS = {
    "as_of",
    "eligible",
    "expansion_ready",
    "covered",
    "coverage_rate",
    "untouched",
    "untouched_account_ids",
    "quartiles",
    "scenarios",
}


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


@dataclass
class Base:
    """A small customer base in plain Python: what the warehouse export would hold."""

    accounts: list[dict] = field(default_factory=list)
    snapshots: list[tuple] = field(default_factory=list)  # (account_id, date, metric, value)
    activities: list[tuple] = field(default_factory=list)  # (account_id, occurred_at, type, commercial)
    expansions: list[tuple] = field(default_factory=list)  # (account_id, status, closed_date, arr)

    def account(self, aid, *, tenure=400, status="active", seats=100, limit=1000, segment="SMB", **metrics):
        self.accounts.append(
            {
                "account_id": aid,
                "name": f"Account {aid}",
                "segment": segment,
                "status": status,
                "customer_since": ago(tenure),
                "seats_licensed": seats,
                "api_limit_30d": limit,
                "contract_arr": 10_000.0,
            }
        )
        for metric, value in metrics.items():
            self.snapshots.append((aid, ago(1), metric, value))

    def usage(self, aid, features=0, seats=0, api=0, workflows=0, day=1):
        for metric, value in (
            ("features_used", features),
            ("seats_active", seats),
            ("api_calls_30d", api),
            ("automation_workflows", workflows),
        ):
            self.snapshots.append((aid, ago(day), metric, value))

    def frames(self):
        accounts = pd.DataFrame(
            self.accounts,
            columns=[
                "account_id",
                "name",
                "segment",
                "status",
                "customer_since",
                "seats_licensed",
                "api_limit_30d",
                "contract_arr",
            ],
        )
        snapshots = pd.DataFrame(self.snapshots, columns=["account_id", "date", "metric", "value"])
        activities = pd.DataFrame(
            self.activities, columns=["account_id", "occurred_at", "type", "commercial"]
        )
        expansions = pd.DataFrame(
            self.expansions, columns=["account_id", "status", "closed_date", "expansion_arr"]
        )
        return accounts, snapshots, activities, expansions

    def run(self, as_of=AS_OF, **kwargs):
        return coverage_diagnostic(*self.frames(), as_of, **kwargs)


# --------------------------------------------------------------------------- independent computation


def quantile(vals, q):
    s = sorted(vals)
    h = (len(s) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def pct_ranks(values: dict) -> dict:
    """Average-rank percentile (exact fractions) of the non-missing values."""
    known = {a: v for a, v in values.items() if v is not None}
    n = len(known)
    out = {}
    for a, v in known.items():
        below = sum(1 for w in known.values() if w < v)
        equal = sum(1 for w in known.values() if w == v)
        out[a] = Fraction(2 * below + equal + 1, 2) / n
    return out


def reference(base: Base, as_of=AS_OF, q=0.75, min_top=3) -> dict:
    def days(d):
        return (as_of - d).days

    latest = {}
    for aid, day, metric, value in sorted(base.snapshots, key=lambda s: s[1]):
        if day <= as_of:
            latest[(aid, metric)] = value

    def ratio(num, den):
        return None if num is None or not den else num / den

    eligible = [a for a in base.accounts if a["status"] == "active" and days(a["customer_since"]) > 182]
    vec = {}
    for a in eligible:
        aid = a["account_id"]
        vec[aid] = (
            latest.get((aid, "features_used")),
            ratio(latest.get((aid, "seats_active")), a["seats_licensed"]),
            ratio(latest.get((aid, "api_calls_30d")), a["api_limit_30d"]),
            latest.get((aid, "automation_workflows")),
        )
    cuts = []
    for k in range(4):
        known = [v[k] for v in vec.values() if v[k] is not None]
        cuts.append(quantile(known, q) if known else None)
    top = {
        aid: sum(1 for k in range(4) if v[k] is not None and cuts[k] is not None and v[k] >= cuts[k])
        for aid, v in vec.items()
    }
    ready = sorted(aid for aid, t in top.items() if t >= min_top)

    def touches(aid, window):
        return [
            day
            for x, day, kind, commercial in base.activities
            if x == aid and commercial and kind in COMMERCIAL and 0 <= days(day) <= window
        ]

    covered = [aid for aid in ready if touches(aid, 365)]
    untouched = [aid for aid in ready if not touches(aid, 182)]

    # Composite quartiles: mean percentile rank, ordered by (composite, account_id), qcut edges.
    ranks = [pct_ranks({aid: v[k] for aid, v in vec.items()}) for k in range(4)]
    composite = {}
    for aid in vec:
        mine = [r[aid] for r in ranks if aid in r]
        if mine:
            composite[aid] = sum(mine) / len(mine)
    order = sorted(composite, key=lambda aid: (composite[aid], aid))
    n = len(order)
    edges = [1 + Fraction((n - 1) * k, 4) for k in range(5)]
    quartile = {aid: next(k for k in range(1, 5) if r <= edges[k]) for r, aid in enumerate(order, start=1)}

    won = [(aid, closed, arr) for aid, status, closed, arr in base.expansions if status == "won" and closed]
    won = [(aid, closed, arr) for aid, closed, arr in won if 0 <= days(closed) <= 365]
    median = statistics.median([arr for _, _, arr in won]) if won else 0.0
    rows = []
    for k in range(1, 5):
        members = [aid for aid in order if quartile[aid] == k]
        touched = [aid for aid in members if touches(aid, 365)]
        converted = [
            aid
            for aid in touched
            if any(x == aid and closed >= min(touches(aid, 365)) for x, closed, _ in won)
        ]
        rate = Fraction(len(converted), len(touched)) if touched else Fraction(0)
        rows.append(
            {
                "quartile": k,
                "accounts": len(members),
                "touched": len(touched),
                "won": len(converted),
                "conversion": float(rate),
            }
        )
    middle = Fraction(rows[3]["won"], rows[3]["touched"]) if rows[3]["touched"] else Fraction(0)
    attach = {"conservative": Fraction(7, 20), "middle": middle, "upside": min(1, middle * Fraction(5, 4))}
    scenarios = {
        name: {
            "attach_rate": float(rate),
            "accounts": len(untouched),
            "median_won_expansion_arr": median,
            # money: cents, half to even, from the exact product
            "estimate": float(round(len(untouched) * rate * Fraction(median), 2)),
        }
        for name, rate in attach.items()
    }
    return {
        "as_of": as_of.isoformat(),
        "eligible": len(eligible),
        "expansion_ready": len(ready),
        "covered": len(covered),
        "coverage_rate": float(Fraction(len(covered), len(ready))) if ready else 0.0,
        "untouched": len(untouched),
        "untouched_account_ids": sorted(untouched),
        "quartiles": rows,
        "scenarios": scenarios,
    }


def contract_part(result) -> dict:
    payload = result.to_json()
    return {k: payload[k] for k in CONTRACT_KEYS}


# ------------------------------------------------------------------------------------ hand-built cases


def ladder(base: Base, n=8, **kwargs):
    """n eligible accounts A0..A{n-1} whose four dimensions all rise with the index."""
    for i in range(n):
        aid = f"A{i}"
        base.account(aid, **kwargs)
        base.usage(aid, features=i, seats=10 * i, api=100 * i, workflows=i)


def test_ladder_top_quartile_and_quartile_table():
    # Given 8 accounts rising on every dimension: cut = 0.75 quantile of 0..7 = 5.25
    base = Base()
    ladder(base)
    # When
    result = base.run()
    # Then A6 and A7 are top on all four; the cut is exact
    assert result.cuts == pytest.approx((5.25, 0.525, 0.525, 5.25))
    assert result.eligible == 8
    assert result.expansion_ready == 2
    assert result.untouched_account_ids == ("A6", "A7")
    assert [(q.quartile, q.accounts) for q in result.quartiles] == [(1, 2), (2, 2), (3, 2), (4, 2)]
    assert contract_part(result) == reference(base)


def test_ties_at_the_cut_are_all_top():
    # Given values 1,2,3,4,4,4,4,4 on every dimension: the 0.75 quantile is 4, five accounts tie on it
    base = Base()
    for i, v in enumerate([1, 2, 3, 4, 4, 4, 4, 4]):
        base.account(f"T{i}")
        base.usage(f"T{i}", features=v, seats=10 * v, api=100 * v, workflows=v)
    # When
    result = base.run()
    # Then every account on the cut counts as top
    assert result.cuts[0] == 4.0
    assert result.expansion_ready == 5
    assert result.untouched_account_ids == ("T3", "T4", "T5", "T6", "T7")
    # and the tied composites are split into quartiles by account id
    table = result.table.set_index("account_id")
    assert list(table["quartile"]) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert contract_part(result) == reference(base)


def test_tenure_182_is_not_eligible_183_is():
    base = Base()
    ladder(base, n=4)
    base.account("OLD182", tenure=182)
    base.usage("OLD182", features=50, seats=99, api=999, workflows=50)
    base.account("OLD183", tenure=183)
    base.usage("OLD183", features=50, seats=99, api=999, workflows=50)
    base.account("CHURNED", tenure=900, status="churned")
    base.usage("CHURNED", features=50, seats=99, api=999, workflows=50)

    result = base.run()

    assert result.eligible == 5
    assert "OLD182" not in set(result.table["account_id"])
    assert "OLD183" in result.untouched_account_ids
    assert "CHURNED" not in set(result.table["account_id"])
    assert contract_part(result) == reference(base)


def test_snapshots_after_as_of_are_ignored():
    base = Base()
    ladder(base)
    # A0 is the lowest on the as_of reading, but a later snapshot would make it the best
    base.usage("A0", features=99, seats=100, api=1000, workflows=99, day=-1)
    # and A7's older reading is superseded by its latest one on or before as_of
    base.usage("A7", features=0, seats=0, api=0, workflows=0, day=30)

    result = base.run()

    assert result.untouched_account_ids == ("A6", "A7")
    assert result.table.set_index("account_id").loc["A0", "feature breadth"] == 0
    assert contract_part(result) == reference(base)


def test_latest_frame_without_dates_is_read_as_given():
    base = Base()
    ladder(base)
    accounts, snapshots, activities, expansions = base.frames()

    result = coverage_diagnostic(accounts, snapshots.drop(columns="date"), activities, expansions, AS_OF)

    assert contract_part(result) == reference(base)


@pytest.mark.parametrize(
    ("days_before", "covered", "untouched"),
    [
        (-1, False, True),  # in the future: not a touch before as_of
        (0, True, False),
        (182, True, False),
        (183, True, True),
        (365, True, True),
        (366, False, True),
    ],
)
def test_activity_windows_are_inclusive(days_before, covered, untouched):
    base = Base()
    ladder(base)
    base.activities.append(("A7", ago(days_before), "call", True))

    result = base.run()

    row = result.table.set_index("account_id").loc["A7"]
    assert bool(row["covered"]) is covered
    assert bool(row["untouched"]) is untouched
    assert contract_part(result) == reference(base)


@pytest.mark.parametrize(
    ("kind", "commercial"),
    [("call", False), ("email", False), ("qbr", True), ("note", True), ("eql_event", True)],
)
def test_non_commercial_activities_do_not_count(kind, commercial):
    base = Base()
    ladder(base)
    base.activities.append(("A7", ago(5), kind, commercial))

    result = base.run()

    assert result.covered == 0
    assert result.untouched_account_ids == ("A6", "A7")
    assert result.quartiles[3].touched == 0


@pytest.mark.parametrize("kind", COMMERCIAL)
def test_every_commercial_type_counts(kind):
    base = Base()
    ladder(base)
    base.activities.append(("A7", ago(5), kind, "true"))

    result = base.run()

    assert result.covered == 1
    assert result.coverage_rate == 0.5
    assert result.untouched_account_ids == ("A6",)


def test_activity_day_is_the_utc_date_of_a_datetime():
    base = Base()
    ladder(base)
    # 01:00 at +02:00 on the day 182 days before is 23:00 UTC the day before: 183 days, still "untouched"
    day = ago(182)
    base.activities.append(("A7", f"{day.isoformat()}T01:00:00+02:00", "call", True))
    base.activities.append(
        ("A6", dt.datetime.combine(ago(182), dt.time(23, 59), tzinfo=dt.UTC), "call", True)
    )

    result = base.run()

    assert result.untouched_account_ids == ("A7",)
    assert result.covered == 2


def test_missing_values_are_never_top_and_do_not_move_the_cut():
    base = Base()
    ladder(base)
    base.account("NOFEAT", seats_active=100, api_calls_30d=1000, automation_workflows=99)
    base.account(
        "NOSEATS", seats=0, features_used=99, seats_active=5, api_calls_30d=1000, automation_workflows=99
    )

    result = base.run()

    # cut over A0..A7 plus the two complete readings on the other dimensions
    assert result.cuts[0] == quantile([*range(8), 99], 0.75)
    table = result.table.set_index("account_id")
    assert table.loc["NOFEAT", "top_count"] == 3
    assert math.isnan(table.loc["NOSEATS", "seat utilisation"])
    assert table.loc["NOSEATS", "top_count"] == 3
    assert contract_part(result) == reference(base)


def test_no_ready_accounts_gives_zero_rate_and_zero_estimates():
    base = Base()
    base.account("A", tenure=100)
    base.usage("A", features=1)

    result = base.run()

    assert result.eligible == 0
    assert result.expansion_ready == 0
    assert result.coverage_rate == 0.0
    assert [q.accounts for q in result.quartiles] == [0, 0, 0, 0]
    assert {s.name: s.estimate for s in result.scenarios} == {"conservative": 0, "middle": 0, "upside": 0}
    assert contract_part(result) == reference(base)


def test_touch_to_won_and_scenario_arithmetic():
    # Given 8 accounts; A4..A7 form the top composite quartiles, A6/A7 are ready (and the top quartile)
    base = Base()
    ladder(base)
    # A7 touched 200 days ago (covered, untouched) and won 100 days ago: converts
    base.activities.append(("A7", ago(200), "meeting", True))
    base.expansions.append(("A7", "won", ago(100), 30_000.0))
    # A6 touched 50 days ago but won 120 days ago, before the touch: no conversion, still in the median
    base.activities.append(("A6", ago(50), "email", True))
    base.expansions.append(("A6", "won", ago(120), 10_000.0))
    # A1 won 300 days ago without a touch: only the median; A2 lost; an old win outside the year
    base.expansions.append(("A1", "won", ago(300), 20_000.0))
    base.expansions.append(("A2", "lost", ago(10), 90_000.0))
    base.expansions.append(("A3", "won", ago(366), 90_000.0))
    base.expansions.append(("A3", "open", None, 90_000.0))

    result = base.run()

    assert result.covered == 2
    assert result.coverage_rate == 1.0
    assert result.untouched_account_ids == ("A7",)
    assert result.median_won_expansion_arr == 20_000.0
    top = result.quartiles[3]
    assert (top.quartile, top.accounts, top.touched, top.won, top.conversion) == (4, 2, 2, 1, 0.5)
    scenarios = {s.name: (s.attach_rate, s.accounts, s.estimate) for s in result.scenarios}
    assert scenarios == {
        "conservative": (0.35, 1, 7_000.0),
        "middle": (0.5, 1, 10_000.0),
        "upside": (0.625, 1, 12_500.0),
    }
    assert contract_part(result) == reference(base)


def test_rates_medians_and_cuts_keep_full_precision():
    # Given 20 rising accounts: A15..A19 are ready and form the top quartile; three were touched
    # 100 days ago (covered, not untouched), one of them won afterwards; a win without a touch
    base = Base()
    ladder(base, n=20)
    for aid in ("A15", "A16", "A17"):
        base.activities.append((aid, ago(100), "call", True))
    base.expansions.append(("A15", "won", ago(50), 10_000.01))
    base.expansions.append(("A1", "won", ago(200), 20_000.00))

    result = base.run()
    payload = json.loads(json.dumps(result.to_json()))

    # Then nothing is rounded to 4 places: 1/3 stays 0.333..., 5/12 stays 0.41666...
    top = result.quartiles[3]
    assert (top.accounts, top.touched, top.won) == (5, 3, 1)
    assert top.conversion == 1 / 3 != round(1 / 3, 4)
    assert payload["coverage_rate"] == 3 / 5
    assert payload["quartiles"][3]["conversion"] == 1 / 3
    scenarios = payload["scenarios"]
    assert scenarios["middle"]["attach_rate"] == 1 / 3
    assert scenarios["upside"]["attach_rate"] == 5 / 12 != round(5 / 12, 4)
    assert scenarios["conservative"]["attach_rate"] == 0.35
    # the median is the exact middle of the two amounts, not rounded to cents
    median = payload["median_won_expansion_arr"]
    assert median == (10_000.01 + 20_000.00) / 2
    assert round(median, 2) != median
    # the estimates are money: cents of the exact product 2 x rate x 15000.005
    assert {k: v["estimate"] for k, v in scenarios.items()} == {
        "conservative": 10_500.0,
        "middle": 10_000.0,
        "upside": 12_500.0,
    }
    assert payload["dimensions"][1]["cut"] == quantile([10 * i / 100 for i in range(20)], 0.75)
    assert contract_part(result) == reference(base)


def test_a_two_thirds_coverage_rate_is_not_rounded():
    base = Base()
    ladder(base, n=12)  # A9..A11 ready
    base.activities += [("A9", ago(10), "call", True), ("A10", ago(10), "email", True)]

    result = base.run()

    assert result.expansion_ready == 3
    assert result.coverage_rate == 2 / 3 != 0.6667
    assert dict(result.by_segment)["SMB"]["coverage_rate"] == 2 / 3
    assert result.to_json()["by_segment"]["SMB"]["coverage_rate"] == 2 / 3
    assert contract_part(result) == reference(base)


def test_upside_attach_is_capped_at_one():
    base = Base()
    ladder(base)
    for aid in ("A6", "A7"):
        base.activities.append((aid, ago(300), "proposal", True))
        base.expansions.append((aid, "won", ago(10), 5_000.0))

    result = base.run()

    rates = {s.name: s.attach_rate for s in result.scenarios}
    assert rates == {"conservative": 0.35, "middle": 1.0, "upside": 1.0}
    assert contract_part(result) == reference(base)


def test_json_has_the_contract_keys_and_serialises():
    base = Base()
    ladder(base)
    base.activities.append(("A6", ago(3), "call", True))

    payload = base.run().to_json()

    assert set(payload) >= CONTRACT_KEYS
    assert set(payload["scenarios"]) == {"conservative", "middle", "upside"}
    assert set(payload["quartiles"][0]) == {"quartile", "accounts", "touched", "won", "conversion"}
    assert set(payload["scenarios"]["middle"]) == {
        "attach_rate",
        "accounts",
        "median_won_expansion_arr",
        "estimate",
    }
    assert json.loads(json.dumps(payload)) == payload
    assert payload["as_of"] == "2026-03-31"
    assert payload["by_segment"]["SMB"]["covered"] == 1


def test_by_segment_splits_the_totals():
    base = Base()
    ladder(base, segment="SMB")
    for i in range(8):
        aid = f"E{i}"
        base.account(aid, segment="Enterprise")
        base.usage(aid, features=i, seats=10 * i, api=100 * i, workflows=i)
    base.activities.append(("E7", ago(3), "call", True))

    segments = dict(base.run().by_segment)

    # the cut is taken over both segments (16 accounts): 6 and 7 are top in each
    assert segments["Enterprise"] == {
        "eligible": 8,
        "expansion_ready": 2,
        "covered": 1,
        "coverage_rate": 0.5,
        "untouched": 1,
    }
    assert segments["SMB"] == {
        "eligible": 8,
        "expansion_ready": 2,
        "covered": 0,
        "coverage_rate": 0.0,
        "untouched": 2,
    }


def test_configurable_dimensions_with_a_metric_denominator():
    base = Base()
    for i in range(4):
        base.account(f"D{i}", seats_active=i + 1, seats_invited=4, exports=10 * i)
    dims = (
        Dimension("invite uptake", "seats_active", denominator_metric="seats_invited"),
        Dimension("x", "exports"),
    )

    result = base.run(dimensions=dims, min_top=2)

    assert result.cuts == (0.8125, 22.5)
    assert result.untouched_account_ids == ("D3",)
    assert [d["name"] for d in result.to_json()["dimensions"]] == ["invite uptake", "x"]


def test_min_top_above_the_number_of_dimensions_is_refused():
    with pytest.raises(ValueError, match="min_top"):
        Base().run(dimensions=DEFAULT_DIMENSIONS[:2])


@pytest.mark.parametrize("n", range(2, 41))
def test_quartile_rule_is_pandas_qcut_on_the_order(n):
    expected = pd.qcut(pd.Series(range(1, n + 1), dtype=float), 4, labels=[1, 2, 3, 4]).astype(int).tolist()
    assert [quartile_of_position(r, n) for r in range(1, n + 1)] == expected


def test_month_ends_cap_the_last_point():
    assert month_ends(dt.date(2025, 11, 15), dt.date(2026, 2, 10)) == [
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 10),
    ]
    assert month_ends(dt.date(2026, 2, 1), dt.date(2026, 1, 1)) == []


def test_trend_reuses_the_diagnostic_at_each_month_end():
    base = Base()
    ladder(base, tenure=500)
    base.usage("A0", features=99, seats=100, api=1000, workflows=99, day=40)  # an older reading
    base.activities.append(("A0", ago(45), "call", True))
    points = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), AS_OF]
    frames = base.frames()

    trend = coverage_trend(frames[0], frames[1], frames[2], frames[3], points)

    assert [p["month"] for p in trend] == ["2026-01", "2026-02", "2026-03"]
    for point, as_of in zip(trend, points, strict=True):
        want = reference(base, as_of=as_of)
        assert {k: point[k] for k in ("eligible", "expansion_ready", "covered", "coverage_rate")} == {
            k: want[k] for k in ("eligible", "expansion_ready", "covered", "coverage_rate")
        }
    # January has no reading yet; in February A0's only reading is the high one (and it was touched);
    # by March the ladder reading has replaced it
    assert [(p["eligible"], p["expansion_ready"], p["covered"]) for p in trend] == [
        (8, 0, 0),
        (8, 1, 1),
        (8, 2, 0),
    ]


# ----------------------------------------------------------------------------------------- invariant

OFFSETS_SNAPSHOT = [-3, 0, 0, 5, 40]  # -3: after as_of, must be ignored
OFFSETS_ACTIVITY = [-1, 0, 1, 181, 182, 183, 300, 364, 365, 366]
OFFSETS_CLOSED = [-2, 0, 10, 182, 365, 366]
# Five ordered values per metric; an account draws a usage level and each reading sits near it, so
# accounts are often top on several dimensions at once (and ties are common).
METRIC_VALUES = {
    "features_used": [0, 3, 5, 8, 12],
    "seats_active": [0, 5, 10, 20, 40],
    "api_calls_30d": [0, 500, 1000, 2500, 5000],
    "automation_workflows": [0, 1, 4, 9, 9],
}


@st.composite
def bases(draw) -> Base:
    base = Base()
    for i in range(draw(st.integers(0, 20))):
        aid = f"H{i:02d}"
        base.account(
            aid,
            tenure=draw(st.sampled_from([100, 182, 183, 400])),
            status=draw(st.sampled_from(["active", "active", "active", "churned"])),
            seats=draw(st.sampled_from([0, 40, 40])),
            limit=draw(st.sampled_from([5000, 10_000])),
            segment=draw(st.sampled_from(["SMB", "Enterprise"])),
        )
        level = draw(st.integers(0, 4))
        for metric, values in METRIC_VALUES.items():
            for offset in draw(
                st.lists(st.sampled_from(OFFSETS_SNAPSHOT), unique=True, min_size=1, max_size=2)
            ):
                at = min(4, max(0, level + draw(st.sampled_from([-1, 0, 0, 0, 1]))))
                base.snapshots.append((aid, ago(offset), metric, values[at]))
        for _ in range(draw(st.integers(0, 3))):
            base.activities.append(
                (
                    aid,
                    ago(draw(st.sampled_from(OFFSETS_ACTIVITY))),
                    draw(st.sampled_from(["call", "email", "meeting", "proposal", "qbr", "note"])),
                    draw(st.booleans()),
                )
            )
        for _ in range(draw(st.integers(0, 2))):
            status = draw(st.sampled_from(["won", "won", "lost", "open"]))
            closed = None if status == "open" else ago(draw(st.sampled_from(OFFSETS_CLOSED)))
            base.expansions.append((aid, status, closed, float(draw(st.sampled_from([1000, 2500, 4000])))))
    return base


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=bases())
def test_coverage_equals_the_independent_computation(base):
    result = base.run()

    assert contract_part(result) == reference(base)
    assert result.covered <= result.expansion_ready <= result.eligible
    assert sum(q.accounts for q in result.quartiles) <= result.eligible
