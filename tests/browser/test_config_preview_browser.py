"""RevOps previews an EQL policy edit in Chromium before saving it, and reads the signal list at
1366 px (#15). Screenshots go to ``test-artifacts/``.

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser -q -m browser``.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import re

import pytest
from playwright.sync_api import Page, expect

from expansion.models import Role
from scoring.models import EqlPolicy
from tests.dashboards import test_backtest_views
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

people = test_backtest_views.people
history = test_backtest_views.history


def _sign_in_revops(page: Page, base: str):
    revops = UserFactory(email="revops-admin@example.com", role=Role.REVOPS, is_staff=True)
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(revops.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    return revops


def test_revops_previews_a_new_score_threshold_next_to_save_and_nothing_is_saved(
    page: Page, live_server, people, history, artifacts_dir
):
    policy = EqlPolicy.objects.get()
    saved_threshold, history_rows = policy.score_threshold, EqlPolicy.history.count()
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in_revops(page, live_server.url)
    page.goto(f"{live_server.url}/admin/scoring/eqlpolicy/{policy.pk}/change/")
    page.get_by_label("Score threshold").fill("95")
    submit_row = page.locator(".submit-row").last
    save = submit_row.get_by_role("button", name="Save", exact=True)
    preview = submit_row.get_by_role("button", name="Preview impact (last 12 months)")
    expect(save).to_be_visible()
    expect(preview).to_be_visible()
    save_box, preview_box = save.bounding_box(), preview.bounding_box()
    assert abs(save_box["y"] - preview_box["y"]) < 5  # on Save's line, not below Delete
    assert preview_box["x"] > save_box["x"]
    with page.context.expect_page() as opened:
        preview.click()
    result = opened.value
    expect(result.get_by_role("heading", name="Preview impact: EQL policy")).to_be_visible(timeout=60_000)
    expect(result.get_by_text("Nothing has been saved")).to_be_visible()
    changed = result.get_by_role("row").filter(has_text="score_threshold")
    expect(changed).to_contain_text(str(saved_threshold))
    expect(changed).to_contain_text("95")
    expect(result.get_by_role("columnheader", name="With your edit").first).to_be_visible()
    expect(result.get_by_role("rowheader", name="EQLs", exact=True)).to_be_visible()
    result.screenshot(path=str(artifacts_dir / "policy-preview.png"), full_page=True)
    # The edit is still in the admin form, unsaved.
    expect(page.get_by_label("Score threshold")).to_have_value("95")
    policy.refresh_from_db()
    assert policy.score_threshold == saved_threshold
    assert EqlPolicy.history.count() == history_rows


def test_the_signal_list_shows_threshold_at_1366_px(page: Page, live_server, people, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in_revops(page, live_server.url)
    page.goto(f"{live_server.url}/admin/scoring/signaldefinition/")
    header = page.get_by_role("columnheader", name="Threshold")
    expect(header).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "signal-list-1366.png"))
    box, results = header.bounding_box(), page.locator("#changelist .results").bounding_box()
    assert box["x"] + box["width"] <= results["x"] + results["width"]
    # Nothing scrolled out of sight inside the list's own box either.
    assert page.evaluate(
        "(e => e.scrollWidth <= e.clientWidth)(document.querySelector('#changelist .results'))"
    )
    seat = page.get_by_role("row").filter(has_text="Seat utilisation")
    expect(seat.locator("td.field-threshold_shown")).to_have_text("90%")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
