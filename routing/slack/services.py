"""Slack interactions: a button click or modal submission, applied through the lifecycle service.

The same rules as ``POST /api/eqls/{id}/events/`` (``routing.services.eql_transition``): only the
EQL's owner or their manager (and RevOps) may accept, snooze or disqualify; anyone else gets an
ephemeral "not yours" and nothing changes. A repeat of an applied click changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from expansion.models import EQL, User
from routing import lifecycle
from routing.lifecycle import TransitionError
from routing.models import ReasonCode, SlackInteraction
from routing.services import actor_of, eql_transition, eql_view
from routing.slack import blocks, client, messages

logger = logging.getLogger(__name__)

NOT_YOURS = "This EQL is not yours: only its owner or their manager can act on it."
UNKNOWN_USER = "Your Slack account is not matched to a user of the EQL app (by email), so nothing changed."


@dataclass(frozen=True)
class Click:
    """What one Slack interaction asks for, read from its payload."""

    kind: str  # accept | snooze | disqualify | disqualify_submit | link
    eql_id: int
    slack_user: str
    channel: str = ""
    ts: str = ""
    days: int = 0
    reason: str = ""
    note: str = ""
    trigger_id: str = ""
    #: Distinguishes two clicks of the same button (Slack's action_ts, or the view id).
    click_id: str = ""


class BadPayload(ValueError):
    """The payload is not an interaction this app sent (unknown action, malformed value)."""


def click_read(payload: dict) -> Click:
    """Read a block_actions or view_submission payload as Slack sends it."""
    user = (payload.get("user") or {}).get("id", "")
    try:
        if payload.get("type") == "block_actions":
            action = payload["actions"][0]
            container = payload.get("container") or {}
            channel = container.get("channel_id") or (payload.get("channel") or {}).get("id", "")
            ts = container.get("message_ts") or (payload.get("message") or {}).get("ts", "")
            action_id = action["action_id"]
            common = {
                "slack_user": user,
                "channel": channel,
                "ts": ts,
                "trigger_id": payload.get("trigger_id", ""),
                "click_id": action.get("action_ts", ""),
            }
            if action_id == blocks.SNOOZE:
                eql, days = action["selected_option"]["value"].split(":")
                if int(days) not in blocks.SNOOZE_DAYS:
                    raise BadPayload(f"unknown snooze length {days!r}")
                return Click(kind="snooze", eql_id=int(eql), days=int(days), **common)
            kinds = {blocks.ACCEPT: "accept", blocks.DISQUALIFY: "disqualify", blocks.OPEN: "link"}
            kind = kinds.get(action_id) or ("link" if action_id.startswith(blocks.LINK) else "")
            if not kind:
                raise BadPayload(f"unknown action {action_id!r}")
            return Click(kind=kind, eql_id=int(action.get("value") or 0), **common)
        if payload.get("type") == "view_submission":
            view = payload["view"]
            if view.get("callback_id") != blocks.DISQUALIFY_VIEW:
                raise BadPayload(f"unknown view {view.get('callback_id')!r}")
            meta = json.loads(view.get("private_metadata") or "{}")
            values = view["state"]["values"]
            reason = values[blocks.REASON_BLOCK][blocks.REASON_ACTION]["selected_option"]["value"]
            note = (values.get(blocks.NOTE_BLOCK, {}).get(blocks.NOTE_ACTION, {}).get("value")) or ""
            return Click(
                kind="disqualify_submit",
                eql_id=int(meta["eql"]),
                slack_user=user,
                channel=meta.get("channel", ""),
                ts=meta.get("ts", ""),
                reason=reason,
                note=note,
                click_id=view.get("id", ""),
            )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise BadPayload(f"malformed Slack payload: {exc}") from exc
    raise BadPayload(f"unhandled payload type {payload.get('type')!r}")


def _key(click: Click) -> str:
    """The same button on the same message applies once, whoever clicks it again."""
    value = {"snooze": str(click.days), "disqualify_submit": click.reason}.get(click.kind, "")
    return f"{click.eql_id}:{click.kind}:{value}:{click.channel}:{click.ts}"[:255]


def _record(click: Click, *, status: str, user: User | None, detail: str = "") -> None:
    key = f"{_key(click)}:{click.click_id}:{click.slack_user}:{status}"[:255]
    SlackInteraction.objects.get_or_create(
        key=key,
        defaults={
            "eql_id": click.eql_id if EQL.objects.filter(pk=click.eql_id).exists() else None,
            "slack_user_id": click.slack_user,
            "user": user,
            "action": click.kind,
            "value": str(click.days or click.reason or ""),
            "status": status,
            "detail": detail[:2000],
        },
    )


def _tell(click: Click, text: str) -> None:
    if click.channel:
        messages.ephemeral(channel=click.channel, user=click.slack_user, text=text)


def _done_text(click: Click, user: User, eql: EQL, now: dt.datetime) -> str:
    who = user.display_name
    when = messages.when_text(now)
    if click.kind == "accept":
        return f"Accepted by {who}, {when}"
    if click.kind == "snooze":
        return f"Snoozed {click.days} day{'s' if click.days > 1 else ''} by {who}, {when}"
    return f"Disqualified by {who} ({eql.close_reason.replace('_', ' ')}), {when}"


def slack_interaction_handle(*, payload: dict) -> str:
    """Apply one Slack interaction; returns what happened (applied, duplicate, not_yours, ...).

    Raises client.SlackFailed when Slack itself fails in a way a retry may fix (the task retries)."""
    try:
        click = click_read(payload)
    except BadPayload as exc:
        logger.warning("slack interaction refused: %s", exc)
        return "bad_payload"
    if click.kind == "link":
        return "link"
    eql = EQL.objects.select_related("account", "owner__manager").filter(pk=click.eql_id).first()
    if eql is None:
        _tell(click, "This EQL no longer exists.")
        return "missing"
    candidates = [p for p in (eql.owner, eql.owner.manager if eql.owner else None) if p is not None]
    user = messages.user_for_slack_id(click.slack_user, candidates=candidates)
    if user is None:
        _record(click, status=SlackInteraction.Status.UNKNOWN_USER, user=None)
        _tell(click, UNKNOWN_USER)
        return "unknown_user"
    if not lifecycle.may_log_sales(actor_of(user), eql_view(eql)) or not lifecycle.can_act(
        actor_of(user), eql_view(eql)
    ):
        _record(click, status=SlackInteraction.Status.NOT_YOURS, user=user)
        _tell(click, NOT_YOURS)
        return "not_yours"
    if click.kind == "disqualify":
        return _disqualify_open(click, eql)
    return _apply(click, eql, user)


def _disqualify_open(click: Click, eql: EQL) -> str:
    if not eql.is_open:
        _tell(click, f"This EQL is already closed ({eql.get_status_display().lower()}).")
        return "closed"
    reasons = list(
        ReasonCode.objects.filter(kind=ReasonCode.Kind.DECLINED, active=True)
        .exclude(code=lifecycle.CHURN_RISK)
        .values_list("code", "label")
    )
    view = blocks.disqualify_modal(
        eql_id=eql.pk,
        account=eql.account.name,
        reasons=reasons,
        metadata={"channel": click.channel, "ts": click.ts},
    )
    client.call("views.open", trigger_id=click.trigger_id, view=view)
    return "modal"


def _apply(click: Click, eql: EQL, user: User) -> str:
    """Apply the click once (its key is unique), then update every message about the EQL.

    A repeat of an applied click (a double click, or this task retried after Slack failed on the
    update) changes nothing and only updates the messages again, with the first click's text."""
    now = timezone.now()
    event, kwargs = {
        "accept": (lifecycle.ACCEPT, {}),
        "snooze": (lifecycle.SNOOZE, {"until": now + dt.timedelta(days=click.days)}),
        "disqualify_submit": (lifecycle.DECLINED, {"reason": click.reason, "note": click.note}),
    }[click.kind]
    outcome = "applied"
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = SlackInteraction.objects.create(
                        key=_key(click),
                        eql=eql,
                        slack_user_id=click.slack_user,
                        user=user,
                        action=click.kind,
                        value=str(click.days or click.reason or ""),
                        status=SlackInteraction.Status.APPLIED,
                    )
            except IntegrityError:
                record = SlackInteraction.objects.get(key=_key(click))
                outcome = "duplicate"
            else:
                eql = eql_transition(eql_id=eql.pk, user=user, event=event, **kwargs)
                record.detail = _done_text(click, user, eql, now)
                record.save(update_fields=["detail"])
    except (TransitionError, PermissionError) as exc:
        _record(click, status=SlackInteraction.Status.REFUSED, user=user, detail=str(exc))
        _tell(click, f"Nothing changed: {exc}.")
        return "refused"
    messages.messages_refresh(eql_id=eql.pk, done=record.detail)
    return outcome
