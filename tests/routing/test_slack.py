"""Slack app mode against the local fake Web API: a new EQL is a DM with buttons; Accept, Snooze and
Disqualify change the EQL exactly as POST /api/eqls/{id}/events/ does, and the message is updated in
place; signatures, ownership, duplicates, outages, the daily cap and preferences."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from expansion.models import EQL, Activity, Role
from routing.models import (
    Delivery,
    EqlSnooze,
    Notification,
    NotificationPreference,
    RoutingRule,
    SlackInteraction,
    SlackMessage,
    SlackUser,
)
from routing.services import notify
from routing.slack import blocks
from tests.factories import AccountFactory, EQLFactory, UserFactory
from tests.slack_fake import signed

pytestmark = pytest.mark.django_db

URL = "/slack/interactions/"
NOW = timezone.now().replace(microsecond=0)
#: EQL row fields that differ between two records by construction (identity, account, audit times).
IDENTITY = {"id", "account_id", "updated_at"}


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def people(slack):
    manager = UserFactory(role=Role.MANAGER, email="manager@example.com", name="Mia Manager")
    ae = UserFactory(role=Role.AE, email="ae@example.com", name="Alex Rivera", manager=manager)
    other = UserFactory(role=Role.AE, email="other@example.com", name="Olu Other")
    csm = UserFactory(role=Role.CSM, email="csm@example.com", name="Casey CSM")
    for user, slack_id in ((ae, "U0AE"), (manager, "U0MGR"), (other, "U0OTHER"), (csm, "U0CSM")):
        slack.add_user(user.email, slack_id)
    return {"ae": ae, "manager": manager, "other": other, "csm": csm}


def make_eql(people, **overrides) -> EQL:
    created = NOW - dt.timedelta(days=1)
    values = {
        "account": AccountFactory(
            ae=people["ae"], csm=people["csm"], name=overrides.pop("name", "Acme Corp")
        ),
        "owner": people["ae"],
        "csm": people["csm"],
        "created_at": created,
        "updated_at": created,
        "score": 82,
        "triggered_signals": [{"signal": "seat_utilization", "value": 0.95, "threshold": 0.9, "points": 40}],
        "opening_angle": "You are at 95% of seats.",
        "estimate_source": "default",
        "sla_deadline": NOW + dt.timedelta(hours=20),
    }
    return EQLFactory(**{**values, **overrides})


def announce(django_capture_on_commit_callbacks, eql: EQL) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notify(eqls=[EQL.objects.select_related("account", "owner").get(pk=eql.pk)], kind="new_eql")


def dm_of(eql: EQL, slack_user: str) -> SlackMessage:
    return SlackMessage.objects.get(eql=eql, channel="D" + slack_user[1:])


def post_signed(client, payload: dict, **kwargs):
    body, headers = signed(payload, **kwargs)
    return client.post(URL, data=body, content_type="application/x-www-form-urlencoded", **headers)


def click(client, slack, message: SlackMessage, action_id: str, user_id: str, option: str = ""):
    payload = slack.click(
        channel=message.channel, ts=message.ts, action_id=action_id, user_id=user_id, option=option
    )
    return post_signed(client, payload)


def api_event(user, eql: EQL, body: dict):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api.post(f"/api/eqls/{eql.pk}/events/", body, format="json")


def row(eql: EQL) -> dict:
    values = EQL.objects.filter(pk=eql.pk).values().get()
    return {k: v for k, v in values.items() if k not in IDENTITY}


def activities(eql: EQL) -> list[tuple]:
    return list(
        Activity.objects.filter(eql=eql)
        .order_by("pk")
        .values_list("event", "type", "commercial", "reason", "note", "actor__email", "occurred_at")
    )


def texts(message: dict) -> str:
    """Every text of a message's blocks, joined (what a person reads)."""
    return json.dumps(message["blocks"])


# --- the message ------------------------------------------------------------------------------------


