"""Core domain: people and roles, accounts, usage snapshots, activities, historical expansions,
EQL records and the split-credit log. Schema and constraints only; behaviour lives in services."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from expansion import statuses


class Role(models.TextChoices):
    AE = "AE", "Account Executive"
    CSM = "CSM", "Customer Success Manager"
    MANAGER = "Manager", "Manager"
    REVOPS = "RevOps", "RevOps"
    FINANCE = "Finance", "Finance"


class User(AbstractUser):
    """A person who works EQLs or reads reports. Login is the email address."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, blank=True, db_index=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Maximum open EQLs this person can hold; empty = unlimited."
    )

    class Meta:
        ordering = ["name", "email"]

    def __str__(self) -> str:
        return self.name or self.email or self.username

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Segment(models.TextChoices):
    SMB = "SMB", "SMB"
    MIDMARKET = "MidMarket", "Mid-market"
    ENTERPRISE = "Enterprise", "Enterprise"


class PlanTier(models.TextChoices):
    STARTER = "Starter", "Starter"
    PROFESSIONAL = "Professional", "Professional"
    BUSINESS = "Business", "Business"
    ENTERPRISE = "Enterprise", "Enterprise"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CHURNED = "churned", "Churned"


class Account(models.Model):
    account_id = models.CharField("account id", max_length=64, unique=True)
    name = models.CharField(max_length=255)
    segment = models.CharField(max_length=16, choices=Segment.choices, db_index=True)
    plan_tier = models.CharField(max_length=16, choices=PlanTier.choices)
    contract_arr = models.DecimalField(max_digits=14, decimal_places=2)
    customer_since = models.DateField()
    renewal_date = models.DateField(null=True, blank=True)
    seats_licensed = models.PositiveIntegerField(default=0)
    api_limit_30d = models.PositiveBigIntegerField(default=0)
    owned_modules = models.JSONField(default=list, blank=True)
    health_score = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    ae = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="ae_accounts")
    csm = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="csm_accounts"
    )
    crm_account_id = models.CharField(
        "CRM account id",
        max_length=18,
        blank=True,
        help_text="Salesforce Account Id or HubSpot company id the account's EQLs are linked to.",
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        help_text="The customer's IANA time zone (e.g. Europe/Berlin); timed deliveries use its local "
        "hours. Blank: the site time zone.",
    )
    admin_email = models.EmailField(
        "admin contact email",
        blank=True,
        help_text="The account's admin contact; self-serve expansion messages are sent to this address.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(contract_arr__gte=0), name="account_arr_non_negative"),
            models.CheckConstraint(
                condition=Q(health_score__isnull=True) | Q(health_score__lte=100), name="account_health_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class Metric(models.Model):
    """A usage metric name. Snapshots refer to it by a small integer to keep 28M rows compact."""

    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UsageSnapshot(models.Model):
    """One metric value for one account on one day (long format, as the warehouse exports it)."""

    # No database-level foreign keys: the import validates every account id and takes metric ids from
    # the Metric table, and PostgreSQL would otherwise re-check millions of rows at each commit.
    # Deleting an account still cascades through the ORM.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="snapshots", db_index=False, db_constraint=False
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, db_index=False, db_constraint=False)
    date = models.DateField()
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "date"], name="snapshot_unique_account_metric_day"
            )
        ]
        # The scoring pass reads "these metrics on these days for every account". The account id makes
        # keys unique (inserts never pile onto a few heavily duplicated entries) and the value makes the
        # index covering, so the pass reads the index alone, never the table.
        indexes = [
            models.Index(fields=["metric", "date", "account", "value"], name="snapshot_window_covering")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.metric_id} {self.date}={self.value}"


class UsageChange(models.Model):
    """A write to the usage snapshots (one import or sync batch): which days it touched.

    The scoring pass's local usage store re-reads only these days (``scoring.usage_store``).
    """

    first_date = models.DateField()
    last_date = models.DateField()
    rows = models.PositiveBigIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"usage {self.first_date}..{self.last_date} ({self.rows} rows)"


