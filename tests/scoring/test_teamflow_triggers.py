"""Seed 003's TeamFlow triggers A-E as shipped in presets/teamflow.yaml, on hand-built accounts through
the hourly pass (and, for A, the events API): each fires, does not fire one day short, waits for its
timing, honours its cooldown, and routes as the playbook says.

AS_OF (2026-03-31) is a Tuesday; New York is on EDT then (UTC-4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from expansion.models import EQL, OPEN_STATUSES, Account, Metric, UsageSnapshot, User
from expansion.services import events_ingest
from routing.services import eql_transition
from scoring.config_files import config_apply
from scoring.models import EqlPolicy, ScoringPass, TriggerCrossing
from scoring.services import account_explain, explain_text, scoring_pass_run

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 31)
PRESET = Path(settings.BASE_DIR) / "presets" / "teamflow.yaml"
#: Nothing fires: 20 of 50 seats, no integration views, one power user.
QUIET = {"seats_active": 20, "integration_page_views_30d": 0, "power_users": 1}


@pytest.fixture(autouse=True)
def teamflow(db):
    text = PRESET.read_text()
    result = config_apply(text=text, name="presets/teamflow.yaml", dry_run=False, backtest=False)
    assert result.ok, result.errors


@pytest.fixture
def people():
    ae = User.objects.create(username="ae@tf.example", email="ae@tf.example", name="AE", role="AE")
    csm = User.objects.create(username="csm@tf.example", email="csm@tf.example", name="CSM", role="CSM")
    return ae, csm


def utc(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def day(offset: int) -> dt.date:
    return AS_OF + dt.timedelta(days=offset)


def account(account_id: str, people, **fields) -> Account:
    ae, csm = people
    values = {
        "name": f"{account_id} Inc",
        "segment": "MidMarket",
        "plan_tier": "Professional",
        "contract_arr": Decimal("18000.00"),
        "customer_since": AS_OF - dt.timedelta(days=200),
        "seats_licensed": 50,
        "api_limit_30d": 100_000,
        "owned_modules": [],
        "health_score": 80,
        "status": "active",
        "timezone": "America/New_York",
        **fields,
    }
    return Account.objects.create(account_id=account_id, ae=ae, csm=csm, **values)


def usage(acc: Account, metrics: dict, *, first: int, last: int, end: dt.date = AS_OF) -> None:
    """QUIET overridden by ``metrics`` (a value or a function of the day offset) from end+first to
    end+last."""
    rows = []
    for name, spec in {**QUIET, **metrics}.items():
        metric, _ = Metric.objects.get_or_create(name=name)
        for offset in range(first, last + 1):
            value = spec(offset) if callable(spec) else spec
            rows.append(
                UsageSnapshot(account=acc, metric=metric, date=end + dt.timedelta(days=offset), value=value)
            )
    UsageSnapshot.objects.bulk_create(rows)


def open_eql(acc: Account) -> EQL | None:
    return EQL.objects.filter(account=acc, status__in=OPEN_STATUSES).first()


def close(eql: EQL, *, at: dt.datetime) -> None:
    """The owner declines the EQL (bad timing): it closes and the suppression window starts."""
    eql_transition(eql_id=eql.pk, user=eql.owner, event="declined", at=at, reason="bad_timing")


# --------------------------------------------------------------------------------------------------
# A: invite_blocked_seat_limit event -> at once (the on-arrival task), no cooldown, self-serve
# --------------------------------------------------------------------------------------------------


def _event(acc: Account, event_id: str, at: dt.datetime) -> dict:
    return {
        "event_id": event_id,
        "account_id": acc.account_id,
        "occurred_at": at.isoformat(),
        "event": "invite_blocked_seat_limit",
        "properties": {"source": "invite_dialog"},
    }


def test_a_blocked_invite_creates_a_self_serve_eql_within_the_arrival_task(
    people, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    acc = account("TF-A", people, plan_tier="Starter", segment="SMB", admin_email="admin@tf-a.example")
    usage(acc, {"seats_active": 50}, first=-9, last=0, end=today)
    passes = ScoringPass.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        result = events_ingest(rows=[_event(acc, "ev-1", timezone.now() - dt.timedelta(minutes=3))], by=None)

    assert result.created == 1
    eql = open_eql(acc)
    assert eql is not None, "the on-arrival task scored the account"
    assert (eql.primary_signal, eql.route, eql.priority) == ("seat_expansion_urgent", "self_serve", "high")
    # the self-serve motion: the templated message went to the account's admin contact
    sent = [m for m in mail.outbox if "admin@tf-a.example" in m.to]
    assert len(sent) == 1
    assert "just tried to invite a teammate and hit the seat limit" in sent[0].body
    arrival = ScoringPass.objects.order_by("-pk").first()
    assert ScoringPass.objects.count() == passes + 1
    assert arrival.trigger == "events"
    assert arrival.accounts_scored == 1


def test_a_an_event_outside_its_day_fires_nothing_and_a_duplicate_never_makes_a_second_eql(
    people, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    old = account("TF-A-old", people, plan_tier="Starter")
    usage(old, {"seats_active": 50}, first=-9, last=0, end=today)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(rows=[_event(old, "ev-old", timezone.now() - dt.timedelta(days=2))], by=None)
    assert open_eql(old) is None

    acc = account("TF-A-twice", people, plan_tier="Starter")
    usage(acc, {"seats_active": 50}, first=-9, last=0, end=today)
    for n in range(2):  # no cooldown: a second blocked invite is scored again, dedup keeps one EQL
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(rows=[_event(acc, f"ev-{n}", timezone.now() - dt.timedelta(minutes=1))], by=None)
    assert EQL.objects.filter(account=acc).count() == 1


def test_a_an_urgent_event_raises_the_priority_of_an_open_eql_never_a_second_one(
    people, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    acc = account("TF-A-open", people, plan_tier="Business", contract_arr=Decimal("40000.00"))
    usage(acc, {"seats_active": 41}, first=-9, last=0, end=today)  # 82% on Business, over 25,000: E
    scoring_pass_run(as_of=timezone.now() - dt.timedelta(minutes=5))
    eql = open_eql(acc)
    EQL.objects.filter(pk=eql.pk).update(priority="medium")  # as if opened by a medium trigger

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(rows=[_event(acc, "ev-open", timezone.now() - dt.timedelta(minutes=1))], by=None)

    assert EQL.objects.filter(account=acc).count() == 1
    eql.refresh_from_db()
    assert eql.priority == "high"
    assert {t["signal"] for t in eql.triggered_signals} >= {"seat_expansion_urgent", "enterprise_expansion"}


# --------------------------------------------------------------------------------------------------
# B: seats > 85% for 7 days -> next business day 10:00 in the account's zone, cooldown 30 days
# --------------------------------------------------------------------------------------------------


def test_b_fires_the_next_business_day_at_ten_in_the_accounts_time_zone(people):
    acc = account("TF-B", people, plan_tier="Starter", timezone="America/New_York")
    usage(acc, {"seats_active": lambda o: 44 if o >= -6 else 20}, first=-20, last=1)  # 88% for 7 days

    scoring_pass_run(as_of=utc(day(0), 15))  # Tue 11:00 in New York: first seen
    assert open_eql(acc) is None
    assert TriggerCrossing.objects.get(account=acc).first_seen_at == utc(day(0), 15)
    scoring_pass_run(as_of=utc(day(1), 13))  # Wed 09:00 New York
    assert open_eql(acc) is None
    scoring_pass_run(as_of=utc(day(1), 14))  # Wed 10:00 New York

    eql = open_eql(acc)
    assert (eql.primary_signal, eql.route) == ("seat_expansion_proactive", "self_serve")


def test_b_the_account_page_says_when_a_waiting_trigger_counts(people):
    acc = account("TF-B-why", people, plan_tier="Starter", timezone="America/New_York")
    usage(acc, {"seats_active": 44}, first=-20, last=1)
    scoring_pass_run(as_of=utc(day(0), 15))
    explanation = account_explain(account_pk=acc.pk, as_of=utc(day(0), 16))
    seat = next(s for s in explanation["signals"] if s["signal"].startswith("Seat expansion (proactive)"))
    assert seat["waiting_until"] == "2026-04-01T10:00:00-04:00"
    assert "fires, counts from 2026-04-01 10:00 (its timing)" in explain_text(explanation)


def test_b_the_delivery_hour_is_local_to_each_account(people):
    berlin = account("TF-B-berlin", people, plan_tier="Starter", timezone="Europe/Berlin")  # CEST, UTC+2
    usage(berlin, {"seats_active": 44}, first=-20, last=1)
    scoring_pass_run(as_of=utc(day(0), 15))
    scoring_pass_run(as_of=utc(day(1), 7))  # Wed 09:00 Berlin
    assert open_eql(berlin) is None
    scoring_pass_run(as_of=utc(day(1), 8))  # Wed 10:00 Berlin
    assert open_eql(berlin) is not None


def test_b_a_friday_crossing_waits_for_monday(people):
    friday = AS_OF + dt.timedelta(days=3)  # 2026-04-03
    acc = account("TF-B-fri", people, plan_tier="Starter", timezone="America/New_York")
    usage(acc, {"seats_active": 44}, first=-20, last=6)
    scoring_pass_run(as_of=utc(friday, 15))
    scoring_pass_run(as_of=utc(friday + dt.timedelta(days=1), 15))  # Saturday 11:00
    assert open_eql(acc) is None
    scoring_pass_run(as_of=utc(friday + dt.timedelta(days=3), 14))  # Monday 10:00
    assert open_eql(acc) is not None


def test_b_does_not_fire_one_day_short(people):
    acc = account("TF-B-short", people, plan_tier="Starter")
    usage(acc, {"seats_active": lambda o: 44 if o >= -5 else 20}, first=-20, last=0)  # 6 days
    scoring_pass_run(as_of=utc(day(0), 15))
    scoring_pass_run(as_of=utc(day(1), 15))
    assert open_eql(acc) is None
    assert not TriggerCrossing.objects.filter(account=acc).exists()


def test_b_its_cooldown_blocks_a_new_eql_for_30_days_after_the_last(people):
    EqlPolicy.objects.update(suppression_days=1)  # the global suppression alone would allow it again
    acc = account("TF-B-cool", people, plan_tier="Starter")
    usage(acc, {"seats_active": 44}, first=-20, last=32)
    scoring_pass_run(as_of=utc(day(0), 15))
    scoring_pass_run(as_of=utc(day(1), 15))
    eql = open_eql(acc)
    assert eql is not None
    close(eql, at=utc(day(2), 12))

    scoring_pass_run(as_of=utc(day(10), 15))
    assert open_eql(acc) is None, "within 30 days of its last EQL the trigger is cooling down"
    scoring_pass_run(as_of=utc(day(32), 15))
    assert open_eql(acc) is not None


# --------------------------------------------------------------------------------------------------
# C: integration views > 3 (30 days) and tier Starter/Professional -> 48 h later; CSM mid-market,
#    self-serve SMB
# --------------------------------------------------------------------------------------------------


def test_c_waits_48_hours_then_routes_mid_market_to_the_csm_and_smb_to_self_serve(people):
    mid = account("TF-C-mid", people, segment="MidMarket", plan_tier="Professional")
    smb = account("TF-C-smb", people, segment="SMB", plan_tier="Starter")
    business = account("TF-C-biz", people, segment="MidMarket", plan_tier="Business")
    for acc in (mid, smb, business):
        usage(acc, {"integration_page_views_30d": 5}, first=-9, last=3)

    scoring_pass_run(as_of=utc(day(0), 9))
    scoring_pass_run(as_of=utc(day(2), 8))  # 47 h
    assert open_eql(mid) is None
    assert open_eql(smb) is None
    scoring_pass_run(as_of=utc(day(2), 9))  # 48 h after it first fired

    assert (open_eql(mid).primary_signal, open_eql(mid).route) == ("tier_upgrade_integrations", "csm")
    assert open_eql(smb).route == "self_serve"
    assert open_eql(business) is None, "Business is outside the trigger's tiers"


def test_c_three_views_is_not_more_than_three(people):
    acc = account("TF-C-three", people)
    usage(acc, {"integration_page_views_30d": 3}, first=-9, last=3)
    scoring_pass_run(as_of=utc(day(0), 9))
    scoring_pass_run(as_of=utc(day(2), 9))
    assert open_eql(acc) is None


def test_c_a_pause_in_interest_restarts_the_48_hours(people):
    acc = account("TF-C-pause", people)
    usage(acc, {"integration_page_views_30d": lambda o: 0 if o == 1 else 5}, first=-9, last=4)
    scoring_pass_run(as_of=utc(day(0), 9))
    scoring_pass_run(as_of=utc(day(1), 9))  # the views dropped: the crossing is forgotten
    assert not TriggerCrossing.objects.filter(account=acc).exists()
    scoring_pass_run(as_of=utc(day(2), 9))  # crossed again
    scoring_pass_run(as_of=utc(day(3), 9))
    assert open_eql(acc) is None
    scoring_pass_run(as_of=utc(day(4), 9))
    assert open_eql(acc) is not None


# --------------------------------------------------------------------------------------------------
# D: power users >= 3 for 14 days and tier Starter/Professional -> next business day, CSM
# --------------------------------------------------------------------------------------------------


def test_d_fires_after_14_days_and_goes_to_the_csm(people):
    acc = account("TF-D", people, plan_tier="Starter")
    usage(acc, {"power_users": lambda o: 3 if o >= -13 else 1}, first=-30, last=1)
    scoring_pass_run(as_of=utc(day(0), 15))
    scoring_pass_run(as_of=utc(day(1), 13))  # Wed 09:00 New York
    eql = open_eql(acc)
    assert (eql.primary_signal, eql.route) == ("tier_upgrade_power_users", "csm")


def test_d_does_not_fire_one_day_short(people):
    acc = account("TF-D-short", people, plan_tier="Starter")
    usage(acc, {"power_users": lambda o: 3 if o >= -12 else 1}, first=-30, last=1)  # 13 days
    scoring_pass_run(as_of=utc(day(0), 15))
    scoring_pass_run(as_of=utc(day(1), 15))
    assert open_eql(acc) is None


# --------------------------------------------------------------------------------------------------
# E: tier Business and seats > 80% and contract > 25,000 -> AE + CSM joint, cooldown 90 days
# --------------------------------------------------------------------------------------------------


def test_e_routes_a_large_business_account_to_the_ae_with_the_csm(people):
    ae, csm = people
    acc = account("TF-E", people, plan_tier="Business", contract_arr=Decimal("40000.00"))
    usage(acc, {"seats_active": 41}, first=-9, last=0)  # 82%
    scoring_pass_run(as_of=utc(day(0), 15))
    eql = open_eql(acc)
    assert (eql.primary_signal, eql.route) == ("enterprise_expansion", "joint")
    assert (eql.owner_id, eql.csm_id) == (ae.pk, csm.pk)
    assert eql.csm_involvement_required


def test_e_needs_every_condition(people):
    small = account("TF-E-small", people, plan_tier="Business", contract_arr=Decimal("25000.00"))
    starter = account("TF-E-starter", people, plan_tier="Professional", contract_arr=Decimal("40000.00"))
    at_80 = account("TF-E-80", people, plan_tier="Business", contract_arr=Decimal("40000.00"))
    usage(small, {"seats_active": 41}, first=-9, last=0)
    usage(starter, {"seats_active": 41}, first=-9, last=0)
    usage(at_80, {"seats_active": 40}, first=-9, last=0)  # exactly 80% is not more than 80%
    scoring_pass_run(as_of=utc(day(0), 15))
    assert open_eql(small) is None
    assert open_eql(at_80) is None
    assert open_eql(starter) is None or open_eql(starter).primary_signal != "enterprise_expansion"


def test_e_cooldown_outlasts_the_suppression(people):
    EqlPolicy.objects.update(suppression_days=30)
    acc = account("TF-E-cool", people, plan_tier="Business", contract_arr=Decimal("40000.00"))
    usage(acc, {"seats_active": 41}, first=-9, last=95)
    scoring_pass_run(as_of=utc(day(0), 15))
    eql = open_eql(acc)
    close(eql, at=utc(day(1), 12))
    scoring_pass_run(as_of=utc(day(45), 15))  # past the 30-day suppression, inside 90 days
    assert open_eql(acc) is None
    scoring_pass_run(as_of=utc(day(91), 15))
    assert open_eql(acc) is not None
