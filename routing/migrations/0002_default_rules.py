"""Seeds the five default routing rules and the reason codes of spec/domain.md."""

from django.db import migrations

RULES = [
    dict(order=10, name="Only watch signals fired: CSM judgment call", when_watch_only=True, route="csm_review"),
    dict(order=20, name="Self-serve gate applied: CS-owned order form", when_self_serve_gate=True, route="self_serve"),
    dict(order=30, name="Module expansion: AE with CSM", when_expansion_type="module", route="ae",
         csm_involvement_required=True),
    dict(order=40, name="Estimate at least 10,000: AE with CSM", estimate_comparison="gte", estimate_value=10000,
         route="ae", csm_involvement_required=True),
    dict(order=50, name="Otherwise: CSM-led simplified process", route="csm"),
]
REASONS = {
    "declined": [
        ("not_ready", "Not ready"), ("bad_timing", "Bad timing"), ("relationship_risk", "Relationship risk"),
        ("no_budget", "No budget"), ("already_in_conversation", "Already in conversation"),
        ("self_serve_preferred", "Self-serve preferred"), ("other", "Other"),
    ],
    "lost": [("price", "Price"), ("no_budget", "No budget"), ("competitor", "Competitor"),
             ("timing", "Timing"), ("other", "Other")],
}


def seed(apps, schema_editor):
    Rule = apps.get_model("routing", "RoutingRule")
    Reason = apps.get_model("routing", "ReasonCode")
    if not Rule.objects.exists():
        for rule in RULES:
            Rule.objects.create(**rule)
    for kind, codes in REASONS.items():
        for code, label in codes:
            Reason.objects.get_or_create(kind=kind, code=code, defaults={"label": label})


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
