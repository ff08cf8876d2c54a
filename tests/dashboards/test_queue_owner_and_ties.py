"""The queue's Owner column, owner filter and sort (Managers, RevOps), and the order of EQLs tied at
score 100 (uncapped points, then estimate, then age)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards import inbox
from expansion.models import EQL, Role
from tests.dashboards.test_inbox_views import HX, QUEUE_QUERIES, login, make_eql, rows_in
from tests.dashboards.test_inbox_views import people as people  # the fixture
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TRIGGERS_140 = [
    {"signal": "seat_utilisation", "value": 0.94, "threshold": 0.9, "points": 40},
    {"signal": "api_rate_approach", "value": 0.88, "threshold": 0.85, "points": 35},
    {"signal": "gated_feature_views_14d", "value": 30, "threshold": 10, "points": 35},
    {"signal": "feature_adjacency", "value": 17, "threshold": 3, "points": 30},
]


def owner_cells(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<td class="c-owner"[^>]*>(.*?)</td>', html)
    ]


def test_manager_sees_owner_column_and_filters_by_report_or_unassigned(client, people):
    mine = make_eql(people["ae"], name="Acme", score=90)
    nobody = make_eql(None, name="Orphan", score=80)
    login(client, people["manager"])
    html = client.get(reverse("inbox")).content.decode()
    assert rows_in(html) == [mine.pk, nobody.pk]
    assert owner_cells(html) == ["Maya AE", "Unassigned"]
    # The filter offers the manager's reports and Unassigned, not other teams.
    options = re.findall(r'<select id="id_owner" name="owner">(.*?)</select>', html, re.S)[0]
    assert "Maya AE" in options
    assert "Sofia CSM" in options
    assert "Unassigned" in options
    assert "Jonas AE" not in options

    html = client.get(reverse("inbox"), {"owner": str(people["ae"].pk)}, **HX).content.decode()
    assert rows_in(html) == [mine.pk]
    html = client.get(reverse("inbox"), {"owner": inbox.UNASSIGNED}).content.decode()
    assert rows_in(html) == [nobody.pk]
    assert f'<option value="{inbox.UNASSIGNED}" selected>' in html


def test_an_owner_outside_the_team_is_ignored_not_an_error(client, people):
    mine = make_eql(people["ae"], score=90)
    make_eql(people["ae2"], score=95)  # another manager's team: never visible to this manager
    login(client, people["manager"])
    response = client.get(reverse("inbox"), {"owner": str(people["ae2"].pk)})
    assert response.status_code == 200
    assert rows_in(response.content.decode()) == [mine.pk]


def test_revops_filters_by_anyone_and_sorts_by_owner(client, people):
    a = make_eql(people["ae2"], score=60)  # Jonas
    b = make_eql(people["ae"], score=90)  # Maya
    c = make_eql(None, score=99)
    login(client, people["revops"])
    html = client.get(reverse("inbox"), {"sort": "owner"}).content.decode()
    assert rows_in(html) == [a.pk, b.pk, c.pk]  # by owner name, unassigned last
    assert owner_cells(html) == ["Jonas AE", "Maya AE", "Unassigned"]
    html = client.get(reverse("inbox"), {"owner": str(people["ae2"].pk)}).content.decode()
    assert rows_in(html) == [a.pk]
    # The default order is still the score.
    assert rows_in(client.get(reverse("inbox")).content.decode()) == [c.pk, b.pk, a.pk]


def test_ae_sees_no_owner_column_filter_or_owner_sort(client, people):
    make_eql(people["ae"])
    login(client, people["ae"])
    html = client.get(reverse("inbox"), {"owner": inbox.UNASSIGNED, "sort": "owner"}).content.decode()
    assert 'class="c-owner"' not in html
    assert 'id="id_owner"' not in html
    assert '<option value="owner"' not in html
    assert len(rows_in(html)) == 1  # the unknown owner filter is ignored


def test_sla_sort_puts_the_nearest_deadline_first(client, people):
    late = make_eql(people["ae"], score=99, sla_hours=30)
    soon = make_eql(people["ae"], score=50, sla_hours=2)
    login(client, people["ae"])
    assert rows_in(client.get(reverse("inbox"), {"sort": "sla"}).content.decode()) == [soon.pk, late.pk]


def test_the_row_after_an_action_keeps_its_owner_cell(client, people):
    eql = make_eql(people["ae"], score=90)
    login(client, people["manager"])
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "note", "note": "x"}, **HX)
    html = response.content.decode()
    assert f'id="eql-row-{eql.pk}"' in html
    assert owner_cells(html) == ["Maya AE"]


def test_owner_filter_adds_one_query_for_the_people_list(client, people, django_assert_num_queries):
    for i in range(4):
        make_eql(people["ae"] if i % 2 else None, score=60 + i)
    login(client, people["manager"])
    with django_assert_num_queries(QUEUE_QUERIES + 1):
        html = client.get(reverse("inbox"), {"sort": "owner"}).content.decode()
    assert len(owner_cells(html)) == 4
    login(client, people["ae"])
    with django_assert_num_queries(QUEUE_QUERIES):
        client.get(reverse("inbox"))


# ---------------------------------------------------------------------------------------- score ties


def test_ties_at_100_are_ordered_by_points_then_estimate_then_age(client, people):
    now = timezone.now()
    ae = people["ae"]
    young_rich = make_eql(
        ae, score=100, points_total=110, estimated_expansion_arr=Decimal("50000"), created_at=now
    )
    old_rich = make_eql(
        ae,
        score=100,
        points_total=110,
        estimated_expansion_arr=Decimal("50000"),
        created_at=now - dt.timedelta(days=3),
    )
    many_points = make_eql(
        ae, score=100, points_total=140, estimated_expansion_arr=Decimal("1000"), created_at=now
    )
    big_estimate = make_eql(
        ae, score=100, points_total=110, estimated_expansion_arr=Decimal("90000"), created_at=now
    )
    lower = make_eql(ae, score=95, points_total=95, estimated_expansion_arr=Decimal("999999"))
    login(client, ae)
    html = client.get(reverse("inbox")).content.decode()
    assert rows_in(html) == [many_points.pk, big_estimate.pk, old_rich.pk, young_rich.pk, lower.pk]
    assert "140 points" in html
    assert "110 points" in html
    assert "95 points" not in html  # nothing capped: nothing to explain


def test_the_scoring_pass_stores_the_uncapped_points():
    from scoring.services import Candidate, _refresh_values

    fields = dict.fromkeys(Candidate.__dataclass_fields__)
    fields.update(triggered=TRIGGERS_140, score=100)
    values = _refresh_values(Candidate(**fields))
    assert values["points_total"] == 140


def test_the_migration_backfills_points_from_triggered_signals():
    import importlib

    migration = importlib.import_module("expansion.migrations.0007_eql_points_total")
    assert migration._points(TRIGGERS_140) == 140
    assert migration._points([{"signal": "watch", "points": 0}, {"signal": "x"}, "junk"]) == 0
    assert migration._points(None) == 0


def test_the_backfill_sets_points_on_existing_eqls(people):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("expansion.migrations.0007_eql_points_total")
    capped = make_eql(people["ae"], score=100, triggered_signals=TRIGGERS_140)
    watch = make_eql(people["ae2"], score=0, triggered_signals=[{"signal": "export_volume", "points": 0}])
    EQL.objects.update(points_total=0)  # as the rows stood before the column existed
    migration.backfill(apps, None)
    assert EQL.objects.get(pk=capped.pk).points_total == 140
    assert EQL.objects.get(pk=watch.pk).points_total == 0


@pytest.mark.parametrize("role", [Role.MANAGER, Role.REVOPS])
def test_owner_choices_list_only_people_the_viewer_may_see(people, role):
    viewer = people["manager"] if role == Role.MANAGER else people["revops"]
    UserFactory(email="lone@example.com", name="Lone AE", role=Role.AE)
    names = [label for _value, label in inbox.owner_choices(viewer)]
    assert names[-1] == "Unassigned"
    assert ("Lone AE" in names) == (role == Role.REVOPS)
    assert "Maya AE" in names
