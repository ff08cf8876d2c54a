"""What follows a scoring pass in the CRM (queue a CRM sync once the pass's EQLs are committed), and
what follows product events (score their accounts at once when an on-arrival trigger counts them)."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError

from expansion.signals import events_received
from scoring.signals import pass_completed

logger = logging.getLogger(__name__)


@receiver(pass_completed, dispatch_uid="scoring.crm_sync_after_pass")
def queue_crm_sync(sender, scoring_pass_id: int, **kwargs) -> None:
    from routing.crm.models import CrmConnection
    from routing.crm.tasks import crm_sync_all

    if not CrmConnection.objects.filter(enabled=True).exists():
        return
    try:
        crm_sync_all.delay()
    except OperationalError as exc:  # broker unreachable: the 15-minute beat syncs instead
        logger.warning("CRM sync after pass=%s not queued: %s", scoring_pass_id, exc)


@receiver(events_received, dispatch_uid="scoring.score_on_event_arrival")
def queue_arrival_scoring(sender, account_pks: list[int], events: list[str], **kwargs) -> None:
    """New events (already committed) that an on-arrival trigger counts: score those accounts now."""
    from scoring import selectors
    from scoring.tasks import score_accounts

    if not account_pks or not selectors.arrival_event_names(selectors.scoring_config_load()) & set(events):
        return
    try:
        score_accounts.delay([int(pk) for pk in account_pks])
    except OperationalError as exc:  # broker unreachable: the hourly pass scores them
        logger.warning("scoring on arrival of %s not queued: %s", ", ".join(events), exc)
