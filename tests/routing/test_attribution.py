"""Finance's split-credit log (domain.md, "Split-credit activity log").

Rules are pure (``routing.attribution.rules``); ``attribution_services`` writes the append-only hash
chain when ``eql_transition`` records a win; ``verify_attribution`` recomputes it; the Finance pages
read it (``dashboards.attribution_views``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import threading
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.db.models import ProtectedError, Sum
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from dashboards.history import TRACKED
from expansion.models import EQL, Activity, AttributionEntry, Role
from routing.attribution import rules
from routing.attribution import services as attribution_services
from routing.attribution.rules import Deal, Person, SplitRefused
from routing.lifecycle import TransitionError
from routing.management.commands.verify_attribution import Command as VerifyCommand
from routing.models import RoutingRule
from routing.services import eql_transition
from scoring.models import EqlPolicy, SignalDefinition
from tests.factories import AccountFactory, ActivityFactory, EQLFactory, UserFactory
from tests.routing.tampering import owner_bypassing_the_trigger

UTC = dt.UTC
CREATED = dt.datetime(2025, 1, 2, 9, 0, tzinfo=UTC)


def at(month: int, day: int = 15, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, 12, 0, tzinfo=UTC)


# --- pure rules -----------------------------------------------------------------------------------

OWNER = Person(1, "ae@example.com", "AE")
CSM = Person(2, "csm@example.com", "CSM")
AE2 = Person(3, "ae2@example.com", "AE")
OTHER_CSM = Person(4, "csm2@example.com", "CSM")
GONE = Person(5, "gone@example.com", "AE", active=False)
STRANGER = Person(6, "stranger@example.com", "AE")
PEOPLE = {p.email: p for p in (OWNER, CSM, AE2, OTHER_CSM, GONE, STRANGER)}


def deal(route="ae", involvement=False, owner=OWNER, **kw) -> Deal:
    values = {
        "eql_id": 1,
        "route": route,
        "csm_involvement_required": involvement,
        "amount": Decimal("12000.00"),
        "owner": owner,
        "eql_csm": CSM,
        "account_ae": OWNER,
        "account_csm": CSM,
    }
    return Deal(**{**values, **kw})


def summary(credits) -> list[tuple]:
    return [(c.person.email, c.credit_type, c.percent, c.amount, c.rule) for c in credits]


def test_ae_owned_gives_the_owner_full_quota_and_the_book_csm_attainment():
    # when
    credits = rules.credits_for_win(deal(), None, PEOPLE)

    # then
    assert summary(credits) == [
        ("ae@example.com", "quota", 100, Decimal("12000.00"), "ae_owner"),
        ("csm@example.com", "attainment", 100, Decimal("12000.00"), "book_csm"),
    ]


def test_co_owned_splits_quota_by_the_entered_contribution_and_keeps_book_attainment():
    # when
    splits = [{"email": "AE@example.com", "percent": 60}, {"email": "csm@example.com", "percent": 40}]
    credits = rules.credits_for_win(deal(involvement=True), splits, PEOPLE)

    # then
    assert summary(credits) == [
        ("ae@example.com", "quota", 60, Decimal("7200.00"), "co_owned_split"),
        ("csm@example.com", "quota", 40, Decimal("4800.00"), "co_owned_split"),
        ("csm@example.com", "attainment", 100, Decimal("12000.00"), "book_csm"),
    ]


@pytest.mark.parametrize("route", ["csm", "self_serve", "csm_review"])
def test_csm_led_routes_give_the_csm_owner_attainment_only(route):
    # when the owner is the book's CSM, and when another CSM owns it
    same = rules.credits_for_win(deal(route=route, owner=CSM), None, PEOPLE)
    other = rules.credits_for_win(deal(route=route, owner=OTHER_CSM), None, PEOPLE)

    # then no quota anywhere; one attainment per CSM
    assert summary(same) == [("csm@example.com", "attainment", 100, Decimal("12000.00"), "csm_owner")]
    assert summary(other) == [
        ("csm2@example.com", "attainment", 100, Decimal("12000.00"), "csm_owner"),
        ("csm@example.com", "attainment", 100, Decimal("12000.00"), "book_csm"),
    ]


def test_book_attainment_falls_back_to_the_eqls_csm_and_is_skipped_without_one():
    # when
    fallback = rules.credits_for_win(deal(account_csm=None, eql_csm=OTHER_CSM), None, PEOPLE)
    nobody = rules.credits_for_win(deal(account_csm=None, eql_csm=None), None, PEOPLE)

    # then
    assert [c.person.email for c in fallback] == ["ae@example.com", "csm2@example.com"]
    assert summary(nobody) == [("ae@example.com", "quota", 100, Decimal("12000.00"), "ae_owner")]


#: Every invalid split shape, with the message it is refused with.
BAD_SPLITS = [
    pytest.param(
        [{"email": "ae@example.com", "percent": 60}, {"email": "csm@example.com", "percent": 39}],
        "sums to 99%",
        id="sum-99",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 60}, {"email": "csm@example.com", "percent": 41}],
        "sums to 101%",
        id="sum-101",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 50}, {"email": "AE@example.com ", "percent": 50}],
        "appears more than once",
        id="duplicate-person",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 50}, {"email": "nobody@example.com", "percent": 50}],
        "nobody is registered with the email nobody@example.com",
        id="unknown-email",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 50}, {"email": "gone@example.com", "percent": 50}],
        "gone@example.com is inactive",
        id="inactive-user",
    ),
    pytest.param(
        [
            {"email": "ae@example.com", "percent": 60},
            {"email": "csm@example.com", "percent": -10},
            {"email": "ae2@example.com", "percent": 50},
        ],
        "must not be negative",
        id="negative",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 50.5}, {"email": "csm@example.com", "percent": 49.5}],
        "must be a whole number",
        id="fraction",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": "33.3"}, {"email": "csm@example.com", "percent": 67}],
        "must be a whole number",
        id="fraction-text",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 50}, {"email": "stranger@example.com", "percent": 50}],
        "stranger@example.com is not involved",
        id="not-involved",
    ),
    pytest.param(
        [{"email": "ae@example.com", "percent": 100}, {"email": "csm@example.com", "percent": 0}],
        "from 1 to 100",
        id="zero",
    ),
    pytest.param([{"email": "ae@example.com", "percent": True}], "whole number", id="boolean"),
    pytest.param([{"percent": 100}], "an email is required", id="no-email"),
    pytest.param(None, "this deal is co-owned", id="missing"),
    pytest.param([], "this deal is co-owned", id="empty"),
]


@pytest.mark.parametrize(("splits", "message"), BAD_SPLITS)
def test_an_invalid_split_is_refused_with_a_clear_message(splits, message):
    # when / then
    with pytest.raises(SplitRefused, match=message):
        rules.credits_for_win(deal(involvement=True, account_ae=AE2), splits, PEOPLE)


def test_someone_who_logged_an_activity_on_the_eql_may_share_the_credit():
    # given
    helper = Person(9, "se@example.com", "AE")

    # when
    credits = rules.credits_for_win(
        deal(involvement=True, activity_people=(helper,)),
        [{"email": "ae@example.com", "percent": 70}, {"email": "se@example.com", "percent": 30}],
        {**PEOPLE, helper.email: helper},
    )

    # then
    assert [(c.person.email, c.percent) for c in credits[:2]] == [
        ("ae@example.com", 70),
        ("se@example.com", 30),
    ]


@pytest.mark.parametrize(
    ("route", "splits", "message"),
    [
        (
            "ae",
            [{"email": "ae@example.com", "percent": 50}, {"email": "csm@example.com", "percent": 50}],
            "only recorded for co-owned deals",
        ),
        ("csm", [{"email": "csm@example.com", "percent": 100}], "only recorded for co-owned deals"),
    ],
)
def test_a_split_on_a_deal_that_is_not_co_owned_is_refused(route, splits, message):
    # when / then
    with pytest.raises(SplitRefused, match=message):
        rules.credits_for_win(deal(route=route, owner=OWNER if route == "ae" else CSM), splits, PEOPLE)


def test_the_ae_owned_proposal_sent_back_unchanged_is_accepted():
    # when
    credits = rules.credits_for_win(deal(), [{"email": "ae@example.com", "percent": 100}], PEOPLE)

    # then
    assert summary(credits)[0] == ("ae@example.com", "quota", 100, Decimal("12000.00"), "ae_owner")


def test_an_unowned_ae_deal_cannot_be_credited():
    # when / then
    with pytest.raises(SplitRefused, match="no owner to credit"):
        rules.credits_for_win(deal(owner=None), None, PEOPLE)


def test_the_proposal_follows_the_route():
    # then
    assert rules.proposal_for(deal()).lines == (rules.SplitLine("ae@example.com", 100),)
    co_owned = rules.proposal_for(deal(involvement=True))
    assert (co_owned.split_required, co_owned.lines) == (
        True,
        (rules.SplitLine("ae@example.com", 50), rules.SplitLine("csm@example.com", 50)),
    )
    assert rules.proposal_for(deal(route="csm", owner=CSM)).rule == "csm_owner"


@given(
    cents=st.integers(min_value=1, max_value=10**12),
    cuts=st.lists(st.integers(min_value=1, max_value=99), min_size=0, max_size=6, unique=True),
)
def test_allocated_shares_always_add_up_to_the_amount(cents, cuts):
    # given whole percentages that sum to 100
    bounds = [0, *sorted(c for c in cuts), 100]
    percents = [b - a for a, b in itertools.pairwise(bounds) if b > a]
    amount = Decimal(cents) / 100

    # when
    shares = rules.allocate(amount, percents)

    # then every cent is allocated and each share is within a cent of its exact value
    assert sum(shares) == amount
    assert all(abs(s - amount * p / 100) < Decimal("0.01") for s, p in zip(shares, percents, strict=True))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme Ltd", "Acme Ltd"),
        ("", ""),
        (None, ""),
        (Decimal("-1200.00"), Decimal("-1200.00")),
        (-40, -40),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell, expected):
    # then
    assert rules.csv_safe(cell) == expected


def test_totals_per_person_per_month_and_quarter_net_out_reversals():
    # given
    rows = [
        {"person_id": 1, "period": "2025-01", "credit_type": "quota", "amount": Decimal("100")},
        {"person_id": 1, "period": "2025-02", "credit_type": "quota", "amount": Decimal("50")},
        {"person_id": 1, "period": "2025-02", "credit_type": "quota", "amount": Decimal("-50")},
        {"person_id": 1, "period": "2025-04", "credit_type": "attainment", "amount": Decimal("7")},
        {"person_id": 2, "period": "2025-03", "credit_type": "attainment", "amount": Decimal("30")},
    ]

    # when
    months, quarters = rules.totals(rows)

    # then
    assert [(r.person_id, r.period, r.quota, r.attainment) for r in months] == [
        (1, "2025-01", Decimal("100.00"), Decimal("0.00")),
        (1, "2025-02", Decimal("0.00"), Decimal("0.00")),
        (1, "2025-04", Decimal("0.00"), Decimal("7.00")),
        (2, "2025-03", Decimal("0.00"), Decimal("30.00")),
    ]
    assert [(r.person_id, r.period, r.quota, r.attainment) for r in quarters] == [
        (1, "2025-Q1", Decimal("100.00"), Decimal("0.00")),
        (1, "2025-Q2", Decimal("0.00"), Decimal("7.00")),
        (2, "2025-Q1", Decimal("0.00"), Decimal("30.00")),
    ]


def test_the_chain_names_the_first_edited_or_relinked_entry():
    # given a keyed chain of three
    key = b"k" * 32
    entries, prev = [], rules.GENESIS_HASH
    for i in range(1, 4):
        entry = dict.fromkeys(rules.HASHED_FIELDS)
        entry.update(id=i, amount=Decimal(i), prev_hash=prev, reason=f"r{i}", basis={}, chain_version=2)
        entry["entry_hash"] = prev = rules.entry_hash(entry, key)
        entries.append(entry)

    # when / then
    assert rules.chain_break(entries, key)[0] is None
    edited = [dict(e) for e in entries]
    edited[1]["amount"] = Decimal("999")
    assert rules.chain_break(edited, key)[0].entry_id == 2
    assert "edited" in rules.chain_break(edited, key)[0].reason
    assert rules.chain_break([entries[0], entries[2]], key)[0].entry_id == 3


# --- the service, through eql_transition ----------------------------------------------------------


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER, email="manager@example.com", name="Mo Manager")


@pytest.fixture
def ae(manager):
    return UserFactory(role=Role.AE, email="ae@example.com", name="Ada AE", manager=manager)


@pytest.fixture
def csm(manager):
    return UserFactory(role=Role.CSM, email="csm@example.com", name="Cy CSM", manager=manager)


@pytest.fixture
def finance():
    return UserFactory(role=Role.FINANCE, email="finance@example.com", name="Fin")


@pytest.fixture
def revops():
    return UserFactory(role=Role.REVOPS, email="revops@example.com", name="Rev")


@pytest.fixture
def make_eql(ae, csm):
    def make(route="ae", involvement=False, status="proposal_sent", owner=None, **overrides) -> EQL:
        account = overrides.pop("account", None) or AccountFactory(ae=ae, csm=csm)
        values = {
            "account": account,
            "owner": owner or (ae if route == "ae" else csm),
            "csm": csm,
            "route": route,
            "csm_involvement_required": involvement,
            "status": status,
            "created_at": CREATED,
            "priority": "high",
            "estimated_expansion_arr": Decimal("14400.00") if involvement else Decimal("9600.00"),
            "evaluation": {"route_rule": "Estimate at least 10,000: AE with CSM"} if involvement else {},
        }
        return EQLFactory(**{**values, **overrides})

    return make


def win(eql, user, amount="12000.00", when=None, splits=None, note=""):
    # As in production the head is anchored when the transaction commits (here: the test's savepoint).
    with TestCase.captureOnCommitCallbacks(execute=True):
        return eql_transition(
            eql_id=eql.pk,
            user=user,
            event="won",
            at=when or at(3),
            expansion_arr=Decimal(amount),
            splits=splits,
            note=note,
        )


def entries_of(eql) -> list[tuple]:
    return list(
        AttributionEntry.objects.filter(eql=eql)
        .order_by("id")
        .values_list("person__email", "credit_type", "percent", "amount", "rule")
    )


@pytest.mark.django_db
def test_winning_an_ae_owned_eql_records_quota_and_book_attainment(make_eql, ae, csm):
    # given
    eql = make_eql()

    # when
    win(eql, ae, when=at(3, 31))

    # then
    assert entries_of(eql) == [
        ("ae@example.com", "quota", 100, Decimal("12000.00"), "ae_owner"),
        ("csm@example.com", "attainment", 100, Decimal("12000.00"), "book_csm"),
    ]
    first = AttributionEntry.objects.filter(eql=eql).first()
    assert (first.period, first.closed_at, first.recorded_by, first.account_id, first.role) == (
        "2025-03",
        at(3, 31),
        ae,
        eql.account_id,
        "AE",
    )
    assert first.prev_hash == rules.GENESIS_HASH
    assert EQL.objects.get(pk=eql.pk).status == "won"


@pytest.mark.django_db
def test_winning_a_co_owned_eql_records_the_entered_split_and_its_basis(make_eql, ae, csm):
    # given a co-owned EQL (AE-led, CSM involvement required above the 10,000 threshold)
    eql = make_eql(involvement=True)
    split = [{"email": "ae@example.com", "percent": 70}, {"email": "csm@example.com", "percent": 30}]

    # when
    win(eql, ae, amount="15000.00", splits=split, note="CSM ran the QBR")

    # then
    assert entries_of(eql) == [
        ("ae@example.com", "quota", 70, Decimal("10500.00"), "co_owned_split"),
        ("csm@example.com", "quota", 30, Decimal("4500.00"), "co_owned_split"),
        ("csm@example.com", "attainment", 100, Decimal("15000.00"), "book_csm"),
    ]
    basis = AttributionEntry.objects.filter(eql=eql).first().basis
    assert basis["split"] == split
    assert (basis["route"], basis["csm_involvement_required"], basis["co_owned_threshold"]) == (
        "ae",
        True,
        "10000.00",
    )
    assert basis["route_rule_conditions"] == "estimate ≥ $10,000.00"
    assert (basis["won_arr"], basis["closer"], basis["note"]) == (
        "15000.00",
        "ae@example.com",
        "CSM ran the QBR",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["csm", "self_serve"])
def test_winning_a_csm_led_eql_gives_the_csm_attainment_only(make_eql, csm, route):
    # given
    eql = make_eql(route=route)

    # when
    win(eql, csm, amount="5000")

    # then
    assert entries_of(eql) == [("csm@example.com", "attainment", 100, Decimal("5000.00"), "csm_owner")]


@pytest.fixture
def co_owned_setup(make_eql, ae, csm):
    """A co-owned EQL, an inactive user and an outsider, for the refusal cases."""
    UserFactory(role=Role.AE, email="gone@example.com", is_active=False)
    UserFactory(role=Role.AE, email="stranger@example.com")
    return make_eql(involvement=True)


@pytest.mark.django_db
@pytest.mark.parametrize(("splits", "message"), BAD_SPLITS)
def test_a_refused_split_refuses_the_win_and_writes_nothing(co_owned_setup, ae, splits, message):
    # given
    eql = co_owned_setup
    # the inactive user is made "involved" so that only inactivity refuses them
    Activity.objects.create(
        activity_id="inactive-touch",
        account=eql.account,
        occurred_at=CREATED,
        type="call",
        actor=type(ae).objects.get(email="gone@example.com"),
        eql=eql,
    )
    before = EQL.objects.filter(pk=eql.pk).values().get()
    activities = Activity.objects.count()

    # when
    with pytest.raises(TransitionError, match=message):
        win(eql, ae, splits=splits)

    # then nothing was written and the EQL is still open
    assert AttributionEntry.objects.count() == 0
    assert Activity.objects.count() == activities
    assert EQL.objects.filter(pk=eql.pk).values().get() == before
    assert EQL.objects.get(pk=eql.pk).status == "proposal_sent"


@pytest.mark.django_db
def test_a_split_with_someone_who_worked_the_eql_is_accepted(make_eql, ae, csm):
    # given a solutions engineer who logged a call on the EQL
    se = UserFactory(role=Role.AE, email="se@example.com")
    eql = make_eql(involvement=True)
    ActivityFactory(account=eql.account, actor=se, eql=eql)

    # when
    win(
        eql,
        ae,
        splits=[{"email": "ae@example.com", "percent": 80}, {"email": "se@example.com", "percent": 20}],
    )

    # then
    assert [(e, p) for e, t, p, *_ in entries_of(eql) if t == "quota"] == [
        ("ae@example.com", 80),
        ("se@example.com", 20),
    ]


@pytest.mark.django_db
def test_a_split_on_another_event_is_refused(make_eql, ae):
    # given
    eql = make_eql(status="contacted")

    # when / then
    with pytest.raises(TransitionError, match="only when the EQL is won"):
        eql_transition(
            eql_id=eql.pk, user=ae, event="call_booked", splits=[{"email": "ae@example.com", "percent": 100}]
        )
    assert EQL.objects.get(pk=eql.pk).status == "contacted"


@pytest.mark.django_db
def test_finance_cannot_win_an_eql(make_eql, finance):
    # given
    eql = make_eql()

    # when / then
    with pytest.raises(PermissionError):
        win(eql, finance)
    assert AttributionEntry.objects.count() == 0


# --- append-only ----------------------------------------------------------------------------------


@pytest.fixture
def logged(make_eql, ae):
    eql = make_eql()
    win(eql, ae)
    return eql


@pytest.mark.django_db
def test_an_entry_cannot_be_saved_again_or_deleted(logged):
    # given
    entry = AttributionEntry.objects.first()
    entry.amount = Decimal("1.00")

    # when / then
    with pytest.raises(PermissionDenied, match="append-only"):
        entry.save()
    with pytest.raises(PermissionDenied, match="append-only"):
        entry.save(update_fields=["amount"])
    with pytest.raises(PermissionDenied, match="append-only"):
        entry.delete()
    assert AttributionEntry.objects.get(pk=entry.pk).amount == Decimal("12000.00")


@pytest.mark.django_db
def test_the_queryset_refuses_update_delete_and_bulk_writes(logged):
    # given
    qs = AttributionEntry.objects.all()
    entry = qs.first()

    # when / then
    with pytest.raises(PermissionDenied, match="append-only"):
        qs.update(amount=Decimal("1.00"))
    with pytest.raises(PermissionDenied, match="append-only"):
        AttributionEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionDenied, match="append-only"):
        AttributionEntry.objects.bulk_update([entry], ["amount"])
    with pytest.raises(PermissionDenied, match="hash chain"):
        AttributionEntry.objects.bulk_create([AttributionEntry()])
    with pytest.raises(PermissionDenied, match="hash chain"):
        AttributionEntry(eql=entry.eql, account=entry.account, person=entry.person).save()
    assert AttributionEntry.objects.count() == 2


@pytest.mark.django_db
def test_deleting_a_credited_eql_or_person_is_refused(logged, ae):
    # when / then
    with pytest.raises(ProtectedError):
        EQL.objects.filter(pk=logged.pk).delete()
    with pytest.raises(ProtectedError):
        ae.delete()
    assert AttributionEntry.objects.count() == 2


@pytest.mark.django_db
def test_the_service_records_a_win_once_and_offers_no_update_or_delete(logged, ae):
    # when / then
    with pytest.raises(SplitRefused, match="already recorded; record a correction"):
        attribution_services.credit_record(
            eql=logged, amount=Decimal("1"), closed_at=at(3), recorded_by=ae, splits=None
        )
    public = {name for name in dir(attribution_services) if name.startswith("credit_")}
    assert public == {"credit_correct", "credit_proposal", "credit_record"}
    assert AttributionEntry.objects.count() == 2


@pytest.mark.django_db
def test_admin_is_read_only_even_for_a_superuser(logged):
    # given
    admin_user = UserFactory(role="", email="root@example.com", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin_user)
    entry = AttributionEntry.objects.first()
    change = reverse("admin:expansion_attributionentry_change", args=[entry.pk])
    model_admin = admin_site._registry[AttributionEntry]
    request = type("R", (), {"user": admin_user})()

    # when
    listing = client.get(reverse("admin:expansion_attributionentry_changelist"))
    page = client.get(change)
    posted = client.post(change, {"amount": "1.00", "reason": "hack", "percent": "1"})
    added = client.post(reverse("admin:expansion_attributionentry_add"), {"amount": "1"})
    deleted = client.post(
        reverse("admin:expansion_attributionentry_delete", args=[entry.pk]), {"post": "yes"}
    )

    # then
    assert (listing.status_code, page.status_code) == (200, 200)
    assert b'name="_save"' not in page.content
    assert (posted.status_code, added.status_code, deleted.status_code) == (403, 403, 403)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert AttributionEntry.objects.get(pk=entry.pk).amount == Decimal("12000.00")
    assert AttributionEntry.objects.count() == 2


# --- corrections ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_correction_reverses_and_replaces_and_keeps_the_totals_right(make_eql, ae, csm, revops):
    # given a co-owned win split 70/30 that should have been 60/40
    eql = make_eql(involvement=True)
    win(
        eql,
        ae,
        splits=[{"email": "ae@example.com", "percent": 70}, {"email": "csm@example.com", "percent": 30}],
    )
    ae_entry = AttributionEntry.objects.get(eql=eql, person=ae, credit_type="quota")

    # when
    reversal, replacement = attribution_services.credit_correct(
        entry_id=ae_entry.pk, recorded_by=revops, reason="Split agreed 60/40 in the deal desk", percent=60
    )

    # then the reversal points at the original with negative values; the replacement carries the fix
    assert (reversal.corrects_id, reversal.percent, reversal.amount, reversal.rule) == (
        ae_entry.pk,
        -70,
        Decimal("-8400.00"),
        "reversal",
    )
    assert (replacement.corrects_id, replacement.percent, replacement.amount, replacement.person_id) == (
        ae_entry.pk,
        60,
        Decimal("7200.00"),
        ae.pk,
    )
    assert reversal.reason == replacement.reason == "Split agreed 60/40 in the deal desk"
    trio = AttributionEntry.objects.filter(pk__in=[ae_entry.pk, reversal.pk, replacement.pk])
    assert trio.aggregate(a=Sum("amount"), p=Sum("percent")) == {"a": Decimal("7200.00"), "p": 60}
    assert AttributionEntry.objects.get(pk=ae_entry.pk).amount == Decimal("8400.00")  # original untouched
    call_command("verify_attribution", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_correction_can_move_credit_to_another_person(make_eql, ae, csm, revops, manager):
    # given
    eql = make_eql()
    win(eql, ae)
    entry = AttributionEntry.objects.get(eql=eql, credit_type="quota")

    # when
    _, replacement = attribution_services.credit_correct(
        entry_id=entry.pk, recorded_by=revops, reason="Manager closed it", person_email="MANAGER@example.com"
    )

    # then
    net = dict(
        AttributionEntry.objects.filter(credit_type="quota")
        .values_list("person__email")
        .annotate(total=Sum("amount"))
        .values_list("person__email", "total")
    )
    assert net == {"ae@example.com": Decimal("0.00"), "manager@example.com": Decimal("12000.00")}
    assert replacement.role == "Manager"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "kwargs", "error", "message"),
    [
        ("finance", {"reason": "x", "percent": 50}, PermissionError, "only RevOps"),
        ("ae", {"reason": "x", "percent": 50}, PermissionError, "only RevOps"),
        ("revops", {"reason": "  ", "percent": 50}, SplitRefused, "needs a reason"),
        ("revops", {"reason": "x"}, SplitRefused, "nothing to correct"),
        ("revops", {"reason": "x", "percent": -5}, SplitRefused, "must not be negative"),
        (
            "revops",
            {"reason": "x", "person_email": "nobody@example.com"},
            SplitRefused,
            "nobody is registered",
        ),
    ],
)
def test_a_bad_correction_is_refused_and_writes_nothing(logged, request, who, kwargs, error, message):
    # given
    user = request.getfixturevalue(who)
    entry = AttributionEntry.objects.first()

    # when / then
    with pytest.raises(error, match=message):
        attribution_services.credit_correct(entry_id=entry.pk, recorded_by=user, **kwargs)
    assert AttributionEntry.objects.count() == 2


@pytest.mark.django_db
def test_an_entry_is_corrected_once_and_a_reversal_never(logged, revops):
    # given
    entry = AttributionEntry.objects.first()
    reversal, replacement = attribution_services.credit_correct(
        entry_id=entry.pk, recorded_by=revops, reason="typo", amount=Decimal("11000")
    )

    # when / then
    with pytest.raises(SplitRefused, match="already corrected"):
        attribution_services.credit_correct(entry_id=entry.pk, recorded_by=revops, reason="again", amount=1)
    with pytest.raises(SplitRefused, match="is a reversal"):
        attribution_services.credit_correct(entry_id=reversal.pk, recorded_by=revops, reason="no", amount=1)
    _, second = attribution_services.credit_correct(
        entry_id=replacement.pk, recorded_by=revops, reason="final figure", amount=Decimal("11500")
    )
    assert AttributionEntry.objects.filter(credit_type="quota").aggregate(s=Sum("amount"))["s"] == Decimal(
        "11500.00"
    )
    assert second.amount == Decimal("11500.00")


# --- the hash chain -------------------------------------------------------------------------------


@pytest.fixture
def three_wins(make_eql, ae):
    for month in (1, 2, 3):
        win(make_eql(), ae, when=at(month))
    return list(AttributionEntry.objects.order_by("id"))


@pytest.mark.django_db
def test_the_chain_links_every_entry_to_the_previous_one_and_verifies(three_wins):
    # when
    out = io.StringIO()
    call_command("verify_attribution", stdout=out)

    # then
    assert [e.prev_hash for e in three_wins[1:]] == [e.entry_hash for e in three_wins[:-1]]
    assert out.getvalue().startswith("OK: 6 attribution entries verified; head hash ")
    assert three_wins[-1].entry_hash in out.getvalue()
    assert "checked against 3 signed anchors" in out.getvalue()
    assert {e.chain_version for e in three_wins} == {rules.CHAIN_KEYED}


@pytest.mark.django_db
def test_an_empty_log_verifies():
    # when
    out = io.StringIO()
    call_command("verify_attribution", stdout=out)

    # then
    assert out.getvalue().startswith("OK: 0 attribution entries verified")


def _raw(sql: str, params: list) -> None:
    """SQL behind the app's back, as the table's owner (who can switch off the append-only trigger)."""
    with owner_bypassing_the_trigger() as cursor:
        cursor.execute(sql.replace("{t}", AttributionEntry._meta.db_table), params)


@pytest.mark.django_db
def test_an_amount_edited_behind_the_apps_back_is_detected_and_named(three_wins):
    # given someone edits the fourth entry's amount with SQL
    target = three_wins[3]
    _raw("UPDATE {t} SET amount = %s WHERE id = %s", [Decimal("99999.00"), target.pk])

    # when / then
    with pytest.raises(
        CommandError, match=rf"broken at entry {target.pk}: its content does not match its keyed hash"
    ):
        call_command("verify_attribution", stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "column"),
    [
        ("UPDATE {t} SET reason = %s WHERE id = %s", "hidden change"),
        ("UPDATE {t} SET period = %s WHERE id = %s", "2030-01"),
        ("UPDATE {t} SET percent = %s WHERE id = %s", 1),
    ],
)
def test_any_edited_column_is_detected(three_wins, sql, column):
    # given
    _raw(sql, [column, three_wins[1].pk])

    # when / then
    with pytest.raises(CommandError, match=rf"entry {three_wins[1].pk}"):
        call_command("verify_attribution", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_deleted_entry_is_detected_at_the_next_one(three_wins):
    # given someone deletes the second entry with SQL (the app refuses to)
    _raw("DELETE FROM {t} WHERE id = %s", [three_wins[1].pk])

    # when / then
    with pytest.raises(
        CommandError, match=rf"broken at entry {three_wins[2].pk}: its prev_hash does not match"
    ):
        call_command("verify_attribution", stdout=io.StringIO())


@pytest.mark.django_db
def test_verify_exits_non_zero(three_wins):
    # given
    _raw("UPDATE {t} SET amount = %s WHERE id = %s", [Decimal("1.00"), three_wins[0].pk])

    # when run as `manage.py verify_attribution`
    with pytest.raises(SystemExit) as exit_info:
        VerifyCommand(stdout=io.StringIO(), stderr=io.StringIO()).run_from_argv(
            ["manage.py", "verify_attribution", "--skip-checks"]
        )

    # then
    assert exit_info.value.code == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgres
def test_concurrent_writers_cannot_fork_the_chain(ae, csm):
    # given twelve open EQLs closed by six threads at once
    eqls = [
        EQLFactory(
            account=AccountFactory(ae=ae, csm=csm),
            owner=ae,
            csm=csm,
            route="ae",
            status="call_booked",
            created_at=CREATED,
        )
        for _ in range(12)
    ]
    barrier = threading.Barrier(6)
    errors = []

    def close(batch):
        try:
            barrier.wait(timeout=20)
            for eql in batch:
                win(eql, ae)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=close, args=(eqls[i::6],)) for i in range(6)]

    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    # then every win is logged on one unbroken chain
    assert errors == []
    assert AttributionEntry.objects.count() == 24
    result = attribution_services.chain_verify()
    assert (result.broken, result.entries, result.anchors) == (None, 24, 12)


# --- Finance pages --------------------------------------------------------------------------------


@pytest.fixture
def finance_client(finance):
    client = Client()
    client.force_login(finance)
    return client


@pytest.fixture
def book(make_eql, ae, csm, manager, revops):
    """A quarter of wins: AE-owned in Jan and Feb, co-owned in Feb (corrected), CSM-led in Apr."""
    other_team_ae = UserFactory(role=Role.AE, email="solo@example.com", name="Solo")
    formula = AccountFactory(name='=HYPERLINK("http://evil")', ae=ae, csm=csm)
    win(make_eql(primary_signal="seat_utilisation"), ae, amount="10000", when=at(1, 10))
    win(
        make_eql(account=formula, primary_signal="api_rate_approach"),
        ae,
        amount="2000",
        when=at(2, 3),
        note="+ten seats",
    )
    co = make_eql(involvement=True, primary_signal="feature_adjacency")
    win(
        co,
        ae,
        amount="20000",
        when=at(2, 20),
        splits=[{"email": "ae@example.com", "percent": 50}, {"email": "csm@example.com", "percent": 50}],
    )
    wrong = AttributionEntry.objects.get(eql=co, person__email="csm@example.com", credit_type="quota")
    attribution_services.credit_correct(
        entry_id=wrong.pk, recorded_by=revops, reason="-40/60 agreed", percent=40
    )
    ae_half = AttributionEntry.objects.get(eql=co, person__email="ae@example.com", credit_type="quota")
    attribution_services.credit_correct(
        entry_id=ae_half.pk, recorded_by=revops, reason="=60/40 agreed", percent=60
    )
    win(make_eql(route="csm", primary_signal="seat_utilisation"), csm, amount="3000", when=at(4, 2))
    solo_eql = make_eql(owner=other_team_ae, csm=None, account=AccountFactory(ae=other_team_ae, csm=None))
    win(solo_eql, other_team_ae, amount="500", when=at(5, 1))
    return co


#: Hand computation of the book above (per person: quota, attainment).
HAND_QUARTERS = {
    ("ae@example.com", "2025-Q1"): (Decimal("24000.00"), Decimal("0.00")),  # 10000 + 2000 + 60% of 20000
    ("csm@example.com", "2025-Q1"): (Decimal("8000.00"), Decimal("32000.00")),  # 40% of 20000; 10k+2k+20k
    ("csm@example.com", "2025-Q2"): (Decimal("0.00"), Decimal("3000.00")),
    ("solo@example.com", "2025-Q2"): (Decimal("500.00"), Decimal("0.00")),
}
HAND_MONTHS = {
    ("ae@example.com", "2025-01"): (Decimal("10000.00"), Decimal("0.00")),
    ("ae@example.com", "2025-02"): (Decimal("14000.00"), Decimal("0.00")),
    ("csm@example.com", "2025-01"): (Decimal("0.00"), Decimal("10000.00")),
    ("csm@example.com", "2025-02"): (Decimal("8000.00"), Decimal("22000.00")),
    ("csm@example.com", "2025-04"): (Decimal("0.00"), Decimal("3000.00")),
    ("solo@example.com", "2025-05"): (Decimal("500.00"), Decimal("0.00")),
}


def _totals(rows) -> dict:
    return {(r.person.email, r.period): (r.quota, r.attainment) for r in rows}


@pytest.mark.django_db
def test_the_log_page_totals_equal_a_hand_computation(book, finance_client):
    # when
    response = finance_client.get(reverse("finance-attribution"))

    # then
    assert response.status_code == 200
    assert _totals(response.context["quarters"]) == HAND_QUARTERS
    assert _totals(response.context["months"]) == HAND_MONTHS
    assert response.context["page"].paginator.count == AttributionEntry.objects.count() == 13


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected_people"),
    [
        ({"period": "2025-04"}, {"csm@example.com"}),
        ({"period": "2025-Q2"}, {"csm@example.com", "solo@example.com"}),
        ({"signal": "feature_adjacency", "credit_type": "quota"}, {"ae@example.com", "csm@example.com"}),
        ({"account": "evil"}, {"ae@example.com", "csm@example.com"}),
        ({"team": "manager"}, {"ae@example.com", "csm@example.com"}),
        ({"person": "solo"}, {"solo@example.com"}),
    ],
)
def test_the_log_filters(book, finance_client, params, expected_people):
    # given ids for the choice filters
    from expansion.models import User

    ids = {
        "manager": User.objects.get(email="manager@example.com").pk,
        "solo": User.objects.get(email="solo@example.com").pk,
    }
    query = {k: ids.get(v, v) for k, v in params.items()}

    # when
    response = finance_client.get(reverse("finance-attribution"), query)

    # then
    people = {e.person.email for e in response.context["page"].object_list}
    assert response.status_code == 200
    assert people == expected_people


@pytest.mark.django_db
def test_a_bad_period_is_explained_and_filters_nothing(book, finance_client):
    # when
    response = finance_client.get(reverse("finance-attribution"), {"period": "Q2-2025"})

    # then
    assert "Use YYYY-MM" in response.content.decode()
    assert response.context["page"].paginator.count == 13


@pytest.mark.django_db
def test_the_log_page_query_count_does_not_grow_with_entries(
    make_eql, ae, finance_client, django_assert_max_num_queries
):
    # given twenty wins (forty entries) by a dozen reps over six months
    reps = [ae, *(UserFactory(role=Role.AE) for _ in range(11))]
    for i in range(20):
        owner = reps[i % 12]
        win(make_eql(owner=owner, account=AccountFactory(ae=owner)), owner, when=at(1 + i % 6))

    # when / then
    with django_assert_max_num_queries(12):
        response = finance_client.get(reverse("finance-attribution"))
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        finance_client.get(reverse("finance-attribution"), {"period": "2025-Q1", "page": "1"})


@pytest.mark.django_db
def test_the_htmx_filter_renders_only_the_results(book, finance_client):
    # when
    response = finance_client.get(
        reverse("finance-attribution"), {"period": "2025-04"}, HTTP_HX_REQUEST="true"
    )

    # then
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "<html" not in body


@pytest.mark.django_db
def test_the_csv_export_neutralises_formula_cells(book, finance_client):
    # when
    response = finance_client.get(reverse("finance-attribution-csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert len(rows) == 13
    names = {r["account_name"] for r in rows}
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(name.startswith("=") for name in names)
    reasons = {r["reason"] for r in rows}
    assert {"'-40/60 agreed", "'=60/40 agreed"} <= reasons
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            if value.startswith("-"):
                assert value.replace("-", "", 1).replace(".", "", 1).isdigit(), value  # numbers only
    assert sum(Decimal(r["amount"]) for r in rows if r["credit_type"] == "quota") == Decimal("32500.00")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FINANCE, Role.REVOPS, Role.MANAGER])
def test_finance_revops_and_managers_read_the_pages(book, role):
    # given
    client = Client()
    client.force_login(UserFactory(role=role))

    # then
    for url in (
        reverse("finance-attribution"),
        reverse("finance-attribution-csv"),
        reverse("finance-attribution-eql", args=[book.pk]),
        reverse("finance-changes"),
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AE, Role.CSM, ""])
def test_other_roles_get_403_and_anonymous_users_log_in(book, role):
    # given
    client = Client()
    client.force_login(UserFactory(role=role))
    urls = [
        reverse("finance-attribution"),
        reverse("finance-attribution-csv"),
        reverse("finance-changes"),
        reverse("finance-attribution-eql", args=[book.pk]),
    ]

    # then
    assert [client.get(url).status_code for url in urls] == [403] * 4
    anonymous = Client().get(urls[0])
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_writes_through_the_finance_pages(book, finance_client, method):
    # when
    before = list(AttributionEntry.objects.values_list("id", "entry_hash"))
    statuses = [
        getattr(finance_client, method)(url).status_code
        for url in (
            reverse("finance-attribution"),
            reverse("finance-changes"),
            reverse("finance-attribution-eql", args=[book.pk]),
        )
    ]

    # then
    assert statuses == [405, 405, 405]
    assert list(AttributionEntry.objects.values_list("id", "entry_hash")) == before


@pytest.mark.django_db
def test_the_decision_tree_explains_a_corrected_co_owned_split(
    book, finance_client, django_assert_max_num_queries
):
    # when
    with django_assert_max_num_queries(10):
        response = finance_client.get(reverse("finance-attribution-eql", args=[book.pk]))

    # then
    body = response.content.decode()
    steps = {s.question: s for s in response.context["steps"]}
    assert response.status_code == 200
    # route labels, names and the reporting currency, not raw keys, emails and bare numbers
    assert steps["Which route did routing choose?"].answer.startswith(
        "AE-led — rule “Estimate at least 10,000"
    )
    involvement = "Is CSM involvement required (co-owned: module expansion or above the routing threshold)?"
    assert steps[involvement].answer == "Yes (estimate $14,400.00; threshold: estimate ≥ $10,000.00)"
    assert steps["Co-owned: which contribution split was entered at close?"].answer == (
        "Ada AE 50%, Cy CSM 50%"
    )
    assert "route AE-led," in body
    assert "estimate $14,400.00" in body
    assert "route ae," not in body
    assert steps["Was anything corrected?"].answer == "2 correction(s)"
    assert "=60/40 agreed" in body
    net = {r["person"].email: (r["quota"], r["attainment"]) for r in response.context["net"]}
    assert net == {
        "ae@example.com": (Decimal("12000.00"), Decimal("0")),
        "csm@example.com": (Decimal("8000.00"), Decimal("20000.00")),
    }


@pytest.mark.django_db
def test_the_decision_tree_of_an_open_eql_shows_the_proposal(make_eql, finance_client):
    # given
    eql = make_eql(involvement=True, status="contacted")

    # when
    response = finance_client.get(reverse("finance-attribution-eql", args=[eql.pk]))

    # then
    assert response.status_code == 200
    assert response.context["proposal"].split_required is True
    assert "No credit is recorded until an EQL is won." in response.content.decode()
    assert finance_client.get(reverse("finance-attribution-eql-pick"), {"eql": eql.pk})["Location"].endswith(
        f"/finance/attribution/eql/{eql.pk}/"
    )


# --- change history -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_change_history_says_who_changed_what_from_what_to_what(
    revops, finance_client, django_assert_max_num_queries
):
    # given RevOps edits a signal, a routing rule and the policy (simple_history records the user)
    from simple_history.utils import update_change_reason

    call_command("populate_history", "--auto", stdout=io.StringIO())  # baseline of the seeded config
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    signal._history_user = revops
    signal.threshold = 0.8
    signal.points = 45
    signal.save()
    rule = RoutingRule.objects.get(estimate_comparison="gte")
    rule._history_user = revops
    rule.estimate_value = Decimal("15000")
    rule.save()
    update_change_reason(rule, "Q3 comp review")
    policy = EqlPolicy.objects.first() or EqlPolicy.objects.create()
    policy._history_user = revops
    policy.score_threshold = 65
    policy.save()

    # when
    with django_assert_max_num_queries(16):
        response = finance_client.get(reverse("finance-changes"))

    # then newest first, each with who and the field-level change
    rows = response.context["rows"]
    assert response.status_code == 200
    assert [(r.kind, r.action, r.who) for r in rows[:3]] == [
        ("EQL policy", "changed", "Rev"),
        ("Routing rule", "changed", "Rev"),
        ("Signal", "changed", "Rev"),
    ]
    assert [(c.field, c.old, c.new) for c in rows[0].changes] == [("score threshold", 60, 65)]
    assert [(c.field, str(c.old), str(c.new)) for c in rows[1].changes] == [
        ("estimate value", "10000.00", "15000.00")
    ]
    assert rows[1].note == "Q3 comp review"
    assert sorted((c.field, c.old, c.new) for c in rows[2].changes) == [
        ("points", 40, 45),
        ("threshold", 0.9, 0.8),
    ]
    assert "0.9" in response.content.decode()
    assert "Q3 comp review" in response.content.decode()


@pytest.mark.django_db
def test_the_change_history_filters_by_kind_and_paginates(revops, finance_client):
    # given thirty edits to one gate
    from scoring.models import Gate

    gate = Gate.objects.order_by("order").first()
    for i in range(30):
        gate._history_user = revops
        gate.value = str(100 + i)
        gate.save()

    # when
    first = finance_client.get(reverse("finance-changes"), {"what": "gate"})
    second = finance_client.get(reverse("finance-changes"), {"what": "gate", "page": 2})

    # then
    assert {r.kind for r in first.context["rows"]} == {"Gate"}
    assert len(first.context["rows"]) == 25
    assert [(c.old, c.new) for c in first.context["rows"][0].changes] == [("128", "129")]
    assert second.context["page"].number == 2
    assert first.context["page"].paginator.count == Gate.history.count()


@pytest.mark.django_db
def test_timezone_of_the_close_decides_the_period(make_eql, ae, settings):
    # given a close at 23:30 UTC on 31 March, in a UTC+2 business
    settings.TIME_ZONE = "Europe/Berlin"
    timezone.activate("Europe/Berlin")
    try:
        eql = make_eql()
        win(eql, ae, when=dt.datetime(2025, 3, 31, 23, 30, tzinfo=UTC))
    finally:
        timezone.deactivate()

    # then the close period is April (local), and the chain still verifies
    assert AttributionEntry.objects.filter(eql=eql).first().period == "2025-04"
    assert attribution_services.chain_verify().broken is None


@pytest.mark.django_db
def test_an_eql_id_beyond_a_database_integer_is_not_found(finance_client):
    # then
    assert finance_client.get(f"/finance/attribution/eql/{10**30}/").status_code == 404
    assert finance_client.get(reverse("finance-attribution-eql-pick"), {"eql": str(10**30)})["Location"] == (
        reverse("finance-attribution")
    )


@pytest.mark.django_db
def test_the_first_edit_of_a_seeded_signal_shows_its_value_before_and_after(revops, finance_client):
    # given a seeded signal on a fresh database, edited once
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    old_threshold = signal.threshold
    signal._history_user = revops
    signal.threshold = 0.8
    signal.save()

    # when
    response = finance_client.get(reverse("finance-changes"), {"what": "signal"})

    # then the edit shows the threshold before and after, and the seeded version is on record
    edit = response.context["rows"][0]
    assert edit.action == "changed"
    assert [(c.field, c.old, c.new) for c in edit.changes] == [("threshold", old_threshold, 0.8)]
    page = response.content.decode()
    assert f"<del>{old_threshold}</del> → <ins>0.8</ins>" in page
    assert "first recorded version" not in page
    assert "seeded configuration" in page


@pytest.mark.django_db
def test_every_seeded_configuration_row_has_its_first_version_on_record():
    # then each tracked row of a fresh database starts with one "created" record, from no user
    for label, model in TRACKED.values():
        for row in model.objects.all():
            first = row.history.order_by("history_date", "history_id").first()
            assert first is not None, f"{label} {row} has no history"
            assert (first.history_type, first.history_change_reason, first.history_user) == (
                "+",
                "seeded configuration",
                None,
            )
        assert model.objects.exists(), f"no seeded {label}"
