"""The seed presets (``presets/signal-spotter.yaml`` from seed 001, ``presets/segment-readiness.yaml`` from
seed 002) applied as RevOps would, then a scoring pass over hand-built accounts: seed 001's weighted
signals make an account ready at a sum of 8 points, seed 002's readiness gates hold per segment and its
support-ticket trend decides; each file survives export -> apply -> export unchanged; and the demo
extras of each preset (``expansion.demo_presets``) give rows in the export's format on which the
preset fires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from expansion import demo
from expansion.demo_presets import segment_readiness, signal_spotter
from expansion.models import EQL, Account, Metric, UsageSnapshot
from scoring import config as cfg
from scoring import config_files, engine, selectors
from scoring.services import scoring_pass_run
from tests.factories import AccountFactory, UserFactory
from tests.scoring.test_pass import AS_OF, QUIET, Value, only_open_eql, write_usage

PRESETS = Path(__file__).resolve().parents[2] / "presets"
SPOTTER = "signal-spotter.yaml"
READINESS = "segment-readiness.yaml"


def preset_text(name: str) -> str:
    return (PRESETS / name).read_text(encoding="utf-8")


def preset_apply(name: str) -> config_files.ConfigApplyResult:
    result = config_files.config_apply(text=preset_text(name), name=name, dry_run=False, backtest=False)
    assert result.errors == []
    assert result.applied
    return result


@pytest.fixture(params=["auto", "off"], ids=["pushdown", "engine"])
def both_readings(request, settings, tmp_path):
    """Each pass runs both ways (the compiled query over the usage store, and the reference engine)."""
    settings.SCORING_PUSHDOWN = request.param
    settings.VAR_DIR = tmp_path
    return request.param


@pytest.fixture
def owners():
    return UserFactory(role="AE", email="ari.ae@example.com"), UserFactory(
        role="CSM", email="cam.csm@example.com"
    )


def account_make(owners, **fields) -> Account:
    ae, csm = owners
    values = {
        "segment": "MidMarket",
        "plan_tier": "Professional",
        "contract_arr": Decimal("48000.00"),
        "customer_since": AS_OF - dt.timedelta(days=400),
        "seats_licensed": 50,
        "api_limit_30d": 100_000,
        "health_score": 90,
        **fields,
    }
    return AccountFactory(ae=ae, csm=csm, **values)


def snapshot_add(account: Account, metric: str, value: float, *, days_back: int) -> None:
    UsageSnapshot.objects.create(
        account=account,
        metric=Metric.objects.get_or_create(name=metric)[0],
        date=AS_OF - dt.timedelta(days=days_back),
        value=value,
    )


# --------------------------------------------------------------------------------------------------
# Seed 001: the Expansion Signal Spotter
# --------------------------------------------------------------------------------------------------

#: Nothing of the spotter fires: seats 10/50, departments flat, no gated views, a flat headcount of
#: 200 (and 200 a year ago), renewal 200 days away, no power users, no executive logins.
SPOTTER_QUIET: dict[str, Value] = {
    **QUIET,
    "headcount": 200,
    "days_to_renewal": 200,
    "power_users": 1,
    "exec_logins_30d": 0,
}
SEAT_LIMIT = {"seats_active": 42}  # 0.84 of 50 > 0.80: 5 points
RENEWAL = {"days_to_renewal": 60}  # < 90: 2 points
POWER = {"power_users": 3}  # 3 points
HEADCOUNT = {"headcount": 250}  # 250 / 200 a year ago = 1.25 > 1.2: 4 points
NEW_DEPARTMENT = {"departments_active": lambda o: 3 if o <= -30 else 4}  # +1 in 30 days: 4 points


def spotter_usage(account: Account, metrics: Mapping[str, Value]) -> None:
    write_usage(account, {**SPOTTER_QUIET, **metrics}, start=-40)
    snapshot_add(account, "headcount", 200, days_back=370)  # the year-ago reading of the ratio


@pytest.mark.django_db
@pytest.mark.usefixtures("both_readings")
@pytest.mark.parametrize(
    ("signals", "score", "creates"),
    [
        pytest.param({**SEAT_LIMIT, **RENEWAL}, 7, False, id="seat-limit-5+renewal-2=7-not-ready"),
        pytest.param({**SEAT_LIMIT, **POWER}, 8, True, id="seat-limit-5+power-users-3=8-ready"),
        pytest.param({**SEAT_LIMIT, **HEADCOUNT}, 9, True, id="seat-limit-5+headcount-4=9-ready"),
        pytest.param({**HEADCOUNT, **POWER}, 7, False, id="headcount-4+power-users-3=7-not-ready"),
    ],
)
def test_spotter_is_ready_at_a_weighted_sum_of_eight(owners, signals, score, creates):
    # given the signal-spotter preset and an account firing a combination of its weighted signals
    preset_apply(SPOTTER)
    account = account_make(owners)
    spotter_usage(account, signals)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the account is ready (an EQL) exactly when the weights sum to 8 or more
    if not creates:
        assert scoring_pass.eqls_created == 0
        assert not EQL.objects.exists()
        return
    assert scoring_pass.eqls_created == 1
    eql = only_open_eql(account)
    assert eql.score == score
    # the seat limit (5) is the strongest signal: a CSM-led seat expansion (20% of 48,000 < 20,000)
    assert (eql.primary_signal, eql.expansion_type, eql.route) == ("seat_limit", "seats", "csm")
    assert eql.estimated_expansion_arr == Decimal("9600.00")


@pytest.mark.django_db
@pytest.mark.usefixtures("both_readings")
def test_spotter_hands_a_new_department_to_the_ae_with_the_csm(owners):
    # given a new department (4, high) and headcount growth (4, medium): 8 points
    preset_apply(SPOTTER)
    account = account_make(owners)
    spotter_usage(account, {**NEW_DEPARTMENT, **HEADCOUNT})

    # when the pass runs
    scoring_pass_run(as_of=AS_OF)

    # then the cross-sell into the new department is the primary signal and goes to the AE, CSM involved
    eql = only_open_eql(account)
    assert (eql.score, eql.primary_signal) == (8, "new_department")
    assert (eql.route, eql.owner_id, eql.csm_involvement_required) == ("ae", owners[0].pk, True)


# --------------------------------------------------------------------------------------------------
# Seed 002: segment readiness
# --------------------------------------------------------------------------------------------------

#: A ready Mid-Market account: 46 of 50 seats for 40 days (0.92 > 0.90: seat saturation, and > 70%),
#: support tickets falling from 12 to 6 over the last 30 days, NPS 9, 8 key features, 4 departments.
READY: dict[str, Value] = {
    **QUIET,
    "seats_active": 46,
    "features_used": 8,
    "departments_active": 4,
    "nps": 9,
    "exec_logins_30d": 2,
    "support_tickets_30d": lambda o: 12 if o <= -30 else 6,
}
FLAT_TICKETS = {"support_tickets_30d": 9}


@pytest.mark.django_db
@pytest.mark.usefixtures("both_readings")
@pytest.mark.parametrize(
    ("fields", "blocked_by"),
    [
        pytest.param({"health_score": 80}, "", id="mid-market-health-80-passes"),
        pytest.param({"health_score": 79}, "Mid-Market: health score at least 80", id="mid-market-health-79"),
        pytest.param({"customer_since": AS_OF - dt.timedelta(days=46)}, "", id="mid-market-tenure-46-passes"),
        pytest.param(
            {"customer_since": AS_OF - dt.timedelta(days=45)},
            "Mid-Market: more than 45 days since onboarding",
            id="mid-market-tenure-45",
        ),
        pytest.param({"segment": "SMB", "health_score": 75}, "", id="smb-health-75-passes"),
        pytest.param(
            {"segment": "Enterprise", "health_score": 84}, "Enterprise: health score at least 85", id="ent-84"
        ),
    ],
)
def test_readiness_gates_hold_per_segment_at_their_thresholds(owners, fields, blocked_by):
    # given the segment-readiness preset and an otherwise ready account firing seat saturation
    preset_apply(READINESS)
    account = account_make(owners, **fields)
    write_usage(account, READY, start=-40)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then its segment's gate passes at the threshold and blocks one below it
    if blocked_by:
        assert scoring_pass.eqls_created == 0
        assert not EQL.objects.exists()
        return
    eql = only_open_eql(account)
    segment = account.segment.lower()
    assert (eql.primary_signal, eql.score) == (f"seat_saturation_{segment}", 60)
    assert eql.route == {"smb": "self_serve", "midmarket": "joint"}[segment]


@pytest.mark.django_db
def test_a_blocking_readiness_gate_is_named_in_the_pass_evaluation(owners):
    # given a Mid-Market account one health point short of its gate
    preset_apply(READINESS)
    account = account_make(owners, health_score=79)
    write_usage(account, READY, start=-40)

    # when it is scored (the engine over the saved configuration)
    config = selectors.scoring_config_load()
    frame = selectors.accounts_frame()
    snaps = pd.DataFrame(
        list(UsageSnapshot.objects.values_list("account_id", "date", "metric__name", "value")),
        columns=["account", "date", "metric", "value"],
    )
    result = engine.evaluate(frame, snaps, config, AS_OF).accounts_result

    # then the Mid-Market health gate blocks it, not the SMB or Enterprise ones
    assert result.loc[account.pk, "blocked_by"] == "Mid-Market: health score at least 80"


@pytest.mark.django_db
@pytest.mark.usefixtures("both_readings")
@pytest.mark.parametrize(
    ("tickets", "creates"),
    [
        pytest.param({}, True, id="tickets-declining"),
        pytest.param(FLAT_TICKETS, False, id="tickets-flat"),
        pytest.param({"support_tickets_30d": lambda o: 6 if o <= -30 else 12}, False, id="tickets-rising"),
    ],
)
def test_mid_market_needs_declining_support_tickets(owners, tickets, creates):
    # given a ready Mid-Market account (gates pass, seats saturated) with a support-ticket trend
    preset_apply(READINESS)
    account = account_make(owners)
    write_usage(account, {**READY, **tickets}, start=-40)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the trigger needs the trend condition: tickets lower than 30 days ago
    assert scoring_pass.eqls_created == (1 if creates else 0)
    if creates:
        assert only_open_eql(account).primary_signal == "seat_saturation_midmarket"


@pytest.mark.django_db
@pytest.mark.usefixtures("both_readings")
def test_smb_accepts_stable_support_tickets(owners):
    # given a ready SMB account whose tickets are flat ("declining/stable" for SMB)
    preset_apply(READINESS)
    account = account_make(owners, segment="SMB", contract_arr=Decimal("15000.00"), seats_licensed=20)
    write_usage(account, {**READY, **FLAT_TICKETS, "seats_active": 19}, start=-40)

    # when the pass runs
    scoring_pass_run(as_of=AS_OF)

    # then it qualifies on the SMB seat saturation trigger and goes the product-led self-serve way
    eql = only_open_eql(account)
    assert (eql.primary_signal, eql.route) == ("seat_saturation_smb", "self_serve")


# --------------------------------------------------------------------------------------------------
# Files: export -> apply -> export
# --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", [SPOTTER, READINESS])
def test_preset_round_trips_byte_for_byte(name):
    # given the preset applied to a fresh database
    preset_apply(name)

    # when it is exported, the export applied again and exported once more
    first = config_files.config_export()
    again = config_files.config_apply(text=first, name="exported.yaml", dry_run=False, backtest=False)
    second = config_files.config_export()

    # then the committed file is exactly what export prints, and applying it changes nothing
    assert first == preset_text(name)
    assert again.ok
    assert again.diff == []
    assert second == first


def test_spotter_preset_carries_the_seed_weights_and_threshold():
    document = yaml.safe_load(preset_text(SPOTTER))
    points = {s["key"]: s["points"] for s in document["signals"]}
    assert sorted(points.values(), reverse=True) == [5, 4, 4, 4, 3, 3, 2]
    assert document["eql_policy"]["score_threshold"] == 8


# --------------------------------------------------------------------------------------------------
# Demo extras (pure: no database)
# --------------------------------------------------------------------------------------------------

DEMO_AS_OF = dt.date(2026, 3, 31)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(cfg.LIST_SEPARATOR) if v.strip())


def preset_config(text: str) -> cfg.ScoringConfig:
    """A preset file as the engine's configuration (active rows; what the pass would load)."""
    document = yaml.safe_load(text)
    signal_fields = set(cfg.SignalSpec.__dataclass_fields__) - {"conditions", "segments", "tiers"}
    condition_fields = set(cfg.ConditionSpec.__dataclass_fields__)
    signals = []
    for s in document["signals"]:
        if not s["active"]:
            continue
        values = {k: v for k, v in s.items() if k in signal_fields and k != "discovery_questions"}
        conditions = sorted(s["conditions"], key=lambda c: c["order"])
        signals.append(
            cfg.SignalSpec(
                **values,
                segments=_split(s["segments"]),
                tiers=_split(s["tiers"]),
                conditions=tuple(
                    cfg.ConditionSpec(**{k: v for k, v in c.items() if k in condition_fields})
                    for c in conditions
                ),
            )
        )
    gates = tuple(
        cfg.GateSpec(
            name=g["name"],
            subject=g["subject"],
            operator=g["operator"],
            value=g["value"],
            action=g["action"],
            skip_if_missing=g["skip_if_missing"],
            segments=_split(g["segments"]),
            order=g["order"],
        )
        for g in document["gates"]
        if g["active"]
    )
    policy = document["eql_policy"]
    return cfg.ScoringConfig(
        signals=tuple(signals),
        gates=gates,
        policy=cfg.PolicySpec(
            score_threshold=policy["score_threshold"],
            min_expansion_pct=float(policy["min_expansion_pct"]),
            max_data_age_days=policy["max_data_age_days"],
        ),
    )


