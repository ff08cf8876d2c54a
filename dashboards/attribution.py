"""Finance pages: the split-credit log (filters, totals, CSV), the compensation decision tree for one
EQL, and the change history of signals, gates, routing rules, reason codes and the EQL policy.

Read-only for everyone: Finance, RevOps, Managers and superusers may read (login required); other
roles get 403; the pages answer GET/HEAD only (405 otherwise), so nobody writes through them.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.fields import CharField
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from expansion import attribution as rules
from expansion.attribution_services import credit_proposal, signed_head
from expansion.models import EQL, AttributionEntry, Role, User
from routing.models import ReasonCode, RoutingRule, SlaPolicy
from scoring.models import EqlPolicy, Gate, SignalDefinition

#: Roles that may read the Finance pages (superusers too).
FINANCE_READERS = (Role.FINANCE, Role.REVOPS, Role.MANAGER)
LOG_PAGE_SIZE = 50
CHANGES_PAGE_SIZE = 25
CSV_CHUNK = 2000
#: Largest id a database integer key holds.
MAX_ID = 2**63 - 1

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


def finance_reader(view: Callable) -> Callable:
    """Login required, a Finance reader's role, GET/HEAD only."""

    @login_required
    @require_safe
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.is_superuser or user.role in FINANCE_READERS):
            raise PermissionDenied("The attribution log is for Finance, RevOps and managers.")
        return view(request, *args, **kwargs)

    return wrapped


# --- the log --------------------------------------------------------------------------------------


class LogFilterForm(forms.Form):
    period = forms.CharField(required=False, help_text="YYYY-MM or YYYY-Qn (close period)")
    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team (manager)")
    account = forms.CharField(required=False, help_text="Account id or name")
    signal = forms.ChoiceField(required=False, label="Primary signal")
    credit_type = forms.ChoiceField(
        required=False, choices=[("", "Any"), *AttributionEntry.CreditType.choices], label="Credit"
    )

    def __init__(self, *args, people=(), managers=(), signals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *[(u.pk, u.display_name) for u in people]]
        self.fields["team"].choices = [("", "Any team"), *[(u.pk, u.display_name) for u in managers]]
        self.fields["signal"].choices = [("", "Any signal"), *[(k, n) for k, n in signals]]

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if value and not (PERIOD_RE.match(value) or QUARTER_RE.match(value)):
            raise forms.ValidationError(
                "Use YYYY-MM (a month) or YYYY-Qn (a quarter), e.g. 2025-04 or 2025-Q2."
            )
        return value


def _filter_form(request: HttpRequest) -> LogFilterForm:
    people = User.objects.filter(attribution_entries__isnull=False).distinct().order_by("name", "email")
    managers = User.objects.filter(Q(role=Role.MANAGER) | Q(reports__isnull=False)).distinct()
    signals = list(SignalDefinition.objects.order_by("order", "key").values_list("key", "name"))
    return LogFilterForm(request.GET or None, people=list(people), managers=list(managers), signals=signals)


def filtered_entries(form: LogFilterForm) -> QuerySet[AttributionEntry]:
    """The log filtered by the form (an invalid form filters nothing)."""
    qs = AttributionEntry.objects.all()
    if not form.is_bound or not form.is_valid():
        return qs
    data = form.cleaned_data
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


