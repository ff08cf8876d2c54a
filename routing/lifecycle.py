"""Pure lifecycle rules: which events are allowed from which state, and who may send them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from expansion.statuses import (
    CALL_BOOKED,
    CLOSED,
    CONTACTED,
    DECLINED,
    LOST,
    NEW,
    OPEN,
    PROPOSAL_SENT,
    WON,
)
from routing.rules import OWNER_ROLE, ROUTE_CSM_REVIEW, ROUTE_JOINT

# The statuses are defined once, in expansion.statuses; the lifecycle speaks of them (and of the events
# named after them) as lifecycle.WON etc., so they are part of this module's interface.
__all__ = [
    "ACCEPT",
    "ACTIVITY_TYPE",
    "CALL_BOOKED",
    "CHURN_RISK",
    "CLOSED",
    "CONTACTED",
    "CSM_EVENTS",
    "CSM_ROUTES",
    "DECLINED",
    "EVENTS",
    "LOST",
    "NEW",
    "OPEN",
    "OUTREACH",
    "PROPOSAL_SENT",
    "REVIEW_DISMISS",
    "REVIEW_EVENTS",
    "REVIEW_PROMOTE",
    "REVIEW_RISK",
    "SALES_EVENTS",
    "SNOOZE",
    "SNOOZE_MAX_DAYS",
    "STATUS_EVENTS",
    "TAKE_ON_EVENTS",
    "TRANSITIONS",
    "WON",
    "Actor",
    "EqlView",
    "SlaOutcome",
    "TransitionError",
    "can_act",
    "check_event",
    "is_overdue",
    "is_review_item",
    "may_log_sales",
    "sla_outcome",
]

#: event -> states it may be sent from. Outreach may skip ahead (a first call can be booked at once);
#: won and lost need a conversation first; declined is allowed from any open state.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CONTACTED: (NEW,),
    CALL_BOOKED: (NEW, CONTACTED),
    PROPOSAL_SENT: (NEW, CONTACTED, CALL_BOOKED),
    WON: (CALL_BOOKED, PROPOSAL_SENT),
    LOST: (CONTACTED, CALL_BOOKED, PROPOSAL_SENT),
    DECLINED: OPEN,
}
STATUS_EVENTS = tuple(TRANSITIONS)
#: An outcome read back from the CRM (the deal was worked and closed there) closes the EQL from any open
#: state: the CRM is where the conversation happened, so "a conversation first" is already true.
CRM_OUTCOMES = (WON, LOST)
CSM_EVENTS = ("csm_hold", "csm_release")
#: A CSM review item's outcomes (a watch signal fired: the CSM judges it): promote it to an EQL for the
#: AE, close it as a churn risk handed to retention, or dismiss it with a declined reason.
REVIEW_PROMOTE = "review_promote"
REVIEW_RISK = "review_risk"
REVIEW_DISMISS = "review_dismiss"
REVIEW_EVENTS = (REVIEW_PROMOTE, REVIEW_RISK, REVIEW_DISMISS)
#: The declined reason a churn-risk review item closes with (a row of routing.ReasonCode).
CHURN_RISK = "churn_risk"
#: The owner takes an EQL on without changing its status: ``accept`` (it is mine, I will work it;
#: logged once, the SLA clock is untouched: the first contact meets it) and ``snooze`` (put it aside
#: until a time: it leaves the owner's queue and comes back with a new notification; any status
#: change ends it). Same permission as the sales steps (``may_log_sales``).
ACCEPT = "accept"
SNOOZE = "snooze"
TAKE_ON_EVENTS = (ACCEPT, SNOOZE)
#: Longest snooze allowed.
SNOOZE_MAX_DAYS = 30
EVENTS = (*STATUS_EVENTS, *CSM_EVENTS, *REVIEW_EVENTS, *TAKE_ON_EVENTS, "note")
OUTREACH = (CONTACTED, CALL_BOOKED, PROPOSAL_SENT)
#: The sales steps: only the EQL's owner logs them (RevOps and the owner's manager may stand in).
SALES_EVENTS = STATUS_EVENTS
#: Routes a CSM owns; there the CSM logs the sales steps, elsewhere the account's CSM advises.
CSM_ROUTES = tuple(route for route, role in OWNER_ROLE.items() if role == "CSM")

#: The activity type each event is logged as (outreach counts as a commercial conversation).
ACTIVITY_TYPE = {CONTACTED: "email", CALL_BOOKED: "meeting", PROPOSAL_SENT: "proposal"}


class TransitionError(ValueError):
    """The event is not allowed now; the message says why in plain words."""


@dataclass(frozen=True)
class Actor:
    id: int
    role: str
    is_superuser: bool = False
    reports_to: int | None = None


@dataclass(frozen=True)
class EqlView:
    status: str
    route: str
    owner_id: int | None
    csm_id: int | None
    owner_manager_id: int | None
    review_state: str
    self_serve_gate: bool = False


def is_review_item(eql: EqlView) -> bool:
    """A CSM review item: a watch signal fired, nobody scored or estimated it, the CSM judges it."""
    return eql.route == ROUTE_CSM_REVIEW


def can_act(actor: Actor, eql: EqlView) -> bool:
    """Who may change an EQL: owner, the account's CSM, the owner's manager, RevOps. Never Finance.

    (Who may *see* one is ``routing.selectors.eqls_visible``; everyone who may act may also see.)
    """
    if actor.role == "Finance":
        return False
    if actor.is_superuser or actor.role == "RevOps" or actor.id in (eql.owner_id, eql.csm_id):
        return True
    return actor.role == "Manager" and (eql.owner_manager_id == actor.id or eql.owner_id is None)


def may_log_sales(actor: Actor, eql: EqlView) -> bool:
    """Who may log a sales step (contacted ... declined): the owner, so one person talks to the customer.

    RevOps and the owner's manager (any Manager while nobody owns it) may stand in; on a CSM-owned route
    nobody has been assigned to, the account's CSM is the owner to be. The account's CSM on an AE-owned
    EQL adds notes and holds or releases the review window, and leaves the outreach to the AE. On a
    ``joint`` route the CSM co-owns the EQL and logs sales steps like the AE."""
    if actor.role == "Finance":
        return False
    if actor.is_superuser or actor.role == "RevOps" or actor.id == eql.owner_id:
        return True
    if eql.route == ROUTE_JOINT and eql.csm_id is not None and actor.id == eql.csm_id:
        return True
    if actor.role == "Manager" and (eql.owner_manager_id == actor.id or eql.owner_id is None):
        return True
    return eql.owner_id is None and actor.id == eql.csm_id and eql.route in CSM_ROUTES


def check_event(
    *,
    event: str,
    actor: Actor,
    eql: EqlView,
    reason: str = "",
    note: str = "",
    amount: float | None = None,
    reason_codes: tuple[str, ...] = (),
    accepted: bool = False,
    snooze_days: float | None = None,
    from_crm: bool = False,
) -> None:
    """Raise TransitionError when ``event`` may not be applied now; return None when it may.

    ``accepted``: the EQL was accepted before (accept is logged once); ``snooze_days``: how long a
    snooze lasts from now (more than 0, at most SNOOZE_MAX_DAYS); ``from_crm``: the outcome was read
    back from the CRM (won or lost there), allowed from any open state."""
    if event not in EVENTS:
        raise TransitionError(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
    if event == "note":
        if not note.strip():
            raise TransitionError("a note needs some text")
        return
    if event in REVIEW_EVENTS:
        _check_review_event(event=event, actor=actor, eql=eql, reason=reason, reason_codes=reason_codes)
        return
    if is_review_item(eql):
        raise TransitionError(
            "this is a CSM review item (a watch signal fired), not a sales EQL: the CSM promotes it to"
            " an EQL for the AE, marks it a churn risk for retention, or dismisses it with a reason"
        )
    if event in CSM_EVENTS:
        if eql.status not in OPEN:
            raise TransitionError(f"the EQL is {eql.status}; only open EQLs have a CSM review window")
        if not (actor.id == eql.csm_id or actor.role in ("RevOps", "Manager") or actor.is_superuser):
            raise TransitionError("only the account's CSM can hold or release the review window")
        if event == "csm_hold":
            if eql.review_state not in ("pending", "held"):
                raise TransitionError("this EQL has no open CSM review window to hold")
            if not note.strip():
                raise TransitionError("a hold needs a context note for the AE")
        elif eql.review_state not in ("pending", "held", "escalated"):
            raise TransitionError("this EQL has no CSM review window or hold to release")
        return
    if event in TAKE_ON_EVENTS:
        _check_take_on(event=event, actor=actor, eql=eql, accepted=accepted, snooze_days=snooze_days)
        return
    if not may_log_sales(actor, eql):
        raise TransitionError(
            "only the EQL's owner logs sales steps (contact, call, proposal, won, lost, declined);"
            " as the account's CSM you can add a note, or hold or release the CSM review window"
        )
    allowed = OPEN if from_crm and event in CRM_OUTCOMES else TRANSITIONS[event]
    if eql.status not in allowed:
        raise TransitionError(
            f"cannot mark {event.replace('_', ' ')} when the EQL is {eql.status.replace('_', ' ')}"
            f" (allowed from: {', '.join(s.replace('_', ' ') for s in allowed)})"
        )
    if event in OUTREACH and eql.review_state in ("held", "escalated") and actor.id != eql.csm_id:
        raise TransitionError("the account's CSM is holding this EQL; read their note and wait for release")
    if event in (DECLINED, LOST):
        if not reason:
            raise TransitionError(f"{event} needs a reason code")
        if reason_codes and reason not in reason_codes:
            raise TransitionError(
                f"unknown {event} reason {reason!r}; expected one of {', '.join(reason_codes)}"
            )
    if event == WON and (amount is None or amount <= 0):
        raise TransitionError("won needs the expansion ARR (a positive amount)")


def _check_take_on(
    *, event: str, actor: Actor, eql: EqlView, accepted: bool, snooze_days: float | None
) -> None:
    if not may_log_sales(actor, eql):
        raise TransitionError(
            "only the EQL's owner (or their manager) can accept or snooze it; as the account's CSM you"
            " can add a note, or hold or release the CSM review window"
        )
    if eql.status not in OPEN:
        raise TransitionError(f"the EQL is already closed ({eql.status.replace('_', ' ')})")
    if event == ACCEPT and accepted:
        raise TransitionError("this EQL is already accepted")
    if event == SNOOZE and (snooze_days is None or not 0 < snooze_days <= SNOOZE_MAX_DAYS):
        raise TransitionError(f"a snooze needs an end between now and {SNOOZE_MAX_DAYS} days from now")


def _check_review_event(
    *, event: str, actor: Actor, eql: EqlView, reason: str, reason_codes: tuple[str, ...]
) -> None:
    if not is_review_item(eql):
        raise TransitionError(
            "only a CSM review item can be promoted, marked a churn risk or dismissed; this is an EQL"
        )
    if eql.status not in OPEN:
        raise TransitionError(f"the review item is already closed ({eql.status.replace('_', ' ')})")
    # may_log_sales on a CSM-owned route: the owning CSM (the account's CSM while unassigned), the
    # owner's manager (any Manager while unassigned), RevOps.
    if not may_log_sales(actor, eql):
        raise TransitionError("only the review item's CSM, their manager or RevOps can decide a review item")
    if event == REVIEW_PROMOTE and eql.self_serve_gate:
        raise TransitionError(
            "the self-serve gate applies to this account, so it is never AE-led; dismiss it or mark it"
            " a churn risk instead"
        )
    if event == REVIEW_DISMISS:
        if not reason:
            raise TransitionError("dismissing a review item needs a reason")
        if reason == CHURN_RISK:
            raise TransitionError(
                "a churn risk is not dismissed: use Mark as churn risk, which hands it to retention"
            )
        if reason_codes and reason not in reason_codes:
            raise TransitionError(f"unknown reason {reason!r}; expected one of {', '.join(reason_codes)}")


# ------------------------------------------------------------------------------------------ SLA
#: The SLA outcomes: ``met`` / ``missed`` once the first contact is logged (on time or late),
#: ``overdue`` while open, never contacted and past the deadline, ``running`` before it; ``none`` for
#: an open EQL without a deadline, ``closed`` for one closed without ever being contacted.
SLA_STATES = ("met", "missed", "overdue", "running", "none", "closed")


@dataclass(frozen=True)
class SlaOutcome:
    """An EQL's SLA seen at ``now``: its state, the time left or over, and the time to first contact."""

    state: str
    deadline: dt.datetime | None = None
    first_contact_at: dt.datetime | None = None
    #: running: time left; overdue: time past the deadline; missed: how late the first contact was.
    delta: dt.timedelta | None = None
    #: From the start of the clock (assignment, else creation) to the first contact.
    to_first_contact: dt.timedelta | None = None

    @property
    def breached(self) -> bool:
        return self.state in ("missed", "overdue")


