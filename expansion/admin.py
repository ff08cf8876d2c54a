"""Admin for the core domain: people, accounts, usage, activities, expansions and EQLs."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from expansion.models import EQL, Account, Activity, Expansion, Metric, UsageSnapshot, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("email", "name", "role", "manager", "capacity", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "groups")
    search_fields = ("email", "name")
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("username", "email", "password")}),
        ("Role", {"fields": ("name", "role", "manager", "capacity")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "email", "name", "role", "password1", "password2")},
        ),
    )


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "account_id",
        "name",
        "segment",
        "plan_tier",
        "contract_arr",
        "health_score",
        "status",
        "ae",
        "csm",
    )
    list_filter = ("segment", "plan_tier", "status")
    search_fields = ("account_id", "name")
    list_select_related = ("ae", "csm")
    raw_id_fields = ("ae", "csm")
    readonly_fields = ("why_no_eql",)

    @admin.display(description="Why (no) EQL now")
    def why_no_eql(self, obj: Account) -> str:
        from django.utils.html import format_html_join

        from scoring.services import account_explain, explain_text

        if obj.pk is None:
            return "-"
        lines = explain_text(account_explain(account_pk=obj.pk)).splitlines()
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(admin.ModelAdmin):
    list_display = ("account", "metric", "date", "value")
    list_filter = ("metric",)
    search_fields = ("account__account_id",)
    date_hierarchy = "date"
    list_select_related = ("account", "metric")
    raw_id_fields = ("account",)
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("activity_id", "account", "occurred_at", "type", "event", "actor_email", "commercial")
    list_filter = ("type", "event", "commercial")
    search_fields = ("activity_id", "account__account_id", "account__name", "actor_email")
    date_hierarchy = "occurred_at"
    list_select_related = ("account",)
    raw_id_fields = ("account", "actor", "eql")


@admin.register(Expansion)
class ExpansionAdmin(admin.ModelAdmin):
    list_display = (
        "opportunity_id",
        "account",
        "status",
        "expansion_type",
        "expansion_arr",
        "created_date",
        "closed_date",
    )
    list_filter = ("status", "expansion_type")
    search_fields = ("opportunity_id", "account__account_id", "account__name")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(EQL)
class EQLAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "account",
        "status",
        "score",
        "primary_signal",
        "route",
        "owner",
        "estimated_expansion_arr",
        "sla_deadline",
    )
    list_filter = ("status", "route", "primary_signal", "unassigned", "sla_breached")
    search_fields = ("account__account_id", "account__name", "owner__email")
    list_select_related = ("account", "owner")
    raw_id_fields = ("account", "owner", "csm")
    readonly_fields = ("triggered_signals", "evaluation", "created_at", "updated_at")


from expansion.models import AttributionEntry  # noqa: E402  (appended with the split-credit log)


@admin.register(AttributionEntry)
class AttributionEntryAdmin(admin.ModelAdmin):
    """Finance's split-credit log, read-only for everyone (superusers too): entries are never added,
    changed or deleted here. Corrections are new entries written by ``attribution_services``."""

    list_display = (
        "id",
        "recorded_at",
        "period",
        "eql",
        "account",
        "person",
        "credit_type",
        "percent",
        "amount",
        "rule",
        "corrects",
    )
    list_filter = ("credit_type", "rule", "period")
    search_fields = ("person__email", "account__account_id", "account__name", "reason")
    list_select_related = ("eql", "account", "person", "corrects")
    date_hierarchy = "recorded_at"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
