"""Admin for RevOps: signals, gates and the EQL policy, with validation and change history."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join
from simple_history.admin import SimpleHistoryAdmin

from expansion.admin import AccountAdmin
from expansion.models import Account, Metric
from scoring import config as cfg
from scoring import selectors, services, triggers
from scoring.models import EqlPolicy, Gate, ScoringPass, SignalCondition, SignalDefinition
from scoring.opening_angle import (
    ALLOWED_PLACEHOLDERS,
    MAX_FORMAT_WIDTH,
    MAX_OPENING_ANGLE_LENGTH,
    oversized_formats,
    placeholder_names,
)

NUMERIC_FIELDS = {"contract_arr", "tenure_days", "health_score", "seats_licensed", "api_limit_30d"}


def metric_known(name: str) -> bool:
    if name.endswith(cfg.MODULE_WILDCARD):
        return Metric.objects.filter(name__startswith=name[: -len(cfg.MODULE_WILDCARD)] + ":").exists()
    return Metric.objects.filter(name=name).exists()


#: The threshold's help in the form: how a share is written (the app shows it as a percent too).
THRESHOLD_HELP = (
    "For a share (a signal that divides by a denominator) 0.90 = 90%, shown as 90% in the signal "
    "list and on the EQL page; otherwise the usage level, change or multiple (3 = three times)."
)


def threshold_text(threshold: float, *, compare: str, shared: bool) -> str:
    """A threshold as the app's signal lines show it: a share as a percent (0.9 -> 90%)."""
    if shared and compare == cfg.COMPARE_VALUE:
        return f"{threshold * 100:.0f}%" if round(threshold * 100, 6).is_integer() else f"{threshold:.1%}"
    return f"{threshold:,g}"


class SignalForm(forms.ModelForm):
    """Admin builds the model form from this base (its fields come from the admin's fieldsets)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "threshold" in self.fields:
            self.fields["threshold"].help_text = THRESHOLD_HELP

    def clean(self):
        data = super().clean()
        unknown = placeholder_names(data.get("opening_angle") or "") - ALLOWED_PLACEHOLDERS
        if unknown:
            self.add_error(
                "opening_angle",
                f"Unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}. "
                f"Use only: {', '.join('{' + p + '}' for p in sorted(ALLOWED_PLACEHOLDERS))}.",
            )
        angle = data.get("opening_angle") or ""
        if len(angle) > MAX_OPENING_ANGLE_LENGTH:
            self.add_error(
                "opening_angle",
                f"The opening angle is {len(angle):,} characters long; keep it to "
                f"{MAX_OPENING_ANGLE_LENGTH:,} so it reads in one glance.",
            )
        if wide := oversized_formats(angle):
            self.add_error(
                "opening_angle",
                f"{', '.join(wide)}: a placeholder's width or precision may be at most "
                f"{MAX_FORMAT_WIDTH}, e.g. {{estimate:,.0f}}.",
            )
        threshold = data.get("threshold")
        compare = data.get("compare")
        if threshold is not None and compare in (cfg.COMPARE_VALUE, cfg.COMPARE_RATIO) and threshold < 0:
            self.add_error(
                "threshold", "A usage level or multiple cannot be negative; use a value of 0 or more."
            )
        if threshold is not None and compare == cfg.COMPARE_RATIO and threshold == 0:
            self.add_error("threshold", "A multiple of 0 always fires; use e.g. 3 for 'three times'.")
        has_ratio = data.get("denominator_metric") or data.get("denominator_field")
        if threshold is not None and has_ratio and compare == cfg.COMPARE_VALUE and threshold > 10:
            self.add_error(
                "threshold",
                "This signal divides by a denominator, so the threshold is a share: 0.90 means 90%.",
            )
        if data.get("denominator_metric") and data.get("denominator_field"):
            self.add_error("denominator_field", "Divide by a metric or by an account field, not both.")
        if compare in (cfg.COMPARE_CHANGE, cfg.COMPARE_RATIO) and not data.get("window_days"):
            self.add_error(
                "window_days", "Change and multiple signals compare with an earlier value: set window_days."
            )
        if data.get("priority") == cfg.PRIORITY_WATCH and data.get("points"):
            self.add_error("points", "Watch signals never count toward the score; set points to 0.")
        if data.get("priority") != cfg.PRIORITY_WATCH and not data.get("expansion_type"):
            self.add_error("expansion_type", "A scoring signal must point at seats, a tier or a module.")
        metric = data.get("metric") or ""
        if data.get("expansion_type") == cfg.EXPANSION_MODULE and not (
            data.get("target") or metric.endswith(cfg.MODULE_WILDCARD)
        ):
            self.add_error("target", "Name the module, or use a per-module metric ending in ':*'.")
        hour = data.get("deliver_hour")
        if hour is not None and hour > 23:
            self.add_error("deliver_hour", "Use a local hour of the day from 0 to 23 (10 = 10:00).")
        return data


class SignalConditionInline(admin.TabularInline):
    """A trigger's extra conditions, edited on its page; all of them must hold (validated by the model)."""

    model = SignalCondition
    extra = 0
    fields = (
        "order",
        "kind",
        "metric",
        "subject",
        "compare",
        "denominator_metric",
        "denominator_field",
        "operator",
        "threshold",
        "value",
        "window_days",
        "persistence_days",
        "direction",
    )
    verbose_name = "condition (all must hold)"
    verbose_name_plural = "conditions (all must hold besides the metric above)"


