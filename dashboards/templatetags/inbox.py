"""Template helpers for the inbox: money, SLA countdowns, signal names and sentences, labels."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as django_date_format

from dashboards import formatting
from expansion.models import Route
from routing import lifecycle

register = template.Library()

#: Remaining time under which an SLA countdown is flagged as due soon.
SLA_SOON = dt.timedelta(hours=4)

TIMES = "\u00d7"
OPERATOR_SYMBOLS = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "=", "ne": "≠"}

EVENT_LABELS = {
    "contacted": "Contact logged",
    "call_booked": "Call booked",
    "proposal_sent": "Proposal sent",
    "won": "Won",
    "lost": "Lost",
    "declined": "Declined",
    "csm_hold": "Held by CSM",
    "csm_release": "Released by CSM",
    "note": "Note",
    "review_promote": "Promoted to an EQL for the AE",
    "review_risk": "Marked as churn risk, handed to retention",
    "review_dismiss": "Dismissed",
}
ACTION_LABELS = {
    "contacted": "Log contact",
    "call_booked": "Call booked",
    "proposal_sent": "Proposal sent",
    "won": "Mark won",
    "lost": "Mark lost",
    "declined": "Decline",
    "csm_hold": "Hold with note",
    "csm_release": "Release to owner",
    "note": "Add note",
}


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def reporting_currency() -> str:
    """The currency amounts are shown in (setting ``REPORTING_CURRENCY``, "USD" by default)."""
    return getattr(settings, "REPORTING_CURRENCY", "") or "USD"


@register.filter
def money(value: Any, digits: int = 0) -> str:
    """48000 -> '$48,000' (reporting currency, whole units unless digits); empty when there is none."""
    return formatting.money(value, currency=reporting_currency(), digits=int(digits), missing="")


@register.filter
def health(value: Any) -> str:
    """65 -> '65/100'; empty when there is none."""
    return formatting.health(value, missing="")


def _local(value: Any) -> Any:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def when(value: Any, kind: str = "") -> str:
    """The one date format of the app: a date '4 Dec 2025', a datetime '4 Dec 2025, 14:05' (local
    time); ``|when:"date"`` shows only the day of a datetime. Empty when there is none."""
    if value in (None, ""):
        return ""
    value = _local(value)
    with_time = isinstance(value, dt.datetime) and kind != "date"
    return django_date_format(value, settings.DATETIME_FORMAT if with_time else settings.DATE_FORMAT)


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    """0.943 -> '94%'; empty when there is none."""
    return formatting.percent(value, digits, missing="")


def humanize_key(key: str) -> str:
    return formatting.key_label(key)


@register.filter
def signal_name(key: str, signals: dict | None) -> str:
    """The human name of a signal key ('seat_utilisation' -> 'Seat utilisation')."""
    definition = (signals or {}).get(key)
    return definition.name if definition else humanize_key(key)


@register.filter
def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, humanize_key(event))


@register.filter
def action_label(event: str) -> str:
    return ACTION_LABELS.get(event, humanize_key(event))


@dataclass(frozen=True)
class SlaState:
    """An SLA deadline seen from ``now``: the words to show and how urgent it is."""

    text: str
    overdue: bool = False
    soon: bool = False
    deadline: dt.datetime | None = None
    #: Met or missed: the first contact settled the SLA (``text`` then names it: "SLA met at ...").
    settled: bool = False
    missed: bool = False
    #: The time to first contact, in words ("first contact after 2 h 05 m").
    detail: str = ""

    @property
    def css(self) -> str:
        if self.overdue:
            return "overdue"
        return "soon" if self.soon or self.missed else "ok"

    @property
    def headline(self) -> str:
        """The EQL page's line: 'SLA: 5 h left', 'SLA met at 3 Dec 2026, 14:05', 'SLA missed by 2 h 05 m'."""
        return self.text if self.settled else f"SLA: {self.text}"


