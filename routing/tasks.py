"""Thin Celery tasks that send: one notification over one channel, one webhook delivery.

They call only ``routing.delivery``; the scheduled jobs that decide what to send are ``routing.jobs``.
"""

from __future__ import annotations

from celery import shared_task

from routing import delivery, self_serve


# Socket timeouts (EMAIL_TIMEOUT, SLACK_TIMEOUT_SECONDS) end a hanging endpoint; the time limit is the
# backstop so no delivery can hold a worker for long.
@shared_task(bind=True, max_retries=delivery.MAX_ATTEMPTS - 1, acks_late=True, time_limit=120)
def deliver(self, delivery_id: int) -> str:
    """Send one delivery; a failure is recorded and retried with backoff up to the limit."""
    try:
        return delivery.delivery_send(delivery_id=delivery_id)
    except delivery.DeliveryFailed as exc:
        if exc.final:
            return "failed"
        countdown = exc.retry_after or delivery.backoff_seconds(self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(time_limit=120)
def deliver_webhook(webhook_delivery_id: int) -> str:
    return delivery.webhook_send(webhook_delivery_id=webhook_delivery_id, retry=deliver_webhook)


@shared_task(bind=True, max_retries=self_serve.MAX_ATTEMPTS - 1, acks_late=True, time_limit=120)
def send_self_serve_message(self, eql_id: int) -> str:
    """Send one self-serve EQL's message to the account's admin contact (once); retried with backoff."""
    try:
        return self_serve.self_serve_message_send(eql_id=eql_id)
    except self_serve.SelfServeFailed as exc:
        if exc.final:
            return "failed"
        raise self.retry(exc=exc, countdown=delivery.backoff_seconds(self.request.retries)) from exc
