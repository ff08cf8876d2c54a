"""RevOps and manager report pages: coverage diagnostic, signal conversion, weekly team KPIs.

Read-only (GET/HEAD): RevOps, Managers, Finance and superusers may read; AEs and CSMs get 403.
Numbers come from the pure cores (``dashboards.metrics``, ``dashboards.conversion``) over frames the
selectors build with a fixed number of queries; figures from ``dashboards.charts``. The coverage page
and its CSV read a stored snapshot (``dashboards.services``), computed once per scoring pass or on demand.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dashboards import charts, conversion
from dashboards import report_selectors as rs
from dashboards.formatting import day, percent, share
from dashboards.formatting import money as plain_money
from dashboards.inbox import notifications_for
from dashboards.metrics import DEFAULT_DIMENSIONS, DEFAULT_MIN_TOP, Dimension, params_key, untouched_records
from dashboards.models import CoverageSnapshot
from dashboards.selectors import coverage_at_days, coverage_for, coverage_snapshot_for
from dashboards.services import coverage_snapshot_request
from expansion.models import EQLStatus, Role, Segment
from routing import selectors as routing_selectors

#: Roles that may read the reports (superusers too).
REPORT_READERS = (Role.REVOPS, Role.MANAGER, Role.FINANCE)
#: Roles that may have a coverage snapshot not stored yet computed in the background (superusers too).
COVERAGE_COMPUTERS = (Role.REVOPS, Role.MANAGER)
SCENARIOS = ("conservative", "middle", "upside")
#: Weeks of the weekly signal table shown on the page, newest first (the chart shows them all).
WEEKS_ON_PAGE = 26
BY_CHOICES = {"signal": "By signal", "owner": "By owner", "segment": "By segment"}
TIMES = "\u00d7"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DIMENSION_KEYS = {d.name.lower().replace(" ", "_"): d for d in DEFAULT_DIMENSIONS}
FIRE_FLAG_LABELS = {
    "too_permissive": ("too permissive", "bad"),
    "above_band": ("above band", "warn"),
    "healthy": ("in band", "ok"),
    "below_band": ("below band", "warn"),
    "too_restrictive": ("too restrictive", "bad"),
    "": ("no eligible accounts", "none"),
}
SEGMENT_LABELS = dict(Segment.choices)


def report_reader(view: Callable) -> Callable:
    """Login required, a report reader's role (RevOps, Manager, Finance, superuser), GET/HEAD only."""

    @login_required
    @require_safe
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.is_superuser or user.role in REPORT_READERS):
            raise PermissionDenied("The reports are for RevOps, managers and Finance.")
        return view(request, *args, **kwargs)

    return wrapped


# ---------------------------------------------------------------------------------------- formatting


def money(value: Any) -> str:
    """An amount in the reporting currency ('$48,000'), the one money format of the pages."""
    return plain_money(value, currency=settings.REPORTING_CURRENCY)


def hours(value: float | None) -> str:
    """Hours as '5.5 h' under two days, '3.2 d' above; '—' when nobody was contacted."""
    if value is None:
        return "—"
    if value >= 48:
        return f"{value / 24:.1f} d"
    return f"{value:.1f} h"


