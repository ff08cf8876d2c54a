"""What an EQL looks like in a CRM: pure functions from plain values, no Django.

An EQL becomes a set of *source values* (``source_values``): the three questions of the EQL page (why
now, what it is worth, what to say) and the fields around them. A connection's field mapping picks
which CRM field gets which source (``render``). What was last written is remembered by its hash
(``payload_hash``), so a sync writes only records whose payload changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from expansion import formatting
from expansion.statuses import CLOSED, OPEN

SALESFORCE = "salesforce"
HUBSPOT = "hubspot"

#: Days after creation an open EQL's CRM record expects to close (CRMs require a close date).
DEFAULT_CLOSE_DAYS = 90

#: EQL statuses, in lifecycle order (the stage mapping has one row for each).
STATUSES = (*OPEN, *CLOSED)

#: What a mapping row may send, with the label RevOps sees in admin.
SOURCES: dict[str, str] = {
    "eql_id": "EQL id (the upsert key)",
    "title": "Title: account and primary signal",
    "account": "CRM account id (accounts.csv crm_account_id)",
    "owner": "Owner (CRM user matched by email)",
    "owner_email": "Owner email",
    "csm_email": "CSM email",
    "stage": "Stage (from the stage mapping)",
    "status": "EQL status",
    "is_closed": "Closed (true/false)",
    "score": "Score (0-100)",
    "priority": "Priority",
    "task_priority": "Task priority (from the EQL's priority)",
    "route": "Route",
    "why_now": "Why now: triggered signals with values and thresholds",
    "worth": "What it is worth: estimate and its source",
    "what_to_say": "What to say: opening angle and discovery questions",
    "description": "Description: why now, worth and what to say together",
    "amount": "Amount (won ARR once won, else the estimate)",
    "estimate": "Estimated expansion ARR",
    "contract_arr": "Contract ARR",
    "close_date": "Close date (closed date, or expected)",
    "sla_deadline": "SLA deadline",
    "due_at": "Due (SLA deadline, else now)",
    "link": "Link to the EQL page",
    "pipeline": "HubSpot pipeline (the connection's)",
}

ROUTE_LABELS = {"ae": "AE", "csm": "CSM", "self_serve": "Self-serve", "csm_review": "CSM review"}


@dataclass(frozen=True)
class EqlFacts:
    """Everything a CRM record is built from, read once per EQL by the selector."""

    eql_id: int
    account_name: str
    crm_account_id: str
    status: str
    score: int
    priority: str
    route: str
    primary_signal: str
    triggered_signals: tuple[Mapping, ...]
    owner_email: str
    csm_email: str
    contract_arr: Decimal
    estimate: Decimal
    estimate_source: str
    won_arr: Decimal | None
    opening_angle: str
    discovery_questions: tuple[str, ...]
    created_at: dt.datetime
    closed_at: dt.datetime | None
    sla_deadline: dt.datetime | None


@dataclass(frozen=True)
class FieldRule:
    """One mapping row: CRM field ``crm_field`` gets source ``source``; ``required`` refuses the record
    when the source has no value (e.g. an account not linked to the CRM yet)."""

    crm_field: str
    source: str
    required: bool = False


@dataclass(frozen=True)
class Rendered:
    """A record ready to send, or the reason it cannot be sent (``problem`` = (code, message))."""

    key: str
    fields: dict = field(default_factory=dict)
    problem: tuple[str, str] | None = None


def _label(key: str) -> str:
    return formatting.key_label(key)


def _number(value) -> str:
    if value is None:
        return "n/a"
    number = float(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def money_text(amount: Decimal | float | None, currency: str) -> str:
    """``$74,398``: whole units in the reporting currency, as the EQL page shows them."""
    return formatting.money(amount, currency=currency, missing="n/a")


def why_now_text(triggered: Iterable[Mapping]) -> str:
    """One line per fired signal: ``Seat utilisation: 0.93 (threshold 0.9, 40 pts)``."""
    return "\n".join(
        f"{_label(str(t.get('signal', '')))}: {_number(t.get('value'))} "
        f"(threshold {_number(t.get('threshold'))}, {t.get('points', 0)} pts)"
        for t in triggered
    )


def worth_text(facts: EqlFacts, currency: str) -> str:
    source = facts.estimate_source.replace("_", " ") or "no estimate source"
    text = f"Estimated expansion {money_text(facts.estimate, currency)} ({source}); "
    text += f"contract ARR {money_text(facts.contract_arr, currency)}"
    if facts.won_arr is not None:
        text += f"; won {money_text(facts.won_arr, currency)}"
    return text


def what_to_say_text(facts: EqlFacts) -> str:
    lines = [facts.opening_angle.strip()] if facts.opening_angle.strip() else []
    if facts.discovery_questions:
        lines.append("Discovery questions:")
        lines += [f"{i}. {q}" for i, q in enumerate(facts.discovery_questions, start=1)]
    return "\n".join(lines)


def title_text(facts: EqlFacts) -> str:
    return f"Expansion: {facts.account_name} - {_label(facts.primary_signal) or 'EQL'}"


def close_date(facts: EqlFacts) -> dt.date:
    if facts.closed_at is not None:
        return facts.closed_at.date()
    return (facts.created_at + dt.timedelta(days=DEFAULT_CLOSE_DAYS)).date()


def amount(facts: EqlFacts) -> Decimal:
    return facts.won_arr if facts.status == "won" and facts.won_arr is not None else facts.estimate


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def source_values(
    facts: EqlFacts,
    *,
    owner_crm_id: str,
    stages: Mapping[str, str],
    currency: str,
    app_base_url: str,
    kind: str,
    now: dt.datetime,
) -> dict[str, object]:
    """Every source a mapping row can pick, as JSON-ready values the CRM accepts.

    Dates are ``YYYY-MM-DD`` and datetimes ISO 8601 in UTC on Salesforce; HubSpot takes dates and
    datetimes as milliseconds since the epoch (UTC midnight for a date)."""
    why_now = why_now_text(facts.triggered_signals)
    worth = worth_text(facts, currency)
    what = what_to_say_text(facts)
    close = close_date(facts)
    due = facts.sla_deadline or now
    values: dict[str, object] = {
        "eql_id": str(facts.eql_id),
        "title": title_text(facts),
        "account": facts.crm_account_id,
        "owner": owner_crm_id,
        "owner_email": facts.owner_email,
        "csm_email": facts.csm_email,
        "stage": stages.get(facts.status, ""),
        "status": facts.status,
        "is_closed": facts.status in CLOSED,
        "score": facts.score,
        "priority": facts.priority,
        "task_priority": _task_priority(facts.priority, kind),
        "route": ROUTE_LABELS.get(facts.route, facts.route),
        "why_now": why_now,
        "worth": worth,
        "what_to_say": what,
        "description": f"Why now:\n{why_now}\n\nWorth: {worth}\n\nWhat to say:\n{what}".strip(),
        "amount": float(amount(facts)),
        "estimate": float(facts.estimate),
        "contract_arr": float(facts.contract_arr),
        "link": f"{app_base_url.rstrip('/')}/eqls/{facts.eql_id}/",
    }
    if kind == HUBSPOT:
        values["close_date"] = _epoch_ms(dt.datetime.combine(close, dt.time(), tzinfo=dt.UTC))
        values["sla_deadline"] = _epoch_ms(facts.sla_deadline) if facts.sla_deadline else ""
        values["due_at"] = _epoch_ms(due)
    else:
        values["close_date"] = close.isoformat()
        values["sla_deadline"] = _iso(facts.sla_deadline)
        values["due_at"] = due.date().isoformat()
    return values


def _epoch_ms(value: dt.datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _task_priority(priority: str, kind: str) -> str:
    high = priority.lower() in ("high", "urgent")
    low = priority.lower() == "low"
    if kind == HUBSPOT:
        return "HIGH" if high else "LOW" if low else "MEDIUM"
    return "High" if high else "Low" if low else "Normal"


REQUIRED_MESSAGES = {
    "account": (
        "ACCOUNT_NOT_LINKED",
        "the account has no crm_account_id; add it to accounts.csv so the record can be linked",
    ),
    "owner": ("OWNER_NOT_IN_CRM", "the EQL has no owner the CRM knows"),
}


def render(
    key_field: str, rules: Sequence[FieldRule], values: Mapping[str, object], *, skip: Iterable[str] = ()
) -> Rendered:
    """The CRM fields for one EQL: each mapped source's value; empty optional values are left out
    (a CRM keeps what it has), a required one missing refuses the record with a reason.

    ``skip`` names CRM fields the CRM now owns (e.g. an owner changed in the CRM): never written back."""
    key = str(values["eql_id"])
    fields: dict[str, object] = {key_field: key}
    skipped = set(skip)
    for rule in rules:
        if rule.crm_field == key_field or rule.crm_field in skipped:
            continue
        value = values.get(rule.source, "")
        if value in ("", None):
            if rule.required:
                fallback = ("REQUIRED_VALUE_MISSING", f"{SOURCES.get(rule.source, rule.source)} is empty")
                code, message = REQUIRED_MESSAGES.get(rule.source, fallback)
                return Rendered(key=key, problem=(code, f"{rule.crm_field}: {message}"))
            continue
        fields[rule.crm_field] = value
    return Rendered(key=key, fields=fields)


def payload_hash(fields: Mapping[str, object]) -> str:
    """A stable digest of what is sent: same fields and values, same hash, whatever their order."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- Defaults a new connection starts with (RevOps edits them in admin) ----------------------------

