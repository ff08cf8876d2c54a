"""A few months of worked EQLs for the demo: weekly past passes, and reps acting on what they got.

The demo export holds 100 days of usage, so a fresh demo could only score today, and every role's
first page would be empty of outcomes (no won EQL, no split credit for Finance, nothing in the
conversion report). This replays weekly scoring passes over the last weeks of that usage and, between
them, has each EQL's owner work it through the same lifecycle service the inbox and the API use:
contacted, call booked, proposal sent, then won (with the proposed contribution split when the EQL is
co-owned), lost or declined with a reason code, or left untouched. Every outcome is an ordinary event:
activities, the split-credit log and the reports come out of it as they would in production.

Before those passes, ``demo_earlier_eqls`` records the EQLs of the months the usage export no longer
covers (the export keeps 100 days of usage, the activities and expansions reach back 13 months): the
product stored them when it scored those weeks, so they are EQL records with the signals that fired,
each worked to its end (won, lost or declined) before the account's next EQL. The reports then read
13 months of outcomes: accuracy, drift, fire rate per quarter and retirement have history to judge.

Deterministic for a seed. Events never lie after ``until`` (the demo's as-of day) or the present.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import models
from django.utils import timezone

from expansion import demo
from expansion.models import EQL, Account, AccountStatus, Route
from routing import lifecycle
from routing.attribution.services import credit_proposal
from routing.models import ReasonCode
from routing.rules import SlaSpec
from routing.services import eql_transition
from scoring.models import SignalDefinition
from scoring.services import as_of_datetime, scoring_pass_run

#: How many weekly passes to replay before the demo's as-of day (the usage export covers 100 days).
HISTORY_WEEKS = 10
#: Shares of what happens to an EQL in the demo: (final event, probability). The rest stay untouched.
FATES = (
    (lifecycle.WON, 0.22),
    (lifecycle.LOST, 0.10),
    (lifecycle.DECLINED, 0.15),
    (lifecycle.PROPOSAL_SENT, 0.10),
    (lifecycle.CALL_BOOKED, 0.10),
    (lifecycle.CONTACTED, 0.13),
)
#: Hours from the EQL to first contact: most within the 24 h SLA, some late.
FIRST_CONTACT_HOURS = (1.0, 34.0)
#: Days between the steps of a conversation: contact -> call, call -> proposal, proposal -> close.
STEP_DAYS = {lifecycle.CALL_BOOKED: (1, 6), lifecycle.PROPOSAL_SENT: (4, 12), "close": (6, 24)}
DECLINE_DAYS = (0.5, 6.0)
#: Won ARR as a share of the EQL's estimate.
WON_SHARE = (0.5, 1.3)
#: Routes whose EQLs have an owner who works them in the inbox.
WORKED_ROUTES = (Route.AE, Route.CSM)


#: The earlier EQLs reach back as far as the seeded activities and expansions (13 months).
EARLIER_DAYS = demo.HISTORY_DAYS
#: EQLs recorded per week before the replayed passes (Poisson mean; the passes create 10-25 a week).
EARLIER_PER_WEEK = 9
#: Shares of the primary signal of an earlier EQL (signals not listed, or inactive, are left out).
EARLIER_SIGNAL_SHARES = {
    "seat_utilisation": 0.55,
    "api_rate_approach": 0.2,
    "feature_adjacency": 0.12,
    "automation_depth": 0.08,
    "team_spread": 0.05,
}
EXPANSION_TYPES = {"seat_utilisation": "seats", "team_spread": "seats", "feature_adjacency": "module"}
#: Estimated expansion ARR of an earlier EQL as a share of the account's contract ARR.
EARLIER_ESTIMATE_SHARE = (0.1, 0.35)
#: Days after the last step an earlier EQL with no close is closed: lost after a conversation,
#: declined when nobody got a conversation going.
EARLIER_CLOSE_DAYS = (5, 20)
#: Account picks tried per earlier EQL before the week gets one fewer (an account is busy while it
#: has an EQL and for the suppression window after its close).
PICK_TRIES = 25
SUPPRESSION = dt.timedelta(days=30)


@dataclass(frozen=True, order=True)
class _Step:
    at: dt.datetime
    order: int
    eql_id: int = field(compare=False)
    event: str = field(compare=False)


@dataclass
class HistoryResult:
    passes: int = 0
    eqls: int = 0
    events: dict[str, int] = field(default_factory=dict)


def _plan(rng: np.random.Generator, eql: EQL, counter: itertools.count) -> list[_Step]:
    """The events one EQL's owner will send, with their times (none for an untouched EQL)."""
    draw = rng.random()
    fate = None
    for event, share in FATES:
        if draw < share:
            fate = event
            break
        draw -= share
    if fate is None:
        return []
    start = eql.created_at
    if fate == lifecycle.DECLINED:
        return [_Step(start + dt.timedelta(days=rng.uniform(*DECLINE_DAYS)), next(counter), eql.pk, fate)]
    at = start + dt.timedelta(hours=rng.uniform(*FIRST_CONTACT_HOURS))
    steps = [_Step(at, next(counter), eql.pk, lifecycle.CONTACTED)]
    path = {
        lifecycle.CONTACTED: [],
        lifecycle.CALL_BOOKED: [lifecycle.CALL_BOOKED],
        lifecycle.PROPOSAL_SENT: [lifecycle.CALL_BOOKED, lifecycle.PROPOSAL_SENT],
        lifecycle.LOST: [lifecycle.CALL_BOOKED, lifecycle.PROPOSAL_SENT, lifecycle.LOST],
        lifecycle.WON: [lifecycle.CALL_BOOKED, lifecycle.PROPOSAL_SENT, lifecycle.WON],
    }[fate]
    for event in path:
        low, high = STEP_DAYS.get(event, STEP_DAYS["close"])
        at = at + dt.timedelta(days=rng.uniform(low, high))
        steps.append(_Step(at, next(counter), eql.pk, event))
    return steps


