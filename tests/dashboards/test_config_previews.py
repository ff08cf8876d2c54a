"""The admin's "Preview" next to Save for gates, the EQL policy and routing rules (#15): each compares
the saved configuration with the form's unsaved values, writes nothing, answers invalid input with the
form's errors (422), and is for RevOps only. Also the signal list's thresholds (no inline edits)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.models import BacktestRun
from expansion.models import EQL, Route
from routing.models import RoutingRule
from scoring.models import EqlPolicy, Gate, SignalDefinition
from tests.dashboards import test_backtest_views
from tests.factories import AccountFactory, EQLFactory

pytestmark = pytest.mark.django_db

people = test_backtest_views.people
history = test_backtest_views.history
EQLS_ROW = re.compile(r'<th scope="row">EQLs</th><td class="num">(\d+)</td><td class="num">(\d+)')


def _post_form(obj, fields, **changes) -> dict:
    """An admin change form's POST as the browser sends it (checked box 'on', unchecked absent)."""
    data = {}
    for name in fields:
        value = getattr(obj, name)
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


GATE_FIELDS = (
    "name",
    "order",
    "active",
    "subject",
    "operator",
    "value",
    "action",
    "skip_if_missing",
    "segments",
)
POLICY_FIELDS = (
    "score_threshold",
    "min_expansion_pct",
    "suppression_days",
    "max_data_age_days",
    "min_calibration_samples",
)


def _snapshot(model) -> tuple[list, int]:
    return list(model.objects.order_by("pk").values()), model.history.count()


# --------------------------------------------------------------------------------------------------
# Gates and the EQL policy: the same 12-month replay as a signal's preview
# --------------------------------------------------------------------------------------------------


def test_gate_preview_replays_the_edited_gate_and_writes_nothing(client, people, history):
    gate = Gate.objects.get(subject="tenure_days")
    before = _snapshot(Gate)
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-gate-preview", args=[gate.pk]), _post_form(gate, GATE_FIELDS, value="100000")
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "Nothing has been saved" in page
    assert re.search(r"<td>value</td><td>120</td><td><strong>100000</strong></td>", page)
    eqls = EQLS_ROW.search(page)
    # No account has 100,000 days of tenure: the edited gate blocks every EQL.
    assert int(eqls[1]) > 0
    assert int(eqls[2]) == 0
    assert _snapshot(Gate) == before
    assert not BacktestRun.objects.exists()


def test_gate_preview_of_switching_off_and_of_a_new_gate(client, people, history):
    gate = Gate.objects.get(subject="tenure_days")
    client.force_login(people["revops"])
    off = _post_form(gate, GATE_FIELDS)
    del off["active"]
    page = client.post(reverse("backtest-gate-preview", args=[gate.pk]), off).content.decode()
    assert "The gate is switched <strong>off</strong>" in page
    new = _post_form(gate, GATE_FIELDS, name="huge_seats_only", subject="seats_licensed", value="1000")
    response = client.post(reverse("backtest-gate-preview-new"), new)
    page = response.content.decode()
    assert response.status_code == 200
    assert "A new gate, added to the saved configuration" in page
    eqls = EQLS_ROW.search(page)
    assert int(eqls[1]) > 0
    assert int(eqls[2]) == 0  # every account licenses 100 seats
    assert not Gate.objects.filter(name="huge_seats_only").exists()


def test_gate_preview_refuses_an_invalid_gate_with_its_errors(client, people, history):
    gate = Gate.objects.get(subject="tenure_days")
    before = _snapshot(Gate)
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-gate-preview", args=[gate.pk]), _post_form(gate, GATE_FIELDS, value="lots")
    )
    assert response.status_code == 422
    assert "&#x27;tenure_days&#x27; is a number; enter a number such as 20000." in response.content.decode()
    assert _snapshot(Gate) == before


def test_policy_preview_replays_the_edited_policy_and_writes_nothing(client, people, history):
    policy = EqlPolicy.objects.get()
    before = _snapshot(EqlPolicy)
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-policy-preview", args=[policy.pk]),
        _post_form(policy, POLICY_FIELDS, min_expansion_pct="9.99"),
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "Nothing has been saved" in page
    assert re.search(r"<td>min_expansion_pct</td><td>0\.15</td><td><strong>9\.99</strong></td>", page)
    eqls = EQLS_ROW.search(page)
    # An estimate of 999% of the contract is never reached.
    assert int(eqls[1]) > 0
    assert int(eqls[2]) == 0
    assert _snapshot(EqlPolicy) == before
    assert not BacktestRun.objects.exists()


def test_policy_preview_refuses_invalid_input_with_the_form_errors(client, people, history):
    policy = EqlPolicy.objects.get()
    before = _snapshot(EqlPolicy)
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-policy-preview", args=[policy.pk]),
        _post_form(policy, POLICY_FIELDS, score_threshold="-5"),
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Fix these in the admin form first" in page
    assert "<strong>score_threshold</strong>" in page
    assert _snapshot(EqlPolicy) == before


# --------------------------------------------------------------------------------------------------
# Routing rules: the last 12 weeks' EQLs routed again
# --------------------------------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "order",
    "active",
    "when_expansion_type",
    "when_priority",
    "when_segment",
    "when_plan_tier",
    "estimate_comparison",
    "estimate_value",
    "route",
    "csm_involvement_required",
)


def _rule_form(rule: RoutingRule, **changes) -> dict:
    data = _post_form(rule, RULE_FIELDS)
    for name in ("when_watch_only", "when_self_serve_gate"):
        value = getattr(rule, name)
        data[name] = "unknown" if value is None else str(value).lower()
    data.update(changes)
    return data


