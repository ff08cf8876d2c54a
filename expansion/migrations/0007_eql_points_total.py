"""EQL.points_total: the uncapped sum of the fired signals' points, so the queue can order EQLs tied at
score 100 (the score is capped). Existing EQLs are backfilled from their triggered_signals."""

from django.db import migrations, models

BATCH = 1000


def _points(triggered) -> int:
    total = 0
    for t in triggered or []:
        if isinstance(t, dict):
            try:
                total += int(t.get("points") or 0)
            except (TypeError, ValueError):
                continue
    return max(total, 0)


def backfill(apps, schema_editor):
    EQL = apps.get_model("expansion", "EQL")
    batch = []
    for eql in EQL.objects.only("pk", "triggered_signals").iterator(chunk_size=BATCH):
        eql.points_total = _points(eql.triggered_signals)
        if eql.points_total:
            batch.append(eql)
        if len(batch) >= BATCH:
            EQL.objects.bulk_update(batch, ["points_total"])
            batch = []
    if batch:
        EQL.objects.bulk_update(batch, ["points_total"])


class Migration(migrations.Migration):
    dependencies = [("expansion", "0006_attribution_keyed_chain")]

    operations = [
        migrations.AddField(
            model_name="eql",
            name="points_total",
            field=models.PositiveIntegerField(
                default=0, help_text="Uncapped sum of the fired signals' points (the score caps it at 100)."
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
