"""Reads for the EQL inbox pages: the queue, one EQL with its context, notifications.

Selectors own ``select_related``/``only``: every function here runs a fixed number of queries,
whatever the number of EQLs, activities or snapshots (the view tests pin the totals). The access
rule is ``routing.selectors.eqls_visible``; the lifecycle rules are ``routing.lifecycle``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.utils import timezone

from expansion.models import CLOSED_STATUSES, EQL, OPEN_STATUSES, Account, Activity, UsageSnapshot, User
from routing import lifecycle
from routing.lifecycle import TransitionError
from routing.models import Notification, ReasonCode
from routing.rules import ROUTE_CSM_REVIEW
from routing.selectors import eqls_visible
from routing.services import actor_of, eql_view
from scoring.config import MODULE_WILDCARD
from scoring.models import SignalDefinition

#: Rows per queue page.
QUEUE_PAGE_SIZE = 25
#: Days of the primary metric drawn in the EQL page's sparkline.
SPARKLINE_DAYS = 90
#: Activities listed on the EQL page (newest first); older ones are summarised, not loaded.
ACTIVITY_LIMIT = 100
#: Notifications listed in the header panel.
NOTIFICATION_LIMIT = 10

#: Every action the inbox can offer, in the order buttons appear.
ACTION_EVENTS = (
    *lifecycle.REVIEW_EVENTS,
    "csm_release",
    "csm_hold",
    lifecycle.CONTACTED,
    lifecycle.CALL_BOOKED,
    lifecycle.PROPOSAL_SENT,
    lifecycle.WON,
    lifecycle.LOST,
    lifecycle.DECLINED,
    "note",
)
#: One-click actions offered on a queue row (no form fields needed).
QUICK_EVENTS = (lifecycle.CONTACTED, lifecycle.CALL_BOOKED)

STATUS_FILTERS = {
    "open": OPEN_STATUSES,
    "closed": CLOSED_STATUSES,
    "all": None,
}


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to (from the filter form; empty means no filter)."""

    status: str = "open"
    route: str = ""
    priority: str = ""
    signal: str = ""
    overdue: bool = False
    q: str = ""
    #: ``""`` anyone, ``UNASSIGNED`` nobody, else an owner's id (the form offers ``owner_choices``).
    owner: str = ""
    #: A key of ``SORTS``; ``""`` is the default order.
    sort: str = ""


#: The owner filter's value for EQLs nobody owns.
UNASSIGNED = "none"
#: Queue orders: the default separates EQLs tied at score 100 (the score caps the points at 100) by
#: the uncapped points, then the estimate, then age (older first); pk keeps pages stable.
DEFAULT_ORDER = ("-score", "-points_total", "-estimated_expansion_arr", "created_at", "pk")
SORTS = {
    "": ("Score", DEFAULT_ORDER),
    "sla": ("SLA deadline", (F("sla_deadline").asc(nulls_last=True), *DEFAULT_ORDER)),
    "owner": ("Owner", (F("owner__name").asc(nulls_last=True), "owner__email", *DEFAULT_ORDER)),
}


def sees_owners(user: User) -> bool:
    """Whether the queue shows ``user`` an Owner column, filter and sort (Managers, RevOps, Finance):
    an AE or CSM sees their own queue."""
    return user.is_superuser or user.role in ("Manager", "RevOps", "Finance")


def owner_choices(user: User) -> list[tuple[str, str]]:
    """The owners ``user`` may filter the queue by: a Manager their reports and "Unassigned", RevOps
    and Finance every AE, CSM and Manager (1 query; none for an AE or CSM)."""
    if not sees_owners(user):
        return []
    people = User.objects.filter(role__in=("AE", "CSM", "Manager")).order_by("name", "email")
    if not (user.is_superuser or user.role in ("RevOps", "Finance")):
        people = people.filter(manager=user)
    return [(str(pk), name or email) for pk, name, email in people.values_list("pk", "name", "email")] + [
        (UNASSIGNED, "Unassigned")
    ]


