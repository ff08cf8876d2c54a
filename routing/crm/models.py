"""CRM connections, their mapping, and what each sync wrote, refused and read back."""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from expansion.models import EQL

from . import payload

_field_name = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_]*$", "A CRM field API name: letters, digits and underscores (e.g. EQL_Id__c)."
)


class CrmConnection(models.Model):
    """One CRM the EQLs are written to. Secrets come from the environment, never from here."""

    class Kind(models.TextChoices):
        SALESFORCE = payload.SALESFORCE, "Salesforce"
        HUBSPOT = payload.HUBSPOT, "HubSpot"

    class ObjectType(models.TextChoices):
        OPPORTUNITY = "Opportunity", "Salesforce Opportunity"
        TASK = "Task", "Salesforce Task"
        LEAD = "Lead", "Salesforce Lead"
        DEALS = "deals", "HubSpot deal"
        TASKS = "tasks", "HubSpot task"

    name = models.SlugField(max_length=40, unique=True, help_text="Used by `crm_sync --connection NAME`.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(
        default=True, help_text="Off: no sync writes or reads this CRM (the EQL page shows nothing)."
    )
    object_type = models.CharField(
        "EQL becomes a",
        max_length=16,
        choices=ObjectType.choices,
        help_text="The CRM object each EQL is written as.",
    )
    upsert_key = models.CharField(
        "upsert key",
        max_length=80,
        validators=[_field_name],
        help_text="Salesforce: an External ID field (EQL_Id__c); HubSpot: a unique property (eql_id). "
        "It holds the EQL id, so a record is created once and updated after.",
    )
    auto_create_routes = models.JSONField(
        default=list,
        blank=True,
        help_text="Routes whose new EQLs are written without anyone asking (e.g. ae, csm). Others get a "
        '"Create in CRM" button on the EQL page.',
    )
    bulk_threshold = models.PositiveIntegerField(
        default=2000,
        validators=[MinValueValidator(1)],
        help_text="Salesforce: a run with at least this many records to write uses one Bulk API 2.0 job "
        "instead of 200-record collection requests.",
    )
    hubspot_pipeline = models.CharField(
        max_length=64, blank=True, default="default", help_text="HubSpot deals: the pipeline deals go in."
    )
    read_back = models.BooleanField(
        default=True, help_text="Read stage and owner changes back each hour; won/lost close the EQL."
    )
    watermark = models.CharField(
        max_length=40,
        blank=True,
        help_text="Last CRM modification time read back (SystemModstamp / hs_lastmodifieddate).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "CRM connection"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="salesforce") & Q(object_type__in=["Opportunity", "Task", "Lead"]))
                | (Q(kind="hubspot") & Q(object_type__in=["deals", "tasks"])),
                name="crm_object_fits_kind",
                violation_error_message="Salesforce takes Opportunity, Task or Lead; HubSpot deals or tasks.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()} {self.object_type})"


class CrmFieldMap(models.Model):
    """One row of a connection's mapping: which CRM field gets which EQL value."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="fields")
    crm_field = models.CharField("CRM field", max_length=80, validators=[_field_name])
    source = models.CharField("EQL value", max_length=24, choices=list(payload.SOURCES.items()))
    required = models.BooleanField(
        default=False, help_text="Refuse (and log) the record when this value is empty instead of sending it."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "field mapping"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "crm_field"],
                name="crm_field_once",
                violation_error_message="This CRM field is already mapped.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.crm_field} <- {self.source}"


class CrmStageMap(models.Model):
    """The CRM stage (or status) written for each EQL status; won and lost read back close the EQL."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="stages")
    eql_status = models.CharField(
        "EQL status", max_length=16, choices=[(s, s.replace("_", " ").capitalize()) for s in payload.STATUSES]
    )
    crm_stage = models.CharField("CRM stage", max_length=80)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "stage mapping"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "eql_status"],
                name="crm_stage_once",
                violation_error_message="This EQL status already has a CRM stage.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.eql_status} -> {self.crm_stage}"


class CrmLink(models.Model):
    """An EQL's record in one CRM: its id there, and the hash of what was last written."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="links")
    eql = models.ForeignKey(EQL, on_delete=models.CASCADE, related_name="crm_links")
    requested = models.BooleanField(
        default=False, help_text='Someone asked for it ("Create in CRM") on a route not written by default.'
    )
    crm_id = models.CharField(max_length=40, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    owner_written = models.CharField(max_length=40, blank=True, help_text="CRM owner id we last wrote.")
    crm_owner_id = models.CharField(
        max_length=40, blank=True, help_text="Owner the CRM shows now, when someone changed it there."
    )
    crm_stage = models.CharField(max_length=80, blank=True, help_text="Stage read back from the CRM.")
    company_associated = models.CharField(max_length=40, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    crm_modified_at = models.CharField(max_length=40, blank=True)
    closed_from_crm = models.BooleanField(default=False)
    claim_run = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Sync run sending this record now (racing runs skip it)."
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "CRM record"
        constraints = [
            models.UniqueConstraint(fields=["connection", "eql"], name="one_crm_record_per_eql"),
        ]
        indexes = [models.Index(fields=["connection", "crm_id"], name="crm_link_crm_id")]

    def __str__(self) -> str:
        return f"EQL {self.eql_id} -> {self.crm_id or '(not written yet)'}"


class CrmSyncRun(models.Model):
    """One sync of one connection: what it wrote, left, refused, and read back."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped (resumes next run)"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    dry_run = models.BooleanField(default=False)
    to_write = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    closed_from_crm = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        verbose_name = "CRM sync run"
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.connection.name} {self.started_at:%Y-%m-%d %H:%M} {self.state}"


class CrmReject(models.Model):
    """A record the CRM refused (or we could not send), with the CRM's own code; retried next run."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="rejects")
    eql = models.ForeignKey(EQL, on_delete=models.CASCADE, related_name="crm_rejects")
    run = models.ForeignKey(CrmSyncRun, null=True, on_delete=models.SET_NULL, related_name="rejects")
    code = models.CharField(max_length=64)
    message = models.TextField()
    fields = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="A later run wrote the record.")

    class Meta:
        verbose_name = "CRM reject"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["eql", "resolved_at"], name="crm_reject_open")]

    def __str__(self) -> str:
        return f"EQL {self.eql_id}: {self.code}"

    @property
    def text(self) -> str:
        on = f" on {', '.join(self.fields)}" if self.fields else ""
        return f"{self.code}{on}: {self.message}"
