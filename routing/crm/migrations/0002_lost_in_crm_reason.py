"""The reason code an EQL closed lost in the CRM is recorded with, seeded with its first version on
record (like the other seeded configuration, routing 0007)."""

from django.db import migrations
from django.utils import timezone


def add_reason(apps, schema_editor):
    ReasonCode = apps.get_model("routing", "ReasonCode")
    History = apps.get_model("routing", "HistoricalReasonCode")
    reason, created = ReasonCode.objects.get_or_create(
        kind="lost", code="lost_in_crm", defaults={"label": "Closed lost in the CRM"}
    )
    if created:
        History.objects.create(
            id=reason.pk,
            kind=reason.kind,
            code=reason.code,
            label=reason.label,
            active=reason.active,
            history_date=timezone.now(),
            history_type="+",
            history_change_reason="seeded configuration",
            history_user=None,
        )


def remove_reason(apps, schema_editor):
    apps.get_model("routing", "ReasonCode").objects.filter(kind="lost", code="lost_in_crm").delete()
    apps.get_model("routing", "HistoricalReasonCode").objects.filter(kind="lost", code="lost_in_crm").delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("routing", "0008_churn_risk_reason")]

    operations = [migrations.RunPython(add_reason, remove_reason)]
