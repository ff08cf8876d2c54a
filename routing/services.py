"""Routing write-side: routing and assigning new EQLs, announcing them (notifications, webhooks) and
the EQL lifecycle."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from expansion.formatting import moment, money
from expansion.models import EQL, OPEN_STATUSES, Activity, ReviewState, User
from routing import lifecycle, preferences, rules, selectors, self_serve, tasks, webhooks
from routing.attribution import services as attribution_services
from routing.digest import DigestRow, compose_digest, summarise
from routing.lifecycle import Actor, EqlView, TransitionError
from routing.models import (
    Delivery,
    EqlSnooze,
    Notification,
    NotificationPreference,
    ReasonCode,
    RoundRobinCursor,
)

logger = logging.getLogger(__name__)

#: An event may be back-dated, but not dated in the future beyond this clock skew.
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class RoutingRequest:
    """One EQL to route: what the rules look at, and the account's AE and CSM."""

    facts: rules.RouteFacts
    ae_id: int | None
    csm_id: int | None
    #: A route a person chose (a CSM promoting a review item to the AE), used instead of the rules;
    #: its ``chosen_rule`` is recorded as the rule that routed it.
    chosen_route: str = ""
    chosen_rule: str = ""


@dataclass(frozen=True)
class Assignment:
    """Where an EQL goes: route, owner, CSM and its SLA clock, ready to set on the record."""

    route: str
    csm_involvement_required: bool
    rule: str
    owner_id: int | None
    csm_id: int | None
    assigned_at: dt.datetime | None
    sla_deadline: dt.datetime
    review_window_ends_at: dt.datetime | None
    review_state: str


ROUND_ROBIN_ROLES = ("AE", "CSM")


def _cursors_lock() -> dict[str, RoundRobinCursor]:
    def locked() -> dict[str, RoundRobinCursor]:
        qs = RoundRobinCursor.objects.select_for_update().filter(role__in=ROUND_ROBIN_ROLES).order_by("role")
        return {c.role: c for c in qs}

    cursors = locked()
    if len(cursors) < len(ROUND_ROBIN_ROLES):
        # First routing ever: chunks running in parallel may both get here; the loser's insert is a no-op.
        RoundRobinCursor.objects.bulk_create(
            [RoundRobinCursor(role=role) for role in ROUND_ROBIN_ROLES if role not in cursors],
            ignore_conflicts=True,
        )
        cursors = locked()
    return cursors


@transaction.atomic
def eqls_assign(*, requests: Sequence[RoutingRequest], at: dt.datetime) -> list[Assignment]:
    """Route a batch of new (or upgraded) EQLs and choose their owners, in request order.

    Holds the round-robin cursors locked until the caller's transaction ends, so parallel scoring
    chunks take turns and capacity counts stay right; an empty batch locks nothing. The first
    matching routing rule decides the route (``routing.rules.decide_route``); the account's AE or CSM
    owns it when active with room, else the least loaded, ties round robin; the SLA clock starts ``at``.
    """
    if not requests:
        return []
    rule_specs = selectors.rule_specs()
    sla = selectors.sla_spec()
    cursors = _cursors_lock()
    people = {role: selectors.people_by_role(role) for role in ROUND_ROBIN_ROLES}
    book = rules.LoadBook(
        open_counts=selectors.open_counts(),
        last_assigned={role: c.last_user_id for role, c in cursors.items()},
    )
    out = []
    for request in requests:
        if request.chosen_route:
            decision = rules.RouteDecision(
                request.chosen_route, True, request.chosen_rule or "chosen by a person"
            )
        else:
            decision = rules.decide_route(request.facts, rule_specs)
        role = rules.OWNER_ROLE[decision.route]
        owner = rules.choose_owner(
            preferred=request.ae_id if role == "AE" else request.csm_id,
            role=role,
            people=people[role],
            book=book,
        )
        clock = rules.sla_clock(route=decision.route, priority=request.facts.priority, start=at, policy=sla)
        out.append(
            Assignment(
                route=decision.route,
                csm_involvement_required=decision.csm_involvement_required,
                rule=decision.rule,
                owner_id=owner,
                csm_id=request.csm_id,
                assigned_at=at if owner else None,
                sla_deadline=clock.sla_deadline,
                review_window_ends_at=clock.review_window_ends_at,
                review_state=ReviewState.PENDING if clock.review_window_ends_at else ReviewState.NONE,
            )
        )
    for role, cursor in cursors.items():
        last = book.last_assigned.get(role, 0)
        if cursor.last_user_id != last:
            cursor.last_user_id = last
            cursor.save(update_fields=["last_user_id"])
    return out


