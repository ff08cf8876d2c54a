"""RevOps pages for the backtest: runs (start one, watch its progress, read its result), runs side by
side, and the admin's "Preview impact" for an edited-but-unsaved signal.

RevOps and superusers only; everyone else gets 403. Starting a run stores a ``BacktestRun`` and queues
``dashboards.tasks.run_backtest``; the run page polls a fragment with htmx every second until the run
is finished. Every page also works without JavaScript (the run page refreshes itself while running).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboards import backtest_runs
from dashboards import services as dashboard_services
from dashboards.inbox import notifications_for
from dashboards.models import BacktestRun
from dashboards.views import login_required
from expansion.models import Account, Role, Route
from routing import rules as routing_rules
from routing import selectors as routing_selectors
from routing.models import RoutingRule
from scoring import backtest as bt
from scoring import backtest_services as services
from scoring import config as cfg
from scoring.models import EqlPolicy, Gate, SignalDefinition
from scoring.selectors import gate_spec, policy_spec, scoring_config_load, signal_spec

RUNS_PAGE_SIZE = 25
MAX_COMPARE = 6
#: A new run covers this many days back from the last snapshot unless the form says otherwise.
DEFAULT_PERIOD_DAYS = 364
#: Owners listed on a result page (the busiest first); the rest are summed in one line.
OWNER_ROWS = 25


def revops_required(view: Callable) -> Callable:
    """Signed in (htmx-aware redirect), and RevOps or a superuser; anyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.is_superuser or user.role == Role.REVOPS):
            raise PermissionDenied("Backtests are for RevOps.")
        return view(request, *args, **kwargs)

    return wrapped


def _page(request: HttpRequest, context: dict) -> dict:
    """What every full page's header needs (the notification badge), plus the page's context."""
    return {"notifications": notifications_for(request.user), **context}


# --------------------------------------------------------------------------------------------------
# The form that starts a run
# --------------------------------------------------------------------------------------------------


