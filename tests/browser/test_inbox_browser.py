"""The inbox in Chromium against a live server: what an AE and a CSM do in a working day.

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser -q`` (the Makefile
exports it too). Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from expansion.models import EQL, Activity, Role
from routing.services import eql_transition
from tests.factories import (
    PASSWORD,
    AccountFactory,
    EQLFactory,
    MetricFactory,
    UsageSnapshotFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEAT_ANGLE = (
    "Northwind Logistics has had 47 of 50 seats in use (94%) every day for the past week. Ask who is "
    "still waiting for access so everyone who needs the product can work in it."
)


@pytest.fixture
def team():
    """An AE's morning: three EQLs of their own (one in its CSM review window), one of another AE."""
    ae = UserFactory(email="maya@example.com", name="Maya Patel", role=Role.AE)
    ae2 = UserFactory(email="jonas@example.com", name="Jonas Berg", role=Role.AE)
    csm = UserFactory(email="sofia@example.com", name="Sofia Lindqvist", role=Role.CSM)
    now = timezone.now()

    def eql(name, owner, **fields):
        account = AccountFactory(name=name, ae=owner, csm=csm, contract_arr=Decimal("48000"))
        return EQLFactory(
            account=account,
            owner=owner,
            csm=csm,
            contract_arr=account.contract_arr,
            estimate_source="default",
            evaluation={"estimate": {"uplift": 0.2, "source": "default"}},
            discovery_questions=["Who on the team is waiting for a seat or sharing a login today?"],
            sla_deadline=now + dt.timedelta(hours=fields.pop("sla_hours", 20)),
            **fields,
        )

    top = eql(
        "Northwind Logistics",
        ae,
        score=95,
        primary_signal="seat_utilisation",
        priority="high",
        triggered_signals=[
            {"signal": "seat_utilisation", "value": 0.94, "threshold": 0.9, "points": 40},
            {"signal": "automation_depth", "value": 24.0, "threshold": 20.0, "points": 20},
        ],
        opening_angle=SEAT_ANGLE,
        estimated_expansion_arr=Decimal("9600"),
        route="ae",
        csm_involvement_required=True,
    )
    second = eql(
        "Bluefin Health",
        ae,
        score=80,
        primary_signal="api_rate_approach",
        priority="high",
        triggered_signals=[{"signal": "api_rate_approach", "value": 0.91, "threshold": 0.85, "points": 35}],
        opening_angle="Bluefin Health's integrations used 91% of their API allowance.",
        estimated_expansion_arr=Decimal("16800"),
        route="ae",
        sla_hours=-3,
    )
    review = eql(
        "Cobalt Labs",
        ae,
        score=65,
        primary_signal="feature_adjacency",
        priority="medium",
        target="analytics",
        triggered_signals=[{"signal": "feature_adjacency", "value": 7.0, "threshold": 3.0, "points": 25}],
        opening_angle="People at Cobalt Labs opened analytics features 7 times in two weeks.",
        estimated_expansion_arr=Decimal("12000"),
        route="ae",
        csm_involvement_required=True,
        review_state="pending",
        review_window_ends_at=now + dt.timedelta(hours=20),
        sla_hours=68,
    )
    other = eql(
        "Summit Capital",
        ae2,
        score=99,
        primary_signal="seat_utilisation",
        priority="high",
        triggered_signals=[{"signal": "seat_utilisation", "value": 0.97, "threshold": 0.9, "points": 40}],
    )
    seats = MetricFactory(name="seats_active")
    today = timezone.localdate()
    for day in range(60):
        UsageSnapshotFactory(
            account=top.account,
            metric=seats,
            date=today - dt.timedelta(days=day),
            value=max(30, 47 - day // 6),
        )
    return {"ae": ae, "ae2": ae2, "csm": csm, "top": top, "second": second, "review": review, "other": other}


def sign_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="EQL queue")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def mark_page(page: Page) -> None:
    """Tag the loaded document; the tag survives htmx swaps but not a reload."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def row(page: Page, eql: EQL):
    return page.locator(f"#eql-row-{eql.pk}")


def test_ae_works_the_queue(page: Page, live_server, team, artifacts_dir):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, base, team["ae"])

    # The queue: own EQLs only, highest score first; overdue says so in words.
    rows = page.locator("table.eqls tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Northwind Logistics")
    expect(row(page, team["second"])).to_contain_text("Overdue by")
    expect(page.locator("body")).not_to_contain_text("Summit Capital")
    page.screenshot(path=str(artifacts_dir / "inbox-queue.png"), full_page=True)

    # Search narrows the list in place and the URL can be shared.
    mark_page(page)
    page.get_by_label("Search").fill("bluefin")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=bluefin"))
    assert "priority=" not in page.url  # empty filters are left out of the shared URL
    assert same_document(page)
    page.goto(page.url)  # the pushed URL opens the same filtered list
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)

    # Open the top EQL and read what to say.
    rows.first.get_by_role("link", name="Northwind Logistics").click()
    expect(page.get_by_role("heading", name="Northwind Logistics")).to_be_visible()
    expect(page.get_by_test_id("opening-angle")).to_have_text(SEAT_ANGLE)
    expect(page.get_by_text("Seat utilisation 94% ≥ 90% for 7 days")).to_be_visible()
    expect(page.locator("#spark .spark-line")).to_be_attached()  # the server drew the sparkline
    page.screenshot(path=str(artifacts_dir / "inbox-eql.png"), full_page=True)

    # Book a call: the status updates without a reload, and the timeline shows it.
    mark_page(page)
    page.get_by_role("button", name="Call booked").click()
    expect(page.get_by_test_id("eql-status")).to_have_text("Call booked")
    expect(page.locator("#eql-activity")).to_contain_text("Call booked by Maya Patel")
    expect(page.locator("#flash")).to_contain_text("Call booked")
    assert same_document(page)
    page.get_by_role("link", name="← Queue").click()
    expect(row(page, team["top"])).to_contain_text("Call booked")

    # One click from the queue: the row updates in place.
    mark_page(page)
    row(page, team["second"]).get_by_role("button", name="Log contact").click()
    expect(row(page, team["second"]).locator(".status")).to_have_text("Contacted")
    assert same_document(page)

    # Decline another one with a reason.
    second = team["second"]
    row(page, second).get_by_role("link", name="Bluefin Health").click()
    page.get_by_text("Decline…").click()
    page.locator(f"#decline-reason-{second.pk}").select_option("bad_timing")
    page.locator(f"#decline-note-{second.pk}").fill("Budget freeze until Q3")
    page.get_by_role("button", name="Decline EQL").click()
    expect(page.get_by_test_id("eql-status")).to_have_text("Declined")
    second.refresh_from_db()
    assert (second.status, second.close_reason) == ("declined", "bad_timing")
    assert Activity.objects.filter(eql=second, event="declined", note="Budget freeze until Q3").exists()

    # A stale page: someone else closed the EQL meanwhile. The action is refused inline, nothing changes.
    page.goto(f"{base}/eqls/{team['top'].pk}/")
    eql_transition(eql_id=team["top"].pk, user=team["ae"], event="declined", reason="not_ready")
    page.get_by_role("button", name="Proposal sent").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot mark proposal sent when the EQL is declined")
    expect(page.get_by_test_id("eql-status")).to_have_text("Declined")
    assert EQL.objects.get(pk=team["top"].pk).status == "declined"
    assert not Activity.objects.filter(eql=team["top"], event="proposal_sent").exists()


def test_csm_holds_and_the_ae_reads_the_note(page: Page, live_server, team, artifacts_dir):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    note = "Open support escalation on SSO; talk to me before calling."

    sign_in(page, base, team["csm"])
    review = row(page, team["review"])
    expect(review).to_contain_text("CSM look-first window")
    review.get_by_role("link", name="Cobalt Labs").click()
    page.get_by_label("Context note for the owner").fill(note)
    page.get_by_role("button", name="Hold with note").click()
    expect(page.get_by_test_id("hold-note")).to_contain_text(note)
    expect(page.locator("#eql-panel")).to_contain_text("Held by CSM")
    sign_out(page)

    sign_in(page, base, team["ae"])
    expect(row(page, team["review"])).to_contain_text("Held by CSM")
    row(page, team["review"]).get_by_role("link", name="Cobalt Labs").click()
    callout = page.get_by_test_id("hold-note")
    expect(callout).to_contain_text("On hold by the CSM")
    expect(callout).to_contain_text(note)
    expect(page.get_by_role("button", name="Call booked")).to_have_count(0)  # outreach waits
    page.screenshot(path=str(artifacts_dir / "inbox-eql-held.png"), full_page=True)


def test_ae_cannot_open_another_aes_eql(page: Page, live_server, team):
    sign_in(page, live_server.url, team["ae"])
    response = page.goto(f"{live_server.url}/eqls/{team['other'].pk}/")
    assert response is not None
    assert response.status == 404
    assert "Summit Capital" not in page.content()


def test_queue_on_a_phone(page: Page, live_server, team, artifacts_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, team["ae"])
    first = page.locator("table.eqls tbody tr").first
    expect(first).to_contain_text("Northwind Logistics")
    # Cards: the column header is hidden and each cell carries its own label.
    assert page.evaluate("getComputedStyle(document.querySelector('table.eqls tr.row')).display") == "grid"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    page.screenshot(path=str(artifacts_dir / "inbox-queue-phone.png"), full_page=True)
