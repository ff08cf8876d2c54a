"""Celery tasks of the core domain: the warehouse source sync."""

from __future__ import annotations

from celery import shared_task

from expansion.sources.services import source_sync_all


@shared_task(acks_late=True)
def sync_source(name: str | None = None) -> dict:
    """Sync one source by name (or every enabled one); a rejected input is logged in its run, not raised.

    Returns ``{source: {input: counts}}`` so a chained pass can start whatever the outcome."""
    return {r.source: {"ok": r.ok, **r.as_dict()} for r in source_sync_all(name=name)}
