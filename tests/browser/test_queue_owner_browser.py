"""A Manager works the team queue in Chromium: the Owner column, the owner filter and the owner sort
update the list in place, the URL can be shared, and EQLs tied at score 100 say why they are in order."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from expansion.models import Role
from tests.browser.test_inbox_browser import mark_page, row, same_document, sign_in
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def desk():
    manager = UserFactory(email="olivia@example.com", name="Olivia Grant", role=Role.MANAGER)
    maya = UserFactory(email="maya@example.com", name="Maya Patel", role=Role.AE, manager=manager)
    ben = UserFactory(email="ben@example.com", name="Ben Okafor", role=Role.AE, manager=manager)
    now = timezone.now()

    def eql(name, owner, score, points, **fields):
        account = AccountFactory(name=name, ae=owner)
        return EQLFactory(
            account=account,
            owner=owner,
            score=score,
            points_total=points,
            sla_deadline=now + dt.timedelta(hours=20),
            **fields,
        )

    return {
        "manager": manager,
        "maya": maya,
        "ben": ben,
        "capped": eql("Northwind Logistics", maya, 100, 140, estimated_expansion_arr=Decimal("9600")),
        "tied": eql("Bluefin Health", ben, 100, 105, estimated_expansion_arr=Decimal("60000")),
        "orphan": eql("Cobalt Labs", None, 70, 70),
    }


def test_manager_filters_and_sorts_the_team_queue_by_owner(page: Page, live_server, desk, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, desk["manager"])
    rows = page.locator("table.eqls tbody tr")
    expect(rows).to_have_count(3)
    # Tied at 100: more uncapped points first, and the row says how many.
    expect(rows.nth(0)).to_contain_text("Northwind Logistics")
    expect(rows.nth(0)).to_contain_text("140 points")
    expect(rows.nth(1)).to_contain_text("105 points")
    expect(row(page, desk["orphan"]).locator(".c-owner")).to_have_text("Unassigned")
    expect(row(page, desk["tied"]).locator(".c-owner")).to_have_text("Ben Okafor")
    page.screenshot(path=str(artifacts_dir / "queue-owner.png"), full_page=True)

    mark_page(page)
    page.get_by_label("Owner").select_option(label="Ben Okafor")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bluefin Health")
    expect(page).to_have_url(re.compile(rf"[?&]owner={desk['ben'].pk}"))
    assert same_document(page)

    page.get_by_label("Owner").select_option(label="Anyone")
    expect(rows).to_have_count(3)
    page.get_by_label("Sort by").select_option(label="Owner")
    expect(rows.nth(0)).to_contain_text("Ben Okafor")
    expect(rows.nth(1)).to_contain_text("Maya Patel")
    expect(rows.nth(2)).to_contain_text("Unassigned")
    expect(page).to_have_url(re.compile(r"[?&]sort=owner"))
    assert same_document(page)

    page.goto(f"{live_server.url}{reverse('inbox')}?owner=none")  # a shared link opens the same list
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cobalt Labs")
