"""Routing rules, reason codes, notifications and outbound webhooks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from expansion.models import EQL, EQLStatus, Route
from routing.rules import SlaSpec
from routing.webhook_signing import InvalidSecret, secret_key


class RoutingRule(models.Model):
    """Ordered rule; the first whose every set condition matches decides the route."""

    class Comparison(models.TextChoices):
        ANY = "", "—"
        GTE = "gte", "≥"
        LT = "lt", "<"

    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    when_watch_only = models.BooleanField(null=True, blank=True, help_text="Only watch signals fired.")
    when_self_serve_gate = models.BooleanField(null=True, blank=True, help_text="A self-serve gate applied.")
    when_expansion_type = models.CharField(max_length=8, blank=True)
    when_priority = models.CharField(max_length=8, blank=True)
    when_segment = models.CharField(max_length=16, blank=True)
    when_plan_tier = models.CharField(max_length=16, blank=True)
    when_signal = models.CharField(
        "when trigger",
        max_length=64,
        blank=True,
        help_text="Only EQLs whose primary signal (trigger) has this key, e.g. tier_upgrade_integrations.",
    )
    estimate_comparison = models.CharField(max_length=4, choices=Comparison.choices, blank=True)
    estimate_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    route = models.CharField(max_length=16, choices=Route.choices)
    csm_involvement_required = models.BooleanField(default=False)
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        validators=[
            RegexValidator(
                r"^[CG][A-Z0-9]{6,}$",
                "Use the channel's ID, such as C0123ABCD (in Slack: the channel's details, About, at the "
                "bottom), not its name.",
            )
        ],
        help_text="Slack channel ID (C0123ABC) that also gets every new EQL this rule routes, with its "
        "buttons (needs the Slack app: SLACK_BOT_TOKEN; invite the app to the channel). Empty: DMs only.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class ReasonCode(models.Model):
    class Kind(models.TextChoices):
        DECLINED = "declined", "Declined"
        LOST = "lost", "Lost"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    code = models.SlugField(max_length=64)
    label = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="reason_code_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}"


class Notification(models.Model):
    """An in-app notification; email and Slack deliveries hang off it."""

    class Kind(models.TextChoices):
        NEW_EQL = "new_eql", "New EQL"
        EQL_CHANGED = "eql_changed", "EQL changed"
        HOLD = "hold", "CSM hold"
        RELEASE = "release", "CSM release"
        SLA_WARNING = "sla_warning", "SLA warning"
        ESCALATION = "escalation", "Hold escalated"
        DIGEST = "digest", "Weekly digest"
        PASS_ALERT = "pass_alert", "Scoring pass alert"
        SNOOZE_ENDED = "snooze_ended", "Snooze ended"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    eql = models.ForeignKey(
        EQL, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One attempt-tracked delivery of a notification over one channel."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CAPPED = "capped", "Not sent: daily Slack cap reached"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        help_text="Slack app mode: the channel posted to; empty means a direct message to the recipient.",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"


def webhook_secret_validate(value: str) -> None:
    try:
        secret_key(value)
    except InvalidSecret as exc:
        raise ValidationError(str(exc)) from exc


def webhook_message_id() -> str:
    """A delivery's ``webhook-id``: the same on every retry, so receivers can drop duplicates."""
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=120)
    url = models.URLField(
        help_text="Must be a public internet address (private, loopback and link-local ones are refused)."
    )
    secret = models.CharField(
        max_length=200,
        validators=[webhook_secret_validate],
        help_text="Current signing secret (whsec_ followed by base64), shared with the receiver. "
        "Editing it switches at once; the 'Rotate signing secret' action keeps the old one valid too.",
    )
    previous_secret = models.CharField(
        max_length=200,
        blank=True,
        validators=[webhook_secret_validate],
        help_text="The secret before the last rotation; deliveries are signed with both until it is "
        "retired ('Retire previous signing secret' action).",
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    max_attempts = models.PositiveSmallIntegerField(default=5)

    def __str__(self) -> str:
        return self.name

    def signing_secrets(self) -> list[str]:
        """The active secrets, current first."""
        return [self.secret, *([self.previous_secret] if self.previous_secret else [])]


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    eql = models.ForeignKey(EQL, on_delete=models.CASCADE, related_name="webhook_deliveries")
    message_id = models.CharField(max_length=40, unique=True, default=webhook_message_id, editable=False)
    event = models.CharField(max_length=24)
    payload = models.JSONField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} EQL {self.eql_id} -> {self.endpoint_id} ({self.status})"


