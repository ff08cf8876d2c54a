"""Pure routing rules (domain.md, "Routing"): route decision, owner choice, SLA clock. No database."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.rules import (
    FALLBACK,
    LoadBook,
    Person,
    RouteDecision,
    RouteFacts,
    RuleSpec,
    SlaSpec,
    choose_owner,
    decide_route,
    sla_clock,
)

SEED = importlib.import_module("routing.migrations.0002_default_rules")

#: The five default rules exactly as the migration seeds them, in their order.
DEFAULT_RULES = tuple(
    RuleSpec(**{k: v for k, v in rule.items() if k != "order"})
    for rule in sorted(SEED.RULES, key=lambda r: r["order"])
)
WATCH = "Only watch signals fired: CSM judgment call"
SELF_SERVE = "Self-serve gate applied: CS-owned order form"
MODULE = "Module expansion: AE with CSM"
BIG = "Estimate at least 10,000: AE with CSM"
OTHERWISE = "Otherwise: CSM-led simplified process"

START = dt.datetime(2025, 3, 3, 9, 30, tzinfo=dt.UTC)


def facts(**overrides) -> RouteFacts:
    """A seats EQL worth 5,000 on a Mid-market Professional account with no gate and real signals."""
    values = {
        "estimate": 5000.0,
        "expansion_type": "seats",
        "priority": "high",
        "segment": "MidMarket",
        "plan_tier": "Professional",
        "watch_only": False,
        "self_serve_gate": False,
    }
    return RouteFacts(**{**values, **overrides})


def test_the_migration_seeds_five_rules_in_the_domain_order():
    # then
    assert [r.name for r in DEFAULT_RULES] == [WATCH, SELF_SERVE, MODULE, BIG, OTHERWISE]
    assert [(r.route, r.csm_involvement_required) for r in DEFAULT_RULES] == [
        ("csm_review", False),
        ("self_serve", False),
        ("ae", True),
        ("ae", True),
        ("csm", False),
    ]


@pytest.mark.parametrize(
    ("given_facts", "expected"),
    [
        pytest.param(facts(watch_only=True), RouteDecision("csm_review", False, WATCH), id="1-watch-only"),
        pytest.param(
            facts(watch_only=True, self_serve_gate=True, expansion_type="module", estimate=50_000.0),
            RouteDecision("csm_review", False, WATCH),
            id="1-watch-only-beats-everything",
        ),
        pytest.param(
            facts(self_serve_gate=True), RouteDecision("self_serve", False, SELF_SERVE), id="2-gate"
        ),
        pytest.param(
            facts(self_serve_gate=True, expansion_type="module", estimate=50_000.0),
            RouteDecision("self_serve", False, SELF_SERVE),
            id="2-gate-beats-module-and-estimate",
        ),
        pytest.param(
            facts(expansion_type="module", estimate=100.0), RouteDecision("ae", True, MODULE), id="3-module"
        ),
        pytest.param(
            facts(expansion_type="module", estimate=50_000.0),
            RouteDecision("ae", True, MODULE),
            id="3-module-before-estimate",
        ),
        pytest.param(facts(estimate=10_000.0), RouteDecision("ae", True, BIG), id="4-estimate-exactly-10000"),
        pytest.param(
            facts(estimate=250_000.0, expansion_type="tier"), RouteDecision("ae", True, BIG), id="4-tier-big"
        ),
        pytest.param(facts(estimate=9_999.99), RouteDecision("csm", False, OTHERWISE), id="5-just-below"),
        pytest.param(facts(estimate=0.0), RouteDecision("csm", False, OTHERWISE), id="5-zero"),
        pytest.param(
            facts(estimate=2_000.0, expansion_type="tier", priority="medium"),
            RouteDecision("csm", False, OTHERWISE),
            id="5-small-tier",
        ),
    ],
)
def test_default_rules_first_match_wins(given_facts, expected):
    # when
    decision = decide_route(given_facts, DEFAULT_RULES)

    # then
    assert decision == expected


@pytest.mark.parametrize("estimate", [0.0, 1.0, 9_999.99, 10_000.0, 1_000_000.0])
@pytest.mark.parametrize("priority", ["high", "medium"])
@pytest.mark.parametrize(("segment", "plan_tier"), [("SMB", "Starter"), ("Enterprise", "Enterprise")])
def test_module_eqls_always_go_to_an_ae_with_csm_involvement(estimate, priority, segment, plan_tier):
    # given
    given_facts = facts(
        expansion_type="module", estimate=estimate, priority=priority, segment=segment, plan_tier=plan_tier
    )

    # when
    decision = decide_route(given_facts, DEFAULT_RULES)

    # then
    assert decision == RouteDecision("ae", True, MODULE)


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param((RuleSpec(name="Everything to an AE", route="ae"),), id="catch-all-ae"),
        pytest.param(
            (
                RuleSpec(
                    name="Watch to an AE", route="ae", csm_involvement_required=True, when_watch_only=True
                ),
            ),
            id="rule-targets-watch-only",
        ),
        pytest.param((RuleSpec(name="Everything to CSM", route="csm"),), id="catch-all-csm"),
        pytest.param((), id="no-rules-fallback"),
    ],
)
def test_watch_only_never_reaches_an_ae_even_when_a_rule_says_so(rules):
    # given
    given_facts = facts(watch_only=True, expansion_type="module", estimate=80_000.0)

    # when
    decision = decide_route(given_facts, rules)

    # then
    assert decision.route == "csm_review"
    assert decision.csm_involvement_required is False
    assert decision.rule.endswith("(watch-only: CSM review)")


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(
            (RuleSpec(name="Everything to an AE", route="ae", csm_involvement_required=True),), id="ae"
        ),
        pytest.param(
            (RuleSpec(name="Gate to an AE", route="ae", when_self_serve_gate=True),), id="rule-targets-gate"
        ),
        pytest.param(DEFAULT_RULES[2:], id="defaults-without-the-gate-rule"),
    ],
)
def test_a_self_serve_gate_is_never_ae_led(rules):
    # given
    given_facts = facts(self_serve_gate=True, expansion_type="module", estimate=80_000.0)

    # when
    decision = decide_route(given_facts, rules)

    # then
    assert decision.route == "self_serve"
    assert decision.csm_involvement_required is False
    assert decision.rule.endswith("(self-serve gate: never AE-led)")


def test_a_self_serve_gate_may_still_go_to_a_csm_path_a_rule_chose():
    # given
    rules = (RuleSpec(name="Gate to CSM", route="csm", when_self_serve_gate=True),)

    # when
    decision = decide_route(facts(self_serve_gate=True), rules)

    # then
    assert decision == RouteDecision("csm", False, "Gate to CSM")


@pytest.mark.parametrize(
    ("rule", "given_facts", "matches"),
    [
        (RuleSpec(name="r", route="ae", when_segment="Enterprise"), facts(segment="Enterprise"), True),
        (RuleSpec(name="r", route="ae", when_segment="Enterprise"), facts(segment="SMB"), False),
        (RuleSpec(name="r", route="ae", when_plan_tier="Business"), facts(plan_tier="Business"), True),
        (RuleSpec(name="r", route="ae", when_plan_tier="Business"), facts(plan_tier="Starter"), False),
        (RuleSpec(name="r", route="ae", when_priority="medium"), facts(priority="medium"), True),
        (RuleSpec(name="r", route="ae", when_priority="medium"), facts(priority="high"), False),
        (
            RuleSpec(name="r", route="ae", estimate_comparison="lt", estimate_value=500.0),
            facts(estimate=499),
            True,
        ),
        (
            RuleSpec(name="r", route="ae", estimate_comparison="lt", estimate_value=500.0),
            facts(estimate=500),
            False,
        ),
        (RuleSpec(name="r", route="ae", when_self_serve_gate=False), facts(self_serve_gate=False), True),
        (RuleSpec(name="r", route="ae", when_watch_only=False), facts(watch_only=True), False),
    ],
)
def test_a_rule_matches_only_when_every_set_condition_holds(rule, given_facts, matches):
    # given
    rules = (rule, RuleSpec(name="rest", route="csm"))

    # when
    decision = decide_route(given_facts, rules)

    # then
    assert (decision.rule == "r") is matches


def test_no_matching_rule_falls_back_to_csm():
    # when
    decision = decide_route(
        facts(), (RuleSpec(name="only modules", route="ae", when_expansion_type="module"),)
    )

    # then
    assert decision == FALLBACK
    assert decision.route == "csm"


@given(
    watch_only=st.booleans(),
    self_serve_gate=st.booleans(),
    routes=st.lists(st.sampled_from(["ae", "csm", "self_serve", "csm_review"]), max_size=4),
    estimate=st.floats(min_value=0, max_value=1e7),
    expansion_type=st.sampled_from(["seats", "tier", "module"]),
)
def test_invariant_watch_only_and_self_serve_never_ae(
    watch_only, self_serve_gate, routes, estimate, expansion_type
):
    # given
    rules = tuple(RuleSpec(name=f"rule {i}", route=route) for i, route in enumerate(routes))
    given_facts = facts(
        watch_only=watch_only,
        self_serve_gate=self_serve_gate,
        estimate=estimate,
        expansion_type=expansion_type,
    )

    # when
    decision = decide_route(given_facts, (*rules, *DEFAULT_RULES))

    # then
    if watch_only:
        assert decision.route == "csm_review"
    if self_serve_gate:
        assert decision.route != "ae"


# --- owner choice: capacity and round robin -------------------------------------------------------


def people(*specs: tuple[int, bool, int | None]) -> dict[int, Person]:
    return {pid: Person(id=pid, active=active, capacity=capacity) for pid, active, capacity in specs}


def test_the_preferred_owner_with_room_gets_it():
    # given
    team = people((1, True, 3), (2, True, 3))
    book = LoadBook(open_counts={1: 2, 2: 0}, last_assigned={})

    # when
    chosen = choose_owner(preferred=1, role="AE", people=team, book=book)

    # then
    assert chosen == 1
    assert book.open_counts == {1: 3, 2: 0}
    assert book.last_assigned == {"AE": 1}


def test_an_over_capacity_preferred_owner_is_skipped_for_the_least_loaded():
    # given
    team = people((1, True, 2), (2, True, 5), (3, True, 5))
    book = LoadBook(open_counts={1: 2, 2: 3, 3: 1}, last_assigned={})

    # when
    chosen = choose_owner(preferred=1, role="AE", people=team, book=book)

    # then
    assert chosen == 3
    assert book.open_counts == {1: 2, 2: 3, 3: 2}


def test_an_inactive_preferred_owner_is_skipped():
    # given
    team = people((1, False, None), (2, True, None))
    book = LoadBook(open_counts={}, last_assigned={})

    # when
    chosen = choose_owner(preferred=1, role="CSM", people=team, book=book)

    # then
    assert chosen == 2


def test_inactive_people_are_never_chosen_even_when_least_loaded():
    # given
    team = people((1, False, None), (2, True, None), (3, False, 10))
    book = LoadBook(open_counts={1: 0, 2: 7, 3: 0}, last_assigned={})

    # when
    chosen = choose_owner(preferred=None, role="AE", people=team, book=book)

    # then
    assert chosen == 2


def test_a_preferred_owner_of_another_role_is_ignored():
    # given (id 9 is not among this role's people)
    team = people((1, True, None), (2, True, None))
    book = LoadBook(open_counts={1: 1, 2: 0}, last_assigned={})

    # when
    chosen = choose_owner(preferred=9, role="AE", people=team, book=book)

    # then
    assert chosen == 2
    assert 9 not in book.open_counts


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        pytest.param(None, 2, id="no-cursor-takes-lowest"),
        pytest.param(2, 5, id="next-after-last"),
        pytest.param(3, 5, id="last-not-tied-takes-next-higher"),
        pytest.param(5, 7, id="next-after-5"),
        pytest.param(7, 2, id="wraps-after-highest"),
        pytest.param(9, 2, id="wraps-when-last-beyond-all"),
    ],
)
def test_ties_go_to_the_next_id_after_the_last_assigned(last, expected):
    # given: 2, 5 and 7 tie on one open EQL; 3 has more
    team = people((2, True, None), (3, True, None), (5, True, None), (7, True, None))
    book = LoadBook(open_counts={2: 1, 3: 4, 5: 1, 7: 1}, last_assigned={} if last is None else {"AE": last})

    # when
    chosen = choose_owner(preferred=None, role="AE", people=team, book=book)

    # then
    assert chosen == expected
    assert book.last_assigned == {"AE": expected}


def test_round_robin_cycles_evenly_across_the_team():
    # given
    team = people((10, True, None), (20, True, None), (30, True, None))
    book = LoadBook(open_counts={}, last_assigned={"CSM": 20})

    # when
    chosen = [choose_owner(preferred=None, role="CSM", people=team, book=book) for _ in range(7)]

    # then
    assert chosen == [30, 10, 20, 30, 10, 20, 30]
    assert book.open_counts == {10: 2, 20: 2, 30: 3}


def test_the_cursor_is_per_role():
    # given
    team = people((1, True, None), (2, True, None))
    book = LoadBook(open_counts={}, last_assigned={"AE": 1, "CSM": 2})

    # when
    chosen = choose_owner(preferred=None, role="CSM", people=team, book=book)

    # then
    assert chosen == 1
    assert book.last_assigned == {"AE": 1, "CSM": 1}


def test_capacity_fills_up_then_nobody_has_room():
    # given
    team = people((1, True, 1), (2, True, 2))
    book = LoadBook(open_counts={}, last_assigned={})

    # when
    chosen = [choose_owner(preferred=1, role="AE", people=team, book=book) for _ in range(4)]

    # then
    assert chosen == [1, 2, 2, None]
    assert book.open_counts == {1: 1, 2: 2}
    assert book.last_assigned == {"AE": 2}


@pytest.mark.parametrize(
    "team",
    [
        pytest.param({}, id="nobody-of-that-role"),
        pytest.param(people((1, True, 0), (2, True, 3)), id="all-full-or-zero"),
        pytest.param(people((1, False, None), (2, True, 3)), id="inactive-and-full"),
    ],
)
def test_nobody_with_room_gives_none_and_changes_nothing(team):
    # given
    book = LoadBook(open_counts={2: 3}, last_assigned={"AE": 2})

    # when
    chosen = choose_owner(preferred=2, role="AE", people=team, book=book)

    # then
    assert chosen is None
    assert book.open_counts == {2: 3}
    assert book.last_assigned == {"AE": 2}


# --- SLA clock ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "priority", "deadline_hours", "window_hours"),
    [
        pytest.param("ae", "high", 24, None, id="ae-high-24h"),
        pytest.param("ae", "medium", 24 + 48, 24, id="ae-medium-48h-after-24h-window"),
        pytest.param("csm", "high", 72, None, id="csm-high-72h"),
        pytest.param("csm", "medium", 72, None, id="csm-medium-72h-no-window"),
        pytest.param("self_serve", "high", 72, None, id="self-serve-72h"),
        pytest.param("csm_review", "watch", 72, None, id="csm-review-72h"),
    ],
)
def test_sla_clock_with_default_hours(route, priority, deadline_hours, window_hours):
    # when
    clock = sla_clock(route=route, priority=priority, start=START, policy=SlaSpec())

    # then
    assert clock.sla_deadline == START + dt.timedelta(hours=deadline_hours)
    expected_window = None if window_hours is None else START + dt.timedelta(hours=window_hours)
    assert clock.review_window_ends_at == expected_window


@pytest.mark.parametrize(
    ("route", "priority", "deadline_hours", "window_hours"),
    [
        ("ae", "high", 8, None),
        ("ae", "medium", 12 + 36, 12),
        ("csm", "medium", 96, None),
        ("self_serve", "high", 96, None),
    ],
)
def test_sla_clock_uses_the_admin_edited_hours(route, priority, deadline_hours, window_hours):
    # given
    policy = SlaSpec(high_hours=8, medium_hours=36, csm_hours=96, review_window_hours=12)

    # when
    clock = sla_clock(route=route, priority=priority, start=START, policy=policy)

    # then
    assert clock.sla_deadline == START + dt.timedelta(hours=deadline_hours)
    assert clock.review_window_ends_at == (
        None if window_hours is None else START + dt.timedelta(hours=window_hours)
    )
