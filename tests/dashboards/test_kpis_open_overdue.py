"""Team KPIs: open EQLs now, overdue now (the lifecycle's rule) and the week's median time to first
contact per rep, in the pure function and on /reports/kpis/."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.conversion import member_kpis
from expansion.models import Role
from tests.dashboards.test_conversion import History
from tests.factories import EQLFactory, UserFactory

NOW = dt.datetime(2026, 3, 26, 12, 0, tzinfo=dt.UTC)
WEEK = dt.date(2026, 3, 23)


def _live() -> pd.DataFrame:
    h = dt.timedelta(hours=1)
    rows = [
        # owner, route, status, first_contact_at, sla_deadline
        (1, "ae", "new", None, NOW - 2 * h),  # overdue
        (1, "ae", "new", None, NOW + 2 * h),  # open, running
        (1, "ae", "contacted", NOW - 30 * h, NOW - 20 * h),  # contacted: the SLA is met, never overdue
        (1, "ae", "call_booked", None, NOW - 5 * h),  # open, no contact recorded, deadline passed: overdue
        (1, "ae", "won", None, NOW - 50 * h),  # closed: not open, not overdue
        (1, "csm_review", "new", None, NOW - 3 * h),  # a review item is not an EQL
        (2, "ae", "new", None, None),  # no deadline: open, not overdue
        (2, "ae", "new", None, NOW - 1 * h),  # overdue
        (None, "ae", "new", None, NOW - 9 * h),  # unassigned: in nobody's row, not in the team's
    ]
    return pd.DataFrame(rows, columns=["owner_id", "route", "status", "first_contact_at", "sla_deadline"])


def _outcomes() -> pd.DataFrame:
    """Two of rep 1's EQLs assigned in the week, contacted after 4 h and 24 h; one of rep 2's, not yet."""
    h = History()
    h.eql(dt.date(2026, 3, 24), ("contacted", 0), owner=1, step_hours={0: 13})  # 4 h
    h.eql(dt.date(2026, 3, 25), ("contacted", 1), owner=1, step_hours={0: 9})  # 24 h
    h.eql(dt.date(2026, 3, 25), owner=2)
    return h.outcomes(dt.date(2026, 3, 26))


def test_open_and_overdue_now_per_rep_and_team():
    empty = pd.DataFrame()
    kpis = member_kpis(_outcomes(), empty, empty, [1, 2], WEEK, dt.date(2026, 3, 26), live=_live(), now=NOW)

    assert (kpis[1]["open_now"], kpis[1]["overdue_now"]) == (4, 2)
    assert (kpis[2]["open_now"], kpis[2]["overdue_now"]) == (2, 1)
    assert (kpis[None]["open_now"], kpis[None]["overdue_now"]) == (6, 3)
    assert kpis[1]["ttfc_median_hours"] == 14.0
    assert (kpis[1]["contacted"], kpis[1]["assigned"]) == (2, 2)
    assert kpis[2]["ttfc_median_hours"] is None


def test_overdue_moves_with_now_and_naive_instants_are_utc():
    empty = pd.DataFrame()
    earlier = member_kpis(
        _outcomes(),
        empty,
        empty,
        [1],
        WEEK,
        dt.date(2026, 3, 26),
        live=_live(),
        now=NOW - dt.timedelta(hours=3),
    )
    naive = member_kpis(
        _outcomes(), empty, empty, [1], WEEK, dt.date(2026, 3, 26), live=_live(), now=NOW.replace(tzinfo=None)
    )
    assert earlier[1]["overdue_now"] == 1  # 3 h earlier only the call_booked one had passed its deadline
    assert naive[1]["overdue_now"] == 2


def test_without_live_records_the_now_figures_are_unknown():
    empty = pd.DataFrame()
    kpis = member_kpis(_outcomes(), empty, empty, [1], WEEK, dt.date(2026, 3, 26))
    assert kpis[1]["open_now"] is None
    assert kpis[1]["overdue_now"] is None
    with pytest.raises(ValueError, match="now"):
        member_kpis(_outcomes(), empty, empty, [1], WEEK, dt.date(2026, 3, 26), live=_live())


# ------------------------------------------------------------------------------------------------ view


@pytest.mark.django_db
@pytest.mark.parametrize("past_week", [False, True])
def test_kpi_page_shows_open_and_overdue_now_per_rep(client, past_week):
    manager = UserFactory(email="olivia@example.com", name="Olivia Manager", role=Role.MANAGER)
    maya = UserFactory(email="maya@example.com", name="Maya AE", role=Role.AE, manager=manager)
    sofia = UserFactory(email="sofia@example.com", name="Sofia CSM", role=Role.CSM, manager=manager)
    now = timezone.now()
    hours = dt.timedelta(hours=1)
    EQLFactory(owner=maya, assigned_at=now - 30 * hours, sla_deadline=now - 6 * hours)  # overdue
    EQLFactory(owner=maya, assigned_at=now - 2 * hours, sla_deadline=now + 22 * hours)
    EQLFactory(
        owner=maya,
        status="contacted",
        assigned_at=now - 40 * hours,
        first_contact_at=now - 39 * hours,
        sla_deadline=now - 16 * hours,
    )
    EQLFactory(owner=sofia, status="lost", sla_deadline=now - 50 * hours, closed_at=now)
    client.force_login(manager)
    params = {}
    if past_week:
        last = timezone.localdate() - dt.timedelta(weeks=1)
        params["week"] = f"{last.isocalendar()[0]}-W{last.isocalendar()[1]:02d}"

    response = client.get(reverse("reports-kpis"), params)

    rows = {r["name"]: r for r in response.context["rows"]}
    assert (rows["Maya AE"]["open_now"], rows["Maya AE"]["overdue_now"]) == (3, 1)
    assert (rows["Sofia CSM"]["open_now"], rows["Sofia CSM"]["overdue_now"]) == (0, 0)
    assert (response.context["team_open_now"], response.context["team_overdue_now"]) == (3, 1)
    html = response.content.decode()
    assert f'href="{reverse("inbox")}?owner={maya.pk}&amp;overdue=on"' in html
    assert "Overdue now" in html