class BacktestForm(forms.Form):
    """Period, step and optional what-if overrides of each signal's threshold and points."""

    label = forms.CharField(max_length=200, required=False, help_text="A name to find the run by.")
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    step_days = forms.IntegerField(
        min_value=1, max_value=90, initial=bt.DEFAULT_STEP_DAYS, label="Step (days)"
    )
    match_window_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=bt.DEFAULT_MATCH_WINDOW_DAYS,
        label="Match window (days)",
        help_text="An expansion created this many days after a simulated EQL counts as matched.",
    )
    won_only = forms.BooleanField(
        required=False, label="Won expansions only", help_text="Default: won or still open count."
    )
    score_threshold = forms.IntegerField(min_value=0, max_value=100, required=False)

    def __init__(self, *args, config: cfg.ScoringConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config
        self.fields["score_threshold"].widget.attrs["placeholder"] = str(config.policy.score_threshold)
        self.signal_fields: list[tuple[cfg.SignalSpec, str, str]] = []
        for spec in config.signals:
            threshold, points = f"{spec.key}__threshold", f"{spec.key}__points"
            self.fields[threshold] = forms.FloatField(required=False, label=f"{spec.name} threshold")
            self.fields[threshold].widget.attrs.update(placeholder=f"{spec.threshold:g}", step="any")
            self.fields[points] = forms.IntegerField(
                required=False, min_value=0, max_value=100, label=f"{spec.name} points"
            )
            self.fields[points].widget.attrs["placeholder"] = str(spec.points)
            self.signal_fields.append((spec, threshold, points))

    def clean(self):
        data = super().clean()
        start, end, step = data.get("start"), data.get("end"), data.get("step_days")
        if start and end and step:
            try:
                bt.step_dates(start, end, step)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data

    MAIN_FIELDS = ("label", "start", "end", "step_days", "match_window_days", "score_threshold")

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.MAIN_FIELDS]

    def signal_rows(self) -> list[tuple[cfg.SignalSpec, forms.BoundField, forms.BoundField]]:
        return [(spec, self[t], self[p]) for spec, t, p in self.signal_fields]

    def overrides(self) -> dict[str, Any]:
        """Only what differs from the saved model, as ``{"key.field": value}``."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for spec, threshold, points in self.signal_fields:
            if data.get(threshold) is not None and data[threshold] != spec.threshold:
                out[f"{spec.key}.threshold"] = data[threshold]
            if data.get(points) is not None and data[points] != spec.points:
                out[f"{spec.key}.points"] = data[points]
        score = data.get("score_threshold")
        if score is not None and score != self.config.policy.score_threshold:
            out["policy.score_threshold"] = score
        return out


def replay_period(days: int) -> tuple[dt.date, dt.date]:
    """The ``days`` before the last usage snapshot, starting no earlier than the first one: a replay
    before the usage on record would draw weeks of zero EQLs that only mean "no data"."""
    end = services.snapshot_last_date() or timezone.localdate()
    start = end - dt.timedelta(days=days)
    first = services.snapshot_first_date()
    if first is not None and start < first <= end:
        start = first
    return start, end


def _default_period() -> tuple[dt.date, dt.date]:
    return replay_period(DEFAULT_PERIOD_DAYS)


# --------------------------------------------------------------------------------------------------
# Charts: plotly figure dicts (JSON via json_script), drawn by the bundled static/js/plotly.min.js
# --------------------------------------------------------------------------------------------------


def _layout(**extra) -> dict:
    return {
        "height": 260,
        "margin": {"l": 44, "r": 44, "t": 10, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": 12, "color": "#57606a"},
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"showgrid": False, "fixedrange": True},
        "yaxis": {"gridcolor": "#eaeef2", "fixedrange": True, "rangemode": "tozero"},
        **extra,
    }


def run_chart(result: dict) -> dict:
    """Per step: new simulated EQLs (matched or not) as stacked bars, EQLs open as a line."""
    weekly = result.get("weekly") or []
    dates = [w["date"] for w in weekly]
    return {
        "data": [
            {
                "type": "bar",
                "name": "New EQLs, matched",
                "x": dates,
                "y": [w["matched"] for w in weekly],
                "marker": {"color": "#1a7f37"},
            },
            {
                "type": "bar",
                "name": "New EQLs, not matched",
                "x": dates,
                "y": [w["eqls"] - w["matched"] for w in weekly],
                "marker": {"color": "#9ec5fe"},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Open EQLs (right axis)",
                "x": dates,
                "y": [w["open"] for w in weekly],
                "line": {"color": "#0b5cad", "width": 2},
                "yaxis": "y2",
            },
        ],
        "layout": _layout(
            barmode="stack",
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "fixedrange": True,
                "rangemode": "tozero",
            },
        ),
    }


def compare_chart(runs: list[tuple[str, dict]]) -> dict:
    """New simulated EQLs per step, one line per run."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [w["date"] for w in result.get("weekly") or []],
            "y": [w["eqls"] for w in result.get("weekly") or []],
        }
        for name, result in runs
    ]
    return {"data": data, "layout": _layout()}


# --------------------------------------------------------------------------------------------------
# Result rows for the templates
# --------------------------------------------------------------------------------------------------

#: (key, label, kind) of the headline numbers, in display order; kind picks the formatting.
HEADLINES = (
    ("eqls", "EQLs", "int"),
    ("eqls_per_week", "EQLs per week", "dec"),
    ("precision", "Precision", "pct"),
    ("precision_settled", "Precision (settled)", "pct"),
    ("recall", "Recall", "pct"),
    ("matched_eqls", "Matched EQLs", "int"),
    ("matched_expansions", "Expansions caught", "int"),
    ("expansions", "Eligible expansions", "int"),
    ("pending_eqls", "Pending EQLs", "int"),
    ("csm_reviews", "CSM review items", "int"),
)


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "dec":
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _delta(value: Any, base: Any, kind: str) -> str:
    if value is None or base is None or value == base:
        return ""
    diff = value - base
    if kind == "pct":
        return f"{diff * 100:+.1f} pts"
    if kind == "dec":
        return f"{diff:+,.1f}"
    return f"{int(diff):+,}"


