"""Thin Celery tasks for the reports: run a stored backtest by id; compute a coverage snapshot."""

from __future__ import annotations

from celery import shared_task

from dashboards import backtest_runs, snapshots


@shared_task(acks_late=True)
def run_backtest(run_id: int) -> int:
    """Replay the run's configuration and store its result (idempotent: a done run is left alone)."""
    backtest_runs.backtest_run_execute(run_id=run_id)
    return run_id


@shared_task(acks_late=True)
def compute_coverage_snapshot(snapshot_id: int) -> int:
    """Compute and store a requested coverage snapshot (idempotent: a done snapshot is left alone)."""
    snapshots.coverage_snapshot_compute(snapshot_id=snapshot_id)
    return snapshot_id


@shared_task(acks_late=True)
def refresh_coverage_after_pass(scoring_pass_id: int) -> int | None:
    """Recompute the default coverage snapshot at a completed scoring pass's date."""
    snapshot = snapshots.coverage_snapshot_after_pass(scoring_pass_id=scoring_pass_id)
    return snapshot.pk if snapshot else None


@shared_task
def sync_then_score() -> None:
    """The hourly job: sync the warehouse sources, then run the scoring pass on what they loaded.

    The sync logs a rejected input in its run and returns, so the pass still runs on the data as it was.
    (Here because the chain spans expansion and scoring; expansion may not import scoring.)"""
    from celery import chain

    from expansion.tasks import sync_source
    from scoring.tasks import run_scoring_pass

    chain(sync_source.si(), run_scoring_pass.si()).apply_async()
