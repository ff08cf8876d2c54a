"""The scoring pass: selectors -> pure engine -> EQL writes (create, update, leave alone).

A pass is split into account chunks; each chunk evaluates and writes in its own transaction, so a
crash leaves no half-written EQL and the next pass completes the work. One open EQL per account is
guarded by the database (partial unique constraint): two passes racing insert with
``ignore_conflicts`` and the loser simply finds the winner's row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from expansion.models import EQL, OPEN_STATUSES, EQLStatus
from expansion.money import to_cents
from routing import rules as routing_rules
from routing import services as routing_services
from scoring import config as cfg
from scoring import dedup, engine, opening_angle, readings, selectors, triggers, uplift
from scoring.models import PassStatus, ScoringPass, TriggerCrossing
from scoring.signals import pass_completed

logger = logging.getLogger(__name__)

#: Readings are stored with this many decimals, so an unchanged reading never rewrites an EQL.
VALUE_DECIMALS = 4


@dataclass
class ChunkCounts:
    accounts_scored: int = 0
    eqls_created: int = 0
    eqls_updated: int = 0
    eqls_unchanged: int = 0
    csm_reviews_created: int = 0
    created_ids: tuple[int, ...] = ()
    changed_ids: tuple[int, ...] = ()

    def add(self, other: ChunkCounts) -> None:
        self.accounts_scored += other.accounts_scored
        self.eqls_created += other.eqls_created
        self.eqls_updated += other.eqls_updated
        self.eqls_unchanged += other.eqls_unchanged
        self.csm_reviews_created += other.csm_reviews_created
        self.created_ids += other.created_ids
        self.changed_ids += other.changed_ids


def as_of_datetime(value: dt.date | dt.datetime | None) -> dt.datetime:
    """A pass's clock: now, or the start of the given day (``score --as-of DATE``) in the site timezone."""
    if value is None:
        return timezone.now()
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _round(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), VALUE_DECIMALS)


def _triggered(records: list[dict]) -> list[dict]:
    return [
        {
            "signal": r["signal"],
            "value": _round(r["value"]),
            "threshold": _round(r["threshold"]),
            "points": r["points"],
        }
        for r in records
    ]


@dataclass(frozen=True)
class Candidate:
    """What the pass wants an account's open EQL to look like."""

    account: int
    qualifies: bool
    score: int
    primary_signal: str
    priority: str
    expansion_type: str
    target: str
    estimate: Decimal
    estimate_source: str
    triggered: list
    evaluation: dict
    opening_angle: str
    discovery_questions: list
    self_serve_gate: bool
    watch_only: bool
    segment: str
    plan_tier: str
    contract_arr: Decimal
    ae_id: int | None
    csm_id: int | None