def test_a_new_eql_is_a_dm_to_owner_and_csm_with_the_three_questions_and_buttons(
    slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    eql = make_eql(people)

    # when
    announce(django_capture_on_commit_callbacks, eql)

    # then: one DM each to the owner and the CSM, looked up by email once
    posts = slack.calls_to("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == ["U0AE", "U0CSM"]
    assert all(c.authorization == "Bearer xoxb-test-token-not-real" for c in slack.calls)
    assert sorted(c.params["email"] for c in slack.calls_to("users.lookupByEmail")) == [
        "ae@example.com",
        "csm@example.com",
    ]
    message = slack.messages[(dm_of(eql, "U0AE").channel, dm_of(eql, "U0AE").ts)]
    assert message["text"] == "New EQL: Acme Corp · score 82"
    body = texts(message)
    for part in (
        "*Why now*",
        "seat utilization: 0.95 (threshold 0.9, 40 pts)",
        "*Worth*",
        "*What to say*",
        "You are at 95% of seats.",
    ):
        assert part in body
    actions = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == [blocks.ACCEPT, blocks.SNOOZE, blocks.DISQUALIFY, blocks.OPEN]
    assert [o["value"] for o in actions[1]["options"]] == [f"{eql.pk}:1", f"{eql.pk}:3", f"{eql.pk}:7"]
    assert actions[3]["url"] == f"https://eql.example.com/eqls/{eql.pk}/"
    assert set(Delivery.objects.values_list("channel", "status")) == {("email", "sent"), ("slack", "sent")}


def test_the_blocks_take_extra_link_buttons_for_the_crm():
    # given
    card = blocks.EqlCard(
        eql_id=7,
        title="New EQL",
        account="Acme",
        route="AE-led",
        score=70,
        why_now=["a"],
        worth="w",
        opening_angle="o",
        url="https://eql.example.com/eqls/7/",
    )

    # when
    _, body = blocks.eql_message(card, extra_links=[("Open in Salesforce", "https://sf.example.com/006xx")])

    # then
    buttons = next(b for b in body if b["type"] == "actions")["elements"]
    assert buttons[-1] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open in Salesforce"},
        "action_id": "eql_link_0",
        "value": "7",
        "url": "https://sf.example.com/006xx",
    }
    assert [b["action_id"] for b in buttons] == [
        "eql_accept",
        "eql_snooze",
        "eql_disqualify",
        "eql_open",
        "eql_link_0",
    ]


def test_a_rule_channel_gets_one_post_of_a_new_eql(
    slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    rule = RoutingRule.objects.create(name="High value", route="ae", slack_channel="C0HIGHVALUE")
    eql = make_eql(people, evaluation={"route_rule": rule.name})

    # when
    announce(django_capture_on_commit_callbacks, eql)

    # then
    assert sorted(c.params["channel"] for c in slack.calls_to("chat.postMessage")) == [
        "C0HIGHVALUE",
        "U0AE",
        "U0CSM",
    ]
    assert SlackMessage.objects.filter(eql=eql, channel="C0HIGHVALUE").count() == 1


# --- actions, compared with the API -----------------------------------------------------------------


def test_accept_changes_the_eql_as_the_api_does_and_updates_the_message(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    by_slack, by_api = make_eql(people), make_eql(people, name="Beta Ltd")
    announce(django_capture_on_commit_callbacks, by_slack)
    dm = dm_of(by_slack, "U0AE")

    # when
    response = click(client, slack, dm, blocks.ACCEPT, "U0AE")
    api = api_event(people["ae"], by_api, {"type": "accept"})

    # then
    assert response.status_code == 200
    assert api.status_code == 200
    assert row(by_slack) == row(by_api)
    assert activities(by_slack) == activities(by_api)
    assert activities(by_slack) == [("accept", "note", False, "", "", "ae@example.com", NOW)]
    updated = slack.messages[(dm.channel, dm.ts)]
    assert "Accepted by Alex Rivera" in texts(updated)
    assert {c.params["channel"] for c in slack.calls_to("chat.update")} == {"D0AE", "D0CSM"}


def test_snooze_changes_the_eql_as_the_api_does(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    by_slack, by_api = make_eql(people), make_eql(people, name="Beta Ltd")
    announce(django_capture_on_commit_callbacks, by_slack)

    # when
    response = click(client, slack, dm_of(by_slack, "U0AE"), blocks.SNOOZE, "U0AE", option="3")
    api = api_event(
        people["ae"], by_api, {"type": "snooze", "until": (NOW + dt.timedelta(days=3)).isoformat()}
    )

    # then
    assert (response.status_code, api.status_code) == (200, 200)
    assert row(by_slack) == row(by_api)
    assert activities(by_slack) == activities(by_api)
    assert EqlSnooze.objects.get(eql=by_slack).until == NOW + dt.timedelta(days=3)
    assert EqlSnooze.objects.get(eql=by_api).until == NOW + dt.timedelta(days=3)
    message = slack.messages[(dm_of(by_slack, "U0AE").channel, dm_of(by_slack, "U0AE").ts)]
    assert "Snoozed 3 days by Alex Rivera" in texts(message)


def test_disqualify_opens_the_reason_modal_then_closes_as_the_api_does(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    by_slack, by_api = make_eql(people), make_eql(people, name="Beta Ltd")
    announce(django_capture_on_commit_callbacks, by_slack)
    dm = dm_of(by_slack, "U0AE")

    # when: the button opens the modal with the declined reason codes
    opened = click(client, slack, dm, blocks.DISQUALIFY, "U0AE")
    (views_open,) = slack.calls_to("views.open")
    view = views_open.params["view"]
    reasons = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    submitted = post_signed(client, slack.submit(view=view, user_id="U0AE", reason="bad_timing", note="Q3"))
    api = api_event(people["ae"], by_api, {"type": "declined", "reason": "bad_timing", "note": "Q3"})

    # then
    assert (opened.status_code, submitted.status_code, api.status_code) == (200, 200, 200)
    assert submitted.content == b""  # an empty 200 closes the modal
    assert reasons == [
        "already_in_conversation",
        "bad_timing",
        "no_budget",
        "not_ready",
        "other",
        "relationship_risk",
        "self_serve_preferred",
    ]
    assert row(by_slack) == row(by_api)
    assert row(by_slack)["status"] == "declined"
    assert row(by_slack)["closed_at"] == NOW
    assert activities(by_slack) == activities(by_api)
    message = slack.messages[(dm.channel, dm.ts)]
    actions = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == [blocks.OPEN]
    assert "Disqualified by Alex Rivera (bad timing)" in texts(message)


def test_the_owners_manager_may_act_in_a_channel(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    rule = RoutingRule.objects.create(name="High value", route="ae", slack_channel="C0HIGHVALUE")
    eql = make_eql(people, evaluation={"route_rule": rule.name})
    announce(django_capture_on_commit_callbacks, eql)

    # when
    response = click(client, slack, SlackMessage.objects.get(channel="C0HIGHVALUE"), blocks.ACCEPT, "U0MGR")

    # then
    assert response.status_code == 200
    assert activities(eql) == [("accept", "note", False, "", "", "manager@example.com", NOW)]


# --- refusals and idempotency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"secret": "wrong-secret"}, id="bad-signature"),
        pytest.param({"timestamp": int(NOW.timestamp()) - 6 * 60}, id="stale-6-minutes"),
    ],
)
def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks, tamper
):
    # given
    eql = make_eql(people)
    announce(django_capture_on_commit_callbacks, eql)
    dm = dm_of(eql, "U0AE")
    before = row(eql)
    calls = len(slack.calls)

    # when
    payload = slack.click(channel=dm.channel, ts=dm.ts, action_id=blocks.ACCEPT, user_id="U0AE")
    response = post_signed(client, payload, **tamper)

    # then
    assert response.status_code == 401
    assert row(eql) == before
    assert activities(eql) == []
    assert SlackInteraction.objects.count() == 0
    assert len(slack.calls) == calls


def test_a_request_without_signature_headers_is_refused(client, slack):
    # when
    response = client.post(URL, data="payload=%7B%7D", content_type="application/x-www-form-urlencoded")

    # then
    assert response.status_code == 401


@pytest.mark.parametrize("who", ["U0OTHER", "U0CSM", "U0NOBODY"])
def test_someone_who_does_not_own_the_eql_changes_nothing_and_is_told(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks, who
):
    # given: the message is in a channel everyone can see
    rule = RoutingRule.objects.create(name="High value", route="ae", slack_channel="C0HIGHVALUE")
    eql = make_eql(people, evaluation={"route_rule": rule.name})
    announce(django_capture_on_commit_callbacks, eql)
    before = row(eql)

    # when
    response = click(client, slack, SlackMessage.objects.get(channel="C0HIGHVALUE"), blocks.ACCEPT, who)

    # then
    assert response.status_code == 200
    assert row(eql) == before
    assert activities(eql) == []
    (told,) = slack.calls_to("chat.postEphemeral")
    assert told.params["channel"] == "C0HIGHVALUE"
    assert told.params["user"] == who
    assert "not yours" in told.params["text"] or "not matched" in told.params["text"]
    assert slack.calls_to("chat.update") == []


def test_a_duplicate_click_is_idempotent(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    eql = make_eql(people)
    announce(django_capture_on_commit_callbacks, eql)
    dm = dm_of(eql, "U0AE")

    # when
    first = click(client, slack, dm, blocks.SNOOZE, "U0AE", option="1")
    second = click(client, slack, dm, blocks.SNOOZE, "U0AE", option="1")

    # then
    assert (first.status_code, second.status_code) == (200, 200)
    assert [a[0] for a in activities(eql)] == ["snooze"]
    assert SlackInteraction.objects.filter(status="applied").count() == 1
    assert slack.calls_to("chat.postEphemeral") == []


def test_accepting_twice_from_two_messages_changes_nothing_the_second_time(
    client, slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given: the owner accepted in their DM
    rule = RoutingRule.objects.create(name="High value", route="ae", slack_channel="C0HIGHVALUE")
    eql = make_eql(people, evaluation={"route_rule": rule.name})
    announce(django_capture_on_commit_callbacks, eql)
    click(client, slack, dm_of(eql, "U0AE"), blocks.ACCEPT, "U0AE")

    # when: the manager clicks Accept on the channel post
    click(client, slack, SlackMessage.objects.get(channel="C0HIGHVALUE"), blocks.ACCEPT, "U0MGR")

    # then
    assert [a[0] for a in activities(eql)] == ["accept"]
    (told,) = slack.calls_to("chat.postEphemeral")
    assert told.params["text"] == "Nothing changed: this EQL is already accepted."


# --- failures, cap, preferences ---------------------------------------------------------------------


def test_a_slack_outage_does_not_block_scoring(slack, people, django_capture_on_commit_callbacks):
    # given: Slack answers 503 to everything, and an account whose usage qualifies
    from scoring.services import scoring_pass_run
    from tests.scoring.test_pass import AS_OF, HOT, make_account, only_open_eql, write_usage

    slack.down = True
    account = make_account("HOT-1", ae=people["ae"], csm=people["csm"])
    write_usage(account, HOT)

    # when the hourly pass runs (and its after-commit announcement tries Slack)
    with django_capture_on_commit_callbacks(execute=True):
        scoring_pass = scoring_pass_run(as_of=AS_OF)

    # then the EQL and its notifications are saved, email went out, Slack waits for a retry
    assert scoring_pass.eqls_created == 1
    eql = only_open_eql(account)
    assert (eql.route, eql.owner) == ("csm", people["csm"])  # 9,600 estimated: CSM-led, one recipient
    assert Notification.objects.filter(eql=eql).count() == 1
    assert len(slack.calls_to("users.lookupByEmail")) == 1
    assert set(Delivery.objects.filter(channel="slack").values_list("status", "attempts", "last_error")) == {
        (
            "pending",
            1,
            "SlackFailed: Slack users.lookupByEmail: Received a response in a non-JSON format:"
            " upstream connect error",
        )
    }
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}


def test_a_429_is_retried_after_retry_after(
    slack, people, fixed_now, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    from routing import tasks

    slack.fail("chat.postMessage", "429", "7")
    countdowns = []
    monkeypatch.setattr(tasks.deliver, "retry", lambda exc, countdown: countdowns.append(countdown) or exc)
    eql = make_eql(people, csm=None, account=AccountFactory(ae=people["ae"], csm=None))

    # when (the send runs after commit: its failure is logged and retried, never raised into the caller)
    announce(django_capture_on_commit_callbacks, eql)

    # then
    assert countdowns == [7.0]
    d = Delivery.objects.get(channel="slack")
    assert (d.status, d.attempts, d.last_error) == (
        "pending",
        1,
        "SlackFailed: Slack chat.postMessage: rate limited, retry after 7 s",
    )


def test_a_person_not_in_slack_fails_the_dm_at_once_with_the_reason(
    slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    slack.users.pop("ae@example.com")
    eql = make_eql(people, csm=None, account=AccountFactory(ae=people["ae"], csm=None))

    # when
    announce(django_capture_on_commit_callbacks, eql)

    # then
    d = Delivery.objects.get(channel="slack")
    assert (d.status, d.attempts) == ("failed", 1)
    assert d.last_error == "SlackFailed: no Slack user with the email ae@example.com"
    assert SlackUser.objects.get(email="ae@example.com").slack_user_id == ""


def test_the_daily_slack_cap_is_respected(slack, people, fixed_now, django_capture_on_commit_callbacks):
    # given: a cap of 2 a day
    NotificationPreference.objects.create(user=people["ae"], slack_daily_cap=2)
    eqls = [
        make_eql(people, csm=None, account=AccountFactory(ae=people["ae"], csm=None, name=f"A{i}"))
        for i in range(3)
    ]

    # when
    for eql in eqls:
        announce(django_capture_on_commit_callbacks, eql)

    # then
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["U0AE", "U0AE"]
    statuses = list(Delivery.objects.filter(channel="slack").order_by("pk").values_list("status", flat=True))
    assert statuses == ["sent", "sent", "capped"]
    assert Delivery.objects.filter(channel="email", status="sent").count() == 3


def test_digest_only_sends_no_dm_and_no_email(slack, people, fixed_now, django_capture_on_commit_callbacks):
    # given
    NotificationPreference.objects.create(user=people["ae"], channels="digest_only")
    eql = make_eql(people, csm=None, account=AccountFactory(ae=people["ae"], csm=None))

    # when
    announce(django_capture_on_commit_callbacks, eql)

    # then: in the app only
    assert Notification.objects.filter(recipient=people["ae"], eql=eql).count() == 1
    assert Delivery.objects.count() == 0
    assert slack.calls_to("chat.postMessage") == []


def test_the_weekly_digest_goes_to_slack_as_block_kit(
    slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given
    from routing.services import weekly_digests_send

    NotificationPreference.objects.create(user=people["ae"], channels="slack")
    NotificationPreference.objects.create(user=people["csm"], channels="email")
    NotificationPreference.objects.create(user=people["other"], channels="digest_only")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        weekly_digests_send(now=NOW)

    # then: the AE's digest in Slack (and not by email), the CSM's by email only
    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "U0AE"
    assert sorted(Delivery.objects.values_list("notification__recipient__email", "channel")) == [
        ("ae@example.com", "slack"),
        ("csm@example.com", "email"),
        ("other@example.com", "email"),
    ]
    assert [b["type"] for b in post.params["blocks"]] == ["header", "section", "actions"]
    assert post.params["blocks"][2]["elements"][0]["url"] == "https://eql.example.com/"


# --- snooze in the product --------------------------------------------------------------------------


def test_a_snoozed_eql_leaves_the_owners_queue_and_comes_back_with_a_notification(
    slack, people, fixed_now, django_capture_on_commit_callbacks
):
    # given: the owner snoozed one of two EQLs for a day
    from dashboards.inbox import QueueFilters, queue
    from routing.services import snoozes_wake

    snoozed, other = make_eql(people), make_eql(people, name="Beta Ltd")
    assert (
        api_event(
            people["ae"], snoozed, {"type": "snooze", "until": (NOW + dt.timedelta(days=1)).isoformat()}
        ).status_code
        == 200
    )

    # when / then: out of the owner's queue, still in their manager's
    assert list(queue(people["ae"], QueueFilters()).values_list("pk", flat=True)) == [other.pk]
    assert set(queue(people["manager"], QueueFilters()).values_list("pk", flat=True)) == {
        snoozed.pk,
        other.pk,
    }

    # when the snooze ends
    with django_capture_on_commit_callbacks(execute=True):
        woken = snoozes_wake(now=NOW + dt.timedelta(days=1, minutes=1))

    # then it is back, and the owner alone is notified again (in the app and in Slack)
    later = NOW + dt.timedelta(days=1, minutes=1)
    assert woken == 1
    assert set(queue(people["ae"], QueueFilters(), now=later).values_list("pk", flat=True)) == {
        snoozed.pk,
        other.pk,
    }
    assert list(Notification.objects.filter(eql=snoozed).values_list("recipient__email", "kind")) == [
        ("ae@example.com", "snooze_ended")
    ]
    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["text"] == "Snooze ended: Acme Corp · score 82"
    assert snoozes_wake(now=later) == 0


def test_a_status_change_ends_a_snooze(people, fixed_now, slack):
    # given
    eql = make_eql(people)
    api_event(people["ae"], eql, {"type": "snooze", "until": (NOW + dt.timedelta(days=7)).isoformat()})

    # when
    response = api_event(people["ae"], eql, {"type": "contacted"})

    # then
    assert response.status_code == 200
    assert not EqlSnooze.objects.filter(eql=eql).exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(
            {"type": "snooze"}, "a snooze needs an end between now and 30 days from now", id="no-until"
        ),
        pytest.param(
            {"type": "snooze", "until": (NOW + dt.timedelta(days=31)).isoformat()},
            "a snooze needs an end between now and 30 days from now",
            id="too-long",
        ),
    ],
)
def test_a_snooze_needs_an_end_within_30_days(people, fixed_now, slack, body, detail):
    # given
    eql = make_eql(people)

    # when
    response = api_event(people["ae"], eql, body)

    # then
    assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert not EqlSnooze.objects.exists()
    assert activities(eql) == []


def test_the_csm_may_not_accept_the_aes_eql_through_the_api(people, fixed_now, slack):
    # given
    eql = make_eql(people)

    # when
    response = api_event(people["csm"], eql, {"type": "accept"})

    # then
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "only the EQL's owner (or their manager) can accept or snooze it"
    )
    assert activities(eql) == []


def test_a_person_sets_their_own_notification_preference(client, people):
    # given
    client.force_login(people["ae"])

    # when
    page = client.get("/notifications/settings/")
    saved = client.post("/notifications/settings/", {"channels": "digest_only", "slack_daily_cap": "5"})
    refused = client.post("/notifications/settings/", {"channels": "pigeon", "slack_daily_cap": "-1"})

    # then
    assert page.status_code == 200
    assert saved.status_code == 302
    assert refused.status_code == 422
    assert list(NotificationPreference.objects.values_list("user__email", "channels", "slack_daily_cap")) == [
        ("ae@example.com", "digest_only", 5)
    ]


def test_an_eql_in_salesforce_gets_an_open_in_salesforce_button(
    slack, people, fixed_now, settings, django_capture_on_commit_callbacks
):
    # given: an EQL the CRM sync has written as an Opportunity
    from routing.crm.models import CrmConnection, CrmLink

    settings.SALESFORCE_INSTANCE_URL = "https://acme.my.salesforce.com"
    connection = CrmConnection.objects.create(
        name="sf", kind="salesforce", object_type="Opportunity", upsert_key="EQL_Id__c"
    )
    eql = make_eql(people)
    CrmLink.objects.create(connection=connection, eql=eql, crm_id="006000000000001AAA")

    # when
    announce(django_capture_on_commit_callbacks, eql)

    # then
    message = slack.messages[(dm_of(eql, "U0AE").channel, dm_of(eql, "U0AE").ts)]
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    crm = [e for e in buttons if e.get("text", {}).get("text") == "Open in Salesforce"]
    assert [e["url"] for e in crm] == [
        "https://acme.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view"
    ]