_SF_EQL_FIELDS = (
    ("EQL_Score__c", "score"),
    ("EQL_Priority__c", "priority"),
    ("EQL_Route__c", "route"),
    ("EQL_Status__c", "status"),
    ("EQL_Why_Now__c", "why_now"),
    ("EQL_Worth__c", "worth"),
    ("EQL_Opening_Angle__c", "what_to_say"),
    ("EQL_SLA_Deadline__c", "sla_deadline"),
    ("EQL_CSM_Email__c", "csm_email"),
    ("EQL_Link__c", "link"),
)
_HS_EQL_FIELDS = tuple((name.removesuffix("__c").lower(), src) for name, src in _SF_EQL_FIELDS)

DEFAULT_FIELDS: dict[tuple[str, str], tuple[tuple[str, str, bool], ...]] = {
    (SALESFORCE, "Opportunity"): (
        ("Name", "title", False),
        ("AccountId", "account", True),
        ("OwnerId", "owner", False),
        ("StageName", "stage", False),
        ("CloseDate", "close_date", False),
        ("Amount", "amount", False),
        ("Description", "description", False),
        *((f, s, False) for f, s in _SF_EQL_FIELDS),
    ),
    (SALESFORCE, "Task"): (
        ("Subject", "title", False),
        ("WhatId", "account", True),
        ("OwnerId", "owner", False),
        ("Status", "stage", False),
        ("Priority", "task_priority", False),
        ("ActivityDate", "due_at", False),
        ("Description", "description", False),
        *((f, s, False) for f, s in _SF_EQL_FIELDS),
    ),
    (SALESFORCE, "Lead"): (
        ("Company", "title", False),
        ("LastName", "title", False),
        ("OwnerId", "owner", False),
        ("Status", "stage", False),
        ("Description", "description", False),
        *((f, s, False) for f, s in _SF_EQL_FIELDS),
    ),
    (HUBSPOT, "deals"): (
        ("dealname", "title", False),
        ("hubspot_owner_id", "owner", False),
        ("pipeline", "pipeline", False),
        ("dealstage", "stage", False),
        ("closedate", "close_date", False),
        ("amount", "amount", False),
        ("description", "description", False),
        *((f, s, False) for f, s in _HS_EQL_FIELDS),
    ),
    (HUBSPOT, "tasks"): (
        ("hs_task_subject", "title", False),
        ("hubspot_owner_id", "owner", False),
        ("hs_task_status", "stage", False),
        ("hs_task_priority", "task_priority", False),
        ("hs_timestamp", "due_at", False),
        ("hs_task_body", "description", False),
        *((f, s, False) for f, s in _HS_EQL_FIELDS),
    ),
}

