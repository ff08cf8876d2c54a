"""One CRM sync: write the EQLs whose record changed, then read back what changed in the CRM.

Writes are incremental (a record is sent only when the hash of its payload differs from what was last
written) and idempotent (upsert by the EQL id as External ID / unique property; an EQL is *claimed* by
one run before it is sent, so two racing runs never send the same EQL twice). A refused record is
logged with the CRM's own code and sent again next run; a limit stops the run cleanly and what is left
stays queued for the next one. Read-back closes an EQL won or lost in the CRM through the same
lifecycle service as ``POST /api/eqls/{id}/events/``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from expansion.models import EQL, User
from routing import lifecycle
from routing.services import actor_of, eql_transition, eql_view

from . import clients, payload, selectors
from .models import CrmConnection, CrmLink, CrmReject, CrmSyncRun

logger = logging.getLogger(__name__)

#: How long a run holds the EQLs it is sending; a run that died frees them after this.
CLAIM_MINUTES = 15
#: Reason code recorded when the CRM closes an EQL as lost (the CRM's own loss reason is in the note).
LOST_IN_CRM = "lost_in_crm"


@dataclass
class SyncSummary:
    """What one run did (the ``crm_sync --json`` figures) and, for a dry run, what it would send."""

    connection: str
    written: int = 0
    unchanged: int = 0
    rejected: int = 0
    closed_from_crm: int = 0
    requests: int = 0
    state: str = CrmSyncRun.State.DONE
    message: str = ""
    payloads: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "closed_from_crm": self.closed_from_crm,
            "requests": self.requests,
        }


@dataclass
class _Pending:
    eql: EQL
    link: CrmLink | None
    rendered: payload.Rendered
    digest: str
    owner_id: str


def _salesforce_credentials() -> clients.SalesforceCredentials:
    return clients.SalesforceCredentials(
        instance_url=settings.SALESFORCE_INSTANCE_URL,
        access_token=settings.SALESFORCE_ACCESS_TOKEN,
        client_id=settings.SALESFORCE_CLIENT_ID,
        client_secret=settings.SALESFORCE_CLIENT_SECRET,
        domain=settings.SALESFORCE_DOMAIN,
        version=settings.SALESFORCE_API_VERSION,
        timeout=settings.CRM_TIMEOUT_SECONDS,
    )


def _hubspot_credentials() -> clients.HubSpotCredentials:
    return clients.HubSpotCredentials(
        access_token=settings.HUBSPOT_ACCESS_TOKEN,
        api_base=settings.HUBSPOT_API_BASE,
        client_id=settings.HUBSPOT_CLIENT_ID,
        client_secret=settings.HUBSPOT_CLIENT_SECRET,
        refresh_token=settings.HUBSPOT_REFRESH_TOKEN,
        portal_id=settings.HUBSPOT_PORTAL_ID,
        app_url=settings.HUBSPOT_APP_URL,
        timeout=settings.CRM_TIMEOUT_SECONDS,
    )


def client_for(connection: CrmConnection):
    """The connection's client, with secrets read from settings (the environment) just now."""
    if connection.kind == payload.SALESFORCE:
        return clients.SalesforceClient(
            _salesforce_credentials(),
            object_type=connection.object_type,
            key_field=connection.upsert_key,
            max_wait=settings.CRM_MAX_RETRY_WAIT_SECONDS,
            poll_seconds=settings.CRM_BULK_POLL_SECONDS,
            bulk_timeout=settings.CRM_BULK_TIMEOUT_SECONDS,
        )
    return clients.HubSpotClient(
        _hubspot_credentials(),
        object_type=connection.object_type,
        key_field=connection.upsert_key,
        max_wait=settings.CRM_MAX_RETRY_WAIT_SECONDS,
    )


def credentials_problem(connection: CrmConnection) -> str | None:
    """Which environment variables are missing for this connection (None when it can connect)."""
    if connection.kind == payload.SALESFORCE:
        return _salesforce_credentials().problem()
    return _hubspot_credentials().problem()