def _send(rng: np.random.Generator, step: _Step, reasons: dict[str, list[str]]) -> bool:
    """Send one planned event as the EQL's owner; False when the EQL moved on (closed, reassigned)."""
    eql = EQL.objects.select_related("owner", "account").get(pk=step.eql_id)
    if eql.owner is None or eql.status not in lifecycle.OPEN:
        return False
    extra: dict = {}
    if step.event in (lifecycle.LOST, lifecycle.DECLINED):
        extra["reason"] = str(rng.choice(reasons[step.event]))
    if step.event == lifecycle.WON:
        estimate = float(eql.estimated_expansion_arr or 0) or float(eql.contract_arr) * 0.2
        extra["expansion_arr"] = Decimal(max(500, round(estimate * rng.uniform(*WON_SHARE), -2)))
        proposal = credit_proposal(eql=eql)
        if proposal.split_required:
            extra["splits"] = [{"email": line.email, "percent": line.percent} for line in proposal.lines]
    try:
        eql_transition(eql_id=eql.pk, user=eql.owner, event=step.event, at=step.at, **extra)
    except (lifecycle.TransitionError, PermissionError):
        return False  # e.g. a CSM holding the review window: the demo rep waits, like a real one
    return True


def demo_history_replay(*, until: dt.date, seed: int, weeks: int = HISTORY_WEEKS) -> HistoryResult:
    """Replay ``weeks`` weekly passes ending a week before ``until``, with owners working their EQLs."""
    rng = np.random.default_rng(seed)
    result = HistoryResult()
    reasons = {
        kind: sorted(ReasonCode.objects.filter(kind=kind, active=True).values_list("code", flat=True))
        for kind in (lifecycle.LOST, lifecycle.DECLINED)
    }
    end = min(as_of_datetime(until) + dt.timedelta(days=1), timezone.now())
    pass_days = [until - dt.timedelta(weeks=w) for w in range(weeks, 0, -1)]
    counter = itertools.count()
    queue: list[_Step] = []
    planned: set[int] = set()
    for day in [*pass_days, None]:
        pass_at = end if day is None else as_of_datetime(day)
        while queue and queue[0].at < pass_at:
            step = heapq.heappop(queue)
            if _send(rng, step, reasons):
                result.events[step.event] = result.events.get(step.event, 0) + 1
        if day is None:
            break
        scoring_pass_run(as_of=day, trigger="demo history")
        result.passes += 1
        fresh = EQL.objects.filter(route__in=WORKED_ROUTES, owner__isnull=False).exclude(pk__in=planned)
        for eql in fresh.order_by("pk"):
            planned.add(eql.pk)
            result.eqls += 1
            for step in _plan(rng, eql, counter):
                if step.at < end:
                    heapq.heappush(queue, step)
    return result


def _earlier_plan(rng: np.random.Generator, eql: EQL, counter: itertools.count) -> list[_Step]:
    """``_plan``, then a close for an EQL left open: every earlier EQL has ended by the replay."""
    steps = _plan(rng, eql, counter)
    last = steps[-1].event if steps else None
    if last in lifecycle.CLOSED:
        return steps
    at = (steps[-1].at if steps else eql.created_at) + dt.timedelta(days=rng.uniform(*EARLIER_CLOSE_DAYS))
    close = lifecycle.LOST if last in (lifecycle.CALL_BOOKED, lifecycle.PROPOSAL_SENT) else lifecycle.DECLINED
    if last == lifecycle.CONTACTED and rng.random() < 0.5:
        close = lifecycle.LOST
    return [*steps, _Step(at, next(counter), eql.pk, close)]


