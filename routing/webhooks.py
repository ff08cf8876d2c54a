"""Outbound webhooks: one signed delivery per active endpoint for each new or changed EQL."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from expansion.records import eql_queryset, eql_record
from routing import tasks
from routing.models import WebhookDelivery, WebhookEndpoint


def webhooks_queue(*, eql_ids: Iterable[int], event_for: dict[int, str]) -> int:
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    ids = list(eql_ids)
    if not endpoints or not ids:
        return 0
    rows = []
    for eql in eql_queryset().filter(pk__in=ids):
        event = event_for.get(eql.pk, "eql.updated")
        payload = {"event": event, "eql": eql_record(eql)}
        rows += [WebhookDelivery(endpoint=e, eql=eql, event=event, payload=payload) for e in endpoints]
    created = WebhookDelivery.objects.bulk_create(rows)
    pks = [d.pk for d in created]

    def send():
        for pk in pks:
            tasks.deliver_webhook.delay(pk)

    transaction.on_commit(send)
    return len(pks)
