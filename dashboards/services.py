"""What the report pages ask for: a coverage snapshot for a date, a backtest run queued.

The work itself runs in Celery tasks (``dashboards.tasks``): coverage in ``dashboards.snapshots``,
backtest runs in ``dashboards.backtest_runs``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from dashboards import snapshots, tasks
from dashboards.metrics import DEFAULT_DIMENSIONS, DEFAULT_MIN_TOP, DEFAULT_QUANTILE, Dimension, params_key
from dashboards.models import BacktestRun, CoverageSnapshot
from dashboards.snapshots import MAX_PENDING_ON_DEMAND, PENDING, STALE_AFTER
from expansion.models import User


def backtest_run_queue(run: BacktestRun) -> None:
    """Queue the Celery task once the run row is committed (a worker must be able to read it)."""
    run_id = run.pk
    transaction.on_commit(lambda: tasks.run_backtest.delay(run_id))


def _coverage_queue(snapshot_id: int) -> None:
    # robust: a broker outage leaves the row queued (requeued by a later request once stale), not a 500
    transaction.on_commit(lambda: tasks.compute_coverage_snapshot.delay(snapshot_id), robust=True)


def coverage_snapshot_request(
    *,
    as_of: dt.date,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    min_top: int = DEFAULT_MIN_TOP,
    quantile: float = DEFAULT_QUANTILE,
    requested_by: User | None = None,
) -> tuple[CoverageSnapshot | None, str]:
    """The snapshot for a page request, queued for computation when it has no numbers yet.

    Returns (snapshot, problem). A computation already queued or running is not queued twice; a
    failed or stale one is queued again; beyond ``MAX_PENDING_ON_DEMAND`` at once nothing is queued
    and ``problem`` says why (snapshot then None unless one existed)."""
    key = params_key(dimensions, min_top, quantile)
    now = timezone.now()
    existing = (
        CoverageSnapshot.objects.filter(params_key=key, as_of=as_of).defer("payload", "untouched").first()
    )
    if existing is not None and (
        existing.status == CoverageSnapshot.Status.DONE
        or (existing.status in PENDING and now - existing.requested_at < STALE_AFTER)
    ):
        return existing, ""
    busy = CoverageSnapshot.objects.filter(
        status__in=PENDING, requested_by__isnull=False, requested_at__gte=now - STALE_AFTER
    ).count()
    if busy >= MAX_PENDING_ON_DEMAND:
        return existing, (
            f"{busy} coverage computations are already running; try this date again in a minute "
            "(or open a date already computed)."
        )
    with transaction.atomic():
        snapshot, created = snapshots.snapshot_get_or_create(
            as_of=as_of, dimensions=dimensions, min_top=min_top, quantile=quantile, requested_by=requested_by
        )
        if not created:
            snapshot = (
                CoverageSnapshot.objects.select_for_update().defer("payload", "untouched").get(pk=snapshot.pk)
            )
            if snapshot.status in PENDING and now - snapshot.requested_at < STALE_AFTER:
                return snapshot, ""  # somebody queued it meanwhile
            snapshot.status = CoverageSnapshot.Status.QUEUED
            snapshot.requested_at, snapshot.requested_by, snapshot.progress = now, requested_by, 0
            snapshot.save(update_fields=["status", "requested_at", "requested_by", "progress"])
        _coverage_queue(snapshot.pk)
    return snapshot, ""
