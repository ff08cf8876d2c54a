"""Reports that follow the scoring pass: queue the coverage snapshot once a pass has completed."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError

from scoring.signals import pass_completed

logger = logging.getLogger(__name__)


@receiver(pass_completed, dispatch_uid="dashboards.coverage_snapshot_after_pass")
def queue_coverage_snapshot(sender, scoring_pass_id: int, accounts_only: bool = False, **kwargs) -> None:
    from dashboards.tasks import refresh_coverage_after_pass

    if accounts_only:  # a few accounts scored on arrival of their events: the hourly pass refreshes it
        return
    try:
        refresh_coverage_after_pass.delay(scoring_pass_id)
    except OperationalError as exc:  # broker unreachable: the page keeps the last snapshot
        logger.warning("coverage snapshot after pass=%s not queued: %s", scoring_pass_id, exc)
