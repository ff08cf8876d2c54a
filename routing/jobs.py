"""Scheduled routing jobs (celery beat): the review-window sweep and the weekly digests.

Apart from ``routing.tasks`` because they decide what to send and queue those sends: the services
they call import the sending tasks, so the jobs stand above both.
"""

from __future__ import annotations

from celery import shared_task

from routing import services


@shared_task
def review_windows_sweep() -> int:
    """Expire ended review windows, escalate long holds, flag SLA breaches, and wake EQLs whose
    snooze ran out (runs every 15 minutes)."""
    return services.review_windows_sweep() + services.snoozes_wake()


@shared_task
def weekly_digests() -> int:
    """Monday morning: each AE's and CSM's weekly pipeline digest."""
    return services.weekly_digests_send()
