"""A trigger's extra conditions, scope, cooldown and timing in the pure engine (scoring.engine,
scoring.triggers), and the compiled query agreeing with the engine once conditions are applied."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import triggers
from scoring.config import (
    CONDITION_EVENT_COUNT,
    CONDITION_FAMILY_COUNT,
    CONDITION_FIELD,
    CONDITION_METRIC,
    CONDITION_TREND,
    TREND_RISING,
    ConditionSpec,
    PolicySpec,
    ScoringConfig,
    SignalSpec,
    cooldown_column,
    event_column,
    signal_from_dict,
    signal_to_dict,
)
from scoring.engine import apply_conditions, evaluate, evaluate_readings, readings_from_snapshots
from scoring.pushdown import compile_signals, duckdb_table, readings_from_table
from tests.scoring.test_pushdown import SETTINGS, worlds

AS_OF = dt.date(2026, 3, 31)


def accounts_frame(**columns) -> pd.DataFrame:
    n = max((len(v) for v in columns.values() if isinstance(v, list)), default=1)
    base = {
        "account_id": [f"A{i}" for i in range(n)],
        "segment": ["SMB"] * n,
        "plan_tier": ["Starter"] * n,
        "status": ["active"] * n,
        "contract_arr": [30_000.0] * n,
        "customer_since": pd.to_datetime([AS_OF - dt.timedelta(days=400)] * n),
        "health_score": [80.0] * n,
        "seats_licensed": [10] * n,
        "api_limit_30d": [0] * n,
        "owned_modules": [[] for _ in range(n)],
    }
    base.update(columns)
    return pd.DataFrame(base, index=pd.Index(range(1, n + 1), name="account"))


def usage_frame(series: dict[tuple[int, str], list[float]]) -> pd.DataFrame:
    """{(account, metric): values for the days ending AS_OF (last = AS_OF)}."""
    rows = [
        (account, AS_OF - dt.timedelta(days=len(values) - 1 - i), metric, float(v))
        for (account, metric), values in series.items()
        for i, v in enumerate(values)
    ]
    frame = pd.DataFrame(rows, columns=["account", "date", "metric", "value"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def fired(accounts, usage, *signals: SignalSpec, key: str = "t") -> list[bool]:
    config = ScoringConfig(signals=tuple(signals), gates=(), policy=PolicySpec())
    result = evaluate(accounts, usage, config, AS_OF).signals_result
    return result[result["signal"] == key]["fired"].tolist()


def trigger(**fields) -> SignalSpec:
    values = {
        "key": "t",
        "name": "t",
        "metric": "m",
        "threshold": 1.0,
        "points": 10,
        "expansion_type": "seats",
    }
    return SignalSpec(**{**values, **fields})


def test_a_set_condition_reads_the_account_field():
    accounts = accounts_frame(plan_tier=["Starter", "Business", "Professional", None])
    usage = usage_frame({(a, "m"): [5] for a in range(1, 5)})
    spec = trigger(
        conditions=(
            ConditionSpec(
                kind=CONDITION_FIELD, subject="plan_tier", operator="in", value="Starter;Professional"
            ),
        )
    )
    assert fired(accounts, usage, spec) == [True, False, True, False]
    outside = dataclasses.replace(
        spec, conditions=(dataclasses.replace(spec.conditions[0], operator="not_in"),)
    )
    assert fired(accounts, usage, outside) == [False, True, False, False]


def test_a_numeric_field_condition_compares_numbers():
    accounts = accounts_frame(contract_arr=[25_000.0, 25_000.01, np.nan])
    usage = usage_frame({(a, "m"): [5] for a in range(1, 4)})
    spec = trigger(
        conditions=(
            ConditionSpec(kind=CONDITION_FIELD, subject="contract_arr", operator="gt", value="25000"),
        )
    )
    assert fired(accounts, usage, spec) == [False, True, False]


def test_a_family_count_counts_the_metrics_in_use_on_the_anchor_day():
    accounts = accounts_frame(segment=["SMB", "SMB"])
    usage = usage_frame(
        {
            (1, "m"): [5],
            (1, "feature:a"): [1],
            (1, "feature:b"): [2],
            (1, "feature:c"): [3],
            (2, "m"): [5],
            (2, "feature:a"): [1],
            (2, "feature:b"): [0],
            (2, "feature:c"): [4],
        }
    )
    spec = trigger(
        conditions=(
            ConditionSpec(kind=CONDITION_FAMILY_COUNT, metric="feature:*", operator="gte", threshold=3),
        )
    )
    assert fired(accounts, usage, spec) == [True, False]


def test_a_trend_condition_is_a_change_over_its_window_held_for_its_days():
    accounts = accounts_frame(segment=["SMB", "SMB", "SMB"])
    usage = usage_frame(
        {
            (1, "m"): [5] * 10,
            (1, "tickets"): [9, 9, 9, 9, 9, 9, 9, 8, 6, 4],  # declining 3 days running vs 7 days before
            (2, "m"): [5] * 10,
            (2, "tickets"): [5] * 10,  # flat
            (3, "m"): [5] * 10,
            (3, "tickets"): [9, 9, 9, 9, 9, 9, 9, 9, 9, 4],  # declining on the last day only
        }
    )
    declining = ConditionSpec(kind=CONDITION_TREND, metric="tickets", window_days=7, persistence_days=3)
    assert fired(accounts, usage, trigger(conditions=(declining,))) == [True, False, False]
    rising = dataclasses.replace(declining, direction=TREND_RISING, persistence_days=1)
    assert fired(accounts, usage, trigger(conditions=(rising,))) == [False, False, False]


def test_a_metric_condition_holds_for_its_persistence_days():
    accounts = accounts_frame(segment=["SMB", "SMB"])
    usage = usage_frame(
        {(1, "m"): [5] * 5, (1, "power"): [3, 3, 3, 3, 3], (2, "m"): [5] * 5, (2, "power"): [1, 3, 3, 3, 3]}
    )
    spec = trigger(
        conditions=(
            ConditionSpec(
                kind=CONDITION_METRIC, metric="power", operator="gte", threshold=3, persistence_days=5
            ),
        )
    )
    assert fired(accounts, usage, spec) == [True, False]


def test_an_event_count_reads_its_column_and_no_column_means_no_events():
    usage = usage_frame({(1, "m"): [5], (2, "m"): [5]})
    spec = trigger(
        metric="",
        conditions=(
            ConditionSpec(
                kind=CONDITION_EVENT_COUNT,
                subject="invite_blocked",
                operator="gte",
                threshold=1,
                window_days=1,
            ),
        ),
    )
    with_events = accounts_frame(segment=["SMB", "SMB"], **{event_column("invite_blocked", 1): [2.0, 0.0]})
    assert fired(with_events, usage, spec) == [True, False]
    assert fired(accounts_frame(segment=["SMB", "SMB"]), usage, spec) == [False, False]


def test_a_trigger_without_a_metric_needs_current_data_and_at_least_one_condition():
    accounts = accounts_frame(segment=["SMB", "SMB"], plan_tier=["Business", "Business"])
    usage = usage_frame({(1, "m"): [5], (2, "m"): [5, 5, 5, 5, 5, 5]})
    usage.loc[usage["account"] == 2, "date"] -= pd.Timedelta(days=10)  # account 2 is stale
    business = ConditionSpec(kind=CONDITION_FIELD, subject="plan_tier", operator="eq", value="Business")
    assert fired(accounts, usage, trigger(metric="", conditions=(business,))) == [True, False]
    assert fired(accounts, usage, trigger(metric="")) == [False, False]


def test_scope_limits_a_trigger_to_its_segments_and_tiers():
    accounts = accounts_frame(
        segment=["SMB", "MidMarket", "MidMarket"], plan_tier=["Starter", "Starter", "Business"]
    )
    usage = usage_frame({(a, "m"): [5] for a in range(1, 4)})
    assert fired(accounts, usage, trigger(segments=("MidMarket",))) == [False, True, True]
    assert fired(accounts, usage, trigger(segments=("MidMarket",), tiers=("Starter",))) == [
        False,
        True,
        False,
    ]


def test_a_cooling_trigger_does_not_count_and_reports_it():
    accounts = accounts_frame(segment=["SMB", "SMB"], **{cooldown_column("t"): [True, False]})
    usage = usage_frame({(1, "m"): [5], (2, "m"): [5]})
    spec = trigger(cooldown_days=30)
    config = ScoringConfig(signals=(spec,), gates=(), policy=PolicySpec())
    readings = readings_from_snapshots(accounts, usage, config, AS_OF)
    narrowed, state = apply_conditions(accounts, readings, config, AS_OF)
    assert narrowed.signals["t"].fired.tolist() == [False, True]
    assert state.cooling["t"].tolist() == [True, False]
    assert state.firing["t"].tolist() == [True, True]


def test_a_timing_hold_keeps_a_firing_trigger_waiting():
    accounts = accounts_frame(segment=["SMB", "SMB"])
    usage = usage_frame({(1, "m"): [5], (2, "m"): [5]})
    spec = trigger(delay_hours=48)
    config = ScoringConfig(signals=(spec,), gates=(), policy=PolicySpec())
    readings = readings_from_snapshots(accounts, usage, config, AS_OF)
    seen = pd.Series(pd.to_datetime(["2026-03-29T09:00Z", "2026-03-30T09:00Z"]), index=accounts.index)
    at = dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC)

    def hold(s, firing):
        return triggers.timing_holds(s, firing, seen, None, at=at, default_tz="UTC")

    narrowed, state = apply_conditions(accounts, readings, config, AS_OF, hold=hold)
    assert narrowed.signals["t"].fired.tolist() == [True, False]
    assert state.held["t"].tolist() == [False, True]
    evaluation = evaluate_readings(accounts, narrowed, config, AS_OF, conditioned=True)
    assert evaluation.accounts_result["score"].tolist() == [10, 0]


@pytest.mark.parametrize(
    ("first_seen", "zone", "due"),
    [
        # Tuesday 11:00 New York -> Wednesday 10:00 New York (14:00 UTC, EDT)
        ("2026-03-31T15:00Z", "America/New_York", "2026-04-01T14:00Z"),
        # Friday 23:30 Berlin -> Monday 10:00 Berlin (08:00 UTC, CEST)
        ("2026-04-03T21:30Z", "Europe/Berlin", "2026-04-06T08:00Z"),
        # an unknown zone falls back to the site zone (UTC here)
        ("2026-03-31T15:00Z", "Mars/Olympus", "2026-04-01T10:00Z"),
    ],
)
def test_the_delivery_hour_is_the_next_business_day_in_the_accounts_zone(first_seen, zone, due):
    start = pd.Timestamp(first_seen).to_pydatetime()
    got = triggers.due_at(first_seen=start, delay_hours=0, deliver_hour=10, tz_name=zone, default_tz="UTC")
    assert got == pd.Timestamp(due).to_pydatetime()


def test_a_delay_and_a_delivery_hour_together_take_the_later():
    start = dt.datetime(2026, 3, 31, 15, tzinfo=dt.UTC)
    got = triggers.due_at(first_seen=start, delay_hours=72, deliver_hour=10, tz_name="UTC", default_tz="UTC")
    assert got == dt.datetime(2026, 4, 3, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("condition", "field", "fragment"),
    [
        (ConditionSpec(kind=CONDITION_METRIC), "metric", "name the metric"),
        (ConditionSpec(kind=CONDITION_FIELD, subject="renewal"), "subject", "use an account field"),
        (
            ConditionSpec(kind=CONDITION_FIELD, subject="plan_tier", operator="in"),
            "value",
            "separated by ';'",
        ),
        (ConditionSpec(kind=CONDITION_METRIC, metric="m", operator="in"), "operator", "account-field"),
        (
            ConditionSpec(kind=CONDITION_EVENT_COUNT, subject="Invite Blocked", window_days=1),
            "subject",
            "lower-case",
        ),
        (
            ConditionSpec(kind=CONDITION_EVENT_COUNT, subject="x", window_days=0),
            "window_days",
            "at least the last 1 day",
        ),
        (
            ConditionSpec(kind=CONDITION_TREND, metric="m", window_days=0),
            "window_days",
            "at least 1 day back",
        ),
        (ConditionSpec(kind=CONDITION_FAMILY_COUNT, metric="features"), "metric", "end the metric with ':*'"),
    ],
)
def test_a_condition_says_what_to_fix(condition, field, fragment):
    assert fragment in triggers.condition_problems(condition)[field]


def test_the_summary_reads_the_trigger_in_plain_words():
    spec = trigger(
        metric="seats_active",
        denominator_field="seats_licensed",
        operator="gt",
        threshold=0.85,
        persistence_days=7,
        conditions=(
            ConditionSpec(
                kind=CONDITION_FIELD, subject="plan_tier", operator="in", value="Starter;Professional"
            ),
        ),
        deliver_hour=10,
        cooldown_days=30,
    )
    assert triggers.summary(spec) == (
        "fires when seats active / seats licensed > 85% for 7 days in a row and tier is Starter or "
        "Professional; delivered the next business day at 10:00 in the account's time zone; cooldown 30 days"
    )


def test_a_trigger_crosses_the_task_wire_intact():
    spec = trigger(
        conditions=(
            ConditionSpec(kind=CONDITION_FIELD, subject="plan_tier", operator="in", value="Starter"),
        ),
        segments=("SMB",),
        tiers=("Starter",),
        deliver_hour=9,
    )
    import json

    assert signal_from_dict(json.loads(json.dumps(signal_to_dict(spec)))) == spec


# --------------------------------------------------------------------------------------------------
# The compiled query and the engine agree once a trigger's conditions are applied
# --------------------------------------------------------------------------------------------------


@st.composite
def conditioned_worlds(draw):
    accounts, usage, config = draw(worlds())
    signals = []
    for spec in config.signals:
        conditions = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from([CONDITION_METRIC, CONDITION_TREND, CONDITION_FIELD]))
            if kind == CONDITION_FIELD:
                conditions.append(
                    ConditionSpec(
                        kind=kind,
                        subject="seats_licensed",
                        operator=draw(st.sampled_from(["gte", "lt"])),
                        value="5",
                    )
                )
            else:
                conditions.append(
                    ConditionSpec(
                        kind=kind,
                        metric=draw(st.sampled_from(["m1", "m2"])),
                        operator=draw(st.sampled_from(["gte", "lt"])),
                        threshold=draw(st.sampled_from([0.0, 2.0, 5.0])),
                        window_days=draw(st.integers(1, 4)),
                        persistence_days=draw(st.integers(1, 3)),
                        direction=draw(st.sampled_from(["declining", "rising"])),
                    )
                )
        signals.append(dataclasses.replace(spec, conditions=tuple(conditions)))
    return accounts, usage, dataclasses.replace(config, signals=tuple(signals))


@SETTINGS
@given(conditioned_worlds())
def test_compiled_sql_with_conditions_matches_the_engine(world):
    accounts, usage, config = world
    compiled = compile_signals(config, AS_OF)
    assert compiled.refused == {}
    wide = duckdb_table(compiled, accounts=accounts, usage=usage)
    sql_readings = readings_from_table(wide, accounts.index, compiled, AS_OF, config.policy.max_data_age_days)
    sql = evaluate_readings(accounts, sql_readings, config, AS_OF).signals_result
    engine = evaluate(accounts, usage, config, AS_OF).signals_result
    assert sql["fired"].tolist() == engine["fired"].tolist()
    assert sql["signal"].tolist() == engine["signal"].tolist()