def _candidates(
    evaluation: engine.Evaluation,
    accounts: pd.DataFrame,
    config: cfg.ScoringConfig,
    as_of: dt.datetime,
) -> dict[int, Candidate]:
    """Turn engine output into one Candidate per account that qualifies or has a watch signal firing.

    A blocked account gets nothing, not even a CSM review item (engine ``watch_only`` excludes it).
    """
    result = evaluation.accounts_result
    wanted = result[result["qualifies"] | result["watch_only"]]
    if wanted.empty:
        return {}
    signals = evaluation.signals_result
    signals = signals[signals["account"].isin(wanted.index)]
    triggered = engine.triggered_signals_by_account(signals)
    specs = {s.key: s for s in config.signals}
    # Plain dicts once, then a loop over dicts: no per-account pandas indexing (it dominated the pass).
    per_account_signals: dict[int, list] = {}
    for r in signals.itertuples(index=False):
        per_account_signals.setdefault(r.account, []).append(r)
    account_rows = accounts.loc[wanted.index].to_dict("index")
    latest_rows = evaluation.latest_metrics.reindex(wanted.index).to_dict("index")
    out: dict[int, Candidate] = {}
    for account, row in wanted.to_dict("index").items():
        acc = account_rows[account]
        primary = specs.get(row["primary_signal"]) if row["qualifies"] else None
        watch_keys = [k for k in row["watch_fired"].split(engine.LIST_SEPARATOR) if k]
        script_spec = primary or (specs.get(watch_keys[0]) if watch_keys else None)
        latest = latest_rows.get(account, {})
        estimate = row["estimate"] if row["qualifies"] else 0.0
        rows = per_account_signals.get(account, [])
        primary_row = next((r for r in rows if script_spec and r.signal == script_spec.key), None)
        context = opening_angle.opening_angle_context(
            account=acc,
            latest=latest,
            expansion_type=row["expansion_type"] if primary else "",
            target=row["target"] if primary else "",
            estimate=estimate if primary else None,
            signal_value=None if primary_row is None else primary_row.value,
            threshold=None if primary_row is None else primary_row.threshold,
        )
        signal_detail = [
            {
                "signal": r.signal,
                "value": _round(r.value),
                "threshold": _round(r.threshold),
                "points": int(r.points),
                "fired": bool(r.fired),
                "counts": bool(r.counts),
                "target": r.target or "",
            }
            for r in rows
        ]
        evaluation_record = {
            "as_of": as_of.isoformat(),
            "config_version": config.version,
            "score": int(row["score"]),
            "score_threshold": config.policy.score_threshold,
            "gates": {"blocked_by": row["blocked_by"], "self_serve": bool(row["self_serve"])},
            "signals": signal_detail,
            "estimate": {
                "contract_arr": float(acc["contract_arr"]),
                "uplift": None if pd.isna(row["uplift"]) else float(row["uplift"]),
                "source": row["estimate_source"] if primary else "",
                "floor_pct": config.policy.min_expansion_pct,
            },
            "reason": row["reason"],
        }
        out[int(account)] = Candidate(
            account=int(account),
            qualifies=bool(row["qualifies"]),
            score=int(row["score"]) if row["qualifies"] else 0,
            primary_signal=primary.key if primary else (watch_keys[0] if watch_keys else ""),
            priority=primary.priority if primary else cfg.PRIORITY_WATCH,
            expansion_type=row["expansion_type"] if primary else "",
            target=row["target"] if primary else "",
            estimate=to_cents(estimate if not pd.isna(estimate) else 0.0),
            estimate_source=row["estimate_source"] if primary else "",
            triggered=_triggered(triggered.get(account, [])),
            evaluation=evaluation_record,
            opening_angle=opening_angle.render_opening_angle(script_spec.opening_angle, context)
            if script_spec
            else "",
            discovery_questions=list(script_spec.discovery_questions) if script_spec else [],
            self_serve_gate=bool(row["self_serve"]),
            watch_only=not row["qualifies"],
            segment=acc["segment"],
            plan_tier=acc["plan_tier"],
            contract_arr=to_cents(acc["contract_arr"]),
            ae_id=None if pd.isna(acc["ae_id"]) else int(acc["ae_id"]),
            csm_id=None if pd.isna(acc["csm_id"]) else int(acc["csm_id"]),
        )
    return out


# Fields a re-fire may refresh on an open EQL; equal values mean nothing is written.
REFRESH_FIELDS = (
    "score",
    "primary_signal",
    "priority",
    "expansion_type",
    "target",
    "estimated_expansion_arr",
    "estimate_source",
    "triggered_signals",
    "points_total",
    "opening_angle",
    "discovery_questions",
    "contract_arr",
)


def _refresh_values(c: Candidate) -> dict:
    return {
        "score": c.score,
        "primary_signal": c.primary_signal,
        "priority": c.priority,
        "expansion_type": c.expansion_type,
        "target": c.target,
        "estimated_expansion_arr": c.estimate,
        "estimate_source": c.estimate_source,
        "triggered_signals": c.triggered,
        "points_total": sum(int(t.get("points") or 0) for t in c.triggered),
        "opening_angle": c.opening_angle,
        "discovery_questions": c.discovery_questions,
        "contract_arr": c.contract_arr,
    }