@pytest.fixture
def routed():
    """Three EQLs at 9,600 (CSM-led under the saved rules), one at 20,000 (AE), one 20 weeks old."""
    small = [EQLFactory(route=Route.CSM, account=AccountFactory(name=f"Small {i}")) for i in range(3)]
    big = EQLFactory(estimated_expansion_arr=Decimal("20000"), account=AccountFactory(name="Big"))
    old = EQLFactory(route=Route.CSM, created_at=timezone.now() - dt.timedelta(weeks=20))
    return small, big, old


def test_routing_preview_counts_routes_before_and_after_and_writes_nothing(client, people, routed):
    small, big, old = routed
    rule = RoutingRule.objects.get(order=40)
    rules_before, eqls_before = _snapshot(RoutingRule), list(EQL.objects.order_by("pk").values())
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-routing-preview", args=[rule.pk]), _rule_form(rule, estimate_value="5000")
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "Nothing has been saved" in page
    assert re.search(r"<td>estimate_value</td><td>10000\.00</td><td><strong>5000</strong></td>", page)
    counts = {
        route: (int(b), int(a))
        for route, b, a in re.findall(
            r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td>', page
        )
    }
    labels = dict(Route.choices)
    assert counts == {labels["ae"]: (1, 4), labels["csm"]: (3, 0)}
    assert "3 of 4 EQLs would change route." in page
    moved = page.split('id="routing-moved"', 1)[1]
    for eql in small:
        assert f"#{eql.pk}</a>" in moved
    assert f"#{big.pk}</a>" not in moved
    assert f"#{old.pk}</a>" not in page
    assert _snapshot(RoutingRule) == rules_before
    assert list(EQL.objects.order_by("pk").values()) == eqls_before


def test_routing_preview_of_a_new_rule_and_of_an_invalid_one(client, people, routed):
    rule = RoutingRule.objects.get(order=40)
    before = _snapshot(RoutingRule)
    client.force_login(people["revops"])
    first = _rule_form(
        rule, name="Everything to CSM first", order="1", estimate_comparison="", estimate_value=""
    )
    first["route"] = "csm"
    first.pop("csm_involvement_required", None)
    response = client.post(reverse("backtest-routing-preview-new"), first)
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "A new routing rule, added to the saved configuration" in page
    assert "1 of 4 EQLs would change route." in page
    response = client.post(
        reverse("backtest-routing-preview", args=[rule.pk]), _rule_form(rule, route="nowhere")
    )
    assert response.status_code == 422
    assert "<strong>route</strong>" in response.content.decode()
    assert _snapshot(RoutingRule) == before


# --------------------------------------------------------------------------------------------------
# Access, buttons, the signal list
# --------------------------------------------------------------------------------------------------


def _preview_urls() -> list[str]:
    gate, policy, rule = Gate.objects.first(), EqlPolicy.objects.get(), RoutingRule.objects.first()
    return [
        reverse("backtest-gate-preview", args=[gate.pk]),
        reverse("backtest-gate-preview-new"),
        reverse("backtest-policy-preview", args=[policy.pk]),
        reverse("backtest-routing-preview", args=[rule.pk]),
        reverse("backtest-routing-preview-new"),
    ]


@pytest.mark.parametrize("role", ["ae", "csm", "manager", "finance"])
def test_previews_are_for_revops_only(client, people, role):
    client.force_login(people[role])
    for url in _preview_urls():
        assert client.post(url, {}).status_code == 403, url
        assert client.get(url).status_code == 403, url


def test_each_preview_button_sits_next_to_save_before_delete(client, people):
    client.force_login(people["admin"])
    gate, policy, rule = Gate.objects.first(), EqlPolicy.objects.get(), RoutingRule.objects.first()
    signal = SignalDefinition.objects.first()
    pages = {
        reverse("admin:scoring_gate_change", args=[gate.pk]): reverse(
            "backtest-gate-preview", args=[gate.pk]
        ),
        reverse("admin:scoring_gate_add"): reverse("backtest-gate-preview-new"),
        reverse("admin:scoring_eqlpolicy_change", args=[policy.pk]): reverse(
            "backtest-policy-preview", args=[policy.pk]
        ),
        reverse("admin:routing_routingrule_change", args=[rule.pk]): reverse(
            "backtest-routing-preview", args=[rule.pk]
        ),
        reverse("admin:routing_routingrule_add"): reverse("backtest-routing-preview-new"),
        reverse("admin:scoring_signaldefinition_change", args=[signal.pk]): reverse(
            "backtest-signal-preview", args=[signal.pk]
        ),
    }
    for admin_url, preview_url in pages.items():
        page = client.get(admin_url).content.decode()
        row = page.split('<div class="submit-row">', 1)[1].split("</div>", 1)[0]
        save = row.index('name="_save"')
        preview = row.index(f'formaction="{preview_url}"')
        assert save < preview, admin_url
        assert preview < row.index('name="_continue"'), admin_url
        if "deletelink" in row:
            assert preview < row.index("deletelink"), admin_url


def test_signal_list_shows_share_thresholds_as_percent_and_edits_nothing_inline(client, people):
    client.force_login(people["admin"])
    page = client.get(reverse("admin:scoring_signaldefinition_changelist")).content.decode()
    seat = SignalDefinition.objects.get(key="seat_utilisation")
    assert seat.threshold == 0.9
    assert seat.denominator_metric or seat.denominator_field
    row = page.split(f"/{seat.pk}/change/", 1)[1].split("</tr>", 1)[0]
    assert '<td class="field-threshold_shown">90%</td>' in row
    assert 'name="form-0-points"' not in page
    assert 'name="form-0-threshold"' not in page
    form = client.get(reverse("admin:scoring_signaldefinition_change", args=[seat.pk])).content.decode()
    assert "0.90 = 90%" in form