def headline_rows(results: list[dict]) -> list[dict]:
    """One row per headline number: label, formatted value per result, delta against the first."""
    rows = []
    for key, label, kind in HEADLINES:
        values = [r.get(key) for r in results]
        rows.append(
            {
                "label": label,
                "cells": [
                    {"value": _fmt(v, kind), "delta": _delta(v, values[0], kind) if i else ""}
                    for i, v in enumerate(values)
                ],
            }
        )
    return rows


def signal_rows(results: list[dict]) -> list[dict]:
    """By primary signal: eqls / matched / precision per result, every signal any result has."""
    keys: list[str] = []
    names: dict[str, str] = {}
    for result in results:
        for key, row in (result.get("by_signal") or {}).items():
            if key not in keys:
                keys.append(key)
            names.setdefault(key, row.get("name") or key)
    out = []
    for key in keys:
        cells = []
        for result in results:
            row = (result.get("by_signal") or {}).get(key)
            cells.append(
                None
                if row is None
                else {
                    "eqls": row["eqls"],
                    "matched": row["matched"],
                    "precision": _fmt(row["precision"], "pct"),
                }
            )
        out.append({"key": key, "name": names[key], "cells": cells})
    return out


def run_numbers(run: BacktestRun) -> dict | None:
    """A finished run's headline numbers, formatted for the runs table (None while not done)."""
    if run.status != BacktestRun.Status.DONE or not run.result:
        return None
    r = run.result
    return {
        "eqls": _fmt(r.get("eqls"), "int"),
        "eqls_per_week": _fmt(r.get("eqls_per_week"), "dec"),
        "precision": _fmt(r.get("precision"), "pct"),
        "recall": _fmt(r.get("recall"), "pct"),
    }


def owner_rows(result: dict) -> tuple[list[dict], dict | None]:
    """The busiest owners (precision formatted), and a summary of the rest (or None)."""
    owners = [{**o, "precision_text": _fmt(o.get("precision"), "pct")} for o in result.get("by_owner") or []]
    shown, rest = owners[:OWNER_ROWS], owners[OWNER_ROWS:]
    if not rest:
        return shown, None
    return shown, {"owners": len(rest), "eqls": sum(r["eqls"] for r in rest)}


def _result_context(run_or_result: BacktestRun | dict) -> dict:
    result = run_or_result.result if isinstance(run_or_result, BacktestRun) else run_or_result
    owners, others = owner_rows(result)
    return {
        "result": result,
        "headlines": headline_rows([result]),
        "signals": signal_rows([result]),
        "owners": owners,
        "other_owners": others,
        "chart": run_chart(result),
    }


def describe_params(params: dict) -> list[str]:
    """The run's overrides in words: 'seat_utilisation.threshold = 0.95', whole signals replaced."""
    lines = [f"{key} = {value}" for key, value in sorted((params.get("overrides") or {}).items())]
    for signal in params.get("signals") or []:
        lines.append(f"edited signal {signal.get('key')} (threshold {signal.get('threshold')})")
    return lines


# --------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------


