"""Coverage diagnostic through the database: selectors, ``coverage_for`` and ``manage.py coverage``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from dashboards.metrics import coverage_diagnostic
from dashboards.selectors import accounts_frame, coverage_for, coverage_trend_for, latest_metrics_frame
from expansion.models import Activity, Expansion, Metric, UsageSnapshot
from tests.dashboards.test_coverage import AS_OF, CONTRACT_KEYS, Base, ago, contract_part, reference
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

#: coverage_for: accounts, metric ids, latest values, commercial touches, won expansions.
COVERAGE_QUERIES = 5


@pytest.fixture
def example_coverage(contract_check):
    """``example_coverage`` from shared/checks/contract_check.py (the end-to-end check's generator)."""
    return contract_check.example_coverage


def run_coverage(*args: str) -> str:
    out = StringIO()
    call_command("coverage", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def import_folder(folder: Path) -> None:
    call_command("import_data", str(folder), "--json", stdout=StringIO(), stderr=StringIO())


def save(base: Base) -> None:
    """Write a plain-Python ``Base`` to the database; activities at 15:30 UTC on their day."""
    accounts = {
        a["account_id"]: AccountFactory(
            account_id=a["account_id"],
            name=a["name"],
            segment=a["segment"],
            status=a["status"],
            customer_since=a["customer_since"],
            seats_licensed=a["seats_licensed"],
            api_limit_30d=a["api_limit_30d"],
            contract_arr=Decimal(str(a["contract_arr"])),
        )
        for a in base.accounts
    }
    metrics = {name: Metric.objects.get_or_create(name=name)[0] for name in {s[2] for s in base.snapshots}}
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(account=accounts[aid], metric=metrics[m], date=day, value=v)
        for aid, day, m, v in base.snapshots
    )
    Activity.objects.bulk_create(
        Activity(
            activity_id=f"ACT{i}",
            account=accounts[aid],
            occurred_at=dt.datetime.combine(day, dt.time(15, 30), tzinfo=dt.UTC),
            type=kind,
            commercial=commercial,
        )
        for i, (aid, day, kind, commercial) in enumerate(base.activities)
    )
    Expansion.objects.bulk_create(
        Expansion(
            opportunity_id=f"OPP{i}",
            account=accounts[aid],
            created_date=ago(500),
            closed_date=closed,
            status=status,
            expansion_arr=Decimal(str(arr)),
            expansion_type="seats",
            contract_arr_at_close=Decimal("10000"),
        )
        for i, (aid, status, closed, arr) in enumerate(base.expansions)
    )


def random_base(seed: int, n: int) -> Base:
    """A base with correlated usage (so several accounts are ready), boundary dates and won deals."""
    rnd = random.Random(seed)
    base = Base()
    for i in range(n):
        aid = f"R{i:03d}"
        base.account(
            aid,
            tenure=rnd.choice([100, 182, 183, 400, 900]),
            status=rnd.choice(["active"] * 5 + ["churned"]),
            seats=rnd.choice([0, 50, 50, 50]),
            limit=5000,
            segment=rnd.choice(["SMB", "MidMarket", "Enterprise"]),
        )
        level = rnd.randint(0, 4)
        for day in (40, 1, -2):  # -2: after as_of, must not count
            noisy = [min(4, max(0, level + rnd.choice([-1, 0, 0, 1]))) for _ in range(4)]
            base.usage(
                aid,
                features=[0, 3, 5, 8, 12][noisy[0]],
                seats=[0, 10, 25, 40, 50][noisy[1]],
                api=[0, 500, 1000, 2500, 5000][noisy[2]],
                workflows=[0, 1, 4, 9, 9][noisy[3]],
                day=day,
            )
        for _ in range(rnd.choice([0, 1, 2, 3])):
            days = rnd.choice([-1, 0, 182, 183, 300, 365, 366])
            kind = rnd.choice(["call", "email", "meeting", "proposal", "qbr", "note"])
            base.activities.append((aid, ago(days), kind, rnd.random() < 0.7))
        for _ in range(rnd.choice([0, 1])):
            status = rnd.choice(["won", "won", "lost", "open"])
            closed = None if status == "open" else ago(rnd.choice([0, 30, 200, 365, 366, -5]))
            base.expansions.append((aid, status, closed, float(rnd.choice([1000, 2500, 4000, 12000]))))
    return base


# ------------------------------------------------------------------------------------- end to end


def test_coverage_json_matches_example_coverage(example_coverage, tmp_path):
    # Given the end-to-end check's example export, imported
    want = example_coverage(tmp_path / "coverage")
    import_folder(tmp_path / "coverage")
    # When
    got = json.loads(run_coverage("--as-of", "2026-03-31", "--json"))
    # Then the contract's numbers equal the check's independent computation
    assert {k: got[k] for k in want} == want
    assert set(got) >= CONTRACT_KEYS
    assert got["as_of"] == "2026-03-31"
    assert got["untouched_account_ids"] == sorted(got["untouched_account_ids"])
    assert len(got["untouched_account_ids"]) == got["untouched"]


def test_coverage_json_equals_the_core_on_the_raw_export(example_coverage, tmp_path):
    # Given the same export, read straight from its CSVs (every snapshot, every activity)
    folder = tmp_path / "coverage"
    example_coverage(folder)
    import_folder(folder)
    frames = [
        pd.read_csv(folder / name, dtype={"account_id": str})
        for name in ("accounts.csv", "usage.csv", "activities.csv", "expansions.csv")
    ]
    # When
    got = json.loads(run_coverage("--as-of", "2026-03-31", "--json"))
    # Then the database path (latest values, touch bounds) gives the whole payload the core gives
    assert got == coverage_diagnostic(*frames, AS_OF).to_json()


def test_coverage_for_equals_the_independent_computation_in_few_queries(django_assert_max_num_queries):
    base = random_base(seed=12, n=60)
    save(base)

    with django_assert_max_num_queries(COVERAGE_QUERIES):
        result = coverage_for(AS_OF)

    assert contract_part(result) == reference(base)
    # the base is rich enough to exercise every part: covered, untouched, conversions, estimates
    assert (result.expansion_ready, result.covered, result.untouched) == (14, 6, 12)
    assert [q.won for q in result.quartiles] == [0, 1, 0, 1]
    assert {s.name: s.estimate for s in result.scenarios}["middle"] == 7500.0


@pytest.mark.parametrize("seed", [17, 19])
def test_coverage_for_on_other_bases(seed):
    base = random_base(seed=seed, n=40)
    save(base)

    assert contract_part(coverage_for(AS_OF)) == reference(base)


def test_query_count_does_not_grow_with_accounts(django_assert_max_num_queries):
    save(random_base(seed=5, n=150))

    with django_assert_max_num_queries(COVERAGE_QUERIES):
        coverage_for(AS_OF)


def test_latest_metric_is_the_last_snapshot_on_or_before_as_of():
    base = Base()
    base.account("L1", tenure=400)
    base.snapshots += [
        ("L1", ago(30), "features_used", 1.0),
        ("L1", ago(3), "features_used", 2.0),
        ("L1", ago(-1), "features_used", 99.0),
        ("L1", ago(0), "seats_active", 7.0),
        ("L1", ago(-3), "api_calls_30d", 5.0),
    ]
    base.account("YOUNG", tenure=182, features_used=4.0)
    save(base)

    frame = latest_metrics_frame(
        AS_OF, ["features_used", "seats_active", "api_calls_30d", "nope"], accounts_frame()
    )

    # YOUNG is not eligible yet, so it is not read; api_calls_30d exists only after as_of
    assert sorted(frame.itertuples(index=False, name=None)) == [
        ("L1", "features_used", 2.0),
        ("L1", "seats_active", 7.0),
    ]


def test_summary_and_untouched_csv(tmp_path):
    base = random_base(seed=3, n=60)
    save(base)
    want = reference(base)
    path = tmp_path / "untouched.csv"

    text = run_coverage("--as-of", "2026-03-31", "--csv", str(path))

    assert "Coverage diagnostic as of 2026-03-31" in text
    assert f"Expansion-ready (top quartile on >= 3 of 4 dimensions): {want['expansion_ready']}" in text
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["account_id"] for r in rows] == want["untouched_account_ids"]
    assert {"account_id", "name", "segment", "quartile", "last_touch_365d"} <= set(rows[0])