def signal_catalog() -> dict[str, SignalDefinition]:
    """Every signal definition by key (1 query; a handful of rows RevOps edits in admin)."""
    return {s.key: s for s in SignalDefinition.objects.order_by("order", "key")}


def queue(user: User, filters: QueueFilters, *, now: dt.datetime | None = None) -> QuerySet[EQL]:
    """The EQLs ``user`` may see, narrowed by ``filters``, in the order ``filters.sort`` names: by
    default score desc, then uncapped points, estimate and age (older first).

    Lazy and narrow on purpose: counting and ordering thousands of EQLs (RevOps sees them all) reads
    only the EQL table, without the joins and the last-CSM-activity subquery of the full record.
    Page it with ``queue_page`` and load the page's records with ``queue_rows``."""
    now = now or timezone.now()
    visible = eqls_visible(user=user)
    # The record's annotation joins every EQL to its account; the queue only needs the access rule.
    # Nobody filtered out (RevOps, Finance): the whole table; otherwise the ids eqls_visible allows.
    qs = EQL.objects.filter(pk__in=visible.values("pk")) if visible.query.has_filters() else EQL.objects.all()
    statuses = STATUS_FILTERS.get(filters.status, (filters.status,) if filters.status else OPEN_STATUSES)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    # CSM review items are not sales EQLs: they have their own list (``review_items``) unless asked for.
    qs = qs.filter(route=filters.route) if filters.route else qs.exclude(route=ROUTE_CSM_REVIEW)
    if not sees_owners(user):
        # A snoozed EQL leaves its owner's own queue until the snooze ends (routing.models.EqlSnooze).
        qs = qs.exclude(snooze__until__gt=now, snooze__woken_at__isnull=True)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.signal:
        qs = qs.filter(primary_signal=filters.signal)
    if filters.overdue:
        # lifecycle.sla_outcome's overdue: open, never contacted, deadline passed.
        qs = qs.filter(status__in=OPEN_STATUSES, first_contact_at__isnull=True, sla_deadline__lt=now)
    if filters.owner == UNASSIGNED:
        qs = qs.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        qs = qs.filter(owner_id=int(filters.owner))
    if filters.q:
        term = filters.q.strip()
        # Match accounts first, then their EQLs by the account index (cheaper than joining every EQL).
        accounts = Account.objects.filter(Q(name__icontains=term) | Q(account_id__icontains=term))
        qs = qs.filter(account_id__in=accounts.values("pk"))
    return qs.order_by(*SORTS.get(filters.sort, SORTS[""])[1])


def _page_number(value: object) -> int:
    try:
        return max(1, int(str(value)))
    except (TypeError, ValueError):
        return 1


#: The review list's status filter: open review items (to decide) or decided ones.
REVIEW_STATUSES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}
#: Review items per page.
REVIEW_PAGE_SIZE = 25


def review_items(user: User, *, status: str = "open") -> QuerySet[EQL]:
    """The CSM review items ``user`` decides or oversees, oldest first (the longest waiting on top).

    A CSM: the review items they own, and the unassigned ones on their accounts; a Manager, RevOps
    (and Finance, read-only): the ones ``eqls_visible`` shows them. Records with account, owner, CSM."""
    qs = eqls_visible(user=user).filter(route=ROUTE_CSM_REVIEW)
    qs = qs.filter(status__in=REVIEW_STATUSES.get(status, OPEN_STATUSES))
    if not (user.is_superuser or user.role in ("Manager", "RevOps", "Finance")):
        qs = qs.filter(Q(owner=user) | Q(owner__isnull=True, csm=user))
    if status == "closed":
        return qs.order_by("-closed_at", "-pk")
    return qs.order_by("created_at", "pk")