class ActivityType(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    PROPOSAL = "proposal", "Proposal"
    QBR = "qbr", "QBR"
    NOTE = "note", "Note"
    EQL_EVENT = "eql_event", "EQL event"


#: Activity types that count as a commercial conversation in the coverage diagnostic.
COMMERCIAL_ACTIVITY_TYPES = ("call", "email", "meeting", "proposal")


class Activity(models.Model):
    """Something that happened on an account: imported from the CRM, or an EQL lifecycle event."""

    activity_id = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    occurred_at = models.DateTimeField(db_index=True)
    type = models.CharField(max_length=16, choices=ActivityType.choices)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    actor_email = models.EmailField(blank=True)
    commercial = models.BooleanField(default=False)
    eql = models.ForeignKey("EQL", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=24, blank=True, help_text="Lifecycle event, for EQL events.")
    reason = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["account", "occurred_at"], name="activity_account_time")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} on {self.account_id} at {self.occurred_at:%Y-%m-%d}"


class ProductEvent(models.Model):
    """Something a user did in the product (e.g. ``invite_blocked_seat_limit``), from events.csv, a
    warehouse source or ``POST /api/events/``. Written once per event id: a repeat is skipped."""

    event_id = models.CharField(max_length=128, unique=True)
    # db_index=False: the (account, occurred_at) index below serves lookups by account too.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="product_events", db_index=False
    )
    occurred_at = models.DateTimeField(help_text="When it happened (UTC).")
    event = models.CharField(
        max_length=120, db_index=True, help_text="Event name, e.g. invite_blocked_seat_limit."
    )
    properties = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = "product event"
        indexes = [models.Index(fields=["account", "occurred_at"], name="product_event_account_time")]

    def __str__(self) -> str:
        return f"{self.event} on {self.account_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ExpansionStatus(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"
    OPEN = "open", "Open"


class ExpansionType(models.TextChoices):
    SEATS = "seats", "Seats"
    TIER = "tier", "Tier"
    MODULE = "module", "Module"


class Expansion(models.Model):
    """A historical expansion deal from the CRM (used to calibrate uplifts and score backtests)."""

    opportunity_id = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="expansions")
    created_date = models.DateField()
    closed_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=ExpansionStatus.choices)
    expansion_arr = models.DecimalField(max_digits=14, decimal_places=2)
    expansion_type = models.CharField(max_length=8, choices=ExpansionType.choices)
    contract_arr_at_close = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-created_date"]
        indexes = [models.Index(fields=["status", "expansion_type"], name="expansion_status_type")]

    def __str__(self) -> str:
        return f"{self.opportunity_id} {self.status} {self.expansion_arr}"


class EQLStatus(models.TextChoices):
    NEW = statuses.NEW, "New"
    CONTACTED = statuses.CONTACTED, "Contacted"
    CALL_BOOKED = statuses.CALL_BOOKED, "Call booked"
    PROPOSAL_SENT = statuses.PROPOSAL_SENT, "Proposal sent"
    WON = statuses.WON, "Won"
    LOST = statuses.LOST, "Lost"
    DECLINED = statuses.DECLINED, "Declined"


OPEN_STATUSES = tuple(EQLStatus(s) for s in statuses.OPEN)
CLOSED_STATUSES = tuple(EQLStatus(s) for s in statuses.CLOSED)


class Route(models.TextChoices):
    AE = "ae", "AE-led"
    CSM = "csm", "CSM-led"
    SELF_SERVE = "self_serve", "Self-serve"
    CSM_REVIEW = "csm_review", "CSM review"
    JOINT = "joint", "Joint AE + CSM"


class ReviewState(models.TextChoices):
    NONE = "", "No review window"
    PENDING = "pending", "In CSM review"
    RELEASED = "released", "Released by CSM"
    EXPIRED = "expired", "Review window ended"
    HELD = "held", "Held by CSM"
    ESCALATED = "escalated", "Hold escalated"


