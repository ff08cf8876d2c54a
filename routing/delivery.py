"""Sending: email and Slack for notifications, signed webhooks for CRMs; the review-window sweep."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from routing import webhook_guard, webhook_signing
from routing.models import Delivery, Notification, WebhookDelivery
from routing.slack import client as slack_client
from routing.slack import messages as slack_messages

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, final: bool, retry_after: float | None = None):
        super().__init__(message)
        self.final = final
        #: Seconds the receiver asked us to wait (Slack's 429 Retry-After), instead of the backoff.
        self.retry_after = retry_after


def backoff_seconds(retries: int) -> float:
    """Exponential backoff from DELIVERY_RETRY_BASE_SECONDS: 30 s, 60 s, 120 s, ... capped at 30 minutes."""
    return min(settings.DELIVERY_RETRY_BASE_SECONDS * 2**retries, 1800)


def _post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryFailed(f"refused to post to {url!r}: only http and https URLs are allowed", final=True)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310: scheme checked above
        return response.status


def delivery_send(*, delivery_id: int) -> str:
    """Send one notification delivery; record the attempt; raise DeliveryFailed to retry."""
    with transaction.atomic():
        d = Delivery.objects.select_for_update().select_related("notification__recipient").get(pk=delivery_id)
        if d.status == Delivery.Status.SENT:
            return "already sent"
        if d.status == Delivery.Status.FAILED:  # attempts used up; a redelivered task must not send again
            return "failed"
        if d.status == Delivery.Status.CAPPED:
            return "capped"
        d.attempts += 1
        note: Notification = d.notification
        started = time.monotonic()
        retry_after = None
        try:
            if d.channel == Delivery.Channel.EMAIL:
                send_mail(note.subject, note.body, settings.DEFAULT_FROM_EMAIL, [note.recipient.email])
            elif slack_client.app_enabled():
                slack_messages.delivery_post(d)
            else:
                text = f"*{note.subject}*\nfor {note.recipient.display_name}\n{note.body}"
                _post_json(
                    settings.SLACK_WEBHOOK_URL,
                    json.dumps({"text": text}).encode(),
                    {},
                    settings.SLACK_TIMEOUT_SECONDS,
                )
        except (OSError, urllib.error.URLError, TimeoutError, slack_client.SlackFailed) as exc:
            final = d.attempts >= MAX_ATTEMPTS or getattr(exc, "final", False)
            retry_after = getattr(exc, "retry_after", None)
            d.status = Delivery.Status.FAILED if final else Delivery.Status.PENDING
            d.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            d.save(update_fields=["attempts", "status", "last_error"])
            logger.warning(
                "delivery=%s channel=%s attempt=%d status=%s seconds=%.2f error=%s",
                d.pk,
                d.channel,
                d.attempts,
                d.status,
                time.monotonic() - started,
                d.last_error,
            )
            failure = DeliveryFailed(d.last_error, final=final, retry_after=retry_after)
        else:
            d.status = Delivery.Status.SENT
            d.sent_at = timezone.now()
            d.last_error = ""
            d.save(update_fields=["attempts", "status", "last_error", "sent_at"])
            logger.info(
                "delivery=%s channel=%s attempt=%d status=sent seconds=%.2f",
                d.pk,
                d.channel,
                d.attempts,
                time.monotonic() - started,
            )
            return "sent"
    raise failure


def webhook_send(*, webhook_delivery_id: int, retry) -> str:
    """Send one webhook attempt, signed for this attempt's time with the delivery's stable webhook-id.

    A URL the guard refuses (it points at a private address now) fails the delivery at once, with
    the reason and no request; network and HTTP errors are retried with backoff up to max_attempts.
    """
    with transaction.atomic():
        d = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=webhook_delivery_id)
        if d.status != WebhookDelivery.Status.PENDING:
            return d.status
        d.attempts += 1
        body = json.dumps(d.payload, sort_keys=True).encode()
        started = time.monotonic()
        try:
            target = webhook_guard.url_target(d.endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
            headers = webhook_signing.signature_headers(
                message_id=d.message_id,
                timestamp=timezone.now(),
                body=body,
                secrets=d.endpoint.signing_secrets(),
            )
            webhook_guard.post(target, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)
        except (webhook_guard.RefusedURL, webhook_signing.InvalidSecret) as exc:
            d.last_error = f"Refused, no request made: {exc}"[:2000]
            d.status = WebhookDelivery.Status.FAILED
            d.save(update_fields=["attempts", "status", "last_error"])
            logger.warning(
                "webhook delivery=%s endpoint=%s attempt=%d status=failed seconds=%.2f error=%s",
                d.pk,
                d.endpoint_id,
                d.attempts,
                time.monotonic() - started,
                d.last_error,
            )
            return d.status
        except (OSError, urllib.error.URLError, TimeoutError) as exc:
            d.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = d.attempts >= d.endpoint.max_attempts
            d.status = WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.PENDING
            d.save(update_fields=["attempts", "status", "last_error"])
            logger.warning(
                "webhook delivery=%s endpoint=%s attempt=%d status=%s seconds=%.2f error=%s",
                d.pk,
                d.endpoint_id,
                d.attempts,
                d.status,
                time.monotonic() - started,
                d.last_error,
            )
            if not final:
                countdown = backoff_seconds(d.attempts - 1)
                transaction.on_commit(lambda: retry.apply_async((d.pk,), countdown=countdown))
            return d.status
        d.status = WebhookDelivery.Status.SENT
        d.sent_at = timezone.now()
        d.save(update_fields=["attempts", "status", "sent_at"])
        logger.info(
            "webhook delivery=%s endpoint=%s attempt=%d status=sent seconds=%.2f",
            d.pk,
            d.endpoint_id,
            d.attempts,
            time.monotonic() - started,
        )
        return "sent"
