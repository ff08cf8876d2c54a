"""Admin for RevOps: CRM connections with their field and stage mapping, runs, records and rejects."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from expansion.models import Route

from . import clients, payload, services
from .models import CrmConnection, CrmFieldMap, CrmLink, CrmReject, CrmStageMap, CrmSyncRun


def _rows(formset) -> list[dict]:
    return [
        f.cleaned_data
        for f in formset.forms
        if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")
    ]


class _FieldMapFormSet(forms.BaseInlineFormSet):
    def clean(self):
        # Before the formset's own uniqueness check, whose message names no field.
        rules = [
            payload.FieldRule(crm_field=r.get("crm_field", ""), source=r.get("source", ""))
            for r in _rows(self)
        ]
        if rules:
            problems = payload.field_problems(self.instance.upsert_key or "", rules)
            if problems:
                raise forms.ValidationError([p[0].upper() + p[1:] + "." for p in problems])
        super().clean()


class _StageMapFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        stages = {r["eql_status"]: r.get("crm_stage", "") for r in _rows(self) if "eql_status" in r}
        if not stages:  # a new connection gets the default stages on save
            return
        problems = payload.stage_problems(
            kind=self.instance.kind, object_type=self.instance.object_type, stages=stages
        )
        if problems:
            raise forms.ValidationError([p[0].upper() + p[1:] + "." for p in problems])


class FieldMapInline(admin.TabularInline):
    model = CrmFieldMap
    formset = _FieldMapFormSet
    extra = 0
    fields = ("crm_field", "source", "required")


class StageMapInline(admin.TabularInline):
    model = CrmStageMap
    formset = _StageMapFormSet
    extra = 0
    fields = ("eql_status", "crm_stage")


class CrmConnectionForm(forms.ModelForm):
    auto_create_routes = forms.MultipleChoiceField(
        choices=Route.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="New EQLs on these routes are written to the CRM by each sync; the others get a "
        '"Create in CRM" button on the EQL page.',
    )

    class Meta:
        model = CrmConnection
        fields = (
            "name",
            "kind",
            "enabled",
            "object_type",
            "upsert_key",
            "auto_create_routes",
            "bulk_threshold",
            "hubspot_pipeline",
            "read_back",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("auto_create_routes", ["ae", "csm"])
            self.initial.setdefault("upsert_key", "EQL_Id__c")

    def clean(self):
        data = super().clean()
        kind, obj = data.get("kind"), data.get("object_type")
        if kind and obj and (kind, obj) not in payload.DEFAULT_FIELDS:
            self.add_error(
                "object_type",
                "Salesforce writes an Opportunity, Task or Lead; HubSpot a deal or a task.",
            )
        key = (data.get("upsert_key") or "").strip()
        if kind == payload.SALESFORCE and key and not key.endswith("__c"):
            self.add_error(
                "upsert_key", "On Salesforce the upsert key is a custom External ID field, ending in __c."
            )
        if kind == payload.HUBSPOT and key and key != key.lower():
            self.add_error("upsert_key", "HubSpot property names are lower case (e.g. eql_id).")
        return data


@admin.register(CrmConnection)
class CrmConnectionAdmin(SimpleHistoryAdmin):
    form = CrmConnectionForm
    inlines = [FieldMapInline, StageMapInline]
    list_display = ("name", "kind", "object_type", "enabled", "credentials", "last_run", "open_rejects")
    list_filter = ("kind", "enabled")
    readonly_fields = ("credentials", "watermark", "last_run")
    actions = ["check_mapping", "sync_now"]

    @admin.display(description="Credentials (from the environment)")
    def credentials(self, obj: CrmConnection) -> str:
        if not obj.kind:
            return "-"
        problem = services.credentials_problem(obj)
        return problem or "set"

    @admin.display(description="Last run")
    def last_run(self, obj: CrmConnection) -> str:
        run = obj.runs.order_by("-started_at").first() if obj.pk else None
        if run is None:
            return "never"
        return (
            f"{run.started_at:%Y-%m-%d %H:%M} {run.get_state_display()}: written {run.written}, unchanged "
            f"{run.unchanged}, rejected {run.rejected}, closed from the CRM {run.closed_from_crm}, "
            f"requests {run.requests}" + (f" - {run.message}" if run.message else "")
        )

    @admin.display(description="Open rejects")
    def open_rejects(self, obj: CrmConnection) -> int:
        return obj.rejects.filter(resolved_at__isnull=True).count()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.mapping_defaults_apply(connection=form.instance)

    @admin.action(description="Check the mapping against the CRM")
    def check_mapping(self, request, queryset):
        for connection in queryset:
            try:
                problems = services.mapping_check(connection=connection)
            except clients.CrmError as exc:
                self.message_user(
                    request, f"Connection {connection.name}: could not read the CRM: {exc}", messages.ERROR
                )
                continue
            if problems:
                self.message_user(
                    request, f"Connection {connection.name}: " + "; ".join(problems), messages.ERROR
                )
            else:
                self.message_user(
                    request, f"Connection {connection.name}: the mapping matches the CRM.", messages.SUCCESS
                )

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        from .tasks import crm_sync_connection

        for connection in queryset.filter(enabled=True):
            crm_sync_connection.delay(connection.pk)
        self.message_user(request, "Sync queued; its progress shows under CRM sync runs.", messages.INFO)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # The run log and the reject log are what RevOps and Finance audit; a record link is what stops
        # the sync from creating a second CRM record. None is edited or removed by hand.
        return False


@admin.register(CrmSyncRun)
class CrmSyncRunAdmin(_ReadOnly):
    list_display = (
        "started_at",
        "connection",
        "state",
        "progress",
        "written",
        "unchanged",
        "rejected",
        "closed_from_crm",
        "requests",
        "dry_run",
        "message",
    )
    list_filter = ("connection", "state", "dry_run")
    date_hierarchy = "started_at"

    @admin.display(description="Progress")
    def progress(self, obj: CrmSyncRun) -> str:
        if not obj.to_write:
            return "-" if obj.state != CrmSyncRun.State.RUNNING else "reading"
        done = obj.written + obj.rejected
        return f"{done:,} of {obj.to_write:,} ({100 * done // obj.to_write}%)"


@admin.register(CrmReject)
class CrmRejectAdmin(_ReadOnly):
    list_display = ("created_at", "connection", "eql_link", "code", "fields", "message", "resolved_at")
    list_filter = ("connection", "code", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("eql__account__name", "eql__account__account_id", "code", "message")
    list_select_related = ("connection", "eql__account")

    @admin.display(description="EQL")
    def eql_link(self, obj: CrmReject):
        return format_html(
            '<a href="/eqls/{}/">{} (EQL {})</a>', obj.eql_id, obj.eql.account.name, obj.eql_id
        )


@admin.register(CrmLink)
class CrmLinkAdmin(_ReadOnly):
    list_display = (
        "eql",
        "connection",
        "crm_id",
        "crm_stage",
        "crm_owner_id",
        "synced_at",
        "closed_from_crm",
    )
    list_filter = ("connection", "closed_from_crm")
    search_fields = ("crm_id", "eql__account__name")
    list_select_related = ("connection", "eql")
