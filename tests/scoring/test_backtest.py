"""The backtest (scoring.backtest, scoring.backtest_services, ``manage.py backtest``): replay with the
production dedup and suppression, precision and recall against hand computations, what-if overrides,
the snapshot loader's shortcut against the production windows, and the contract's ``--json`` keys.

Hand-built data: every account has daily usage from 100 days before the first step to the last one.
With the default configuration, seats 95 of 100 (40 points) plus 25 workflows (20 points) score 60
and qualify (primary signal seat_utilisation); "quiet" usage fires nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from scoring import backtest as bt
from scoring.defaults import default_config
from scoring.engine import evaluate

START = dt.date(2025, 1, 6)
END = dt.date(2025, 3, 31)
QUIET = {
    "seats_active": 50.0,
    "api_calls_30d": 1_000.0,
    "automation_workflows": 2.0,
    "departments_active": 3.0,
    "export_rows_30d": 100.0,
}
HOT = {**QUIET, "seats_active": 95.0, "automation_workflows": 25.0}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def account(pk: int, **overrides) -> dict:
    row = {
        "account": pk,
        "account_id": f"A{pk}",
        "segment": "MidMarket",
        "plan_tier": "Business",
        "status": "active",
        "contract_arr": 100_000.0,
        "customer_since": pd.Timestamp("2020-01-01"),
        "health_score": 80.0,
        "seats_licensed": 100,
        "api_limit_30d": 100_000,
        "owned_modules": [],
        "ae_id": 1,
    }
    row.update(overrides)
    return row


def accounts_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).set_index("account")


def usage(
    pk: int, profile, first: dt.date = START - dt.timedelta(days=100), last: dt.date = END
) -> pd.DataFrame:
    """Daily rows of every metric; ``profile(day) -> metrics`` decides the values of each day."""
    days = pd.date_range(first, last, freq="D")
    rows = [(pk, day, metric, value) for day in days for metric, value in profile(day.date()).items()]
    return pd.DataFrame(rows, columns=["account", "date", "metric", "value"])


def always(metrics: dict):
    return lambda day: metrics


def hot_from(when: dt.date):
    return lambda day: HOT if day >= when else QUIET


def expansions_frame(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"account": a, "created_date": d(c), "status": s} for a, c, s in rows],
        columns=["account", "created_date", "status"],
    )


@pytest.fixture(scope="module")
def scenario():
    """Six accounts over 13 weekly steps (2025-01-06 .. 2025-03-31), match window 30 days.

    A1 hot throughout, won deal 01-20 | A2 hot, no deal | A3 hot from 02-01, open deal 02-20
    A4 quiet, won deal 02-15 | A5 churned (blocked) and hot, won deal 02-01 | A6 hot, lost deal 01-15
    """
    accounts = accounts_frame(
        account(1, ae_id=11),
        account(2, ae_id=11),
        account(3, ae_id=12),
        account(4, ae_id=12),
        account(5, status="churned", ae_id=12),
        account(6, ae_id=None),
    )
    snapshots = pd.concat(
        [
            usage(1, always(HOT)),
            usage(2, always(HOT)),
            usage(3, hot_from(d("2025-02-01"))),
            usage(4, always(QUIET)),
            usage(5, always(HOT)),
            usage(6, always(HOT)),
        ],
        ignore_index=True,
    )
    expansions = expansions_frame(
        (1, "2025-01-20", "won"),
        (3, "2025-02-20", "open"),
        (4, "2025-02-15", "won"),
        (5, "2025-02-01", "won"),
        (6, "2025-01-15", "lost"),
    )
    return accounts, snapshots, expansions


def run(scenario, **options):
    accounts, snapshots, expansions = scenario
    options.setdefault("match_window_days", 30)
    return bt.backtest(
        accounts, snapshots, default_config(), start=START, end=END, expansions=expansions, **options
    )


# --------------------------------------------------------------------------------------------------
# Precision and recall against a hand computation
# --------------------------------------------------------------------------------------------------


def test_precision_and_recall_equal_the_hand_computation(scenario):
    # EQLs (step dates; W = 30, suppression 30):
    #   A1 01-06 matched by 01-20 (closes 01-20, free 02-19) -> 02-24 unmatched          2 EQLs, 1 matched
    #   A2 01-06 unmatched (closes 02-05, free 03-07) -> 03-10 unmatched                  2 EQLs, 0 matched
    #   A3 02-10 (7 hot days from 02-01) matched by the open deal 02-20 -> 03-24          2 EQLs, 1 matched
    #   A6 like A2 (a lost deal is no expansion)                                          2 EQLs, 0 matched
    #   A4 never qualifies; A5 is blocked by the status gate.
    # precision = 2 / 8. Recall base: won/open deals in the period on eligible accounts:
    #   A1 01-20, A3 02-20, A4 02-15 (A5 blocked, A6 lost) -> preceded: A1, A3 -> 2 / 3.
    result = run(scenario)
    assert result["eqls"] == 8
    assert result["matched_eqls"] == 2
    assert result["precision"] == 0.25
    assert result["expansions"] == 3
    assert result["matched_expansions"] == 2
    assert result["recall"] == round(2 / 3, 4)
    # Pending: unmatched EQLs whose window passes the end (03-31): A2 03-10, A3 03-24, A6 03-10.
    assert result["pending_eqls"] == 3
    assert result["precision_settled"] == round(2 / 5, 4)
    assert result["eqls_per_week"] == round(8 / (85 / 7), 2)
    assert result["steps"] == 13
    assert result["by_signal"]["seat_utilisation"] == {
        "name": "Seat utilisation",
        "eqls": 8,
        "matched": 2,
        "precision": 0.25,
    }
    assert result["by_signal"]["api_rate_approach"]["eqls"] == 0
    assert result["by_signal"]["api_rate_approach"]["precision"] is None
    weekly = {w["date"]: w for w in result["weekly"]}
    assert weekly["2025-01-06"]["eqls"] == 3  # A1, A2, A6
    assert weekly["2025-01-06"]["matched"] == 1
    assert weekly["2025-02-10"]["eqls"] == 1  # A3
    assert [w["date"] for w in result["weekly"] if w["eqls"]] == [
        "2025-01-06",
        "2025-02-10",
        "2025-02-24",
        "2025-03-10",
        "2025-03-24",
    ]
    json.dumps(result)  # JSON-ready, stored as is


def test_won_only_counts_only_won_expansions(scenario):
    # A3's open deal no longer matches: its 02-10 EQL closes unmatched 03-12 and suppresses to 04-11.
    result = run(scenario, won_only=True)
    assert result["eqls"] == 7
    assert result["matched_eqls"] == 1
    assert result["precision"] == round(1 / 7, 4)
    assert result["expansions"] == 2  # A1, A4
    assert result["matched_expansions"] == 1
    assert result["recall"] == 0.5
    assert result["counted_statuses"] == ["won"]


def test_a_longer_match_window_catches_later_expansions(scenario):
    # With 90 days A2 and A6 stay open to 04-06 (no second EQL); A1's second EQL waits for 02-19.
    result = run(scenario, match_window_days=90)
    created = [(w["date"], w["eqls"]) for w in result["weekly"] if w["eqls"]]
    assert created == [("2025-01-06", 3), ("2025-02-10", 1), ("2025-02-24", 1), ("2025-03-24", 1)]


def test_owner_table_counts_eqls_per_ae_against_capacity(scenario):
    accounts, snapshots, expansions = scenario
    owners = pd.DataFrame(
        [{"pk": 11, "email": "ae11@example.com", "name": "AE Eleven", "capacity": 1}]
    ).set_index("pk")
    result = bt.backtest(
        accounts,
        snapshots,
        default_config(),
        start=START,
        end=END,
        expansions=expansions,
        match_window_days=30,
        owners=owners,
    )
    by_owner = {row["owner_id"]: row for row in result["by_owner"]}
    eleven = by_owner[11]
    assert (eleven["name"], eleven["capacity"], eleven["eqls"], eleven["matched"]) == ("AE Eleven", 1, 4, 1)
    # A1 and A2 both open on 01-06 and 01-13 (A1 closes 01-20) and again 03-10, 03-17, 03-24 (A1's
    # second EQL runs 02-24 .. 03-26, A2's from 03-10): 2 > capacity 1 on five steps.
    assert eleven["peak_open"] == 2
    assert eleven["steps_over_capacity"] == 5
    assert (by_owner[12]["eqls"], by_owner[12]["capacity"]) == (2, None)
    assert by_owner[None]["eqls"] == 2  # A6 has no AE


def test_no_eqls_means_no_precision_and_no_recall():
    accounts = accounts_frame(account(1))
    result = bt.backtest(accounts, usage(1, always(QUIET)), default_config(), start=START, end=END)
    assert (result["eqls"], result["precision"], result["recall"], result["by_owner"]) == (0, None, None, [])


# --------------------------------------------------------------------------------------------------
# Dedup and suppression
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suppression_days", "expected_offsets"),
    [
        (30, [0, 126, 252]),  # open 90 days + suppressed 30 -> next step on or after day 120 is 126
        (0, [0, 91, 182, 273, 364]),  # closes on day 90 -> next step 91
    ],
)
def test_an_account_that_keeps_qualifying_gets_one_eql_per_suppression_cycle(
    suppression_days, expected_offsets
):
    start, end = d("2025-01-01"), d("2025-12-31")
    config = bt.apply_overrides(default_config(), {"policy.suppression_days": suppression_days})
    result = bt.backtest(
        accounts_frame(account(1)),
        usage(1, always(HOT), first=start - dt.timedelta(days=100), last=end),
        config,
        start=start,
        end=end,
    )
    created = [w["date"] for w in result["weekly"] for _ in range(w["eqls"])]
    assert created == [(start + dt.timedelta(days=o)).isoformat() for o in expected_offsets]
    # Never two open at once.
    assert max(w["open"] for w in result["weekly"]) == 1


def test_an_expansion_closes_the_eql_early_and_starts_the_suppression():
    start, end = d("2025-01-01"), d("2025-06-30")
    result = bt.backtest(
        accounts_frame(account(1)),
        usage(1, always(HOT), first=start - dt.timedelta(days=100), last=end),
        default_config(),
        start=start,
        end=end,
        expansions=expansions_frame((1, "2025-01-10", "won"), (1, "2025-02-20", "won")),
    )
    # 01-01 matched by 01-10; suppressed until 02-09 -> 02-12 matched by 02-20 (each deal matches once);
    # suppressed until 03-22 -> 03-26 unmatched (closes 06-24, suppressed to 07-24).
    created = [w["date"] for w in result["weekly"] if w["eqls"]]
    assert created == ["2025-01-01", "2025-02-12", "2025-03-26"]
    assert (result["eqls"], result["matched_eqls"], result["matched_expansions"]) == (3, 2, 2)


def test_watch_only_items_are_csm_reviews_not_eqls():
    def surge(day: dt.date) -> dict:
        return {**QUIET, "export_rows_30d": 100.0 if day < START - dt.timedelta(days=10) else 1_000.0}

    result = bt.backtest(
        accounts_frame(account(1)),
        usage(1, surge),
        default_config(),
        start=START,
        end=END,
        expansions=expansions_frame((1, "2025-01-20", "won")),
    )
    assert result["eqls"] == 0
    assert result["csm_reviews"] >= 1
    assert result["precision"] is None
    assert result["recall"] == 0.0  # the deal was there to catch, no EQL preceded it


# --------------------------------------------------------------------------------------------------
# Tightening a threshold
# --------------------------------------------------------------------------------------------------


def test_tightening_the_seat_threshold_lowers_volume_and_raises_precision():
    # 10 accounts at 97% seats (8 expand), 10 at 92% (2 expand); all run 25 workflows.
    rows, frames, deals = [], [], []
    for pk in range(1, 21):
        seats = 97.0 if pk <= 10 else 92.0
        rows.append(account(pk))
        frames.append(usage(pk, always({**HOT, "seats_active": seats})))
        if pk <= 8 or pk in (11, 12):
            deals.append((pk, "2025-01-25", "won"))
    accounts, snapshots = accounts_frame(*rows), pd.concat(frames, ignore_index=True)
    options = {"start": START, "end": d("2025-02-03"), "expansions": expansions_frame(*deals)}
    saved = bt.backtest(accounts, snapshots, default_config(), **options)
    tight = bt.backtest(
        accounts,
        snapshots,
        bt.apply_overrides(default_config(), {"seat_utilisation.threshold": 0.95}),
        **options,
    )
    assert (saved["eqls"], saved["precision"]) == (20, 0.5)
    assert (tight["eqls"], tight["precision"]) == (10, 0.8)
    assert tight["recall"] < saved["recall"]


# --------------------------------------------------------------------------------------------------
# Snapshot sources, steps, overrides
# --------------------------------------------------------------------------------------------------


def test_a_loader_and_a_frame_give_the_same_result(scenario):
    accounts, snapshots, expansions = scenario
    stamps = pd.to_datetime(snapshots["date"])

    def loader(as_of: dt.date) -> pd.DataFrame:
        return snapshots[(stamps <= pd.Timestamp(as_of)).to_numpy()]

    calls = []
    options = {"start": START, "end": END, "expansions": expansions, "match_window_days": 30}
    from_loader = bt.replay(
        accounts,
        loader,
        {"a": default_config()},
        progress=lambda done, total: calls.append((done, total)),
        **options,
    )["a"]
    assert from_loader == run(scenario)
    assert (calls[0], calls[-1]) == ((1, 13), (13, 13))


def test_each_step_evaluates_like_the_engine(scenario):
    accounts, snapshots, _ = scenario
    source = bt._FrameSource(snapshots, [default_config()])
    as_of = d("2025-02-10")
    sliced = evaluate(accounts, source(as_of), default_config(), as_of).accounts_result
    whole = evaluate(accounts, snapshots, default_config(), as_of).accounts_result
    assert sliced["qualifies"].equals(whole["qualifies"])
    assert sliced["score"].equals(whole["score"])


def test_step_dates():
    assert bt.step_dates(d("2025-01-01"), d("2025-01-15"), 7) == [
        d("2025-01-01"),
        d("2025-01-08"),
        d("2025-01-15"),
    ]
    assert bt.step_dates(d("2025-01-01"), d("2025-01-01"), 7) == [d("2025-01-01")]
    with pytest.raises(ValueError, match="before the start"):
        bt.step_dates(d("2025-02-01"), d("2025-01-01"), 7)
    with pytest.raises(ValueError, match="at least 1"):
        bt.step_dates(d("2025-01-01"), d("2025-02-01"), 0)
    with pytest.raises(ValueError, match="too many"):
        bt.step_dates(d("2000-01-01"), d("2025-01-01"), 1)


def test_overrides_edit_a_copy_of_the_config():
    config = default_config()
    edited = bt.apply_overrides(
        config,
        {
            "seat_utilisation.threshold": "0.95",
            "seat_utilisation.points": "45",
            "policy.score_threshold": 70,
            "suppression_days": "14",
            "export_volume.active": "false",
        },
    )
    seats = next(s for s in edited.signals if s.key == "seat_utilisation")
    assert (seats.threshold, seats.points) == (0.95, 45)
    assert (edited.policy.score_threshold, edited.policy.suppression_days) == (70, 14)
    assert "export_volume" not in {s.key for s in edited.signals}
    assert next(s for s in config.signals if s.key == "seat_utilisation").threshold == 0.90  # untouched
    spare = dataclasses.replace(seats, key="spare", name="Spare")
    added = bt.apply_overrides(
        config, {"spare.active": "true", "spare.threshold": 0.5}, inactive={"spare": spare}
    )
    assert [s.key for s in added.signals][-1] == "spare"
    assert added.signals[-1].threshold == 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nope.threshold": 1}, "no signal with key 'nope'"),
        ({"seat_utilisation.colour": 1}, "unknown signal field"),
        ({"seat_utilisation.threshold": "high"}, "seat_utilisation.threshold"),
        ({"seat_utilisation.points": 2.5}, "not a whole number"),
        ({"seat_utilisation.operator": "~"}, "not one of"),
        ({"policy.score_threshold": 101}, "outside 0..100"),
        ({"policy.colour": 1}, "unknown policy field"),
        ({"seat_utilisation.persistence_days": 0}, "below the minimum"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides, message):
    with pytest.raises(bt.OverrideError, match=message):
        bt.apply_overrides(default_config(), overrides)


def test_parse_override():
    assert bt.parse_override(" seat_utilisation.threshold = 0.95 ") == ("seat_utilisation.threshold", "0.95")
    with pytest.raises(bt.OverrideError, match=r"signal_key\.field=value"):
        bt.parse_override("seat_utilisation.threshold")


def test_replace_signal_swaps_adds_and_removes():
    config = default_config()
    seats = next(s for s in config.signals if s.key == "seat_utilisation")
    tighter = dataclasses.replace(seats, threshold=0.95)
    swapped = bt.replace_signal(config, "seat_utilisation", tighter)
    assert [s.key for s in swapped.signals] == [s.key for s in config.signals]
    assert swapped.signals[0].threshold == 0.95
    renamed = bt.replace_signal(config, "seat_utilisation", dataclasses.replace(seats, key="seats_v2"))
    assert renamed.signals[0].key == "seats_v2"
    assert "seat_utilisation" not in {s.key for s in renamed.signals}
    assert [s.key for s in bt.replace_signal(config, None, dataclasses.replace(seats, key="x")).signals][
        -1
    ] == "x"
    assert "seat_utilisation" not in {
        s.key for s in bt.replace_signal(config, "seat_utilisation", None).signals
    }


# --------------------------------------------------------------------------------------------------
# Against the database: services, loader, command, demo data
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo export (200 accounts, seed 4), imported once for this module's database tests and
    removed afterwards (it is committed outside the per-test transactions)."""
    from django.test import override_settings

    from dashboards.models import BacktestRun
    from expansion.models import Account, Metric, User

    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing:
        out = tmp_path_factory.mktemp("demo")
        call_command(
            "seed_demo",
            "--accounts",
            "200",
            "--seed",
            "4",
            "--quiet",
            "--history-weeks",
            "0",
            "--out",
            str(out),
        )
    yield
    with django_db_blocker.unblock():
        BacktestRun.objects.all().delete()
        Account.objects.all().delete()  # snapshots, activities, expansions go with them
        User.objects.filter(email__endswith="@demo.example").delete()
        Metric.objects.all().delete()