def assignment_apply(*, eql: EQL, assignment: Assignment) -> None:
    """Set an assignment on an EQL record (the caller saves it); its evaluation notes the rule."""
    eql.route = assignment.route
    eql.csm_involvement_required = assignment.csm_involvement_required
    eql.owner_id = assignment.owner_id
    eql.unassigned = assignment.owner_id is None
    eql.csm_id = assignment.csm_id
    eql.assigned_at = assignment.assigned_at
    eql.sla_deadline = assignment.sla_deadline
    eql.review_window_ends_at = assignment.review_window_ends_at
    eql.review_state = assignment.review_state
    eql.evaluation = {**(eql.evaluation or {}), "route_rule": assignment.rule}


def actor_of(user: User) -> Actor:
    return Actor(id=user.pk, role=user.role, is_superuser=user.is_superuser, reports_to=user.manager_id)


def eql_view(eql: EQL) -> EqlView:
    owner_manager = eql.owner.manager_id if eql.owner_id and eql.owner else None
    return EqlView(
        status=eql.status,
        route=eql.route,
        owner_id=eql.owner_id,
        csm_id=eql.csm_id,
        owner_manager_id=owner_manager,
        review_state=eql.review_state,
        self_serve_gate=eql.self_serve_gate,
    )


def _signal_lines(eql: EQL) -> str:
    return "\n".join(
        f"- {t['signal']}: {t['value']} (threshold {t['threshold']}, {t['points']} pts)"
        for t in eql.triggered_signals
    )


def notification_content(eql: EQL, kind: str) -> tuple[str, str]:
    """Subject and body: why now, what it is worth, what to say. Same text for owner and CSM.

    Amounts in the reporting currency and the deadline in the configured time zone, in the app's one
    format (``expansion.formatting``)."""
    account = eql.account

    def cash(value) -> str:
        return money(value, currency=settings.REPORTING_CURRENCY)

    title = {
        Notification.Kind.NEW_EQL: "New EQL",
        Notification.Kind.EQL_CHANGED: "EQL upgraded",
        Notification.Kind.HOLD: "CSM hold",
        Notification.Kind.RELEASE: "CSM released",
        Notification.Kind.ESCALATION: "Hold escalated",
        Notification.Kind.SLA_WARNING: "SLA warning",
        Notification.Kind.SNOOZE_ENDED: "Snooze ended",
    }.get(kind, "EQL")
    subject = f"{title}: {account.name} · {eql.primary_signal.replace('_', ' ')} · score {eql.score}"
    body = (
        f"{account.name} ({account.account_id}), route {eql.get_route_display()}\n"
        f"Why now:\n{_signal_lines(eql)}\n"
        f"Worth: contract ARR {cash(eql.contract_arr)}, "
        f"estimated expansion {cash(eql.estimated_expansion_arr)}"
        f" ({eql.estimate_source or 'n/a'})\n"
        f"Opening angle: {eql.opening_angle}\n"
    )
    if eql.sla_deadline:
        body += f"SLA deadline: {moment(timezone.localtime(eql.sla_deadline))} ({settings.TIME_ZONE})\n"
    if eql.hold_note and kind in (Notification.Kind.HOLD, Notification.Kind.ESCALATION):
        body += f"CSM note: {eql.hold_note}\n"
    body += f"Open: {settings.APP_BASE_URL}/eqls/{eql.pk}/"
    return subject, body


