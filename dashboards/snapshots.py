"""Coverage snapshots: compute the coverage page once, in the background, and store it.

Selectors read the frames (``dashboards.selectors``), the pure core computes
(``dashboards.metrics``), these functions write. The page and its CSV then read one stored row
instead of recomputing the diagnostic and its monthly trend on every request.

- After every completed scoring pass (``scoring.signals.pass_completed``, queued by
  ``dashboards.receivers``): the default diagnostic at the pass's date (``coverage_snapshot_after_pass``).
- On demand, when RevOps or a Manager opens a date or a choice of dimensions not stored yet
  (``dashboards.services.coverage_snapshot_request``): queued, computed by
  ``dashboards.tasks.compute_coverage_snapshot`` (``coverage_snapshot_compute``),
  the page polls its progress.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone

from dashboards import charts
from dashboards.metrics import (
    DEFAULT_DIMENSIONS,
    DEFAULT_MIN_TOP,
    DEFAULT_QUANTILE,
    Dimension,
    month_ends,
    params_key,
    untouched_records,
)
from dashboards.models import CoverageSnapshot
from dashboards.selectors import coverage_for, coverage_trend_for, snapshot_history_range
from expansion.models import Segment
from scoring.models import PassStatus, ScoringPass

logger = logging.getLogger(__name__)

#: Months of coverage trend stored with a snapshot at most (each month end costs two queries).
TREND_MAX_MONTHS = 24
#: Untouched accounts stored for the page (the CSV reads them all from ``untouched``).
UNTOUCHED_ON_PAGE = 50
#: A computation queued or running for longer than this lost its worker; the next request requeues it.
STALE_AFTER = dt.timedelta(minutes=15)
#: On-demand computations queued or running at once, at most, so a few readers cannot tie up workers.
MAX_PENDING_ON_DEMAND = 3
DIMENSIONS_BY_NAME = {d.name: d for d in DEFAULT_DIMENSIONS}
SEGMENT_LABELS = dict(Segment.choices)
PENDING = (CoverageSnapshot.Status.QUEUED, CoverageSnapshot.Status.RUNNING)

Progress = Callable[[int, int], None]


def snapshot_params(dimensions: Sequence[Dimension], min_top: int, quantile: float) -> dict[str, Any]:
    return {"dimensions": [d.name for d in dimensions], "min_top": min_top, "quantile": quantile}


def _dimensions_of(params: dict[str, Any]) -> tuple[Dimension, ...]:
    return tuple(DIMENSIONS_BY_NAME[name] for name in params.get("dimensions", ())) or DEFAULT_DIMENSIONS


def trend_dates(as_of: dt.date, first_snapshot: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """First and last day of the stored trend: the imported history, at most ``TREND_MAX_MONTHS``
    month ends back from ``as_of``; None when there is no history on or before ``as_of``."""
    if first_snapshot is None or first_snapshot > as_of:
        return None
    back = as_of.year * 12 + as_of.month - 1 - (TREND_MAX_MONTHS - 1)
    earliest = dt.date(back // 12, back % 12 + 1, 1)  # first day of the oldest month drawn
    return max(first_snapshot, earliest), as_of


def coverage_snapshot_payload(
    *,
    as_of: dt.date,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    min_top: int = DEFAULT_MIN_TOP,
    quantile: float = DEFAULT_QUANTILE,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a snapshot stores: (page payload, every untouched account). Reads the database, no write.

    Queries: 5 (the diagnostic) + 1 (history range) + 3 + 2 per trend month."""
    dimensions = tuple(dimensions)
    first, _last = snapshot_history_range()
    span = trend_dates(as_of, first)
    months = len(month_ends(*span)) if span else 0
    total = 1 + 2 * months

    result = coverage_for(as_of, dimensions, quantile=quantile, min_top=min_top)
    if progress is not None:
        progress(1, total)
    trend: list[dict] = []
    if span:
        trend = coverage_trend_for(
            start=span[0],
            end=span[1],
            dimensions=dimensions,
            quantile=quantile,
            min_top=min_top,
            progress=(lambda done, _steps: progress(1 + done, total)) if progress else None,
        )
    data = result.to_json()
    data.pop("untouched_account_ids")  # the untouched rows carry them
    untouched = untouched_records(result)
    figures = {
        "breakdown": charts.coverage_breakdown(
            [(SEGMENT_LABELS.get(name, name), row) for name, row in result.by_segment], result.quartiles
        ),
        "trend": charts.coverage_trend(trend) if trend else None,
    }
    payload = {
        "result": data,
        "trend": trend,
        "figures": figures,
        "untouched_first": {
            "columns": untouched["columns"],
            "rows": untouched["rows"][:UNTOUCHED_ON_PAGE],
        },
    }
    return payload, untouched