@admin.register(SignalDefinition)
class SignalAdmin(SimpleHistoryAdmin):
    form = SignalForm
    inlines = (SignalConditionInline,)
    readonly_fields = ("summary",)
    # Adds "Preview impact (last 12 months)": posts the unsaved form to dashboards.backtest_views.
    change_form_template = "dashboards/backtest/signal_change_form.html"
    # Fits 1366 px beside admin's sidebar with Threshold in view (key and order are in the form; the
    # list is sorted by order); tests/browser/test_config_preview_browser.py checks it does not scroll.
    list_display = (
        "name",
        "active",
        "priority",
        "points",
        "condition",
        "threshold_shown",
        "days",
        "expansion_type",
    )
    # Nothing is edited in the list: every change that moves EQLs goes through the form and its
    # "Preview impact" next to Save (#15).
    list_filter = ("active", "priority", "expansion_type")
    search_fields = ("name", "key", "metric")
    history_list_display = ("threshold", "points", "active")
    fieldsets = (
        (None, {"fields": ("summary", "key", "name", "active", "order", "priority", "points")}),
        (
            "Condition",
            {
                "fields": (
                    "metric",
                    "compare",
                    "denominator_metric",
                    "denominator_field",
                    "operator",
                    "threshold",
                    "window_days",
                    "persistence_days",
                )
            },
        ),
        (
            "Scope and timing",
            {
                "fields": (
                    "segments",
                    "tiers",
                    "cooldown_days",
                    "delay_hours",
                    "deliver_hour",
                    "evaluate_on_arrival",
                )
            },
        ),
        ("Commercial gap", {"fields": ("expansion_type", "target", "default_uplift", "hypothesis")}),
        ("What to say", {"fields": ("opening_angle", "discovery_questions")}),
    )

    @admin.display(description="In plain words")
    def summary(self, obj: SignalDefinition) -> str:
        """The saved trigger read aloud: its metric, every condition, scope, timing and cooldown."""
        if obj is None or obj.pk is None:
            return "Save to see the trigger in plain words."
        return triggers.summary(selectors.signal_spec(obj))

    @admin.display(description="Fires when", ordering="metric")
    def condition(self, obj: SignalDefinition) -> str:
        """The metric and its comparison, read with the Threshold column: 'seats_active ≥' 90%."""
        return f"{obj.metric} {obj.get_operator_display()}"

    @admin.display(description="Days", ordering="persistence_days")
    def days(self, obj: SignalDefinition) -> int:
        """Persistence: the days in a row the condition must hold."""
        return obj.persistence_days

    @admin.display(description="Threshold", ordering="threshold")
    def threshold_shown(self, obj: SignalDefinition) -> str:
        shared = bool(obj.denominator_metric or obj.denominator_field)
        return threshold_text(float(obj.threshold), compare=obj.compare, shared=shared)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.metric and not metric_known(obj.metric):
            messages.warning(
                request,
                f"No imported usage has the metric '{obj.metric}' yet, so '{obj.name}' cannot fire until an "
                "export with that metric is imported. Check the spelling against usage.csv.",
            )


class GateForm(forms.ModelForm):
    """Checks the gate's value against its subject."""

    def clean(self):
        data = super().clean()
        subject, value = data.get("subject") or "", data.get("value") or ""
        numeric = subject in NUMERIC_FIELDS or subject not in cfg.ACCOUNT_FIELDS
        if numeric and data.get("operator") in ("gte", "gt", "lte", "lt"):
            try:
                float(value)
            except ValueError:
                self.add_error("value", f"'{subject}' is a number; enter a number such as 20000.")
        if subject in ("contract_arr", "tenure_days", "health_score") and value.startswith("-"):
            self.add_error("value", "This value cannot be negative.")
        return data


@admin.register(Gate)
class GateAdmin(SimpleHistoryAdmin):
    form = GateForm
    list_display = (
        "name",
        "order",
        "active",
        "subject",
        "operator",
        "value",
        "action",
        "skip_if_missing",
        "segments",
    )
    # No inline edits: a gate's change goes through the form and its "Preview impact" (#15).
    list_filter = ("action", "active")
    search_fields = ("name", "subject")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.subject not in cfg.ACCOUNT_FIELDS and not metric_known(obj.subject):
            messages.warning(
                request,
                f"'{obj.subject}' is not an account field and no imported usage has that metric yet; "
                f"account fields are: {', '.join(cfg.ACCOUNT_FIELDS)}.",
            )


@admin.register(EqlPolicy)
class EqlPolicyAdmin(SimpleHistoryAdmin):
    """The one policy row; its form has "Preview impact" next to Save (templates/admin/scoring/eqlpolicy)."""

    list_display = (
        "__str__",
        "score_threshold",
        "min_expansion_pct",
        "suppression_days",
        "max_data_age_days",
        "updated_at",
    )

    def has_add_permission(self, request):
        return not EqlPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScoringPass)
class ScoringPassAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "as_of",
        "status",
        "trigger",
        "accounts_scored",
        "eqls_created",
        "eqls_updated",
        "eqls_unchanged",
        "csm_reviews_created",
        "seconds",
        "config_version",
        "started_at",
    )
    list_filter = ("status", "trigger")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in ScoringPass._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(Account)


@admin.register(Account)
class ExplainedAccountAdmin(AccountAdmin):
    """The account admin, with the scoring engine's answer to "why has it (no) EQL now?"."""

    readonly_fields = ("why_no_eql",)

    @admin.display(description="Why (no) EQL now")
    def why_no_eql(self, obj: Account) -> str:
        if obj.pk is None:
            return "-"
        lines = services.explain_text(services.account_explain(account_pk=obj.pk)).splitlines()
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))