def sla_outcome(
    *,
    deadline: dt.datetime | None,
    first_contact_at: dt.datetime | None,
    status: str,
    now: dt.datetime,
    started_at: dt.datetime | None = None,
) -> SlaOutcome:
    """The first contact meets the SLA: after it an EQL is met or missed, never overdue.

    An EQL is overdue only while it is open, has no first contact and its deadline has passed
    (the queue's Overdue filter and the breach sweep ask the same in SQL)."""
    if first_contact_at is not None:
        to_contact = max(first_contact_at - started_at, dt.timedelta(0)) if started_at else None
        if deadline is not None and first_contact_at > deadline:
            return SlaOutcome("missed", deadline, first_contact_at, first_contact_at - deadline, to_contact)
        return SlaOutcome("met", deadline, first_contact_at, None, to_contact)
    if status not in OPEN:
        return SlaOutcome("closed", deadline)
    if deadline is None:
        return SlaOutcome("none")
    if now > deadline:
        return SlaOutcome("overdue", deadline, delta=now - deadline)
    return SlaOutcome("running", deadline, delta=deadline - now)


def is_overdue(
    *, deadline: dt.datetime | None, first_contact_at: dt.datetime | None, status: str, now: dt.datetime
) -> bool:
    return sla_outcome(
        deadline=deadline, first_contact_at=first_contact_at, status=status, now=now
    ).state == ("overdue")
