"""Reads for the CRM sync and the EQL page's CRM panel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import F, Prefetch, Q, QuerySet

from expansion.models import EQL
from expansion.statuses import OPEN as OPEN_STATUSES

from . import payload
from .models import CrmConnection, CrmLink, CrmReject


def connections_enabled(name: str | None = None) -> list[CrmConnection]:
    qs = CrmConnection.objects.filter(enabled=True).prefetch_related("fields", "stages")
    if name:
        qs = qs.filter(name=name)
    return list(qs.order_by("name"))


def field_rules(connection: CrmConnection) -> tuple[payload.FieldRule, ...]:
    return tuple(
        payload.FieldRule(crm_field=f.crm_field, source=f.source, required=f.required)
        for f in connection.fields.all()
    )


def stage_map(connection: CrmConnection) -> dict[str, str]:
    return {s.eql_status: s.crm_stage for s in connection.stages.all()}


def eqls_to_sync(connection: CrmConnection, eql_ids: Sequence[int] | None = None) -> QuerySet[EQL]:
    """EQLs this connection writes: open ones on its auto-create routes or asked for, and any EQL it
    already wrote whose record changed since (a lifecycle step, a closure) or was refused last time.

    A closed EQL the CRM has in its final state is not read again; nothing closed before the
    connection existed is written."""
    linked = CrmLink.objects.filter(connection=connection)
    auto = Q(status__in=OPEN_STATUSES, route__in=connection.auto_create_routes or [])
    requested = Q(status__in=OPEN_STATUSES, crm_links__connection=connection, crm_links__requested=True)
    changed_since_written = Q(
        crm_links__connection=connection,
        crm_links__crm_id__gt="",
    ) & (
        Q(status__in=OPEN_STATUSES)
        | Q(crm_links__synced_at__isnull=True)
        | Q(updated_at__gte=F("crm_links__synced_at"))
    )
    refused = Q(crm_rejects__connection=connection, crm_rejects__resolved_at__isnull=True)
    qs = EQL.objects.filter(auto | requested | changed_since_written | refused)
    if eql_ids is not None:
        qs = qs.filter(pk__in=list(eql_ids))
    return (
        qs.distinct()
        .select_related("account", "owner", "csm")
        .prefetch_related(Prefetch("crm_links", queryset=linked, to_attr="links_here"))
        .order_by("pk")
    )


def eql_facts(eql: EQL) -> payload.EqlFacts:
    return payload.EqlFacts(
        eql_id=eql.pk,
        account_name=eql.account.name,
        crm_account_id=eql.account.crm_account_id,
        status=eql.status,
        score=eql.score,
        priority=eql.priority,
        route=eql.route,
        primary_signal=eql.primary_signal,
        triggered_signals=tuple(eql.triggered_signals or ()),
        owner_email=eql.owner.email if eql.owner_id else "",
        csm_email=eql.csm.email if eql.csm_id else "",
        contract_arr=eql.contract_arr,
        estimate=eql.estimated_expansion_arr,
        estimate_source=eql.estimate_source,
        won_arr=eql.won_arr,
        opening_angle=eql.opening_angle,
        discovery_questions=tuple(eql.discovery_questions or ()),
        created_at=eql.created_at,
        closed_at=eql.closed_at,
        sla_deadline=eql.sla_deadline,
    )


def links_by_key(connection: CrmConnection, keys: Iterable[str]) -> dict[str, CrmLink]:
    ids = [int(k) for k in keys if str(k).isdigit()]
    links = CrmLink.objects.filter(connection=connection, eql_id__in=ids).select_related("eql")
    return {str(link.eql_id): link for link in links}


def eql_crm_status(eql: EQL) -> list[dict]:
    """One line per enabled connection for the EQL page: linked (with its link), refused (the CRM's
    reason), waiting for the next sync, or not written on this route (a "Create" button)."""
    connections = list(CrmConnection.objects.filter(enabled=True).order_by("name"))
    if not connections:
        return []
    links = {link.connection_id: link for link in CrmLink.objects.filter(eql=eql)}
    rejects: dict[int, CrmReject] = {}
    for reject in CrmReject.objects.filter(eql=eql, resolved_at__isnull=True).order_by("created_at"):
        rejects[reject.connection_id] = reject
    out = []
    for c in connections:
        link = links.get(c.pk)
        reject = rejects.get(c.pk)
        auto = eql.route in (c.auto_create_routes or [])
        out.append(
            {
                "connection": c,
                "label": c.get_kind_display(),
                "crm_id": link.crm_id if link else "",
                "url": record_url(c, link.crm_id) if link and link.crm_id else "",
                "reject": reject,
                "waiting": not (link and link.crm_id) and not reject and (auto or (link and link.requested)),
                "can_create": not (link and link.crm_id)
                and not (link and link.requested)
                and not auto
                and eql.status in OPEN_STATUSES,
                "crm_owner_id": link.crm_owner_id if link else "",
                "crm_stage": link.crm_stage if link else "",
                "synced_at": link.synced_at if link else None,
            }
        )
    return out


def record_links(eql: EQL) -> list[tuple[str, str]]:
    """("Open in Salesforce", url) for each enabled connection that holds a record of this EQL."""
    links = (
        CrmLink.objects.filter(eql=eql, connection__enabled=True)
        .exclude(crm_id="")
        .select_related("connection")
    )
    out = []
    for link in links.order_by("connection__name"):
        url = record_url(link.connection, link.crm_id)
        if url:
            out.append((f"Open in {link.connection.get_kind_display()}", url))
    return out


def record_url(connection: CrmConnection, crm_id: str) -> str:
    """Where a user opens the record, from configuration alone (no call to the CRM)."""
    from django.conf import settings

    if not crm_id:
        return ""
    if connection.kind == payload.SALESFORCE:
        base = settings.SALESFORCE_INSTANCE_URL or (
            settings.SALESFORCE_DOMAIN
            if settings.SALESFORCE_DOMAIN.startswith("http")
            else f"https://{settings.SALESFORCE_DOMAIN}.salesforce.com"
            if settings.SALESFORCE_DOMAIN
            else ""
        )
        return f"{base.rstrip('/')}/lightning/r/{connection.object_type}/{crm_id}/view" if base else ""
    if not settings.HUBSPOT_PORTAL_ID:
        return ""
    from .clients import HUBSPOT_OBJECT_TYPE_IDS

    type_id = HUBSPOT_OBJECT_TYPE_IDS.get(connection.object_type, connection.object_type)
    return f"{settings.HUBSPOT_APP_URL}/contacts/{settings.HUBSPOT_PORTAL_ID}/record/{type_id}/{crm_id}"
