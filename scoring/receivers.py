"""What follows a scoring pass in the CRM: queue a CRM sync once the pass's EQLs are committed."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError

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
