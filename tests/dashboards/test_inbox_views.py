"""The browser inbox (dashboards.views): queue, EQL page, actions, notifications, access, query counts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.templatetags.inbox import signal_sentence_of, sla_state_of
from expansion.models import EQL, Activity, Role
from routing.models import Notification
from scoring.models import SignalDefinition
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    EQLFactory,
    MetricFactory,
    UsageSnapshotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
SEAT_TRIGGER = {"signal": "seat_utilisation", "value": 0.94, "threshold": 0.9, "points": 40}
API_TRIGGER = {"signal": "api_rate_approach", "value": 0.88, "threshold": 0.85, "points": 35}


@pytest.fixture
def people():
    manager = UserFactory(email="manager@example.com", name="Olivia Manager", role=Role.MANAGER)
    other_manager = UserFactory(email="manager2@example.com", name="Oscar Manager", role=Role.MANAGER)
    return {
        "manager": manager,
        "other_manager": other_manager,
        "ae": UserFactory(email="ae@example.com", name="Maya AE", role=Role.AE, manager=manager),
        "ae2": UserFactory(email="ae2@example.com", name="Jonas AE", role=Role.AE, manager=other_manager),
        "csm": UserFactory(email="csm@example.com", name="Sofia CSM", role=Role.CSM, manager=manager),
        "csm2": UserFactory(email="csm2@example.com", name="Marcus CSM", role=Role.CSM),
        "revops": UserFactory(email="revops@example.com", name="Daniel RevOps", role=Role.REVOPS),
        "finance": UserFactory(email="finance@example.com", name="Rachel Finance", role=Role.FINANCE),
    }


def make_eql(owner=None, csm=None, *, name=None, score=70, sla_hours=24, **fields):
    account = AccountFactory(
        ae=owner if owner and owner.role == Role.AE else None, csm=csm, **({"name": name} if name else {})
    )
    defaults = {
        "owner": owner,
        "csm": csm,
        "score": score,
        "primary_signal": "seat_utilisation",
        "priority": "high",
        "triggered_signals": [SEAT_TRIGGER],
        "opening_angle": f"{account.name} has had 47 of 50 seats in use (94%) every day for the past week.",
        "estimate_source": "default",
        "discovery_questions": ["Who on the team is waiting for a seat?"],
        "sla_deadline": timezone.now() + dt.timedelta(hours=sla_hours),
    }
    defaults.update(fields)
    return EQLFactory(account=account, **defaults)


def rows_in(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="eql-row-(\d+)"', html)]


def login(client, user):
    client.force_login(user)
    return client


# --------------------------------------------------------------------------------------------------
# Access: who sees what
# --------------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_htmx_request_redirects_the_whole_page(client):
    response = client.get(reverse("inbox"), **HX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_each_role_sees_its_queue(client, people):
    mine = make_eql(people["ae"], people["csm"])
    other_ae = make_eql(people["ae2"], people["csm2"])
    on_csm_book = make_eql(people["ae2"], people["csm"])
    unassigned = make_eql(None, None, unassigned=True)
    closed = make_eql(people["ae"], people["csm"], status="won", closed_at=timezone.now())
    expected = {
        "ae": {mine.pk},
        "ae2": {other_ae.pk, on_csm_book.pk},
        "csm": {mine.pk, on_csm_book.pk},
        "manager": {mine.pk, unassigned.pk},
        "other_manager": {other_ae.pk, on_csm_book.pk, unassigned.pk},
        "revops": {mine.pk, other_ae.pk, on_csm_book.pk, unassigned.pk},
        "finance": {mine.pk, other_ae.pk, on_csm_book.pk, unassigned.pk},
    }
    for role, pks in expected.items():
        login(client, people[role])
        html = client.get(reverse("inbox")).content.decode()
        assert set(rows_in(html)) == pks, role
        assert closed.pk not in rows_in(html)


def test_ae_cannot_open_or_act_on_another_aes_eql(client, people):
    theirs = make_eql(people["ae2"], people["csm2"])
    login(client, people["ae"])
    assert client.get(reverse("eql", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("eql_event", args=[theirs.pk]), {"type": "contacted"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "new"
    assert not Activity.objects.filter(eql=theirs).exists()


def test_missing_eql_is_404(client, people):
    login(client, people["revops"])
    assert client.get(reverse("eql", args=[999999])).status_code == 404


def test_finance_sees_everything_but_cannot_post(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["finance"])
    page = client.get(reverse("eql", args=[eql.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="type"' not in html  # no action forms at all
    assert "Read-only" in html
    for data in (
        {"type": "contacted"},
        {"type": "declined", "reason": "not_ready"},
        {"type": "note", "note": "x"},
    ):
        response = client.post(reverse("eql_event", args=[eql.pk]), data, **HX)
        assert response.status_code == 403
        assert 'role="alert"' in response.content.decode()
    assert client.post(reverse("eql_event", args=[eql.pk]), {"type": "contacted"}).status_code == 403
    eql.refresh_from_db()
    assert eql.status == "new"
    assert not Activity.objects.filter(eql=eql).exists()


def test_admin_link_only_for_revops_and_staff(client, people):
    make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    assert "/admin/" not in client.get(reverse("inbox")).content.decode()
    login(client, people["revops"])
    assert "/admin/" in client.get(reverse("inbox")).content.decode()


def test_every_form_carries_a_csrf_token(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    for url in (reverse("inbox"), reverse("eql", args=[eql.pk])):
        html = client.get(url).content.decode()
        posts = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S)
        assert posts
        assert all("csrfmiddlewaretoken" in form for form in posts)
        assert "X-CSRFToken" in html  # htmx requests send it from hx-headers


def test_htmx_post_without_csrf_token_is_refused(people):
    from django.test import Client

    eql = make_eql(people["ae"], people["csm"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["ae"])
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "contacted"}, **HX)
    assert response.status_code == 403
    eql.refresh_from_db()
    assert eql.status == "new"


# --------------------------------------------------------------------------------------------------
# Queue: columns, order, filters, search, pagination, htmx partial
# --------------------------------------------------------------------------------------------------


def test_queue_shows_the_columns_and_sorts_by_score_then_age_or_by_sla(client, people):
    ae, csm = people["ae"], people["csm"]
    low = make_eql(ae, csm, name="Low Score Ltd", score=61)
    late = make_eql(ae, csm, name="Later Deadline Ltd", score=90, sla_hours=30)
    soon = make_eql(ae, csm, name="Sooner Deadline Ltd", score=90, sla_hours=2)
    overdue = make_eql(
        ae,
        csm,
        name="Overdue Ltd",
        score=75,
        sla_hours=-5,
        route="ae",
        csm_involvement_required=True,
        review_state="pending",
        review_window_ends_at=timezone.now() + dt.timedelta(hours=3),
        estimated_expansion_arr=Decimal("12345"),
        contract_arr=Decimal("61725"),
    )
    login(client, ae)
    # Same score, points and estimate: the older EQL first (#15); "SLA deadline" sorts by deadline.
    assert rows_in(client.get(reverse("inbox"), {"sort": "sla"}).content.decode()) == [
        overdue.pk,
        soon.pk,
        low.pk,
        late.pk,
    ]
    html = client.get(reverse("inbox")).content.decode()
    assert rows_in(html) == [late.pk, soon.pk, overdue.pk, low.pk]
    row = html[html.index(f'id="eql-row-{overdue.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Overdue Ltd" in row
    assert "AE-led" in row
    assert "with CSM" in row
    assert "Seat utilisation" in row  # human name, not the key
    assert "12,345" in row
    assert "61,725" in row
    assert "Overdue by 5 h" in row  # words, not only colour
    assert "sla-overdue" in row
    assert "CSM look-first window" in row  # the medium AE window, not a CSM review item


def test_queue_filters_and_search(client, people):
    ae, csm = people["ae"], people["csm"]
    seat = make_eql(ae, csm, name="Northwind Logistics")
    api = make_eql(
        ae,
        csm,
        name="Bluefin Health",
        primary_signal="api_rate_approach",
        triggered_signals=[API_TRIGGER],
        route="csm",
        priority="medium",
    )
    late = make_eql(ae, csm, name="Cobalt Labs", sla_hours=-1)
    won = make_eql(ae, csm, name="Summit Capital", status="won", closed_at=timezone.now())
    login(client, ae)

    def pks(**params):
        return set(rows_in(client.get(reverse("inbox"), params).content.decode()))

    assert pks() == {seat.pk, api.pk, late.pk}
    assert pks(route="csm") == {api.pk}
    assert pks(priority="medium") == {api.pk}
    assert pks(signal="api_rate_approach") == {api.pk}
    assert pks(overdue="on") == {late.pk}
    assert pks(q="northwind") == {seat.pk}
    assert pks(q=seat.account.account_id) == {seat.pk}
    assert pks(status="closed") == {won.pk}
    assert pks(status="all") == {seat.pk, api.pk, late.pk, won.pk}
    assert pks(route="not-a-route") == {seat.pk, api.pk, late.pk}  # invalid filter is ignored


def test_queue_htmx_request_gets_the_partial_with_filters_kept(client, people):
    make_eql(people["ae"], people["csm"], name="Northwind Logistics")
    login(client, people["ae"])
    full = client.get(reverse("inbox"))
    assert b"<html" in full.content
    assert b'id="queue"' in full.content
    assert b"hx-push-url" in full.content
    partial = client.get(reverse("inbox"), {"q": "north"}, **HX)
    body = partial.content.decode()
    assert "<html" not in body
    assert '<form class="filters' not in body
    assert body.lstrip().startswith('<p id="queue-status" hx-swap-oob="innerHTML">1 EQL match')
    assert '<section id="queue"' in body
    assert "Northwind Logistics" in body
    assert "HX-Request" in partial["Vary"]
    restore = client.get(reverse("inbox"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert b"<html" in restore.content


def test_queue_is_paginated_by_25_and_links_keep_the_filters(client, people):
    ae, csm = people["ae"], people["csm"]
    eqls = [make_eql(ae, csm, score=100 - i) for i in range(30)]
    login(client, ae)
    first = client.get(reverse("inbox"), {"route": "ae"}).content.decode()
    assert rows_in(first) == [e.pk for e in eqls[:25]]
    assert "Showing 1\u201325 of 30 EQLs" in first
    assert "?route=ae&amp;page=2" in first
    second = client.get(reverse("inbox"), {"route": "ae", "page": 2}, **HX).content.decode()
    assert rows_in(second) == [e.pk for e in eqls[25:]]
    assert "Page 2 of 2" in second
    beyond = client.get(reverse("inbox"), {"page": 99}).content.decode()
    assert rows_in(beyond) == [e.pk for e in eqls[25:]]
    assert "Page 2 of 2" in beyond
    searched = client.get(reverse("inbox"), {"q": "customer", "page": 2}).content.decode()
    assert rows_in(searched) == [e.pk for e in eqls[25:]]
    assert "Showing 26\u201330 of 30 EQLs" in searched
    assert rows_in(client.get(reverse("inbox"), {"q": "customer", "page": 7}).content.decode()) == [
        e.pk for e in eqls[25:]
    ]
    garbage = client.get(reverse("inbox"), {"page": "abc"}).content.decode()
    assert rows_in(garbage) == [e.pk for e in eqls[:25]]
    empty = client.get(reverse("inbox"), {"q": "no such account"}).content.decode()
    assert rows_in(empty) == []
    assert "No EQL matches these filters." in empty


def test_queue_offers_one_click_outreach_only_to_people_who_may_act(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    html = client.get(reverse("inbox")).content.decode()
    assert 'name="type" value="contacted"' in html
    assert 'name="type" value="call_booked"' in html
    login(client, people["finance"])
    html = client.get(reverse("inbox")).content.decode()
    assert f'id="eql-row-{eql.pk}"' in html
    assert 'name="type" value="contacted"' not in html


# --------------------------------------------------------------------------------------------------
# EQL page
# --------------------------------------------------------------------------------------------------


def test_eql_page_answers_why_now_worth_and_what_to_say(client, people):
    ae, csm = people["ae"], people["csm"]
    eql = make_eql(
        ae,
        csm,
        name="Northwind Logistics",
        triggered_signals=[
            SEAT_TRIGGER,
            {"signal": "team_spread", "value": 2.0, "threshold": 0.0, "points": 20},
        ],
        contract_arr=Decimal("48000"),
        estimated_expansion_arr=Decimal("9600"),
        estimate_source="calibrated",
        evaluation={"estimate": {"uplift": 0.2, "source": "calibrated"}},
        hold_note="Renewal escalation open; talk to me first.",
        review_state="released",
    )
    previous = EQLFactory(
        account=eql.account,
        status="declined",
        close_reason="bad_timing",
        owner=ae,
        created_at=timezone.now() - dt.timedelta(days=120),
        closed_at=timezone.now() - dt.timedelta(days=100),
    )
    seats = MetricFactory(name="seats_active")
    today = timezone.localdate()
    for i in range(10):
        UsageSnapshotFactory(
            account=eql.account, metric=seats, date=today - dt.timedelta(days=i), value=40 + i
        )
    ActivityFactory(
        account=eql.account,
        actor=csm,
        type="qbr",
        commercial=False,
        note="QBR went well",
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    login(client, ae)
    html = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert "Why now" in html
    assert "Seat utilisation 94% ≥ 90% for 7 days" in html
    assert "Team spread +2 vs 30 days ago" in html
    assert '<svg id="spark"' in html
    assert "plotly" not in html  # the sparkline is inline SVG: the page loads no chart library
    assert "cdn" not in html.lower()
    assert "$48,000" in html
    assert "$9,600" in html
    assert "calibrated" in html
    assert "20%" in html
    assert eql.opening_angle in html
    definition = SignalDefinition.objects.get(key="seat_utilisation")
    assert definition.hypothesis in html
    assert "Who on the team is waiting for a seat?" in html
    assert "Renewal escalation open; talk to me first." in html
    assert "QBR went well" in html
    assert "Sofia CSM" in html
    assert f'href="/eqls/{previous.pk}/"' in html
    assert "Bad timing" in html
    assert "SLA deadline" in html


def test_eql_page_htmx_gets_the_panel(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    body = client.get(reverse("eql", args=[eql.pk]), **HX).content.decode()
    assert body.lstrip().startswith('<section id="eql-panel"')
    assert "<html" not in body


def test_eql_page_shows_only_allowed_actions(client, people):
    ae, csm = people["ae"], people["csm"]
    held = make_eql(ae, csm, review_state="held", hold_note="Wait for the renewal.", priority="medium")
    login(client, ae)
    html = client.get(reverse("eql", args=[held.pk])).content.decode()
    assert 'name="type" value="call_booked"' not in html  # held: outreach waits for the CSM
    assert 'name="type" value="declined"' in html
    assert 'name="type" value="note"' in html
    assert 'name="type" value="csm_release"' not in html
    login(client, csm)
    html = client.get(reverse("eql", args=[held.pk])).content.decode()
    assert 'name="type" value="csm_release"' in html
    assert 'name="type" value="won"' not in html  # won needs a conversation first


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------


def test_call_booked_with_htmx_returns_panel_row_and_timeline(client, people):
    eql = make_eql(people["ae"], people["csm"], name="Northwind Logistics")
    login(client, people["ae"])
    response = client.post(
        reverse("eql_event", args=[eql.pk]), {"type": "call_booked"}, HTTP_HX_TARGET="eql-panel", **HX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="eql-panel"')
    # The EQL page has no queue row: none is swapped (htmx would report oobErrorNoTarget).
    assert f'id="eql-row-{eql.pk}"' not in body
    assert re.search(r'<section id="eql-activity"[^>]*hx-swap-oob="true"', body)
    assert "Call booked" in body
    eql.refresh_from_db()
    assert eql.status == "call_booked"
    assert eql.first_contact_at is not None
    event = Activity.objects.get(eql=eql)
    assert (event.event, event.actor, event.commercial) == ("call_booked", people["ae"], True)
    # From a queue row (no target: hx-swap="none"): the row and the status line, no timeline.
    other = make_eql(people["ae"], people["csm"])
    body = client.post(reverse("eql_event", args=[other.pk]), {"type": "contacted"}, **HX).content.decode()
    assert re.search(rf'<template>\s*<tr id="eql-row-{other.pk}"[^>]*hx-swap-oob="true"', body)
    assert 'id="eql-activity"' not in body
    assert re.search(r'<div id="flash" hx-swap-oob="innerHTML"><p class="toast success">Contact logged', body)


def test_action_without_js_redirects_back(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "contacted", "next": "/?route=ae"})
    assert response.status_code == 302
    assert response["Location"] == "/?route=ae"
    response = client.post(
        reverse("eql_event", args=[eql.pk]), {"type": "call_booked", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("eql", args=[eql.pk])
    eql.refresh_from_db()
    assert eql.status == "call_booked"


def test_invalid_transition_shows_the_reason_and_changes_nothing(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    before = EQL.objects.filter(pk=eql.pk).values().get()
    response = client.post(
        reverse("eql_event", args=[eql.pk]), {"type": "won", "expansion_arr": "5000"}, **HX
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'role="alert"' in body
    assert "Cannot mark won when the EQL is new (allowed from: call booked, proposal sent)." in body
    assert "hx-swap-oob" not in body.split('id="flash"')[0].split("</section>", 1)[1]  # no row/timeline swap
    assert EQL.objects.filter(pk=eql.pk).values().get() == before
    assert not Activity.objects.filter(eql=eql).exists()
    # Without JS the full page comes back with the same message.
    page = client.post(reverse("eql_event", args=[eql.pk]), {"type": "declined"})
    assert page.status_code == 422
    assert b"<html" in page.content
    assert b"declined needs a reason code" in page.content.lower()


def test_unknown_event_type_is_a_form_error(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "teleport"}, **HX)
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()


def test_decline_with_reason_closes_and_logs(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    response = client.post(
        reverse("eql_event", args=[eql.pk]),
        {"type": "declined", "reason": "bad_timing", "note": "Budget freeze until Q3"},
        **HX,
    )
    assert response.status_code == 200
    eql.refresh_from_db()
    assert (eql.status, eql.close_reason) == ("declined", "bad_timing")
    assert Activity.objects.get(eql=eql).note == "Budget freeze until Q3"


def test_won_needs_a_positive_amount_and_records_it(client, people):
    eql = make_eql(people["ae"], people["csm"], status="call_booked")
    login(client, people["ae"])
    bad = client.post(reverse("eql_event", args=[eql.pk]), {"type": "won", "expansion_arr": ""}, **HX)
    assert bad.status_code == 422
    ok = client.post(reverse("eql_event", args=[eql.pk]), {"type": "won", "expansion_arr": "12000"}, **HX)
    assert ok.status_code == 200
    eql.refresh_from_db()
    assert (eql.status, eql.won_arr) == ("won", Decimal("12000.00"))


def test_csm_holds_with_a_note_and_the_ae_reads_it(client, people):
    ae, csm = people["ae"], people["csm"]
    eql = make_eql(
        ae,
        csm,
        priority="medium",
        review_state="pending",
        review_window_ends_at=timezone.now() + dt.timedelta(hours=20),
    )
    login(client, csm)
    missing = client.post(reverse("eql_event", args=[eql.pk]), {"type": "csm_hold", "note": " "}, **HX)
    assert missing.status_code == 422
    assert b"context note" in missing.content
    response = client.post(
        reverse("eql_event", args=[eql.pk]), {"type": "csm_hold", "note": "Open support escalation."}, **HX
    )
    assert response.status_code == 200
    eql.refresh_from_db()
    assert (eql.review_state, eql.hold_note) == ("held", "Open support escalation.")
    assert Notification.objects.filter(recipient=ae, eql=eql, kind="hold").exists()
    login(client, ae)
    html = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert "On hold by the CSM" in html
    assert "Open support escalation." in html


def test_csm_releases_early(client, people):
    eql = make_eql(
        people["ae"],
        people["csm"],
        priority="medium",
        review_state="pending",
        review_window_ends_at=timezone.now() + dt.timedelta(hours=20),
    )
    login(client, people["csm"])
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "csm_release"}, **HX)
    assert response.status_code == 200
    eql.refresh_from_db()
    assert eql.review_state == "released"


# --------------------------------------------------------------------------------------------------
# The SLA and first contact (#15)
# --------------------------------------------------------------------------------------------------


def _sla_of_row(html: str, pk: int) -> str:
    row = html[html.index(f'id="eql-row-{pk}"') :]
    row = row[: row.index("</tr>")]
    return row[row.index('class="c-sla"') : row.index('class="c-review"')]


def test_logging_contact_meets_the_sla_on_the_page_and_in_the_queue(client, people):
    ae = people["ae"]
    eql = make_eql(ae, people["csm"], sla_hours=20, assigned_at=timezone.now() - dt.timedelta(hours=4))
    login(client, ae)

    panel = client.post(
        reverse("eql_event", args=[eql.pk]), {"type": "contacted"}, HTTP_HX_TARGET="eql-panel", **HX
    ).content.decode()
    eql.refresh_from_db()
    met_at = timezone.localtime(eql.first_contact_at)
    assert f"SLA met at {met_at.day} {met_at:%b %Y, %H:%M}" in panel
    assert re.search(r"first contact after 4 h 0[01] m", panel)  # rounded up to the minute
    assert "left" not in panel.split('class="sla', 1)[1].split("</span>", 1)[0]
    row = _sla_of_row(client.get(reverse("inbox")).content.decode(), eql.pk)
    assert "SLA met at" in row
    assert re.search(r"first contact after 4 h 0[01] m", row)

    # later on, the deadline has passed since that contact: still met, never overdue, not in the filter
    now = timezone.now()
    EQL.objects.filter(pk=eql.pk).update(
        first_contact_at=now - dt.timedelta(hours=3), sla_deadline=now - dt.timedelta(hours=1)
    )
    page = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert "SLA met at" in page
    assert "Overdue" not in page
    assert "sla-overdue" not in page
    assert eql.pk not in rows_in(client.get(reverse("inbox"), {"overdue": "on"}).content.decode())


def test_a_late_first_contact_reads_missed_and_is_not_overdue(client, people):
    ae = people["ae"]
    eql = make_eql(ae, people["csm"], sla_hours=-3, assigned_at=timezone.now() - dt.timedelta(hours=27))
    uncontacted = make_eql(ae, people["csm"], sla_hours=-3)
    login(client, ae)
    assert rows_in(client.get(reverse("inbox"), {"overdue": "on"}).content.decode()) in (
        [eql.pk, uncontacted.pk],
        [uncontacted.pk, eql.pk],
    )

    client.post(reverse("eql_event", args=[eql.pk]), {"type": "proposal_sent"}, **HX)

    eql.refresh_from_db()
    assert eql.sla_breached is True
    page = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert re.search(r"SLA missed by 3 h 0[01] m", page)
    assert "Overdue" not in page
    html = client.get(reverse("inbox")).content.decode()
    assert re.search(r"SLA missed by 3 h 0[01] m", _sla_of_row(html, eql.pk))
    assert re.search(r"Overdue by 3 h 0[01] m", _sla_of_row(html, uncontacted.pk))
    assert rows_in(client.get(reverse("inbox"), {"overdue": "on"}).content.decode()) == [uncontacted.pk]


@pytest.mark.parametrize(
    ("deadline_h", "contact_h", "status", "text"),
    [
        (5.5, None, "new", "5 h 30 m left"),
        (-2, None, "call_booked", "Overdue by 2 h 00 m"),
        (-2, -30, "contacted", "SLA met at"),
        (-2, -1, "won", "SLA met at"),  # contact before the deadline, whatever happened since
        (-5, 3, "proposal_sent", "SLA missed by 3 h 00 m"),
        (-5, None, "declined", "Closed"),
    ],
)
def test_sla_words_follow_the_first_contact(deadline_h, contact_h, status, text):
    now = timezone.now()
    deadline = now + dt.timedelta(hours=deadline_h)
    contact = None if contact_h is None else deadline + dt.timedelta(hours=contact_h)
    state = sla_state_of(deadline, status, now, first_contact_at=contact)
    assert state.text.startswith(text)
    assert state.overdue is text.startswith("Overdue")
    assert state.headline == (state.text if contact else f"SLA: {state.text}")


# --------------------------------------------------------------------------------------------------
# Only the owner logs sales steps (#15)
# --------------------------------------------------------------------------------------------------

SALES_BUTTONS = ("contacted", "call_booked", "proposal_sent", "won", "lost", "declined")


def _offered(html: str) -> set[str]:
    return set(re.findall(r'name="type" value="(\w+)"', html))


def test_the_csm_gets_no_sales_buttons_on_an_ae_owned_eql(client, people):
    ae, csm = people["ae"], people["csm"]
    eql = make_eql(ae, csm, name="Northwind Logistics", priority="medium", review_state="pending")
    called = make_eql(ae, csm, status="call_booked")
    login(client, csm)

    page = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert _offered(page) == {"csm_hold", "csm_release", "note"}
    assert "Maya AE owns this EQL and logs the sales steps" in page
    assert _offered(client.get(reverse("eql", args=[called.pk])).content.decode()) == {"note"}
    queue = client.get(reverse("inbox")).content.decode()
    assert {eql.pk, called.pk} <= set(rows_in(queue))
    assert not _offered(queue) & set(SALES_BUTTONS)
    # the owning AE still has them
    login(client, ae)
    assert {"contacted", "call_booked", "declined"} <= _offered(
        client.get(reverse("eql", args=[eql.pk])).content.decode()
    )


def test_a_sales_step_posted_by_the_csm_is_refused_and_changes_nothing(client, people):
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["csm"])
    before = EQL.objects.filter(pk=eql.pk).values().get()

    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "contacted"}, **HX)

    assert response.status_code == 422
    assert "Only the EQL&#x27;s owner logs sales steps" in response.content.decode()
    assert EQL.objects.filter(pk=eql.pk).values().get() == before
    assert not Activity.objects.filter(eql=eql).exists()
    # a note is still the CSM's to add
    assert (
        client.post(
            reverse("eql_event", args=[eql.pk]), {"type": "note", "note": "Renewal"}, **HX
        ).status_code
        == 200
    )
    assert Activity.objects.get(eql=eql).event == "note"


def test_on_a_csm_owned_route_the_csm_logs_the_sales_steps(client, people):
    csm = people["csm"]
    eql = make_eql(csm, csm, route="csm")
    login(client, csm)
    page = client.get(reverse("eql", args=[eql.pk])).content.decode()
    assert {"contacted", "call_booked", "proposal_sent", "declined", "note"} <= _offered(page)
    assert "owns this EQL and logs the sales steps" not in page
    response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "contacted"}, **HX)
    assert response.status_code == 200
    eql.refresh_from_db()
    assert eql.status == "contacted"


# --------------------------------------------------------------------------------------------------
# Notifications
# --------------------------------------------------------------------------------------------------


def test_notifications_fragment_and_mark_read(client, people):
    ae = people["ae"]
    eql = make_eql(ae, people["csm"])
    for i in range(12):
        Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject=f"New EQL {i}", body="b")
    Notification.objects.create(recipient=people["ae2"], kind="new_eql", subject="Not mine", body="b")
    login(client, ae)
    page = client.get(reverse("inbox")).content.decode()
    assert '<span class="badge-count">12</span>' in page
    fragment = client.get(reverse("notifications"), **HX).content.decode()
    assert "<html" not in fragment
    assert 'id="notif-count" hx-swap-oob="innerHTML"' in fragment
    assert fragment.count('class="notif-item unread"') == 10
    assert "Not mine" not in fragment
    assert 'hx-trigger="every 30s"' in page
    response = client.post(reverse("notifications_read"), **HX)
    assert response.status_code == 200
    assert "badge-count" not in response.content.decode()
    assert not Notification.objects.filter(recipient=ae, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=people["ae2"], read_at__isnull=True).exists()
    assert client.get(reverse("notifications")).status_code == 200


# --------------------------------------------------------------------------------------------------
# Query counts: constant whatever the data size
# --------------------------------------------------------------------------------------------------

#: session, user, signal definitions, count, page ids, page rows (+account, owner, CSM), the stage SLAs
#: (each row's breach badge), unread count, latest notifications. A search counts and pages in one query
#: (COUNT(*) OVER ()): one fewer.
QUEUE_QUERIES = 9
QUEUE_SEARCH_QUERIES = 8
#: session, user, EQL (+account, owner, CSM, last CSM activity), signal definitions, reason codes,
#: activities (+actor), snapshots, past EQLs, CRM connections, unread count, latest notifications.
EQL_PAGE_QUERIES = 11
#: With a CRM connection enabled, the CRM panel reads the EQL's CRM records and open rejects too.
EQL_PAGE_CRM_QUERIES = 2


def _grow(people, n: int) -> EQL:
    """``n`` open EQLs for the AE, each with activities, snapshots, a past EQL and notifications."""
    ae, csm = people["ae"], people["csm"]
    seats = MetricFactory(name="seats_active")
    today = timezone.localdate()
    first = None
    for i in range(n):
        eql = make_eql(ae, csm, score=60 + i % 40)
        first = first or eql
        EQLFactory(
            account=eql.account,
            owner=ae,
            status="lost",
            close_reason="price",
            created_at=timezone.now() - dt.timedelta(days=200),
            closed_at=timezone.now() - dt.timedelta(days=150),
        )
        for d in range(n):
            UsageSnapshotFactory(
                account=eql.account, metric=seats, date=today - dt.timedelta(days=d), value=40 + d
            )
            ActivityFactory(account=eql.account, actor=csm if d % 2 else ae)
        Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="New", body="b")
    return first


@pytest.mark.parametrize("size", [2, 30])
def test_queue_query_count_is_constant(client, people, django_assert_num_queries, size):
    _grow(people, size)
    login(client, people["ae"])
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("inbox"))
    assert len(rows_in(response.content.decode())) == min(size, 25)
    with django_assert_num_queries(QUEUE_SEARCH_QUERIES):
        response = client.get(reverse("inbox"), {"q": "Customer", "route": "ae"})
    assert len(rows_in(response.content.decode())) == min(size, 25)
    with django_assert_num_queries(QUEUE_QUERIES - 2):  # the htmx partial has no header
        client.get(reverse("inbox"), {"page": 2}, **HX)


@pytest.mark.parametrize("size", [2, 30])
def test_eql_page_query_count_is_constant(client, people, django_assert_num_queries, size):
    eql = _grow(people, size)
    login(client, people["ae"])
    with django_assert_num_queries(EQL_PAGE_QUERIES):
        response = client.get(reverse("eql", args=[eql.pk]))
    assert response.content.decode().count('class="tl-item') == size
    assert b'<svg id="spark"' in response.content


@pytest.mark.parametrize("size", [2, 30])
def test_eql_page_with_crm_connections_keeps_a_constant_query_count(
    client, people, django_assert_num_queries, size
):
    from routing.crm.models import CrmConnection, CrmLink

    eql = _grow(people, size)
    for name, kind, obj in (("sf", "salesforce", "Opportunity"), ("hs", "hubspot", "deals")):
        connection = CrmConnection.objects.create(name=name, kind=kind, object_type=obj, upsert_key="eql_key")
        CrmLink.objects.create(connection=connection, eql=eql, crm_id=f"{name}-1")
    login(client, people["ae"])
    with django_assert_num_queries(EQL_PAGE_QUERIES + EQL_PAGE_CRM_QUERIES):
        response = client.get(reverse("eql", args=[eql.pk]))
    assert response.content.decode().count('data-testid="crm-') == 2


@pytest.mark.parametrize(
    ("role", "extra"),
    # Managers, RevOps and Finance get an owner filter: one query lists the people they may pick.
    [("revops", 1), ("manager", 1), ("csm", 0), ("finance", 1)],
)
def test_queue_query_count_is_pinned_for_every_role(client, people, django_assert_num_queries, role, extra):
    for size in (3, 12):
        _grow(people, size)
        login(client, people[role])
        with django_assert_num_queries(QUEUE_QUERIES + extra):
            client.get(reverse("inbox"), {"sort": "owner"})


# --------------------------------------------------------------------------------------------------
# Wording helpers (no database needed, but cheap here)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "status", "text", "overdue"),
    [
        (5.5, "new", "5 h 30 m left", False),
        (-2.25, "contacted", "Overdue by 2 h 15 m", True),
        (-50, "new", "Overdue by 2 d 2 h", True),
        (0.5, "new", "30 m left", False),
        (3, "won", "Closed", False),
    ],
)
def test_sla_state_in_words(hours, status, text, overdue):
    now = timezone.now()
    state = sla_state_of(now + dt.timedelta(hours=hours), status, now)
    assert (state.text, state.overdue) == (text, overdue)


def test_signal_sentences_read_like_the_rule():
    defs = {s.key: s for s in SignalDefinition.objects.all()}
    assert (
        signal_sentence_of(SEAT_TRIGGER, defs["seat_utilisation"]) == "Seat utilisation 94% ≥ 90% for 7 days"
    )
    assert signal_sentence_of(API_TRIGGER, defs["api_rate_approach"]) == "API rate approach 88% ≥ 85%"
    assert (
        signal_sentence_of({"value": 17, "threshold": 3}, defs["feature_adjacency"], "integrations_hub")
        == "Feature adjacency (Integrations hub) 17 ≥ 3"
    )
    assert (
        signal_sentence_of({"value": 3.4, "threshold": 3}, defs["export_volume"])
        == "Export volume 3.4\u00d7 its level 90 days ago (rule ≥ 3\u00d7)"
    )
    assert (
        signal_sentence_of({"signal": "mystery", "value": 1, "threshold": 2}, None)
        == "Mystery 1 (threshold 2)"
    )