def _routing_request(c: Candidate) -> routing_services.RoutingRequest:
    facts = routing_rules.RouteFacts(
        estimate=float(c.estimate),
        expansion_type=c.expansion_type,
        priority=c.priority,
        segment=c.segment,
        plan_tier=c.plan_tier,
        watch_only=c.watch_only,
        self_serve_gate=c.self_serve_gate,
        primary_signal=c.primary_signal,
    )
    return routing_services.RoutingRequest(facts=facts, ae_id=c.ae_id, csm_id=c.csm_id)


def scoring_chunk_run(
    *,
    pass_id: int,
    pk_range: tuple[int, int],
    as_of: dt.datetime,
    config: cfg.ScoringConfig,
    uplifts: dict[str, tuple[float, str]],
    readings_path: str = "",
) -> ChunkCounts:
    """Evaluate one range of accounts and write its EQLs in one transaction.

    ``readings_path``: the pass's readings file (``scoring.readings.pass_readings_prepare``); without
    it the chunk computes its own readings.
    """
    as_of_date = timezone.localdate(as_of)
    accounts = selectors.accounts_frame(pk_range=pk_range)
    counts = ChunkCounts(accounts_scored=len(accounts))
    if accounts.empty:
        return counts
    accounts = selectors.trigger_facts_add(accounts, config=config, at=as_of)
    signal_readings = readings.readings_for(
        config=config, as_of=as_of_date, accounts=accounts, pk_range=pk_range, path=readings_path
    )
    signal_readings, trigger_state = _conditioned(accounts, signal_readings, config, as_of)
    evaluation = engine.evaluate_readings(
        accounts, signal_readings, config, as_of_date, uplifts, conditioned=True
    )
    candidates = _candidates(evaluation, accounts, config, as_of)
    with transaction.atomic():
        trigger_crossings_keep(config=config, accounts=accounts, firing=trigger_state.firing, at=as_of)
        existing = selectors.open_eqls(pk_range=pk_range)
        suppressed = selectors.suppressed_until(
            pk_range=pk_range, as_of=as_of, days=config.policy.suppression_days
        )
        to_create: list[EQL] = []
        to_update: list[EQL] = []
        to_route: list[tuple[EQL, Candidate]] = []
        upgraded: list[int] = []
        for account, c in candidates.items():
            eql = existing.get(account)
            action = dedup.dedup_action(
                qualifies=c.qualifies,
                has_open=eql is not None,
                open_is_review=eql is not None and eql.route == routing_rules.ROUTE_CSM_REVIEW,
                suppressed=account in suppressed,
            )
            if action == dedup.SUPPRESS:
                continue
            if action == dedup.CREATE:
                eql = EQL(
                    account_id=account,
                    status=EQLStatus.NEW,
                    created_at=as_of,
                    updated_at=as_of,
                    config_version=config.version,
                    last_pass=pass_id,
                    self_serve_gate=c.self_serve_gate,
                    **_refresh_values(c),
                )
                to_create.append(eql)
                to_route.append((eql, c))
                continue
            changed = _refresh(eql, c)
            if action == dedup.UPGRADE:
                to_route.append((eql, c))
                upgraded.append(eql.pk)
                changed = True
            if changed:
                eql.updated_at = as_of
                eql.last_pass = pass_id
                to_update.append(eql)
            else:
                counts.eqls_unchanged += 1
        assignments = routing_services.eqls_assign(
            requests=[_routing_request(c) for _, c in to_route], at=as_of
        )
        for (eql, c), assignment in zip(to_route, assignments, strict=True):
            eql.evaluation = c.evaluation  # the routing rule is added to this evaluation
            routing_services.assignment_apply(eql=eql, assignment=assignment)
        if to_create:
            EQL.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
            mine = EQL.objects.filter(
                account_id__in=[e.account_id for e in to_create], status__in=OPEN_STATUSES, last_pass=pass_id
            ).values_list("pk", "route")
            created = list(mine)
            counts.created_ids = tuple(pk for pk, _ in created)
            counts.eqls_created = sum(1 for _, route in created if route != routing_rules.ROUTE_CSM_REVIEW)
            counts.csm_reviews_created = len(created) - counts.eqls_created
        if to_update:
            fields = [
                *REFRESH_FIELDS,
                "updated_at",
                "last_pass",
                "evaluation",
                "route",
                "owner",
                "csm",
                "csm_involvement_required",
                "unassigned",
                "assigned_at",
                "sla_deadline",
                "review_window_ends_at",
                "review_state",
                "self_serve_gate",
            ]
            EQL.objects.bulk_update(to_update, fields, batch_size=1000)
            counts.eqls_updated = len(to_update)
            counts.changed_ids = tuple(e.pk for e in to_update)
        _announce_on_commit(counts, upgraded_ids=tuple(upgraded))
    return counts