def dismiss_reasons() -> list[ReasonCode]:
    """The declined reasons a review item can be dismissed with (churn risk has its own action)."""
    return list(
        ReasonCode.objects.filter(kind=ReasonCode.Kind.DECLINED, active=True)
        .exclude(code=lifecycle.CHURN_RISK)
        .order_by("label")
    )


def queue_page(
    qs: QuerySet[EQL], number: object, *, per_page: int = QUEUE_PAGE_SIZE, one_query: bool = False
) -> Page:
    """One page of the ids of ``qs`` (a Django ``Page`` whose ``object_list`` is a list of ids).

    Two queries (count, then the page's ids), or with ``one_query`` a single one that carries the
    total as ``COUNT(*) OVER ()``. The window materialises every row, so it only pays when the
    filter itself is expensive and would otherwise run twice (account search: a LIKE over every
    account). A page past the end shows the last page; an invalid number means page 1."""
    paginator = Paginator(qs.values_list("pk", flat=True), per_page)
    number = _page_number(number)
    if one_query:
        start = (number - 1) * per_page
        window = qs.annotate(queue_total=Window(Count("pk"))).values_list("pk", "queue_total")
        rows = list(window[start : start + per_page])
        if rows or number == 1:
            paginator.count = rows[0][1] if rows else 0  # a cached_property: set, no COUNT query
            return Page([pk for pk, _ in rows], number, paginator)
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    return page


def queue_rows(user: User, pks: Iterable[int]) -> list[EQL]:
    """The full records of one queue page, in the order of ``pks`` (1 query: account, owner, CSM)."""
    pks = list(pks)
    rows = eqls_visible(user=user).filter(pk__in=pks).in_bulk()
    return [rows[pk] for pk in pks if pk in rows]


def eql_for(user: User, pk: int) -> EQL:
    """One EQL ``user`` may see, with account, owner, CSM and last CSM activity (1 query).

    Raises ``EQL.DoesNotExist`` when it does not exist or the user may not see it."""
    return eqls_visible(user=user).get(pk=pk)


def available_actions(user: User, eql: EQL) -> tuple[str, ...]:
    """The events ``user`` may send to ``eql`` now, by the same rules the service enforces.

    Each candidate is checked with ``lifecycle.check_event`` and placeholder inputs (a note, a
    reason, an amount), so only the state and the person decide; Finance gets none."""
    actor = actor_of(user)
    view = eql_view(eql)
    if not lifecycle.can_act(actor, view):
        return ()
    allowed = []
    for event in ACTION_EVENTS:
        try:
            lifecycle.check_event(event=event, actor=actor, eql=view, reason="-", note="-", amount=1.0)
        except TransitionError:
            continue
        allowed.append(event)
    return tuple(allowed)


def owner_logs_sales(user: User, eql: EQL) -> bool:
    """Whether ``user`` may act on the open ``eql`` but leaves its sales steps to the owner (the
    account's CSM on an AE-owned EQL): the page says so instead of showing no sales buttons silently."""
    actor, view = actor_of(user), eql_view(eql)
    return (
        eql.status in OPEN_STATUSES
        and eql.owner_id is not None
        and lifecycle.can_act(actor, view)
        and not lifecycle.may_log_sales(actor, view)
    )


def quick_actions(user: User, eql: EQL) -> tuple[str, ...]:
    """The one-click outreach events for a queue row (no extra queries)."""
    return tuple(e for e in available_actions(user, eql) if e in QUICK_EVENTS)


def reason_codes() -> dict[str, list[ReasonCode]]:
    """Active reason codes by kind (``declined``, ``lost``) in admin order (1 query)."""
    out: dict[str, list[ReasonCode]] = {ReasonCode.Kind.DECLINED: [], ReasonCode.Kind.LOST: []}
    for code in ReasonCode.objects.filter(active=True).order_by("kind", "label"):
        out.setdefault(code.kind, []).append(code)
    return out