def _progress_writer(snapshot_id: int) -> Progress:
    last = [-1]

    def write(done: int, total: int) -> None:
        percent = min(99, int(100 * done / max(total, 1)))
        if percent != last[0]:
            last[0] = percent
            CoverageSnapshot.objects.filter(pk=snapshot_id).update(progress=percent)

    return write


def coverage_snapshot_compute(*, snapshot_id: int, scoring_pass_id: int | None = None) -> CoverageSnapshot:
    """Compute a snapshot's numbers and store them (one UPDATE at the end: the page never sees half).

    Idempotent: a snapshot already done is left alone unless a scoring pass asks (its data changed).
    A failure is recorded on the row (the page says so) and raised again for the worker's log."""
    snapshot = CoverageSnapshot.objects.get(pk=snapshot_id)
    if snapshot.status == CoverageSnapshot.Status.DONE and scoring_pass_id is None:
        return snapshot
    if scoring_pass_id is None:  # on demand: computed after the latest completed pass
        scoring_pass_id = (
            ScoringPass.objects.filter(status=PassStatus.COMPLETED)
            .order_by("-finished_at")
            .values_list("pk", flat=True)
            .first()
        )
    rows = CoverageSnapshot.objects.filter(pk=snapshot_id)
    rows.update(status=CoverageSnapshot.Status.RUNNING, started_at=timezone.now(), progress=0, error="")
    started = time.monotonic()
    params = snapshot.params
    try:
        payload, untouched = coverage_snapshot_payload(
            as_of=snapshot.as_of,
            dimensions=_dimensions_of(params),
            min_top=int(params.get("min_top", DEFAULT_MIN_TOP)),
            quantile=float(params.get("quantile", DEFAULT_QUANTILE)),
            progress=_progress_writer(snapshot_id),
        )
    except Exception as exc:  # recorded for the page, then raised again: the worker logs it
        rows.update(status=CoverageSnapshot.Status.FAILED, progress=0, error=f"{type(exc).__name__}: {exc}")
        raise
    seconds = time.monotonic() - started
    rows.update(
        status=CoverageSnapshot.Status.DONE,
        progress=100,
        payload=payload,
        untouched=untouched,
        computed_at=timezone.now(),
        seconds=seconds,
        scoring_pass_id=scoring_pass_id,
        error="",
    )
    logger.info(
        "coverage snapshot=%s as_of=%s key=%s pass=%s seconds=%.2f",
        snapshot_id,
        snapshot.as_of.isoformat(),
        snapshot.params_key,
        scoring_pass_id,
        seconds,
    )
    return CoverageSnapshot.objects.get(pk=snapshot_id)


def snapshot_get_or_create(
    *, as_of: dt.date, dimensions: Sequence[Dimension], min_top: int, quantile: float, requested_by=None
) -> tuple[CoverageSnapshot, bool]:
    return CoverageSnapshot.objects.get_or_create(
        params_key=params_key(dimensions, min_top, quantile),
        as_of=as_of,
        defaults={
            "params": snapshot_params(dimensions, min_top, quantile),
            "requested_by": requested_by,
            "status": CoverageSnapshot.Status.QUEUED,
        },
    )


def coverage_snapshot_after_pass(*, scoring_pass_id: int) -> CoverageSnapshot | None:
    """The default diagnostic at a completed pass's date, recomputed and stored (None: pass not completed)."""
    scoring_pass = ScoringPass.objects.filter(pk=scoring_pass_id, status=PassStatus.COMPLETED).first()
    if scoring_pass is None:
        return None
    snapshot, _created = snapshot_get_or_create(
        as_of=timezone.localdate(scoring_pass.as_of),
        dimensions=DEFAULT_DIMENSIONS,
        min_top=DEFAULT_MIN_TOP,
        quantile=DEFAULT_QUANTILE,
    )
    return coverage_snapshot_compute(snapshot_id=snapshot.pk, scoring_pass_id=scoring_pass.pk)


def coverage_snapshot_store(
    *,
    as_of: dt.date,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    min_top: int = DEFAULT_MIN_TOP,
    quantile: float = DEFAULT_QUANTILE,
) -> CoverageSnapshot:
    """Compute and store a snapshot in this process (a command, a benchmark, a test)."""
    snapshot, _created = snapshot_get_or_create(
        as_of=as_of, dimensions=dimensions, min_top=min_top, quantile=quantile
    )
    CoverageSnapshot.objects.filter(pk=snapshot.pk).update(status=CoverageSnapshot.Status.QUEUED)
    return coverage_snapshot_compute(snapshot_id=snapshot.pk)
