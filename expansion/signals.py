"""Signals the core domain sends for layers above it to act on (nothing here receives them)."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent once after a transaction that created product events commits (events.csv, a warehouse source
#: or ``POST /api/events/``); never for a batch of pure duplicates nor for a rejected one.
#: kwargs: ``account_pks`` (list[int], the accounts that got new events, sorted, distinct) and
#: ``events`` (list[str], the distinct names of the created events, sorted). Sender: ``ProductEvent``.
events_received = Signal()