@revops_required
@require_http_methods(["GET", "HEAD", "POST"])
def backtest_list(request: HttpRequest) -> HttpResponse:
    """Stored runs (newest first, pick some to compare) and the form that starts a new one."""
    config = scoring_config_load()
    if request.method == "POST":
        form = BacktestForm(request.POST, config=config)
        if form.is_valid():
            data = form.cleaned_data
            try:
                params = services.run_params(
                    start=data["start"],
                    end=data["end"],
                    step_days=data["step_days"],
                    overrides=form.overrides(),
                    match_window_days=data["match_window_days"],
                    won_only=data["won_only"],
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                with transaction.atomic():
                    run = backtest_runs.backtest_run_create(
                        params=params, created_by=request.user, label=data["label"] or ""
                    )
                    dashboard_services.backtest_run_queue(run)
                return redirect("backtest", pk=run.pk)
        status = 422
    else:
        start, end = _default_period()
        form = BacktestForm(config=config, initial={"start": start, "end": end})
        status = 200
    runs = Paginator(
        BacktestRun.objects.select_related("created_by").order_by("-created_at", "-id"), RUNS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        {"run": run, "changes": describe_params(run.params), "numbers": run_numbers(run)}
        for run in runs.object_list
    ]
    context = {"form": form, "page": runs, "rows": rows}
    return render(request, "dashboards/backtest/list.html", _page(request, context), status=status)


def _run_context(run: BacktestRun) -> dict:
    context: dict[str, Any] = {"run": run, "changes": describe_params(run.params)}
    if run.status == BacktestRun.Status.DONE:
        context.update(_result_context(run))
    return context


@revops_required
@require_GET
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: its parameters, a progress bar while it runs, then its result and chart."""
    run = get_object_or_404(BacktestRun.objects.select_related("created_by"), pk=pk)
    return render(request, "dashboards/backtest/run.html", _page(request, _run_context(run)))


@revops_required
@require_GET
def backtest_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's status fragment (htmx polls it every second while the run is queued or running).

    Finished, it answers the result (no more polling); inside the comparison page (``ctx=compare``)
    it asks htmx to reload the page instead, so the side-by-side tables appear.
    """
    run = get_object_or_404(BacktestRun.objects.select_related("created_by"), pk=pk)
    if not request.htmx:
        return redirect("backtest", pk=run.pk)
    context = {**_run_context(run), "ctx": request.GET.get("ctx", "")}
    if run.is_finished and context["ctx"] == "compare":
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "dashboards/backtest/run.html#status", context)


def _ids(request: HttpRequest) -> list[int]:
    ids: list[int] = []
    for chunk in request.GET.getlist("ids"):
        for part in chunk.split(","):
            part = part.strip()
            if part.isdigit() and int(part) not in ids:
                ids.append(int(part))
    return ids


@revops_required
@require_GET
def backtest_compare(request: HttpRequest) -> HttpResponse:
    """Runs side by side (``?ids=1,2``): headline numbers with deltas against the first, by signal,
    what each changed, and their weekly EQLs on one chart."""
    ids = _ids(request)[:MAX_COMPARE]
    found = {run.pk: run for run in BacktestRun.objects.select_related("created_by").filter(pk__in=ids)}
    runs = [found[i] for i in ids if i in found]
    missing = [i for i in ids if i not in found]
    waiting = [run for run in runs if not run.is_finished]
    done = [run for run in runs if run.status == BacktestRun.Status.DONE]
    context: dict[str, Any] = {
        "runs": runs,
        "missing": missing,
        "waiting": waiting,
        "done": done,
        "columns": [{"run": run, "changes": describe_params(run.params)} for run in done],
    }
    if len(done) >= 1 and not waiting:
        results = [run.result for run in done]
        context.update(
            column_names=[f"#{run.pk} {run}" for run in done],
            headlines=headline_rows(results),
            signals=signal_rows(results),
            chart=compare_chart([(f"#{run.pk} {run}", run.result) for run in done]),
        )
    status = 200 if len(runs) >= 2 else 400
    return render(request, "dashboards/backtest/compare.html", _page(request, context), status=status)


# --------------------------------------------------------------------------------------------------
# Admin: preview the impact of an edited, unsaved signal
# --------------------------------------------------------------------------------------------------


def _changed_fields(saved: cfg.SignalSpec | None, edited: cfg.SignalSpec | None) -> list[dict]:
    if saved is None or edited is None:
        return []
    skip = {"opening_angle", "hypothesis", "discovery_questions", "name"}
    return [
        {"field": f.name, "saved": getattr(saved, f.name), "edited": getattr(edited, f.name)}
        for f in dataclasses.fields(cfg.SignalSpec)
        if f.name not in skip and getattr(saved, f.name) != getattr(edited, f.name)
    ]