def account_activities(eql: EQL, *, limit: int = ACTIVITY_LIMIT) -> tuple[list[Activity], bool]:
    """The account's activities (imported and EQL events), newest first, with their actor (1 query).

    Returns the first ``limit`` and whether older ones exist."""
    rows = list(
        Activity.objects.filter(account_id=eql.account_id)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def past_eqls(eql: EQL) -> list[EQL]:
    """The account's other EQLs, newest first, with their outcome (1 query)."""
    return list(
        EQL.objects.filter(account_id=eql.account_id)
        .exclude(pk=eql.pk)
        .select_related("owner")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class Series:
    """The primary metric of an EQL over the sparkline window, ready for a chart."""

    label: str
    dates: list[dt.date] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    percent: bool = False
    threshold: float | None = None


def primary_metric(eql: EQL, signal: SignalDefinition | None) -> tuple[str, str]:
    """The metric name the primary signal reads for this EQL, and the metric it divides by.

    A module family (``gated_feature_views_14d:*``) reads the EQL's target module."""
    if signal is None:
        return "", ""
    metric = signal.metric
    if metric.endswith(MODULE_WILDCARD):
        metric = metric[: -len(MODULE_WILDCARD)] + ":" + (eql.target or "")
    return metric, signal.denominator_metric


def metric_series(
    eql: EQL,
    signal: SignalDefinition | None,
    *,
    end: dt.date | None = None,
    days: int = SPARKLINE_DAYS,
) -> Series | None:
    """Daily values of the primary signal's metric for the last ``days`` days up to ``end`` (1 query).

    Divided by the denominator metric (same day) or account field when the signal has one, so the
    line is on the threshold's scale; value signals carry their threshold. ``None`` when there is
    no primary signal definition."""
    metric, denominator = primary_metric(eql, signal)
    if not metric:
        return None
    end = end or timezone.localdate()
    start = end - dt.timedelta(days=days - 1)
    names = [metric] + ([denominator] if denominator else [])
    rows = (
        UsageSnapshot.objects.filter(
            account_id=eql.account_id, metric__name__in=names, date__gte=start, date__lte=end
        )
        .order_by("date")
        .values_list("metric__name", "date", "value")
    )
    numerators: dict[dt.date, float] = {}
    denominators: dict[dt.date, float] = {}
    for name, day, value in rows:
        (numerators if name == metric else denominators)[day] = value
    field_value = None
    if signal.denominator_field:
        field_value = float(getattr(eql.account, signal.denominator_field, 0) or 0)
    percent = bool(denominator or signal.denominator_field)
    dates, values = [], []
    for day in sorted(numerators):
        value = numerators[day]
        if denominator:
            bottom = denominators.get(day)
            if not bottom:
                continue
            value = value / bottom
        elif signal.denominator_field:
            if not field_value:
                continue
            value = value / field_value
        dates.append(day)
        values.append(value)
    threshold = signal.threshold if signal.compare == "value" else None
    return Series(label=signal.name, dates=dates, values=values, percent=percent, threshold=threshold)


def last_csm_activity(eql: EQL, activities: Iterable[Activity]) -> Activity | None:
    """The newest activity by the account's CSM among those loaded (no query)."""
    csm_id = eql.account.csm_id
    if not csm_id:
        return None
    return next((a for a in activities if a.actor_id == csm_id), None)


@dataclass(frozen=True)
class NotificationSummary:
    unread: int
    latest: list[Notification]


def notifications_for(user: User, *, limit: int = NOTIFICATION_LIMIT) -> NotificationSummary:
    """Unread count and the latest ``limit`` notifications of ``user`` (2 queries)."""
    mine = Notification.objects.filter(recipient=user)
    unread = mine.filter(read_at__isnull=True).count()
    latest = list(mine.only("id", "eql_id", "kind", "subject", "created_at", "read_at")[:limit])
    return NotificationSummary(unread=unread, latest=latest)