DEFAULT_STAGES: dict[tuple[str, str], dict[str, str]] = {
    (SALESFORCE, "Opportunity"): {
        "new": "Prospecting",
        "contacted": "Qualification",
        "call_booked": "Needs Analysis",
        "proposal_sent": "Proposal/Price Quote",
        "won": "Closed Won",
        "lost": "Closed Lost",
        "declined": "Closed Lost",
    },
    (SALESFORCE, "Task"): {
        "new": "Not Started",
        "contacted": "In Progress",
        "call_booked": "In Progress",
        "proposal_sent": "In Progress",
        "won": "Completed",
        "lost": "Completed",
        "declined": "Completed",
    },
    (SALESFORCE, "Lead"): {
        "new": "Open - Not Contacted",
        "contacted": "Working - Contacted",
        "call_booked": "Working - Contacted",
        "proposal_sent": "Working - Contacted",
        "won": "Closed - Converted",
        "lost": "Closed - Not Converted",
        "declined": "Closed - Not Converted",
    },
    (HUBSPOT, "deals"): {
        "new": "appointmentscheduled",
        "contacted": "qualifiedtobuy",
        "call_booked": "presentationscheduled",
        "proposal_sent": "contractsent",
        "won": "closedwon",
        "lost": "closedlost",
        "declined": "closedlost",
    },
    (HUBSPOT, "tasks"): {
        "new": "NOT_STARTED",
        "contacted": "IN_PROGRESS",
        "call_booked": "IN_PROGRESS",
        "proposal_sent": "IN_PROGRESS",
        "won": "COMPLETED",
        "lost": "COMPLETED",
        "declined": "COMPLETED",
    },
}