class EQL(models.Model):
    """An Expansion Qualified Lead: one commercial gap on one account, with the evaluation behind it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="eqls")
    status = models.CharField(max_length=16, choices=EQLStatus.choices, default=EQLStatus.NEW, db_index=True)
    score = models.PositiveSmallIntegerField(default=0)
    primary_signal = models.CharField(max_length=64, blank=True)
    priority = models.CharField(max_length=8, blank=True, help_text="Priority of the primary signal.")
    expansion_type = models.CharField(max_length=8, blank=True)
    target = models.CharField(max_length=64, blank=True, help_text="Module or tier the EQL points at.")
    triggered_signals = models.JSONField(default=list, blank=True)
    points_total = models.PositiveIntegerField(
        default=0, help_text="Uncapped sum of the fired signals' points (the score caps it at 100)."
    )
    evaluation = models.JSONField(default=dict, blank=True, help_text="The evaluation that made this EQL.")
    route = models.CharField(max_length=16, choices=Route.choices)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_eqls"
    )
    csm = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="csm_eqls")
    unassigned = models.BooleanField(default=False, help_text="Nobody had capacity when it was routed.")
    csm_involvement_required = models.BooleanField(default=False)
    self_serve_gate = models.BooleanField(default=False)
    contract_arr = models.DecimalField(max_digits=14, decimal_places=2)
    estimated_expansion_arr = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    estimate_source = models.CharField(max_length=16, blank=True)
    opening_angle = models.TextField(blank=True)
    discovery_questions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    sla_deadline = models.DateTimeField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    review_window_ends_at = models.DateTimeField(null=True, blank=True)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, blank=True, default="")
    hold_note = models.TextField(blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the EQL entered its current status (set by each status change; empty while new: "
        "its assignment, else creation, starts the stage).",
    )
    close_reason = models.CharField(max_length=64, blank=True)
    won_arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    config_version = models.PositiveIntegerField(default=0)
    last_pass = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Scoring pass that last wrote it."
    )

    class Meta:
        verbose_name = "EQL"
        verbose_name_plural = "EQLs"
        ordering = ["-score", "sla_deadline"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["new", "contacted", "call_booked", "proposal_sent"]),
                name="one_open_eql_per_account",
                violation_error_message="This account already has an open EQL.",
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="eql_score_0_100"),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="eql_owner_status"),
            models.Index(fields=["account", "closed_at"], name="eql_account_closed"),
        ]

    def __str__(self) -> str:
        return f"EQL {self.pk} {self.account_id} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AttributionEntryQuerySet(models.QuerySet):
    """The split-credit log is append-only: bulk updates and deletes are refused (corrections are new
    entries written by ``routing.attribution.services``)."""

    def update(self, **kwargs):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(
            "The attribution log is append-only: entries are never updated; record a correction."
        )

    def delete(self):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(
            "The attribution log is append-only: entries are never deleted; record a correction."
        )

    def bulk_create(self, objs, *args, **kwargs):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Attribution entries are written one by one through the hash chain service.")

    def bulk_update(self, objs, *args, **kwargs):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(
            "The attribution log is append-only: entries are never updated; record a correction."
        )


class AttributionEntry(models.Model):
    """One line of Finance's split-credit log: who got what credit for a won EQL, why, and when.

    Append-only: ``save()`` refuses an existing row, ``delete()`` always refuses, the queryset refuses
    ``update()``/``delete()``, and on PostgreSQL a trigger refuses UPDATE and DELETE of a row (migration
    0006). Each entry's ``entry_hash`` is HMAC-SHA256 under ``ATTRIBUTION_CHAIN_KEY`` over its content
    and the previous entry's hash (chain in id order; ``chain_version`` 1 marks entries written before
    the chain was keyed, unkeyed SHA-256), and signed heads are kept outside the table, so an edit, a
    re-chained rewrite or a deleted newest entry behind the app's back is found by
    ``verify_attribution`` (see ``routing.attribution.rules``, "the hash chain").
    A correction is two new entries: a reversal (negative percent and amount, ``corrects`` = the
    original) and a replacement (``corrects`` = the original too), both with a reason."""

    class CreditType(models.TextChoices):
        QUOTA = "quota", "Quota credit"
        ATTAINMENT = "attainment", "CSM attainment"

    eql = models.ForeignKey(EQL, on_delete=models.PROTECT, related_name="attribution_entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="attribution_entries")
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="attribution_entries")
    role = models.CharField(
        max_length=16, blank=True, help_text="The person's role when the entry was written."
    )
    credit_type = models.CharField(max_length=16, choices=CreditType.choices)
    percent = models.SmallIntegerField(help_text="Share of the won ARR; negative on a reversal.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Negative on a reversal.")
    period = models.CharField(max_length=7, db_index=True, help_text="YYYY-MM of the close.")
    closed_at = models.DateTimeField(db_index=True, help_text="When the EQL was won.")
    rule = models.CharField(max_length=32, help_text="The credit rule that produced this entry.")
    basis = models.JSONField(default=dict, blank=True, help_text="Route facts and split as seen at close.")
    reason = models.TextField()
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text="The entry this one reverses or replaces.",
    )
    entry_hash = models.CharField(max_length=64, unique=True)
    prev_hash = models.CharField(max_length=64)
    chain_version = models.PositiveSmallIntegerField(
        help_text="How entry_hash is computed: 1 unkeyed SHA-256 (before the key), 2 HMAC-SHA256."
    )

    objects = models.Manager.from_queryset(AttributionEntryQuerySet)()

    class Meta:
        ordering = ["id"]
        verbose_name = "attribution entry"
        verbose_name_plural = "attribution entries"
        constraints = [
            # One successor per entry: two writers that read the same head cannot fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="attribution_chain_no_fork"),
            models.CheckConstraint(
                condition=Q(percent__gte=-100) & Q(percent__lte=100), name="attribution_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(credit_type__in=["quota", "attainment"]), name="attribution_credit_type_valid"
            ),
        ]
        indexes = [models.Index(fields=["person", "period"], name="attribution_person_period")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.credit_type} {self.percent}% {self.amount} (EQL {self.eql_id})"

    def save(self, *args, **kwargs):
        from django.core.exceptions import PermissionDenied

        if self.pk is not None or not self._state.adding:
            raise PermissionDenied(
                "The attribution log is append-only: entries are never updated; record a correction."
            )
        if not self.entry_hash or not self.prev_hash or not self.chain_version:
            raise PermissionDenied("Attribution entries are written through the hash chain service only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(
            "The attribution log is append-only: entries are never deleted; record a correction."
        )


class SourceKind(models.TextChoices):
    CSV_FOLDER = "csv_folder", "Folder of CSV files"
    PARQUET = "parquet", "Parquet files (a file or folder per input)"
    DUCKDB = "duckdb", "DuckDB database file"
    SQL = "sql", "SQL database (SQLAlchemy URL: PostgreSQL, Snowflake, BigQuery, ...)"


class SourceInputName(models.TextChoices):
    USERS = "users", "users"
    ACCOUNTS = "accounts", "accounts"
    USAGE = "usage", "usage"
    ACTIVITIES = "activities", "activities"
    EXPANSIONS = "expansions", "expansions"
    EVENTS = "events", "events"


class WarehouseSource(models.Model):
    """Where the warehouse export is read from. A URL with a password is an ``env:NAME`` reference."""

    name = models.SlugField(max_length=40, unique=True, help_text="Used by `manage.py sync_source NAME`.")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    location = models.CharField(
        max_length=1000,
        help_text="A folder or file path, or a SQLAlchemy URL. A URL holding a password must be an "
        "environment reference such as env:WAREHOUSE_URL (the secret is never stored here).",
    )
    enabled = models.BooleanField(default=True, help_text="Off: the hourly sync skips this source.")
    lag_days = models.PositiveIntegerField(
        default=0,
        help_text="Re-read rows up to this many days before the last high-water mark, so rows that "
        "arrive late in the warehouse are picked up (unchanged rows are not rewritten).",
    )
    score_in_place = models.BooleanField(
        "score usage in place",
        default=False,
        help_text="Parquet and DuckDB sources: the scoring pass computes the signals straight from the "
        "source's usage (one query per pass) and its daily rows are not copied into this database. "
        "Accounts and the other inputs are still synced.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "warehouse source"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceInput(models.Model):
    """How one export input (users, accounts, ...) is read from a source, and how far it has read."""

    source = models.ForeignKey(WarehouseSource, on_delete=models.CASCADE, related_name="inputs")
    input = models.CharField(max_length=16, choices=SourceInputName.choices)
    query = models.TextField(
        blank=True,
        help_text="SQL: the query (SELECT ...). DuckDB: a table name or a query. Parquet: a file, folder "
        "or glob, relative to the location. Empty: the table, file or folder named after the input.",
    )
    watermark_column = models.CharField(
        max_length=120,
        blank=True,
        help_text="Only rows newer than the last sync's highest value are read. Empty: updated_at "
        "(date for usage) when the result has that column; otherwise every row each time.",
    )
    watermark = models.CharField(
        max_length=64, blank=True, help_text="Highest watermark value of the last successful sync."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["source", "input"]
        constraints = [
            models.UniqueConstraint(fields=["source", "input"], name="source_input_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source.name}: {self.input}"


class SourceRun(models.Model):
    """One sync of one source: per input the rows read, rejected and written, and how long it took."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected (bad rows; those inputs wrote nothing)"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(WarehouseSource, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    current_input = models.CharField(max_length=16, blank=True)
    inputs = models.JSONField(
        default=dict, blank=True, help_text="Per input: rows, rejected, created, updated, seconds, state."
    )
    rows_read = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        verbose_name = "source run"
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.source.name} {self.started_at:%Y-%m-%d %H:%M} {self.state}"
