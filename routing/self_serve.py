"""The self-serve motion: a templated message to the account's admin contact, sent through Django's email
backend by a Celery task (``routing.tasks.send_self_serve_message``) and logged in ``SelfServeMessage``.

Outcomes (one log row per EQL; the task is idempotent):

- ``sent``: the message went to ``Account.admin_email``; an EQL activity ``self_serve_sent`` records it
  and the reports count it as an outcome (``dashboards.conversion``: ``self_serve_sent``).
- ``no_address``: the account has no admin email. Nothing is sent; the EQL stays with its owner, the
  account's CSM (a self-serve EQL is CSM-owned), who follows up by hand: the log row and an EQL note say so.
- ``failed``: the email backend refused it after the retries; the CSM follows up the same way.

The message does not change the EQL's status or its first-contact SLA: it is automated, not a
conversation, so the CSM's own outreach is still what the SLA measures (and it is not a commercial touch
for the coverage diagnostic).
"""

from __future__ import annotations

import logging
import smtplib
import uuid

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone

from expansion.models import EQL, Activity
from routing.models import SelfServeMessage, SelfServeTemplate
from routing.rules import ROUTE_SELF_SERVE

logger = logging.getLogger(__name__)

#: The EQL activity event recorded when the message is sent (the reports count it).
SENT_EVENT = "self_serve_sent"
#: The EQL activity event recorded when nothing could be sent (the CSM follows up).
NOT_SENT_EVENT = "self_serve_not_sent"
MAX_ATTEMPTS = 3
NO_ADDRESS = "The account has no admin contact email: nothing was sent; the CSM follows up."


class SelfServeFailed(Exception):
    """The email backend failed; ``final`` when the attempts are used up (recorded as failed)."""

    def __init__(self, message: str, *, final: bool):
        super().__init__(message)
        self.final = final


def message_context(eql: EQL) -> dict:
    return {
        "account": eql.account,
        "eql": eql,
        "signal_name": eql.primary_signal.replace("_", " "),
        "opening_angle": eql.opening_angle,
        "app_base_url": settings.APP_BASE_URL,
    }


def message_render(eql: EQL) -> tuple[str, str]:
    """Subject and plain-text body: the newest active admin template, else the built-in one."""
    context = message_context(eql)
    custom = SelfServeTemplate.objects.filter(active=True).order_by("-id").first()
    if custom and custom.subject.strip():
        subject = Template(custom.subject).render(Context(context, autoescape=False))
    else:
        subject = render_to_string("routing/self_serve_subject.txt", context)
    if custom and custom.body.strip():
        body = Template(custom.body).render(Context(context, autoescape=False))
    else:
        body = render_to_string("routing/self_serve_body.txt", context)
    return " ".join(subject.split())[:255], body.strip() + "\n"


def _note(eql: EQL, *, event: str, note: str, at) -> None:
    Activity.objects.create(
        activity_id=f"eql-{eql.pk}-{uuid.uuid4().hex[:12]}",
        account=eql.account,
        occurred_at=at,
        type="email" if event == SENT_EVENT else "note",
        commercial=False,
        eql=eql,
        event=event,
        note=note,
    )


def self_serve_message_send(*, eql_id: int) -> str:
    """Send (at most once) the self-serve message of one EQL and log it; returns the log's status.

    Raises ``SelfServeFailed`` (not final) so the task retries a transient email failure."""
    with transaction.atomic():
        eql = EQL.objects.select_for_update(of=("self",)).select_related("account").get(pk=eql_id)
        if eql.route != ROUTE_SELF_SERVE:
            return "not self-serve"
        log, _ = SelfServeMessage.objects.select_for_update().get_or_create(eql=eql)
        if log.status in (SelfServeMessage.Status.SENT, SelfServeMessage.Status.NO_ADDRESS):
            return log.status
        if log.status == SelfServeMessage.Status.FAILED:
            return log.status
        now = timezone.now()
        to = (eql.account.admin_email or "").strip()
        if not to:
            log.status, log.error = SelfServeMessage.Status.NO_ADDRESS, NO_ADDRESS
            log.save(update_fields=["status", "error"])
            _note(eql, event=NOT_SENT_EVENT, note=NO_ADDRESS, at=now)
            logger.info("self-serve EQL %s: no admin email, left to the CSM", eql.pk)
            return log.status
        subject, body = message_render(eql)
        log.to, log.subject, log.body = to, subject, body
        log.attempts += 1
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except (OSError, smtplib.SMTPException) as exc:
            final = log.attempts >= MAX_ATTEMPTS
            log.error = f"{type(exc).__name__}: {exc}"[:2000]
            if final:
                log.status = SelfServeMessage.Status.FAILED
                _note(eql, event=NOT_SENT_EVENT, note=f"Self-serve message failed: {log.error}", at=now)
            log.save()  # the attempt is recorded (committed below), then the task retries
            failure = SelfServeFailed(log.error, final=final)
        else:
            log.status, log.sent_at, log.error = SelfServeMessage.Status.SENT, now, ""
            log.save()
            _note(eql, event=SENT_EVENT, note=f"Self-serve message sent to {to}: {subject}", at=now)
            return log.status
    raise failure


def self_serve_queue(*, eql_ids) -> None:
    """After commit, one send task per self-serve EQL (a broker refusal never undoes the EQLs)."""
    from routing import tasks

    for pk in eql_ids:
        transaction.on_commit(lambda pk=pk: tasks.send_self_serve_message.delay(pk), robust=True)