#: Which CRM stages close an EQL when read back: only objects whose stage says won or lost (deals,
#: opportunities, leads); a completed task says nothing about the outcome.
OUTCOME_OBJECTS = {(SALESFORCE, "Opportunity"), (SALESFORCE, "Lead"), (HUBSPOT, "deals")}


def outcome_of(stage: str, stages: Mapping[str, str]) -> str | None:
    """``won`` or ``lost`` when a CRM stage read back is the one the mapping writes for won or lost."""
    if not stage:
        return None
    if stage == stages.get("won"):
        return "won"
    if stage == stages.get("lost"):
        return "lost"
    return None


def field_problems(key_field: str, rules: Sequence[FieldRule]) -> list[str]:
    """What is wrong with the field rows of a mapping (the admin form and the sync both ask)."""
    problems = []
    if not key_field.strip():
        problems.append("the upsert key (External ID field) is empty")
    seen: set[str] = set()
    for rule in rules:
        if rule.source not in SOURCES:
            problems.append(f"{rule.crm_field}: unknown source {rule.source!r}")
        if not rule.crm_field.strip():
            problems.append(f"a row with source {rule.source!r} has no CRM field")
        if rule.crm_field in seen:
            problems.append(f"{rule.crm_field} is mapped twice; a CRM field gets one EQL value")
        seen.add(rule.crm_field)
        if rule.crm_field == key_field and rule.source != "eql_id":
            problems.append(f"{key_field} is the upsert key; it always gets the EQL id")
    return problems


def stage_problems(*, kind: str, object_type: str, stages: Mapping[str, str]) -> list[str]:
    """What is wrong with a stage mapping: every status needs a stage; won and lost must differ."""
    problems = []
    missing = [s for s in STATUSES if not stages.get(s, "").strip()]
    if missing:
        problems.append(
            f"the stage mapping has no CRM stage for: {', '.join(s.replace('_', ' ') for s in missing)}"
        )
    won = stages.get("won")
    if (kind, object_type) in OUTCOME_OBJECTS and won and won == stages.get("lost"):
        problems.append("won and lost map to the same CRM stage, so an outcome read back would be ambiguous")
    return problems


def mapping_problems(
    *, kind: str, object_type: str, key_field: str, rules: Sequence[FieldRule], stages: Mapping[str, str]
) -> list[str]:
    """What is wrong with a mapping, in words RevOps can act on (empty when it is fine)."""
    problems = []
    if (kind, object_type) not in DEFAULT_FIELDS:
        problems.append(f"{object_type!r} is not an object this connection can write for {kind}")
    problems += field_problems(key_field, rules)
    if any(r.source == "stage" for r in rules):
        problems += stage_problems(kind=kind, object_type=object_type, stages=stages)
    return problems