def _recipients(eql: EQL, kind: str) -> list[int]:
    """Owner and CSM together; a CSM review item goes to the CSM alone; escalations to the manager."""
    ids = []
    if kind == Notification.Kind.ESCALATION:
        manager = eql.owner.manager_id if eql.owner_id else None
        return [manager] if manager else []
    if kind in (Notification.Kind.HOLD, Notification.Kind.SNOOZE_ENDED):
        return [eql.owner_id] if eql.owner_id else []
    for pk in (eql.owner_id, eql.csm_id):
        if pk and pk not in ids:
            ids.append(pk)
    return ids


def notify(*, eqls: Iterable[EQL], kind: str) -> list[Notification]:
    """Create the in-app notifications for every recipient at the same moment, then queue deliveries."""
    now = timezone.now()
    notes: list[Notification] = []
    for eql in eqls:
        subject, body = notification_content(eql, kind)
        for recipient in _recipients(eql, kind):
            notes.append(Notification(recipient_id=recipient, eql=eql, kind=kind, subject=subject, body=body))
    created = Notification.objects.bulk_create(notes)
    if created:
        # auto_now_add stamps each row with its own now(); owner and CSM must share one moment.
        Notification.objects.filter(pk__in=[n.pk for n in created]).update(created_at=now)
        for n in created:
            n.created_at = now
    _deliveries_queue(created)
    return created


def _deliveries_queue(notes: Sequence[Notification]) -> None:
    """Create each notification's deliveries (preferences, daily Slack cap, rule channels) and send
    them after commit: one robust callback per delivery, so a channel that fails (or a broker that
    refuses) stops neither the others nor the caller, whose transaction has committed."""
    deliveries = Delivery.objects.bulk_create(preferences.deliveries_plan(notes))
    for d in deliveries:
        if d.status == Delivery.Status.PENDING:
            transaction.on_commit(lambda pk=d.pk: tasks.deliver.delay(pk), robust=True)


def eqls_announce(
    *, created_ids: tuple[int, ...], changed_ids: tuple[int, ...], upgraded_ids: tuple[int, ...]
) -> None:
    """After a pass commits: notify owner and CSM of new and upgraded EQLs; webhooks for new and changed."""
    fresh = EQL.objects.filter(pk__in=[*created_ids, *upgraded_ids]).select_related("account", "owner")
    new = [e for e in fresh if e.pk in set(created_ids)]
    upgraded = [e for e in fresh if e.pk in set(upgraded_ids)]
    try:
        with transaction.atomic():
            notify(eqls=new, kind=Notification.Kind.NEW_EQL)
            notify(eqls=upgraded, kind=Notification.Kind.EQL_CHANGED)
        webhooks.webhooks_queue(
            eql_ids=[*created_ids, *changed_ids], event_for=dict.fromkeys(created_ids, "eql.created")
        )
        # The self-serve motion: the templated message to the account's admin contact.
        self_serve.self_serve_queue(eql_ids=[e.pk for e in fresh if e.route == rules.ROUTE_SELF_SERVE])
    except Exception:  # a notification failure must never undo or block EQL creation
        logger.exception("announcing EQLs failed; the EQLs are saved and will show in the inbox")


def _reason_codes(kind: str) -> tuple[str, ...]:
    return tuple(ReasonCode.objects.filter(kind=kind, active=True).values_list("code", flat=True))


