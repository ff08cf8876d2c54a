"""Signal admin validation (scoring.admin.SignalForm): a template that would bloat every EQL is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from expansion.models import Role
from scoring.models import SignalDefinition
from tests.dashboards.test_backtest_views import admin_form, posted_condition
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def revops_client(client):
    client.force_login(UserFactory(role=Role.REVOPS, is_staff=True))
    return client


def save(client, signal: SignalDefinition, **changes):
    url = reverse("admin:scoring_signaldefinition_change", args=[signal.pk])
    return client.post(url, admin_form(signal, **changes))


@pytest.mark.parametrize(
    ("opening_angle", "message"),
    [
        (
            "{account_name:>300000000} is growing",
            "{account_name:&gt;300000000}: a placeholder&#x27;s width or precision may be at most 40",
        ),
        ("{estimate:.99f}", "{estimate:.99f}: a placeholder&#x27;s width or precision may be at most 40"),
        ("x" * 2001, "The opening angle is 2,001 characters long; keep it to 2,000"),
    ],
)
def test_an_opening_angle_that_would_bloat_every_eql_is_refused(revops_client, opening_angle, message):
    # given
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    before = signal.opening_angle

    # when
    response = save(revops_client, signal, opening_angle=opening_angle)

    # then: the form comes back with the reason, and nothing was saved
    assert response.status_code == 200
    assert message in response.content.decode()
    signal.refresh_from_db()
    assert signal.opening_angle == before


def test_a_formatted_opening_angle_within_the_cap_saves(revops_client):
    signal = SignalDefinition.objects.get(key="seat_utilisation")

    response = save(revops_client, signal, opening_angle="{account_name} could add {estimate:>12,.0f}")

    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.opening_angle == "{account_name} could add {estimate:>12,.0f}"


def test_the_account_page_says_why_it_has_no_eql_now(revops_client):
    # given: an account too young for the tenure gate
    from django.utils import timezone

    from tests.factories import AccountFactory

    account = AccountFactory(customer_since=timezone.localdate())

    # when
    page = revops_client.get(reverse("admin:expansion_account_change", args=[account.pk])).content.decode()

    # then: the scoring engine's explanation is on the page
    assert "Why (no) EQL now" in page
    assert "<div>Blocked by gate: Tenure at least 120 days.</div>" in page


# --------------------------------------------------------------------------------------------------
# Conditions edited inline, and the trigger read in plain words
# --------------------------------------------------------------------------------------------------


def test_a_condition_added_inline_is_saved_and_read_in_plain_words(revops_client):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    data = admin_form(signal, cooldown_days="30", deliver_hour="10")
    data.update(
        posted_condition(kind="field", subject="plan_tier", operator="in", value="Starter;Professional")
    )
    response = revops_client.post(reverse("admin:scoring_signaldefinition_change", args=[signal.pk]), data)
    assert response.status_code == 302
    condition = signal.conditions.get()
    assert (condition.subject, condition.operator, condition.value) == (
        "plan_tier",
        "in",
        "Starter;Professional",
    )

    page = revops_client.get(
        reverse("admin:scoring_signaldefinition_change", args=[signal.pk])
    ).content.decode()
    assert "tier is Starter or Professional" in page
    assert (
        "delivered the next business day at 10:00 in the account&#x27;s time zone; cooldown 30 days" in page
    )


def test_a_bad_condition_is_explained_and_nothing_is_saved(revops_client):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    before = signal.threshold
    data = admin_form(signal, threshold="0.5")
    data.update(
        posted_condition(kind="field", subject="renewal", operator="in", value="Starter;Professional")
    )
    response = revops_client.post(reverse("admin:scoring_signaldefinition_change", args=[signal.pk]), data)
    assert response.status_code == 200
    assert "use an account field" in response.content.decode()
    signal.refresh_from_db()
    assert signal.threshold == before
    assert not signal.conditions.exists()


def test_a_delivery_hour_past_23_is_refused(revops_client):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    response = save(revops_client, signal, deliver_hour="24")
    assert response.status_code == 200
    assert "Use a local hour of the day from 0 to 23" in response.content.decode()