def _demo_period():
    from scoring.backtest_services import snapshot_last_date

    end = snapshot_last_date()
    return end - dt.timedelta(days=364), end


@pytest.mark.django_db
def test_demo_data_tightening_lowers_eqls_and_keeps_precision(demo_db):
    from scoring import backtest_services as services

    start, end = _demo_period()
    saved = services.config_with_overrides()
    # A tighter API threshold drops the EQLs of accounts only brushing their plan limit.
    tight = services.config_with_overrides({"api_rate_approach.threshold": 0.95}, base=saved)
    results = services.backtest_compare(start=start, end=end, configs={"saved": saved, "tight": tight})
    before, after = results["saved"], results["tight"]
    assert before["eqls"] > 0
    assert after["eqls"] < before["eqls"]
    assert after["precision"] >= before["precision"]


@pytest.mark.django_db
def test_the_loader_shortcut_gives_the_production_windows_result(demo_db):
    from scoring import backtest_services as services
    from scoring import selectors

    config = selectors.scoring_config_load()
    accounts = selectors.accounts_frame()
    fast = services.SnapshotLoader([config], accounts=accounts.index)
    full = services.SnapshotLoader([config], accounts=accounts.index, exact_days=False)
    _, end = _demo_period()
    columns = ["qualifies", "blocked", "stale", "watch_only", "score", "primary_signal", "self_serve"]
    for back in (0, 3, 20, 45, 99, 140):
        as_of = end - dt.timedelta(days=back)
        mine = evaluate(accounts, fast(as_of), config, as_of).accounts_result[columns]
        production = evaluate(
            accounts, selectors.snapshot_window(config, as_of), config, as_of
        ).accounts_result
        assert mine.equals(production[columns]), as_of
        assert mine.equals(evaluate(accounts, full(as_of), config, as_of).accounts_result[columns]), as_of
    assert fast.rows_read < full.rows_read