@transaction.atomic
def eql_transition(
    *,
    eql_id: int,
    user: User,
    event: str,
    at: dt.datetime | None = None,
    note: str = "",
    reason: str = "",
    expansion_arr: Decimal | None = None,
    splits: list[dict] | None = None,
    until: dt.datetime | None = None,
    from_crm: bool = False,
) -> EQL:
    """Apply one lifecycle event (contract: POST /api/eqls/{id}/events/). Raises TransitionError or
    PermissionError and changes nothing when the event is not allowed. ``until``: a snooze's end;
    ``from_crm``: an outcome the CRM sync read back (``routing.crm``), which may close an EQL from any
    open state."""
    eql = EQL.objects.select_for_update(of=("self",)).select_related("account", "owner").get(pk=eql_id)
    actor = actor_of(user)
    view = eql_view(eql)
    if not lifecycle.can_act(actor, view):
        raise PermissionError("you may not act on this EQL")
    now = timezone.now()
    when = at or now
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when > now + MAX_FUTURE_SKEW:
        raise TransitionError("the event time is in the future")
    if when < eql.created_at:
        raise TransitionError("the event time is before the EQL was created")
    if event in (lifecycle.DECLINED, lifecycle.LOST):
        codes = _reason_codes(event)
    elif event == lifecycle.REVIEW_DISMISS:
        codes = tuple(c for c in _reason_codes(lifecycle.DECLINED) if c != lifecycle.CHURN_RISK)
    else:
        codes = ()
    if until is not None and timezone.is_naive(until):
        until = timezone.make_aware(until)
    lifecycle.check_event(
        event=event,
        actor=actor,
        eql=view,
        reason=reason,
        note=note,
        amount=None if expansion_arr is None else float(expansion_arr),
        reason_codes=codes,
        accepted=event == lifecycle.ACCEPT
        and Activity.objects.filter(eql=eql, event=lifecycle.ACCEPT).exists(),
        snooze_days=None if until is None else (until - now).total_seconds() / 86400,
        from_crm=from_crm,
    )
    if splits and event != lifecycle.WON:
        raise TransitionError("a contribution split is recorded only when the EQL is won")
    if event == lifecycle.WON:
        try:  # same transaction: a refused split refuses the whole event, nothing is written
            attribution_services.credit_record(
                eql=eql, amount=expansion_arr, closed_at=when, recorded_by=user, splits=splits, note=note
            )
        except attribution_services.SplitRefused as exc:
            raise TransitionError(str(exc)) from exc
    if event in lifecycle.STATUS_EVENTS:
        if eql.status != event:
            eql.stage_entered_at = when  # the stage SLA clock (routing.stage_sla) restarts
        eql.status = event
        if event in lifecycle.OUTREACH and eql.first_contact_at is None:
            # The first outreach (contact, call or proposal) meets the SLA, or misses it when late.
            eql.first_contact_at = when
            if eql.sla_deadline and when > eql.sla_deadline:
                eql.sla_breached = True
        if event in lifecycle.CLOSED:
            eql.closed_at = when
            eql.close_reason = reason
            if event == lifecycle.WON:
                eql.won_arr = expansion_arr
    elif event == lifecycle.REVIEW_PROMOTE:
        _review_promote(eql, when)
    elif event in (lifecycle.REVIEW_RISK, lifecycle.REVIEW_DISMISS):
        # Closed as declined, so the suppression window starts as after any close.
        reason = lifecycle.CHURN_RISK if event == lifecycle.REVIEW_RISK else reason
        eql.status = lifecycle.DECLINED
        eql.stage_entered_at = when
        eql.closed_at = when
        eql.close_reason = reason
    elif event == "csm_hold":
        eql.review_state = "held"
        eql.hold_note = note.strip()
        eql.held_at = when
    elif event == "csm_release":
        eql.review_state = "released"
        policy_hours = _medium_sla_hours()
        eql.review_window_ends_at = when
        eql.sla_deadline = when + dt.timedelta(hours=policy_hours)
    elif event == lifecycle.SNOOZE:
        EqlSnooze.objects.update_or_create(
            eql=eql, defaults={"until": until, "by": user, "created_at": now, "woken_at": None}
        )
        note = note or f"Snoozed until {until:%Y-%m-%d %H:%M %Z}"
    if event in lifecycle.STATUS_EVENTS or event in lifecycle.REVIEW_EVENTS:
        EqlSnooze.objects.filter(eql=eql, woken_at__isnull=True).delete()  # a status change ends a snooze
    eql.updated_at = now
    eql.save()
    Activity.objects.create(
        activity_id=f"eql-{eql.pk}-{uuid.uuid4().hex[:12]}",
        account=eql.account,
        occurred_at=when,
        type=lifecycle.ACTIVITY_TYPE.get(event, "note"),
        actor=user,
        actor_email=user.email,
        commercial=event in lifecycle.OUTREACH,
        eql=eql,
        event=event,
        reason=reason,
        amount=expansion_arr,
        note=note.strip(),
    )
    if event in ("csm_hold", "csm_release"):
        kind = Notification.Kind.HOLD if event == "csm_hold" else Notification.Kind.RELEASE
        notify(eqls=[eql], kind=kind)
    if event == lifecycle.REVIEW_PROMOTE:
        notify(eqls=[eql], kind=Notification.Kind.EQL_CHANGED)
    webhooks.webhooks_queue(eql_ids=[eql.pk], event_for={eql.pk: f"eql.{event}"})
    return eql


