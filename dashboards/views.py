"""Pages: the EQL inbox (queue, EQL page, one-click actions, notifications).

Function views: an htmx request gets the named partial (django-template-partials), anything else
the full page, so every link and form also works without JavaScript. Reads go through
``dashboards.inbox``; writes through ``routing.services.eql_transition`` (the API's service).
"""

from __future__ import annotations

from decimal import Decimal
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required as django_login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from dashboards import inbox as selectors
from dashboards import sparkline
from dashboards.forms import EventForm, NotificationPreferenceForm, QueueFilterForm
from dashboards.templatetags.inbox import EVENT_LABELS
from expansion.models import EQL
from routing import lifecycle
from routing import selectors as routing_selectors
from routing.attribution.services import credit_proposal
from routing.crm import selectors as crm_selectors
from routing.crm import services as crm_services
from routing.crm.models import CrmConnection
from routing.lifecycle import TransitionError
from routing.models import Notification, NotificationPreference
from routing.services import (
    actor_of,
    eql_transition,
    eql_view,
    notification_preference_set,
    notifications_mark_read,
)
from routing.stage_sla import overdue_label
from scoring.config import MODULE_WILDCARD

#: Status codes the inbox answers an action with when nothing changed (htmx swaps them too).
INVALID = 422
FORBIDDEN = 403


def login_required(view):
    """Django's login_required, except that an htmx request whose session ended is sent to the login
    page as a whole (HX-Redirect) instead of having the login form swapped into a fragment."""
    guarded = django_login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            back = request.htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?next={quote(back)}")
        return guarded(request, *args, **kwargs)

    return wrapper


def _wants_partial(request: HttpRequest) -> bool:
    """An htmx request that is not a history restore (those need the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _page_context(request: HttpRequest) -> dict:
    """What every full page's header needs: the notification badge and panel (2 queries)."""
    return {"notifications": selectors.notifications_for(request.user)}


# --------------------------------------------------------------------------------------------------
# Queue
# --------------------------------------------------------------------------------------------------


def _row_context(request: HttpRequest, eqls) -> list[dict]:
    """Each queue row: the EQL, its one-click actions, and its stage SLA breach (1 query, the stage SLAs)."""
    owner = selectors.sees_owners(request.user)
    eqls = list(eqls)
    specs = routing_selectors.stage_sla_specs() if eqls else {}
    now = timezone.now()
    rows = []
    for e in eqls:
        clock = routing_selectors.eql_stage_clock(e, specs=specs, now=now)
        rows.append(
            {
                "eql": e,
                "quick": selectors.quick_actions(request.user, e),
                "show_owner": owner,
                "stage": clock if clock and clock.breached else None,
                "stage_overdue": overdue_label(clock.overdue) if clock and clock.breached else "",
            }
        )
    return rows


@login_required
@require_GET
@vary_on_headers("HX-Request")
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in person's EQL queue: filters, search and pages update in place with htmx."""
    signals = selectors.signal_catalog()
    owners = selectors.owner_choices(request.user)
    form = QueueFilterForm(request.GET or None, signals=signals, owners=owners)
    filters = form.filters()
    now = timezone.now()
    page = selectors.queue_page(
        selectors.queue(request.user, filters, now=now), request.GET.get("page"), one_query=bool(filters.q)
    )
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": _row_context(request, selectors.queue_rows(request.user, page.object_list)),
        "signals": signals,
        "now": now,
        "queue_url": request.get_full_path(),
        "show_owner": bool(owners),
    }
    if _wants_partial(request):
        return render(request, "dashboards/inbox.html#queue", {**context, "partial": True})
    return render(request, "dashboards/inbox.html", {**_page_context(request), **context})


# --------------------------------------------------------------------------------------------------
# CSM review items
# --------------------------------------------------------------------------------------------------

#: What the confirmation says after a review decision.
REVIEW_DONE = {
    lifecycle.REVIEW_PROMOTE: "Promoted to an EQL for the AE",
    lifecycle.REVIEW_RISK: "Marked a churn risk and handed to retention",
    lifecycle.REVIEW_DISMISS: "Review item dismissed",
}