def _timing_hold(accounts, at: dt.datetime):
    def hold(spec: cfg.SignalSpec, firing):
        return triggers.timing_holds(
            spec,
            firing,
            accounts.get(cfg.crossed_column(spec.key)),
            accounts.get("timezone"),
            at=at,
            default_tz=settings.TIME_ZONE,
        )

    return hold


def _conditioned(accounts, signal_readings, config: cfg.ScoringConfig, at: dt.datetime):
    """Readings narrowed to each trigger's conditions, scope, cooldown and timing at ``at``."""
    return engine.apply_conditions(
        accounts, signal_readings, config, timezone.localdate(at), hold=_timing_hold(accounts, at)
    )


def trigger_crossings_keep(*, config: cfg.ScoringConfig, accounts, firing, at: dt.datetime) -> None:
    """Remember when each timed trigger was first seen firing; forget it where it no longer fires."""
    for spec in config.signals:
        if not spec.is_timed:
            continue
        column = cfg.crossed_column(spec.key)
        known = accounts[column].notna().to_numpy() if column in accounts else None
        now_firing = firing.get(spec.key)
        if now_firing is None:
            continue
        pks = accounts.index.to_numpy()
        new = pks[now_firing & ~known] if known is not None else pks[now_firing]
        gone = pks[~now_firing & known] if known is not None else pks[:0]
        if len(gone):
            TriggerCrossing.objects.filter(signal_key=spec.key, account_id__in=gone.tolist()).delete()
        if len(new):
            TriggerCrossing.objects.bulk_create(
                [TriggerCrossing(account_id=int(pk), signal_key=spec.key, first_seen_at=at) for pk in new],
                ignore_conflicts=True,
            )


def _announce_on_commit(counts: ChunkCounts, *, upgraded_ids: tuple[int, ...]) -> None:
    """The chunk's last step inside its transaction: announce what it wrote once that commits."""
    if counts.created_ids or counts.changed_ids:
        created_ids, changed_ids = counts.created_ids, counts.changed_ids
        transaction.on_commit(
            lambda: routing_services.eqls_announce(
                created_ids=created_ids, changed_ids=changed_ids, upgraded_ids=upgraded_ids
            )
        )


def _refresh(eql: EQL, c: Candidate) -> bool:
    """Bring an open EQL up to date with a re-fire; True when anything changed.

    A watch signal firing on an account whose EQL is a real (qualified) one is added to its
    triggered signals; a non-qualifying re-evaluation never downgrades a real EQL.
    """
    if not c.qualifies and eql.route != routing_rules.ROUTE_CSM_REVIEW:
        known = {t["signal"] for t in eql.triggered_signals}
        extra = [t for t in c.triggered if t["signal"] not in known and t["points"] == 0]
        if not extra:
            return False
        eql.triggered_signals = [*eql.triggered_signals, *extra]
        return True
    changed = False
    for name, value in _refresh_values(c).items():
        if getattr(eql, name) != value:
            setattr(eql, name, value)
            changed = True
    if changed:
        eql.evaluation = {**c.evaluation, "route_rule": eql.evaluation.get("route_rule", "")}
        eql.self_serve_gate = c.self_serve_gate
    return changed


def scoring_pass_start(
    *, as_of: dt.datetime, trigger: str, config: cfg.ScoringConfig, chunks: int
) -> ScoringPass:
    now = timezone.now()
    return ScoringPass.objects.create(
        as_of=as_of,
        started_at=now,
        heartbeat_at=now,
        trigger=trigger,
        config_version=config.version,
        chunks=chunks,
    )


