"""Seeds the six default signals, four gates and the EQL policy of spec/domain.md.

The rows are written out as literals: a migration must write the same rows whatever the engine's
defaults later become (the live defaults are in scoring/defaults.py).
"""

from django.db import migrations

SIGNALS = [{'key': 'seat_utilisation',
  'name': 'Seat utilisation',
  'metric': 'seats_active',
  'compare': 'value',
  'denominator_metric': '',
  'denominator_field': 'seats_licensed',
  'operator': 'gte',
  'threshold': 0.9,
  'window_days': 0,
  'persistence_days': 7,
  'points': 40,
  'priority': 'high',
  'expansion_type': 'seats',
  'target': '',
  'default_uplift': 0.2,
  'hypothesis': 'A team using more than 90% of its licensed seats for a week is already rationing '
                'access, so more seats solve a problem they feel today.',
  'opening_angle': '{account_name} has had {seats_active} of {seats_licensed} seats in use '
                   '({seat_utilisation}) every day for the past week. Teams at that level usually start '
                   'sharing logins or holding back invitations; ask who is still waiting for access so '
                   'everyone who needs the product can work in it.',
  'discovery_questions': 'Who on the team is waiting for a seat or sharing a login today?\n'
                         'Which hires or teams are you planning to bring on next quarter?\n'
                         'How do you decide who gets access when seats run out?',
  'order': 10},
 {'key': 'api_rate_approach',
  'name': 'API rate approach',
  'metric': 'api_calls_30d',
  'compare': 'value',
  'denominator_metric': '',
  'denominator_field': 'api_limit_30d',
  'operator': 'gte',
  'threshold': 0.85,
  'window_days': 0,
  'persistence_days': 1,
  'points': 35,
  'priority': 'high',
  'expansion_type': 'tier',
  'target': '',
  'default_uplift': 0.35,
  'hypothesis': 'An account using more than 85% of its monthly API allowance is building on the product '
                'and will hit the ceiling; a higher tier gives its integrations room before they break.',
  'opening_angle': "{account_name}'s integrations made {api_calls_30d} API calls in the last 30 days, "
                   '{api_utilisation} of the {api_limit_30d} in their plan. Before they hit the limit, '
                   'talk through what they are building and how {target_tier} keeps it running as usage '
                   'grows.',
  'discovery_questions': 'Which integrations or internal tools depend on the API today?\n'
                         'What happens to those workflows if calls are throttled at the limit?\n'
                         'What are you planning to connect next?',
  'order': 20},
 {'key': 'feature_adjacency',
  'name': 'Feature adjacency',
  'metric': 'gated_feature_views_14d:*',
  'compare': 'value',
  'denominator_metric': '',
  'denominator_field': '',
  'operator': 'gte',
  'threshold': 3,
  'window_days': 0,
  'persistence_days': 1,
  'points': 25,
  'priority': 'medium',
  'expansion_type': 'module',
  'target': '',
  'default_uplift': 0.25,
  'hypothesis': "Repeated visits to a module's gated features show a team already trying to do that job "
                'in the product; the module lets them finish it without a workaround.',
  'opening_angle': 'People at {account_name} opened {module} features {signal_value} times in the last '
                   'two weeks without having access. Ask what they were trying to get done and show how '
                   '{module} fits the way they already work.',
  'discovery_questions': 'What were the team trying to accomplish when they opened those features?\n'
                         'How do you handle that job today, and with which tools?\n'
                         'Who else would use it if it were switched on?',
  'order': 30},
 {'key': 'automation_depth',
  'name': 'Automation depth',
  'metric': 'automation_workflows',
  'compare': 'value',
  'denominator_metric': '',
  'denominator_field': '',
  'operator': 'gte',
  'threshold': 20,
  'window_days': 0,
  'persistence_days': 1,
  'points': 20,
  'priority': 'medium',
  'expansion_type': 'tier',
  'target': '',
  'default_uplift': 0.35,
  'hypothesis': 'An account running 20 or more automation workflows depends on the product as '
                'operational infrastructure and gains from the controls and capacity of a higher tier.',
  'opening_angle': '{account_name} now runs {automation_workflows} automated workflows, so the product '
                   'is part of how their operations run every day. Review which workflows matter most '
                   'and how {target_tier} adds the controls and capacity to run them reliably as they '
                   'grow.',
  'discovery_questions': 'Which of these workflows would hurt most if it stopped?\n'
                         'Who maintains the automations, and how are changes reviewed?\n'
                         'Which processes do you plan to automate next?',
  'order': 40},
 {'key': 'team_spread',
  'name': 'Team spread',
  'metric': 'departments_active',
  'compare': 'change',
  'denominator_metric': '',
  'denominator_field': '',
  'operator': 'gt',
  'threshold': 0,
  'window_days': 30,
  'persistence_days': 1,
  'points': 20,
  'priority': 'medium',
  'expansion_type': 'seats',
  'target': '',
  'default_uplift': 0.2,
  'hypothesis': 'When more departments are active than a month ago, the product is spreading beyond its '
                'first team, and the new teams will need their own seats.',
  'opening_angle': '{account_name} now has {departments_active} departments working in the product, '
                   'more than a month ago. Find out which teams have started using it and what they '
                   'need to roll it out properly.',
  'discovery_questions': 'Which teams started using the product recently, and why?\n'
                         'Who is coordinating the rollout to the new teams?\n'
                         'How many people in those teams will need access?',
  'order': 50},
 {'key': 'export_volume',
  'name': 'Export volume',
  'metric': 'export_rows_30d',
  'compare': 'ratio',
  'denominator_metric': '',
  'denominator_field': '',
  'operator': 'gte',
  'threshold': 3,
  'window_days': 90,
  'persistence_days': 1,
  'points': 0,
  'priority': 'watch',
  'expansion_type': '',
  'target': '',
  'default_uplift': 0.0,
  'hypothesis': 'Exports at three times their level of 90 days ago are ambiguous: deeper integration '
                'with other systems or preparation to leave; a CSM judges which.',
  'opening_angle': '{account_name} is exporting far more data than three months ago. Check in on where '
                   'the data goes and what it feeds before assuming either deeper integration or a move '
                   'away.',
  'discovery_questions': 'Where does the exported data go, and what does it feed?\n'
                         'Is there something the product should do that would make exporting '
                         'unnecessary?\n'
                         'Have there been changes in the team or tooling we should know about?',
  'order': 60}]