def test_trend_ends_with_the_diagnostic_at_as_of():
    base = random_base(seed=3, n=30)
    save(base)

    trend = coverage_trend_for(end=AS_OF)

    # snapshots start 40 days before as_of (in February): the February and March month ends
    assert [p["month"] for p in trend] == ["2026-02", "2026-03"]
    last = reference(base)
    assert {k: trend[-1][k] for k in ("eligible", "expansion_ready", "covered", "coverage_rate")} == {
        k: last[k] for k in ("eligible", "expansion_ready", "covered", "coverage_rate")
    }
    first = reference(base, as_of=dt.date(2026, 2, 28))
    assert trend[0]["covered"] == first["covered"]
    assert trend[0]["expansion_ready"] == first["expansion_ready"]


def test_trend_option_adds_the_months_to_the_json():
    save(random_base(seed=3, n=10))

    payload = json.loads(run_coverage("--as-of", "2026-03-31", "--json", "--trend"))

    assert [p["month"] for p in payload["trend"]] == ["2026-02", "2026-03"]


def test_empty_database_gives_zeros():
    payload = json.loads(run_coverage("--as-of", "2026-03-31", "--json"))

    assert {k: payload[k] for k in ("eligible", "expansion_ready", "covered", "untouched")} == {
        "eligible": 0,
        "expansion_ready": 0,
        "covered": 0,
        "untouched": 0,
    }
    assert payload["coverage_rate"] == 0.0
    assert payload["scenarios"]["conservative"]["estimate"] == 0.0


def test_bad_as_of_is_refused():
    with pytest.raises(CommandError, match="not a date"):
        run_coverage("--as-of", "31/03/2026")
