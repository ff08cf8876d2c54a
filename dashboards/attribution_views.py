"""Finance pages: the split-credit log (filters, totals, CSV), the compensation decision tree for one
EQL, and the change history of signals, gates, routing rules, reason codes and the EQL policy.

Read-only for everyone: Finance, RevOps, Managers and superusers may read (login required); other
roles get 403; the pages answer GET/HEAD only (405 otherwise), so nobody writes through them.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import partial, wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dashboards.forms import LogFilterForm
from dashboards.history import TRACKED, change_rows, history_union
from dashboards.templatetags import inbox as inbox_tags
from expansion.models import EQL, Role, User
from routing.attribution import rules
from routing.attribution.exports import csv_rows
from routing.attribution.selectors import decision_steps, entries_filtered, person_totals
from routing.attribution.services import credit_proposal, signed_head
from scoring.models import SignalDefinition

FINANCE_READERS = (Role.FINANCE, Role.REVOPS, Role.MANAGER)
LOG_PAGE_SIZE = 50
CHANGES_PAGE_SIZE = 25
#: Largest id a database integer key holds.
MAX_ID = 2**63 - 1


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


class _Echo:
    def write(self, value: str) -> str:
        return value


def _filter_form(request: HttpRequest) -> LogFilterForm:
    people = User.objects.filter(attribution_entries__isnull=False).distinct().order_by("name", "email")
    managers = User.objects.filter(Q(role=Role.MANAGER) | Q(reports__isnull=False)).distinct()
    signals = list(SignalDefinition.objects.order_by("order", "key").values_list("key", "name"))
    return LogFilterForm(request.GET or None, people=list(people), managers=list(managers), signals=signals)


@finance_reader
def attribution_log(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    qs = entries_filtered(filters=form.cleaned_data if form.is_bound and form.is_valid() else {})
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


@finance_reader
def attribution_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV, safe to open in a spreadsheet: text cells that start with = + - @ tab
    or CR get a leading single quote (numbers stay numbers). UTF-8 with a BOM for Excel."""
    form = _filter_form(request)
    qs = entries_filtered(filters=form.cleaned_data if form.is_bound and form.is_valid() else {})
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
        "steps": decision_steps(eql, basis, entries, money=partial(inbox_tags.money, digits=2)),
        "basis": basis,
        "proposal": proposal,
        "net": list(net.values()),
        "rule_labels": rules.RULE_LABELS,
    }
    return render(request, "dashboards/attribution/eql.html", context)


# --- change history -------------------------------------------------------------------------------


@finance_reader
def config_changes(request: HttpRequest) -> HttpResponse:
    """Who changed which signal, gate, routing rule, reason code or policy, when, from what to what."""
    what = request.GET.get("what", "")
    kinds = [what] if what in TRACKED else list(TRACKED)
    page = Paginator(history_union(kinds), CHANGES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": change_rows(list(page.object_list)),
        "what": what if what in TRACKED else "",
        "kinds": [(k, label) for k, (label, _) in TRACKED.items()],
    }
    return render(request, "dashboards/attribution/changes.html", context)
