"""Reads of the split-credit log for Finance: the filtered log, totals per person, one EQL's
decision tree. Query counts stay fixed whatever the number of entries."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.dateformat import format as date_format

from expansion.models import EQL, AttributionEntry, Route, User
from routing.attribution import rules

QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


def entries_filtered(*, filters: Mapping[str, Any]) -> QuerySet[AttributionEntry]:
    """The log filtered by Finance's filters (period YYYY-MM or YYYY-Qn, person, team, account,
    primary signal, credit type; an empty or missing filter filters nothing)."""
    qs = AttributionEntry.objects.all()
    data = filters
    period = data.get("period")
    if period and QUARTER_RE.match(period):
        qs = qs.filter(period__in=rules.periods_of_quarter(period))
    elif period:
        qs = qs.filter(period=period)
    if data.get("person"):
        qs = qs.filter(person_id=data["person"])
    if data.get("team"):
        qs = qs.filter(person__manager_id=data["team"])
    if data.get("account"):
        text = data["account"].strip()
        qs = qs.filter(Q(account__account_id__iexact=text) | Q(account__name__icontains=text))
    if data.get("signal"):
        qs = qs.filter(eql__primary_signal=data["signal"])
    if data.get("credit_type"):
        qs = qs.filter(credit_type=data["credit_type"])
    return qs


@dataclass(frozen=True)
class PersonTotal:
    person: User | None
    period: str
    quota: Decimal
    attainment: Decimal


def person_totals(qs: QuerySet[AttributionEntry]) -> tuple[list[PersonTotal], list[PersonTotal]]:
    """Quota credit and attainment per person per month and per quarter (reversals net out)."""
    rows = qs.order_by().values("person_id", "period", "credit_type").annotate(amount=Sum("amount"))
    months, quarters = rules.totals(rows)
    people = User.objects.in_bulk({r.person_id for r in months})

    def named(items):
        return [PersonTotal(people.get(r.person_id), r.period, r.quota, r.attainment) for r in items]

    return named(months), named(quarters)


@dataclass
class Step:
    question: str
    answer: str
    outcome: str = ""
    taken: bool = True


def _plain_money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def _day(value: Any) -> str:
    """'4 Dec 2025' (local time), the app's date format."""
    if value is None:
        return "an unknown date"
    return date_format(timezone.localtime(value), "j M Y")


def _route_label(key: str) -> str:
    try:
        return Route(key).label
    except ValueError:
        return str(key)


def decision_steps(
    eql: EQL,
    basis: dict,
    entries: list[AttributionEntry],
    *,
    money: Callable[[Any], str] = _plain_money,
) -> list[Step]:
    """The questions Finance asks of one EQL's credit, answered in words: route labels ("AE-led"),
    people by name, amounts through ``money`` (the page passes the reporting-currency formatter)."""
    route = basis.get("route", eql.route)
    people = {
        p.email.lower(): p.display_name
        for p in [eql.owner, eql.csm, eql.account.csm, *(e.person for e in entries)]
        if p is not None and p.email
    }

    def named(email: str | None) -> str:
        return people.get((email or "").lower(), email or "")

    involvement = basis.get("csm_involvement_required", eql.csm_involvement_required)
    threshold = basis.get("co_owned_threshold")
    estimate = basis.get("estimated_expansion_arr", str(eql.estimated_expansion_arr))
    originals = [e for e in entries if e.corrects_id is None]
    steps = [
        Step(
            "Was the EQL won?",
            f"{eql.get_status_display()}"
            + (f", {money(eql.won_arr)} expansion ARR on {_day(eql.closed_at)}" if eql.won_arr else ""),
            "" if eql.status == "won" else "No credit is recorded until an EQL is won.",
        ),
        Step(
            "Which route did routing choose?",
            _route_label(route) + (f" — rule “{basis.get('route_rule')}”" if basis.get("route_rule") else ""),
            basis.get("route_rule_conditions", ""),
        ),
    ]
    if route == rules.ROUTE_JOINT:
        steps.append(
            Step(
                "Is CSM involvement required (co-owned)?",
                "Yes: a joint AE + CSM route is always co-owned; the closer enters the contribution split",
            )
        )
    if route == rules.ROUTE_AE:
        above = (
            f"threshold: estimate ≥ {money(threshold)}" if threshold else "no estimate threshold configured"
        )
        steps.append(
            Step(
                "Is CSM involvement required (co-owned: module expansion or above the routing threshold)?",
                f"{'Yes' if involvement else 'No'} (estimate {money(estimate)}; {above})",
            )
        )
        if involvement:
            split = (
                ", ".join(f"{named(s['email'])} {s['percent']}%" for s in basis.get("split", []))
                or "not entered"
            )
            steps.append(
                Step(
                    "Co-owned: which contribution split was entered at close?",
                    split,
                    "Each person gets that share of the won ARR as quota credit.",
                )
            )
        else:
            steps.append(
                Step(
                    "AE-owned: who owns and closed it?",
                    named(basis.get("owner")) or (eql.owner.display_name if eql.owner else "nobody"),
                    "The owner gets 100% quota credit.",
                )
            )
    else:
        steps.append(
            Step(
                "CSM-led route (CSM-led, Self-serve or CSM review): who is the CSM owner?",
                named(basis.get("owner")) or (eql.owner.display_name if eql.owner else "nobody"),
                "No quota credit; the CSM owner's credit is attainment (100% of the won ARR).",
            )
        )
    book = basis.get("account_csm") or basis.get("eql_csm")
    steps.append(
        Step(
            "Who is the CSM of the account's book?",
            named(book) or "nobody",
            "Book attainment: 100% of the won ARR (once per CSM per deal)."
            if book
            else "No book attainment.",
        )
    )
    if originals:
        steps.append(
            Step(
                "Credit recorded at close",
                "; ".join(
                    f"{e.person.display_name}: {e.credit_type} {e.percent}% = {money(e.amount)}"
                    for e in originals
                ),
            )
        )
    corrections = [e for e in entries if e.corrects_id is not None]
    steps.append(
        Step(
            "Was anything corrected?",
            f"{len(corrections) // 2} correction(s)" if corrections else "No",
            "Each correction reverses an entry and replaces it; the reason is on both."
            if corrections
            else "",
        )
    )
    return steps
