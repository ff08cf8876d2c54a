"""CSM review items in the browser (#15): out of the sales queue, in their own list with their own
actions, and "CSM look-first window" for the medium AE EQLs' window so the two are never confused."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from expansion.models import EQL, Role
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    manager = UserFactory(role=Role.MANAGER, email="mgr@example.com", name="Olivia Manager")
    return {
        "manager": manager,
        "other_manager": UserFactory(role=Role.MANAGER, email="mgr2@example.com"),
        "ae": UserFactory(role=Role.AE, email="ae@example.com", name="Maya AE", manager=manager),
        "csm": UserFactory(role=Role.CSM, email="csm@example.com", name="Sofia CSM", manager=manager),
        "csm2": UserFactory(role=Role.CSM, email="csm2@example.com", name="Marcus CSM"),
        "revops": UserFactory(role=Role.REVOPS, email="revops@example.com"),
        "finance": UserFactory(role=Role.FINANCE, email="finance@example.com"),
    }


def review_item(team, csm="csm", *, name, **fields) -> EQL:
    account = AccountFactory(ae=team["ae"], csm=team[csm], name=name)
    defaults = {
        "route": "csm_review",
        "owner": team[csm],
        "csm": team[csm],
        "score": 0,
        "priority": "watch",
        "primary_signal": "health_drop",
        "estimated_expansion_arr": 0,
        "sla_deadline": timezone.now() + dt.timedelta(hours=72),
    }
    defaults.update(fields)
    return EQLFactory(account=account, **defaults)


def sales_eql(team, *, name, **fields) -> EQL:
    account = AccountFactory(ae=team["ae"], csm=team["csm"], name=name)
    defaults = {
        "owner": team["ae"],
        "csm": team["csm"],
        "sla_deadline": timezone.now() + dt.timedelta(hours=24),
    }
    defaults.update(fields)
    return EQLFactory(account=account, **defaults)


def review_rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="review-(\d+)"', html)]


def queue_rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="eql-row-(\d+)"', html)]


@pytest.mark.parametrize("who", ["csm", "manager", "revops"])
def test_review_items_are_not_in_the_sales_queue(client, team, who):
    # given
    item = review_item(team, name="Watch Co")
    eql = sales_eql(team, name="Sales Co")
    client.force_login(team[who])

    # when
    html = client.get(reverse("inbox")).content.decode()

    # then
    assert queue_rows(html) == [eql.pk]
    assert item.pk not in queue_rows(html)
    assert reverse("reviews") in html  # the queue says where they went


def test_the_route_filter_still_finds_review_items_without_sales_buttons(client, team):
    # given
    item = review_item(team, name="Watch Co")
    client.force_login(team["csm"])

    # when
    html = client.get(reverse("inbox"), {"route": "csm_review"}).content.decode()

    # then
    assert queue_rows(html) == [item.pk]
    assert 'name="type" value="contacted"' not in html
    assert 'name="type" value="call_booked"' not in html


def test_the_csm_sees_their_review_items_with_their_actions(client, team):
    # given
    mine = review_item(team, name="Mine Co")
    review_item(team, "csm2", name="Theirs Co")
    sales_eql(team, name="Sales Co")
    client.force_login(team["csm"])

    # when
    response = client.get(reverse("reviews"))
    html = response.content.decode()

    # then
    assert response.status_code == 200
    assert review_rows(html) == [mine.pk]
    for event in ("review_promote", "review_risk", "review_dismiss"):
        assert f'name="type" value="{event}"' in html
    # dismiss offers the declined reasons, not churn risk (its own action)
    assert 'value="bad_timing"' in html
    assert 'value="churn_risk"' not in html
    for sales in ("contacted", "call_booked", "proposal_sent"):
        assert f'name="type" value="{sales}"' not in html


@pytest.mark.parametrize(
    ("who", "sees", "actions"),
    [
        ("manager", {"mine", "unassigned"}, True),  # their CSM's and unassigned ones
        ("other_manager", {"unassigned"}, True),
        ("revops", {"mine", "theirs", "unassigned"}, True),
        ("finance", {"mine", "theirs", "unassigned"}, False),  # read-only
        ("ae", set(), False),
    ],
)
def test_managers_and_revops_see_review_items_as_the_visibility_rule_allows(client, team, who, sees, actions):
    # given
    items = {
        "mine": review_item(team, name="Mine Co"),
        "theirs": review_item(team, "csm2", name="Theirs Co"),
        "unassigned": review_item(team, "csm2", name="Nobody Co", owner=None),
    }
    client.force_login(team[who])

    # when
    html = client.get(reverse("reviews")).content.decode()

    # then
    assert set(review_rows(html)) == {items[k].pk for k in sees}
    assert ('value="review_promote"' in html) is actions


def test_promote_from_the_review_list_moves_it_to_the_aes_queue(client, team):
    # given
    item = review_item(team, name="Watch Co")
    client.force_login(team["csm"])

    # when
    response = client.post(
        reverse("eql_event", args=[item.pk]), {"type": "review_promote", "next": reverse("reviews")}
    )

    # then
    assert response.status_code == 302
    assert response.url == reverse("reviews")
    assert review_rows(client.get(reverse("reviews")).content.decode()) == []
    client.force_login(team["ae"])
    assert queue_rows(client.get(reverse("inbox")).content.decode()) == [item.pk]


def test_a_refused_dismiss_says_why_and_changes_nothing(client, team):
    # given
    item = review_item(team, name="Watch Co")
    client.force_login(team["csm"])

    # when: no reason chosen
    response = client.post(
        reverse("eql_event", args=[item.pk]), {"type": "review_dismiss", "next": "/reviews/"}
    )

    # then
    assert response.status_code == 422
    assert "Dismissing a review item needs a reason." in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.closed_at) == ("new", None)


def test_decided_items_show_their_outcome(client, team):
    # given
    risk = review_item(
        team, name="Risk Co", status="declined", close_reason="churn_risk", closed_at=timezone.now()
    )
    dismissed = review_item(
        team, name="Quiet Co", status="declined", close_reason="bad_timing", closed_at=timezone.now()
    )
    client.force_login(team["csm"])

    # when
    html = client.get(reverse("reviews"), {"status": "closed"}).content.decode()

    # then
    assert set(review_rows(html)) == {risk.pk, dismissed.pk}
    assert "Churn risk, handed to retention" in html
    assert "Dismissed · Bad timing" in html


def test_the_eql_page_of_a_review_item_offers_the_decisions_not_sales_steps(client, team):
    # given
    item = review_item(team, name="Watch Co")
    client.force_login(team["csm"])

    # when
    html = client.get(reverse("eql", args=[item.pk])).content.decode()

    # then
    assert 'value="review_promote"' in html
    assert 'value="review_dismiss"' in html
    assert 'name="type" value="contacted"' not in html


def test_the_medium_ae_window_is_called_the_csm_look_first_window(client, team):
    # given: a medium AE EQL in its CSM window
    eql = sales_eql(
        team,
        name="Window Co",
        priority="medium",
        review_state="pending",
        review_window_ends_at=timezone.now() + dt.timedelta(hours=5),
    )
    client.force_login(team["ae"])

    # when
    queue = client.get(reverse("inbox")).content.decode()
    page = client.get(reverse("eql", args=[eql.pk])).content.decode()

    # then
    for html in (queue, page):
        assert "CSM look-first window" in html
        assert "In CSM review" not in html