def demo_evaluate(export: demo.DemoExport, extra: dict[str, pd.DataFrame], config: cfg.ScoringConfig):
    """The engine over the demo export plus the extras, as the pass would see them after the import."""
    accounts = export.accounts.copy()
    accounts.index = pd.RangeIndex(1, len(accounts) + 1, name="account")
    accounts["contract_arr"] = accounts["contract_arr"].astype(float)
    accounts["health_score"] = pd.to_numeric(accounts["health_score"], errors="coerce").astype(float)
    accounts["customer_since"] = pd.to_datetime(accounts["customer_since"])
    pk = pd.Series(accounts.index, index=accounts["account_id"])
    usage = pd.concat([export.usage, extra["usage.csv"]], ignore_index=True)
    snapshots = pd.DataFrame(
        {
            "account": pk.reindex(usage["account_id"]).to_numpy(),
            "date": pd.to_datetime(usage["date"]),
            "metric": usage["metric"].astype("category"),
            "value": usage["value"].astype(float),
        }
    )
    events = extra.get("events.csv")
    at = pd.Timestamp(export.as_of) + pd.Timedelta(days=1)
    for spec in config.signals:
        for c in spec.conditions:
            if c.kind != cfg.CONDITION_EVENT_COUNT:
                continue
            counts = pd.Series(0.0, index=accounts.index)
            if events is not None and len(events):
                occurred = pd.to_datetime(events["occurred_at"]).dt.tz_localize(None)
                chosen = events[
                    (events["event"] == c.subject) & (occurred >= at - pd.Timedelta(days=c.window_days))
                ]
                per = chosen.groupby(pk.reindex(chosen["account_id"]).to_numpy()).size().astype(float)
                counts = counts.add(per, fill_value=0.0)
            accounts[cfg.event_column(c.subject, c.window_days)] = counts
    return engine.evaluate(accounts, snapshots, config, export.as_of).accounts_result


