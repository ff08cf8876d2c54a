"""Posting and updating Slack messages in app mode: who a person is in Slack (users.lookupByEmail,
cached), an EQL's card, chat.postMessage for a delivery, chat.update of every message about an EQL.

Imports no lifecycle service: ``routing.delivery`` sends through it."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.utils import timezone

from expansion.models import EQL, User
from routing.models import Delivery, Notification, SlackMessage, SlackUser
from routing.rules import ROUTE_CSM_REVIEW
from routing.slack import blocks, client

logger = logging.getLogger(__name__)

#: A cached users.lookupByEmail answer is trusted this long (a "not in Slack" answer too).
LOOKUP_TTL = dt.timedelta(days=1)
#: How many one-second channel slots a send waits for before it is retried later.
CHANNEL_WAIT_LIMIT = 10
#: Notification kinds shown as an EQL card (with buttons); others are a plain notice.
CARD_KINDS = frozenset(
    {
        Notification.Kind.NEW_EQL,
        Notification.Kind.EQL_CHANGED,
        Notification.Kind.SNOOZE_ENDED,
        Notification.Kind.HOLD,
        Notification.Kind.RELEASE,
        Notification.Kind.ESCALATION,
        Notification.Kind.SLA_WARNING,
    }
)
TITLES = {
    Notification.Kind.NEW_EQL: "New EQL",
    Notification.Kind.EQL_CHANGED: "EQL upgraded",
    Notification.Kind.SNOOZE_ENDED: "Snooze ended",
    Notification.Kind.HOLD: "CSM hold",
    Notification.Kind.RELEASE: "CSM released",
    Notification.Kind.ESCALATION: "Hold escalated",
    Notification.Kind.SLA_WARNING: "SLA warning",
}


def crm_links(eql: EQL) -> list[tuple[str, str]]:
    """Extra link buttons on an EQL's message, as (label, url): "Open in Salesforce/HubSpot" for each
    CRM record the sync has written for it (``routing.crm``)."""
    from routing.crm.selectors import record_links

    return record_links(eql)


def when_text(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%-d %b %Y, %H:%M")


def eql_url(eql_id: int) -> str:
    return f"{settings.APP_BASE_URL.rstrip('/')}/eqls/{eql_id}/"


def eql_card(
    eql: EQL, *, title: str = "EQL", done: str = "", now: dt.datetime | None = None
) -> blocks.EqlCard:
    """An EQL's card: the three questions, its SLA, and whether the buttons still apply."""
    now = now or timezone.now()
    snooze = getattr(eql, "snooze", None)  # the reverse one-to-one raises AttributeError when absent
    extra = []
    if snooze is not None and snooze.woken_at is None and snooze.until > now and eql.is_open:
        extra.append(f"_Snoozed until {when_text(snooze.until)}_")
    if not eql.is_open:
        reason = f" ({eql.close_reason.replace('_', ' ')})" if eql.close_reason else ""
        extra.append(f"*Closed: {eql.get_status_display()}{reason}*")
    why = [
        f"{t['signal'].replace('_', ' ')}: {t['value']} (threshold {t['threshold']}, {t['points']} pts)"
        for t in eql.triggered_signals
    ]
    worth = (
        f"Contract ARR {eql.contract_arr:,.0f} · estimated expansion {eql.estimated_expansion_arr:,.0f}"
        f" ({eql.estimate_source or 'n/a'})"
    )
    return blocks.EqlCard(
        eql_id=eql.pk,
        title=title,
        account=eql.account.name,
        route=eql.get_route_display(),
        score=eql.score,
        why_now=why,
        worth=worth,
        opening_angle=eql.opening_angle,
        url=eql_url(eql.pk),
        sla=f"SLA {when_text(eql.sla_deadline)}" if eql.sla_deadline else "",
        csm_note=eql.hold_note if eql.review_state in ("held", "escalated") else "",
        done=done,
        actionable=eql.is_open and eql.route != ROUTE_CSM_REVIEW,
        extra=extra,
    )


def slack_user_id(email: str) -> str:
    """The Slack user id for an email (users.lookupByEmail, cached a day); "" when not in Slack."""
    email = email.strip().lower()
    cached = SlackUser.objects.filter(email=email).first()
    if cached and timezone.now() - cached.looked_up_at < LOOKUP_TTL:
        return cached.slack_user_id
    try:
        found = client.call("users.lookupByEmail", email=email)["user"]["id"]
    except client.SlackFailed as exc:
        if exc.error != "users_not_found":
            raise
        found = ""
    SlackUser.objects.update_or_create(
        email=email, defaults={"slack_user_id": found, "looked_up_at": timezone.now()}
    )
    return found


