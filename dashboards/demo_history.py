"""A few months of worked EQLs for the demo: weekly past passes, and reps acting on what they got.

The demo export holds 100 days of usage, so a fresh demo could only score today, and every role's
first page would be empty of outcomes (no won EQL, no split credit for Finance, nothing in the
conversion report). This replays weekly scoring passes over the last weeks of that usage and, between
them, has each EQL's owner work it through the same lifecycle service the inbox and the API use:
contacted, call booked, proposal sent, then won (with the proposed contribution split when the EQL is
co-owned), lost or declined with a reason code, or left untouched. Every outcome is an ordinary event:
activities, the split-credit log and the reports come out of it as they would in production.

Deterministic for a seed. Events never lie after ``until`` (the demo's as-of day) or the present.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.utils import timezone

from expansion.models import EQL, Route
from routing import lifecycle
from routing.attribution.services import credit_proposal
from routing.models import ReasonCode
from routing.services import eql_transition
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