class SlaPolicy(models.Model):
    """The single SLA policy: how fast each route must reach the customer. Edit the one row in admin."""

    sla_hours_high = models.PositiveSmallIntegerField(
        "SLA hours, AE high priority", default=SlaSpec.high_hours, help_text="From the EQL's creation."
    )
    sla_hours_medium = models.PositiveSmallIntegerField(
        "SLA hours, AE medium priority",
        default=SlaSpec.medium_hours,
        help_text="From the end of the CSM review window (or the CSM's release).",
    )
    sla_hours_csm = models.PositiveSmallIntegerField(
        "SLA hours, CSM-led and self-serve", default=SlaSpec.csm_hours, help_text="From the EQL's creation."
    )
    review_window_hours = models.PositiveSmallIntegerField(
        default=SlaSpec.review_window_hours,
        help_text="How long the account's CSM may review a medium-priority AE EQL before the AE's clock "
        "starts.",
    )
    hold_escalation_hours = models.PositiveSmallIntegerField(
        default=SlaSpec.hold_escalation_hours,
        help_text="A CSM hold older than this is escalated to the AE's manager.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policy"

    def __str__(self) -> str:
        return "SLA policy"


class StageSla(models.Model):
    """How long an open EQL may stay in one lifecycle status (seed 002's CSQL pipeline stages; the
    mapping is in ``routing.stage_sla``). Breaches show in the inbox and on the team KPI page."""

    status = models.CharField(
        max_length=16,
        choices=[
            (s, label)
            for s, label in EQLStatus.choices
            if s in ("new", "contacted", "call_booked", "proposal_sent")
        ],
        unique=True,
        help_text="The EQL status (stage) this SLA applies to.",
    )
    stage_name = models.CharField(
        max_length=60, blank=True, help_text="The playbook's name for the stage (e.g. Qualified)."
    )
    business_days = models.PositiveSmallIntegerField(
        default=0,
        help_text="Weekdays (Mon-Fri, in the account's time zone) the EQL may stay in this status.",
    )
    hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Clock hours instead of business days (e.g. 48 for the first touch). Empty: business days.",
    )
    active = models.BooleanField(default=True, help_text="Off: no breach is flagged for this stage.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "stage SLA"
        verbose_name_plural = "stage SLAs"
        ordering = ["id"]

    def __str__(self) -> str:
        limit = f"{self.hours} h" if self.hours is not None else f"{self.business_days} business days"
        return f"{self.get_status_display()}: {limit}"

    def clean(self) -> None:
        if self.hours is None and not self.business_days:
            raise ValidationError("Give business days or hours (or switch the stage SLA off).")


class RoundRobinCursor(models.Model):
    """The last person assigned per role; locked while a pass assigns owners (ties go round robin)."""

    role = models.CharField(max_length=16, unique=True)
    last_user_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.role}: {self.last_user_id}"


class NotificationPreference(models.Model):
    """How one person wants to hear about their EQLs; people without a row get the defaults."""

    class Channels(models.TextChoices):
        BOTH = "both", "Slack and email"
        SLACK = "slack", "Slack only"
        EMAIL = "email", "Email only"
        DIGEST_ONLY = "digest_only", "Weekly digest only"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    channels = models.CharField(max_length=12, choices=Channels.choices, default=Channels.BOTH)
    slack_daily_cap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Most Slack alerts this person gets per day (UTC); the rest stay in the app and the "
        "digest. Empty: SLACK_DAILY_CAP_DEFAULT.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_channels_display()}"


