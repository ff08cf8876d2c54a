"""The seeded configuration (routing rules, reason codes, SLA policy) becomes the first version in its change
history, so the first edit of a seeded row shows its values before and after (#15).

Rows that already have a history (created or edited through the app or admin) are left alone.
"""

from django.db import migrations
from django.utils import timezone

TRACKED = ("RoutingRule", "ReasonCode", "SlaPolicy")
REASON = "seeded configuration"


def record_seeded_versions(apps, schema_editor):
    now = timezone.now()
    for name in TRACKED:
        model = apps.get_model("routing", name)
        history = apps.get_model("routing", f"Historical{name}")
        recorded = set(history.objects.values_list("id", flat=True).distinct())
        copied = [f.attname for f in history._meta.concrete_fields if not f.name.startswith("history_")]
        history.objects.bulk_create(
            [
                history(
                    **{f: getattr(row, f) for f in copied},
                    history_date=now,
                    history_type="+",
                    history_change_reason=REASON,
                    history_user=None,
                )
                for row in model.objects.exclude(pk__in=recorded).order_by("pk")
            ]
        )


def forget_seeded_versions(apps, schema_editor):
    for name in TRACKED:
        apps.get_model("routing", f"Historical{name}").objects.filter(
            history_type="+", history_change_reason=REASON, history_user=None
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0006_sla_policy")]
    operations = [migrations.RunPython(record_seeded_versions, forget_seeded_versions)]