def scoring_pass_heartbeat(*, pass_id: int) -> bool:
    """Record chunk progress; False when the pass is no longer running (abandoned: skip the chunk)."""
    return bool(
        ScoringPass.objects.filter(pk=pass_id, status=PassStatus.RUNNING).update(heartbeat_at=timezone.now())
    )


#: A running chunk refreshes its pass's heartbeat this many times per stale limit, so one slow chunk
#: (a large base, a busy database) is never mistaken for a lost worker.
HEARTBEATS_PER_STALE_LIMIT = 6


def heartbeat_interval() -> float:
    return settings.SCORING_PASS_STALE_SECONDS / HEARTBEATS_PER_STALE_LIMIT


@contextlib.contextmanager
def scoring_pass_heartbeats(*, pass_id: int, every: float | None = None) -> Iterator[None]:
    """Keep the pass's heartbeat fresh while the block runs: a thread on its own database connection
    beats every ``every`` seconds (default: a sixth of SCORING_PASS_STALE_SECONDS). A killed worker
    takes the thread with it, so its pass goes stale and the watchdog reruns it."""
    every = heartbeat_interval() if every is None else every
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    scoring_pass_heartbeat(pass_id=pass_id)
                except DatabaseError as exc:  # a database blip: the next beat tries again
                    logger.warning("scoring pass=%s heartbeat failed: %s", pass_id, exc)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"pass-{pass_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 30)


def scoring_pass_finish(
    *, scoring_pass: ScoringPass, counts: ChunkCounts, error: str = "", accounts_only: bool = False
) -> ScoringPass:
    """Record the outcome of a running pass. A pass the watchdog abandoned meanwhile stays failed (its
    rerun owns the outcome): the update only applies to a row still running."""
    now = timezone.now()
    values = {
        "finished_at": now,
        "heartbeat_at": now,
        "status": PassStatus.FAILED if error else PassStatus.COMPLETED,
        "error": error,
        "seconds": (now - scoring_pass.started_at).total_seconds(),
        **{
            name: getattr(counts, name)
            for name in (
                "accounts_scored",
                "eqls_created",
                "eqls_updated",
                "eqls_unchanged",
                "csm_reviews_created",
            )
        },
    }
    finished = ScoringPass.objects.filter(pk=scoring_pass.pk, status=PassStatus.RUNNING).update(**values)
    scoring_pass.refresh_from_db()
    if not finished:
        logger.warning("scoring pass=%s finished after it was %s", scoring_pass.pk, scoring_pass.status)
        return scoring_pass
    logger.info(
        "scoring pass=%s status=%s as_of=%s accounts=%d created=%d updated=%d unchanged=%d reviews=%d "
        "seconds=%.2f",
        scoring_pass.pk,
        scoring_pass.status,
        scoring_pass.as_of.isoformat(),
        counts.accounts_scored,
        counts.eqls_created,
        counts.eqls_updated,
        counts.eqls_unchanged,
        counts.csm_reviews_created,
        scoring_pass.seconds,
    )
    if not error:  # reports that follow the pass (the coverage snapshot) are queued once it is committed
        transaction.on_commit(
            lambda: pass_completed.send_robust(
                ScoringPass, scoring_pass_id=scoring_pass.pk, accounts_only=accounts_only
            )
        )
    return scoring_pass


def pass_inputs() -> tuple[cfg.ScoringConfig, dict[str, tuple[float, str]]]:
    config = selectors.scoring_config_load()
    uplifts = uplift.calibrate_uplifts(
        selectors.expansions_frame(), config.signals, config.policy.min_calibration_samples
    )
    return config, uplifts