#: The rule recorded on an EQL a CSM promoted from review (evaluation["route_rule"]).
PROMOTED_RULE = "promoted from CSM review by the CSM"


def _review_promote(eql: EQL, when: dt.datetime) -> None:
    """Route a review item to the AE like an upgrade: the account's AE (or the least loaded one) owns
    it, with the CSM involved, and its SLA clock starts now; it is no longer a review item."""
    account = eql.account
    facts = rules.RouteFacts(
        estimate=float(eql.estimated_expansion_arr or 0),
        expansion_type=eql.expansion_type,
        priority=eql.priority,
        segment=account.segment or "",
        plan_tier=account.plan_tier or "",
        watch_only=False,
        self_serve_gate=eql.self_serve_gate,
        primary_signal=eql.primary_signal,
    )
    request = RoutingRequest(
        facts=facts,
        ae_id=account.ae_id,
        csm_id=eql.csm_id or account.csm_id,
        chosen_route=rules.ROUTE_AE,
        chosen_rule=PROMOTED_RULE,
    )
    (assignment,) = eqls_assign(requests=[request], at=when)
    assignment_apply(eql=eql, assignment=assignment)


def _medium_sla_hours() -> int:
    return selectors.sla_spec().medium_hours


def notify_people(*, role: str, kind: str, subject: str, body: str) -> list[Notification]:
    """An operational alert to every active person with a role (in-app, email, Slack when configured)."""
    recipients = list(User.objects.filter(role=role, is_active=True).values_list("pk", flat=True))
    recipients += list(
        User.objects.filter(is_superuser=True, is_active=True)
        .exclude(pk__in=recipients)
        .values_list("pk", flat=True)
    )
    created = Notification.objects.bulk_create(
        [Notification(recipient_id=pk, kind=kind, subject=subject, body=body) for pk in recipients]
    )
    _deliveries_queue(created)
    return created


def weekly_digests_send(*, now: dt.datetime | None = None) -> int:
    """One digest per active AE and CSM for the week that just ended; two queries, then bulk writes."""

    now = now or timezone.now()
    week_end = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=now.weekday())
    week_start = week_end - dt.timedelta(days=7)
    people = {u.pk: u for u in User.objects.filter(role__in=["AE", "CSM"], is_active=True)}
    rows: dict[int, list[DigestRow]] = {pk: [] for pk in people}
    qs = EQL.objects.filter(owner_id__in=list(people)).select_related("account", "csm")
    qs = qs.filter(
        Q(status__in=lifecycle.OPEN) | Q(closed_at__gte=week_start) | Q(created_at__gte=week_start)
    )
    for e in qs:
        rows[e.owner_id].append(
            DigestRow(
                account_name=e.account.name,
                status=e.status,
                score=e.score,
                primary_signal=e.primary_signal,
                estimate=e.estimated_expansion_arr,
                contract_arr=e.contract_arr,
                created_at=e.created_at,
                closed_at=e.closed_at,
                won_arr=e.won_arr,
                sla_breached=e.sla_breached,
                csm_name=e.csm.display_name if e.csm_id and e.csm else "",
            )
        )
    notes = []
    for pk, person in people.items():
        subject, body = compose_digest(
            name=person.display_name,
            week_start=week_start.date(),
            digest=summarise(rows[pk], week_start, week_end),
            link=f"{settings.APP_BASE_URL}/",
            currency=settings.REPORTING_CURRENCY,
        )
        notes.append(Notification(recipient_id=pk, kind=Notification.Kind.DIGEST, subject=subject, body=body))
    created = Notification.objects.bulk_create(notes)
    _deliveries_queue(created)
    return len(created)