@revops_required
@require_POST
def signal_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Backtest the saved model against the admin form's current (unsaved) values of one signal.

    The SignalDefinition admin form is validated as admin would, but never saved: nothing is written
    to SignalDefinition or its history. Weekly steps over the last 12 months of snapshots, both
    models in lockstep; answered inline on a small base, else queued as two runs to compare.
    """
    signal = get_object_or_404(SignalDefinition, pk=pk) if pk is not None else None
    original_key = signal.key if signal is not None else None
    saved_spec = signal_spec(signal) if signal is not None else None
    was_active = bool(signal and signal.active)
    model_admin = admin.site.get_model_admin(SignalDefinition)
    # change=False: the admin's own form with every field (our RevOps check stands in for its
    # per-field change permission); validated like a save, never saved.
    form_class = model_admin.get_form(request, signal, change=False)
    form = form_class(request.POST, request.FILES, instance=signal)
    back = (
        reverse("admin:scoring_signaldefinition_change", args=[pk])
        if pk is not None
        else reverse("admin:scoring_signaldefinition_add")
    )
    context: dict[str, Any] = {"signal": signal, "back": back, "form": form}
    valid = form.is_valid()
    conditions, condition_errors = _posted_conditions(request, model_admin, signal)
    context["condition_errors"] = condition_errors
    if not valid or condition_errors:
        return render(request, "dashboards/backtest/preview.html", _page(request, context), status=422)
    edited = form.instance  # the form's values on the (unsaved) instance: construct_instance, no save()
    edited_spec = dataclasses.replace(signal_spec(edited), conditions=conditions)
    baseline = scoring_config_load()
    edited_config = bt.replace_signal(baseline, original_key, edited_spec if edited.active else None)
    start, end = replay_period(services.PREVIEW_DAYS)
    context.update(
        start=start,
        end=end,
        changes=_changed_fields(saved_spec, edited_spec),
        activation=None
        if signal is None or was_active == edited.active
        else ("on" if edited.active else "off"),
        edited_name=edited_spec.name,
    )
    if Account.objects.count() > services.PREVIEW_SYNC_MAX_ACCOUNTS:
        return _queue_preview(request, start, end, original_key, edited_spec, edited.active)
    results = services.backtest_compare(
        start=start,
        end=end,
        step_days=services.PREVIEW_STEP_DAYS,
        configs={"saved": baseline, "edited": edited_config},
    )
    pair = [results["saved"], results["edited"]]
    context.update(
        results=results,
        preview_names=["Saved model", "With your edit"],
        headlines=headline_rows(pair),
        signals=signal_rows(pair),
        chart=compare_chart([("Saved model", pair[0]), ("With your edit", pair[1])]),
    )
    return render(request, "dashboards/backtest/preview.html", _page(request, context))


def _posted_conditions(
    request: HttpRequest, model_admin, signal
) -> tuple[tuple[cfg.ConditionSpec, ...], list[str]]:
    """The trigger's conditions as the admin page posts them (its inline), validated, never saved."""
    specs: list[tuple[int, cfg.ConditionSpec]] = []
    errors: list[str] = []
    instance = signal if signal is not None else SignalDefinition()
    for formset_class, _inline in model_admin.get_formsets_with_inlines(request, signal):
        formset = formset_class(
            request.POST, request.FILES, instance=instance, prefix=formset_class.get_default_prefix()
        )
        if "conditions-TOTAL_FORMS" not in request.POST:
            # a post without the inline (an older page): the saved conditions stand
            return (tuple(c.as_spec() for c in signal.conditions.all()) if signal else ()), []
        if not formset.is_valid():
            for number, form_errors in enumerate(formset.errors, start=1):
                for field, messages in form_errors.items():
                    errors.extend(f"Condition {number}, {field}: {m}" for m in messages)
            errors.extend(str(e) for e in formset.non_form_errors())
            continue
        for form in formset.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            specs.append((form.instance.order, form.instance.as_spec()))
    return tuple(spec for _, spec in sorted(specs, key=lambda pair: pair[0])), errors


