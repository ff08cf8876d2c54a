"""ORM reads for routing: rules as plain specs, people and their current load."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from expansion.models import EQL, OPEN_STATUSES, User
from expansion.records import eql_queryset
from routing import stage_sla
from routing.models import RoutingRule, SlaPolicy, StageSla
from routing.rules import ROUTE_CSM_REVIEW, Person, RouteFacts, RuleSpec, SlaSpec
from routing.stage_sla import StageSlaSpec


def eqls_visible(*, user: User) -> QuerySet[EQL]:
    """The one rule for who sees which EQL (inbox, API, exports, Slack), as a queryset of records.

    RevOps, Finance (read-only) and superusers see every EQL. Everyone else sees the EQLs they own
    and those on accounts they are the CSM of; a Manager also sees the EQLs of the people who report
    to them and the unassigned ones, so nothing falls between owners.
    """
    qs = eql_queryset()
    if user.is_superuser or user.role in ("RevOps", "Finance"):
        return qs
    mine = Q(owner=user) | Q(csm=user)
    if user.role == "Manager":
        return qs.filter(mine | Q(owner__manager=user) | Q(owner__isnull=True))
    return qs.filter(mine)


def rule_spec(r: RoutingRule) -> RuleSpec:
    """One rule (saved or an unsaved admin edit) as the pure rules read it."""
    return RuleSpec(
        name=r.name,
        route=r.route,
        csm_involvement_required=r.csm_involvement_required,
        when_watch_only=r.when_watch_only,
        when_self_serve_gate=r.when_self_serve_gate,
        when_expansion_type=r.when_expansion_type,
        when_priority=r.when_priority,
        when_segment=r.when_segment,
        when_plan_tier=r.when_plan_tier,
        when_signal=r.when_signal,
        estimate_comparison=r.estimate_comparison,
        estimate_value=None if r.estimate_value is None else float(r.estimate_value),
    )


def rule_specs() -> list[RuleSpec]:
    return [rule_spec(r) for r in RoutingRule.objects.filter(active=True)]


def rule_specs_with(edited: RoutingRule) -> list[RuleSpec]:
    """The active rules in evaluation order with ``edited`` (an unsaved admin edit, maybe new) in
    place of its saved row: left out when inactive, placed by its order (ties: saved rows first)."""
    rows = [r for r in RoutingRule.objects.filter(active=True) if r.pk != edited.pk or edited.pk is None]
    if edited.active:
        rows.append(edited)
    rows.sort(key=lambda r: (r.order, r.pk is None, r.pk or 0))
    return [rule_spec(r) for r in rows]


@dataclass(frozen=True)
class RoutedEql:
    """A stored EQL's routing facts as the rules see them, and the route it was given."""

    pk: int
    account: str
    route: str
    facts: RouteFacts


def eqls_route_facts(*, since: dt.datetime) -> list[RoutedEql]:
    """EQLs created since ``since`` with the facts routing decided on (one query).

    Watch-only is what the scoring pass stored as a CSM review item (only watch signals fired).
    """
    rows = (
        EQL.objects.filter(created_at__gte=since)
        .order_by("-created_at", "-pk")
        .values_list(
            "pk",
            "account__name",
            "route",
            "estimated_expansion_arr",
            "expansion_type",
            "priority",
            "account__segment",
            "account__plan_tier",
            "self_serve_gate",
            "primary_signal",
        )
    )
    return [
        RoutedEql(
            pk=pk,
            account=name,
            route=route,
            facts=RouteFacts(
                estimate=float(estimate or 0),
                expansion_type=expansion_type,
                priority=priority,
                segment=segment or "",
                plan_tier=plan_tier or "",
                watch_only=route == ROUTE_CSM_REVIEW,
                self_serve_gate=self_serve,
                primary_signal=primary or "",
            ),
        )
        for (
            pk,
            name,
            route,
            estimate,
            expansion_type,
            priority,
            segment,
            plan_tier,
            self_serve,
            primary,
        ) in rows
    ]


def people_by_role(role: str) -> dict[int, Person]:
    return {
        pk: Person(id=pk, active=active, capacity=capacity)
        for pk, active, capacity in User.objects.filter(role=role).values_list("pk", "is_active", "capacity")
    }


def open_counts() -> dict[int, int]:
    """Open EQLs per owner (one grouped query)."""
    rows = (
        User.objects.filter(role__in=["AE", "CSM"])
        .annotate(n=Count("owned_eqls", filter=Q(owned_eqls__status__in=OPEN_STATUSES)))
        .values_list("pk", "n")
    )
    return dict(rows)


def sla_policy_load() -> SlaPolicy:
    """The one SLA policy row (created with the defaults when missing)."""
    policy = SlaPolicy.objects.order_by("pk").first()
    return policy if policy is not None else SlaPolicy.objects.create()


def sla_spec() -> SlaSpec:
    """The SLA policy as the pure rules read it."""
    policy = sla_policy_load()
    return SlaSpec(
        high_hours=policy.sla_hours_high,
        medium_hours=policy.sla_hours_medium,
        csm_hours=policy.sla_hours_csm,
        review_window_hours=policy.review_window_hours,
        hold_escalation_hours=policy.hold_escalation_hours,
    )


def stage_sla_specs() -> dict[str, StageSlaSpec]:
    """The active stage SLAs by status, as the pure stage rules read them (1 query)."""
    return {
        row.status: StageSlaSpec(row.status, business_days=row.business_days, hours=row.hours)
        for row in StageSla.objects.filter(active=True)
    }


def stage_entered(eql: EQL) -> dt.datetime | None:
    """When ``eql`` entered its current status: the recorded change, else (still new) its assignment,
    else its creation."""
    return eql.stage_entered_at or eql.assigned_at or eql.created_at


def eql_stage_clock(
    eql: EQL, *, specs: dict[str, StageSlaSpec], now: dt.datetime
) -> stage_sla.StageClock | None:
    """``eql``'s stage clock at ``now`` in its account's time zone (the site's when blank; no query when
    the account is loaded)."""
    return stage_sla.stage_clock(
        status=eql.status,
        entered_at=stage_entered(eql),
        now=now,
        specs=specs,
        tz=stage_sla.zone(eql.account.timezone, settings.TIME_ZONE),
    )


def stage_breach_counts(
    *, owner_ids: list[int], now: dt.datetime, specs: dict[str, StageSlaSpec] | None = None
) -> dict[int | None, dict[str, int]]:
    """Open EQLs (CSM review items left out) of these owners past their stage SLA, per owner and status
    (2 queries: the stage SLAs and the EQLs)."""
    specs = stage_sla_specs() if specs is None else specs
    if not specs or not owner_ids:
        return {}
    rows = (
        EQL.objects.order_by()
        .filter(owner_id__in=owner_ids, status__in=list(specs))
        .exclude(route=ROUTE_CSM_REVIEW)
        .values_list(
            "owner_id", "status", "stage_entered_at", "assigned_at", "created_at", "account__timezone"
        )
    )
    return stage_sla.breach_counts(
        [
            stage_sla.StageRow(owner, status, entered or assigned or created, tz or "")
            for owner, status, entered, assigned, created, tz in rows
        ],
        specs=specs,
        now=now,
        default_tz=settings.TIME_ZONE,
    )