def demo_earlier_eqls(*, until: dt.date, seed: int, weeks: int = HISTORY_WEEKS) -> HistoryResult:
    """Record the EQLs of the weeks before the replayed passes (back ``EARLIER_DAYS`` from ``until``)
    and have their owners work each to its end; run after ``demo_history_replay`` (it keeps clear of
    the accounts' later EQLs: one EQL at a time per account, none in the suppression window)."""
    rng = np.random.default_rng(seed + 1)
    result = HistoryResult()
    reasons = {
        kind: sorted(ReasonCode.objects.filter(kind=kind, active=True).values_list("code", flat=True))
        for kind in (lifecycle.LOST, lifecycle.DECLINED)
    }
    defined = {
        key: (priority, points)
        for key, priority, points, active in SignalDefinition.objects.values_list(
            "key", "priority", "points", "active"
        )
        if active and key in EARLIER_SIGNAL_SHARES
    }
    if not defined or not all(reasons.values()):
        return result
    keys = sorted(defined)
    shares = np.array([EARLIER_SIGNAL_SHARES[k] for k in keys])
    shares = shares / shares.sum()
    first_pass = as_of_datetime(until - dt.timedelta(weeks=weeks))
    end = min(as_of_datetime(until) + dt.timedelta(days=1), timezone.now())
    start = as_of_datetime(until - dt.timedelta(days=EARLIER_DAYS))
    accounts = list(
        Account.objects.filter(status=AccountStatus.ACTIVE, ae__isnull=False)
        .select_related("ae", "csm")
        .order_by("account_id")
    )
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for account_id, created, closed in EQL.objects.values_list("account_id", "created_at", "closed_at"):
        busy.setdefault(account_id, []).append((created, closed or end))
    counter = itertools.count()
    queue: list[tuple] = []
    week_at = start
    while week_at + dt.timedelta(days=7) <= first_pass:
        for _ in range(int(rng.poisson(EARLIER_PER_WEEK))):
            created = week_at + dt.timedelta(hours=float(rng.uniform(0, 24 * 7)))
            key = str(rng.choice(keys, p=shares))
            also = str(rng.choice([k for k in keys if k != key] or [key]))
            fired = list(dict.fromkeys([key, also]))
            priority, _points = defined[key]
            total = sum(int(defined[k][1]) for k in fired)
            for _try in range(PICK_TRIES):
                account = accounts[int(rng.integers(len(accounts)))]
                since = account.customer_since
                if since is None or since >= created.date():
                    continue
                eql = EQL(
                    account=account,
                    status=lifecycle.NEW,
                    score=min(100, total),
                    primary_signal=key,
                    priority=priority,
                    expansion_type=EXPANSION_TYPES.get(key, "tier"),
                    triggered_signals=[{"signal": k, "points": int(defined[k][1])} for k in fired],
                    points_total=total,
                    evaluation={"as_of": created.isoformat(), "recorded": "demo earlier months"},
                    route=Route.AE,
                    owner=account.ae,
                    csm=account.csm,
                    contract_arr=account.contract_arr,
                    estimated_expansion_arr=Decimal(
                        round(float(account.contract_arr) * rng.uniform(*EARLIER_ESTIMATE_SHARE), 2)
                    ).quantize(Decimal("0.01")),
                    estimate_source="demo",
                    created_at=created,
                    updated_at=created,
                    assigned_at=created,
                    sla_deadline=created
                    + dt.timedelta(hours=SlaSpec.high_hours if priority == "high" else SlaSpec.medium_hours),
                )
                steps = _earlier_plan(rng, eql, counter)
                closes = steps[-1].at
                span = (created - SUPPRESSION, closes + SUPPRESSION)
                clash = any(a < span[1] and span[0] < b for a, b in busy.get(account.pk, []))
                if closes + SUPPRESSION >= end or clash:
                    continue
                busy.setdefault(account.pk, []).append((created, closes))
                heapq.heappush(queue, (created, next(counter), eql, steps))
                break
        week_at += dt.timedelta(days=7)
    # In time order, so each account's EQL has closed before its next one is recorded.
    while queue:
        _at, _order, item, steps = heapq.heappop(queue)
        if isinstance(item, EQL):
            if EQL.objects.filter(account=item.account, status__in=lifecycle.OPEN).exists():
                continue  # an earlier step was refused and left the last one open: skip this one
            item.save()
            result.eqls += 1
            for step in steps:
                heapq.heappush(
                    queue, (step.at, step.order, _Step(step.at, step.order, item.pk, step.event), ())
                )
        elif _send(rng, item, reasons):
            result.events[item.event] = result.events.get(item.event, 0) + 1
    # The SLA sweep ran every few minutes back then: an EQL closed without a contact after its
    # deadline had its breach recorded while it was still open.
    EQL.objects.filter(
        evaluation__recorded="demo earlier months",
        first_contact_at__isnull=True,
        closed_at__gt=models.F("sla_deadline"),
    ).update(sla_breached=True)
    return result