def _queue_preview(request, start, end, original_key, spec: cfg.SignalSpec, active: bool) -> HttpResponse:
    """A large base: store the saved and the edited model as two runs, queue both, show them compared."""
    label = f"Preview: {spec.name}"
    if active:
        edited = {"signals": [{**services.spec_to_dict(spec), "replaces": original_key}]}
    else:
        edited = {"overrides": {f"{original_key}.active": False}} if original_key else {}
    common = {"start": start, "end": end, "step_days": services.PREVIEW_STEP_DAYS}
    with transaction.atomic():
        saved_run = backtest_runs.backtest_run_create(
            params=services.run_params(**common), created_by=request.user, label=f"{label} (saved model)"
        )
        edited_run = backtest_runs.backtest_run_create(
            params=services.run_params(**common, **edited), created_by=request.user, label=f"{label} (edited)"
        )
        dashboard_services.backtest_run_queue(saved_run)
        dashboard_services.backtest_run_queue(edited_run)
    return redirect(f"{reverse('backtest-compare')}?ids={saved_run.pk},{edited_run.pk}")


# --------------------------------------------------------------------------------------------------
# Admin: preview the impact of an edited, unsaved gate or EQL policy (same replay as a signal's)
# --------------------------------------------------------------------------------------------------


def _admin_form(request: HttpRequest, model, obj):
    """The model's own admin form, bound to the POST and validated like a save, never saved.

    change=False: every field (the RevOps check stands in for the per-field change permission).
    """
    form_class = admin.site.get_model_admin(model).get_form(request, obj, change=False)
    return form_class(request.POST, request.FILES, instance=obj)


def _spec_changes(saved: Any, edited: Any) -> list[dict]:
    """Fields of two specs (dataclasses) that differ; nothing for a new object."""
    if saved is None:
        return []
    return [
        {"field": f.name, "saved": getattr(saved, f.name), "edited": getattr(edited, f.name)}
        for f in dataclasses.fields(saved)
        if getattr(saved, f.name) != getattr(edited, f.name)
    ]


def _replay_preview(request: HttpRequest, context: dict, edited_config: cfg.ScoringConfig) -> HttpResponse:
    """Replay the saved model and ``edited_config`` weekly over the last 12 months, side by side."""
    start, end = replay_period(services.PREVIEW_DAYS)
    results = services.backtest_compare(
        start=start,
        end=end,
        step_days=services.PREVIEW_STEP_DAYS,
        configs={"saved": context["baseline"], "edited": edited_config},
    )
    pair = [results["saved"], results["edited"]]
    context.update(
        start=start,
        end=end,
        preview_names=["Saved model", "With your edit"],
        headlines=headline_rows(pair),
        signals=signal_rows(pair),
        chart=compare_chart([("Saved model", pair[0]), ("With your edit", pair[1])]),
    )
    return render(request, "dashboards/backtest/config_preview.html", _page(request, context))


@revops_required
@require_POST
def gate_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Backtest the saved model against the admin form's current (unsaved) values of one gate.

    Nothing is written to Gate or its history; the edited gate replaces the saved one (switched off:
    left out; new: added) and the whole model is replayed as for a signal preview.
    """
    gate = get_object_or_404(Gate, pk=pk) if pk is not None else None
    saved_spec = gate_spec(gate) if gate is not None else None
    was_active = bool(gate and gate.active)
    original_name = gate.name if gate is not None and gate.active else None
    form = _admin_form(request, Gate, gate)
    back = (
        reverse("admin:scoring_gate_change", args=[pk])
        if pk is not None
        else reverse("admin:scoring_gate_add")
    )
    context: dict[str, Any] = {"kind": "gate", "back": back, "form": form, "title": gate.name if gate else ""}
    if not form.is_valid():
        return render(request, "dashboards/backtest/config_preview.html", _page(request, context), status=422)
    edited = form.instance  # construct_instance: the form's values, never saved
    edited_spec = gate_spec(edited)
    baseline = scoring_config_load()
    context.update(
        baseline=baseline,
        title=edited.name,
        changes=_spec_changes(saved_spec, edited_spec),
        activation=None
        if gate is None or was_active == edited.active
        else ("on" if edited.active else "off"),
        new=gate is None,
    )
    edited_config = services.config_with_gate(baseline, original_name, edited_spec if edited.active else None)
    return _replay_preview(request, context, edited_config)


@revops_required
@require_POST
def policy_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Backtest the saved model against the admin form's current (unsaved) EQL policy: score threshold,
    estimate floor, suppression, data age. Nothing is written to the policy or its history."""
    policy = get_object_or_404(EqlPolicy, pk=pk)
    saved_spec = policy_spec(policy)
    form = _admin_form(request, EqlPolicy, policy)
    back = reverse("admin:scoring_eqlpolicy_change", args=[pk])
    context: dict[str, Any] = {"kind": "policy", "back": back, "form": form, "title": "EQL policy"}
    if not form.is_valid():
        return render(request, "dashboards/backtest/config_preview.html", _page(request, context), status=422)
    edited_spec = policy_spec(form.instance)
    baseline = scoring_config_load()
    context.update(baseline=baseline, changes=_spec_changes(saved_spec, edited_spec))
    return _replay_preview(request, context, services.config_with_policy(baseline, edited_spec))


