"""Table-driven tests of the pure scoring engine on hand-built frames (no database, no settings)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from scoring.config import (
    COMPARE_VALUE,
    EXPANSION_MODULE,
    EXPANSION_SEATS,
    EXPANSION_TIER,
    GATE_BLOCK,
    PRIORITY_HIGH,
    PRIORITY_MEDIUM,
    PRIORITY_WATCH,
    GateSpec,
    PolicySpec,
    ScoringConfig,
    SignalSpec,
)
from scoring.defaults import default_config
from scoring.engine import evaluate, triggered_signals, triggered_signals_by_account
from scoring.opening_angle import (
    ALLOWED_PLACEHOLDERS,
    MAX_OPENING_ANGLE_LENGTH,
    MISSING_PLACEHOLDER_TEXT,
    opening_angle_context,
    oversized_formats,
    placeholder_names,
    render_opening_angle,
)
from scoring.uplift import calibrate_uplifts, default_uplifts

AS_OF = dt.date(2026, 3, 31)

#: Usage that fires nothing: 50% seats, 10% API, few workflows, flat departments and exports.
QUIET = {
    "seats_active": 50.0,
    "api_calls_30d": 10_000.0,
    "automation_workflows": 2.0,
    "departments_active": 3.0,
    "export_rows_30d": 100.0,
}
#: Seat utilisation 95% (40 points) and 25 workflows (20 points): score 60, qualifies by default.
HOT = {**QUIET, "seats_active": 95.0, "automation_workflows": 25.0}


def day(back: int) -> dt.date:
    return AS_OF - dt.timedelta(days=back)


def account(pk: int = 1, **overrides) -> dict:
    row = {
        "account": pk,
        "account_id": f"A{pk}",
        "segment": "MidMarket",
        "plan_tier": "Business",
        "status": "active",
        "contract_arr": 100_000.0,
        "customer_since": day(400),
        "health_score": 80.0,
        "seats_licensed": 100,
        "api_limit_30d": 100_000,
        "owned_modules": [],
    }
    row.update(overrides)
    return row


def accounts_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).set_index("account")


def series(pk: int, metric: str, values: list, end: dt.date = AS_OF) -> list[dict]:
    """One row per day, oldest first, the last on ``end``; None leaves that day out."""
    n = len(values)
    return [
        {"account": pk, "date": end - dt.timedelta(days=n - 1 - i), "metric": metric, "value": float(v)}
        for i, v in enumerate(values)
        if v is not None
    ]


def without(metrics: dict, name: str) -> dict:
    return {k: v for k, v in metrics.items() if k != name}


def usage(pk: int, metrics: dict, days: int = 10, end: dt.date = AS_OF) -> list[dict]:
    """The same value of every metric on each of ``days`` days ending at ``end``."""
    return [row for m, v in metrics.items() for row in series(pk, m, [v] * days, end)]


def snapshots_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account", "date", "metric", "value"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def run(rows, snaps, config: ScoringConfig | None = None, uplifts=None, as_of: dt.date = AS_OF):
    accounts = rows if isinstance(rows, pd.DataFrame) else accounts_frame(*rows)
    return evaluate(accounts, snapshots_frame(snaps), config or default_config(), as_of, uplifts)


def one(evaluation, pk: int = 1) -> pd.Series:
    return evaluation.accounts_result.loc[pk]


def signal_row(evaluation, key: str, pk: int = 1) -> pd.Series:
    frame = evaluation.signals_result
    return frame[(frame["account"] == pk) & (frame["signal"] == key)].iloc[0]


def with_signals(*signals: SignalSpec, gates=(), policy: PolicySpec | None = None) -> ScoringConfig:
    return ScoringConfig(signals=tuple(signals), gates=tuple(gates), policy=policy or PolicySpec())


def simple_signal(key: str, metric: str, points: int, **extra) -> SignalSpec:
    defaults = {
        "name": key,
        "threshold": 1,
        "operator": "gte",
        "compare": COMPARE_VALUE,
        "priority": PRIORITY_MEDIUM,
        "expansion_type": EXPANSION_SEATS,
    }
    return SignalSpec(key=key, metric=metric, points=points, **{**defaults, **extra})


# ------------------------------------------------------------------------------------------------
# Default configuration
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        (
            "seat_utilisation",
            {
                "metric": "seats_active",
                "denominator_field": "seats_licensed",
                "operator": "gte",
                "threshold": 0.90,
                "persistence_days": 7,
                "points": 40,
                "priority": "high",
                "expansion_type": "seats",
                "default_uplift": 0.20,
            },
        ),
        (
            "api_rate_approach",
            {
                "metric": "api_calls_30d",
                "denominator_field": "api_limit_30d",
                "threshold": 0.85,
                "persistence_days": 1,
                "points": 35,
                "priority": "high",
                "expansion_type": "tier",
                "default_uplift": 0.35,
            },
        ),
        (
            "feature_adjacency",
            {
                "metric": "gated_feature_views_14d:*",
                "threshold": 3,
                "points": 25,
                "priority": "medium",
                "expansion_type": "module",
                "default_uplift": 0.25,
            },
        ),
        (
            "automation_depth",
            {
                "metric": "automation_workflows",
                "threshold": 20,
                "points": 20,
                "priority": "medium",
                "expansion_type": "tier",
                "default_uplift": 0.35,
            },
        ),
        (
            "team_spread",
            {
                "metric": "departments_active",
                "operator": "gt",
                "threshold": 0,
                "compare": "change",
                "window_days": 30,
                "points": 20,
                "priority": "medium",
                "expansion_type": "seats",
                "default_uplift": 0.20,
            },
        ),
        (
            "export_volume",
            {
                "metric": "export_rows_30d",
                "operator": "gte",
                "threshold": 3,
                "compare": "ratio",
                "window_days": 90,
                "points": 0,
                "priority": "watch",
                "expansion_type": "",
            },
        ),
    ],
)
def test_default_signals_match_the_domain_table(key, fields):
    spec = {s.key: s for s in default_config().signals}[key]

    assert {name: getattr(spec, name) for name in fields} == fields
    assert spec.hypothesis
    assert spec.opening_angle
    assert len(spec.discovery_questions) >= 2
    assert placeholder_names(spec.opening_angle) <= ALLOWED_PLACEHOLDERS


def test_default_config_has_six_signals_four_gates_and_default_policy():
    config = default_config()

    assert [s.key for s in config.signals] == [
        "seat_utilisation",
        "api_rate_approach",
        "feature_adjacency",
        "automation_depth",
        "team_spread",
        "export_volume",
    ]
    assert [(g.name, g.subject, g.operator, g.value, g.action, g.skip_if_missing) for g in config.gates] == [
        ("status_active", "status", "eq", "active", "block", False),
        ("min_tenure", "tenure_days", "gte", "120", "block", False),
        ("min_health", "health_score", "gte", "60", "block", True),
        ("min_contract_arr", "contract_arr", "gte", "20000", "self_serve", False),
    ]
    assert config.policy == PolicySpec()
    assert config.lookback_days == 91


# ------------------------------------------------------------------------------------------------
# Gates
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "blocked_by", "self_serve", "qualifies", "reason"),
    [
        ({}, "", False, True, ""),
        ({"status": "churned"}, "status_active", False, False, "blocked:status_active"),
        ({"customer_since": day(119)}, "min_tenure", False, False, "blocked:min_tenure"),
        ({"customer_since": day(120)}, "", False, True, ""),
        ({"health_score": 59.0}, "min_health", False, False, "blocked:min_health"),
        ({"health_score": 60.0}, "", False, True, ""),
        ({"health_score": np.nan}, "", False, True, ""),
        ({"contract_arr": 19_999.0}, "", True, True, ""),
        ({"contract_arr": 20_000.0}, "", False, True, ""),
        (
            {"status": "churned", "customer_since": day(10)},
            "status_active",
            False,
            False,
            "blocked:status_active",
        ),
        ({"customer_since": day(10), "health_score": 10.0}, "min_tenure", False, False, "blocked:min_tenure"),
    ],
)
def test_default_gates_and_their_actions(overrides, blocked_by, self_serve, qualifies, reason):
    result = one(run([account(**overrides)], usage(1, HOT)))

    assert (result.blocked, result.blocked_by, result.self_serve) == (
        bool(blocked_by),
        blocked_by,
        self_serve,
    )
    assert (result.qualifies, result.reason) == (qualifies, reason)
    assert result.score == 60  # gates never change the score


def test_self_serve_gate_records_its_name():
    result = one(run([account(contract_arr=5_000.0)], usage(1, HOT)))

    assert (result.self_serve, result.self_serve_by, result.blocked) == (True, "min_contract_arr", False)


@pytest.mark.parametrize(
    ("segment", "health", "blocked"),
    [
        ("Enterprise", 70.0, True),
        ("Enterprise", 85.0, False),
        ("MidMarket", 70.0, False),
        ("SMB", 10.0, False),
    ],
)
def test_segment_scoped_gate_applies_only_to_its_segments(segment, health, blocked):
    gate = GateSpec(
        name="enterprise_health", subject="health_score", operator="gte", value="80", segments=("Enterprise",)
    )
    config = dataclasses.replace(default_config(), gates=(gate,))

    result = one(run([account(segment=segment, health_score=health)], usage(1, HOT), config))

    assert (result.blocked, result.blocked_by) == (blocked, "enterprise_health" if blocked else "")


@pytest.mark.parametrize(
    ("features", "skip_if_missing", "blocked"),
    [
        ([1, 5, 2], False, True),  # the latest value (2) decides, not the best
        ([5, 1, 3], False, False),
        (None, False, True),
        (None, True, False),
    ],
)
def test_gate_on_a_metric_reads_its_latest_snapshot(features, skip_if_missing, blocked):
    gate = GateSpec(
        name="min_features",
        subject="features_used",
        operator="gte",
        value="3",
        skip_if_missing=skip_if_missing,
    )
    config = dataclasses.replace(default_config(), gates=(gate,))
    snaps = usage(1, HOT) + (series(1, "features_used", features) if features else [])

    assert bool(one(run([account()], snaps, config)).blocked) is blocked


@pytest.mark.parametrize(
    ("subject", "operator", "value", "blocked"),
    [
        ("plan_tier", "ne", "Starter", False),
        ("plan_tier", "eq", "Starter", True),
        ("segment", "eq", "MidMarket", False),
        ("seats_licensed", "gt", "100", True),
        ("seats_licensed", "lte", "100", False),
        ("api_limit_30d", "lt", "100000", True),
    ],
)
def test_gate_operators_compare_numbers_numerically_and_text_as_text(subject, operator, value, blocked):
    gate = GateSpec(name="g", subject=subject, operator=operator, value=value, action=GATE_BLOCK)
    config = dataclasses.replace(default_config(), gates=(gate,))

    assert bool(one(run([account()], usage(1, HOT), config)).blocked) is blocked


# ------------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------------

T, F = 95.0, 80.0  # seats active of 100: above / below the 90% threshold


@pytest.mark.parametrize(
    ("seats", "fired", "value"),
    [
        ([T] * 7, True, 0.95),
        ([F] + [T] * 7, True, 0.95),
        ([T] * 6 + [F], False, 0.80),  # true six days, then false: no fire
        ([T, F, T, F, T, F, T], False, 0.95),  # oscillating seat signal
        ([T, T, T, None, T, T, T], False, 0.95),  # a missing day breaks persistence
        ([T] * 6, False, 0.95),  # history shorter than the persistence window
        ([90.0] * 7, True, 0.90),  # the threshold itself counts (gte)
    ],
)
def test_seat_signal_needs_seven_consecutive_days(seats, fired, value):
    snaps = usage(1, without(QUIET, "seats_active")) + series(1, "seats_active", seats)

    row = signal_row(run([account()], snaps), "seat_utilisation")

    assert (bool(row.fired), row.value) == (fired, pytest.approx(value))


def test_zero_seats_licensed_gives_no_reading():
    row = signal_row(run([account(seats_licensed=0)], usage(1, HOT)), "seat_utilisation")

    assert (bool(row.fired), math.isnan(row.value)) == (False, True)


@pytest.mark.parametrize(
    ("departments", "fired", "value"),
    [
        ({30: 3, 0: 4}, True, 1.0),
        ({30: 3, 0: 3}, False, 0.0),
        ({30: 4, 0: 3}, False, -1.0),
        ({40: 2, 0: 3}, True, 1.0),  # nothing exactly 30 days ago: the latest on or before is used
        ({29: 2, 0: 3}, False, math.nan),  # nothing on or before 30 days ago
    ],
)
def test_change_signal_compares_with_the_value_window_days_ago(departments, fired, value):
    snaps = usage(1, without(QUIET, "departments_active"), days=1)
    snaps += [
        {"account": 1, "date": day(back), "metric": "departments_active", "value": float(v)}
        for back, v in departments.items()
    ]

    row = signal_row(run([account()], snaps), "team_spread")

    assert bool(row.fired) is fired
    assert (math.isnan(row.value) and math.isnan(value)) or row.value == value


@pytest.mark.parametrize(
    ("past", "now", "fired", "value"),
    [
        (100, 300, True, 3.0),
        (100, 299, False, 2.99),
        (0, 300, False, math.nan),  # zero past value: no ratio
        (None, 300, False, math.nan),
    ],
)
def test_ratio_signal_divides_by_the_value_window_days_ago(past, now, fired, value):
    snaps = usage(1, without(QUIET, "export_rows_30d"), days=1)
    snaps += series(1, "export_rows_30d", [now])
    if past is not None:
        snaps += series(1, "export_rows_30d", [past], end=day(90))

    row = signal_row(run([account()], snaps), "export_volume")

    assert bool(row.fired) is fired
    assert (math.isnan(row.value) and math.isnan(value)) or row.value == pytest.approx(value)


def test_ratio_reads_past_values_older_than_the_horizon_passed_in_a_long_history():
    # 200 days of history (more than lookback + max age): old days fold into one column.
    snaps = usage(1, without(QUIET, "export_rows_30d"), days=1)
    snaps += series(1, "export_rows_30d", [100], end=day(150)) + series(1, "export_rows_30d", [300])
    snaps += series(1, "features_used", [1], end=day(199))

    row = signal_row(run([account()], snaps), "export_volume")

    assert (bool(row.fired), row.value) == (True, 3.0)


@pytest.mark.parametrize(
    ("views", "owned", "fired", "target", "value"),
    [
        ({"analytics": 5, "reporting": 4}, [], True, "analytics", 5.0),
        ({"analytics": 5, "reporting": 4}, ["analytics"], True, "reporting", 4.0),
        ({"analytics": 5, "reporting": 4}, ["analytics", "reporting"], False, "", math.nan),
        ({"analytics": 4, "reporting": 4}, [], True, "analytics", 4.0),  # ties by name
        ({"analytics": 2, "reporting": 4}, ["reporting"], False, "", 2.0),
        ({"analytics": 9, "reporting": 3}, "analytics;billing", True, "reporting", 3.0),
    ],
)
def test_module_family_skips_owned_modules(views, owned, fired, target, value):
    snaps = usage(1, QUIET) + [
        row for module, v in views.items() for row in series(1, f"gated_feature_views_14d:{module}", [v])
    ]

    evaluation = run([account(owned_modules=owned)], snaps)
    row = signal_row(evaluation, "feature_adjacency")

    assert (bool(row.fired), row.target, bool(row.counts)) == (fired, target, fired)
    assert (math.isnan(row.value) and math.isnan(value)) or row.value == value


def test_fixed_target_module_signal_on_an_owned_module_fires_but_does_not_count():
    signal = simple_signal(
        "crm_sync", "crm_sync_attempts", 70, expansion_type=EXPANSION_MODULE, target="crm", threshold=5
    )
    snaps = series(1, "crm_sync_attempts", [9]) + series(2, "crm_sync_attempts", [9])

    evaluation = run([account(1, owned_modules=["crm"]), account(2)], snaps, with_signals(signal))

    assert [bool(signal_row(evaluation, "crm_sync", pk).counts) for pk in (1, 2)] == [False, True]
    assert list(evaluation.accounts_result[["score", "reason"]].itertuples(index=False, name=None)) == [
        (70, "owned"),
        (70, ""),
    ]


@pytest.mark.parametrize(
    ("plan_tier", "target", "counts", "reason"),
    [
        ("Business", "Enterprise", True, "score_below_threshold"),
        ("Starter", "Professional", True, "score_below_threshold"),
        ("Enterprise", "", False, "owned"),  # at the top: fires, scores, targets nothing new
    ],
)
def test_tier_signal_targets_the_next_tier_up(plan_tier, target, counts, reason):
    snaps = usage(1, {**QUIET, "automation_workflows": 25.0, "api_calls_30d": 90_000.0})

    evaluation = run([account(plan_tier=plan_tier)], snaps)

    for key in ("api_rate_approach", "automation_depth"):
        row = signal_row(evaluation, key)
        assert (bool(row.fired), row.target, bool(row.counts)) == (True, target, counts)
    assert (one(evaluation).score, one(evaluation).reason) == (55, reason)


@pytest.mark.parametrize(
    ("plan_tier", "counts"), [("Starter", True), ("Business", False), ("Enterprise", False)]
)
def test_tier_signal_with_a_fixed_target_does_not_count_at_or_above_it(plan_tier, counts):
    signal = simple_signal(
        "big_tier", "automation_workflows", 60, expansion_type=EXPANSION_TIER, target="Business"
    )

    row = signal_row(run([account(plan_tier=plan_tier)], usage(1, HOT), with_signals(signal)), "big_tier")

    assert (bool(row.fired), row.target, bool(row.counts)) == (True, "Business", counts)


# ------------------------------------------------------------------------------------------------
# Watch signals, score, qualification
# ------------------------------------------------------------------------------------------------


def exports_tripled(pk: int = 1) -> list[dict]:
    return series(pk, "export_rows_30d", [100], end=day(90)) + series(pk, "export_rows_30d", [400])


@pytest.mark.parametrize(
    ("metrics", "overrides", "score", "qualifies", "watch_only", "reason"),
    [
        (QUIET, {}, 0, False, True, "no_signal"),
        (HOT, {}, 60, True, False, ""),
        (QUIET, {"status": "churned"}, 0, False, False, "blocked:status_active"),
        (QUIET, {"contract_arr": 5_000.0}, 0, False, True, "no_signal"),  # self_serve does not stop it
    ],
)
def test_watch_signal_never_scores_and_marks_watch_only(
    metrics, overrides, score, qualifies, watch_only, reason
):
    snaps = usage(1, without(metrics, "export_rows_30d")) + exports_tripled()

    result = one(run([account(**overrides)], snaps))

    assert result.watch_fired == "export_volume"
    assert (result.score, result.qualifies, result.watch_only, result.reason) == (
        score,
        qualifies,
        watch_only,
        reason,
    )


def test_watch_signal_points_never_count():
    watch = simple_signal("exports", "export_rows_30d", 90, priority=PRIORITY_WATCH, expansion_type="")
    seats = simple_signal("seats", "seats_active", 10, threshold=90)

    result = one(run([account()], usage(1, HOT), with_signals(watch, seats)))

    assert (result.score, result.watch_fired, result.primary_signal) == (10, "exports", "seats")


def test_score_is_capped_at_100():
    signals = [simple_signal(f"s{i}", "seats_active", 40) for i in range(3)]

    result = one(run([account()], usage(1, HOT), with_signals(*signals)))

    assert (result.score, result.qualifies) == (100, True)


@pytest.mark.parametrize(
    ("uplift", "qualifies", "reason", "estimate"),
    [
        (0.20, True, "", 20_000.0),
        (0.15, True, "", 15_000.0),  # exactly at the 15% floor
        (0.14, False, "below_expansion_floor", 14_000.0),
    ],
)
def test_expansion_floor_is_15_percent_of_contract_arr(uplift, qualifies, reason, estimate):
    uplifts = {**default_uplifts(default_config().signals), "seats": (uplift, "calibrated")}

    result = one(run([account()], usage(1, HOT), uplifts=uplifts))

    assert (result.qualifies, result.reason) == (qualifies, reason)
    assert (result.estimate, result.estimate_source, result.primary_signal) == (
        pytest.approx(estimate),
        "calibrated",
        "seat_utilisation",
    )


@pytest.mark.parametrize(
    ("specs", "primary"),
    [
        ([("b", 30, PRIORITY_MEDIUM), ("a", 40, PRIORITY_MEDIUM)], "a"),  # most points
        ([("a", 30, PRIORITY_MEDIUM), ("b", 30, PRIORITY_HIGH)], "b"),  # then higher priority
        ([("b", 30, PRIORITY_HIGH), ("a", 30, PRIORITY_HIGH)], "a"),  # then key
        ([("a", 30, PRIORITY_WATCH), ("b", 30, PRIORITY_MEDIUM)], "b"),  # watch never primary
    ],
)
def test_primary_signal_tie_break(specs, primary):
    signals = [
        simple_signal(
            key,
            "seats_active",
            points,
            priority=priority,
            expansion_type="" if priority == "watch" else "seats",
        )
        for key, points, priority in specs
    ]
    config = with_signals(*signals, policy=PolicySpec(score_threshold=0))

    assert one(run([account()], usage(1, HOT), config)).primary_signal == primary


def test_reason_order_and_primary_fields_of_a_qualifying_account():
    snaps = usage(1, {**HOT, "api_calls_30d": 90_000.0})

    result = one(run([account()], snaps))

    assert (result.score, result.primary_signal, result.expansion_type, result.target) == (
        95,
        "seat_utilisation",
        "seats",
        "",
    )
    assert (result.estimate, result.estimate_source, result.anchor_date) == (
        20_000.0,
        "default",
        pd.Timestamp(AS_OF),
    )


@pytest.mark.parametrize(
    ("last_day_back", "stale", "fired"),
    [
        (0, False, True),
        (3, False, True),  # max_data_age_days = 3: still fresh, signals read at the anchor day
        (4, True, False),
    ],
)
def test_stale_data_fires_nothing(last_day_back, stale, fired):
    result_eval = run([account()], usage(1, HOT, end=day(last_day_back)))
    result = one(result_eval)

    assert (bool(result.stale), bool(signal_row(result_eval, "seat_utilisation").fired)) == (stale, fired)
    assert result.reason == ("stale" if stale else "")
    assert result.anchor_date == pd.Timestamp(day(last_day_back))


def test_account_without_any_snapshot_is_stale_with_no_anchor():
    result = one(run([account(1), account(2)], usage(1, HOT)), pk=2)

    assert (result.stale, result.reason, result.score, pd.isna(result.anchor_date)) == (
        True,
        "stale",
        0,
        True,
    )


def test_blocked_reason_comes_before_stale():
    assert one(run([account(status="churned")], [])).reason == "blocked:status_active"


def test_snapshots_after_as_of_are_ignored():
    future = usage(1, HOT, days=10, end=AS_OF + dt.timedelta(days=10))  # days as_of+1 .. as_of+10
    snaps = usage(1, QUIET, days=10) + future

    evaluation = run([account()], snaps)

    assert (one(evaluation).score, one(evaluation).anchor_date) == (0, pd.Timestamp(AS_OF))


@pytest.mark.parametrize("kind", ["datetime64", "date", "iso", "timestamp_with_time"])
def test_snapshot_dates_in_any_common_form(kind):
    frame = snapshots_frame(usage(1, HOT))
    if kind == "date":
        frame["date"] = frame["date"].dt.date
    elif kind == "iso":
        frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    elif kind == "timestamp_with_time":
        frame["date"] = frame["date"] + pd.Timedelta(hours=15)

    evaluation = evaluate(accounts_frame(account()), frame, default_config(), AS_OF)

    assert (one(evaluation).score, one(evaluation).qualifies) == (60, True)


def test_accounts_and_signals_result_shapes():
    evaluation = run([account(1), account(2, status="churned")], usage(1, HOT) + usage(2, QUIET))

    assert list(evaluation.accounts_result.columns) == [
        "blocked",
        "blocked_by",
        "self_serve",
        "self_serve_by",
        "stale",
        "score",
        "qualifies",
        "reason",
        "primary_signal",
        "expansion_type",
        "target",
        "estimate",
        "estimate_source",
        "uplift",
        "watch_fired",
        "watch_only",
        "anchor_date",
    ]
    assert evaluation.accounts_result.index.name == "account"
    assert len(evaluation.signals_result) == 2 * 6
    assert list(evaluation.signals_result.columns) == [
        "account",
        "signal",
        "value",
        "threshold",
        "points",
        "fired",
        "counts",
        "target",
        "priority",
        "expansion_type",
    ]
    assert evaluation.latest_metrics.loc[1, "seats_active"] == 95.0


def test_empty_accounts_give_empty_results():
    frame = accounts_frame(account()).iloc[0:0]

    evaluation = evaluate(frame, snapshots_frame([]), default_config(), AS_OF)

    assert (len(evaluation.accounts_result), len(evaluation.signals_result)) == (0, 0)


# ------------------------------------------------------------------------------------------------
# Uplift calibration
# ------------------------------------------------------------------------------------------------


def expansions(n_won: int, expansion_type: str = "seats", ratio: float = 0.5) -> pd.DataFrame:
    won = [
        {
            "status": "won",
            "expansion_type": expansion_type,
            "expansion_arr": ratio * 10_000 * (1 + i % 3),
            "contract_arr_at_close": 10_000 * (1 + i % 3),
        }
        for i in range(n_won)
    ]
    noise = [
        {
            "status": "lost",
            "expansion_type": expansion_type,
            "expansion_arr": 90_000,
            "contract_arr_at_close": 1,
        },
        {
            "status": "won",
            "expansion_type": expansion_type,
            "expansion_arr": 5_000,
            "contract_arr_at_close": 0,
        },
        {
            "status": "won",
            "expansion_type": expansion_type,
            "expansion_arr": 5_000,
            "contract_arr_at_close": None,
        },
    ]
    return pd.DataFrame(won + noise)


@pytest.mark.parametrize(
    ("n_won", "expected"),
    [
        (10, (0.5, "calibrated")),
        (9, (0.20, "default")),
        (0, (0.20, "default")),
    ],
)
def test_calibrated_uplift_needs_ten_won_expansions(n_won, expected):
    uplifts = calibrate_uplifts(expansions(n_won), default_config().signals, min_samples=10)

    assert uplifts == {
        "seats": expected,
        "tier": (0.35, "default"),
        "module": (0.25, "default"),
    }


def test_calibrated_uplift_is_the_median_ratio():
    rows = pd.DataFrame(
        {
            "status": ["won"] * 3,
            "expansion_type": ["tier"] * 3,
            "expansion_arr": [1_000.0, 5_000.0, 30_000.0],
            "contract_arr_at_close": [10_000.0, 10_000.0, 10_000.0],
        }
    )

    assert calibrate_uplifts(rows, default_config().signals, min_samples=3)["tier"] == (0.5, "calibrated")


def test_default_uplift_comes_from_the_first_signal_with_one_else_the_domain():
    signals = (
        simple_signal("a", "m", 1, expansion_type=EXPANSION_MODULE, default_uplift=0.0),
        simple_signal("b", "m", 1, expansion_type=EXPANSION_MODULE, default_uplift=0.4),
        simple_signal("c", "m", 1, expansion_type=EXPANSION_MODULE, default_uplift=0.1),
    )

    assert default_uplifts(signals) == {
        "seats": (0.20, "default"),
        "tier": (0.35, "default"),
        "module": (0.4, "default"),
    }


def test_calibrated_uplift_flows_into_the_estimate():
    uplifts = calibrate_uplifts(expansions(10, ratio=0.3), default_config().signals, min_samples=10)

    result = one(run([account()], usage(1, HOT), uplifts=uplifts))

    assert (result.estimate, result.estimate_source) == (pytest.approx(30_000.0), "calibrated")


# ------------------------------------------------------------------------------------------------
# Triggered signals
# ------------------------------------------------------------------------------------------------


def test_triggered_signals_lists_fired_signals_primary_first():
    snaps = usage(1, without({**HOT, "api_calls_30d": 90_000.0}, "export_rows_30d"))
    evaluation = run([account(1), account(2)], snaps + exports_tripled(1) + usage(2, QUIET))

    expected = [
        {"signal": "seat_utilisation", "value": 0.95, "threshold": 0.9, "points": 40},
        {"signal": "api_rate_approach", "value": 0.9, "threshold": 0.85, "points": 35},
        {"signal": "automation_depth", "value": 25.0, "threshold": 20.0, "points": 20},
        {"signal": "export_volume", "value": 4.0, "threshold": 3.0, "points": 0},
    ]
    assert triggered_signals(evaluation.signals_result, 1) == expected
    assert triggered_signals(evaluation.signals_result, 2) == []
    assert triggered_signals_by_account(evaluation.signals_result) == {1: expected}


# ------------------------------------------------------------------------------------------------
# Opening angle
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        (
            "{account_name} is at {seat_utilisation}",
            {"account_name": "Acme", "seat_utilisation": 0.92},
            "Acme is at 92%",
        ),
        ("{seats_active} of {seats_licensed}", {"seats_active": 46.0, "seats_licensed": 50}, "46 of 50"),
        ("{api_calls_30d} calls", {"api_calls_30d": 95_000}, "95,000 calls"),
        (
            "ARR {contract_arr}, +{estimate}",
            {"contract_arr": 120_000.0, "estimate": 24_000.5},
            "ARR 120,000, +24,000.5",
        ),
        ("{signal_value:.1f} vs {threshold}", {"signal_value": 3.14159, "threshold": 3}, "3.1 vs 3"),
        ("{module} for {account_name}", {"account_name": "Acme"}, "— for Acme"),
        ("{module}", {"module": None}, "—"),
        ("{estimate}", {"estimate": math.nan}, "—"),
        ("{unknown_field}", {"unknown_field": "x"}, "—"),
        ("{account_name.__class__}", {"account_name": "Acme"}, "—"),
        ("{0} and {}", {}, "— and —"),
        ("{account_name:>10d}", {"account_name": "Acme"}, "Acme"),  # spec that does not fit: plain text
        ("Unbalanced {account_name", {"account_name": "Acme"}, "Unbalanced {account_name"),
        ("Literal {{braces}}", {}, "Literal {braces}"),
        ("", {"account_name": "Acme"}, ""),
        ("[{account_name:>12}]", {"account_name": "Acme"}, "[        Acme]"),
        # a width or precision past the cap is ignored, never padded out
        ("[{account_name:>300000000}]", {"account_name": "Acme"}, "[Acme]"),
        ("{estimate:.99f}", {"estimate": 1.5}, "1.5"),
        ("{account_name:x<41}", {"account_name": "Acme"}, "Acme"),
    ],
)
def test_render_opening_angle(template, context, expected):
    assert render_opening_angle(template, context) == expected


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{account_name} at {seat_utilisation}", {"account_name", "seat_utilisation"}),
        ("no placeholders", set()),
        ("{x.y} {}", {"x.y", ""}),
        ("broken {", set()),
    ],
)
def test_placeholder_names(template, names):
    assert placeholder_names(template) == names


def test_rendered_opening_angle_is_cut_to_its_cap():
    # given: a template that repeats the longest value allowed many times over
    template = "{account_name} " * 100
    context = {"account_name": "A" * 255}

    # when
    text = render_opening_angle(template, context)

    # then: the cap holds and the cut is visible
    assert len(text) == MAX_OPENING_ANGLE_LENGTH
    assert text.endswith("…")
    assert text.startswith("A" * 255 + " ")


@pytest.mark.parametrize(
    ("template", "wide"),
    [
        ("{account_name:>300000000}", ["{account_name:>300000000}"]),
        ("{estimate:,.0f} {threshold:.41f}", ["{threshold:.41f}"]),
        ("{estimate:>40,.2f}", []),
        ("no format {account_name}", []),
        ("broken {", []),
    ],
)
def test_oversized_formats(template, wide):
    assert oversized_formats(template) == wide


def test_default_opening_angles_render_from_an_evaluation():
    snaps = usage(1, {**HOT, "api_calls_30d": 90_000.0})
    evaluation = run([account()], snaps)
    result = one(evaluation)
    context = opening_angle_context(
        account={**account(), "name": "Acme"},
        latest=evaluation.latest_metrics.loc[1].to_dict(),
        expansion_type=EXPANSION_TIER,
        target="Enterprise",
        estimate=result.estimate,
    )

    text = {s.key: render_opening_angle(s.opening_angle, context) for s in default_config().signals}

    assert text["seat_utilisation"].startswith("Acme has had 95 of 100 seats in use (95%) every day")
    assert (
        "90,000 API calls in the last 30 days, 90% of the 100,000 in their plan" in text["api_rate_approach"]
    )
    assert "how Enterprise adds the controls" in text["automation_depth"]
    assert MISSING_PLACEHOLDER_TEXT in text["feature_adjacency"]  # no module in this context
