"""Pages: the EQL inbox and RevOps/Finance reports."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from expansion.models import EQL, Account


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    context = {
        "accounts": Account.objects.count(),
        "open_eqls": EQL.objects.filter(
            status__in=["new", "contacted", "call_booked", "proposal_sent"]
        ).count(),
    }
    return render(request, "dashboards/inbox.html", context)


def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
