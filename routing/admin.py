"""Admin for RevOps: routing rules and reason codes (with history), notifications, webhooks."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from routing.models import Delivery, Notification, ReasonCode, RoutingRule, WebhookDelivery, WebhookEndpoint


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
    )
    list_display_links = ("name",)
    list_editable = ("order", "active")
    list_filter = ("route", "active")


@admin.register(ReasonCode)
class ReasonCodeAdmin(SimpleHistoryAdmin):
    list_display = ("kind", "code", "label", "active")
    list_filter = ("kind", "active")
    list_editable = ("label", "active")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ("channel", "status", "attempts", "last_error", "sent_at")
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
    list_display = ("notification", "channel", "status", "attempts", "last_error", "sent_at")
    list_filter = ("channel", "status")
    raw_id_fields = ("notification",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "active", "max_attempts")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "eql", "event", "status", "attempts", "last_error")
    list_filter = ("status", "event", "endpoint")
    raw_id_fields = ("eql",)
