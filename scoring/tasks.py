"""Thin Celery tasks for the hourly pass: fan account chunks out to workers, then record the pass."""

from __future__ import annotations

import datetime as dt
import logging

from celery import chord, shared_task
from django.conf import settings
from django.utils import timezone

from scoring import readings, selectors, services
from scoring.config import GateSpec, PolicySpec, ScoringConfig, signal_from_dict

logger = logging.getLogger(__name__)


def _config_to_wire(config: ScoringConfig) -> dict:
    from dataclasses import asdict

    return asdict(config)


def _config_from_wire(data: dict) -> ScoringConfig:
    signals = tuple(signal_from_dict(s) for s in data["signals"])
    gates = tuple(GateSpec(**{**g, "segments": tuple(g["segments"])}) for g in data["gates"])
    return ScoringConfig(
        signals=signals, gates=gates, policy=PolicySpec(**data["policy"]), version=data["version"]
    )


@shared_task(acks_late=True)
def run_scoring_pass(as_of: str | None = None, chunk_size: int | None = None) -> int:
    """The hourly job: one pass, split into chunks that workers evaluate in parallel.

    Two schedulers by mistake still start one pass at a time (``scoring_pass_claim`` holds a database
    lock); a pass still running from the last hour makes this one skip (returns 0).
    """
    as_of_dt = services.as_of_datetime(dt.datetime.fromisoformat(as_of) if as_of else None)
    config, uplifts = services.pass_inputs()
    chunks = selectors.account_pk_chunks(chunk_size or settings.SCORING_CHUNK_SIZE)
    scoring_pass = services.scoring_pass_claim(as_of=as_of_dt, config=config, chunks=len(chunks))
    if scoring_pass is None:
        return 0
    try:
        with services.scoring_pass_heartbeats(pass_id=scoring_pass.pk):
            readings_path = readings.pass_readings_prepare(config=config, as_of=timezone.localdate(as_of_dt))
    except Exception as exc:
        services.scoring_pass_finish(
            scoring_pass=scoring_pass, counts=services.ChunkCounts(), error=f"{type(exc).__name__}: {exc}"
        )
        raise
    wire = _config_to_wire(config)
    header = [
        score_chunk.s(scoring_pass.pk, list(pk_range), as_of_dt.isoformat(), wire, uplifts, readings_path)
        for pk_range in chunks
    ]
    if not header:
        services.scoring_pass_finish(scoring_pass=scoring_pass, counts=services.ChunkCounts())
        return scoring_pass.pk
    chord(header)(finish_pass.s(scoring_pass.pk).on_error(fail_pass.si(scoring_pass.pk)))
    return scoring_pass.pk


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def score_chunk(
    pass_id: int, pk_range: list[int], as_of: str, config: dict, uplifts: dict, readings_path: str = ""
) -> dict:
    """One chunk of a pass. Redelivered whole if its worker process dies (``acks_late`` with
    ``task_reject_on_worker_lost``): the chunk's writes commit together or not at all, so running it
    again gives the same EQLs (one open EQL per account is a database constraint)."""
    if not services.scoring_pass_heartbeat(pass_id=pass_id):
        logger.warning("scoring pass=%s is no longer running; chunk %s skipped", pass_id, pk_range)
        return {}
    with services.scoring_pass_heartbeats(pass_id=pass_id):
        counts = services.scoring_chunk_run(
            pass_id=pass_id,
            pk_range=(pk_range[0], pk_range[1]),
            as_of=dt.datetime.fromisoformat(as_of),
            config=_config_from_wire(config),
            uplifts={k: (float(v[0]), v[1]) for k, v in uplifts.items()},
            readings_path=readings_path,
        )
    services.scoring_pass_heartbeat(pass_id=pass_id)
    return {
        "accounts_scored": counts.accounts_scored,
        "eqls_created": counts.eqls_created,
        "eqls_updated": counts.eqls_updated,
        "eqls_unchanged": counts.eqls_unchanged,
        "csm_reviews_created": counts.csm_reviews_created,
    }


@shared_task
def finish_pass(results: list[dict], pass_id: int) -> int:
    from scoring.models import ScoringPass

    total = services.ChunkCounts()
    for r in results:
        if not r:  # a chunk skipped because the pass had been abandoned
            continue
        total.add(services.ChunkCounts(**r))
    services.scoring_pass_finish(scoring_pass=ScoringPass.objects.get(pk=pass_id), counts=total)
    return pass_id


@shared_task
def fail_pass(pass_id: int) -> None:
    from scoring.models import ScoringPass

    services.scoring_pass_finish(
        scoring_pass=ScoringPass.objects.get(pk=pass_id),
        counts=services.ChunkCounts(),
        error="a chunk failed",
    )


@shared_task
def pass_watchdog() -> str:
    """Every minute: fail passes that stopped making progress (worker or broker lost) and rerun
    them; alert RevOps when no pass completed for two hours or the last one failed."""
    abandoned = services.passes_abandon_stale()
    problem = services.pass_watchdog()
    if services.pass_rerun_due():
        logger.warning("scoring watchdog: rerunning the pass (abandoned passes: %s)", abandoned or "none")
        run_scoring_pass.delay()
    elif abandoned:
        logger.warning("scoring watchdog: passes %s abandoned; the next pass runs on schedule", abandoned)
    return problem


@shared_task(acks_late=True)
def score_accounts(account_pks: list[int]) -> int:
    """Score these accounts now, on arrival of their product events (the pass id)."""
    return services.scoring_accounts_run(account_pks=account_pks).pk
