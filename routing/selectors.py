"""ORM reads for routing: rules as plain specs, people and their current load."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from expansion.models import EQL, OPEN_STATUSES, User
from expansion.records import eql_queryset
from routing.models import RoutingRule, SlaPolicy
from routing.rules import Person, RuleSpec, SlaSpec


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


def rule_specs() -> list[RuleSpec]:
    return [
        RuleSpec(
            name=r.name,
            route=r.route,
            csm_involvement_required=r.csm_involvement_required,
            when_watch_only=r.when_watch_only,
            when_self_serve_gate=r.when_self_serve_gate,
            when_expansion_type=r.when_expansion_type,
            when_priority=r.when_priority,
            when_segment=r.when_segment,
            when_plan_tier=r.when_plan_tier,
            estimate_comparison=r.estimate_comparison,
            estimate_value=None if r.estimate_value is None else float(r.estimate_value),
        )
        for r in RoutingRule.objects.filter(active=True)
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
