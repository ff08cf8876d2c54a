"""The SLA after first contact and who logs the sales steps, in Chromium as the AE and the CSM do it (#15).

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser -q -m browser``.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from expansion.models import EQL, Activity
from tests.browser.test_inbox_browser import row, sign_in, team  # noqa: F401  (team is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_ae_logs_contact_and_the_sla_is_met(page: Page, live_server, team, artifacts_dir):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, team["ae"])
    top = team["top"]
    row(page, top).get_by_role("link", name="Northwind Logistics").click()
    panel = page.locator("#eql-panel")
    expect(panel.locator(".sla")).to_contain_text("left")

    page.get_by_role("button", name="Log contact").click()

    expect(page.get_by_test_id("eql-status")).to_have_text("Contacted")
    expect(panel.locator(".sla")).to_contain_text("SLA met at")
    expect(panel.locator(".sla")).not_to_contain_text("left")
    expect(page.get_by_test_id("sla-detail")).to_contain_text("first contact after")
    page.screenshot(path=str(artifacts_dir / "sla-met.png"), full_page=True)
    page.get_by_role("link", name="← Queue").click()
    expect(row(page, top).locator(".c-sla")).to_contain_text("SLA met at")
    # The overdue one (Bluefin, 3 h past its deadline) is the only one the Overdue filter lists.
    page.get_by_label("Overdue only").check()
    expect(page.locator("table.eqls tbody tr")).to_have_count(1)
    expect(row(page, team["second"])).to_contain_text("Overdue by")
    top.refresh_from_db()
    assert top.first_contact_at is not None
    assert top.sla_breached is False


def test_csm_sees_no_sales_buttons_on_an_ae_owned_eql_and_adds_a_note(
    page: Page,
    live_server,
    team,  # noqa: F811
    artifacts_dir,
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, team["csm"])
    top = team["top"]
    # The queue offers the CSM no one-click outreach on the AE's EQLs.
    expect(row(page, top)).to_be_visible()
    expect(page.get_by_role("button", name="Log contact")).to_have_count(0)
    expect(page.get_by_role("button", name="Call booked")).to_have_count(0)

    row(page, top).get_by_role("link", name="Northwind Logistics").click()
    for name in ("Log contact", "Call booked", "Proposal sent", "Mark won", "Mark lost", "Decline EQL"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_test_id("owner-logs-sales")).to_contain_text("Maya Patel owns this EQL")

    page.get_by_text("Add a note…").click()
    page.get_by_label("Note", exact=True).fill("Renewal call with their CFO on Friday; happy to join.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#eql-activity")).to_contain_text("Renewal call with their CFO on Friday")
    page.screenshot(path=str(artifacts_dir / "csm-note-no-sales.png"), full_page=True)
    assert EQL.objects.get(pk=top.pk).status == "new"
    assert list(Activity.objects.filter(eql=top).values_list("event", "actor")) == [("note", team["csm"].pk)]
