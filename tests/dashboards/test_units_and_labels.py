"""Numbers with their units and keys with their names: the reporting currency, one date format, route
and module labels, health on its scale and people by name (JSON, CSV and the API stay plain)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards import formatting
from dashboards.templatetags import inbox as inbox_tags
from expansion.models import EQLStatus, Route
from tests.factories import AccountFactory, EQLFactory, UserFactory


@pytest.mark.parametrize(
    ("value", "currency", "digits", "expected"),
    [
        (74398.05, "USD", 0, "$74,398"),
        (Decimal("74398.05"), "USD", 2, "$74,398.05"),
        (Decimal("74398.05"), "usd", 2, "$74,398.05"),  # codes in any case
        (48000, "EUR", 0, "€48,000"),
        (48000, "GBP", 0, "£48,000"),
        (48000, "CHF", 0, "48,000 CHF"),  # no symbol in the map: the code after the amount
        (Decimal("-1200.5"), "USD", 2, "-$1,200.50"),  # the sign before the symbol
        (Decimal("-1200.5"), "SEK", 0, "-1,200 SEK"),  # half to even
        (Decimal("-0.4"), "USD", 0, "$0"),  # no "-0"
        (Decimal("2.50"), "USD", 0, "$2"),
        (Decimal("3.50"), "USD", 0, "$4"),
        ("12345.678", "", 0, "12,346"),  # no currency: the bare number (the reports' own columns)
        (999.995, "USD", 2, "$1,000.00"),
    ],
)
def test_money_with_the_reporting_currency(value, currency, digits, expected):
    assert formatting.money(value, currency=currency, digits=digits) == expected


@pytest.mark.parametrize("value", [None, "", float("nan")])
def test_missing_amounts_dates_and_health(value):
    assert formatting.money(value, currency="USD") == "—"
    assert formatting.health(value) == "—"
    assert inbox_tags.money(value) == ""
    assert inbox_tags.health(value) == ""
    if value is not None and value != "":
        return
    assert formatting.day(value) == "—"
    assert formatting.moment(value, missing="") == ""
    assert inbox_tags.when(value) == ""


@pytest.mark.parametrize(
    ("value", "expected_day", "expected_moment"),
    [
        (dt.datetime(2025, 12, 4, 14, 5), "4 Dec 2025", "4 Dec 2025, 14:05"),
        (dt.datetime(2026, 3, 12, 0, 0), "12 Mar 2026", "12 Mar 2026, 00:00"),
        (dt.datetime(2026, 1, 31, 9, 30), "31 Jan 2026", "31 Jan 2026, 09:30"),
    ],
)
def test_one_date_format(value, expected_day, expected_moment):
    assert formatting.day(value) == expected_day
    assert formatting.day(value.date()) == expected_day
    assert formatting.moment(value) == expected_moment
    # the template filter gives the same text from the settings' formats (local time: UTC in tests)
    aware = timezone.make_aware(value, dt.UTC)
    assert inbox_tags.when(aware) == expected_moment
    assert inbox_tags.when(aware, "date") == expected_day
    assert inbox_tags.when(value.date()) == expected_day


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("integrations_hub", "Integrations hub"),
        ("sso_security", "SSO security"),
        ("automation_plus", "Automation plus"),
        ("csm_review", "CSM review"),
        ("", ""),
        (None, ""),
    ],
)
def test_key_labels(key, expected):
    assert formatting.key_label(key) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [("ae", "AE-led"), ("csm", "CSM-led"), ("self_serve", "Self-serve"), ("csm_review", "CSM review")],
)
def test_route_labels_come_from_the_routes(key, expected):
    assert inbox_tags.route_label_of(key) == expected == Route(key).label


@pytest.mark.parametrize(("value", "expected"), [(65, "65/100"), (Decimal("72.4"), "72/100"), (0, "0/100")])
def test_health_on_its_scale(value, expected):
    assert formatting.health(value) == expected


def test_another_reporting_currency_is_used_by_the_pages(settings):
    settings.REPORTING_CURRENCY = "CHF"
    assert inbox_tags.money(Decimal("74398.05")) == "74,398 CHF"
    assert inbox_tags.money(Decimal("74398.05"), 2) == "74,398.05 CHF"


# Any date written another way than "4 Dec 2025": "Dec. 4, 2025", "Dec 4", 12/03/2026, 2026-12-03 14:05,
# and a day and month without the year ("4 Dec" not followed by a year).
OTHER_DATE_FORMATS = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d{1,2}\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    r"|\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b(?! \d{4})"
)


def visible_text(html: str) -> str:
    """The page as read: tags and their attributes (ISO datetime="...", script JSON) left out."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def co_owned(db):
    ae = UserFactory(role="AE", name="Ada Lovelace", email="ada@example.com")
    csm = UserFactory(role="CSM", name="Cyrus Mensah", email="cyrus@example.com")
    account = AccountFactory(ae=ae, csm=csm, health_score=65, renewal_date=dt.date(2027, 3, 12))
    eql = EQLFactory(
        account=account,
        owner=ae,
        csm=csm,
        route=Route.AE,
        csm_involvement_required=True,
        status=EQLStatus.CALL_BOOKED,
        estimated_expansion_arr=Decimal("74398.05"),
        created_at=timezone.now() - dt.timedelta(days=3),
        sla_deadline=timezone.now() + dt.timedelta(hours=5),
    )
    return ae, csm, eql