# --------------------------------------------------------------------------------------------------
# Admin: how the last weeks' EQLs would have been routed with an edited, unsaved routing rule
# --------------------------------------------------------------------------------------------------

#: Weeks of stored EQLs a routing-rule preview re-routes.
ROUTING_PREVIEW_WEEKS = 12
#: EQLs listed by name among those that change route.
ROUTING_SAMPLE = 25


def _rule_changes(saved: RoutingRule | None, edited: RoutingRule) -> list[dict]:
    if saved is None:
        return []
    fields = [f.name for f in RoutingRule._meta.concrete_fields if f.name != "id"]
    saved_values = RoutingRule.objects.filter(pk=saved.pk).values(*fields).first() or {}
    return [
        {"field": name, "saved": saved_values.get(name), "edited": getattr(edited, name)}
        for name in fields
        if saved_values.get(name) != getattr(edited, name)
    ]


@revops_required
@require_POST
def routing_rule_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Re-route the EQLs of the last 12 weeks with the saved rules and with the admin form's current
    (unsaved) rule: EQLs per route before and after, and a sample of those whose route changes.

    Routes only (owners and SLA clocks depend on load at the time, not replayed). Writes nothing.
    """
    rule = get_object_or_404(RoutingRule, pk=pk) if pk is not None else None
    form = _admin_form(request, RoutingRule, rule)
    back = (
        reverse("admin:routing_routingrule_change", args=[pk])
        if pk is not None
        else reverse("admin:routing_routingrule_add")
    )
    context: dict[str, Any] = {"back": back, "form": form, "rule": rule, "weeks": ROUTING_PREVIEW_WEEKS}
    if not form.is_valid():
        return render(
            request, "dashboards/backtest/routing_preview.html", _page(request, context), status=422
        )
    edited = form.instance
    changes = _rule_changes(rule, edited)
    saved_rules = routing_selectors.rule_specs()
    edited_rules = routing_selectors.rule_specs_with(edited)
    since = timezone.now() - dt.timedelta(weeks=ROUTING_PREVIEW_WEEKS)
    labels = dict(Route.choices)
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    moved = []
    eqls = routing_selectors.eqls_route_facts(since=since)
    for eql in eqls:
        old = routing_rules.decide_route(eql.facts, saved_rules)
        new = routing_rules.decide_route(eql.facts, edited_rules)
        before[old.route] = before.get(old.route, 0) + 1
        after[new.route] = after.get(new.route, 0) + 1
        if old.route != new.route:
            moved.append(
                {
                    "eql": eql,
                    "before": labels.get(old.route, old.route),
                    "after": labels.get(new.route, new.route),
                    "rule": new.rule,
                }
            )
    routes = [r for r in labels if r in before or r in after]
    context.update(
        title=edited.name,
        changes=changes,
        new=rule is None,
        eqls=len(eqls),
        since=since,
        rows=[
            {
                "route": labels[r],
                "before": before.get(r, 0),
                "after": after.get(r, 0),
                "delta": after.get(r, 0) - before.get(r, 0),
            }
            for r in routes
        ],
        moved_count=len(moved),
        moved=moved[:ROUTING_SAMPLE],
    )
    return render(request, "dashboards/backtest/routing_preview.html", _page(request, context))
