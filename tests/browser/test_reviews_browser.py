"""CSM review items in Chromium, as the CSM decides them (#15): open the review list, promote one to
an EQL for the AE, dismiss another with a reason.

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser -q -m browser``.
"""

from __future__ import annotations

import datetime as dt
import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from expansion.models import EQL, Activity, Role
from tests.browser.test_inbox_browser import sign_in
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def reviews():
    ae = UserFactory(email="maya@example.com", name="Maya Patel", role=Role.AE)
    csm = UserFactory(email="sofia@example.com", name="Sofia Lindqvist", role=Role.CSM)
    now = timezone.now()

    def item(name, hours_ago):
        account = AccountFactory(name=name, ae=ae, csm=csm, contract_arr=Decimal("48000"))
        return EQLFactory(
            account=account,
            route="csm_review",
            owner=csm,
            csm=csm,
            score=0,
            priority="watch",
            primary_signal="health_drop",
            estimated_expansion_arr=0,
            contract_arr=account.contract_arr,
            created_at=now - dt.timedelta(hours=hours_ago),
            sla_deadline=now + dt.timedelta(hours=60),
        )

    return {"ae": ae, "csm": csm, "promote": item("Harbor Freight Co", 8), "dismiss": item("Quill Studio", 3)}


def test_csm_promotes_one_review_item_and_dismisses_another(page: Page, live_server, reviews, artifacts_dir):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, reviews["csm"])
    # The sales queue holds no review items; it points to their own list.
    expect(page.locator("table.eqls")).to_have_count(0)
    page.get_by_role("link", name="CSM review items").click()
    expect(page.get_by_role("heading", name="CSM review items")).to_be_visible()
    rows = page.locator("table.reviews tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Harbor Freight Co")  # the longest waiting first
    for name in ("Log contact", "Call booked", "Proposal sent"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "reviews-list.png"), full_page=True)

    page.get_by_role("button", name="Promote to an EQL for the AE: Harbor Freight Co").click()
    expect(page.locator("#flash")).to_contain_text("Promoted to an EQL for the AE · Harbor Freight Co")
    expect(rows).to_have_count(1)

    dismiss = page.locator(f"#review-{reviews['dismiss'].pk}")
    dismiss.get_by_text("Dismiss…").click()
    dismiss.get_by_label("Reason").select_option(label="Bad timing")
    dismiss.get_by_role("button", name="Dismiss review item").click()
    expect(page.locator("#flash")).to_contain_text("Review item dismissed · Quill Studio")
    expect(page.get_by_text("No review items to decide.")).to_be_visible()

    page.get_by_role("link", name="Decided").click()
    expect(page.locator(f"#review-{reviews['dismiss'].pk}")).to_contain_text("Dismissed · Bad timing")
    page.screenshot(path=str(artifacts_dir / "reviews-decided.png"), full_page=True)

    promoted = EQL.objects.get(pk=reviews["promote"].pk)
    assert (promoted.route, promoted.owner_id, promoted.status) == ("ae", reviews["ae"].pk, "new")
    assert promoted.sla_deadline is not None
    dismissed = EQL.objects.get(pk=reviews["dismiss"].pk)
    assert (dismissed.status, dismissed.close_reason) == ("declined", "bad_timing")
    assert list(Activity.objects.filter(eql=dismissed).values_list("event", "reason")) == [
        ("review_dismiss", "bad_timing")
    ]
