"""The declined reason a CSM review item closes with when the CSM marks it a churn risk and hands it to
retention (#15), recorded as the first version in its change history like the other seeded rows."""

from django.db import migrations
from django.utils import timezone

CODE = "churn_risk"
LABEL = "Churn risk (handed to retention)"
REASON = "seeded configuration"


def add_churn_risk(apps, schema_editor):
    Reason = apps.get_model("routing", "ReasonCode")
    History = apps.get_model("routing", "HistoricalReasonCode")
    row, created = Reason.objects.get_or_create(kind="declined", code=CODE, defaults={"label": LABEL})
    if created:
        History.objects.create(
            id=row.pk,
            kind=row.kind,
            code=row.code,
            label=row.label,
            active=row.active,
            history_date=timezone.now(),
            history_type="+",
            history_change_reason=REASON,
            history_user=None,
        )


def remove_churn_risk(apps, schema_editor):
    Reason = apps.get_model("routing", "ReasonCode")
    History = apps.get_model("routing", "HistoricalReasonCode")
    pks = list(Reason.objects.filter(kind="declined", code=CODE).values_list("pk", flat=True))
    History.objects.filter(id__in=pks, history_change_reason=REASON, history_user=None).delete()
    Reason.objects.filter(pk__in=pks).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0007_seeded_configuration_history")]
    operations = [migrations.RunPython(add_churn_risk, remove_churn_risk)]
