"""Thin Celery tasks for Slack interactions: the endpoint answers Slack at once and queues these."""

from __future__ import annotations

from celery import shared_task

from routing.delivery import backoff_seconds
from routing.slack import client, messages, services

MAX_RETRIES = 4


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, time_limit=60)
def slack_interaction(self, payload: dict) -> str:
    """Apply one Slack interaction (idempotent: a retry finds the applied click and only updates)."""
    try:
        return services.slack_interaction_handle(payload=payload)
    except client.SlackFailed as exc:
        if exc.final:
            return "failed"
        raise self.retry(exc=exc, countdown=exc.retry_after or backoff_seconds(self.request.retries)) from exc


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, time_limit=60)
def slack_messages_refresh(self, eql_id: int, done: str = "") -> int:
    """Update every Slack message about an EQL to its current state."""
    try:
        return messages.messages_refresh(eql_id=eql_id, done=done)
    except client.SlackFailed as exc:
        raise self.retry(exc=exc, countdown=exc.retry_after or backoff_seconds(self.request.retries)) from exc