def scoring_pass_run(
    *, as_of: dt.date | dt.datetime | None = None, trigger: str = "command", chunk_size: int | None = None
) -> ScoringPass:
    """One whole pass in this process, chunk after chunk (the Celery task fans chunks out instead)."""
    as_of_dt = as_of_datetime(as_of)
    config, uplifts = pass_inputs()
    chunks = selectors.account_pk_chunks(chunk_size or settings.SCORING_CHUNK_SIZE)
    scoring_pass = scoring_pass_start(as_of=as_of_dt, trigger=trigger, config=config, chunks=len(chunks))
    total = ChunkCounts()
    started = time.monotonic()
    # a long chunk beats from a thread too, unless the pass runs inside a caller's transaction (the
    # thread's own connection could not see the uncommitted pass)
    beating = (
        contextlib.nullcontext()
        if transaction.get_connection().in_atomic_block
        else scoring_pass_heartbeats(pass_id=scoring_pass.pk)
    )
    try:
        with beating:
            readings_path = readings.pass_readings_prepare(config=config, as_of=timezone.localdate(as_of_dt))
            for pk_range in chunks:
                if total.accounts_scored:  # a long pass shows progress, so the watchdog never abandons it
                    scoring_pass_heartbeat(pass_id=scoring_pass.pk)
                total.add(
                    scoring_chunk_run(
                        pass_id=scoring_pass.pk,
                        pk_range=pk_range,
                        as_of=as_of_dt,
                        config=config,
                        uplifts=uplifts,
                        readings_path=readings_path,
                    )
                )
    except Exception as exc:
        scoring_pass_finish(scoring_pass=scoring_pass, counts=total, error=f"{type(exc).__name__}: {exc}")
        raise
    logger.debug("pass %s chunks=%d in %.2fs", scoring_pass.pk, len(chunks), time.monotonic() - started)
    return scoring_pass_finish(scoring_pass=scoring_pass, counts=total)


def scoring_accounts_run(
    *, account_pks: list[int], as_of: dt.date | dt.datetime | None = None, trigger: str = "events"
) -> ScoringPass:
    """Score only these accounts now (product events arrived for them), as a pass of their own.

    Dedup and suppression hold as in the hourly pass: an account with an open EQL gets it refreshed
    (a more urgent trigger raises its priority), never a second one. Reports that follow a whole pass
    (the coverage snapshot) wait for the hourly one."""
    as_of_dt = as_of_datetime(as_of)
    config, uplifts = pass_inputs()
    pks = sorted({int(pk) for pk in account_pks})
    scoring_pass = scoring_pass_start(as_of=as_of_dt, trigger=trigger, config=config, chunks=len(pks))
    total = ChunkCounts()
    try:
        for pk in pks:
            total.add(
                scoring_chunk_run(
                    pass_id=scoring_pass.pk, pk_range=(pk, pk), as_of=as_of_dt, config=config, uplifts=uplifts
                )
            )
    except Exception as exc:
        scoring_pass_finish(scoring_pass=scoring_pass, counts=total, error=f"{type(exc).__name__}: {exc}")
        raise
    return scoring_pass_finish(scoring_pass=scoring_pass, counts=total, accounts_only=True)


def pass_summary(scoring_pass: ScoringPass) -> dict:
    """The contract's ``score --json`` shape."""
    return {
        "as_of": scoring_pass.as_of.date().isoformat(),
        "accounts_scored": scoring_pass.accounts_scored,
        "eqls_created": scoring_pass.eqls_created,
        "eqls_updated": scoring_pass.eqls_updated,
        "eqls_unchanged": scoring_pass.eqls_unchanged,
        "csm_reviews_created": scoring_pass.csm_reviews_created,
        "seconds": round(scoring_pass.seconds, 3),
        "pass_id": scoring_pass.pk,
        "status": scoring_pass.status,
    }