def mapping_defaults_apply(*, connection: CrmConnection) -> None:
    """Give a new connection the default mapping for its object (RevOps edits it from there)."""
    spec = (connection.kind, connection.object_type)
    if not connection.fields.exists():
        for crm_field, source, required in payload.DEFAULT_FIELDS.get(spec, ()):
            connection.fields.create(crm_field=crm_field, source=source, required=required)
    if not connection.stages.exists():
        for status, stage in payload.DEFAULT_STAGES.get(spec, {}).items():
            connection.stages.create(eql_status=status, crm_stage=stage)


def mapping_check(*, connection: CrmConnection, client=None) -> list[str]:
    """Problems with the mapping, first on its own, then against the CRM's own schema (describe)."""
    rules = selectors.field_rules(connection)
    stages = selectors.stage_map(connection)
    problems = payload.mapping_problems(
        kind=connection.kind,
        object_type=connection.object_type,
        key_field=connection.upsert_key,
        rules=rules,
        stages=stages,
    )
    client = client or client_for(connection)
    described = client.describe()
    key = described.get(connection.upsert_key)
    if key is None:
        problems.append(f"{connection.upsert_key}: no such field on {connection.object_type} in the CRM")
    elif not key.is_key:
        problems.append(
            f"{connection.upsert_key} is not an External ID (Salesforce) or unique property (HubSpot), "
            "so it cannot be the upsert key"
        )
    for rule in rules:
        info = described.get(rule.crm_field)
        if info is None:
            problems.append(f"{rule.crm_field}: no such field on {connection.object_type} in the CRM")
        elif not info.writable:
            problems.append(f"{rule.crm_field}: the CRM does not let this field be written")
    return problems


