"""Thin Celery tasks for the reports: run a stored backtest by id."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def run_backtest(run_id: int) -> int:
    """Replay the run's configuration and store its result (idempotent: a done run is left alone)."""
    from scoring.backtest_services import backtest_run_execute

    backtest_run_execute(run_id=run_id)
    return run_id