def _span(delta: dt.timedelta) -> str:
    minutes = max(0, math.ceil(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{days} d {hours} h"
    hours += days * 24
    if hours:
        return f"{hours} h {mins:02d} m"
    return f"{mins} m"


def _moment(value: dt.datetime) -> str:
    return when(value)


def sla_state_of(
    deadline: dt.datetime | None,
    status: str,
    now: dt.datetime | None = None,
    *,
    first_contact_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
) -> SlaState:
    """'5 h 10 m left', 'Overdue by 2 h 05 m', 'SLA met at 3 Dec 2026, 14:05', 'SLA missed by 1 h 30 m',
    'No SLA' or 'Closed' (the rule is ``routing.lifecycle.sla_outcome``)."""
    now = now or timezone.now()
    outcome = lifecycle.sla_outcome(
        deadline=deadline, first_contact_at=first_contact_at, status=status, now=now, started_at=started_at
    )
    if outcome.state in ("met", "missed"):
        took = "" if outcome.to_first_contact is None else _span(outcome.to_first_contact)
        if outcome.state == "met":
            detail = f"first contact after {took}" if took else ""
            return SlaState(
                f"SLA met at {_moment(first_contact_at)}", deadline=deadline, settled=True, detail=detail
            )
        detail = f"first contact {_moment(first_contact_at)}" + (f" (after {took})" if took else "")
        text = f"SLA missed by {_span(outcome.delta)}"
        return SlaState(text, deadline=deadline, settled=True, missed=True, detail=detail)
    if outcome.state == "closed":
        return SlaState("Closed", deadline=deadline)
    if outcome.state == "none":
        return SlaState("No SLA")
    if outcome.state == "overdue":
        return SlaState(f"Overdue by {_span(outcome.delta)}", overdue=True, deadline=deadline)
    return SlaState(f"{_span(outcome.delta)} left", soon=outcome.delta <= SLA_SOON, deadline=deadline)


@register.simple_tag
def sla_state(eql: Any, now: dt.datetime | None = None) -> SlaState:
    return sla_state_of(
        eql.sla_deadline,
        eql.status,
        now,
        first_contact_at=eql.first_contact_at,
        started_at=eql.assigned_at or eql.created_at,
    )


def _reading(value: float | None, *, as_percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.0f}%" if as_percent else _number(value)


def signal_sentence_of(trigger: dict, definition: Any | None, target: str = "") -> str:
    """A triggered signal in words: its value against the threshold, as the rule reads it.

    'Seat utilisation 94% ≥ 90% for 7 days', 'Team spread +2 vs 30 days ago (rule > 0)',
    'Export volume 3.4 times its level 90 days ago' (with a multiplication sign),
    'Feature adjacency (Integrations hub) 17 ≥ 3'."""
    value, threshold = trigger.get("value"), trigger.get("threshold")
    if definition is None:
        return (
            f"{humanize_key(trigger.get('signal', ''))} {_reading(value, as_percent=False)} "
            f"(threshold {_reading(threshold, as_percent=False)})"
        )
    name = definition.name + (f" ({humanize_key(target)})" if target else "")
    symbol = OPERATOR_SYMBOLS.get(definition.operator, definition.operator)
    if definition.compare == "change":
        shown = "—" if value is None else (f"+{_number(value)}" if value > 0 else _number(value))
        return (
            f"{name} {shown} vs {definition.window_days} days ago "
            f"(rule {symbol} {_reading(threshold, as_percent=False)})"
        )
    if definition.compare == "ratio":
        shown = "—" if value is None else f"{value:.1f}{TIMES}"
        return (
            f"{name} {shown} its level {definition.window_days} days ago "
            f"(rule {symbol} {_reading(threshold, as_percent=False)}{TIMES})"
        )
    as_percent = bool(definition.denominator_field or definition.denominator_metric)
    shown, limit = _reading(value, as_percent=as_percent), _reading(threshold, as_percent=as_percent)
    text = f"{name} {shown} {symbol} {limit}"
    if definition.persistence_days > 1:
        text += f" for {definition.persistence_days} days"
    return text


@register.simple_tag
def signal_sentence(trigger: dict, signals: dict | None, targets: dict | None = None) -> str:
    key = trigger.get("signal", "")
    return signal_sentence_of(trigger, (signals or {}).get(key), (targets or {}).get(key, ""))


def route_label_of(key: str) -> str:
    """'ae' -> 'AE-led', 'csm_review' -> 'CSM review' (the route's own label)."""
    try:
        return Route(key).label
    except ValueError:
        return humanize_key(key)


@register.filter
def route_label(key: str) -> str:
    return route_label_of(key)


@register.filter
def person_name(email: str, eql: Any) -> str:
    """The name of the person on an EQL (owner, CSM, the account's CSM) with this email; the email
    itself when none of them has it or the person has no name."""
    wanted = (email or "").strip().lower()
    account = getattr(eql, "account", None)
    for person in (getattr(eql, "owner", None), getattr(eql, "csm", None), getattr(account, "csm", None)):
        if person is not None and (person.email or "").lower() == wanted:
            return person.display_name
    return email


@register.filter
def key_label(key: str) -> str:
    """'bad_timing' -> 'Bad timing'."""
    return humanize_key(key)


@register.filter
def split(text: str, sep: str | None = None) -> list[str]:
    """'a b c' -> ['a', 'b', 'c'] (for small fixed lists in templates)."""
    return str(text).split(sep)


def series_summary_of(series: Any) -> str:
    """One sentence a screen reader gets instead of the sparkline."""
    if series is None or not series.values:
        return ""

    def show(v: float) -> str:
        return f"{v * 100:.0f}%" if series.percent else _number(round(v, 2))

    text = (
        f"{series.label} went from {show(series.values[0])} on {formatting.day(series.dates[0])} "
        f"to {show(series.values[-1])} on {formatting.day(series.dates[-1])}"
    )
    if series.threshold is not None:
        text += f"; threshold {show(series.threshold)}"
    return text + "."


@register.simple_tag
def series_summary(series: Any) -> str:
    return series_summary_of(series)
