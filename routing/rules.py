"""Pure routing: which path an EQL takes, and who owns it. No ORM, no settings.

Rules are evaluated in order and the first whose every set condition matches wins (domain.md,
"Routing"). Owner choice: the account's own AE/CSM when active and within capacity, else the
least-loaded active person of that role with capacity left, ties broken round robin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

ROUTE_AE = "ae"
ROUTE_CSM = "csm"
ROUTE_SELF_SERVE = "self_serve"
ROUTE_CSM_REVIEW = "csm_review"
#: AE and CSM both own it: the AE is the owner, the account's CSM co-owns it (both see it in their inbox),
#: CSM involvement is always required and a win needs the contribution split (co-owned).
ROUTE_JOINT = "joint"

#: Which role owns an EQL on each route (on ``joint`` the CSM is the co-owner).
OWNER_ROLE = {
    ROUTE_AE: "AE",
    ROUTE_CSM: "CSM",
    ROUTE_SELF_SERVE: "CSM",
    ROUTE_CSM_REVIEW: "CSM",
    ROUTE_JOINT: "AE",
}

#: The ownership motion of each route (seed 002/003 playbooks): who acts, and how.
MOTION_AE, MOTION_CSM, MOTION_JOINT, MOTION_SELF_SERVE = "ae", "csm", "joint", "self_serve"
MOTIONS = {
    ROUTE_AE: MOTION_AE,
    ROUTE_CSM: MOTION_CSM,
    ROUTE_CSM_REVIEW: MOTION_CSM,
    ROUTE_JOINT: MOTION_JOINT,
    # The templated message to the account's admin contact, the CSM owning the follow-up.
    ROUTE_SELF_SERVE: MOTION_SELF_SERVE,
}
#: Routes an AE works (a self-serve gate moves them to self-serve).
AE_LED_ROUTES = (ROUTE_AE, ROUTE_JOINT)


@dataclass(frozen=True)
class RouteFacts:
    """What routing may look at for one EQL."""

    estimate: float
    expansion_type: str
    priority: str
    segment: str
    plan_tier: str
    watch_only: bool
    self_serve_gate: bool
    primary_signal: str = ""


@dataclass(frozen=True)
class RuleSpec:
    name: str
    route: str
    csm_involvement_required: bool = False
    when_watch_only: bool | None = None
    when_self_serve_gate: bool | None = None
    when_expansion_type: str = ""
    when_priority: str = ""
    when_segment: str = ""
    when_plan_tier: str = ""
    when_signal: str = ""
    estimate_comparison: str = ""  # "gte" | "lt" | ""
    estimate_value: float | None = None


@dataclass(frozen=True)
class RouteDecision:
    route: str
    csm_involvement_required: bool
    rule: str

    @property
    def motion(self) -> str:
        """``ae``, ``csm``, ``joint`` or ``self_serve`` (``MOTIONS``)."""
        return MOTIONS.get(self.route, MOTION_CSM)


#: Used when no admin rule matches (rule 5 of the defaults is a catch-all, so only on a broken config).
FALLBACK = RouteDecision(ROUTE_CSM, False, "fallback: no rule matched")


def rule_matches(rule: RuleSpec, facts: RouteFacts) -> bool:
    """True when every condition the rule sets holds for these facts (unset conditions match anything)."""
    if rule.when_watch_only is not None and rule.when_watch_only != facts.watch_only:
        return False
    if rule.when_self_serve_gate is not None and rule.when_self_serve_gate != facts.self_serve_gate:
        return False
    for wanted, actual in (
        (rule.when_expansion_type, facts.expansion_type),
        (rule.when_priority, facts.priority),
        (rule.when_segment, facts.segment),
        (rule.when_plan_tier, facts.plan_tier),
        (rule.when_signal, facts.primary_signal),
    ):
        if wanted and wanted != actual:
            return False
    if rule.estimate_comparison and rule.estimate_value is not None:
        if rule.estimate_comparison == "gte" and not facts.estimate >= rule.estimate_value:
            return False
        if rule.estimate_comparison == "lt" and not facts.estimate < rule.estimate_value:
            return False
    return True


def decide_route(facts: RouteFacts, rules: Sequence[RuleSpec]) -> RouteDecision:
    """First matching rule wins. Watch-only EQLs never reach an AE, whatever a rule says; a self-serve
    gate never lets an EQL be AE-led (``ae`` or ``joint``); ``joint`` always requires the CSM."""
    for rule in rules:
        if rule_matches(rule, facts):
            involvement = rule.csm_involvement_required or rule.route == ROUTE_JOINT
            decision = RouteDecision(rule.route, involvement, rule.name)
            break
    else:
        decision = FALLBACK
    if facts.watch_only and decision.route != ROUTE_CSM_REVIEW:
        return RouteDecision(ROUTE_CSM_REVIEW, False, f"{decision.rule} (watch-only: CSM review)")
    if facts.self_serve_gate and decision.route in AE_LED_ROUTES:
        return RouteDecision(ROUTE_SELF_SERVE, False, f"{decision.rule} (self-serve gate: never AE-led)")
    return decision


@dataclass(frozen=True)
class Person:
    id: int
    active: bool
    capacity: int | None  # None = unlimited


@dataclass
class LoadBook:
    """Open-EQL counts per person and the round-robin cursor per role, updated as owners are chosen."""

    open_counts: dict[int, int]
    last_assigned: dict[str, int]

    def has_room(self, person: Person) -> bool:
        return person.active and (
            person.capacity is None or self.open_counts.get(person.id, 0) < person.capacity
        )

    def take(self, person: Person, role: str) -> None:
        self.open_counts[person.id] = self.open_counts.get(person.id, 0) + 1
        self.last_assigned[role] = person.id


def choose_owner(
    *, preferred: int | None, role: str, people: Mapping[int, Person], book: LoadBook
) -> int | None:
    """The preferred person when active with room; else least loaded with room, ties round robin.

    Round robin: among the tied, the first id after the role's last assigned id (wrapping).
    Returns None when nobody of that role has capacity (the EQL is created unassigned).
    """
    if preferred is not None and preferred in people and book.has_room(people[preferred]):
        book.take(people[preferred], role)
        return preferred
    candidates = [p for p in people.values() if book.has_room(p)]
    if not candidates:
        return None
    least = min(book.open_counts.get(p.id, 0) for p in candidates)
    tied = sorted(p.id for p in candidates if book.open_counts.get(p.id, 0) == least)
    last = book.last_assigned.get(role, 0)
    chosen = next((pid for pid in tied if pid > last), tied[0])
    book.take(people[chosen], role)
    return chosen


@dataclass(frozen=True)
class SlaSpec:
    """Response times and the CSM review window, in hours (RevOps edits them in admin: SLA policy).

    These defaults are the one source of the numbers: the SlaPolicy model takes its field defaults
    from here.
    """

    high_hours: int = 24
    medium_hours: int = 48
    csm_hours: int = 72
    review_window_hours: int = 24
    hold_escalation_hours: int = 48


@dataclass(frozen=True)
class Clock:
    sla_deadline: datetime
    review_window_ends_at: datetime | None


def sla_clock(*, route: str, priority: str, start: datetime, policy: SlaSpec) -> Clock:
    """SLA deadline from creation: AE (and joint) high 24h; AE medium 48h after a 24h CSM review window;
    csm, self-serve and CSM review items 72h (hours admin-editable)."""
    if route in AE_LED_ROUTES:
        if priority == "medium":
            window_end = start + timedelta(hours=policy.review_window_hours)
            return Clock(window_end + timedelta(hours=policy.medium_hours), window_end)
        return Clock(start + timedelta(hours=policy.high_hours), None)
    return Clock(start + timedelta(hours=policy.csm_hours), None)