@finance_reader
def attribution_log(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    qs = filtered_entries(form)
    page = Paginator(
        qs.select_related("eql", "account", "person", "recorded_by").order_by("-id"), LOG_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.rule_label = rules.RULE_LABELS.get(entry.rule, entry.rule)
    months, quarters = person_totals(qs)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "months": months,
        "quarters": quarters,
        "query": query.urlencode(),
    }
    template = "dashboards/attribution/log.html"
    if getattr(request, "htmx", False):
        template += "#results"
    return render(request, template, context)


CSV_COLUMNS = (
    "entry_id",
    "recorded_at",
    "period",
    "closed_at",
    "eql_id",
    "account_id",
    "account_name",
    "primary_signal",
    "person_email",
    "person_name",
    "role",
    "credit_type",
    "percent",
    "amount",
    "rule",
    "reason",
    "recorded_by",
    "corrects_entry",
    "entry_hash",
    "prev_hash",
    "chain_version",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(qs: QuerySet[AttributionEntry]) -> Iterator[list]:
    yield list(CSV_COLUMNS)
    rows = qs.select_related("eql", "account", "person", "recorded_by").order_by("id")
    for e in rows.iterator(chunk_size=CSV_CHUNK):
        yield [
            e.pk,
            e.recorded_at.isoformat(),
            e.period,
            e.closed_at.isoformat(),
            e.eql_id,
            e.account.account_id,
            e.account.name,
            e.eql.primary_signal,
            e.person.email,
            e.person.display_name,
            e.role,
            e.credit_type,
            e.percent,
            e.amount,
            e.rule,
            e.reason,
            e.recorded_by.email,
            e.corrects_id or "",
            e.entry_hash,
            e.prev_hash,
            e.chain_version,
        ]


@finance_reader
def attribution_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV, safe to open in a spreadsheet: text cells that start with = + - @ tab
    or CR get a leading single quote (numbers stay numbers). UTF-8 with a BOM for Excel."""
    form = _filter_form(request)
    qs = filtered_entries(form)
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"
        for row in csv_rows(qs):
            yield writer.writerow([rules.csv_safe(cell) for cell in row])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="attribution-{stamp}.csv"'
    return response


@finance_reader
def attribution_head(request: HttpRequest) -> HttpResponse:
    """The whole log's head, signed now (entry count, last entry id and hash): one anchor line, the
    format ``verify_attribution --anchors`` reads. Finance keeps it with the month's CSV export, so a
    later deletion or rewrite of those entries is found even if the server's anchor file is lost."""
    anchor = signed_head(rules.ANCHOR_EXPORT)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(rules.anchor_line(anchor) + "\n", content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="attribution-head-{stamp}.jsonl"'
    return response


# --- the decision tree for one EQL ----------------------------------------------------------------


@dataclass
class Step:
    question: str
    answer: str
    outcome: str = ""
    taken: bool = True


def _decision_steps(eql: EQL, basis: dict, entries: list[AttributionEntry]) -> list[Step]:
    route = basis.get("route", eql.route)
    involvement = basis.get("csm_involvement_required", eql.csm_involvement_required)
    threshold = basis.get("co_owned_threshold")
    estimate = basis.get("estimated_expansion_arr", str(eql.estimated_expansion_arr))
    originals = [e for e in entries if e.corrects_id is None]
    steps = [
        Step(
            "Was the EQL won?",
            f"{eql.get_status_display()}"
            + (f", {eql.won_arr:,.2f} expansion ARR on {eql.closed_at:%Y-%m-%d}" if eql.won_arr else ""),
            "" if eql.status == "won" else "No credit is recorded until an EQL is won.",
        ),
        Step(
            "Which route did routing choose?",
            f"{route}" + (f" — rule “{basis.get('route_rule')}”" if basis.get("route_rule") else ""),
            basis.get("route_rule_conditions", ""),
        ),
    ]
    if route == rules.ROUTE_AE:
        above = f"threshold: estimate ≥ {threshold}" if threshold else "no estimate threshold configured"
        steps.append(
            Step(
                "Is CSM involvement required (co-owned: module expansion or above the routing threshold)?",
                f"{'Yes' if involvement else 'No'} (estimate {estimate}; {above})",
            )
        )
        if involvement:
            split = (
                ", ".join(f"{s['email']} {s['percent']}%" for s in basis.get("split", [])) or "not entered"
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
                    basis.get("owner") or (eql.owner.email if eql.owner else "nobody"),
                    "The owner gets 100% quota credit.",
                )
            )
    else:
        steps.append(
            Step(
                "CSM-led route (csm, self-serve or CSM review): who is the CSM owner?",
                basis.get("owner") or (eql.owner.email if eql.owner else "nobody"),
                "No quota credit; the CSM owner's credit is attainment (100% of the won ARR).",
            )
        )
    book = basis.get("account_csm") or basis.get("eql_csm")
    steps.append(
        Step(
            "Who is the CSM of the account's book?",
            book or "nobody",
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
                    f"{e.person.email}: {e.credit_type} {e.percent}% = {e.amount:,.2f}" for e in originals
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


@finance_reader
def attribution_eql_pick(request: HttpRequest) -> HttpResponse:
    value = request.GET.get("eql", "").strip()
    if value.isdigit() and 0 < int(value) <= MAX_ID:
        return redirect("finance-attribution-eql", eql_id=int(value))
    return redirect("finance-attribution")


@finance_reader
def attribution_eql(request: HttpRequest, eql_id: int) -> HttpResponse:
    """One page that explains which rule gave whom what credit on one EQL, and why."""
    if eql_id > MAX_ID:
        raise Http404("No such EQL.")
    eql = get_object_or_404(EQL.objects.select_related("account", "owner", "csm", "account__csm"), pk=eql_id)
    entries = list(
        eql.attribution_entries.select_related(
            "person", "recorded_by", "corrects", "corrects__person"
        ).order_by("id")
    )
    originals = [e for e in entries if e.corrects_id is None]
    basis = dict(originals[0].basis) if originals else {}
    proposal = None if entries else credit_proposal(eql=eql)
    net: dict[int, dict] = defaultdict(
        lambda: {"person": None, "quota": Decimal(0), "attainment": Decimal(0)}
    )
    for e in entries:
        row = net[e.person_id]
        row["person"] = e.person
        row[e.credit_type] += e.amount
    context = {
        "eql": eql,
        "entries": entries,
        "steps": _decision_steps(eql, basis, entries),
        "basis": basis,
        "proposal": proposal,
        "net": list(net.values()),
        "rule_labels": rules.RULE_LABELS,
    }
    return render(request, "dashboards/attribution/eql.html", context)


# --- change history -------------------------------------------------------------------------------

#: What the change history covers: key -> (label, model).
TRACKED = {
    "signal": ("Signal", SignalDefinition),
    "gate": ("Gate", Gate),
    "routing_rule": ("Routing rule", RoutingRule),
    "reason_code": ("Reason code", ReasonCode),
    "policy": ("EQL policy", EqlPolicy),
    "sla_policy": ("SLA policy", SlaPolicy),
}
#: Fields that change on every save and say nothing about the configuration.
UNTRACKED_FIELDS = ("updated_at",)


@dataclass
class FieldChange:
    field: str
    old: object
    new: object


@dataclass
class ChangeRow:
    when: object
    who: str
    kind: str
    subject: str
    action: str
    changes: list[FieldChange]
    note: str


def _history_union(kinds: list[str]):
    parts = [
        TRACKED[k][1]
        .history.order_by()
        .annotate(tracked_kind=Value(k, output_field=CharField()))
        .values_list("tracked_kind", "history_id", "history_date")
        for k in kinds
    ]
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return union.order_by("-history_date", "-history_id")


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # a field removed since the record was written
        return name


def _change_rows(page_items: list[tuple[str, int, object]]) -> list[ChangeRow]:
    """Load the page's historical records and their predecessors (two queries per kind at most)."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, history_id, _ in page_items:
        by_kind[kind].append(history_id)
    records = {}
    previous = {}
    for kind, ids in by_kind.items():
        model = TRACKED[kind][1]
        history = model.history.model
        found = {
            h.history_id: h for h in history.objects.select_related("history_user").filter(history_id__in=ids)
        }
        records.update({(kind, hid): h for hid, h in found.items()})
        newest = max(h.history_date for h in found.values())
        object_ids = {h.id for h in found.values()}
        trail: dict[int, list] = defaultdict(list)
        for h in history.objects.filter(id__in=object_ids, history_date__lte=newest).order_by(
            "id", "history_date", "history_id"
        ):
            trail[h.id].append(h)
        for h in found.values():
            chain = trail[h.id]
            position = next(i for i, x in enumerate(chain) if x.history_id == h.history_id)
            previous[(kind, h.history_id)] = chain[position - 1] if position > 0 else None
    rows = []
    for kind, history_id, _ in page_items:
        record = records[(kind, history_id)]
        prev = previous[(kind, history_id)]
        model = TRACKED[kind][1]
        action = {"+": "created", "~": "changed", "-": "deleted"}.get(
            record.history_type, record.history_type
        )
        changes = []
        if prev is None and record.history_type == "~":
            action = "changed (first recorded version: the earlier values are not on record)"
        if prev is not None and record.history_type != "-":
            delta = record.diff_against(prev, excluded_fields=UNTRACKED_FIELDS)
            changes = [FieldChange(_label(model, c.field), c.old, c.new) for c in delta.changes]
        user = record.history_user
        rows.append(
            ChangeRow(
                when=record.history_date,
                who=(user.display_name if user else "system (migration or script)"),
                kind=TRACKED[kind][0],
                subject=str(record.instance),
                action=action,
                changes=changes,
                note=record.history_change_reason or "",
            )
        )
    return rows


@finance_reader
def config_changes(request: HttpRequest) -> HttpResponse:
    """Who changed which signal, gate, routing rule, reason code or policy, when, from what to what."""
    what = request.GET.get("what", "")
    kinds = [what] if what in TRACKED else list(TRACKED)
    page = Paginator(_history_union(kinds), CHANGES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": _change_rows(list(page.object_list)),
        "what": what if what in TRACKED else "",
        "kinds": [(k, label) for k, (label, _) in TRACKED.items()],
    }
    return render(request, "dashboards/attribution/changes.html", context)
