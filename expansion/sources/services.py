"""Sync a warehouse source: read each input, validate and write it like the CSV import, remember how far.

Each input is its own transaction (as each CSV file is): a bad row rejects that input whole, writes
nothing and leaves its watermark where it was; the run log records what was read, rejected and written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from django.db import transaction
from django.utils import timezone

from expansion import importing
from expansion.models import Account, SourceInput, SourceKind, SourceRun, WarehouseSource
from expansion.services import IMPORTERS, FileResult, ImportRejected, Progress, UsageChecker, UsageImporter

from . import readers
from .readers import SourceError

logger = logging.getLogger(__name__)

ENV_PREFIX = "env:"
#: Error lines kept in a run's message (the command prints them all).
MESSAGE_LINES = 200
#: Environment configuration of one source (used when no source is set up in admin under that name).
ENV_URL = "WAREHOUSE_SOURCE_URL"
ENV_NAME = "WAREHOUSE_SOURCE_NAME"
ENV_KIND = "WAREHOUSE_SOURCE_KIND"
ENV_LAG = "WAREHOUSE_SOURCE_LAG_DAYS"
ENV_QUERY = "WAREHOUSE_QUERY_{}"  # WAREHOUSE_QUERY_USAGE=select ...


def location_problem(*, kind: str, location: str) -> str | None:
    """Why a location cannot be stored (a password in clear), or None."""
    if location.startswith(ENV_PREFIX) or kind != SourceKind.SQL:
        return None
    try:
        url = sa.engine.make_url(location)
    except sa.exc.ArgumentError:
        return "not a SQLAlchemy URL (e.g. postgresql+psycopg://user@host/db or env:WAREHOUSE_URL)"
    if url.password:
        return (
            "this URL holds a password; put the URL in an environment variable and write "
            "env:VARIABLE_NAME here (e.g. env:WAREHOUSE_URL), so the secret is never stored"
        )
    return None


def source_location(source: WarehouseSource) -> str:
    """The path or URL to read, resolving an ``env:NAME`` reference (raises SourceError if unset)."""
    location = source.location.strip()
    if location.startswith(ENV_PREFIX):
        variable = location[len(ENV_PREFIX) :]
        value = os.environ.get(variable, "").strip()
        if not value:
            raise SourceError(f"{source.name}: location: the environment variable {variable} is not set")
        return value
    problem = location_problem(kind=source.kind, location=location)
    if problem:
        raise SourceError(f"{source.name}: location: {problem}")
    return location


def _guess_kind(location: str) -> str:
    if "://" in location:
        return SourceKind.SQL
    if location.endswith((".duckdb", ".db")):
        return SourceKind.DUCKDB
    path = Path(location)
    if path.is_dir() and any(path.glob("*.csv")) and not any(path.glob("*.parquet")):
        return SourceKind.CSV_FOLDER
    return SourceKind.PARQUET


def source_from_environment() -> WarehouseSource | None:
    """The source described by WAREHOUSE_SOURCE_URL (and _NAME, _KIND, _LAG_DAYS, WAREHOUSE_QUERY_<INPUT>).

    Stored as a row (its watermarks and runs need one) whose location is the ``env:`` reference."""
    location = os.environ.get(ENV_URL, "").strip()
    if not location:
        return None
    name = os.environ.get(ENV_NAME, "warehouse").strip() or "warehouse"
    kind = os.environ.get(ENV_KIND, "").strip() or _guess_kind(location)
    if kind not in SourceKind.values:
        raise SourceError(
            f"{ENV_KIND}: unknown kind {kind!r}; expected one of {', '.join(SourceKind.values)}"
        )
    with transaction.atomic():
        source, _ = WarehouseSource.objects.update_or_create(
            name=name,
            defaults={
                "kind": kind,
                "location": ENV_PREFIX + ENV_URL,
                "lag_days": int(os.environ.get(ENV_LAG, "0") or 0),
            },
        )
        for input_name in readers.INPUTS:
            query = os.environ.get(ENV_QUERY.format(input_name.upper()), "").strip()
            if query:
                SourceInput.objects.update_or_create(
                    source=source, input=input_name, defaults={"query": query}
                )
    return source


@dataclass
class SyncResult:
    source: str
    run_id: int
    inputs: dict[str, FileResult] = field(default_factory=dict)
    rejected: list[ImportRejected] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {name: {**r.as_dict(), "seconds": round(r.seconds, 3)} for name, r in self.inputs.items()}

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.failed


def scores_in_place(source: WarehouseSource) -> bool:
    """Whether the scoring pass reads this source's usage where it is (validated here, not copied)."""
    return source.score_in_place and source.kind in (SourceKind.PARQUET, SourceKind.DUCKDB)