@pytest.fixture(scope="module")
def small_export() -> demo.DemoExport:
    return demo.generate(accounts=300, as_of=DEMO_AS_OF)


@pytest.mark.parametrize(
    ("module", "name", "metrics"),
    [
        pytest.param(
            signal_spotter,
            SPOTTER,
            {"headcount", "days_to_renewal", "power_users", "exec_logins_30d"},
            id="signal-spotter",
        ),
        pytest.param(
            segment_readiness,
            READINESS,
            {"nps", "support_tickets_30d", "exec_logins_30d", "headcount", "days_to_renewal", "power_users"},
            id="segment-readiness",
        ),
    ],
)
def test_demo_extras_fit_the_export_and_make_the_preset_fire(small_export, module, name, metrics):
    # given a small demo export and the preset's extras
    export = small_export
    before = export.usage.copy()
    extra = module.extras(export, np.random.default_rng(7))

    # then the usage rows have the export's columns and types, the new metrics, and every reporting day
    usage = extra["usage.csv"]
    assert list(usage.columns) == list(export.usage.columns)
    assert dict(usage.dtypes) == dict(export.usage.dtypes)
    assert set(usage["metric"]) == metrics
    assert (usage["value"] >= 0).all()
    assert not usage.duplicated(["account_id", "date", "metric"]).any()
    days = export.usage[export.usage["metric"] == "seats_active"][["account_id", "date"]]
    for metric in metrics:
        rows = usage[usage["metric"] == metric]
        on_days = rows.merge(days, on=["account_id", "date"])
        assert len(on_days) == len(days), metric
    # headcount also has the reading a year back that its 365-day growth ratio needs
    year_ago = usage[
        (usage["metric"] == "headcount")
        & (pd.to_datetime(usage["date"]) < pd.Timestamp(DEMO_AS_OF) - pd.Timedelta(days=300))
    ]
    assert len(year_ago) == len(days)
    pd.testing.assert_frame_equal(export.usage, before)  # the export itself is left alone

    # and the preset fires on some demo accounts at as_of, not on most
    result = demo_evaluate(export, extra, preset_config(preset_text(name)))
    share = result["qualifies"].mean()
    assert result["qualifies"].sum() >= 1
    assert share < 0.25
    if "events.csv" in extra:
        events = extra["events.csv"]
        assert list(events.columns) == ["event_id", "account_id", "occurred_at", "event", "properties"]
        assert events["event_id"].is_unique
        assert set(events["account_id"]) <= set(export.accounts["account_id"])


def test_demo_extras_are_deterministic_for_a_seed(small_export):
    first = segment_readiness.extras(small_export, np.random.default_rng(3))
    second = segment_readiness.extras(small_export, np.random.default_rng(3))
    for key in first:
        pd.testing.assert_frame_equal(first[key], second[key])