@pytest.mark.django_db
def test_backtest_json_prints_the_contract_keys(demo_db):
    start, end = _demo_period()
    out = StringIO()
    call_command("backtest", "--start", start.isoformat(), "--end", end.isoformat(), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert list(data)[:5] == ["eqls", "matched_expansions", "precision", "recall", "by_signal"]
    assert data["eqls"] > 0
    assert set(data["by_signal"]["seat_utilisation"]) == {"name", "eqls", "matched", "precision"}
    assert data["step_days"] == 7


@pytest.mark.django_db
def test_backtest_set_tries_an_edit_without_saving_it(demo_db):
    from scoring.models import SignalDefinition

    start, end = _demo_period()
    args = ["backtest", "--start", start.isoformat(), "--end", end.isoformat(), "--json"]
    base, edited = StringIO(), StringIO()
    call_command(*args, stdout=base)
    call_command(*args, "--set", "seat_utilisation.threshold=0.99", stdout=edited)
    assert json.loads(edited.getvalue())["eqls"] < json.loads(base.getvalue())["eqls"]
    assert SignalDefinition.objects.get(key="seat_utilisation").threshold == 0.9


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "nope.threshold=1"], "no signal with key 'nope'"),
        (["--set", "seat_utilisation.threshold"], r"signal_key\.field=value"),
        (["--step-days", "0"], "at least 1"),
    ],
)
def test_backtest_command_rejects_bad_input(extra, message):
    with pytest.raises(CommandError, match=message):
        call_command("backtest", "--start", "2025-01-01", "--end", "2025-02-01", *extra)


