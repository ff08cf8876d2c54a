"""Open EQLs past ``new`` get their stage entry time from the lifecycle log: the latest activity whose
event is their current status (every transition is recorded as an EQL event activity)."""

from django.db import migrations
from django.db.models import Max

OPEN_PAST_NEW = ("contacted", "call_booked", "proposal_sent")


def backfill(apps, schema_editor):
    EQL = apps.get_model("expansion", "EQL")
    Activity = apps.get_model("expansion", "Activity")
    for status in OPEN_PAST_NEW:
        latest = dict(
            Activity.objects.filter(eql__status=status, event=status)
            .values("eql_id")
            .annotate(at=Max("occurred_at"))
            .values_list("eql_id", "at")
        )
        for eql in EQL.objects.filter(status=status, stage_entered_at__isnull=True).only("pk"):
            if eql.pk in latest:
                EQL.objects.filter(pk=eql.pk).update(stage_entered_at=latest[eql.pk])


class Migration(migrations.Migration):
    dependencies = [("expansion", "0012_stage_sla")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
