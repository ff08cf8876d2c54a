"""ORM reads for routing: rules as plain specs, people and their current load."""

from __future__ import annotations

from django.db.models import Count, Q

from expansion.models import OPEN_STATUSES, User
from routing.models import RoutingRule
from routing.rules import Person, RuleSpec, SlaPolicy


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


def sla_policy(policy) -> SlaPolicy:
    return SlaPolicy(
        high_hours=policy.sla_hours_high,
        medium_hours=policy.sla_hours_medium,
        csm_hours=policy.sla_hours_csm,
        review_window_hours=policy.review_window_hours,
    )