def test_the_eql_page_shows_amounts_labels_names_and_one_date_format(client, co_owned):
    ae, _, eql = co_owned
    client.force_login(ae)

    html = client.get(reverse("eql", args=[eql.pk])).content.decode()
    text = visible_text(html)

    assert "$74,398" in text
    assert "AE-led" in text
    assert "health 65/100" in text
    assert "renews 12 Mar 2027" in text
    created = timezone.localtime(eql.created_at)
    assert f"{created.day} {created:%b %Y, %H:%M}" in text
    # the split form names the people, the email as secondary text; the posted value stays the email
    split = html.split('<fieldset class="split">', 1)[1].split("</fieldset>", 1)[0]
    assert re.search(r"Ada Lovelace\s*<span class=\"muted\">ada@example.com</span>", split)
    assert re.search(r"Cyrus Mensah\s*<span class=\"muted\">cyrus@example.com</span>", split)
    assert 'name="split_email" value="ada@example.com"' in split
    assert OTHER_DATE_FORMATS.findall(text) == []


def test_the_queue_shows_amounts_and_one_date_format(client, co_owned):
    ae = co_owned[0]
    EQLFactory(
        account=AccountFactory(ae=ae),
        owner=ae,
        route=Route.AE,
        review_state="pending",
        review_window_ends_at=timezone.now() + dt.timedelta(hours=30),
        estimated_expansion_arr=Decimal("12000"),
    )
    client.force_login(ae)

    text = visible_text(client.get(reverse("inbox")).content.decode())

    assert "$74,398" in text
    assert "$12,000" in text
    assert "Est. expansion ARR" in text
    ends = timezone.localtime(timezone.now() + dt.timedelta(hours=30))
    assert re.search(rf"until {ends.day} {ends:%b %Y}, \d\d:\d\d", text)
    assert OTHER_DATE_FORMATS.findall(text) == []


def test_finances_decision_tree_reads_route_labels_names_and_the_currency(client, co_owned):
    ae, csm, eql = co_owned
    client.force_login(ae)
    won = client.post(
        reverse("eql_event", args=[eql.pk]),
        {
            "type": "won",
            "expansion_arr": "74398.05",
            "split_email": [ae.email, csm.email],
            "split_percent": ["60", "40"],
        },
        HTTP_HX_REQUEST="true",
    )
    assert won.status_code == 200
    client.force_login(UserFactory(role="Finance"))

    response = client.get(reverse("finance-attribution-eql", args=[eql.pk]))

    assert response.status_code == 200
    steps = {s.question: s.answer for s in response.context["steps"]}
    assert steps["Which route did routing choose?"].startswith("AE-led")
    assert steps["Was the EQL won?"].startswith("Won, $74,398.05 expansion ARR on ")
    assert steps["Co-owned: which contribution split was entered at close?"] == (
        "Ada Lovelace 60%, Cyrus Mensah 40%"
    )
    involvement = "Is CSM involvement required (co-owned: module expansion or above the routing threshold)?"
    assert steps[involvement].startswith("Yes (estimate $74,398.05;")
    text = visible_text(response.content.decode())
    assert "route AE-led," in text
    assert "won ARR $74,398.05" in text
    assert "$44,638.83" in text  # Ada's 60% quota credit, in the currency
    assert not re.search(r"\broute ae\b|estimate 74398", text)


def test_the_regex_catches_the_formats_the_pages_no_longer_use():
    # a guard on the guard: each of the old formats is caught, the app's own are not
    for old in ("Dec. 4, 2025", "12/03/2026", "4 Dec", "2026-12-03 14:05", "Thu 3 Dec, 14:05"):
        assert OTHER_DATE_FORMATS.search(old), old
    for new in ("4 Dec 2025", "4 Dec 2025, 14:05"):
        assert not OTHER_DATE_FORMATS.search(new), new
