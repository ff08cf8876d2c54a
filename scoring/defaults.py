"""The seeded defaults of ``spec/domain.md``: six signals, four gates and the EQL policy.

What a fresh installation starts with and what tests and benchmarks build on; RevOps edits the live
configuration in admin (the database rows), never this file. The data migration that seeded the rows
keeps its own frozen copy.
"""

from __future__ import annotations

from scoring.config import (
    COMPARE_CHANGE,
    COMPARE_RATIO,
    EXPANSION_MODULE,
    EXPANSION_NONE,
    EXPANSION_SEATS,
    EXPANSION_TIER,
    GATE_SELF_SERVE,
    MODULE_WILDCARD,
    PRIORITY_HIGH,
    PRIORITY_MEDIUM,
    PRIORITY_WATCH,
    GateSpec,
    PolicySpec,
    ScoringConfig,
    SignalSpec,
)


def default_config() -> ScoringConfig:
    """The seeded defaults of ``spec/domain.md``: six signals, four gates, default policy, version 0."""
    signals = (
        SignalSpec(
            key="seat_utilisation",
            name="Seat utilisation",
            metric="seats_active",
            denominator_field="seats_licensed",
            operator="gte",
            threshold=0.90,
            persistence_days=7,
            points=40,
            priority=PRIORITY_HIGH,
            expansion_type=EXPANSION_SEATS,
            default_uplift=0.20,
            hypothesis=(
                "A team using more than 90% of its licensed seats for a week is already rationing access, "
                "so more seats solve a problem they feel today."
            ),
            opening_angle=(
                "{account_name} has had {seats_active} of {seats_licensed} seats in use ({seat_utilisation}) "
                "every day for the past week. Teams at that level usually start sharing logins or holding "
                "back invitations; ask who is still waiting for access so everyone who needs the product "
                "can work in it."
            ),
            discovery_questions=(
                "Who on the team is waiting for a seat or sharing a login today?",
                "Which hires or teams are you planning to bring on next quarter?",
                "How do you decide who gets access when seats run out?",
            ),
        ),
        SignalSpec(
            key="api_rate_approach",
            name="API rate approach",
            metric="api_calls_30d",
            denominator_field="api_limit_30d",
            operator="gte",
            threshold=0.85,
            points=35,
            priority=PRIORITY_HIGH,
            expansion_type=EXPANSION_TIER,
            default_uplift=0.35,
            hypothesis=(
                "An account using more than 85% of its monthly API allowance is building on the product "
                "and will hit the ceiling; a higher tier gives its integrations room before they break."
            ),
            opening_angle=(
                "{account_name}'s integrations made {api_calls_30d} API calls in the last 30 days, "
                "{api_utilisation} of the {api_limit_30d} in their plan. Before they hit the limit, talk "
                "through what they are building and how {target_tier} keeps it running as usage grows."
            ),
            discovery_questions=(
                "Which integrations or internal tools depend on the API today?",
                "What happens to those workflows if calls are throttled at the limit?",
                "What are you planning to connect next?",
            ),
        ),
        SignalSpec(
            key="feature_adjacency",
            name="Feature adjacency",
            metric="gated_feature_views_14d" + MODULE_WILDCARD,
            operator="gte",
            threshold=3,
            points=25,
            priority=PRIORITY_MEDIUM,
            expansion_type=EXPANSION_MODULE,
            default_uplift=0.25,
            hypothesis=(
                "Repeated visits to a module's gated features show a team already trying to do that job "
                "in the product; the module lets them finish it without a workaround."
            ),
            opening_angle=(
                "People at {account_name} opened {module} features {signal_value} times in the last two "
                "weeks without having access. Ask what they were trying to get done and show how {module} "
                "fits the way they already work."
            ),
            discovery_questions=(
                "What were the team trying to accomplish when they opened those features?",
                "How do you handle that job today, and with which tools?",
                "Who else would use it if it were switched on?",
            ),
        ),
        SignalSpec(
            key="automation_depth",
            name="Automation depth",
            metric="automation_workflows",
            operator="gte",
            threshold=20,
            points=20,
            priority=PRIORITY_MEDIUM,
            expansion_type=EXPANSION_TIER,
            default_uplift=0.35,
            hypothesis=(
                "An account running 20 or more automation workflows depends on the product as "
                "operational infrastructure and gains from the controls and capacity of a higher tier."
            ),
            opening_angle=(
                "{account_name} now runs {automation_workflows} automated workflows, so the product is part "
                "of how their operations run every day. Review which workflows matter most and how "
                "{target_tier} adds the controls and capacity to run them reliably as they grow."
            ),
            discovery_questions=(
                "Which of these workflows would hurt most if it stopped?",
                "Who maintains the automations, and how are changes reviewed?",
                "Which processes do you plan to automate next?",
            ),
        ),
        SignalSpec(
            key="team_spread",
            name="Team spread",
            metric="departments_active",
            operator="gt",
            threshold=0,
            compare=COMPARE_CHANGE,
            window_days=30,
            points=20,
            priority=PRIORITY_MEDIUM,
            expansion_type=EXPANSION_SEATS,
            default_uplift=0.20,
            hypothesis=(
                "When more departments are active than a month ago, the product is spreading beyond its "
                "first team, and the new teams will need their own seats."
            ),
            opening_angle=(
                "{account_name} now has {departments_active} departments working in the product, more than "
                "a month ago. Find out which teams have started using it and what they need to roll it out "
                "properly."
            ),
            discovery_questions=(
                "Which teams started using the product recently, and why?",
                "Who is coordinating the rollout to the new teams?",
                "How many people in those teams will need access?",
            ),
        ),
        SignalSpec(
            key="export_volume",
            name="Export volume",
            metric="export_rows_30d",
            operator="gte",
            threshold=3,
            compare=COMPARE_RATIO,
            window_days=90,
            points=0,
            priority=PRIORITY_WATCH,
            expansion_type=EXPANSION_NONE,
            default_uplift=0.0,
            hypothesis=(
                "Exports at three times their level of 90 days ago are ambiguous: deeper integration with "
                "other systems or preparation to leave; a CSM judges which."
            ),
            opening_angle=(
                "{account_name} is exporting far more data than three months ago. Check in on where the "
                "data goes and what it feeds before assuming either deeper integration or a move away."
            ),
            discovery_questions=(
                "Where does the exported data go, and what does it feed?",
                "Is there something the product should do that would make exporting unnecessary?",
                "Have there been changes in the team or tooling we should know about?",
            ),
        ),
    )
    gates = (
        GateSpec(name="status_active", subject="status", operator="eq", value="active", order=10),
        GateSpec(name="min_tenure", subject="tenure_days", operator="gte", value="120", order=20),
        GateSpec(
            name="min_health",
            subject="health_score",
            operator="gte",
            value="60",
            skip_if_missing=True,
            order=30,
        ),
        GateSpec(
            name="min_contract_arr",
            subject="contract_arr",
            operator="gte",
            value="20000",
            action=GATE_SELF_SERVE,
            order=40,
        ),
    )
    return ScoringConfig(signals=signals, gates=gates, policy=PolicySpec(), version=0)
