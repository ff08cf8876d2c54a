"""Backtest runs kept for RevOps' pages: a run's parameters, progress and result in ``BacktestRun``.

``backtest_run_execute`` is what the Celery task ``dashboards.tasks.run_backtest`` runs; the replay
itself is ``scoring.backtest_services.backtest_run`` (frames from the database, the pure replay).
Queueing a run is ``dashboards.services.backtest_run_queue``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from dashboards.models import BacktestRun
from expansion.models import User
from scoring import backtest as bt
from scoring.backtest_services import Progress, backtest_run, config_with_overrides

logger = logging.getLogger(__name__)

#: Percent steps at which a run's progress is written (each write is one UPDATE).
PROGRESS_GRANULARITY = 1


@transaction.atomic
def backtest_run_create(*, params: Mapping[str, Any], created_by: User | None = None, label: str = ""):
    """A queued run; queued by ``dashboards.services.backtest_run_queue``."""
    return BacktestRun.objects.create(
        created_by=created_by, params=dict(params), label=label[:200], status=BacktestRun.Status.QUEUED
    )


def _progress_writer(run_id: int) -> Progress:
    last = {"percent": -1}

    def write(done: int, total: int) -> None:
        percent = min(99, int(100 * done / max(total, 1)))  # 100 only when the result is stored
        if percent - last["percent"] >= PROGRESS_GRANULARITY:
            BacktestRun.objects.filter(pk=run_id).update(progress=percent)
            last["percent"] = percent

    return write


def backtest_run_execute(*, run_id: int):
    """Run a stored run (idempotent: a finished run is left alone) and store its result or error."""
    run = BacktestRun.objects.get(pk=run_id)
    if run.status == BacktestRun.Status.DONE:
        return run
    run.status, run.progress, run.error = BacktestRun.Status.RUNNING, 0, ""
    run.started_at = timezone.now()
    run.save(update_fields=["status", "progress", "error", "started_at"])
    params = run.params
    try:
        config = config_with_overrides(params.get("overrides") or {}, signals=params.get("signals") or ())
        result = backtest_run(
            start=dt.date.fromisoformat(params["start"]),
            end=dt.date.fromisoformat(params["end"]),
            step_days=int(params.get("step_days") or bt.DEFAULT_STEP_DAYS),
            config=config,
            match_window_days=int(params.get("match_window_days") or bt.DEFAULT_MATCH_WINDOW_DAYS),
            won_only=bool(params.get("won_only")),
            progress=_progress_writer(run.pk),
        )
    except (ValueError, KeyError, TypeError) as exc:
        # A bad parameter (e.g. an override for a signal deleted since): tell the user, do not retry.
        run.status, run.error = BacktestRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        logger.warning("backtest run %s failed: %s", run.pk, run.error)
        return run
    except Exception as exc:
        run.status, run.error = BacktestRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.result, run.status, run.progress = result, BacktestRun.Status.DONE, 100
    run.finished_at = timezone.now()
    run.save(update_fields=["result", "status", "progress", "finished_at"])
    return run
