"""Pure rules of a trigger beyond its arithmetic: what a condition must say, how a trigger reads in plain
language, and when a timed trigger is due.

No ORM: the admin form, ``manage.py config apply`` and the pass call these with ``scoring.config`` specs.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from routing.stage_sla import WEEKEND, zone
from scoring import config as cfg

__all__ = [
    "EVENT_NAME",
    "condition_problems",
    "condition_text",
    "due_at",
    "summary",
    "timing_holds",
    "trigger_due",
]

#: What an event name may contain (the events import applies the same rule).
EVENT_NAME = re.compile(r"^[a-z0-9_.:-]{1,120}$")

_OPERATOR_WORDS = {
    "gte": ">=",
    "gt": ">",
    "lte": "<=",
    "lt": "<",
    "eq": "=",
    "ne": "is not",
    "in": "is",
    "not_in": "is not",
}
_FIELD_WORDS = {
    "plan_tier": "tier",
    "contract_arr": "contract value",
    "tenure_days": "tenure (days)",
    "health_score": "health",
    "seats_licensed": "seats licensed",
    "api_limit_30d": "API limit (30 days)",
}


def condition_problems(c: cfg.ConditionSpec) -> dict[str, str]:
    """Field name -> what to fix, for one condition ({} = fine)."""
    problems: dict[str, str] = {}
    if c.kind not in cfg.CONDITION_KINDS:
        return {"kind": f"unknown kind {c.kind!r}; use one of {', '.join(cfg.CONDITION_KINDS)}"}
    if c.kind in (cfg.CONDITION_METRIC, cfg.CONDITION_TREND, cfg.CONDITION_FAMILY_COUNT) and not c.metric:
        problems["metric"] = "name the metric this condition reads"
    if c.kind == cfg.CONDITION_FAMILY_COUNT and c.metric and not c.metric.endswith(cfg.MODULE_WILDCARD):
        problems["metric"] = f"a family count reads a family: end the metric with {cfg.MODULE_WILDCARD!r}"
    if c.kind == cfg.CONDITION_FIELD:
        if c.subject not in cfg.ACCOUNT_FIELDS:
            problems["subject"] = f"use an account field: {', '.join(cfg.ACCOUNT_FIELDS)}"
        if c.operator in cfg.SET_OPERATORS and not c.members:
            problems["value"] = "list the set's members, separated by ';' (e.g. Starter;Professional)"
        elif c.operator not in cfg.SET_OPERATORS and not c.value.strip():
            problems["value"] = "give the value to compare the field with"
    elif c.operator in cfg.SET_OPERATORS:
        problems["operator"] = "'is one of' / 'is none of' only apply to account-field conditions"
    if c.kind == cfg.CONDITION_EVENT_COUNT:
        if not EVENT_NAME.match(c.subject or ""):
            problems["subject"] = "name the event (lower-case letters, digits and _ . : - only)"
        if c.window_days < 1:
            problems["window_days"] = "count events over at least the last 1 day"
    if c.kind == cfg.CONDITION_TREND:
        if c.window_days < 1:
            problems["window_days"] = "a trend compares with a day at least 1 day back"
        if c.direction not in (cfg.TREND_DECLINING, cfg.TREND_RISING):
            problems["direction"] = "choose declining or rising"
    if c.kind == cfg.CONDITION_METRIC and c.compare != cfg.COMPARE_VALUE and c.window_days < 1:
        problems["window_days"] = "a change or multiple needs a window of at least 1 day"
    if c.persistence_days < 1:
        problems["persistence_days"] = "must be at least 1"
    return problems


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


def _metric_words(metric: str) -> str:
    if metric.endswith(cfg.MODULE_WILDCARD):
        return f"{metric[: -len(cfg.MODULE_WILDCARD)].replace('_', ' ')} of a module not owned"
    return metric.replace("_", " ")


def _clause(
    *, metric: str, compare: str, operator: str, threshold: float, window: int, denominator: str
) -> str:
    what = _metric_words(metric)
    if denominator:
        what = f"{what} / {denominator.replace('_', ' ')}"
        if 0 < threshold <= 1.5:
            return f"{what} {_OPERATOR_WORDS.get(operator, operator)} {threshold:.0%}"
    if compare == cfg.COMPARE_CHANGE:
        what = f"the change in {what} over {window} days"
    elif compare == cfg.COMPARE_RATIO:
        op = _OPERATOR_WORDS.get(operator, operator)
        return f"{what} {op} {_number(threshold)}x its value {window} days before"
    return f"{what} {_OPERATOR_WORDS.get(operator, operator)} {_number(threshold)}"


def _persist(days: int) -> str:
    return f" for {days} days in a row" if days > 1 else ""


def condition_text(c: cfg.ConditionSpec) -> str:
    if c.kind == cfg.CONDITION_METRIC:
        return _clause(
            metric=c.metric,
            compare=c.compare,
            operator=c.operator,
            threshold=c.threshold,
            window=c.window_days,
            denominator=c.denominator_metric or c.denominator_field,
        ) + _persist(c.persistence_days)
    if c.kind == cfg.CONDITION_TREND:
        return f"{_metric_words(c.metric)} is {c.direction} over {c.window_days} days" + _persist(
            c.persistence_days
        )
    if c.kind == cfg.CONDITION_FIELD:
        field = _FIELD_WORDS.get(c.subject, c.subject.replace("_", " "))
        if c.operator in cfg.SET_OPERATORS:
            members = list(c.members)
            listed = members[0] if len(members) == 1 else ", ".join(members[:-1]) + f" or {members[-1]}"
            return f"{field} {'is' if c.operator == 'in' else 'is not'} {listed}"
        return f"{field} {_OPERATOR_WORDS.get(c.operator, c.operator)} {c.value}"
    if c.kind == cfg.CONDITION_FAMILY_COUNT:
        return (
            f"{_OPERATOR_WORDS.get(c.operator, c.operator)} {_number(c.threshold)} "
            f"{c.metric[: -len(cfg.MODULE_WILDCARD)].replace('_', ' ')} in use"
        )
    if c.kind == cfg.CONDITION_EVENT_COUNT:
        return (
            f"{c.subject} events in the last {c.window_days} days "
            f"{_OPERATOR_WORDS.get(c.operator, c.operator)} {_number(c.threshold)}"
        )
    return c.kind


def summary(spec: cfg.SignalSpec) -> str:
    """How RevOps reads a trigger, e.g. "fires when seat utilisation > 85% for 7 days in a row and
    tier is Starter or Professional; counts from the next business day 10:00 local; cooldown 30 days"."""
    parts = (
        []
        if not spec.has_metric
        else [
            _clause(
                metric=spec.metric,
                compare=spec.compare,
                operator=spec.operator,
                threshold=spec.threshold,
                window=spec.window_days,
                denominator=spec.denominator_metric or spec.denominator_field,
            )
            + _persist(spec.persistence_days)
        ]
    )
    parts += [condition_text(c) for c in spec.conditions]
    if spec.segments:
        parts.append(f"segment is {' or '.join(spec.segments)}")
    if spec.tiers:
        parts.append(f"tier is {' or '.join(spec.tiers)}")
    if not parts:
        return "fires nowhere: give it a metric or at least one condition"
    text = "fires when " + " and ".join(parts)
    timing = []
    if spec.delay_hours:
        timing.append(f"counts {spec.delay_hours} h after it first fires")
    if spec.deliver_hour is not None:
        timing.append(
            f"delivered the next business day at {spec.deliver_hour:02d}:00 in the account's time zone"
        )
    if spec.evaluate_on_arrival:
        timing.append("scored as soon as its events arrive")
    timing.append(f"cooldown {spec.cooldown_days} days" if spec.cooldown_days else "no cooldown")
    return text + "; " + "; ".join(timing)


