"""Scoring configuration RevOps edits in admin (signals, gates, policy) and the record of passes.

Every change keeps a history (django-simple-history): who changed what, when, from what to what.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from scoring import config as cfg
from scoring import triggers


class Priority(models.TextChoices):
    HIGH = cfg.PRIORITY_HIGH, "High"
    MEDIUM = cfg.PRIORITY_MEDIUM, "Medium"
    WATCH = cfg.PRIORITY_WATCH, "Watch (CSM judgment only)"


class Compare(models.TextChoices):
    VALUE = cfg.COMPARE_VALUE, "Value (optionally ÷ denominator) vs threshold"
    CHANGE = cfg.COMPARE_CHANGE, "Change vs value window_days ago"
    RATIO = cfg.COMPARE_RATIO, "Multiple of value window_days ago"


class Operator(models.TextChoices):
    GTE = "gte", "≥"
    GT = "gt", ">"
    LTE = "lte", "≤"
    LT = "lt", "<"
    EQ = "eq", "="
    NE = "ne", "≠"


class ExpansionKind(models.TextChoices):
    SEATS = cfg.EXPANSION_SEATS, "Seats"
    TIER = cfg.EXPANSION_TIER, "Tier"
    MODULE = cfg.EXPANSION_MODULE, "Module"
    NONE = cfg.EXPANSION_NONE, "None (CSM judgment)"


class DenominatorField(models.TextChoices):
    NONE = "", "—"
    SEATS = "seats_licensed", "seats_licensed"
    API = "api_limit_30d", "api_limit_30d"
    ARR = "contract_arr", "contract_arr"


class SignalDefinition(models.Model):
    key = models.SlugField(max_length=64, unique=True, help_text="Stable identifier used in EQL records.")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    metric = models.CharField(
        max_length=120,
        blank=True,
        help_text="Usage metric name. End with ':*' for a per-module family, e.g. gated_feature_views_14d:*. "
        "Blank: the conditions below alone decide (e.g. an event-count trigger).",
    )
    compare = models.CharField(max_length=8, choices=Compare.choices, default=Compare.VALUE)
    denominator_metric = models.CharField(max_length=120, blank=True, help_text="Divide by this metric.")
    denominator_field = models.CharField(
        max_length=32,
        choices=DenominatorField.choices,
        blank=True,
        help_text="Or divide by an account field.",
    )
    operator = models.CharField(max_length=4, choices=Operator.choices, default=Operator.GTE)
    threshold = models.FloatField()
    window_days = models.PositiveSmallIntegerField(
        default=0, help_text="For change/multiple signals: compare with the value this many days earlier."
    )
    persistence_days = models.PositiveSmallIntegerField(
        default=1, help_text="The condition must hold on every one of the last N days (stops oscillation)."
    )
    points = models.PositiveSmallIntegerField(default=0, help_text="Score points when it fires (watch: 0).")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    expansion_type = models.CharField(max_length=8, choices=ExpansionKind.choices, blank=True)
    target = models.CharField(
        max_length=64, blank=True, help_text="Module or tier it points at; blank tier = next tier up."
    )
    default_uplift = models.FloatField(
        default=0, help_text="Fraction of contract ARR used when fewer than 10 won expansions calibrate it."
    )
    hypothesis = models.TextField("commercial hypothesis", blank=True)
    opening_angle = models.TextField(
        blank=True, help_text="Placeholders: {account_name}, {seat_utilisation}, …"
    )
    discovery_questions = models.TextField(blank=True, help_text="One question per line.")
    segments = models.CharField(
        max_length=120, blank=True, help_text="Only accounts of these segments (';'-separated). Blank = all."
    )
    tiers = models.CharField(
        "plan tiers",
        max_length=120,
        blank=True,
        help_text="Only accounts on these plan tiers (';'-separated). Blank = all.",
    )
    cooldown_days = models.PositiveSmallIntegerField(
        default=0,
        help_text="Days after this trigger last produced an EQL or a self-serve message for the account "
        "before it may again. 0 = no cooldown (dedup and the suppression after a closure still hold).",
    )
    delay_hours = models.PositiveSmallIntegerField(
        default=0, help_text="Hours after it is first seen firing before it counts. 0 = at once."
    )
    deliver_hour = models.PositiveSmallIntegerField(
        "deliver at local hour",
        null=True,
        blank=True,
        help_text="Count it only from the next business day at this hour (0-23) in the account's time "
        "zone after it first fires. Blank = any time.",
    )
    evaluate_on_arrival = models.BooleanField(
        default=False,
        help_text="Score an account within minutes when one of this trigger's events arrives "
        "(event-count conditions), not only in the hourly pass.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "key"]
        constraints = [
            models.CheckConstraint(condition=Q(persistence_days__gte=1), name="signal_persistence_positive"),
            models.CheckConstraint(
                condition=Q(default_uplift__gte=0) & Q(default_uplift__lte=10), name="signal_uplift_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ConditionKind(models.TextChoices):
    METRIC = cfg.CONDITION_METRIC, "Metric against a value"
    TREND = cfg.CONDITION_TREND, "Metric trend over a window"
    FIELD = cfg.CONDITION_FIELD, "Account field against a value or a set"
    FAMILY_COUNT = cfg.CONDITION_FAMILY_COUNT, "Count of a metric family in use"
    EVENT_COUNT = cfg.CONDITION_EVENT_COUNT, "Count of product events in a window"


class ConditionOperator(models.TextChoices):
    GTE = "gte", ">="
    GT = "gt", ">"
    LTE = "lte", "<="
    LT = "lt", "<"
    EQ = "eq", "="
    NE = "ne", "≠"
    IN = "in", "is one of"
    NOT_IN = "not_in", "is none of"


class TrendDirection(models.TextChoices):
    DECLINING = cfg.TREND_DECLINING, "declining"
    RISING = cfg.TREND_RISING, "rising"


class SignalCondition(models.Model):
    """One more condition a trigger needs besides its own metric clause: all of them must hold."""

    signal = models.ForeignKey(SignalDefinition, on_delete=models.CASCADE, related_name="conditions")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=ConditionKind.choices, default=ConditionKind.METRIC)
    metric = models.CharField(
        max_length=120, blank=True, help_text="Metric (or family name:*) for metric, trend and family count."
    )
    subject = models.CharField(
        max_length=120,
        blank=True,
        help_text="Account field (field conditions) or event name (event-count conditions).",
    )
    compare = models.CharField(max_length=8, choices=Compare.choices, default=Compare.VALUE)
    denominator_metric = models.CharField(max_length=120, blank=True)
    denominator_field = models.CharField(max_length=16, choices=DenominatorField.choices, blank=True)
    operator = models.CharField(
        max_length=8, choices=ConditionOperator.choices, default=ConditionOperator.GTE
    )
    threshold = models.FloatField(default=0, help_text="Number to compare with (metric, counts).")
    value = models.CharField(
        max_length=240, blank=True, help_text="Field conditions: a number, a text, or a ';'-separated set."
    )
    window_days = models.PositiveSmallIntegerField(
        default=0, help_text="Change/multiple and trend: days back; event count: the last N days."
    )
    persistence_days = models.PositiveSmallIntegerField(
        default=1, help_text="Metric conditions: must hold on each of the last N days."
    )
    direction = models.CharField(
        max_length=12, choices=TrendDirection.choices, default=TrendDirection.DECLINING, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["signal", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(persistence_days__gte=1), name="condition_persistence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"condition {self.order}: {triggers.condition_text(self.as_spec())}"

    def as_spec(self) -> cfg.ConditionSpec:
        return cfg.ConditionSpec(
            kind=self.kind,
            metric=self.metric.strip(),
            subject=self.subject.strip(),
            operator=self.operator,
            threshold=float(self.threshold or 0),
            value=self.value.strip(),
            compare=self.compare,
            denominator_metric=self.denominator_metric.strip(),
            denominator_field=self.denominator_field,
            window_days=int(self.window_days or 0),
            persistence_days=max(1, int(self.persistence_days or 1)),
            direction=self.direction or cfg.TREND_DECLINING,
        )

    def clean(self):
        super().clean()
        problems = triggers.condition_problems(self.as_spec())
        if problems:
            raise ValidationError(problems)


class GateAction(models.TextChoices):
    BLOCK = cfg.GATE_BLOCK, "Block (no EQL)"
    SELF_SERVE = cfg.GATE_SELF_SERVE, "Self-serve path (never AE-led)"


class Gate(models.Model):
    name = models.CharField(max_length=120, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    subject = models.CharField(
        max_length=120,
        help_text="Account field (status, segment, plan_tier, contract_arr, tenure_days, health_score, "
        "seats_licensed, api_limit_30d) or a metric name (latest value).",
    )
    operator = models.CharField(max_length=4, choices=Operator.choices, default=Operator.GTE)
    value = models.CharField(max_length=120)
    action = models.CharField(max_length=16, choices=GateAction.choices, default=GateAction.BLOCK)
    skip_if_missing = models.BooleanField(default=False, help_text="A missing value passes (e.g. health).")
    segments = models.CharField(
        max_length=120, blank=True, help_text="Only apply to these segments (';'-separated). Blank = all."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class EqlPolicy(models.Model):
    """The single EQL policy. Edit the one row in admin."""

    score_threshold = models.PositiveSmallIntegerField(default=cfg.PolicySpec.score_threshold)
    min_expansion_pct = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=cfg.PolicySpec.min_expansion_pct,
        help_text="0.15 = estimate must be ≥ 15% of contract ARR.",
    )
    suppression_days = models.PositiveSmallIntegerField(default=cfg.PolicySpec.suppression_days)
    max_data_age_days = models.PositiveSmallIntegerField(
        default=cfg.PolicySpec.max_data_age_days,
        help_text="Signals do not fire on usage data older than this.",
    )
    min_calibration_samples = models.PositiveSmallIntegerField(default=cfg.PolicySpec.min_calibration_samples)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "EQL policy"
        verbose_name_plural = "EQL policy"
        constraints = [
            models.CheckConstraint(condition=Q(score_threshold__lte=100), name="policy_threshold_0_100"),
            models.CheckConstraint(
                condition=Q(min_expansion_pct__gte=0) & Q(min_expansion_pct__lte=10),
                name="policy_floor_range",
            ),
        ]

    def __str__(self) -> str:
        return "EQL policy"


class PassStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ScoringPass(models.Model):
    """One run of the scoring pass: when, for which as_of, what it wrote, with which configuration."""

    as_of = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Last sign of life: set at start, by every chunk as it starts and ends, and every sixth of
    #: SCORING_PASS_STALE_SECONDS while a chunk runs. A running pass whose heartbeat is older than
    #: SCORING_PASS_STALE_SECONDS lost its worker or broker and is rerun.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PassStatus.choices, default=PassStatus.RUNNING)
    trigger = models.CharField(max_length=32, default="command")
    config_version = models.PositiveIntegerField(default=0)
    chunks = models.PositiveIntegerField(default=1)
    accounts_scored = models.PositiveIntegerField(default=0)
    eqls_created = models.PositiveIntegerField(default=0)
    eqls_updated = models.PositiveIntegerField(default=0)
    eqls_unchanged = models.PositiveIntegerField(default=0)
    csm_reviews_created = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "scoring passes"

    def __str__(self) -> str:
        return f"Pass {self.pk} as of {self.as_of:%Y-%m-%d %H:%M} ({self.status})"


class UsageStoreState(models.Model):
    """What one local usage store file (``scoring.usage_store``) holds, by the token written in it.

    A store whose token has no row here (a new machine, a restored database) is rebuilt.
    """

    token = models.CharField(max_length=36, unique=True)
    change_id = models.PositiveBigIntegerField(default=0, help_text="Last UsageChange read.")
    snapshot_max_id = models.PositiveBigIntegerField(default=0, help_text="Highest snapshot id read.")
    first_date = models.DateField(help_text="The store holds usage from this day on.")
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "usage store"

    def __str__(self) -> str:
        return f"usage store {self.token[:8]} from {self.first_date}"


class TriggerCrossing(models.Model):
    """When a timed trigger was first seen firing for an account (with all its conditions); the pass
    keeps it while the trigger fires and drops it when it stops, so a delay or a delivery hour counts
    from the first pass that saw it."""

    account = models.ForeignKey("expansion.Account", on_delete=models.CASCADE, related_name="+")
    signal_key = models.SlugField(max_length=64)
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "signal_key"], name="trigger_crossing_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.signal_key} on account {self.account_id} since {self.first_seen_at:%Y-%m-%d %H:%M}"