class SlackUser(models.Model):
    """users.lookupByEmail answers, cached: an email's Slack user id (empty: no such Slack user)."""

    email = models.EmailField(unique=True)
    slack_user_id = models.CharField(max_length=32, blank=True)
    looked_up_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.email} -> {self.slack_user_id or 'not in Slack'}"


class SlackMessage(models.Model):
    """A Slack message posted about an EQL (channel, ts), so actions can update it in place."""

    eql = models.ForeignKey(EQL, on_delete=models.CASCADE, related_name="slack_messages")
    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="slack_message"
    )
    channel = models.CharField(max_length=80)
    ts = models.CharField(max_length=32)
    posted_at = models.DateTimeField(auto_now_add=True)
    last_action = models.CharField(
        max_length=255, blank=True, help_text="Who did what, as the message shows."
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "ts"], name="slack_message_unique")]

    def __str__(self) -> str:
        return f"EQL {self.eql_id} in {self.channel} at {self.ts}"


class SlackInteraction(models.Model):
    """One button click or modal submission from Slack, applied once (a repeat of the key is dropped)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        REFUSED = "refused", "Refused"
        NOT_YOURS = "not_yours", "Not theirs"
        UNKNOWN_USER = "unknown_user", "Slack user not matched"

    key = models.CharField(max_length=255, unique=True)
    eql = models.ForeignKey(EQL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    slack_user_id = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=32)
    value = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.action} {self.value} on EQL {self.eql_id}: {self.status}"


class EqlSnooze(models.Model):
    """An owner put an open EQL aside until a time: out of their queue until then, then notified again.

    The lifecycle event ``snooze`` writes it (routing.services.eql_transition); any status change ends it.
    """

    eql = models.OneToOneField(EQL, on_delete=models.CASCADE, related_name="snooze")
    until = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    #: Set when the snooze ran out and the owner was notified again (kept for the record).
    woken_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"EQL {self.eql_id} snoozed until {self.until:%Y-%m-%d %H:%M}"


class SelfServeTemplate(models.Model):
    """The self-serve expansion message RevOps edits (one active row; Django template syntax).

    Context: ``account`` (name, account_id, plan_tier...), ``eql`` (primary_signal, opening_angle...),
    ``signal_name``, ``opening_angle``. Empty fields fall back to templates/routing/self_serve_*.txt."""

    name = models.CharField(max_length=80, default="Self-serve expansion")
    active = models.BooleanField(default=True, help_text="The newest active template is used.")
    subject = models.CharField(
        max_length=200,
        blank=True,
        help_text="Django template, e.g. 'More room for {{ account.name }}'. Empty: the built-in subject.",
    )
    body = models.TextField(
        blank=True, help_text="Django template of the plain-text body. Empty: the built-in message."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "self-serve message template"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.template import Template, TemplateSyntaxError

        for field in ("subject", "body"):
            try:
                Template(getattr(self, field) or "")
            except TemplateSyntaxError as exc:
                raise ValidationError({field: f"Template error: {exc}"}) from exc


class SelfServeMessage(models.Model):
    """One self-serve motion of one EQL: the message sent to the account's admin contact, or why not.

    At most one per EQL (the task is idempotent); the CSM owns the EQL whatever happened here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (the CSM follows up)"
        NO_ADDRESS = "no_address", "Not sent: no admin email (the CSM follows up)"

    eql = models.OneToOneField(EQL, on_delete=models.CASCADE, related_name="self_serve_message")
    to = models.EmailField(blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "self-serve message"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"EQL {self.eql_id} to {self.to or '-'}: {self.status}"
