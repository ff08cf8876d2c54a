"""The EQL page without a chart library (inline SVG sparkline), the paged notifications page, the
favicon and the product's 404 page (#15)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from routing.models import Notification
from tests.dashboards.test_inbox_views import login, make_eql, people  # noqa: F401 (fixture)
from tests.factories import MetricFactory, UsageSnapshotFactory

pytestmark = pytest.mark.django_db


def test_the_eql_page_draws_its_sparkline_as_svg_and_loads_no_plotly(client, people):  # noqa: F811
    # given 30 days of seat use on an EQL whose primary signal is seat utilisation (threshold 90%)
    eql = make_eql(people["ae"], people["csm"])
    eql.account.seats_licensed = 50
    eql.account.save()
    seats = MetricFactory(name="seats_active")
    today = timezone.localdate()
    for i in range(30):
        UsageSnapshotFactory(
            account=eql.account, metric=seats, date=today - dt.timedelta(days=i), value=40 + i % 11
        )
    login(client, people["ae"])

    # when
    html = client.get(reverse("eql", args=[eql.pk])).content.decode()

    # then no chart library is loaded, and the SVG has the line, the threshold and a name
    assert "plotly" not in html.lower()
    assert "<script" not in html.split("</head>")[1].replace('<script src="/static/js/htmx.min.js"', "")
    svg = re.search(r'<svg id="spark"[^>]*>.*?</svg>', html, re.S).group(0)
    assert 'role="img"' in svg
    assert re.search(r'aria-label="Seat utilisation went from \d+% on .* threshold 90%\."', svg)
    assert re.search(r'<polyline class="spark-line" points="(\d+(\.\d+)?,\d+(\.\d+)? ){29}\d', svg)
    assert '<line class="spark-threshold"' in svg
    assert "<title>Threshold 90%</title>" in svg
    # and its numbers are text too: lowest 80% (40 of 50), highest 100% (50 of 50), latest today
    hidden = re.search(r'<p class="visually-hidden">(.*?)</p>', html[html.index('<svg id="spark"') :], re.S)
    assert "Lowest 80% on " in hidden.group(1)
    assert "highest 100% on " in hidden.group(1)
    assert f"latest {(40 + 0) * 2}% on {today:%-d %b}" in hidden.group(1)


def test_an_action_on_the_eql_page_swaps_no_queue_row_but_one_in_the_queue_does(client, people):  # noqa: F811
    eql = make_eql(people["ae"], people["csm"])
    login(client, people["ae"])
    url = reverse("eql_event", args=[eql.pk])
    on_page = client.post(url, {"type": "contacted"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="eql-panel")
    assert on_page.status_code == 200
    assert "eql-row-" not in on_page.content.decode()
    in_queue = client.post(url, {"type": "call_booked"}, HTTP_HX_REQUEST="true")
    assert re.search(rf'<tr id="eql-row-{eql.pk}"[^>]*hx-swap-oob="true"', in_queue.content.decode())


def test_the_notifications_page_lists_every_notification_a_page_at_a_time_and_agrees_with_the_badge(
    client,
    people,  # noqa: F811
):
    # given 30 notifications, 12 of them unread, and one for someone else
    ae = people["ae"]
    for i in range(30):
        Notification.objects.create(
            recipient=ae,
            kind="new_eql",
            subject=f"New EQL {i}",
            body="b",
            read_at=timezone.now() if i >= 12 else None,
        )
    Notification.objects.create(recipient=people["ae2"], kind="new_eql", subject="Not mine", body="b")
    login(client, ae)

    # when
    first = client.get(reverse("notifications")).content.decode()
    second = client.get(reverse("notifications"), {"page": 2}).content.decode()

    # then the pages hold all 30, newest first, and the unread ones number what the badge says
    main = [p.split('<main id="main"', 1)[1] for p in (first, second)]
    assert [m.count('class="notif-item') for m in main] == [25, 5]
    assert '<span class="badge-count">12</span>' in first
    assert sum(m.count('class="notif-item unread"') for m in main) == 12
    assert "12 unread · 30 in all" in first
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert "New EQL 29" in main[0]
    assert "New EQL 0" in main[1]
    assert "Not mine" not in first + second


def test_the_favicon_is_linked_and_served(client, people, settings):  # noqa: F811
    # whitenoise serves from the source folders, as it does under runserver in debug mode
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    login(client, people["ae"])
    html = client.get(reverse("inbox")).content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    response = client.get(href)
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unknown_address_gets_the_products_404_page(client, people, signed_in):  # noqa: F811
    if signed_in:
        login(client, people["ae"])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert next(t.name for t in response.templates) == "404.html"
    page = response.content.decode()
    assert "Nothing here" in page
    assert 'href="/"' in page
    assert "URLconf" not in page
    assert "urlpatterns" not in page


def test_debug_mode_still_shows_the_products_404_page_not_the_url_patterns(client, people, settings):  # noqa: F811
    # make run serves with DJANGO_DEBUG=true, where Django's own 404 would list every URL pattern
    settings.DEBUG = True
    login(client, people["ae"])

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert "URLconf" not in page
    assert "admin/" not in page
