"""Per-stage SLAs of the lifecycle (seed 002's CSQL pipeline: first touch in 48 h, then 5, 10 and 15
business days) flagged where people work: the queue row and the manager's KPI page; and a joint EQL
sits in both its AE's and its CSM's queue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from expansion.models import EQLStatus, Role
from tests.dashboards.test_inbox_views import make_eql, rows_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    manager = UserFactory(email="lead@example.com", name="Lea Lead", role=Role.MANAGER)
    return {
        "manager": manager,
        "ae": UserFactory(email="ae@example.com", name="Maya AE", role=Role.AE, manager=manager),
        "csm": UserFactory(email="csm@example.com", name="Sofia CSM", role=Role.CSM, manager=manager),
    }


def business_days_ago(n: int) -> dt.datetime:
    """``n`` weekdays before now, same time of day."""
    at = timezone.now()
    while n:
        at -= dt.timedelta(days=1)
        if at.weekday() < 5:
            n -= 1
    return at


def test_a_stage_held_past_its_sla_is_flagged_on_the_queue_row(client, team):
    late = make_eql(
        team["ae"], status=EQLStatus.CONTACTED, stage_entered_at=business_days_ago(7), name="Late Ltd"
    )  # contacted: 5 business days
    fine = make_eql(
        team["ae"], status=EQLStatus.CONTACTED, stage_entered_at=business_days_ago(2), name="Fine Ltd"
    )
    client.force_login(team["ae"])
    html = client.get(reverse("inbox")).content.decode()
    assert set(rows_in(html)) >= {late.pk, fine.pk}
    late_row = html[html.index(f'id="eql-row-{late.pk}"') :].split("</tr>")[0]
    fine_row = html[html.index(f'id="eql-row-{fine.pk}"') :].split("</tr>")[0]
    assert 'data-testid="stage-breach"' in late_row
    assert "over stage SLA" in late_row
    assert 'data-testid="stage-breach"' not in fine_row


def test_first_touch_counts_48_clock_hours(client, team):
    new = make_eql(team["ae"], status=EQLStatus.NEW, stage_entered_at=timezone.now() - dt.timedelta(hours=50))
    young = make_eql(
        team["ae"], status=EQLStatus.NEW, stage_entered_at=timezone.now() - dt.timedelta(hours=40)
    )
    client.force_login(team["ae"])
    html = client.get(reverse("inbox")).content.decode()
    assert 'data-testid="stage-breach"' in html[html.index(f'id="eql-row-{new.pk}"') :].split("</tr>")[0]
    assert (
        'data-testid="stage-breach"' not in html[html.index(f'id="eql-row-{young.pk}"') :].split("</tr>")[0]
    )


def test_the_manager_sees_breaches_per_person_and_stage(client, team):
    make_eql(team["ae"], status=EQLStatus.CONTACTED, stage_entered_at=business_days_ago(7))
    make_eql(team["ae"], status=EQLStatus.PROPOSAL_SENT, stage_entered_at=business_days_ago(16))
    make_eql(team["ae"], status=EQLStatus.PROPOSAL_SENT, stage_entered_at=business_days_ago(3))
    client.force_login(team["manager"])
    html = client.get(reverse("reports-kpis")).content.decode()
    row = re.search(r'<tr data-member="ae@example.com">.*?</tr>', html, re.S)[0]
    assert re.search(r'data-kpi="stage_breaches">.*?>2<', row, re.S)
    assert re.search(r'data-kpi="team_stage_breaches"><strong>2</strong>', html)


def test_a_joint_eql_is_in_the_ae_and_the_csm_queue(client, team):
    joint = make_eql(team["ae"], team["csm"], route="joint", csm_involvement_required=True, name="Joint Co")
    for person in (team["ae"], team["csm"]):
        client.force_login(person)
        assert joint.pk in rows_in(client.get(reverse("inbox")).content.decode()), person.email
