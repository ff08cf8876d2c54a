"""Reports' own records: stored backtest runs (parameters, progress, result) to compare side by side."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class BacktestRun(models.Model):
    """One backtest of the signal model (saved or with overrides) over a period of stored history.

    ``params``: start, end (ISO dates), step_days, match_window_days, won_only, overrides
    (``{"signal_key.field": value, "policy.field": value}``) and optionally signals (whole edited
    signal definitions). ``result``: what ``scoring.backtest`` returns (precision, recall, by signal,
    by owner, weekly series, the configuration used).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backtest_runs",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of step dates replayed.")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="backtest_progress_0_100"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]), name="backtest_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"Backtest {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class CoverageSnapshot(models.Model):
    """The coverage page at one ``as_of`` for one choice of dimensions and k (``params_key``), computed
    once in the background (after every completed scoring pass for the default choice; on demand for
    another date or choice) and served as stored.

    ``payload``: the diagnostic's JSON (``CoverageResult.to_json`` without the untouched ids, full
    precision), the monthly ``trend``, the page's ``figures`` and its first untouched rows.
    ``untouched``: every untouched account (``{"columns", "rows"}``) for the CSV, read only by it.
    ``computed_at`` is set once numbers are stored; a recomputation keeps serving them meanwhile.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    as_of = models.DateField()
    params_key = models.CharField(max_length=300)
    params = models.JSONField(default=dict, blank=True, help_text="dimensions (names), min_top, quantile")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the computation done.")
    payload = models.JSONField(default=dict, blank=True)
    untouched = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0, help_text="How long the last computation took.")
    scoring_pass = models.ForeignKey(
        "scoring.ScoringPass",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The completed scoring pass whose data the numbers were computed after.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["params_key", "as_of"], name="coverage_snapshot_one_per_key_date"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="coverage_snapshot_progress_0_100"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="coverage_snapshot_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Coverage as of {self.as_of:%Y-%m-%d} ({self.params_key})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
