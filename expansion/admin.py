"""Admin for the core domain: people, accounts, usage, activities, expansions and EQLs."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied

from expansion.models import EQL, Account, Activity, Expansion, Metric, ProductEvent, UsageSnapshot, User
from expansion.roles import PRIVILEGED_ROLES, is_privileged_account, may_manage_privileged
from expansion.services import assign_role_group


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits in admin (it comes from an import or from the product itself): every
    field shown, no add, change or delete."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """People and roles. Only a superuser grants superuser, staff, groups or the RevOps and Finance
    roles, or changes a superuser's, RevOps' or Finance's account; RevOps manages everyone else."""

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
    #: What a user without superuser rights sees under "Permissions" (no superuser, staff or groups).
    limited_permission_fields = ("is_active",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or may_manage_privileged(request.user):
            return fieldsets
        return [
            (name, {**opts, "fields": self.limited_permission_fields})
            if name == "Permissions"
            else (name, opts)
            for name, opts in fieldsets
        ]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not may_manage_privileged(request.user):
            kwargs["choices"] = [
                choice
                for choice in db_field.get_choices(include_blank=True)
                if choice[0] not in PRIVILEGED_ROLES
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and is_privileged_account(obj) and not may_manage_privileged(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and is_privileged_account(obj) and not may_manage_privileged(request.user):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not may_manage_privileged(request.user) and is_privileged_account(obj):
            # The form offers no such choice; this refuses a forged POST all the same.
            raise PermissionDenied(
                "Only a superuser may create or change a superuser, RevOps or Finance account."
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A role set here gets its permission group, as the import does (unless groups were chosen here).
        if "role" in form.changed_data and "groups" not in form.changed_data:
            assign_role_group(form.instance)


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


@admin.register(ProductEvent)
class ProductEventAdmin(ReadOnlyAdmin):
    """Product events as received (events.csv, warehouse sources, ``POST /api/events/``); read-only:
    an event is written once by its event id and never edited here."""

    list_display = ("event_id", "account", "event", "occurred_at", "received_at")
    list_filter = ("event",)
    search_fields = ("event_id", "account__account_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("account",)
    show_full_result_count = False
    actions = None


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
class AttributionEntryAdmin(ReadOnlyAdmin):
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


from expansion.sources import admin as _sources_admin  # noqa: E402,F401  (registers the source admin)