def account_explain(*, account_pk: int, as_of: dt.date | dt.datetime | None = None) -> dict:
    """Why an account has (or has no) EQL now: gates, each signal against its threshold, suppression."""
    as_of_dt = as_of_datetime(as_of)
    as_of_date = timezone.localdate(as_of_dt)
    config, uplifts = pass_inputs()
    accounts = selectors.trigger_facts_add(
        selectors.accounts_frame(pks=[account_pk]), config=config, at=as_of_dt
    )
    signal_readings = readings.readings_for(config=config, as_of=as_of_date, accounts=accounts)
    signal_readings, state = _conditioned(accounts, signal_readings, config, as_of_dt)
    evaluation = engine.evaluate_readings(
        accounts, signal_readings, config, as_of_date, uplifts, conditioned=True
    )
    specs = {s.key: s for s in config.signals}

    def waiting_until(key: str) -> str | None:
        held = state.held.get(key)
        if held is None or not held[0]:
            return None
        seen = accounts[cfg.crossed_column(key)].iloc[0] if cfg.crossed_column(key) in accounts else None
        zone = accounts["timezone"].iloc[0] if "timezone" in accounts else None
        due = triggers.trigger_due(specs[key], seen, zone, at=as_of_dt, default_tz=settings.TIME_ZONE)
        return due.isoformat()

    row = evaluation.accounts_result.loc[account_pk]
    signals = evaluation.signals_result[evaluation.signals_result["account"] == account_pk]
    names = {s.key: s.name for s in config.signals}
    suppressed = selectors.suppressed_until(
        pk_range=(account_pk, account_pk), as_of=as_of_dt, days=config.policy.suppression_days
    )
    open_eql = EQL.objects.filter(account_id=account_pk, status__in=OPEN_STATUSES).first()
    return {
        "as_of": as_of_date.isoformat(),
        "qualifies": bool(row["qualifies"]),
        "reason": row["reason"],
        "blocked_by": row["blocked_by"],
        "self_serve": bool(row["self_serve"]),
        "score": int(row["score"]),
        "score_threshold": config.policy.score_threshold,
        "estimate": None if pd.isna(row["estimate"]) else round(float(row["estimate"]), 2),
        "suppressed_until": suppressed[account_pk].isoformat() if account_pk in suppressed else None,
        "open_eql": open_eql.pk if open_eql else None,
        "signals": [
            {
                "signal": names.get(r.signal, r.signal),
                "value": _round(r.value),
                "threshold": _round(r.threshold),
                "short_by": None
                if r.fired or pd.isna(r.value)
                else round(abs(float(r.threshold) - float(r.value)), VALUE_DECIMALS),
                "fired": bool(r.fired),
                "points": int(r.points),
                "waiting_until": waiting_until(r.signal),
                "cooling": bool(state.cooling[r.signal][0]) if r.signal in state.cooling else False,
            }
            for r in signals.itertuples(index=False)
        ],
    }


def explain_text(explanation: dict) -> str:
    """The explanation in words, for admin and the account page."""
    e = explanation
    lines = []
    if e["open_eql"]:
        lines.append(f"Has open EQL #{e['open_eql']}.")
    if e["suppressed_until"]:
        lines.append(f"Suppressed after a closed EQL until {e['suppressed_until'][:10]}.")
    if e["blocked_by"]:
        lines.append(f"Blocked by gate: {e['blocked_by']}.")
    elif e["self_serve"]:
        lines.append("A self-serve gate applies: any EQL goes to the CS-owned self-serve path.")
    reasons = {
        "stale": "No usage data recent enough to score.",
        "no_signal": "No scoring signal fired.",
        "owned": "The signals that fired point at something the account already owns.",
        "score_below_threshold": f"Score {e['score']} is below the threshold {e['score_threshold']}.",
        "below_expansion_floor": "The estimated expansion is below the minimum share of contract ARR.",
    }
    if e["qualifies"]:
        lines.append(f"Qualifies with score {e['score']} (estimate {e['estimate']:,.0f}).")
    elif e["reason"] in reasons:
        lines.append(reasons[e["reason"]])
    for s in e["signals"]:
        if s.get("waiting_until"):
            state = f"fires, counts from {s['waiting_until'][:16].replace('T', ' ')} (its timing)"
        elif s.get("cooling"):
            state = "fires, in its cooldown after its last EQL"
        else:
            state = (
                "fired"
                if s["fired"]
                else (f"short by {s['short_by']}" if s["short_by"] is not None else "no data")
            )
        lines.append(f"- {s['signal']}: {s['value']} vs {s['threshold']} ({state}, {s['points']} pts)")
    return "\n".join(lines)


#: Alert when no scoring pass has completed for this long (the job runs hourly).
PASS_STALE_AFTER = dt.timedelta(hours=2)