@pytest.mark.django_db
def test_backtest_text_output_and_save(demo_db):
    from dashboards.models import BacktestRun

    start, end = _demo_period()
    out = StringIO()
    call_command(
        "backtest", "--start", start.isoformat(), "--end", end.isoformat(), "--save", "nightly", stdout=out
    )
    assert ("precision" in out.getvalue(), "recall" in out.getvalue()) == (True, True)
    run = BacktestRun.objects.get(label="nightly")
    assert (run.status, run.progress) == (BacktestRun.Status.DONE, 100)
    assert run.result["eqls"] > 0


@pytest.mark.django_db
def test_run_execute_stores_progress_and_result_once(demo_db, django_assert_max_num_queries):
    from dashboards import backtest_runs
    from dashboards.models import BacktestRun
    from scoring import backtest_services as services

    start, end = _demo_period()
    params = services.run_params(start=start, end=end, overrides={"seat_utilisation.threshold": 0.95})
    run = backtest_runs.backtest_run_create(params=params, label="tight seats")
    assert run.status == BacktestRun.Status.QUEUED
    backtest_runs.backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress, run.error) == (BacktestRun.Status.DONE, 100, "")
    assert run.result["config"]["signals"]["seat_utilisation"]["threshold"] == 0.95
    finished = run.finished_at
    with django_assert_max_num_queries(1):
        backtest_runs.backtest_run_execute(run_id=run.pk)  # done: left alone
    run.refresh_from_db()
    assert run.finished_at == finished


@pytest.mark.django_db
def test_a_run_with_a_stale_override_fails_with_a_message():
    from dashboards import backtest_runs
    from dashboards.models import BacktestRun

    run = BacktestRun.objects.create(
        params={
            "start": "2025-01-01",
            "end": "2025-02-01",
            "step_days": 7,
            "overrides": {"gone.threshold": 1},
        }
    )
    backtest_runs.backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == BacktestRun.Status.FAILED
    assert "no signal with key 'gone'" in run.error


def test_merge_joins_overlapping_and_adjacent_ranges():
    from scoring.backtest_services import _merge

    spans = [
        (d("2025-01-05"), d("2025-01-09")),
        (d("2025-01-01"), d("2025-01-04")),
        (d("2025-01-20"), d("2025-01-21")),
    ]
    assert _merge(spans) == [(d("2025-01-01"), d("2025-01-09")), (d("2025-01-20"), d("2025-01-21"))]


def test_results_are_plain_json_types(scenario):
    result = run(scenario)

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (int, float, str, bool), (value, type(value))
            assert not isinstance(value, np.generic)

    walk(result)