def notifications_mark_read(*, user: User, ids: Iterable[int] = (), now: dt.datetime | None = None) -> int:
    """Mark ``user``'s unread notifications read (only ``ids`` when given); returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    wanted = [int(i) for i in ids]
    if wanted:
        qs = qs.filter(pk__in=wanted)
    return qs.update(read_at=now or timezone.now())


def review_windows_sweep(*, now: dt.datetime | None = None) -> int:
    """End elapsed review windows, escalate holds older than the SLA policy's limit to the manager,
    and flag open EQLs whose SLA passed without a first contact (``lifecycle.sla_outcome``'s overdue)."""
    now = now or timezone.now()
    policy = selectors.sla_spec()
    expired = EQL.objects.filter(
        status__in=OPEN_STATUSES, review_state="pending", review_window_ends_at__lte=now
    )
    n = expired.update(review_state="expired", updated_at=now)
    limit = now - dt.timedelta(hours=policy.hold_escalation_hours)
    to_escalate = list(
        EQL.objects.filter(status__in=OPEN_STATUSES, review_state="held", held_at__lte=limit).select_related(
            "account", "owner"
        )
    )
    with transaction.atomic():
        EQL.objects.filter(pk__in=[e.pk for e in to_escalate]).update(
            review_state="escalated", updated_at=now
        )
        if to_escalate:
            notify(eqls=to_escalate, kind=Notification.Kind.ESCALATION)
    breached = EQL.objects.filter(
        status__in=OPEN_STATUSES, sla_breached=False, sla_deadline__lt=now, first_contact_at__isnull=True
    ).update(sla_breached=True, updated_at=now)
    return n + len(to_escalate) + breached


def snoozes_wake(*, now: dt.datetime | None = None) -> int:
    """Snoozes that ran out: the EQL is back in its owner's queue and the owner is notified again."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            EqlSnooze.objects.select_for_update(of=("self",))
            .filter(until__lte=now, woken_at__isnull=True, eql__status__in=OPEN_STATUSES)
            .select_related("eql__account", "eql__owner")
        )
        EqlSnooze.objects.filter(pk__in=[s.pk for s in due]).update(woken_at=now)
        notify(eqls=[s.eql for s in due], kind=Notification.Kind.SNOOZE_ENDED)
    return len(due)


#: Highest daily Slack cap a person may set for themselves.
SLACK_DAILY_CAP_MAX = 200


@transaction.atomic
def notification_preference_set(
    *, user: User, channels: str, slack_daily_cap: int | None
) -> NotificationPreference:
    """Save how ``user`` hears about their EQLs; ValueError (nothing written) for a value out of range."""
    if channels not in NotificationPreference.Channels.values:
        raise ValueError(f"unknown choice {channels!r}")
    if slack_daily_cap is not None and not 0 <= slack_daily_cap <= SLACK_DAILY_CAP_MAX:
        raise ValueError(f"the daily Slack cap is a whole number from 0 to {SLACK_DAILY_CAP_MAX}")
    pref, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"channels": channels, "slack_daily_cap": slack_daily_cap}
    )
    return pref
