from django.db import migrations


def add_reason(apps, schema_editor):
    ReasonCode = apps.get_model("routing", "ReasonCode")
    ReasonCode.objects.get_or_create(kind="lost", code="lost_in_crm", defaults={"label": "Closed lost in the CRM"})


def remove_reason(apps, schema_editor):
    apps.get_model("routing", "ReasonCode").objects.filter(kind="lost", code="lost_in_crm").delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("routing", "0008_churn_risk_reason")]

    operations = [migrations.RunPython(add_reason, remove_reason)]
