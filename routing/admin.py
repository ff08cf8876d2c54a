"""Admin for RevOps: routing rules and reason codes (with history), notifications, webhooks."""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from routing import webhook_guard
from routing.models import (
    Delivery,
    Notification,
    NotificationPreference,
    ReasonCode,
    RoutingRule,
    SelfServeMessage,
    SelfServeTemplate,
    SlackInteraction,
    SlackMessage,
    SlackUser,
    SlaPolicy,
    StageSla,
    WebhookDelivery,
    WebhookEndpoint,
)
from routing.webhook_signing import secret_generate, secret_strength_problem


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    list_display = (
        "order",
        "name",
        "active",
        "route",
        "csm_involvement_required",
        "when_watch_only",
        "when_self_serve_gate",
        "when_expansion_type",
        "estimate_comparison",
        "estimate_value",
        "slack_channel",
    )
    list_display_links = ("name",)
    # No inline edits: order and active move EQLs, so they go through the form and its "Preview
    # routing" next to Save (templates/admin/routing/routingrule/submit_line.html, #15).
    list_filter = ("route", "active")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    """The one SLA policy row: response times per route and the CSM review window."""

    list_display = (
        "__str__",
        "sla_hours_high",
        "sla_hours_medium",
        "sla_hours_csm",
        "review_window_hours",
        "hold_escalation_hours",
        "updated_at",
    )

    def has_add_permission(self, request):
        return not SlaPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StageSla)
class StageSlaAdmin(SimpleHistoryAdmin):
    """How long an EQL may stay in each lifecycle status (seed 002's CSQL pipeline stages)."""

    list_display = ("status", "stage_name", "business_days", "hours", "active")
    list_editable = ("business_days", "hours", "active")
    list_display_links = ("status",)
    fields = ("status", "stage_name", "business_days", "hours", "active")

    def has_delete_permission(self, request, obj=None):
        return False  # switch a stage SLA off instead: its history stays with the row


@admin.register(SelfServeTemplate)
class SelfServeTemplateAdmin(SimpleHistoryAdmin):
    """The self-serve message text (Django template syntax; empty fields use the built-in text)."""

    list_display = ("name", "active", "subject")
    list_filter = ("active",)


