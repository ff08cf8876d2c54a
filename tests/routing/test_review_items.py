"""CSM review items (route csm_review: a watch signal fired, no score, no estimate) and the CSM's three
decisions: promote to an EQL for the AE, mark a churn risk for retention, dismiss with a reason (#15).

Rules in ``routing.lifecycle`` (pure); ``routing.services.eql_transition`` applies them; the API takes
the same events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from expansion.models import EQL, Activity, Role
from routing import lifecycle
from routing.lifecycle import TransitionError
from routing.models import Notification, ReasonCode
from routing.selectors import sla_policy_load
from routing.services import PROMOTED_RULE, eql_transition
from tests.factories import AccountFactory, EQLFactory, UserFactory

# --- pure rules -----------------------------------------------------------------------------------


def review_view(
    *, status="new", route="csm_review", owner=1, csm=1, manager=3, gate=False
) -> lifecycle.EqlView:
    return lifecycle.EqlView(
        status=status,
        route=route,
        owner_id=owner,
        csm_id=csm,
        owner_manager_id=manager if owner else None,
        review_state="",
        self_serve_gate=gate,
    )


#: (actor role, actor id, owner id, may decide?). Ids: 1 the owning CSM, 3 the owner's manager.
DECIDERS = [
    ("CSM", 1, 1, True),  # the review item's CSM owner
    ("CSM", 1, None, True),  # unassigned: the account's CSM is its owner to be
    ("CSM", 5, 1, False),  # another CSM
    ("AE", 5, 1, False),  # an AE: the item is not theirs until promoted
    ("Manager", 3, 1, True),  # the owner's manager
    ("Manager", 9, 1, False),  # another team's manager
    ("RevOps", 8, 1, True),
    ("Finance", 6, 1, False),
]


@pytest.mark.parametrize(("role", "actor_id", "owner", "allowed"), DECIDERS)
@pytest.mark.parametrize("event", lifecycle.REVIEW_EVENTS)
def test_only_the_csm_owner_their_manager_or_revops_decide_a_review_item(
    event, role, actor_id, owner, allowed
):
    # given
    actor = lifecycle.Actor(id=actor_id, role=role)
    eql = review_view(owner=owner)

    # when
    def send():
        lifecycle.check_event(
            event=event, actor=actor, eql=eql, reason="not_ready", reason_codes=("not_ready",)
        )

    # then
    if allowed:
        send()
    else:
        with pytest.raises(TransitionError, match="only the review item's CSM"):
            send()


@pytest.mark.parametrize("event", lifecycle.REVIEW_EVENTS)
@pytest.mark.parametrize("status", lifecycle.CLOSED)
def test_a_decided_review_item_takes_no_further_decision(event, status):
    # given
    actor = lifecycle.Actor(id=1, role="CSM")

    # then
    with pytest.raises(TransitionError, match="already closed"):
        lifecycle.check_event(event=event, actor=actor, eql=review_view(status=status), reason="not_ready")


@pytest.mark.parametrize("event", lifecycle.REVIEW_EVENTS)
@pytest.mark.parametrize("route", ["ae", "csm", "self_serve"])
def test_review_decisions_are_refused_on_an_eql(event, route):
    # given: the owner of a sales EQL
    actor = lifecycle.Actor(id=1, role="CSM" if route != "ae" else "AE")

    # then
    with pytest.raises(TransitionError, match="only a CSM review item"):
        lifecycle.check_event(event=event, actor=actor, eql=review_view(route=route), reason="not_ready")


@pytest.mark.parametrize("event", [*lifecycle.STATUS_EVENTS, *lifecycle.CSM_EVENTS])
def test_sales_steps_and_the_look_first_window_are_refused_on_a_review_item(event):
    # given: the owning CSM, with every input the event would need
    actor = lifecycle.Actor(id=1, role="CSM")

    # then
    with pytest.raises(TransitionError, match="this is a CSM review item"):
        lifecycle.check_event(
            event=event, actor=actor, eql=review_view(), reason="other", note="n", amount=100.0
        )


def test_a_note_is_still_allowed_on_a_review_item():
    lifecycle.check_event(
        event="note", actor=lifecycle.Actor(id=1, role="CSM"), eql=review_view(), note="Called"
    )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "needs a reason"),
        ("churn_risk", "use Mark as churn risk"),
        ("made_up", "unknown reason 'made_up'"),
    ],
)
def test_dismiss_needs_a_known_declined_reason(reason, message):
    # given
    actor = lifecycle.Actor(id=1, role="CSM")

    # then
    with pytest.raises(TransitionError, match=message):
        lifecycle.check_event(
            event="review_dismiss", actor=actor, eql=review_view(), reason=reason, reason_codes=("not_ready",)
        )


def test_a_self_serve_gated_account_is_never_promoted_to_an_ae():
    # given
    actor = lifecycle.Actor(id=1, role="CSM")

    # then
    with pytest.raises(TransitionError, match="never AE-led"):
        lifecycle.check_event(event="review_promote", actor=actor, eql=review_view(gate=True))
    lifecycle.check_event(event="review_risk", actor=actor, eql=review_view(gate=True))


# --- service ----------------------------------------------------------------------------------------


@pytest.fixture
def team(db):
    manager = UserFactory(role=Role.MANAGER, email="mgr@example.com")
    return {
        "manager": manager,
        "ae": UserFactory(role=Role.AE, email="ae@example.com", manager=manager),
        "csm": UserFactory(role=Role.CSM, email="csm@example.com", manager=manager),
        "other_csm": UserFactory(role=Role.CSM, email="csm2@example.com"),
    }


def review_item(team, **fields) -> EQL:
    account = AccountFactory(ae=team["ae"], csm=team["csm"])
    defaults = {
        "route": "csm_review",
        "owner": team["csm"],
        "csm": team["csm"],
        "score": 0,
        "priority": "watch",
        "primary_signal": "health_drop",
        "estimated_expansion_arr": 0,
        "sla_deadline": timezone.now() + dt.timedelta(hours=72),
        "created_at": timezone.now() - dt.timedelta(hours=5),
    }
    defaults.update(fields)
    return EQLFactory(account=account, **defaults)


def snapshot(eql: EQL) -> tuple:
    eql.refresh_from_db()
    return (
        eql.status,
        eql.route,
        eql.owner_id,
        eql.sla_deadline,
        eql.closed_at,
        eql.close_reason,
        eql.updated_at,
    )


@pytest.mark.django_db
def test_promote_hands_the_item_to_the_accounts_ae_with_an_sla_clock(team):
    # given
    item = review_item(team)
    before = timezone.now()

    # when
    eql_transition(eql_id=item.pk, user=team["csm"], event="review_promote", note="Real seat demand")

    # then: an EQL for the AE, the CSM involved, a fresh SLA clock, no longer a review item
    item.refresh_from_db()
    hours = sla_policy_load().sla_hours_high
    assert (item.route, item.owner_id, item.csm_id, item.status) == (
        "ae",
        team["ae"].pk,
        team["csm"].pk,
        "new",
    )
    assert item.csm_involvement_required is True
    assert item.assigned_at >= before
    assert item.sla_deadline == item.assigned_at + dt.timedelta(hours=hours)
    assert item.evaluation["route_rule"] == PROMOTED_RULE
    activity = Activity.objects.get(eql=item)
    assert (activity.event, activity.actor_id, activity.note) == (
        "review_promote",
        team["csm"].pk,
        "Real seat demand",
    )
    assert Notification.objects.filter(
        eql=item, recipient=team["ae"], kind=Notification.Kind.EQL_CHANGED
    ).exists()
    # and the AE now logs the sales steps on it
    eql_transition(eql_id=item.pk, user=team["ae"], event="contacted")
    item.refresh_from_db()
    assert item.status == "contacted"


@pytest.mark.django_db
def test_promote_without_an_available_ae_leaves_it_unassigned_for_the_manager(team):
    # given: the account's AE is inactive, and nobody else is an AE
    team["ae"].is_active = False
    team["ae"].save()
    item = review_item(team)

    # when
    eql_transition(eql_id=item.pk, user=team["manager"], event="review_promote")

    # then
    item.refresh_from_db()
    assert (item.route, item.owner_id, item.unassigned) == ("ae", None, True)


@pytest.mark.django_db
def test_churn_risk_closes_declined_with_the_reason_and_starts_suppression(team):
    # given
    item = review_item(team)

    # when
    eql_transition(eql_id=item.pk, user=team["csm"], event="review_risk", note="Champion left")

    # then
    item.refresh_from_db()
    assert (item.status, item.close_reason, item.route) == ("declined", "churn_risk", "csm_review")
    assert item.closed_at is not None  # the suppression window runs from closed_at, as after any close
    activity = Activity.objects.get(eql=item)
    assert (activity.event, activity.reason, activity.note) == ("review_risk", "churn_risk", "Champion left")
    assert ReasonCode.objects.filter(kind="declined", code="churn_risk", active=True).exists()


@pytest.mark.django_db
def test_dismiss_closes_declined_with_the_chosen_reason(team):
    # given
    item = review_item(team)

    # when
    eql_transition(eql_id=item.pk, user=team["csm"], event="review_dismiss", reason="bad_timing")

    # then
    item.refresh_from_db()
    assert (item.status, item.close_reason) == ("declined", "bad_timing")
    assert Activity.objects.get(eql=item).reason == "bad_timing"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "event", "inputs", "error"),
    [
        ("csm", "contacted", {}, TransitionError),  # a sales step on a review item
        ("csm", "declined", {"reason": "not_ready"}, TransitionError),
        ("csm", "review_dismiss", {"reason": "churn_risk"}, TransitionError),
        ("csm", "review_dismiss", {"reason": "nonsense"}, TransitionError),
        ("csm", "review_dismiss", {}, TransitionError),
        ("other_csm", "review_promote", {}, PermissionError),  # not theirs: may not act at all
        ("ae", "review_promote", {}, PermissionError),  # the account's AE: not theirs until promoted
    ],
)
def test_a_refused_decision_changes_nothing(team, who, event, inputs, error):
    # given
    item = review_item(team)
    before = snapshot(item)

    # when
    with pytest.raises(error):
        eql_transition(eql_id=item.pk, user=team[who], event=event, **inputs)

    # then
    assert snapshot(item) == before
    assert not Activity.objects.filter(eql=item).exists()
    assert not Notification.objects.filter(eql=item).exists()


@pytest.mark.django_db
def test_a_closed_review_item_cannot_be_promoted(team):
    # given
    item = review_item(team)
    eql_transition(eql_id=item.pk, user=team["csm"], event="review_dismiss", reason="not_ready")
    before = snapshot(item)

    # then
    with pytest.raises(TransitionError, match="already closed"):
        eql_transition(eql_id=item.pk, user=team["csm"], event="review_promote")
    assert snapshot(item) == before


# --- API --------------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db
def test_the_api_takes_the_review_decisions_and_refuses_sales_steps_on_review_items(team):
    # given
    promote, dismiss = review_item(team), review_item(team)
    client = api(team["csm"])

    # when
    refused = client.post(f"/api/eqls/{promote.pk}/events/", {"type": "contacted"}, format="json")
    promoted = client.post(f"/api/eqls/{promote.pk}/events/", {"type": "review_promote"}, format="json")
    dismissed = client.post(
        f"/api/eqls/{dismiss.pk}/events/", {"type": "review_dismiss", "reason": "no_budget"}, format="json"
    )

    # then
    assert refused.status_code == 400
    assert "CSM review item" in refused.json()["detail"]
    assert promoted.status_code == 200, promoted.content
    assert (promoted.json()["route"], promoted.json()["owner_email"]) == ("ae", "ae@example.com")
    assert promoted.json()["sla_deadline"] is not None
    assert dismissed.status_code == 200, dismissed.content
    assert dismissed.json()["status"] == "declined"
    dismiss.refresh_from_db()
    assert dismiss.close_reason == "no_budget"