def csv_cell(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: text starting with = + - @ (or tab/CR) gets a leading
    single quote; numbers stay numbers; missing values are empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else round(float(value), 6)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _parse_date(text: str | None, default: dt.date, errors: list[str], label: str = "as_of") -> dt.date:
    if not text:
        return default
    try:
        value = dt.date.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{label}: cannot read {text!r} as a date; use YYYY-MM-DD. Showing {default:%Y-%m-%d}.")
        return default
    if value > default:
        errors.append(f"{label}: {value:%Y-%m-%d} is in the future. Showing {default:%Y-%m-%d}.")
        return default
    return value


def _page(request: HttpRequest, template: str, report: str, context: dict) -> HttpResponse:
    context = {"report": report, "notifications": notifications_for(request.user), **context}
    return render(request, template, context)


# ------------------------------------------------------------------------------------------ coverage


def _coverage_params(request: HttpRequest) -> tuple[dt.date, tuple[Dimension, ...], int, list[str]]:
    errors: list[str] = []
    as_of = _parse_date(request.GET.get("as_of"), timezone.localdate(), errors)
    keys = [k for k in request.GET.getlist("dim") if k]
    unknown = [k for k in keys if k not in DIMENSION_KEYS]
    if unknown:
        errors.append(f"Unknown dimension {', '.join(unknown)}; choose from {', '.join(DIMENSION_KEYS)}.")
    dims = tuple(DIMENSION_KEYS[k] for k in DIMENSION_KEYS if k in keys) or DEFAULT_DIMENSIONS
    default_k = min(DEFAULT_MIN_TOP, len(dims))
    k = default_k
    if request.GET.get("k"):
        try:
            k = int(request.GET["k"])
        except ValueError:
            errors.append(f"k: {request.GET['k']!r} is not a whole number; using {default_k}.")
            k = default_k
        if not 1 <= k <= len(dims):
            errors.append(
                f"k must be between 1 and {len(dims)} (the number of dimensions chosen); using {default_k}."
            )
            k = default_k
    return as_of, dims, k, errors


def _coverage_query(as_of: dt.date, dims: tuple[Dimension, ...], k: int) -> str:
    params: list[tuple[str, str]] = [("as_of", as_of.isoformat()), ("k", str(k))]
    if dims != DEFAULT_DIMENSIONS:
        params += [("dim", key) for key, d in DIMENSION_KEYS.items() if d in dims]
    return urlencode(params)


def _may_compute(user) -> bool:
    """RevOps and Managers (and superusers) may have a missing coverage snapshot computed."""
    return user.is_superuser or user.role in COVERAGE_COMPUTERS


def _scenario_words(data: dict[str, Any]) -> list[dict[str, str]]:
    top = data["quartiles"][-1]
    n, median = data["untouched"], money(data["median_won_expansion_arr"])
    words = {
        "conservative": f"A fixed 35% of the {n} untouched expansion-ready accounts expand, each at the "
        f"median won expansion ARR of the last 365 days ({median}).",
        "middle": f"They expand at the top usage quartile's historical touch-to-won rate: {top['won']} of "
        f"{top['touched']} top-quartile accounts touched in the last 365 days won an expansion afterwards "
        f"({percent(top['conversion'], 1)}), each at the median won expansion ARR ({median}).",
        "upside": f"The middle rate {TIMES} 1.25, capped at 100% (a deliberate approach to accounts "
        f"nobody has called does a little better than history), each at the median won expansion ARR "
        f"({median}).",
    }
    rows = []
    for name in SCENARIOS:
        s = data["scenarios"][name]
        rows.append(
            {
                "name": name.capitalize(),
                "rate": percent(s["attach_rate"], 1),
                "estimate": money(s["estimate"]),
                "formula": f"{s['accounts']} {TIMES} {percent(s['attach_rate'], 1)} {TIMES} "
                f"{money(s['median_won_expansion_arr'])}",
                "words": words[name],
            }
        )
    return rows


def _untouched_page_rows(untouched: dict[str, Any]) -> list[dict[str, Any]]:
    records = [dict(zip(untouched["columns"], row, strict=True)) for row in untouched["rows"]]
    links = rs.account_links([str(r["account_id"]) for r in records])
    return [
        {
            "account_id": r["account_id"],
            "name": r["name"],
            "segment": SEGMENT_LABELS.get(r["segment"], r["segment"]),
            "contract_arr": money(r["contract_arr"]),
            "quartile": "" if r["quartile"] is None else int(r["quartile"]),
            "top_count": int(r["top_count"]),
            "days_since_touch": "over 365" if r["days_since_touch"] is None else int(r["days_since_touch"]),
            "link": links.get(r["account_id"]),
        }
        for r in records
    ]


def _coverage_context(snapshot: CoverageSnapshot) -> dict[str, Any]:
    """The page's numbers from a stored snapshot (formatting only; 1 query for the account links)."""
    payload = snapshot.payload
    data = payload["result"]
    untouched_rows = _untouched_page_rows(payload["untouched_first"])
    quartile_rows = [
        {
            "quartile": q["quartile"],
            "accounts": q["accounts"],
            "touched": q["touched"],
            "touched_share": percent(q["touched"] / q["accounts"] if q["accounts"] else None),
            "won": q["won"],
            "conversion": percent(q["conversion"], 1) if q["touched"] else "—",
        }
        for q in reversed(data["quartiles"])
    ]
    segments = [
        {
            "name": SEGMENT_LABELS.get(name, name),
            **row,
            "rate": percent(row["coverage_rate"], 1) if row["expansion_ready"] else "—",
        }
        for name, row in sorted(data["by_segment"].items())
    ]
    trend = payload["trend"]
    return {
        "result": data,
        "cuts": [
            {"name": d["name"], "cut": "—" if d["cut"] is None else f"{d['cut']:,.3g}"}
            for d in data["dimensions"]
        ],
        "coverage_rate": percent(data["coverage_rate"], 1) if data["expansion_ready"] else "—",
        "untouched_rows": untouched_rows,
        "untouched_more": max(0, data["untouched"] - len(untouched_rows)),
        "quartile_rows": quartile_rows,
        "segments": segments,
        "scenarios": _scenario_words(data),
        "median_won": money(data["median_won_expansion_arr"]),
        "trend": [{**p, "rate": percent(p["coverage_rate"], 1)} for p in trend],
        "figures": payload["figures"],
    }


@report_reader
def coverage(request: HttpRequest) -> HttpResponse:
    """The coverage diagnostic at ``?as_of`` (default: the latest computed) with ``?k`` (min top
    dimensions) and ``?dim`` choices, served from its stored snapshot.

    A date or choice not stored yet is queued for RevOps and Managers (the page shows its progress and
    reloads when done); Finance is told it is not computed and pointed at the latest one."""
    as_of, dims, k, errors = _coverage_params(request)
    key = params_key(dims, k)
    asked = bool(request.GET.get("as_of"))  # unreadable or future: today, as the message says
    snapshot = coverage_snapshot_for(key, as_of if asked else None)
    if snapshot is not None:
        as_of = snapshot.as_of
    ready = snapshot is not None and snapshot.computed_at is not None
    if request.htmx and request.GET.get("partial") == "progress":
        if ready or snapshot is None or snapshot.status == CoverageSnapshot.Status.FAILED:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        context = {"pending": snapshot, "progress_query": _coverage_query(as_of, dims, k)}
        return render(request, "dashboards/reports/coverage.html#progress", context)
    latest = None
    if not ready:
        if _may_compute(request.user):
            snapshot, problem = coverage_snapshot_request(
                as_of=as_of, dimensions=dims, min_top=k, requested_by=request.user
            )
            if problem:
                errors.append(problem)
        else:
            latest = coverage_snapshot_for(key)
            errors.append(
                f"The coverage on {day(as_of)} has not been computed yet. RevOps or a manager can "
                "have it computed by opening this date"
                + (f"; the latest computed is {day(latest.as_of)}." if latest else ".")
            )
    query = _coverage_query(as_of, dims, k)
    context = {
        "errors": errors,
        "as_of": as_of,
        "k": k,
        "k_choices": range(1, len(dims) + 1),
        "dimensions": [
            {"key": key, "name": d.name, "checked": d in dims} for key, d in DIMENSION_KEYS.items()
        ],
        "ready": ready,
        "snapshot": snapshot,
        "pending": snapshot if snapshot is not None and snapshot.is_pending else None,
        "latest_query": _coverage_query(latest.as_of, dims, k) if latest else "",
        "progress_query": query,
        "csv_url_query": query,
        **(_coverage_context(snapshot) if ready else {}),
    }
    return _page(request, "dashboards/reports/coverage.html", "coverage", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@report_reader
def coverage_untouched_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every untouched expansion-ready account at ``?as_of`` (same ``?k``/``?dim`` as the page; default
    the latest computed), highest contract ARR first, with its owners; formula-like text cells are
    neutralised for spreadsheets. Served from the stored snapshot, computed afresh when there is none."""
    as_of, dims, k, _errors = _coverage_params(request)
    asked = bool(request.GET.get("as_of"))  # unreadable or future: today, as the message says
    snapshot = coverage_snapshot_for(params_key(dims, k), as_of if asked else None, with_untouched=True)
    if snapshot is not None and snapshot.computed_at is not None:
        as_of, untouched = snapshot.as_of, snapshot.untouched
    else:
        untouched = untouched_records(coverage_for(as_of, dims, min_top=k))
    columns, records = untouched["columns"], untouched["rows"]
    links = rs.account_links([str(r[0]) for r in records])
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"
        yield writer.writerow([*columns, "ae", "csm"])
        for record in records:
            link = links.get(record[0])
            cells = [*record, link.ae if link else "", link.csm if link else ""]
            yield writer.writerow([csv_cell(c) for c in cells])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="untouched-{as_of:%Y-%m-%d}.csv"'
    return response


# ------------------------------------------------------------------------------------------- signals


def _metric_cells(m: dict[str, Any]) -> dict[str, str]:
    return {
        "eqls": m["eqls"],
        "accuracy": share(m["converted"], m["matured"]),
        "accuracy_n": f"{m['converted']}/{m['matured']}" if m["matured"] else "none matured",
        "opp": share(m["opportunities"], m["eqls"]),
        "opp_n": m["opportunities"],
        "won": share(m["won"], m["eqls"]),
        "won_n": m["won"],
        "won_arr": money(m["won_arr"]),
        "ttfc_median": hours(m["ttfc_median_hours"]),
        "ttfc_p90": hours(m["ttfc_p90_hours"]),
        "contacted": m["contacted"],
        "sla_misses": m["sla_misses"],
        "declined": m["declined"],
        "self_serve_sent": m.get("self_serve_sent", 0),
        "review_items": m.get("review_items", 0),
    }


def _rate_share(value: float | None, total: int) -> str:
    """A rate of ``total`` (4 decimals, so the count is exact) as ``share`` shows it."""
    if value is None or not total:
        return percent(None)
    return share(round(value * total), total)


def _signal_name(names: dict[str, str], key: str) -> str:
    if not key:
        return "(no signal)"
    return names.get(key) or key.replace("_", " ").capitalize()


@report_reader
def signals(request: HttpRequest) -> HttpResponse:
    """Signal conversion at ``?as_of``: per signal (primary and any fired), per owner or per segment
    (``?by=``), per week; fire rate against the band; drift and retirement flags.

    The period is the whole history the data has: from the first EQL record to ``as_of``."""
    errors: list[str] = []
    as_of = _parse_date(request.GET.get("as_of"), timezone.localdate(), errors)
    by = request.GET.get("by") or "signal"
    if by not in BY_CHOICES:
        errors.append(f"by: choose one of {', '.join(BY_CHOICES)}; showing by signal.")
        by = "signal"
    infos = rs.signal_infos()
    names = {k: i.name for k, i in infos.items()}
    outcomes = conversion.eql_outcomes(rs.eqls_frame(as_of), rs.events_frame(as_of), as_of)
    accounts = rs.report_accounts_frame()
    eqls = conversion.eqls_only(outcomes)
    overall = conversion.metrics_of(eqls)
    launch = conversion.launch_day(outcomes)

    keys = list(dict.fromkeys([*infos, *sorted({s for ss in outcomes["signals"] for s in ss})]))
    flags = conversion.signal_flags(outcomes, as_of, keys)
    weekly = conversion.weekly(outcomes, as_of)
    fire = conversion.fire_rates(outcomes, accounts, as_of, keys)

    signal_rows: list[dict[str, Any]] = []
    any_rows: list[dict[str, Any]] = []
    group_rows: list[dict[str, Any]] = []
    if by == "signal":
        primary = {r["key"]: r for r in conversion.summary_by(outcomes, "primary_signal")}
        anyfired = {r["key"]: r for r in conversion.summary_by(outcomes, "signal")}
        for key in [*keys, *(k for k in primary if k not in keys)]:
            info, f = infos.get(key), flags.get(key)
            head = {
                "key": key,
                "name": _signal_name(names, key),
                "priority": info.priority if info else "",
                "inactive": bool(info and not info.active),
            }
            signal_rows.append(
                {
                    **head,
                    "m": _metric_cells(primary[key]) if primary.get(key, {}).get("eqls") else None,
                    "flags": f,
                    "drift_text": f"4 wk {percent(f.short_accuracy)} vs 26 wk {percent(f.long_accuracy)}"
                    if f
                    else "",
                    "drift_title": f"Matured EQLs: {f.short_matured} in the 4 weeks, {f.long_matured} in "
                    f"the 26 weeks (both end {day(as_of - dt.timedelta(days=conversion.MATURITY_DAYS))})"
                    if f
                    else "",
                    "won_quarters": ", ".join(f"{q}: {n}" for q, n in f.won_by_quarter) if f else "",
                }
            )
            any_rows.append({**head, "m": _metric_cells(anyfired[key]) if key in anyfired else None})
    else:
        everyone = rs.people() if by == "owner" else {}
        for r in conversion.summary_by(outcomes, "owner_id" if by == "owner" else "segment"):
            if not r["eqls"]:
                continue
            if by == "owner":
                person = everyone.get(int(r["key"])) if r["key"] != "" else None
                label, sub = (person.display_name, person.role) if person else ("(unassigned)", "")
                order = (person is None, label.lower())
            else:
                label, sub = SEGMENT_LABELS.get(r["key"], r["key"] or "(none)"), ""
                order = (
                    r["key"] not in SEGMENT_LABELS,
                    list(SEGMENT_LABELS).index(r["key"]) if r["key"] in SEGMENT_LABELS else 0,
                )
            group_rows.append({"name": label, "sub": sub, "m": _metric_cells(r), "order": order})
        group_rows.sort(key=lambda r: r["order"])

    # Fire rate: one row per signal, one cell per quarter.
    quarters = list(dict.fromkeys(r["quarter"] for r in fire))
    fire_rows = []
    for key in keys:
        cells = []
        for r in (r for r in fire if r["signal"] == key):
            label, tone = FIRE_FLAG_LABELS[r["flag"]]
            cells.append(
                {
                    "rate": percent(r["rate"], 1),
                    "fired": r["fired"],
                    "eligible": r["eligible"],
                    "label": label,
                    "tone": tone,
                    "partial": r["partial"],
                }
            )
        fire_rows.append({"name": _signal_name(names, key), "cells": cells})

    # Week by week for all signals or the one chosen with ?signal= (weeks without any EQL left out).
    week_signal = request.GET.get("signal", "")
    if week_signal and week_signal not in keys:
        errors.append(f"signal: no signal {week_signal!r}; showing all signals week by week.")
        week_signal = ""
    chosen = [w for w in weekly if w["signal"] == week_signal]
    busy = [w for w in chosen if w["eqls"] or w["assigned"]]
    week_rows = [
        {
            "week": w["week"],
            "label": conversion.iso_week_label(w["week"]),
            "eqls": w["eqls"],
            "accuracy": _rate_share(w["accuracy"], w["matured"]),
            "matured": w["matured"],
            "assigned": w["assigned"],
            "opp": _rate_share(w["opportunity_rate"], w["eqls"]),
            "won": _rate_share(w["won_rate"], w["eqls"]),
            "ttfc_median": hours(w["ttfc_median_hours"]),
            "ttfc_p90": hours(w["ttfc_p90_hours"]),
            "sla_misses": w["sla_misses"],
        }
        for w in reversed(busy[-WEEKS_ON_PAGE:])
    ]
    ttfc = [round(h, 2) for h in eqls["ttfc_hours"].dropna().astype(float)]
    colours = charts.signal_colours(keys)
    context = {
        "errors": errors,
        "as_of": as_of,
        "by": by,
        "by_choices": [
            {"key": key, "label": label, "query": urlencode({"as_of": as_of.isoformat(), "by": key})}
            for key, label in BY_CHOICES.items()
        ],
        "launch": launch,
        "period_weeks": len(conversion.weeks_between(launch, as_of)) if launch else 0,
        "first_matures": conversion.first_maturity_day(outcomes),
        "overall": _metric_cells(overall),
        "review_items": int(outcomes["review_item"].sum()) if len(outcomes) else 0,
        "signal_rows": signal_rows,
        "any_rows": any_rows,
        "group_rows": group_rows,
        "quarters": quarters,
        "fire_rows": fire_rows,
        "week_rows": week_rows,
        "weeks_total": len(chosen),
        "weeks_busy": len(busy),
        "week_signal": week_signal,
        "week_signals": [{"key": k, "name": _signal_name(names, k)} for k in keys],
        "drift_count": sum(1 for f in flags.values() if f.drift),
        "retire_count": sum(1 for f in flags.values() if f.retire),
        "figures": {
            "accuracy": charts.accuracy_trend(weekly, names, colours) if weekly else None,
            "fire": charts.fire_rate_band(fire, names, colours) if fire else None,
            "ttfc": charts.time_to_contact_histogram(
                ttfc, overall["ttfc_median_hours"], overall["ttfc_p90_hours"]
            )
            if ttfc
            else None,
        },
    }
    return _page(request, "dashboards/reports/signals.html", "signals", context)


# ---------------------------------------------------------------------------------------------- KPIs


KPI_METRICS = (
    ("eqls_created", "EQLs created", "count", True),
    ("ttfc_median_hours", "Median time to first contact", "hours", False),
    ("accuracy", "Accuracy (30-day)", "pct", True),
    ("coverage", "Coverage of book", "pct", True),
    ("won_arr", "Expansion ARR won", "money", True),
)


def _kpi_value(kind: str, value: Any) -> str:
    if kind == "pct":
        return percent(value)
    if kind == "hours":
        return hours(value)
    if kind == "money":
        return money(value)
    return str(value)


def _kpi_cells(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    cells = []
    for key, _label, kind, higher_is_better in KPI_METRICS:
        now, before = current[key], previous[key]
        arrow = tone = ""
        if now is not None and before is not None and now != before:
            arrow = "▲" if now > before else "▼"
            tone = "better" if (now > before) == higher_is_better else "worse"
        detail = {
            "ttfc_median_hours": f"{current['contacted']} of {current['assigned']} contacted"
            if current["assigned"]
            else "",
            "accuracy": f"{current['accuracy_matured']} matured" if current["accuracy_matured"] else "",
            "coverage": f"{current['book_covered']} of {current['book_ready']} ready"
            if current["book_ready"]
            else "",
            "won_arr": f"{current['won']} won" if current["won"] else "",
        }.get(key, "")
        cells.append(
            {
                "key": key,
                "now": _kpi_value(kind, now),
                "before": _kpi_value(kind, before),
                "arrow": arrow,
                "tone": tone,
                "detail": detail,
            }
        )
    return cells


@report_reader
def kpis(request: HttpRequest) -> HttpResponse:
    """Weekly KPIs per team member for ``?week=YYYY-Www`` (default this week) beside the week before.

    A Manager sees their direct reports; RevOps, Finance and superusers every AE and CSM, or one
    manager's team with ``?team=<manager id>``."""
    errors: list[str] = []
    today = timezone.localdate()
    this_week = conversion.week_start(today)
    week = this_week
    if request.GET.get("week"):
        try:
            week = conversion.parse_iso_week(request.GET["week"])
        except ValueError as exc:
            errors.append(f"week: {exc}. Showing this week.")
        if week > this_week:
            errors.append("week: that week has not started yet. Showing this week.")
            week = this_week
    as_of = min(week + dt.timedelta(days=6), today)
    prev_week = week - dt.timedelta(weeks=1)
    prev_as_of = prev_week + dt.timedelta(days=6)

    everyone = rs.people()
    team_id = None
    can_pick_team = request.user.is_superuser or request.user.role in (Role.REVOPS, Role.FINANCE)
    if can_pick_team and request.GET.get("team"):
        try:
            team_id = int(request.GET["team"])
        except ValueError:
            errors.append("team: not a manager id; showing everyone.")
    members = rs.team_members(request.user, everyone, team_id)
    member_ids = [m.pk for m in members]

    eqls = rs.eqls_frame(as_of)
    events = rs.events_frame(as_of)
    accounts = rs.report_accounts_frame()
    # Open and overdue are read now, whichever week is shown (a past week's frame misses newer EQLs).
    now = timezone.now()
    live = eqls if as_of == today else rs.eqls_frame(today)
    # Both weeks' coverage from one read of the data (it was read and computed twice).
    coverage = coverage_at_days([as_of, prev_as_of])
    current = conversion.member_kpis(
        conversion.eql_outcomes(eqls, events, as_of),
        coverage[as_of].table,
        accounts,
        member_ids,
        week,
        as_of,
        live=live,
        now=now,
    )
    previous = conversion.member_kpis(
        conversion.eql_outcomes(eqls, events, prev_as_of),
        coverage[prev_as_of].table,
        accounts,
        member_ids,
        prev_week,
        prev_as_of,
    )
    stage_specs = routing_selectors.stage_sla_specs()
    breaches = routing_selectors.stage_breach_counts(owner_ids=member_ids, now=now, specs=stage_specs)
    stage_columns = [
        {
            "status": status,
            "label": EQLStatus(status).label,
            "limit": f"{spec.hours} h" if spec.hours is not None else f"{spec.business_days} business days",
        }
        for status, spec in sorted(stage_specs.items(), key=lambda kv: list(EQLStatus.values).index(kv[0]))
    ]

    def stage_cells(counts: dict[str, int]) -> list[int]:
        return [counts.get(c["status"], 0) for c in stage_columns]

    team_breaches: dict[str, int] = {}
    for per_stage in breaches.values():
        for status, n in per_stage.items():
            team_breaches[status] = team_breaches.get(status, 0) + n
    rows = [
        {
            "name": m.display_name,
            "email": m.email,
            "role": m.role,
            "stage_breaches": stage_cells(breaches.get(m.pk, {})),
            "stage_breaches_total": sum(breaches.get(m.pk, {}).values()),
            "cells": _kpi_cells(current[m.pk], previous[m.pk]),
            "open_now": current[m.pk]["open_now"],
            "overdue_now": current[m.pk]["overdue_now"],
            "queue_query": urlencode({"owner": m.pk}),
        }
        for m in members
    ]
    base = {"team": str(team_id)} if team_id is not None else {}
    next_week = week + dt.timedelta(weeks=1)
    context = {
        "errors": errors,
        "week": week,
        "week_label": conversion.iso_week_label(week),
        "week_end": week + dt.timedelta(days=6),
        "as_of": as_of,
        "partial": as_of < week + dt.timedelta(days=6),
        "prev_label": conversion.iso_week_label(prev_week),
        "prev_short": f"W{prev_week.isocalendar()[1]:02d}",
        "prev_query": urlencode({**base, "week": conversion.iso_week_label(prev_week)}),
        "next_query": urlencode({**base, "week": conversion.iso_week_label(next_week)})
        if next_week <= this_week
        else "",
        "metrics": [{"key": k, "label": label} for k, label, _kind, _hib in KPI_METRICS],
        "rows": rows,
        "team_row": _kpi_cells(current[None], previous[None]),
        "team_open_now": current[None]["open_now"],
        "team_overdue_now": current[None]["overdue_now"],
        "stage_columns": stage_columns,
        "team_stage_breaches": stage_cells(team_breaches),
        "team_stage_breaches_total": sum(team_breaches.values()),
        "now": now,
        "can_pick_team": can_pick_team,
        "teams": rs.managers(everyone) if can_pick_team else [],
        "team_id": team_id,
        "scope": (
            "your direct reports"
            if request.user.role == Role.MANAGER and not request.user.is_superuser
            else (f"{everyone[team_id].display_name}'s team" if team_id in everyone else "every AE and CSM")
        ),
    }
    return _page(request, "dashboards/reports/kpis.html", "kpis", context)