def in_place_usage_problem(source: WarehouseSource) -> str | None:
    """Why the pass may not score from this source now: its usage has never been validated, or the
    last sync that read it rejected it. None when the last sync validated it."""
    for run in SourceRun.objects.filter(source=source).order_by("-pk").only("pk", "inputs")[:50]:
        entry = (run.inputs or {}).get("usage")
        if not entry:
            continue
        if entry.get("state") == "done":
            return None
        return (
            f"source {source.name}: sync run {run.pk} {entry.get('state', 'did not finish')} its usage; "
            "fix the rows it lists (admin, Source runs) and sync again — the pass keeps the EQLs as they are"
        )
    return (
        f"source {source.name}: its usage has not been validated yet; run manage.py sync_source {source.name}"
    )


def _scan(source: WarehouseSource, location: str, name: str, spec: SourceInput | None, engine):
    query = spec.query if spec else ""
    column = spec.watermark_column if spec else ""
    since = readers.watermark_value(spec.watermark, lag_days=source.lag_days) if spec else None
    if source.kind == SourceKind.PARQUET:
        return readers.parquet_scan(location, name, path=query, watermark_column=column, since=since)
    if source.kind == SourceKind.DUCKDB:
        return readers.duckdb_scan(location, name, query=query, watermark_column=column, since=since)
    return readers.sql_scan(location, name, query=query, watermark_column=column, since=since, engine=engine)


def _import_input(source, location, name, spec, engine, progress) -> FileResult | None:
    """One input in one transaction: read, validate, write, advance its watermark; None if absent."""
    file_name = f"{name}.csv"
    with transaction.atomic():
        if source.kind == SourceKind.CSV_FOLDER:
            path = Path(location) / (spec.query if spec and spec.query else file_name)
            if not path.is_file():
                return None
            with path.open("rb") as stream:
                return IMPORTERS[file_name](progress).run(stream)
        scan = _scan(source, location, name, spec, engine)
        if scan is None:
            return None
        if name == "usage":
            pairs = list(Account.objects.values_list("account_id", "pk"))
            known = pa.array([account_id for account_id, _ in pairs], pa.string())
            if scores_in_place(source):
                importer = UsageChecker(progress, label=scan.label)
                scan.take_typed = lambda batch, first: importing.usage_batch_certainly_valid(batch, known)
            else:
                importer = UsageImporter(progress, label=scan.label)
                pk_array = np.asarray([pk for _, pk in pairs], dtype=np.int64)
                scan.take_typed = lambda batch, first: importer.stage_typed(batch, first, known, pk_array)
            result = importer.run_batches(scan)
            result.rows += scan.typed_rows
        else:
            result = IMPORTERS[file_name](progress, label=scan.label).run_batches(scan)
        if scan.high_water is not None:
            previous = readers.watermark_value(spec.watermark) if spec else None
            if previous is None or scan.high_water > previous:
                SourceInput.objects.update_or_create(
                    source=source,
                    input=name,
                    defaults={"watermark": readers.watermark_text(scan.high_water)},
                )
        return result


