"""Seed 002's CSQL pipeline SLAs as the default stage SLAs (mapping in ``routing.stage_sla``), recorded as the
first version in their change history like the other seeded configuration."""

from django.db import migrations
from django.utils import timezone

REASON = "seeded configuration"
#: (status, seed 002 stage, business days, hours): frozen here, a later change of the code defaults
#: must not rewrite history.
DEFAULTS = (
    ("new", "CSQL Created (first touch)", 2, 48),
    ("contacted", "Qualified", 5, None),
    ("call_booked", "Proposal Sent", 10, None),
    ("proposal_sent", "Negotiation", 15, None),
)


def seed(apps, schema_editor):
    StageSla = apps.get_model("routing", "StageSla")
    History = apps.get_model("routing", "HistoricalStageSla")
    now = timezone.now()
    for status, name, days, hours in DEFAULTS:
        row, created = StageSla.objects.get_or_create(
            status=status, defaults={"stage_name": name, "business_days": days, "hours": hours}
        )
        if created:
            History.objects.create(
                id=row.pk,
                status=row.status,
                stage_name=row.stage_name,
                business_days=row.business_days,
                hours=row.hours,
                active=row.active,
                history_date=now,
                history_type="+",
                history_change_reason=REASON,
                history_user=None,
            )


def unseed(apps, schema_editor):
    apps.get_model("routing", "StageSla").objects.filter(status__in=[d[0] for d in DEFAULTS]).delete()
    apps.get_model("routing", "HistoricalStageSla").objects.filter(history_change_reason=REASON).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0010_stage_sla")]
    operations = [migrations.RunPython(seed, unseed)]