def user_for_slack_id(slack_id: str, *, candidates: list[User]) -> User | None:
    """The active person behind a Slack user id: from the cache, else by looking up the emails of the
    people who may act (``candidates``: owner, their manager), else users.info's email."""
    emails = list(SlackUser.objects.filter(slack_user_id=slack_id).values_list("email", flat=True))
    if not emails:
        for person in candidates:
            if person.email and slack_user_id(person.email) == slack_id:
                return person
        try:
            profile = client.call("users.info", user=slack_id)["user"].get("profile", {})
        except client.SlackFailed as exc:
            if not exc.final:
                raise
            return None
        email = (profile.get("email") or "").strip().lower()
        if not email:
            return None
        SlackUser.objects.update_or_create(
            email=email, defaults={"slack_user_id": slack_id, "looked_up_at": timezone.now()}
        )
        emails = [email]
    return User.objects.filter(email__in=emails, is_active=True).order_by("pk").first()


def _wait_for_channel(channel: str) -> None:
    for _ in range(CHANNEL_WAIT_LIMIT):
        wait = client.channel_wait(channel)
        if not wait:
            return
        time.sleep(wait)  # at most a second: Slack's pace of one message per second per channel
    raise client.SlackFailed(f"Slack channel {channel} is busy", final=False, retry_after=1)


def render(note: Notification) -> tuple[str, list[dict]]:
    """The text and blocks a notification is posted with."""
    if note.kind == Notification.Kind.DIGEST:
        return blocks.digest_message(subject=note.subject, body=note.body, link=f"{settings.APP_BASE_URL}/")
    if note.eql_id and note.kind in CARD_KINDS:
        eql = note.eql
        text, body = blocks.eql_message(eql_card(eql, title=TITLES[note.kind]), extra_links=crm_links(eql))
        return text, body
    return blocks.notice_message(subject=note.subject, body=note.body)


def delivery_post(delivery: Delivery) -> SlackMessage | None:
    """Post one Slack delivery (a DM to the recipient, or the rule's channel); raise SlackFailed."""
    note = delivery.notification
    target = delivery.slack_channel
    if not target:
        target = slack_user_id(note.recipient.email)
        if not target:
            raise client.SlackFailed(
                f"no Slack user with the email {note.recipient.email}", final=True, error="users_not_found"
            )
    text, body = render(note)
    _wait_for_channel(target)
    answer = client.call("chat.postMessage", channel=target, text=text, blocks=body, unfurl_links=False)
    if not note.eql_id:
        return None
    message, _ = SlackMessage.objects.update_or_create(
        channel=answer.get("channel") or target,
        ts=answer["ts"],
        defaults={"eql_id": note.eql_id, "delivery": delivery},
    )
    return message


def messages_refresh(*, eql_id: int, done: str) -> int:
    """chat.update every message about an EQL to its current state and who did what; returns how
    many were updated. A message Slack no longer has records the error; a retryable failure raises."""
    eql = EQL.objects.select_related("account", "snooze").filter(pk=eql_id).first()
    if eql is None:
        return 0
    updated = 0
    for message in SlackMessage.objects.filter(eql_id=eql_id).order_by("pk"):
        text, body = blocks.eql_message(eql_card(eql, title="EQL", done=done), extra_links=crm_links(eql))
        try:
            client.call("chat.update", channel=message.channel, ts=message.ts, text=text, blocks=body)
        except client.SlackFailed as exc:
            message.last_error = str(exc)[:2000]
            message.save(update_fields=["last_error"])
            logger.warning("slack message=%s eql=%s update failed: %s", message.pk, eql_id, exc)
            if not exc.final:
                raise
            continue
        message.last_action = done[:255]
        message.updated_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["last_action", "updated_at", "last_error"])
        updated += 1
    return updated


def ephemeral(*, channel: str, user: str, text: str) -> None:
    """A message only ``user`` sees in ``channel`` (chat.postEphemeral)."""
    client.call("chat.postEphemeral", channel=channel, user=user, text=text)