GATES = [{'name': 'Account is active',
  'order': 10,
  'subject': 'status',
  'operator': 'eq',
  'value': 'active',
  'action': 'block',
  'skip_if_missing': False,
  'segments': ''},
 {'name': 'Tenure at least 120 days',
  'order': 20,
  'subject': 'tenure_days',
  'operator': 'gte',
  'value': '120',
  'action': 'block',
  'skip_if_missing': False,
  'segments': ''},
 {'name': 'Health score at least 60 (when present)',
  'order': 30,
  'subject': 'health_score',
  'operator': 'gte',
  'value': '60',
  'action': 'block',
  'skip_if_missing': True,
  'segments': ''},
 {'name': 'Contract ARR at least 20,000 for AE-led',
  'order': 40,
  'subject': 'contract_arr',
  'operator': 'gte',
  'value': '20000',
  'action': 'self_serve',
  'skip_if_missing': False,
  'segments': ''}]


def seed(apps, schema_editor):
    Signal = apps.get_model("scoring", "SignalDefinition")
    Gate = apps.get_model("scoring", "Gate")
    Policy = apps.get_model("scoring", "EqlPolicy")
    for row in SIGNALS:
        fields = dict(row)
        Signal.objects.get_or_create(key=fields.pop("key"), defaults=fields)
    for row in GATES:
        fields = dict(row)
        Gate.objects.get_or_create(name=fields.pop("name"), defaults=fields)
    if not Policy.objects.exists():
        Policy.objects.create()


def unseed(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