def sync_user(connection: CrmConnection) -> User:
    """The account that records what the CRM decided (won or lost there): it cannot sign in."""
    email = f"{connection.kind}-sync@crm.invalid"
    user, created = User.objects.get_or_create(
        email=email,
        defaults={
            "username": email,
            "name": f"{connection.get_kind_display()} sync",
            "role": "RevOps",
            "is_active": False,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _read_fields(rules: Sequence[payload.FieldRule]) -> clients.ReadFields:
    by_source: dict[str, str] = {}
    for rule in rules:
        by_source.setdefault(rule.source, rule.crm_field)
    return clients.ReadFields(
        stage=by_source.get("stage", ""),
        amount=by_source.get("amount", ""),
        close_date=by_source.get("close_date", ""),
        owner=by_source.get("owner", ""),
    )


def _owner_field(rules: Sequence[payload.FieldRule]) -> str:
    return next((r.crm_field for r in rules if r.source == "owner"), "")


def crm_sync(
    *,
    connection: CrmConnection,
    dry_run: bool = False,
    eql_ids: Sequence[int] | None = None,
    read_back: bool = True,
    now: dt.datetime | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
) -> SyncSummary:
    """Write what changed, then (unless ``read_back`` is off) read back what changed in the CRM."""
    now = now or timezone.now()
    summary = SyncSummary(connection=connection.name)
    run = CrmSyncRun.objects.create(connection=connection, started_at=now, dry_run=dry_run)
    try:
        rules = selectors.field_rules(connection)
        stages = selectors.stage_map(connection)
        problems = payload.mapping_problems(
            kind=connection.kind,
            object_type=connection.object_type,
            key_field=connection.upsert_key,
            rules=rules,
            stages=stages,
        )
        if problems:
            raise clients.CrmConfigError("the mapping is not usable: " + "; ".join(problems))
        client = client or client_for(connection)
        _write(connection, run, summary, client, rules, stages, dry_run, eql_ids, now, progress)
        if read_back and connection.read_back and not dry_run and eql_ids is None:
            _read_back(connection, run, summary, client, rules, stages, now)
    except (clients.CrmLimitExceeded, clients.CrmRateLimited) as exc:
        summary.state = CrmSyncRun.State.STOPPED
        summary.message = f"{exc}; what is left stays queued for the next run"
    except (clients.CrmAuthError, clients.CrmConfigError) as exc:
        summary.state = CrmSyncRun.State.FAILED
        summary.message = str(exc)
    finally:
        summary.requests = getattr(client, "requests", 0) if client is not None else 0
        CrmLink.objects.filter(claim_run=run.pk).update(claim_run=None, claimed_until=None)
        CrmSyncRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            state=summary.state,
            written=summary.written,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
            closed_from_crm=summary.closed_from_crm,
            requests=summary.requests,
            message=summary.message,
        )
    if summary.state == CrmSyncRun.State.FAILED:
        logger.error("crm sync %s failed: %s", connection.name, summary.message)
    return summary


def _write(connection, run, summary, client, rules, stages, dry_run, eql_ids, now, progress) -> None:
    eqls = list(selectors.eqls_to_sync(connection, eql_ids))
    owner_emails = [e.owner.email for e in eqls if e.owner_id]
    owners = client.owner_ids(owner_emails) if owner_emails and _owner_field(rules) else {}
    owner_field = _owner_field(rules)
    pending: list[_Pending] = []
    for eql in eqls:
        link = eql.links_here[0] if eql.links_here else None
        owner_id = owners.get(eql.owner.email.lower(), "") if eql.owner_id else ""
        values = payload.source_values(
            selectors.eql_facts(eql),
            owner_crm_id=owner_id,
            stages=stages,
            currency=settings.REPORTING_CURRENCY,
            app_base_url=settings.APP_BASE_URL,
            kind=connection.kind,
            now=now,
        )
        if (
            connection.kind == payload.HUBSPOT
            and connection.object_type == "deals"
            and connection.hubspot_pipeline
        ):
            values["pipeline"] = connection.hubspot_pipeline
        # An owner someone changed in the CRM is the CRM's now: shown on the EQL page, not written back.
        skip = [owner_field] if link and link.crm_owner_id and owner_field else []
        rendered = payload.render(connection.upsert_key, rules, values, skip=skip)
        if (
            rendered.problem is None
            and eql.owner_id
            and owner_field
            and not owner_id
            and owner_field not in skip
        ):
            rendered = payload.Rendered(
                key=rendered.key,
                problem=(
                    "OWNER_NOT_IN_CRM",
                    f"{owner_field}: no active {connection.get_kind_display()} user with the email "
                    f"{eql.owner.email}",
                ),
            )
        digest = payload.payload_hash(rendered.fields) if rendered.problem is None else ""
        if rendered.problem is None and link and link.crm_id and link.payload_hash == digest:
            summary.unchanged += 1
            continue
        pending.append(_Pending(eql=eql, link=link, rendered=rendered, digest=digest, owner_id=owner_id))
    if dry_run:
        summary.payloads = [
            {"eql_id": p.eql.pk, "fields": p.rendered.fields}
            if p.rendered.problem is None
            else {"eql_id": p.eql.pk, "problem": f"{p.rendered.problem[0]}: {p.rendered.problem[1]}"}
            for p in pending
        ]
        summary.written = sum(1 for p in pending if p.rendered.problem is None)
        summary.rejected = len(pending) - summary.written
        return
    refused = [p for p in pending if p.rendered.problem is not None]
    for p in refused:
        code, message = p.rendered.problem
        _reject(connection, run, p.eql, code, message, (message.split(":")[0],), now)
    summary.rejected += len(refused)
    sendable = _claim(connection, run, [p for p in pending if p.rendered.problem is None], now)
    CrmSyncRun.objects.filter(pk=run.pk).update(to_write=len(sendable))
    if not sendable:
        return
    if connection.kind == payload.SALESFORCE and len(sendable) >= connection.bulk_threshold:
        _apply(connection, run, summary, client, sendable, client.bulk_upsert(_records(sendable)), now)
        return
    done = 0
    for start in range(0, len(sendable), client.batch_size):
        batch = sendable[start : start + client.batch_size]
        _send_splitting(connection, run, summary, client, batch, now)
        done += len(batch)
        CrmSyncRun.objects.filter(pk=run.pk).update(written=summary.written, rejected=summary.rejected)
        if progress:
            progress(done, len(sendable))


def _records(items: Sequence[_Pending]) -> list[dict]:
    return [p.rendered.fields for p in items]


def _send_splitting(connection, run, summary, client, batch: list[_Pending], now) -> None:
    """Send one batch; a batch refused as a whole is split in halves until the bad record is alone."""
    try:
        results = client.upsert(_records(batch))
    except clients.CrmBatchFailed as exc:
        if len(batch) == 1:
            _reject(connection, run, batch[0].eql, exc.code, str(exc), (), now)
            summary.rejected += 1
            return
        middle = len(batch) // 2
        _send_splitting(connection, run, summary, client, batch[:middle], now)
        _send_splitting(connection, run, summary, client, batch[middle:], now)
        return
    _apply(connection, run, summary, client, batch, results, now)


def _claim(connection: CrmConnection, run: CrmSyncRun, items: list[_Pending], now) -> list[_Pending]:
    """Take the EQLs this run will send; one another run is sending are left to it."""
    if not items:
        return []
    missing = [p for p in items if p.link is None]
    if missing:
        # ignore_conflicts: another run may have created some a moment ago; read them all back.
        CrmLink.objects.bulk_create(
            [CrmLink(connection=connection, eql=p.eql) for p in missing],
            batch_size=500,
            ignore_conflicts=True,
        )
        links: dict[int, CrmLink] = {}
        for chunk in _chunks([p.eql.pk for p in missing]):
            links.update(
                (link.eql_id, link)
                for link in CrmLink.objects.filter(connection=connection, eql_id__in=chunk)
            )
        for p in missing:
            p.link = links[p.eql.pk]
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    until = now + dt.timedelta(minutes=CLAIM_MINUTES)
    for chunk in _chunks([p.link.pk for p in items]):
        # One UPDATE per chunk: a row another run holds does not match ``free`` and stays its own.
        CrmLink.objects.filter(pk__in=chunk).filter(free).update(claim_run=run.pk, claimed_until=until)
    # What another run wrote in the meantime (its hash now matches) needs no second write.
    mine = dict(CrmLink.objects.filter(claim_run=run.pk).values_list("pk", "payload_hash"))
    return [p for p in items if p.link.pk in mine and mine[p.link.pk] != p.digest]


def _chunks(ids: Sequence[int], size: int = 900) -> list[Sequence[int]]:
    """Id lists short enough for any database's limit on query parameters (SQLite's included)."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _apply(connection, run, summary, client, items: Sequence[_Pending], results, now) -> None:
    """Record the CRM's answers for one request: links of the written records in one bulk update,
    their earlier rejects resolved, the refused ones logged."""
    by_key = {r.key: r for r in results}
    associate: list[tuple[str, str]] = []
    written: list[CrmLink] = []
    with transaction.atomic():
        for p in items:
            result = by_key.get(p.rendered.key)
            if result is None or not result.ok:
                code = result.code if result else "NO_RESULT"
                message = result.message if result else "the CRM returned no result for this record"
                _reject(connection, run, p.eql, code, message, result.fields if result else (), now)
                summary.rejected += 1
                continue
            link = p.link
            link.crm_id = result.crm_id or link.crm_id
            link.payload_hash = p.digest
            link.synced_at = now
            if p.owner_id:
                link.owner_written = p.owner_id
            link.claim_run = None
            link.claimed_until = None
            written.append(link)
            company = p.eql.account.crm_account_id
            if connection.kind == payload.HUBSPOT and company and link.company_associated != company:
                associate.append((link.crm_id, company))
        # One short UPDATE per record: Django's bulk_update builds a CASE per field and row, which costs
        # more than it saves at a few hundred rows (bench/crm_sync.py).
        for link in written:
            CrmLink.objects.filter(pk=link.pk).update(
                crm_id=link.crm_id,
                payload_hash=link.payload_hash,
                synced_at=now,
                owner_written=link.owner_written,
                claim_run=None,
                claimed_until=None,
            )
        for chunk in _chunks([link.eql_id for link in written]):
            CrmReject.objects.filter(
                connection=connection, eql_id__in=chunk, resolved_at__isnull=True
            ).update(resolved_at=now)
        summary.written += len(written)
    if associate:
        client.associate(associate)
        for crm_id, company in associate:
            CrmLink.objects.filter(connection=connection, crm_id=crm_id).update(company_associated=company)


def _reject(connection, run, eql: EQL, code: str, message: str, fields, now) -> None:
    """Log a refusal; one open reject per EQL and connection (a repeat refreshes it)."""
    open_reject = CrmReject.objects.filter(connection=connection, eql=eql, resolved_at__isnull=True).first()
    if open_reject and open_reject.code == code and open_reject.message == message:
        CrmReject.objects.filter(pk=open_reject.pk).update(run=run, created_at=now)
        return
    if open_reject:
        CrmReject.objects.filter(pk=open_reject.pk).update(resolved_at=now)
    CrmReject.objects.create(
        connection=connection,
        eql=eql,
        run=run,
        code=code[:64],
        message=message,
        fields=[f for f in fields if f],
        created_at=now,
    )


def _event_time(eql: EQL, close_date: dt.date | None, now: dt.datetime) -> dt.datetime:
    """The close date read back as a moment the lifecycle accepts: that day, never before the EQL
    was created nor after now."""
    if close_date is None:
        return now
    moment = timezone.make_aware(dt.datetime.combine(close_date, dt.time(12, 0)))
    return min(max(moment, eql.created_at), now)


def _read_back(connection, run, summary, client, rules, stages, now) -> None:
    read = _read_fields(rules)
    watermark = connection.watermark
    outcome_object = (connection.kind, connection.object_type) in payload.OUTCOME_OBJECTS
    user = None
    batch: list[clients.CrmRecord] = []

    def flush() -> None:
        nonlocal user
        links = selectors.links_by_key(connection, [r.key for r in batch])
        for record in batch:
            link = links.get(record.key)
            if link is None:
                continue
            link.crm_stage = record.stage
            link.crm_modified_at = record.modified
            if record.crm_id and not link.crm_id:
                link.crm_id = record.crm_id
            if record.owner_id and link.owner_written:
                link.crm_owner_id = "" if record.owner_id == link.owner_written else record.owner_id
            link.save(update_fields=["crm_stage", "crm_modified_at", "crm_id", "crm_owner_id"])
            outcome = payload.outcome_of(record.stage, stages) if outcome_object else None
            if outcome is None or not link.eql.is_open:
                continue
            user = user or sync_user(connection)
            if _close_from_crm(connection, run, link, record, outcome, user, now):
                summary.closed_from_crm += 1
        batch.clear()

    for record in client.changed_since(watermark, read):
        batch.append(record)
        if record.modified and record.modified > watermark:
            watermark = record.modified
        if len(batch) >= 500:
            flush()
    flush()
    if watermark != connection.watermark:
        CrmConnection.objects.filter(pk=connection.pk).update(watermark=watermark)
        connection.watermark = watermark


def _close_from_crm(connection, run, link: CrmLink, record: clients.CrmRecord, outcome, user, now) -> bool:
    eql = link.eql
    label = connection.get_kind_display()
    at = _event_time(eql, record.close_date, now)
    try:
        if outcome == lifecycle.WON:
            amount = record.amount if record.amount and record.amount > 0 else eql.estimated_expansion_arr
            eql_transition(
                eql_id=eql.pk,
                user=user,
                event=lifecycle.WON,
                at=at,
                expansion_arr=Decimal(amount).quantize(Decimal("0.01")),
                note=f"Closed won in {label} ({record.stage})",
                from_crm=True,
            )
        else:
            eql_transition(
                eql_id=eql.pk,
                user=user,
                event=lifecycle.LOST,
                at=at,
                reason=LOST_IN_CRM,
                note=f"Closed lost in {label} ({record.stage})",
                from_crm=True,
            )
    except (lifecycle.TransitionError, PermissionError) as exc:
        _reject(connection, run, eql, "READ_BACK_REFUSED", f"{label} says {record.stage}, but {exc}", (), now)
        return False
    CrmLink.objects.filter(pk=link.pk).update(closed_from_crm=True)
    return True


def crm_create_request(*, eql: EQL, connection: CrmConnection, user: User) -> SyncSummary:
    """ "Create in Salesforce/HubSpot" on the EQL page: mark the EQL wanted there and write it now."""
    if not lifecycle.can_act(actor_of(user), eql_view(eql)):
        raise PermissionError("you may not act on this EQL")
    if not eql.is_open:
        raise lifecycle.TransitionError("only an open EQL can be created in the CRM")
    problem = credentials_problem(connection)
    if problem:
        raise lifecycle.TransitionError(problem)
    link, _ = CrmLink.objects.get_or_create(connection=connection, eql=eql)
    if not link.requested:
        CrmLink.objects.filter(pk=link.pk).update(requested=True)
    return crm_sync(connection=connection, eql_ids=[eql.pk])


def crm_sync_all(*, name: str | None = None, dry_run: bool = False) -> dict[str, SyncSummary]:
    return {c.name: crm_sync(connection=c, dry_run=dry_run) for c in selectors.connections_enabled(name)}