def due_at(
    *, first_seen: dt.datetime, delay_hours: int, deliver_hour: int | None, tz_name: str, default_tz: str
) -> dt.datetime:
    """When a trigger first seen firing at ``first_seen`` starts to count: ``delay_hours`` later and, with
    ``deliver_hour``, not before the next business day (Mon-Fri) at that local hour in the account's
    zone (``tz_name``, blank or unknown: ``default_tz``)."""
    due = first_seen + dt.timedelta(hours=delay_hours)
    if deliver_hour is not None:
        tz = zone(tz_name, default_tz)
        day = first_seen.astimezone(tz).date() + dt.timedelta(days=1)
        while day.weekday() in WEEKEND:
            day += dt.timedelta(days=1)
        due = max(due, dt.datetime.combine(day, dt.time(int(deliver_hour)), tzinfo=tz))
    return due


def timing_holds(
    spec: cfg.SignalSpec,
    firing: np.ndarray,
    first_seen: pd.Series | None,
    zones: pd.Series | None,
    *,
    at: dt.datetime,
    default_tz: str,
) -> np.ndarray:
    """Accounts (in the order of ``firing``) whose firing timed trigger is not due yet at ``at``.

    ``first_seen``: when each account was first seen firing (NaT: this pass is the first); ``zones``:
    each account's IANA zone."""
    held = np.zeros(len(firing), dtype=bool)
    if not spec.is_timed:
        return held
    for i in np.flatnonzero(firing):
        seen = first_seen.iloc[i] if first_seen is not None else pd.NaT
        zone_name = zones.iloc[i] if zones is not None else ""
        held[i] = at < trigger_due(spec, seen, zone_name, at=at, default_tz=default_tz)
    return held


def trigger_due(
    spec: cfg.SignalSpec, first_seen, zone_name, *, at: dt.datetime, default_tz: str
) -> dt.datetime:
    """When ``spec`` counts for an account it was first seen firing at ``first_seen`` (NaT or None:
    now, at ``at``) in zone ``zone_name`` (blank or missing: ``default_tz``)."""
    start = at if first_seen is None or pd.isna(first_seen) else pd.Timestamp(first_seen).to_pydatetime()
    zone = "" if zone_name is None or pd.isna(zone_name) else str(zone_name)
    return due_at(
        first_seen=start,
        delay_hours=spec.delay_hours,
        deliver_hour=spec.deliver_hour,
        tz_name=zone,
        default_tz=default_tz,
    )
