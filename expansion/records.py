"""The EQL record of the contract (API, ``list_eqls --json``, webhooks): one shape everywhere."""

from __future__ import annotations

from django.db.models import Max, OuterRef, QuerySet, Subquery

from expansion.models import EQL, Activity


def eql_queryset() -> QuerySet[EQL]:
    """EQLs with everything the record needs in one query (account, owner, CSM, last CSM activity)."""
    last_csm = (
        Activity.objects.filter(account_id=OuterRef("account_id"), actor_id=OuterRef("account__csm_id"))
        .values("account_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    return EQL.objects.select_related("account", "owner", "csm").annotate(
        last_csm_activity=Subquery(last_csm)
    )


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def eql_record(eql: EQL) -> dict:
    return {
        "id": eql.pk,
        "account_id": eql.account.account_id,
        "account_name": eql.account.name,
        "status": eql.status,
        "score": eql.score,
        "primary_signal": eql.primary_signal,
        "triggered_signals": eql.triggered_signals,
        "route": eql.route,
        "owner_email": eql.owner.email if eql.owner_id else None,
        "csm_email": eql.csm.email if eql.csm_id else None,
        "csm_involvement_required": eql.csm_involvement_required,
        "contract_arr": float(eql.contract_arr),
        "estimated_expansion_arr": float(eql.estimated_expansion_arr),
        "estimate_source": eql.estimate_source,
        "opening_angle": eql.opening_angle,
        "last_csm_activity_at": _iso(getattr(eql, "last_csm_activity", None)),
        "created_at": _iso(eql.created_at),
        "updated_at": _iso(eql.updated_at),
        "sla_deadline": _iso(eql.sla_deadline),
        "review_window_ends_at": _iso(eql.review_window_ends_at),
        "closed_at": _iso(eql.closed_at),
    }