@login_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    """CSM review items (a watch signal fired; no score, no estimate): the CSM decides each one,
    promote to an EQL for the AE, mark a churn risk for retention, or dismiss with a reason."""
    status = "closed" if request.GET.get("status") == "closed" else "open"
    page = Paginator(
        selectors.review_items(request.user, status=status), selectors.REVIEW_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [{"eql": e, "actions": selectors.available_actions(request.user, e)} for e in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "signals": selectors.signal_catalog(),
        "dismiss_reasons": selectors.dismiss_reasons() if any(r["actions"] for r in rows) else [],
        "show_owner": selectors.sees_owners(request.user),
        "reviews_url": request.get_full_path(),
    }
    return render(request, "dashboards/reviews.html", {**_page_context(request), **context})


# --------------------------------------------------------------------------------------------------
# EQL page
# --------------------------------------------------------------------------------------------------


def _get_eql(request: HttpRequest, pk: int) -> EQL:
    try:
        return selectors.eql_for(request.user, pk)
    except EQL.DoesNotExist as exc:
        raise Http404("No EQL you can see has this id.") from exc


def _sparkline(series: selectors.Series | None) -> sparkline.Sparkline | None:
    """The primary metric as an inline SVG sparkline, drawn on the server: the page loads no chart library."""
    if series is None:
        return None
    return sparkline.build(series.dates, series.values, threshold=series.threshold, percent=series.percent)


def _eql_context(request: HttpRequest, eql: EQL, signals: dict) -> dict:
    """The panel (status and actions) and timeline of one EQL; the parts an action re-renders."""
    actions = selectors.available_actions(request.user, eql)
    needs_codes = any(a in ("declined", "lost") for a in actions)
    activities, more = selectors.account_activities(eql)
    return {
        "credit": credit_proposal(eql=eql) if "won" in actions else None,
        "eql": eql,
        "signals": signals,
        "actions": actions,
        "owner_logs_sales": selectors.owner_logs_sales(request.user, eql),
        "reason_codes": selectors.reason_codes() if needs_codes else {},
        "dismiss_reasons": selectors.dismiss_reasons() if lifecycle.REVIEW_DISMISS in actions else [],
        "activities": activities,
        "more_activities": more,
        "now": timezone.now(),
    }


def _full_eql_context(request: HttpRequest, eql: EQL) -> dict:
    signals = selectors.signal_catalog()
    context = _eql_context(request, eql, signals)
    primary = signals.get(eql.primary_signal)
    evaluation = eql.evaluation or {}
    # Module-family signals name the module they fired on ("Feature adjacency (analytics) 7 ≥ 3").
    targets = {s["signal"]: s.get("target", "") for s in evaluation.get("signals", []) if s.get("target")}
    if eql.target:
        targets.setdefault(eql.primary_signal, eql.target)
    targets = {
        key: target
        for key, target in targets.items()
        if key in signals and signals[key].metric.endswith(MODULE_WILDCARD)
    }
    series = selectors.metric_series(eql, primary)
    estimate = evaluation.get("estimate") or {}
    context.update(
        {
            "primary": primary,
            "targets": targets,
            "series": series,
            "sparkline": _sparkline(series),
            "uplift": estimate.get("uplift"),
            "questions": eql.discovery_questions
            or [
                q.strip() for q in (primary.discovery_questions if primary else "").splitlines() if q.strip()
            ],
            "past": selectors.past_eqls(eql),
            **_crm_context(request, eql),
            "last_csm": selectors.last_csm_activity(eql, context["activities"]),
        }
    )
    return context


@login_required
@require_GET
@vary_on_headers("HX-Request")
def eql_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Why now, what it is worth, what to say; status, actions and everything that happened."""
    eql = _get_eql(request, pk)
    context = _full_eql_context(request, eql)
    if _wants_partial(request):
        return render(request, "dashboards/eql.html#panel", context)
    return render(request, "dashboards/eql.html", {**_page_context(request), **context})


def _safe_next(request: HttpRequest, url: str) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def _crm_context(request: HttpRequest, eql: EQL) -> dict:
    return {
        "crm": crm_selectors.eql_crm_status(eql),
        "crm_may_create": lifecycle.can_act(actor_of(request.user), eql_view(eql)),
    }


@login_required
@require_POST
def eql_crm_create(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """ "Create in Salesforce/HubSpot" for an EQL on a route the sync does not write by itself."""
    eql = _get_eql(request, pk)
    connection = get_object_or_404(CrmConnection, name=name, enabled=True)
    error, status = "", 200
    try:
        summary = crm_services.crm_create_request(eql=eql, connection=connection, user=request.user)
        if summary.state != "done":
            error, status = f"{connection.get_kind_display()} did not take it: {summary.message}", INVALID
    except PermissionError:
        error, status = "You can read this EQL but not change it.", FORBIDDEN
    except TransitionError as exc:
        error, status = _sentence(str(exc)), INVALID
    if request.htmx:
        context = {"eql": eql, **_crm_context(request, eql), "crm_error": error}
        return render(request, "dashboards/eql.html#crm", context, status=status)
    if not error:
        messages.success(request, f"Created in {connection.get_kind_display()} · {eql.account.name}")
        return redirect(reverse("eql", args=[eql.pk]))
    context = {**_page_context(request), **_full_eql_context(request, eql), "crm_error": error}
    return render(request, "dashboards/eql.html", context, status=status)


@login_required
@require_POST
def eql_event(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply one lifecycle event with ``eql_transition``, as the API does.

    htmx: the re-rendered status-and-actions panel, plus out-of-band swaps of the queue row (an action
    from the queue), the timeline (from the EQL page) and the status line. Invalid transition: 422
    with the reason (role=alert), nothing changed. May see but not act (Finance): 403. May not see: 404."""
    eql = _get_eql(request, pk)
    form = EventForm(request.POST)
    error, status = "", 200
    event = request.POST.get("type", "")
    if not form.is_valid():
        error, status = form.error_text(), INVALID
    else:
        data = form.cleaned_data
        event = data["type"]
        amount: Decimal | None = data.get("expansion_arr")
        try:
            eql_transition(
                eql_id=eql.pk,
                user=request.user,
                event=event,
                note=data.get("note") or "",
                reason=data.get("reason") or "",
                expansion_arr=amount,
                splits=form.splits(),
            )
        except PermissionError:
            error, status = "You can read this EQL but not change it.", FORBIDDEN
        except TransitionError as exc:
            error, status = _sentence(str(exc)), INVALID
    label = REVIEW_DONE.get(event) or EVENT_LABELS.get(event, event)
    done = "" if error else f"{label} · {eql.account.name}"

    if not request.htmx:
        if not error:
            messages.success(request, done)
            return redirect(_safe_next(request, form.data.get("next", "")) or reverse("eql", args=[eql.pk]))
        context = _full_eql_context(request, eql)
        context.update({"error": error, "error_event": event})
        return render(request, "dashboards/eql.html", {**_page_context(request), **context}, status=status)

    if not error:
        eql = _get_eql(request, pk)
    signals = selectors.signal_catalog()
    context = _eql_context(request, eql, signals)
    from_panel = request.htmx.target == "eql-panel"
    context.update(
        {
            "error": error,
            "error_event": event,
            "done": done,
            "from_panel": from_panel,
            # Only an action taken in the queue swaps its row out of band: the EQL page has no queue row.
            "row": _row_context(request, [eql])[0] if not error and not from_panel else None,
        }
    )
    return render(request, "dashboards/eql_event.html", context, status=status)


# --------------------------------------------------------------------------------------------------
# Notifications
# --------------------------------------------------------------------------------------------------

#: Notifications per page of the notifications page.
NOTIFICATIONS_PAGE_SIZE = 25


@login_required
@require_GET
@vary_on_headers("HX-Request")
def notifications(request: HttpRequest) -> HttpResponse:
    """Unread count and latest notifications: the header's poll fragment, or every notification a page
    at a time (newest first) under the same unread count as the badge."""
    context = _page_context(request)
    if _wants_partial(request):
        return render(request, "dashboards/notifications.html#poll", context)
    page = Paginator(
        Notification.objects.filter(recipient=request.user).only(
            "id", "eql_id", "kind", "subject", "created_at", "read_at"
        ),
        NOTIFICATIONS_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    listed = selectors.NotificationSummary(
        unread=context["notifications"].unread, latest=list(page.object_list)
    )
    return render(
        request, "dashboards/notifications.html", {**context, "page": page, "page_notifications": listed}
    )


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own notification preference: channels and daily Slack cap."""
    pref = NotificationPreference.objects.filter(user=request.user).first()
    initial = {
        "channels": pref.channels if pref else NotificationPreference.Channels.BOTH,
        "slack_daily_cap": pref.slack_daily_cap if pref else None,
    }
    form = NotificationPreferenceForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            notification_preference_set(
                user=request.user,
                channels=form.cleaned_data["channels"],
                slack_daily_cap=form.cleaned_data["slack_daily_cap"],
            )
            messages.success(request, "Notification settings saved.")
            return redirect("notification_settings")
        status = 422
    context = {
        **_page_context(request),
        "form": form,
        "slack_default_cap": settings.SLACK_DAILY_CAP_DEFAULT,
        "slack_connected": bool(settings.SLACK_BOT_TOKEN or settings.SLACK_WEBHOOK_URL),
    }
    return render(request, "dashboards/notification_settings.html", context, status=status)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark notifications read (the ``id`` ones, or all unread)."""
    ids = [i for i in request.POST.getlist("id") if i.isdigit()]
    notifications_mark_read(user=request.user, ids=ids)
    if _wants_partial(request):
        return render(request, "dashboards/notifications.html#poll", _page_context(request))
    return redirect(_safe_next(request, request.POST.get("next", "")) or reverse("notifications"))
