"""Thin Celery tasks: deliver one notification over one channel; escalate holds; mark SLA breaches."""

from __future__ import annotations

from celery import shared_task

from routing import delivery


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
        raise self.retry(exc=exc, countdown=delivery.backoff_seconds(self.request.retries)) from exc


@shared_task(time_limit=120)
def deliver_webhook(webhook_delivery_id: int) -> str:
    return delivery.webhook_send(webhook_delivery_id=webhook_delivery_id, retry=deliver_webhook)


@shared_task
def review_windows_sweep() -> int:
    """Expire ended review windows, escalate long holds, flag SLA breaches (runs every 15 minutes)."""
    return delivery.review_windows_sweep()


@shared_task
def weekly_digests() -> int:
    """Monday morning: each AE's and CSM's weekly pipeline digest."""
    from routing.services import weekly_digests_send

    return weekly_digests_send()
