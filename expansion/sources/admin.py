"""Admin for warehouse sources (RevOps points the product at the warehouse) and their run log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from expansion.models import SourceInput, SourceKind, SourceRun, WarehouseSource

from .services import location_problem


class WarehouseSourceForm(forms.ModelForm):
    class Meta:
        model = WarehouseSource
        fields = ("name", "kind", "location", "enabled", "lag_days", "score_in_place")

    def clean(self):
        data = super().clean()
        problem = location_problem(kind=data.get("kind", ""), location=(data.get("location") or "").strip())
        if problem:
            self.add_error("location", problem)
        if data.get("score_in_place") and data.get("kind") not in (SourceKind.PARQUET, SourceKind.DUCKDB):
            self.add_error(
                "score_in_place",
                "Only Parquet and DuckDB sources can be scored in place; a SQL or CSV source is synced "
                "into this database (the pass then reads its local usage store).",
            )
        return data


class SourceInputInline(admin.TabularInline):
    model = SourceInput
    extra = 0
    fields = ("input", "enabled", "query", "watermark_column", "watermark")
    readonly_fields = ("watermark",)


@admin.register(WarehouseSource)
class WarehouseSourceAdmin(SimpleHistoryAdmin):
    form = WarehouseSourceForm
    inlines = [SourceInputInline]
    list_display = ("name", "kind", "location", "enabled", "score_in_place", "lag_days", "last_run")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    actions = ["sync_now"]

    @admin.display(description="Last run")
    def last_run(self, obj: WarehouseSource) -> str:
        run = obj.runs.order_by("-started_at").first()
        if run is None:
            return "never"
        return (
            f"{run.started_at:%Y-%m-%d %H:%M} {run.get_state_display()}: read {run.rows_read:,}, "
            f"rejected {run.rows_rejected:,}, written {run.rows_written:,} ({run.seconds:.1f}s)"
        )

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        from expansion.tasks import sync_source

        for source in queryset.filter(enabled=True):
            sync_source.delay(source.name)
        self.message_user(request, "Sync queued; its progress shows under Source runs.", messages.INFO)


@admin.register(SourceRun)
class SourceRunAdmin(admin.ModelAdmin):
    """The run log is what RevOps audits: read-only."""

    list_display = (
        "started_at",
        "source",
        "state",
        "progress",
        "rows_read",
        "rows_rejected",
        "rows_written",
        "seconds",
    )
    list_filter = ("source", "state")
    date_hierarchy = "started_at"
    readonly_fields = ("per_input", "message")
    fields = ("source", "started_at", "finished_at", "state", "per_input", "message")

    @admin.display(description="Progress")
    def progress(self, obj: SourceRun) -> str:
        done = len(obj.inputs)
        if obj.state == SourceRun.State.RUNNING:
            return f"{done} input(s) done, reading {obj.current_input or '...'}"
        return f"{done} input(s)"

    @admin.display(description="Per input")
    def per_input(self, obj: SourceRun) -> str:
        return "; ".join(
            f"{name}: {e.get('state', '')}, read {e['rows']:,}, rejected {e['rejected']:,}, "
            f"created {e['created']:,}, updated {e['updated']:,} ({e['seconds']:.1f}s)"
            for name, e in obj.inputs.items()
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