def pass_watchdog(*, now: dt.datetime | None = None) -> str:
    """Alert RevOps (in-app, email, Slack) when passes stopped or the last one failed; once per incident.

    Returns "ok", or the problem it alerted about (or had already alerted about).
    """
    from routing.models import Notification
    from routing.services import notify_people

    now = now or timezone.now()
    last = ScoringPass.objects.order_by("-started_at").first()
    last_ok = ScoringPass.objects.filter(status=PassStatus.COMPLETED).order_by("-finished_at").first()
    problem = ""
    if last is not None and last.status == PassStatus.FAILED:
        problem = f"Scoring pass {last.pk} failed: {last.error or 'no detail'}"
    elif last_ok is None or last_ok.finished_at is None or now - last_ok.finished_at > PASS_STALE_AFTER:
        since = (
            f"since {last_ok.finished_at:%Y-%m-%d %H:%M %Z}" if last_ok and last_ok.finished_at else "ever"
        )
        problem = f"No scoring pass has completed {since}; EQLs are not being refreshed."
    if not problem:
        return "ok"
    incident = f"{last.pk if last else 0}:{problem[:60]}"
    already = Notification.objects.filter(kind=Notification.Kind.PASS_ALERT, body__endswith=f"[{incident}]")
    if already.exists():
        return problem
    logger.error("scoring watchdog: %s", problem)
    notify_people(
        role="RevOps",
        kind=Notification.Kind.PASS_ALERT,
        subject="Scoring pass alert",
        body=f"{problem}\nCheck the workers and the last passes in admin. [{incident}]",
    )
    return problem


def passes_abandon_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Mark failed every running pass with no chunk progress for SCORING_PASS_STALE_SECONDS.

    Such a pass lost its worker (killed mid-chunk) or its broker (queued chunks gone); each chunk
    commits whole or not at all, so rerunning the pass gives the result an uninterrupted one would.
    """
    now = now or timezone.now()
    stale_after = dt.timedelta(seconds=settings.SCORING_PASS_STALE_SECONDS)
    cut = now - stale_after
    stale = ScoringPass.objects.filter(status=PassStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cut) | Q(heartbeat_at__isnull=True, started_at__lt=cut)
    )
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        seconds = stale_after.total_seconds()
        span = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
        ScoringPass.objects.filter(pk__in=ids, status=PassStatus.RUNNING).update(
            status=PassStatus.FAILED,
            finished_at=now,
            error=f"abandoned: no chunk progress for {span} (worker or broker lost); rerun",
        )
        logger.error("scoring passes=%s abandoned after %s without progress", ids, span)
    return ids


#: The watchdog reruns a failed scheduled pass at most this many times in a row; a pass that keeps
#: failing (bad data, a bug) then waits for the hourly schedule instead of failing every minute.
RERUNS_IN_A_ROW = 2


def pass_rerun_due() -> bool:
    """True when the newest scheduled pass failed and the watchdog has not yet rerun it
    RERUNS_IN_A_ROW times in a row: the watchdog reruns it."""
    newest = ScoringPass.objects.filter(trigger="celery").order_by("-started_at")
    statuses = list(newest.values_list("status", flat=True)[: RERUNS_IN_A_ROW + 1])
    failed_in_a_row = next((i for i, s in enumerate(statuses) if s != PassStatus.FAILED), len(statuses))
    return 1 <= failed_in_a_row <= RERUNS_IN_A_ROW


def scoring_pass_claim(
    *, as_of: dt.datetime, config: cfg.ScoringConfig, chunks: int, now: dt.datetime | None = None
) -> ScoringPass | None:
    """Start a scheduled pass unless one is already running; None when this one should skip.

    The EQL policy row is the lock: two schedulers claiming at once queue on it, and the second sees
    the first's running pass. A running pass without progress for SCORING_PASS_STALE_SECONDS is
    marked failed first, so a worker killed mid-pass never stops scoring.
    """
    with transaction.atomic():
        selectors.policy_lock()
        passes_abandon_stale(now=now)
        running = ScoringPass.objects.filter(status=PassStatus.RUNNING, trigger="celery").first()
        if running is not None:
            logger.info("scoring pass skipped: pass=%s is still running", running.pk)
            return None
        return scoring_pass_start(as_of=as_of, trigger="celery", config=config, chunks=chunks)
