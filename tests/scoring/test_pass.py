"""The scoring pass end to end (spec/domain.md "Evaluation order", "Signals", "Estimated expansion ARR",
"Routing"; spec/contract.md ``score --json``, EQL record) on hand-built accounts and usage snapshots.

Every account gets ten days of quiet usage ending at ``AS_OF`` unless a test says otherwise; a test
turns on exactly the signals it is about. With the default configuration (seeded by the data
migrations): seats 48 of 50 (0.96 >= 0.90 for 7 days) is 40 points and API 90,000 of 100,000
(0.90 >= 0.85) is 35 points, so the two together score 75 with the seat signal as primary.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from expansion.models import (
    EQL,
    OPEN_STATUSES,
    Account,
    EQLStatus,
    Expansion,
    Metric,
    UsageSnapshot,
    User,
)
from expansion.services import usage_changed
from routing.services import eql_transition
from scoring.models import EqlPolicy, PassStatus, SignalDefinition
from scoring.services import pass_summary, scoring_pass_run
from tests.contract import CONTRACT_KEYS

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 31)

#: Values that fire nothing: 10/50 seats, 1% of the API limit, 2 workflows, flat departments/exports.
QUIET: dict[str, float] = {
    "seats_active": 10,
    "api_calls_30d": 1_000,
    "features_used": 5,
    "automation_workflows": 2,
    "departments_active": 3,
    "export_rows_30d": 500,
}
SEATS_HOT = {"seats_active": 48}  # 0.96 of 50 licensed seats
API_HOT = {"api_calls_30d": 90_000}  # 0.90 of a 100,000 limit
HOT = {**SEATS_HOT, **API_HOT}  # score 75, primary seat_utilisation (seats, default uplift 0.20)


def export_surge(offset: int) -> float:
    """export_rows_30d at 4x its value of 90 days earlier (the watch signal fires)."""
    return 500 if offset <= -30 else 2_000


def departments_grew(offset: int) -> float:
    """departments_active: 3 until 30 days before AS_OF, 5 since (team spread fires)."""
    return 3 if offset <= -30 else 5


def aware(day: dt.date, hour: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def when(days: int, hour: int = 0) -> dt.datetime:
    """A pass clock ``days`` after AS_OF (start of that day, plus ``hour``)."""
    return aware(AS_OF + dt.timedelta(days=days), hour)


def make_user(email: str, role: str, *, capacity: int | None = None, is_active: bool = True) -> User:
    return User.objects.create(
        username=email,
        email=email,
        name=email.split("@")[0],
        role=role,
        capacity=capacity,
        is_active=is_active,
    )


def make_account(account_id: str, *, ae: User | None = None, csm: User | None = None, **fields) -> Account:
    values = {
        "name": f"{account_id} Ltd",
        "segment": "MidMarket",
        "plan_tier": "Professional",
        "contract_arr": Decimal("48000.00"),
        "customer_since": AS_OF - dt.timedelta(days=400),
        "seats_licensed": 50,
        "api_limit_30d": 100_000,
        "owned_modules": [],
        "health_score": 80,
        "status": "active",
        **fields,
    }
    return Account.objects.create(account_id=account_id, ae=ae, csm=csm, **values)


Value = float | Callable[[int], float | None] | None


def write_usage(account: Account, metrics: Mapping[str, Value] | None = None, *, start=-9, end=0) -> None:
    """One snapshot per metric per day from AS_OF+start to AS_OF+end: QUIET overridden by ``metrics``.

    A value may be a callable of the day offset (relative to AS_OF); None skips that day.
    """
    rows = []
    for name, spec in {**QUIET, **(metrics or {})}.items():
        metric, _ = Metric.objects.get_or_create(name=name)
        for offset in range(start, end + 1):
            value = spec(offset) if callable(spec) else spec
            if value is not None:
                rows.append(
                    UsageSnapshot(
                        account=account, metric=metric, date=AS_OF + dt.timedelta(days=offset), value=value
                    )
                )
    UsageSnapshot.objects.bulk_create(rows)


def set_latest(account: Account, metric: str, value: float, *, day: dt.date = AS_OF) -> None:
    updated = UsageSnapshot.objects.filter(account=account, metric__name=metric, date=day).update(value=value)
    assert updated == 1
    # a writer of snapshots records the days it changed, as the import does
    usage_changed(first_date=day, last_date=day, rows=updated)


def open_eqls(account: Account | None = None) -> list[EQL]:
    qs = EQL.objects.filter(status__in=OPEN_STATUSES).order_by("pk")
    if account is not None:
        qs = qs.filter(account=account)
    return list(qs)


def only_open_eql(account: Account) -> EQL:
    eqls = open_eqls(account)
    assert len(eqls) == 1, f"{account.account_id}: {len(eqls)} open EQLs"
    return eqls[0]


def hold_open_eqls(owner: User, n: int) -> None:
    """Give ``owner`` n open EQLs on filler accounts without usage (the pass leaves them alone)."""
    for i in range(n):
        filler = make_account(f"FILL-{owner.pk}-{i}")
        EQL.objects.create(
            account=filler,
            route="ae" if owner.role == "AE" else "csm",
            owner=owner,
            contract_arr=filler.contract_arr,
            created_at=when(-20),
            updated_at=when(-20),
        )


@pytest.fixture(autouse=True, params=["auto", "off"], ids=["pushdown", "engine"])
def pushdown_mode(request, settings, tmp_path):
    """Every pass test runs both ways: readings from the compiled query over the local usage store
    (``auto``) and from the reference engine over snapshots (``off``); they must decide alike."""
    settings.SCORING_PUSHDOWN = request.param
    settings.VAR_DIR = tmp_path
    return request.param


@pytest.fixture
def ae() -> User:
    return make_user("ari.ae@example.com", "AE")


@pytest.fixture
def csm() -> User:
    return make_user("cam.csm@example.com", "CSM")


# --------------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "creates"),
    [
        pytest.param({"status": "churned"}, False, id="churned-blocked"),
        pytest.param({"customer_since": AS_OF - dt.timedelta(days=119)}, False, id="tenure-119-blocked"),
        pytest.param({"customer_since": AS_OF - dt.timedelta(days=120)}, True, id="tenure-120-allowed"),
        pytest.param({"health_score": 50}, False, id="health-50-blocked"),
        pytest.param({"health_score": 59}, False, id="health-59-blocked"),
        pytest.param({"health_score": 60}, True, id="health-60-allowed"),
        pytest.param({"health_score": None}, True, id="health-empty-allowed"),
    ],
)
def test_block_gates_stop_any_eql_including_a_csm_review(ae, csm, fields, creates):
    # given a hot account (seats, API and the export watch signal all fire) with one gate input varied
    account = make_account("A-1", ae=ae, csm=csm, contract_arr=Decimal("100000.00"), **fields)
    write_usage(account, {**HOT, "export_rows_30d": export_surge}, start=-100)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then a failing block gate means no EQL of any kind; a passing one gives the AE-led EQL
    assert scoring_pass.status == PassStatus.COMPLETED
    assert scoring_pass.accounts_scored == 1
    assert scoring_pass.csm_reviews_created == 0
    if creates:
        assert scoring_pass.eqls_created == 1
        eql = only_open_eql(account)
        assert (eql.route, eql.owner_id, eql.score) == ("ae", ae.pk, 75)
    else:
        assert scoring_pass.eqls_created == 0
        assert EQL.objects.count() == 0


def test_contract_arr_below_20k_routes_self_serve_owned_by_the_csm(ae, csm):
    # given a hot account on 12,000 ARR (the self_serve gate fails; 20% uplift = 2,400 >= 15% floor)
    account = make_account("SMALL", ae=ae, csm=csm, contract_arr=Decimal("12000.00"))
    write_usage(account, HOT)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the EQL goes to the CS-owned self-serve path, never to the AE
    assert (scoring_pass.eqls_created, scoring_pass.csm_reviews_created) == (1, 0)
    eql = only_open_eql(account)
    assert eql.route == "self_serve"
    assert eql.owner_id == csm.pk
    assert eql.csm_id == csm.pk
    assert eql.csm_involvement_required is False
    assert eql.self_serve_gate is True
    assert eql.score == 75
    assert eql.estimated_expansion_arr == Decimal("2400.00")
    assert eql.sla_deadline == when(0) + dt.timedelta(hours=72)
    assert eql.evaluation["gates"] == {"blocked_by": "", "self_serve": True}


# --------------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low_days", "creates"),
    [
        pytest.param((), True, id="7-of-7-days"),
        pytest.param((-3,), False, id="6-of-7-days-oscillating"),
        pytest.param((0,), False, id="dropped-on-the-anchor-day"),
        pytest.param((-7,), True, id="dip-8-days-ago-is-outside-the-window"),
    ],
)
def test_seat_signal_needs_seven_consecutive_days(ae, csm, low_days, creates):
    # given API at 0.90 (35 points) and seats at 0.96 except on ``low_days`` (0.80)
    account = make_account("OSC", ae=ae, csm=csm)
    write_usage(account, {**API_HOT, "seats_active": lambda o: 40 if o in low_days else 48})

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the seat signal (and with it the 60-point threshold) needs all 7 days at >= 0.90
    if creates:
        assert scoring_pass.eqls_created == 1
        eql = only_open_eql(account)
        assert (eql.score, eql.primary_signal) == (75, "seat_utilisation")
    else:
        assert scoring_pass.eqls_created == 0
        assert EQL.objects.count() == 0


def test_watch_only_opens_a_csm_review_owned_by_the_csm_never_an_ae(ae, csm):
    # given one account whose only fired signal is the export watch signal, and one without a CSM
    with_csm = make_account("WATCH-1", ae=ae, csm=csm, contract_arr=Decimal("200000.00"))
    without_csm = make_account("WATCH-2", ae=ae, csm=None, contract_arr=Decimal("200000.00"))
    for account in (with_csm, without_csm):
        write_usage(account, {"export_rows_30d": export_surge}, start=-100)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then each gets a CSM review item (no score threshold, no floor) owned by a CSM, never the AE
    assert (scoring_pass.eqls_created, scoring_pass.csm_reviews_created) == (0, 2)
    for account in (with_csm, without_csm):
        eql = only_open_eql(account)
        assert eql.route == "csm_review"
        assert eql.owner_id == csm.pk
        assert eql.owner.role == "CSM"
        assert eql.score == 0
        assert eql.primary_signal == "export_volume"
        assert eql.csm_involvement_required is False
        assert eql.triggered_signals == [
            {"signal": "export_volume", "value": 4.0, "threshold": 3.0, "points": 0}
        ]
        assert eql.opening_angle.startswith(f"{account.name} is exporting far more data")
    assert not EQL.objects.filter(owner=ae).exists()


@pytest.mark.parametrize(
    ("owned", "creates"),
    [
        pytest.param(["analytics"], False, id="module-already-owned"),
        pytest.param(["sso"], True, id="module-not-owned"),
    ],
)
def test_a_module_the_account_owns_does_not_count(ae, csm, owned, creates):
    # given analytics gated-feature views (25), automation 25 workflows (20) and team spread (20)
    account = make_account("MOD", ae=ae, csm=csm, contract_arr=Decimal("30000.00"), owned_modules=owned)
    write_usage(
        account,
        {
            "gated_feature_views_14d:analytics": 10,
            "automation_workflows": 25,
            "departments_active": departments_grew,
        },
        start=-40,
    )

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then an owned module scores nothing (40 < 60); an unowned one makes a module EQL that goes to
    # the AE with the CSM involved, even though 25% of 30,000 = 7,500 is under the 10,000 AE threshold
    if not creates:
        assert scoring_pass.eqls_created == 0
        assert EQL.objects.count() == 0
        return
    assert scoring_pass.eqls_created == 1
    eql = only_open_eql(account)
    assert eql.score == 65
    assert (eql.primary_signal, eql.expansion_type, eql.target) == (
        "feature_adjacency",
        "module",
        "analytics",
    )
    assert eql.estimated_expansion_arr == Decimal("7500.00")
    assert eql.route == "ae"
    assert eql.csm_involvement_required is True
    assert eql.owner_id == ae.pk
    assert eql.priority == "medium"
    # medium priority to an AE: 24h CSM review window, then the 48h SLA
    assert eql.review_window_ends_at == when(0) + dt.timedelta(hours=24)
    assert eql.sla_deadline == when(0) + dt.timedelta(hours=72)
    assert [t["signal"] for t in eql.triggered_signals] == [
        "feature_adjacency",
        "automation_depth",
        "team_spread",
    ]
    # the uncapped points the queue orders ties by (#15)
    assert eql.points_total == sum(t["points"] for t in eql.triggered_signals) == 65


# --------------------------------------------------------------------------------------------------
# Estimate: floor and uplift source
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy_floor", "seat_uplift", "creates"),
    [
        pytest.param(None, None, True, id="defaults-20pct-over-15pct"),
        pytest.param(Decimal("0.2100"), None, False, id="floor-raised-to-21pct"),
        pytest.param(Decimal("0.2000"), None, True, id="floor-equal-to-uplift"),
        pytest.param(None, 0.14, False, id="seat-uplift-lowered-to-14pct"),
    ],
)
def test_estimate_under_the_expansion_floor_makes_no_eql(ae, csm, policy_floor, seat_uplift, creates):
    # given a hot account (primary: seats) and an edited floor or seat default uplift
    if policy_floor is not None:
        EqlPolicy.objects.update(min_expansion_pct=policy_floor)
    if seat_uplift is not None:
        SignalDefinition.objects.filter(key="seat_utilisation").update(default_uplift=seat_uplift)
    account = make_account("FLOOR", ae=ae, csm=csm)
    write_usage(account, HOT)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the estimate (contract ARR x uplift) must reach min_expansion_pct x contract ARR
    assert scoring_pass.eqls_created == (1 if creates else 0)
    assert EQL.objects.count() == (1 if creates else 0)


WON_SEAT_RATIOS = ["0.20", "0.25", "0.28", "0.30", "0.30", "0.30", "0.30", "0.35", "0.40", "0.50"]


@pytest.mark.parametrize(
    ("won", "source", "estimate", "route"),
    [
        pytest.param(10, "calibrated", Decimal("14400.00"), "ae", id="10-won-calibrated-median-0.30"),
        pytest.param(9, "default", Decimal("9600.00"), "csm", id="9-won-default-0.20"),
    ],
)
def test_uplift_is_calibrated_from_ten_won_expansions_else_the_default(ae, csm, won, source, estimate, route):
    # given ``won`` won seat expansions (median ratio 0.30 with 10), plus lost and other-type deals
    history = make_account("HIST", contract_arr=Decimal("100000.00"))
    deals = [("won", "seats", ratio) for ratio in WON_SEAT_RATIOS[:won]]
    deals += [("lost", "seats", "0.90")] * 5 + [("won", "tier", "0.90")] * 12
    for i, (status, kind, ratio) in enumerate(deals):
        Expansion.objects.create(
            opportunity_id=f"OPP-{i}",
            account=history,
            created_date=dt.date(2025, 1, 1),
            closed_date=dt.date(2025, 2, 1),
            status=status,
            expansion_type=kind,
            expansion_arr=Decimal("100000.00") * Decimal(ratio),
            contract_arr_at_close=Decimal("100000.00"),
        )
    account = make_account("CAL", ae=ae, csm=csm)
    write_usage(account, HOT)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then 48,000 x uplift, with the source recorded (and the route following the estimate)
    assert scoring_pass.eqls_created == 1
    eql = only_open_eql(account)
    assert eql.estimate_source == source
    assert eql.estimated_expansion_arr == estimate
    assert eql.route == route
    assert eql.evaluation["estimate"]["source"] == source


# --------------------------------------------------------------------------------------------------
# Dedup, incremental writes, suppression, upgrade
# --------------------------------------------------------------------------------------------------


def test_a_re_fire_with_a_changed_value_updates_the_same_eql(ae, csm):
    # given an open EQL from a first pass
    account = make_account("REFIRE", ae=ae, csm=csm)
    write_usage(account, HOT)
    scoring_pass_run(as_of=when(0, hour=1))
    first = only_open_eql(account)
    assert first.triggered_signals[0] == {
        "signal": "seat_utilisation",
        "value": 0.96,
        "threshold": 0.9,
        "points": 40,
    }

    # when seat usage rises on the latest day and the next hourly pass runs
    set_latest(account, "seats_active", 49)
    second_pass = scoring_pass_run(as_of=when(0, hour=2))

    # then the same EQL is updated in place; there is still exactly one open EQL
    assert (second_pass.eqls_created, second_pass.eqls_updated, second_pass.eqls_unchanged) == (0, 1, 0)
    eql = only_open_eql(account)
    assert eql.pk == first.pk
    assert EQL.objects.count() == 1
    assert eql.triggered_signals[0]["value"] == 0.98
    assert eql.points_total == sum(t["points"] for t in eql.triggered_signals) >= 40
    assert eql.created_at == when(0, hour=1)
    assert eql.updated_at == when(0, hour=2)
    assert eql.last_pass == second_pass.pk


def test_an_unchanged_pass_writes_nothing_with_a_bounded_number_of_queries(
    ae, csm, django_assert_max_num_queries
):
    # given twelve accounts with open EQLs (AE-led, CSM-led, self-serve, CSM review) from a first pass
    accounts = []
    for i, arr in enumerate(["100000", "48000", "12000", "60000", "30000"] * 2):
        accounts.append(make_account(f"U-{i}", ae=ae, csm=csm, contract_arr=Decimal(arr)))
        write_usage(accounts[-1], HOT, start=-100)
    for i in range(2):
        accounts.append(make_account(f"U-watch-{i}", ae=ae, csm=csm))
        write_usage(accounts[-1], {"export_rows_30d": export_surge}, start=-100)
    first = scoring_pass_run(as_of=when(0, hour=1), chunk_size=1000)
    assert (first.eqls_created, first.csm_reviews_created) == (10, 2)
    before = dict(EQL.objects.values_list("pk", "updated_at"))

    # when the next pass sees the same data (one chunk)
    # then it reads configuration (with the triggers' conditions), accounts, where usage is read (a
    # source scored in place, or the local store's state), snapshot windows or readings and open EQLs
    # with a fixed number of queries (no query per account or per EQL) and writes no EQL
    with django_assert_max_num_queries(28):
        second = scoring_pass_run(as_of=when(0, hour=2), chunk_size=1000)

    assert (second.eqls_created, second.eqls_updated, second.eqls_unchanged) == (0, 0, 12)
    assert second.csm_reviews_created == 0
    assert dict(EQL.objects.values_list("pk", "updated_at")) == before
    assert EQL.objects.filter(last_pass=second.pk).count() == 0


@pytest.mark.parametrize("outcome", ["won", "lost", "declined"])
def test_no_new_eql_within_30_days_of_any_close(ae, csm, outcome):
    # given an AE-led EQL closed (won, lost or declined) one day after it was created
    account = make_account("SUP", ae=ae, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(account, HOT, end=40)
    scoring_pass_run(as_of=when(0))
    eql = only_open_eql(account)
    if outcome == "won":
        # closed directly: a co-owned win also needs the contribution split, which is not this test's concern
        EQL.objects.filter(pk=eql.pk).update(
            status=EQLStatus.WON, closed_at=when(1), won_arr=Decimal("20000.00"), updated_at=when(1)
        )
    elif outcome == "lost":
        eql_transition(eql_id=eql.pk, user=ae, event="contacted", at=when(0, hour=9))
        eql_transition(eql_id=eql.pk, user=ae, event="lost", at=when(1), reason="price")
    else:
        eql_transition(eql_id=eql.pk, user=ae, event="declined", at=when(1), reason="not_ready")
    eql.refresh_from_db()
    assert (eql.status, eql.closed_at) == (outcome, when(1))

    # when a pass runs 10 days after the close, and another 31 days after it
    during = scoring_pass_run(as_of=when(11))
    assert (during.eqls_created, during.csm_reviews_created) == (0, 0)
    assert open_eqls(account) == []
    after = scoring_pass_run(as_of=when(32))

    # then the account is suppressed inside the window and gets a new EQL after it
    assert after.eqls_created == 1
    fresh = only_open_eql(account)
    assert fresh.pk != eql.pk
    assert fresh.created_at == when(32)
    assert EQL.objects.filter(account=account).count() == 2


def test_a_csm_review_item_is_upgraded_in_place_when_the_account_qualifies(ae, csm):
    # given a CSM review item (exports only) on a 100,000 ARR account
    account = make_account("UPG", ae=ae, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(
        account,
        {
            "export_rows_30d": export_surge,
            "seats_active": lambda o: 48 if o >= 1 else 10,
            "api_calls_30d": lambda o: 90_000 if o >= 1 else 1_000,
        },
        start=-100,
        end=7,
    )
    first = scoring_pass_run(as_of=when(0))
    assert (first.eqls_created, first.csm_reviews_created) == (0, 1)
    review = only_open_eql(account)
    assert (review.route, review.owner_id, review.score) == ("csm_review", csm.pk, 0)

    # when, a week later, seats and API have been hot for 7 days and a pass runs
    second = scoring_pass_run(as_of=when(7))

    # then the same record becomes an AE-led EQL: route, owner and SLA set then
    assert (second.eqls_created, second.csm_reviews_created, second.eqls_updated) == (0, 0, 1)
    eql = only_open_eql(account)
    assert eql.pk == review.pk
    assert eql.route == "ae"
    assert eql.owner_id == ae.pk
    assert eql.csm_id == csm.pk
    assert eql.csm_involvement_required is True
    assert eql.score == 75
    assert eql.primary_signal == "seat_utilisation"
    assert eql.estimated_expansion_arr == Decimal("20000.00")
    assert eql.assigned_at == when(7)
    assert eql.sla_deadline == when(7) + dt.timedelta(hours=24)
    assert eql.created_at == when(0)
    assert [t["signal"] for t in eql.triggered_signals] == [
        "seat_utilisation",
        "api_rate_approach",
        "export_volume",
    ]


# --------------------------------------------------------------------------------------------------
# Routing and owners
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract_arr", "estimate", "route", "involvement", "owner_role", "sla_hours"),
    [
        pytest.param("100000", "20000.00", "ae", True, "AE", 24, id="estimate-20000-ae"),
        pytest.param("50000", "10000.00", "ae", True, "AE", 24, id="estimate-10000-ae"),
        pytest.param("49995", "9999.00", "csm", False, "CSM", 72, id="estimate-9999-csm"),
        pytest.param("48000", "9600.00", "csm", False, "CSM", 72, id="estimate-9600-csm"),
    ],
)
def test_estimate_of_10000_or_more_routes_to_the_ae_otherwise_csm(
    ae, csm, contract_arr, estimate, route, involvement, owner_role, sla_hours
):
    # given a hot seats account (20% uplift) of the given contract ARR
    account = make_account("R", ae=ae, csm=csm, contract_arr=Decimal(contract_arr))
    write_usage(account, HOT)

    # when the pass runs
    scoring_pass_run(as_of=AS_OF)

    # then estimate >= 10,000 goes AE-led with the CSM involved, otherwise CSM-led
    eql = only_open_eql(account)
    assert eql.estimated_expansion_arr == Decimal(estimate)
    assert eql.route == route
    assert eql.csm_involvement_required is involvement
    assert eql.owner_id == (ae.pk if owner_role == "AE" else csm.pk)
    assert eql.csm_id == csm.pk
    assert eql.priority == "high"
    assert eql.review_window_ends_at is None
    assert eql.sla_deadline == when(0) + dt.timedelta(hours=sla_hours)


def test_account_ae_at_capacity_gives_the_least_loaded_other_ae(csm):
    # given the account's AE full (1 of 1), another AE with 2 open, a third with 1 open of 5
    own = make_user("own.ae@example.com", "AE", capacity=1)
    busy = make_user("busy.ae@example.com", "AE")
    light = make_user("light.ae@example.com", "AE", capacity=5)
    hold_open_eqls(own, 1)
    hold_open_eqls(busy, 2)
    hold_open_eqls(light, 1)
    account = make_account("CAP", ae=own, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(account, HOT)

    # when the pass routes the new AE-led EQL
    scoring_pass_run(as_of=AS_OF)

    # then it goes to the least-loaded AE with room
    eql = only_open_eql(account)
    assert eql.route == "ae"
    assert eql.owner_id == light.pk
    assert eql.unassigned is False


def test_nobody_with_capacity_leaves_the_eql_unassigned(csm):
    # given every AE at capacity
    own = make_user("own.ae@example.com", "AE", capacity=1)
    other = make_user("other.ae@example.com", "AE", capacity=0)
    hold_open_eqls(own, 1)
    account = make_account("FULL", ae=own, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(account, HOT)

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the EQL is still created on the AE route, flagged unassigned
    assert scoring_pass.eqls_created == 1
    eql = only_open_eql(account)
    assert eql.route == "ae"
    assert eql.owner_id is None
    assert eql.unassigned is True
    assert eql.assigned_at is None
    assert not EQL.objects.filter(owner=other).exists()


def test_inactive_users_are_never_assigned(csm):
    # given the account's AE and another AE are inactive (and idle); one active AE has 3 open EQLs
    gone = make_user("gone.ae@example.com", "AE", is_active=False)
    idle = make_user("idle.ae@example.com", "AE", is_active=False)
    working = make_user("working.ae@example.com", "AE")
    hold_open_eqls(working, 3)
    inactive_csm = make_user("gone.csm@example.com", "CSM", is_active=False)
    ae_led = make_account("INACT-AE", ae=gone, csm=csm, contract_arr=Decimal("100000.00"))
    csm_led = make_account("INACT-CSM", ae=working, csm=inactive_csm)
    for account in (ae_led, csm_led):
        write_usage(account, HOT)

    # when the pass runs
    scoring_pass_run(as_of=AS_OF)

    # then only active people own the EQLs
    assert only_open_eql(ae_led).owner_id == working.pk
    assert only_open_eql(csm_led).route == "csm"
    assert only_open_eql(csm_led).owner_id == csm.pk
    assert not EQL.objects.filter(owner__in=[gone, idle, inactive_csm]).exists()


# --------------------------------------------------------------------------------------------------
# Commands and the stored evaluation
# --------------------------------------------------------------------------------------------------

SCORE_KEYS = {
    "as_of",
    "accounts_scored",
    "eqls_created",
    "eqls_updated",
    "eqls_unchanged",
    "csm_reviews_created",
    "seconds",
}


def test_score_json_prints_the_contract_summary(ae, csm):
    # given one qualifying account, one watch-only account and one quiet account
    write_usage(make_account("J-hot", ae=ae, csm=csm), HOT)
    write_usage(make_account("J-watch", ae=ae, csm=csm), {"export_rows_30d": export_surge}, start=-100)
    write_usage(make_account("J-quiet", ae=ae, csm=csm))

    # when ``score --as-of 2026-03-31 --json`` runs twice
    out = StringIO()
    call_command("score", "--as-of", "2026-03-31", "--json", stdout=out)
    again = StringIO()
    call_command("score", "--as-of", "2026-03-31", "--json", stdout=again)

    # then it prints the contract's keys with the pass's counts
    summary = json.loads(out.getvalue())
    assert set(summary) >= SCORE_KEYS
    assert {k: summary[k] for k in SCORE_KEYS - {"seconds"}} == {
        "as_of": "2026-03-31",
        "accounts_scored": 3,
        "eqls_created": 1,
        "eqls_updated": 0,
        "eqls_unchanged": 0,
        "csm_reviews_created": 1,
    }
    assert isinstance(summary["seconds"], float)
    assert summary["seconds"] >= 0
    repeat = json.loads(again.getvalue())
    assert (repeat["eqls_created"], repeat["eqls_updated"], repeat["eqls_unchanged"]) == (0, 0, 2)


def test_list_eqls_json_prints_contract_records(ae, csm):
    # given an AE-led EQL from a pass
    account = make_account("L-1", ae=ae, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(account, HOT)
    summary = pass_summary(scoring_pass_run(as_of=AS_OF))
    assert summary["eqls_created"] == 1

    # when ``list_eqls --json`` runs
    out = StringIO()
    call_command("list_eqls", "--json", stdout=out)

    # then each record has the contract's keys and values
    records = json.loads(out.getvalue())
    assert len(records) == 1
    record = records[0]
    assert set(record) >= set(CONTRACT_KEYS)
    eql = only_open_eql(account)
    assert {k: record[k] for k in set(CONTRACT_KEYS) - {"opening_angle"}} == {
        "id": eql.pk,
        "account_id": "L-1",
        "account_name": "L-1 Ltd",
        "status": "new",
        "score": 75,
        "primary_signal": "seat_utilisation",
        "triggered_signals": [
            {"signal": "seat_utilisation", "value": 0.96, "threshold": 0.9, "points": 40},
            {"signal": "api_rate_approach", "value": 0.9, "threshold": 0.85, "points": 35},
        ],
        "route": "ae",
        "owner_email": ae.email,
        "csm_email": csm.email,
        "csm_involvement_required": True,
        "contract_arr": 100000.0,
        "estimated_expansion_arr": 20000.0,
        "estimate_source": "default",
        "last_csm_activity_at": None,
        "created_at": when(0).isoformat(),
        "updated_at": when(0).isoformat(),
        "sla_deadline": (when(0) + dt.timedelta(hours=24)).isoformat(),
        "review_window_ends_at": None,
        "closed_at": None,
    }
    assert record["opening_angle"].startswith("L-1 Ltd has had 48 of 50 seats in use (96%)")
    assert "{" not in record["opening_angle"]


def test_stored_evaluation_explains_every_signal(ae, csm):
    # given seats and API hot, automation under its threshold, departments flat
    account = make_account("EXPLAIN", ae=ae, csm=csm, contract_arr=Decimal("100000.00"))
    write_usage(
        account, {**HOT, "automation_workflows": 12, "gated_feature_views_14d:reports": 1}, start=-100
    )

    # when the pass runs
    scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the EQL keeps each signal's value, threshold, points and whether it fired
    eql = only_open_eql(account)
    evaluation = eql.evaluation
    assert evaluation["as_of"] == when(0).isoformat()
    assert evaluation["score"] == 75
    assert evaluation["score_threshold"] == 60
    assert evaluation["gates"] == {"blocked_by": "", "self_serve": False}
    assert evaluation["estimate"] == {
        "contract_arr": 100000.0,
        "uplift": 0.2,
        "source": "default",
        "floor_pct": 0.15,
    }
    assert evaluation["route_rule"] == "Estimate at least 10,000: AE with CSM"
    signals = {s["signal"]: s for s in evaluation["signals"]}
    assert set(signals) == {
        "seat_utilisation",
        "api_rate_approach",
        "feature_adjacency",
        "automation_depth",
        "team_spread",
        "export_volume",
    }
    expected = {
        "seat_utilisation": (0.96, 0.9, 40, True),
        "api_rate_approach": (0.9, 0.85, 35, True),
        "feature_adjacency": (1.0, 3.0, 25, False),
        "automation_depth": (12.0, 20.0, 20, False),
        "team_spread": (0.0, 0.0, 20, False),
        "export_volume": (1.0, 3.0, 0, False),
    }
    got = {k: (s["value"], s["threshold"], s["points"], s["fired"]) for k, s in signals.items()}
    assert got == expected
    assert scoring_pass.eqls_created == 1


# --------------------------------------------------------------------------------------------------
# The contract example (/work/shared/checks/contract_check.py)
# --------------------------------------------------------------------------------------------------


def test_contract_example_routes_every_account_as_expected(tmp_path, contract_check):
    # given the contract check's six-account export, imported with import_data
    expected = contract_check.example_rules(tmp_path / "rules")
    call_command("import_data", str(tmp_path / "rules"), stdout=StringIO())

    # when ``score --as-of 2026-03-31`` runs
    call_command("score", "--as-of", "2026-03-31", stdout=StringIO())

    # then every account has the expected route (or no EQL)
    got = dict(EQL.objects.filter(status__in=OPEN_STATUSES).values_list("account__account_id", "route"))
    assert {a: got.get(a, "none") for a in expected} == expected
    assert EQL.objects.filter(status=EQLStatus.NEW).count() == len(
        [r for r in expected.values() if r != "none"]
    )