@admin.register(SelfServeMessage)
class SelfServeMessageAdmin(admin.ModelAdmin):
    """The self-serve motion's log: what was sent to whom for which EQL, or why nothing was."""

    list_display = ("eql", "to", "subject", "status", "attempts", "sent_at", "created_at")
    list_filter = ("status",)
    search_fields = ("to", "subject", "eql__account__name", "eql__account__account_id")
    list_select_related = ("eql",)
    readonly_fields = ("eql", "to", "subject", "body", "status", "error", "attempts", "created_at", "sent_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is the record of what customers were sent


@admin.register(ReasonCode)
class ReasonCodeAdmin(SimpleHistoryAdmin):
    list_display = ("kind", "code", "label", "active")
    list_filter = ("kind", "active")
    list_editable = ("label", "active")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ("channel", "slack_channel", "status", "attempts", "last_error", "sent_at")
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "subject", "read_at")
    list_filter = ("kind",)
    search_fields = ("subject", "recipient__email")
    raw_id_fields = ("recipient", "eql")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("notification", "channel", "slack_channel", "status", "attempts", "last_error", "sent_at")
    list_filter = ("channel", "status")
    raw_id_fields = ("notification",)
    search_fields = ("notification__recipient__email", "last_error")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=200,
        assume_scheme="https",
        help_text=WebhookEndpoint._meta.get_field("url").help_text,
        widget=forms.URLInput(attrs={"size": 60}),
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        help_text=WebhookEndpoint._meta.get_field("secret").help_text + " Leave empty to generate one.",
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "active", "max_attempts", "secret")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhook_guard.url_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        except webhook_guard.RefusedURL as exc:
            raise forms.ValidationError(f"This URL cannot receive webhooks: {exc}") from exc
        except OSError as exc:
            host = urlsplit(url).hostname
            raise forms.ValidationError(
                f"The host {host} could not be looked up ({exc.strerror or exc}), so it cannot be checked "
                "to be a public address. Check the spelling, or try again when its DNS name exists."
            ) from exc
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"].strip()
        if not secret:
            return self.instance.secret or secret_generate()
        if secret != self.instance.secret and (problem := secret_strength_problem(secret)):
            raise forms.ValidationError(problem)
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "active", "max_attempts", "signing")
    readonly_fields = ("previous_secret", "secret_rotated_at")
    actions = ("rotate_secret", "retire_previous_secret")

    @admin.display(description="signing secrets")
    def signing(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.previous_secret:
            return "current only"
        if endpoint.secret_rotated_at is None:
            return "current + previous"
        return f"current + previous (rotated {timezone.localtime(endpoint.secret_rotated_at):%Y-%m-%d %H:%M})"

    @admin.action(description="Rotate signing secret (the old one stays valid until retired)")
    def rotate_secret(self, request, queryset) -> None:
        now = timezone.now()
        with transaction.atomic():  # two admins rotating at once must not lose a secret
            endpoints = list(queryset.select_for_update())
            dropped = [e.name for e in endpoints if e.previous_secret]
            for endpoint in endpoints:
                endpoint.previous_secret = endpoint.secret
                endpoint.secret = secret_generate()
                endpoint.secret_rotated_at = now
                endpoint.save(update_fields=["previous_secret", "secret", "secret_rotated_at"])
        self.message_user(
            request,
            f"New signing secret for {', '.join(e.name for e in endpoints)}. Deliveries are signed with "
            "the new and the old secret until you retire the old one: open each endpoint, give its "
            "receiver the new secret, then run 'Retire previous signing secret'."
            + (
                f" The secret before the old one no longer signs for {', '.join(dropped)}." if dropped else ""
            ),
            messages.SUCCESS,
        )

    @admin.action(description="Retire previous signing secret (sign with the current one only)")
    def retire_previous_secret(self, request, queryset) -> None:
        n = queryset.exclude(previous_secret="").update(previous_secret="")
        self.message_user(
            request,
            f"Retired the previous signing secret of {n} endpoint(s); they sign with the current one only.",
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "eql", "event", "status", "attempts", "last_error")
    list_filter = ("status", "event", "endpoint")
    raw_id_fields = ("eql",)
    readonly_fields = ("message_id",)
    search_fields = ("message_id",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Each person edits their own on the notifications page; RevOps can set caps for a team here."""

    list_display = ("user", "channels", "slack_daily_cap", "updated_at")
    list_filter = ("channels",)
    search_fields = ("user__email", "user__name")
    raw_id_fields = ("user",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log written by the app: RevOps reads it (and may delete rows), never edits or adds."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SlackMessage)
class SlackMessageAdmin(ReadOnlyAdmin):
    """Slack messages posted about EQLs; a failed in-place update shows its error."""

    list_display = ("posted_at", "eql", "channel", "ts", "last_action", "last_error")
    list_filter = ("channel",)
    search_fields = ("channel", "ts", "eql__account__name")
    raw_id_fields = ("eql", "delivery")


@admin.register(SlackInteraction)
class SlackInteractionAdmin(ReadOnlyAdmin):
    """Every click and modal submission from Slack and what came of it (applied, refused, not theirs)."""

    list_display = ("created_at", "eql", "action", "value", "user", "slack_user_id", "status", "detail")
    list_filter = ("status", "action")
    search_fields = ("slack_user_id", "user__email")
    raw_id_fields = ("eql", "user")


@admin.register(SlackUser)
class SlackUserAdmin(ReadOnlyAdmin):
    """Cached users.lookupByEmail answers (a day); delete a row to look the person up again now."""

    list_display = ("email", "slack_user_id", "looked_up_at")
    search_fields = ("email", "slack_user_id")
