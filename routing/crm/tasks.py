"""Thin Celery tasks for the CRM sync: after each scoring pass, every 15 minutes, and for one EQL."""

from __future__ import annotations

from celery import shared_task

from . import selectors, services


@shared_task(acks_late=True)
def crm_sync_all() -> dict:
    """Sync every enabled connection (write what changed, then read back)."""
    return {name: s.as_json() for name, s in services.crm_sync_all().items()}


@shared_task(acks_late=True)
def crm_sync_connection(connection_id: int) -> dict:
    for connection in selectors.connections_enabled():
        if connection.pk == connection_id:
            return services.crm_sync(connection=connection).as_json()
    return {}
