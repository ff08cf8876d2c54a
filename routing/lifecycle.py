"""Pure lifecycle rules: which events are allowed from which state, and who may send them."""

from __future__ import annotations

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

# The statuses are defined once, in expansion.statuses; the lifecycle speaks of them (and of the events
# named after them) as lifecycle.WON etc., so they are part of this module's interface.
__all__ = [
    "ACTIVITY_TYPE",
    "CALL_BOOKED",
    "CLOSED",
    "CONTACTED",
    "CSM_EVENTS",
    "DECLINED",
    "EVENTS",
    "LOST",
    "NEW",
    "OPEN",
    "OUTREACH",
    "PROPOSAL_SENT",
    "STATUS_EVENTS",
    "TRANSITIONS",
    "WON",
    "Actor",
    "EqlView",
    "TransitionError",
    "can_act",
    "check_event",
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
CSM_EVENTS = ("csm_hold", "csm_release")
EVENTS = (*STATUS_EVENTS, *CSM_EVENTS, "note")
OUTREACH = (CONTACTED, CALL_BOOKED, PROPOSAL_SENT)

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


def can_act(actor: Actor, eql: EqlView) -> bool:
    """Who may change an EQL: owner, the account's CSM, the owner's manager, RevOps. Never Finance.

    (Who may *see* one is ``routing.selectors.eqls_visible``; everyone who may act may also see.)
    """
    if actor.role == "Finance":
        return False
    if actor.is_superuser or actor.role == "RevOps" or actor.id in (eql.owner_id, eql.csm_id):
        return True
    return actor.role == "Manager" and (eql.owner_manager_id == actor.id or eql.owner_id is None)


def check_event(
    *,
    event: str,
    actor: Actor,
    eql: EqlView,
    reason: str = "",
    note: str = "",
    amount: float | None = None,
    reason_codes: tuple[str, ...] = (),
) -> None:
    """Raise TransitionError when ``event`` may not be applied now; return None when it may."""
    if event not in EVENTS:
        raise TransitionError(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
    if event == "note":
        if not note.strip():
            raise TransitionError("a note needs some text")
        return
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
    allowed = TRANSITIONS[event]
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