def source_sync(
    *, source: WarehouseSource, progress_callback: Callable[[str, int, int, int], None] | None = None
) -> SyncResult:
    """Sync every enabled input of ``source`` in dependency order; see the module docstring."""
    started = time.monotonic()
    run = SourceRun.objects.create(source=source, started_at=timezone.now())
    outcome = SyncResult(source=source.name, run_id=run.pk)
    specs = {s.input: s for s in source.inputs.all()}
    engine = None
    messages: list[str] = []
    try:
        location = source_location(source)
        if source.kind == SourceKind.SQL:
            engine = sa.create_engine(location)
        for name in readers.INPUTS:
            spec = specs.get(name)
            if spec is not None and not spec.enabled:
                continue
            run.current_input = name
            run.save(update_fields=["current_input"])
            input_started = time.monotonic()
            progress = Progress(callback=progress_callback)
            entry = {"rows": 0, "rejected": 0, "created": 0, "updated": 0}
            try:
                result = _import_input(source, location, name, spec, engine, progress)
            except ImportRejected as exc:
                outcome.rejected.append(exc)
                messages.extend([str(exc), *exc.errors])
                entry.update(rows=progress.rows, rejected=exc.rows_rejected, state="rejected")
            except SourceError as exc:
                outcome.failed.append(str(exc))
                messages.append(str(exc))
                entry.update(rows=progress.rows, state="failed")
            else:
                if result is None:
                    continue
                outcome.inputs[name] = result
                entry.update(rows=result.rows, created=result.created, updated=result.updated, state="done")
            entry["seconds"] = round(time.monotonic() - input_started, 3)
            run.inputs[name] = entry
            run.rows_read += entry["rows"]
            run.rows_rejected += entry["rejected"]
            run.rows_written += entry["created"] + entry["updated"]
            run.save(update_fields=["inputs", "rows_read", "rows_rejected", "rows_written"])
    except SourceError as exc:
        outcome.failed.append(str(exc))
        messages.append(str(exc))
    finally:
        if engine is not None:
            engine.dispose()
    run.state = (
        SourceRun.State.FAILED
        if outcome.failed
        else SourceRun.State.REJECTED
        if outcome.rejected
        else SourceRun.State.DONE
    )
    run.finished_at = timezone.now()
    run.current_input = ""
    run.seconds = round(time.monotonic() - started, 3)
    extra = len(messages) - MESSAGE_LINES
    run.message = "\n".join(messages[:MESSAGE_LINES] + ([f"... and {extra} more"] if extra > 0 else []))
    run.save()
    logger.info(
        "source sync source=%s state=%s rows=%d rejected=%d written=%d seconds=%.2f",
        source.name,
        run.state,
        run.rows_read,
        run.rows_rejected,
        run.rows_written,
        run.seconds,
    )
    return outcome


def sources_to_sync(*, name: str | None = None) -> list[WarehouseSource]:
    """The named source, or every enabled one (the environment's source included)."""
    env_source = source_from_environment()
    if name:
        found = WarehouseSource.objects.filter(name=name).first()
        if found is None:
            known = ", ".join(WarehouseSource.objects.values_list("name", flat=True)) or "none configured"
            raise SourceError(f"no warehouse source named {name!r} (sources: {known})")
        return [found]
    sources = list(WarehouseSource.objects.filter(enabled=True))
    if env_source is not None and env_source not in sources and env_source.enabled:
        sources.append(env_source)
    return sources


def source_sync_all(*, name: str | None = None, progress_callback=None) -> list[SyncResult]:
    return [source_sync(source=s, progress_callback=progress_callback) for s in sources_to_sync(name=name)]


__all__ = [
    "SourceError",
    "SyncResult",
    "in_place_usage_problem",
    "location_problem",
    "scores_in_place",
    "source_from_environment",
    "source_sync",
    "source_sync_all",
    "sources_to_sync",
]
