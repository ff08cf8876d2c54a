"""The EQL lifecycle (domain.md, "Lifecycle"; contract.md, POST /api/eqls/{id}/events/).

Rules live in ``routing.lifecycle`` (pure); ``routing.services.eql_transition`` applies them with the
database: every event is an Activity with who, when and note; a refused event changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from expansion.models import EQL, Activity, Role
from routing import lifecycle
from routing.lifecycle import TRANSITIONS, TransitionError
from routing.models import Notification, ReasonCode
from routing.selectors import sla_policy_load
from routing.services import eql_transition, review_windows_sweep
from tests.factories import AccountFactory, EQLFactory, UserFactory

ALL_STATUSES = (*lifecycle.OPEN, *lifecycle.CLOSED)
MATRIX = [(event, status) for event in TRANSITIONS for status in ALL_STATUSES]
ALLOWED = [pytest.param(e, s, id=f"{s}->{e}") for e, s in MATRIX if s in TRANSITIONS[e]]
FORBIDDEN = [pytest.param(e, s, id=f"{s}-x->{e}") for e, s in MATRIX if s not in TRANSITIONS[e]]

#: Extra input each status event needs to be valid.
VALID_INPUT = {
    "declined": {"reason": "not_ready"},
    "lost": {"reason": "competitor"},
    "won": {"expansion_arr": Decimal("12000.00")},
}


# --- pure rules -----------------------------------------------------------------------------------


def test_the_transition_table_follows_the_domain():
    # then
    assert TRANSITIONS == {
        "contacted": ("new",),
        "call_booked": ("new", "contacted"),
        "proposal_sent": ("new", "contacted", "call_booked"),
        "won": ("call_booked", "proposal_sent"),
        "lost": ("contacted", "call_booked", "proposal_sent"),
        "declined": ("new", "contacted", "call_booked", "proposal_sent"),
    }
    assert len(ALLOWED) + len(FORBIDDEN) == 6 * 7
    assert len(ALLOWED) == 1 + 2 + 3 + 2 + 3 + 4


def test_no_event_leaves_a_closed_state():
    # then
    assert [(e, s) for e, s in MATRIX if s in lifecycle.CLOSED and s in TRANSITIONS[e]] == []


@pytest.mark.parametrize(
    ("role", "is_self", "is_csm", "is_manager", "can_act"),
    [
        ("AE", True, False, False, True),
        ("CSM", False, True, False, True),
        ("AE", False, False, False, False),
        ("CSM", False, False, False, False),
        ("Manager", False, False, True, True),
        ("Manager", True, False, False, True),
        ("Manager", False, False, False, False),
        ("RevOps", False, False, False, True),
        ("Finance", False, False, False, False),
        ("Finance", True, False, False, False),
    ],
)
def test_who_may_act(role, is_self, is_csm, is_manager, can_act):
    # given
    actor = lifecycle.Actor(id=7, role=role)
    eql = lifecycle.EqlView(
        status="new",
        route="ae",
        owner_id=7 if is_self else 1,
        csm_id=7 if is_csm else 2,
        owner_manager_id=7 if is_manager else 3,
        review_state="",
    )

    # then
    assert lifecycle.can_act(actor, eql) is can_act


#: (who acts, route, owner, with the sales steps?) for "only the owner logs sales steps" (#15).
#: Actor 7 acts; ids: 1 the AE, 2 the account's CSM, 3 the owner's manager.
SALES_CASES = [
    ("AE", "ae", 7, True),  # the owning AE
    ("CSM", "ae", 1, False),  # the account's CSM on an AE-owned EQL: notes and CSM review only
    ("CSM", "ae", None, False),  # an AE route nobody owns yet: still not the CSM's outreach
    ("CSM", "csm", 7, True),  # CSM-owned routes: the CSM is the owner
    ("CSM", "self_serve", 7, True),
    ("CSM", "csm_review", 7, True),
    ("CSM", "csm", None, True),  # a CSM route not yet assigned: the account's CSM is its owner to be
    ("CSM", "csm", 4, False),  # another CSM owns it
    ("Manager", "ae", 1, True),  # the owner's manager
    ("Manager", "ae", None, True),  # any manager while nobody owns it
    ("RevOps", "ae", 1, True),
    ("RevOps", "csm", 4, True),
    ("Finance", "ae", 1, False),
]


def _sales_view(role: str, route: str, owner: int | None, *, status: str = "new", review: str = ""):
    is_csm = role == "CSM"
    return lifecycle.EqlView(
        status=status,
        route=route,
        owner_id=owner,
        csm_id=7 if is_csm else 2,
        owner_manager_id=(7 if role == "Manager" else 3) if owner else None,
        review_state=review,
    )


@pytest.mark.parametrize(("role", "route", "owner", "sales"), SALES_CASES)
def test_only_the_owner_logs_sales_steps(role, route, owner, sales):
    # given
    actor = lifecycle.Actor(id=7, role=role)
    eql = _sales_view(role, route, owner)

    # then
    assert lifecycle.may_log_sales(actor, eql) is sales


@pytest.mark.parametrize(
    ("role", "route", "owner", "sales"),
    [c for c in SALES_CASES if c[0] != "Finance" and c[1] != "csm_review"],
)
@pytest.mark.parametrize("event", lifecycle.STATUS_EVENTS)
def test_check_event_refuses_sales_steps_to_anyone_but_the_owner(role, route, owner, sales, event):
    # given: a state each event may be sent from, with its inputs
    status = TRANSITIONS[event][-1]
    actor = lifecycle.Actor(id=7, role=role)
    eql = _sales_view(role, route, owner, status=status)

    # when
    def send():
        lifecycle.check_event(event=event, actor=actor, eql=eql, reason="other", amount=100.0)

    # then
    if sales:
        send()
    else:
        with pytest.raises(TransitionError, match="only the EQL's owner logs sales steps"):
            send()


@pytest.mark.parametrize(
    ("event", "review", "note"),
    [
        ("note", "", "Customer asked about SSO"),
        ("csm_hold", "pending", "Renewal dispute"),
        ("csm_release", "held", ""),
    ],
)
def test_the_accounts_csm_keeps_notes_and_the_review_actions_on_an_ae_owned_eql(event, review, note):
    # given
    actor = lifecycle.Actor(id=7, role="CSM")
    eql = _sales_view("CSM", "ae", 1, review=review)

    # then: allowed (no exception)
    lifecycle.check_event(event=event, actor=actor, eql=eql, note=note)


NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("deadline", "first_contact", "status", "state", "delta", "to_contact", "overdue"),
    [
        # before the deadline, never contacted: the clock runs
        (NOW + 5 * H, None, "new", "running", 5 * H, None, False),
        # past it, never contacted: overdue, whatever the open status says
        (NOW - 2 * H, None, "new", "overdue", 2 * H, None, True),
        (NOW - 2 * H, None, "call_booked", "overdue", 2 * H, None, True),
        # contacted before the deadline: met, and it stays met after the deadline passes
        (NOW + 20 * H, NOW - 1 * H, "contacted", "met", None, 3 * H, False),
        (NOW - 20 * H, NOW - 30 * H, "proposal_sent", "met", None, 3 * H, False),
        (NOW - 20 * H, NOW - 30 * H, "won", "met", None, 3 * H, False),
        # contacted on the deadline exactly: met
        (NOW - 1 * H, NOW - 1 * H, "contacted", "met", None, 3 * H, False),
        # contacted late: missed by how late, never overdue
        (NOW - 5 * H, NOW - 2 * H, "contacted", "missed", 3 * H, 3 * H, False),
        (NOW - 5 * H, NOW - 2 * H, "lost", "missed", 3 * H, 3 * H, False),
        # closed without a contact (declined): nothing running
        (NOW - 5 * H, None, "declined", "closed", None, None, False),
        (None, None, "new", "none", None, None, False),
        (None, NOW - 1 * H, "contacted", "met", None, 3 * H, False),
    ],
)
def test_first_contact_meets_the_sla(deadline, first_contact, status, state, delta, to_contact, overdue):
    # given: the clock started 3 hours before the first contact (when there is one)
    started = first_contact - 3 * H if first_contact else NOW - 48 * H

    # when
    outcome = lifecycle.sla_outcome(
        deadline=deadline, first_contact_at=first_contact, status=status, now=NOW, started_at=started
    )

    # then
    assert (outcome.state, outcome.delta, outcome.to_first_contact) == (state, delta, to_contact)
    assert outcome.breached is (state in ("missed", "overdue"))
    assert lifecycle.is_overdue(
        deadline=deadline, first_contact_at=first_contact, status=status, now=NOW
    ) is (overdue)


# --- the service ----------------------------------------------------------------------------------


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER, email="manager@example.com")


@pytest.fixture
def ae(manager):
    return UserFactory(role=Role.AE, email="ae@example.com", manager=manager)


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, email="csm@example.com")


@pytest.fixture
def created_at():
    return timezone.now() - dt.timedelta(days=10)


@pytest.fixture
def make_eql(ae, csm, created_at):
    def make(**overrides) -> EQL:
        account = AccountFactory(ae=ae, csm=csm)
        values = {"account": account, "owner": ae, "csm": csm, "created_at": created_at, "priority": "high"}
        return EQLFactory(**{**values, **overrides})

    return make


def row(eql: EQL) -> dict:
    return EQL.objects.filter(pk=eql.pk).values().get()


@pytest.mark.django_db
@pytest.mark.parametrize(("event", "status"), ALLOWED)
def test_an_allowed_transition_moves_the_status_and_logs_an_activity(make_eql, ae, event, status):
    # given
    eql = make_eql(status=status)

    # when
    result = eql_transition(
        eql_id=eql.pk, user=ae, event=event, note=f"{event} done", **VALID_INPUT.get(event, {})
    )

    # then
    eql.refresh_from_db()
    assert eql.status == event == result.status
    activity = Activity.objects.get(eql=eql)
    assert (activity.event, activity.actor, activity.actor_email, activity.note) == (
        event,
        ae,
        "ae@example.com",
        f"{event} done",
    )
    assert activity.commercial is (event in lifecycle.OUTREACH)
    assert activity.type == lifecycle.ACTIVITY_TYPE.get(event, "note")


@pytest.mark.django_db
@pytest.mark.parametrize(("event", "status"), FORBIDDEN)
def test_a_forbidden_transition_raises_and_changes_nothing(make_eql, ae, event, status):
    # given
    eql = make_eql(status=status)
    before = row(eql)

    # when
    with pytest.raises(TransitionError, match=f"when the EQL is {status.replace('_', ' ')}"):
        eql_transition(eql_id=eql.pk, user=ae, event=event, note="try", **VALID_INPUT.get(event, {}))

    # then
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("event", ["declined", "lost"])
@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "needs a reason code"), ("made_up", "unknown .* reason 'made_up'"), ("price ", "unknown")],
)
def test_declined_and_lost_need_a_known_reason_code(make_eql, ae, event, reason, message):
    # given
    eql = make_eql(status="contacted")
    before = row(eql)

    # when
    with pytest.raises(TransitionError, match=message):
        eql_transition(eql_id=eql.pk, user=ae, event=event, reason=reason)

    # then
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "reason"),
    [("declined", "not_ready"), ("declined", "self_serve_preferred"), ("lost", "price"), ("lost", "timing")],
)
def test_a_seeded_reason_code_closes_the_eql_with_that_reason(make_eql, ae, event, reason):
    # given
    eql = make_eql(status="contacted")

    # when
    eql_transition(eql_id=eql.pk, user=ae, event=event, reason=reason)

    # then
    eql.refresh_from_db()
    assert (eql.status, eql.close_reason) == (event, reason)
    assert Activity.objects.get(eql=eql).reason == reason


@pytest.mark.django_db
def test_reason_codes_come_from_the_admin_table(make_eql, ae):
    # given: RevOps adds a code and retires another
    ReasonCode.objects.create(kind="declined", code="merger", label="Merger under way")
    ReasonCode.objects.filter(kind="declined", code="bad_timing").update(active=False)
    first, second = make_eql(status="new"), make_eql(status="new")

    # when
    eql_transition(eql_id=first.pk, user=ae, event="declined", reason="merger")
    with pytest.raises(TransitionError, match="unknown declined reason 'bad_timing'"):
        eql_transition(eql_id=second.pk, user=ae, event="declined", reason="bad_timing")

    # then
    assert EQL.objects.get(pk=first.pk).status == "declined"
    assert EQL.objects.get(pk=second.pk).status == "new"


@pytest.mark.django_db
def test_a_lost_code_is_not_a_declined_code(make_eql, ae):
    # given
    eql = make_eql(status="new")

    # when
    with pytest.raises(TransitionError, match="unknown declined reason 'competitor'"):
        eql_transition(eql_id=eql.pk, user=ae, event="declined", reason="competitor")

    # then
    assert EQL.objects.get(pk=eql.pk).status == "new"


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [None, Decimal("0"), Decimal("-1.00")])
def test_won_needs_a_positive_amount(make_eql, ae, amount):
    # given
    eql = make_eql(status="proposal_sent")
    before = row(eql)

    # when
    with pytest.raises(TransitionError, match="won needs the expansion ARR"):
        eql_transition(eql_id=eql.pk, user=ae, event="won", expansion_arr=amount)

    # then
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_won_records_the_amount(make_eql, ae):
    # given
    eql = make_eql(status="call_booked")

    # when
    eql_transition(eql_id=eql.pk, user=ae, event="won", expansion_arr=Decimal("15400.50"))

    # then
    eql.refresh_from_db()
    assert (eql.status, eql.won_arr) == ("won", Decimal("15400.50"))
    assert Activity.objects.get(eql=eql).amount == Decimal("15400.50")


@pytest.mark.django_db
@pytest.mark.parametrize("event", ["contacted", "call_booked"])
def test_a_back_filled_event_keeps_its_time(make_eql, ae, created_at, event):
    # given
    eql = make_eql(status="new")
    at = created_at + dt.timedelta(days=2, hours=3)

    # when
    eql_transition(eql_id=eql.pk, user=ae, event=event, at=at, note="called last Tuesday")

    # then
    eql.refresh_from_db()
    assert eql.first_contact_at == at
    activity = Activity.objects.get(eql=eql)
    assert (activity.occurred_at, activity.note) == (at, "called last Tuesday")


@pytest.mark.django_db
def test_first_contact_is_kept_when_a_call_is_booked_later(make_eql, ae, created_at):
    # given
    eql = make_eql(status="new")
    contacted_at = created_at + dt.timedelta(hours=5)
    eql_transition(eql_id=eql.pk, user=ae, event="contacted", at=contacted_at)

    # when
    eql_transition(eql_id=eql.pk, user=ae, event="call_booked", at=contacted_at + dt.timedelta(days=1))

    # then
    eql.refresh_from_db()
    assert (eql.status, eql.first_contact_at) == ("call_booked", contacted_at)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("offset", "message"),
    [
        pytest.param(dt.timedelta(hours=1), "in the future", id="future"),
        pytest.param(None, "before the EQL was created", id="before-created"),
    ],
)
def test_an_impossible_event_time_is_refused(make_eql, ae, created_at, offset, message):
    # given
    eql = make_eql(status="new")
    before = row(eql)
    at = timezone.now() + offset if offset else created_at - dt.timedelta(seconds=1)

    # when
    with pytest.raises(TransitionError, match=message):
        eql_transition(eql_id=eql.pk, user=ae, event="contacted", at=at)

    # then
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_an_event_at_the_creation_moment_is_accepted(make_eql, ae, created_at):
    # given
    eql = make_eql(status="new")

    # when
    eql_transition(eql_id=eql.pk, user=ae, event="contacted", at=created_at)

    # then
    assert EQL.objects.get(pk=eql.pk).first_contact_at == created_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "status", "extra"),
    [
        ("contacted", "new", {}),
        ("call_booked", "contacted", {}),
        ("proposal_sent", "call_booked", {}),
        ("won", "proposal_sent", {"expansion_arr": Decimal("9000")}),
        ("lost", "proposal_sent", {"reason": "price"}),
        ("declined", "new", {"reason": "bad_timing"}),
        ("note", "call_booked", {}),
        ("csm_hold", "new", {}),
        ("csm_release", "new", {}),
    ],
)
def test_every_event_is_an_activity_with_who_when_and_note(make_eql, csm, created_at, event, status, extra):
    # given: the CSM owns a CSM-led EQL, so every event is theirs to log
    eql = make_eql(
        route="csm",
        owner=csm,
        status=status,
        review_state="pending",
        review_window_ends_at=created_at + dt.timedelta(hours=24),
    )
    at = created_at + dt.timedelta(hours=6)

    # when
    eql_transition(eql_id=eql.pk, user=csm, event=event, at=at, note=f"why {event}", **extra)

    # then
    activity = Activity.objects.get(eql=eql)
    assert (activity.event, activity.actor_id, activity.actor_email, activity.occurred_at, activity.note) == (
        event,
        csm.pk,
        "csm@example.com",
        at,
        f"why {event}",
    )
    assert activity.account_id == eql.account_id
    assert activity.reason == extra.get("reason", "")
    assert activity.amount == extra.get("expansion_arr")


@pytest.mark.django_db
def test_a_note_needs_text_and_does_not_change_the_status(make_eql, ae):
    # given
    eql = make_eql(status="contacted")

    # when
    with pytest.raises(TransitionError, match="a note needs some text"):
        eql_transition(eql_id=eql.pk, user=ae, event="note", note="   ")
    eql_transition(eql_id=eql.pk, user=ae, event="note", note="  asked for pricing  ")

    # then
    assert EQL.objects.get(pk=eql.pk).status == "contacted"
    assert list(Activity.objects.values_list("event", "note", "commercial")) == [
        ("note", "asked for pricing", False)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "status", "extra"),
    [
        ("won", "proposal_sent", {"expansion_arr": Decimal("5000")}),
        ("lost", "call_booked", {"reason": "no_budget"}),
        ("declined", "new", {"reason": "relationship_risk"}),
    ],
)
def test_closing_sets_closed_at_which_starts_suppression(make_eql, ae, created_at, event, status, extra):
    # given
    eql = make_eql(status=status)
    at = created_at + dt.timedelta(days=3)

    # when
    eql_transition(eql_id=eql.pk, user=ae, event=event, at=at, **extra)

    # then
    eql.refresh_from_db()
    assert (eql.status, eql.closed_at) == (event, at)
    assert eql.is_open is False


@pytest.mark.django_db
def test_an_unknown_event_is_refused(make_eql, ae):
    # given
    eql = make_eql(status="new")

    # when
    with pytest.raises(TransitionError, match="unknown event 'reopened'"):
        eql_transition(eql_id=eql.pk, user=ae, event="reopened")

    # then
    assert EQL.objects.get(pk=eql.pk).status == "new"


@pytest.mark.django_db
@pytest.mark.parametrize("event", lifecycle.OUTREACH)
@pytest.mark.parametrize(
    ("hours_after_creation", "breached"),
    [(2, False), (24, False), (25, True), (24 * 5, True)],
)
def test_first_contact_after_the_sla_deadline_flags_a_breach(
    make_eql, ae, created_at, hours_after_creation, breached, event
):
    # given: high priority, 24 h SLA; any first outreach (contact, call, proposal) is the first contact
    eql = make_eql(status="new", sla_deadline=created_at + dt.timedelta(hours=24))
    at = created_at + dt.timedelta(hours=hours_after_creation)

    # when
    eql_transition(eql_id=eql.pk, user=ae, event=event, at=at)

    # then
    eql.refresh_from_db()
    assert (eql.first_contact_at, eql.sla_breached) == (at, breached)


@pytest.mark.django_db
def test_the_sweep_flags_only_eqls_overdue_without_a_first_contact(make_eql, created_at):
    # given: every EQL's 24 h deadline passed 9 days ago
    deadline = created_at + dt.timedelta(hours=24)
    contacted_on_time = make_eql(status="contacted", sla_deadline=deadline, first_contact_at=created_at)
    proposal_on_time = make_eql(status="proposal_sent", sla_deadline=deadline, first_contact_at=created_at)
    never_contacted = make_eql(status="new", sla_deadline=deadline)
    # an imported EQL whose status moved on without a recorded first contact is still uncontacted
    moved_without_contact = make_eql(status="call_booked", sla_deadline=deadline)
    declined_unworked = make_eql(status="declined", sla_deadline=deadline, closed_at=created_at)
    still_running = make_eql(status="new", sla_deadline=timezone.now() + dt.timedelta(hours=3))

    # when
    changed = review_windows_sweep()

    # then: the breach log agrees with lifecycle.is_overdue, row by row
    assert changed == 2
    flags = dict(EQL.objects.values_list("pk", "sla_breached"))
    now = timezone.now()
    for eql in (
        contacted_on_time,
        proposal_on_time,
        never_contacted,
        moved_without_contact,
        declined_unworked,
        still_running,
    ):
        overdue = lifecycle.is_overdue(
            deadline=eql.sla_deadline, first_contact_at=eql.first_contact_at, status=eql.status, now=now
        )
        assert flags[eql.pk] is overdue, eql.status
    assert {pk for pk, flagged in flags.items() if flagged} == {never_contacted.pk, moved_without_contact.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "status", "extra"),
    [
        ("contacted", "new", {}),
        ("proposal_sent", "call_booked", {}),
        ("won", "proposal_sent", {"expansion_arr": Decimal("9000")}),
        ("declined", "new", {"reason": "bad_timing"}),
    ],
)
def test_a_refused_sales_step_by_the_accounts_csm_changes_nothing(make_eql, csm, event, status, extra):
    # given: the AE owns the EQL; the CSM is the account's CSM
    eql = make_eql(status=status)
    before = row(eql)

    # when
    with pytest.raises(TransitionError, match="only the EQL's owner logs sales steps"):
        eql_transition(eql_id=eql.pk, user=csm, event=event, **extra)

    # then
    assert row(eql) == before
    assert not Activity.objects.filter(eql=eql).exists()
    assert not Notification.objects.exists()


# --- CSM review window ----------------------------------------------------------------------------


@pytest.fixture
def in_review(make_eql, created_at):
    """A medium-priority AE EQL in its 24 h CSM review window (SLA runs 48 h after it ends)."""
    window_end = created_at + dt.timedelta(hours=24)
    return make_eql(
        status="new",
        priority="medium",
        csm_involvement_required=True,
        review_state="pending",
        review_window_ends_at=window_end,
        sla_deadline=window_end + dt.timedelta(hours=48),
    )


@pytest.mark.django_db
def test_the_csm_holds_with_a_context_note_and_the_ae_is_told(in_review, csm, ae, created_at):
    # given
    at = created_at + dt.timedelta(hours=3)

    # when
    eql_transition(eql_id=in_review.pk, user=csm, event="csm_hold", at=at, note=" Renewal dispute open. ")

    # then
    in_review.refresh_from_db()
    assert (in_review.review_state, in_review.hold_note, in_review.held_at) == (
        "held",
        "Renewal dispute open.",
        at,
    )
    note = Notification.objects.get(eql=in_review)
    assert (note.recipient, note.kind) == (ae, "hold")
    assert "CSM note: Renewal dispute open." in note.body


@pytest.mark.django_db
@pytest.mark.parametrize("note", ["", "   "])
def test_a_hold_needs_a_note(in_review, csm, note):
    # given
    before = row(in_review)

    # when
    with pytest.raises(TransitionError, match="a hold needs a context note"):
        eql_transition(eql_id=in_review.pk, user=csm, event="csm_hold", note=note)

    # then
    assert row(in_review) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_only_the_accounts_csm_may_hold(in_review, ae):
    # given
    before = row(in_review)

    # when
    with pytest.raises(TransitionError, match="only the account's CSM"):
        eql_transition(eql_id=in_review.pk, user=ae, event="csm_hold", note="mine")

    # then
    assert row(in_review) == before


@pytest.mark.django_db
def test_a_hold_needs_an_open_review_window(make_eql, csm):
    # given: a high-priority EQL has no review window
    eql = make_eql(status="new", review_state="")

    # when
    with pytest.raises(TransitionError, match="no open CSM review window"):
        eql_transition(eql_id=eql.pk, user=csm, event="csm_hold", note="wait")

    # then
    assert EQL.objects.get(pk=eql.pk).review_state == ""


@pytest.mark.django_db
@pytest.mark.parametrize("event", lifecycle.OUTREACH)
@pytest.mark.parametrize("state", ["held", "escalated"])
def test_ae_outreach_is_refused_while_the_csm_holds(in_review, ae, event, state):
    # given
    EQL.objects.filter(pk=in_review.pk).update(
        review_state=state, hold_note="Renewal dispute", held_at=timezone.now()
    )
    before = row(in_review)

    # when
    with pytest.raises(TransitionError, match="the account's CSM is holding this EQL"):
        eql_transition(eql_id=in_review.pk, user=ae, event=event)

    # then
    assert row(in_review) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_ae_may_still_decline_a_held_eql(in_review, ae):
    # given
    EQL.objects.filter(pk=in_review.pk).update(
        review_state="held", hold_note="Dispute", held_at=timezone.now()
    )

    # when
    eql_transition(eql_id=in_review.pk, user=ae, event="declined", reason="relationship_risk")

    # then
    assert EQL.objects.get(pk=in_review.pk).status == "declined"


@pytest.mark.django_db
def test_release_starts_the_aes_sla_clock_from_the_release(in_review, csm, ae, created_at):
    # given
    EQL.objects.filter(pk=in_review.pk).update(review_state="held", hold_note="Dispute", held_at=created_at)
    released = created_at + dt.timedelta(hours=30)

    # when
    eql_transition(eql_id=in_review.pk, user=csm, event="csm_release", at=released, note="resolved")

    # then
    in_review.refresh_from_db()
    assert (in_review.review_state, in_review.review_window_ends_at, in_review.sla_deadline) == (
        "released",
        released,
        released + dt.timedelta(hours=48),
    )
    assert set(Notification.objects.values_list("recipient", "kind")) == {
        (ae.pk, "release"),
        (csm.pk, "release"),
    }


@pytest.mark.django_db
def test_an_early_release_uses_the_policys_medium_sla_hours(in_review, csm, ae, created_at):
    # given
    policy = sla_policy_load()
    policy.sla_hours_medium = 36
    policy.save()
    released = created_at + dt.timedelta(hours=2)

    # when
    eql_transition(eql_id=in_review.pk, user=csm, event="csm_release", at=released)

    # then
    in_review.refresh_from_db()
    assert in_review.sla_deadline == released + dt.timedelta(hours=36)

    # and the AE may now reach out
    eql_transition(eql_id=in_review.pk, user=ae, event="contacted", at=released + dt.timedelta(hours=1))
    assert EQL.objects.get(pk=in_review.pk).status == "contacted"


@pytest.mark.django_db
def test_release_needs_a_window_or_hold(make_eql, csm):
    # given
    eql = make_eql(status="new", review_state="expired")

    # when
    with pytest.raises(TransitionError, match="no CSM review window or hold to release"):
        eql_transition(eql_id=eql.pk, user=csm, event="csm_release")

    # then
    assert EQL.objects.get(pk=eql.pk).review_state == "expired"


@pytest.mark.django_db
def test_the_sweep_expires_ended_windows_and_escalates_long_holds(make_eql, manager, ae):
    # given
    now = timezone.now()
    ended = make_eql(review_state="pending", review_window_ends_at=now - dt.timedelta(minutes=1))
    running = make_eql(review_state="pending", review_window_ends_at=now + dt.timedelta(hours=3))
    long_hold = make_eql(review_state="held", hold_note="Dispute", held_at=now - dt.timedelta(hours=49))
    fresh_hold = make_eql(review_state="held", hold_note="Dispute", held_at=now - dt.timedelta(hours=47))
    closed_hold = make_eql(status="lost", review_state="held", held_at=now - dt.timedelta(hours=100))

    # when
    changed = review_windows_sweep(now=now)

    # then
    assert changed == 2
    states = dict(EQL.objects.values_list("pk", "review_state"))
    assert states == {
        ended.pk: "expired",
        running.pk: "pending",
        long_hold.pk: "escalated",
        fresh_hold.pk: "held",
        closed_hold.pk: "held",
    }
    assert EQL.objects.get(pk=ended.pk).updated_at == now
    escalation = Notification.objects.get()
    assert (escalation.recipient, escalation.kind, escalation.eql_id) == (manager, "escalation", long_hold.pk)
    assert "CSM note: Dispute" in escalation.body


@pytest.mark.django_db
def test_the_sweep_is_idempotent(make_eql):
    # given
    now = timezone.now()
    make_eql(review_state="held", hold_note="Dispute", held_at=now - dt.timedelta(hours=49))
    review_windows_sweep(now=now)

    # when
    changed = review_windows_sweep(now=now + dt.timedelta(minutes=15))

    # then
    assert changed == 0
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_a_csm_can_release_an_escalated_hold(make_eql, csm, created_at):
    # given
    eql = make_eql(review_state="escalated", hold_note="Dispute", held_at=created_at)

    # when
    eql_transition(eql_id=eql.pk, user=csm, event="csm_release")

    # then
    assert EQL.objects.get(pk=eql.pk).review_state == "released"


# --- who may act ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [
        pytest.param(Role.AE, id="another-AE"),
        pytest.param(Role.CSM, id="another-CSM"),
        pytest.param(Role.MANAGER, id="another-manager"),
        pytest.param(Role.FINANCE, id="finance"),
    ],
)
def test_someone_who_may_not_act_gets_permission_error_and_nothing_changes(make_eql, role):
    # given
    eql = make_eql(status="new")
    stranger = UserFactory(role=role)
    before = row(eql)

    # when
    with pytest.raises(PermissionError):
        eql_transition(eql_id=eql.pk, user=stranger, event="contacted", note="mine now")

    # then
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "revops", "superuser"])
def test_the_owners_manager_and_revops_may_act(make_eql, manager, who):
    # given
    eql = make_eql(status="new")
    user = {
        "manager": manager,
        "revops": UserFactory(role=Role.REVOPS),
        "superuser": UserFactory(role="", is_superuser=True),
    }[who]

    # when
    eql_transition(eql_id=eql.pk, user=user, event="declined", reason="other", note="duplicate")

    # then
    assert EQL.objects.get(pk=eql.pk).status == "declined"
    assert Activity.objects.get(eql=eql).actor == user
