"""Seeds the six default signals, four gates and the EQL policy of spec/domain.md."""

from django.db import migrations


def seed(apps, schema_editor):
    from scoring.engine import default_config

    Signal = apps.get_model("scoring", "SignalDefinition")
    Gate = apps.get_model("scoring", "Gate")
    Policy = apps.get_model("scoring", "EqlPolicy")
    config = default_config()
    for order, s in enumerate(config.signals, start=1):
        Signal.objects.get_or_create(
            key=s.key,
            defaults=dict(
                name=s.name, metric=s.metric, compare=s.compare, denominator_metric=s.denominator_metric,
                denominator_field=s.denominator_field, operator=s.operator, threshold=s.threshold,
                window_days=s.window_days, persistence_days=s.persistence_days, points=s.points,
                priority=s.priority, expansion_type=s.expansion_type, target=s.target,
                default_uplift=s.default_uplift, hypothesis=s.hypothesis, opening_angle=s.opening_angle,
                discovery_questions="\n".join(s.discovery_questions), order=order * 10,
            ),
        )
    labels = {
        "status_active": "Account is active",
        "min_tenure": "Tenure at least 120 days",
        "min_health": "Health score at least 60 (when present)",
        "min_contract_arr": "Contract ARR at least 20,000 for AE-led",
    }
    for g in config.gates:
        Gate.objects.get_or_create(
            name=labels.get(g.name, g.name),
            defaults=dict(order=g.order, subject=g.subject, operator=g.operator, value=g.value,
                          action=g.action, skip_if_missing=g.skip_if_missing, segments=";".join(g.segments)),
        )
    if not Policy.objects.exists():
        Policy.objects.create()


def unseed(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
