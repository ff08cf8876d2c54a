"""The report pages in Chromium against a live server: RevOps reads coverage, signals and team KPIs.

Data: the demo export (``seed_demo``, 150 accounts) and the scoring pass; the EQLs of each pass are
moved back in time (up to six months) and worked through the lifecycle service, then the pass runs
again, so the signal report has weeks, quarters, conversions, declines and wins to show.
Screenshots go to ``test-artifacts/``.

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser/test_reports_browser.py -q``
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import datetime as dt
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from expansion.models import EQL, Role
from routing.lifecycle import TransitionError
from routing.services import eql_transition
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

#: Windows (days ago) the EQLs of successive scoring passes are moved back into before being worked.
HISTORY_WINDOWS = ((75, 190), (1, 75))


def _work(eql: EQL, user, created: dt.datetime, rng: random.Random, now: dt.datetime) -> None:
    """Walk one EQL through a plausible lifecycle from ``created`` on, stopping at ``now``."""
    roll = rng.random()
    steps: list[tuple[str, float, dict]] = [("contacted", rng.uniform(1, 70), {})]
    if roll < 0.15:
        steps.append(("declined", rng.uniform(4, 200), {"reason": "not_ready"}))
    elif roll < 0.75:
        steps.append(("call_booked", rng.uniform(12, 24 * 40), {}))
        if roll < 0.55:
            steps.append(("proposal_sent", rng.uniform(48, 24 * 10), {}))
            if roll < 0.4:
                steps.append(
                    ("won", rng.uniform(48, 24 * 20), {"expansion_arr": Decimal(rng.randrange(6, 30) * 1000)})
                )
            else:
                steps.append(("lost", rng.uniform(48, 24 * 20), {"reason": "price"}))
    when = created
    for event, hours, extra in steps:
        when += dt.timedelta(hours=hours)
        if when >= now:
            return
        try:
            eql_transition(eql_id=eql.pk, user=user, event=event, at=when, **extra)
        except TransitionError:
            if event != "won":
                return
            eql_transition(eql_id=eql.pk, user=user, event="lost", at=when, reason="price")


def add_history(user) -> int:
    """Score, move the new EQLs back into an older window and work them; score again (accounts whose
    EQL closed more than 30 days ago qualify afresh) and repeat for a more recent window."""
    rng = random.Random(2)
    now = timezone.now()
    seen: set[int] = set()
    for first, last in HISTORY_WINDOWS:
        call_command("score")
        fresh = list(
            EQL.objects.exclude(route="csm_review")
            .exclude(pk__in=seen)
            .filter(owner__isnull=False)
            .order_by("pk")
        )
        for i, eql in enumerate(fresh):
            created = now - dt.timedelta(days=first + (i * 37) % (last - first), hours=rng.randint(0, 8))
            EQL.objects.filter(pk=eql.pk).update(
                created_at=created,
                assigned_at=created,
                updated_at=created,
                sla_deadline=created + dt.timedelta(hours=24),
                review_window_ends_at=None,
                review_state="",
            )
            _work(eql, user, created, rng, now)
            seen.add(eql.pk)
    call_command("score")
    return len(seen)


@pytest.fixture
def demo(tmp_path):
    call_command("seed_demo", "--accounts", "150", "--seed", "2", "--quiet", "--out", str(tmp_path))
    revops = UserFactory(email="dana.revops@example.com", name="Dana RevOps", role=Role.REVOPS)
    assert add_history(revops) > 10
    return {"revops": revops}


def sign_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="EQL queue")).to_be_visible()


def expect_charts(page: Page, testids: list[str]) -> None:
    """Each chart container was drawn by plotly.js (it adds .js-plotly-plot and an SVG)."""
    for testid in testids:
        chart = page.get_by_test_id(testid)
        expect(chart).to_have_class(re.compile(r"\bjs-plotly-plot\b"))
        expect(chart.locator(".main-svg").first).to_be_attached()
    assert page.locator(".js-plotly-plot").count() >= len(testids)


def test_revops_reads_the_reports(page: Page, live_server, demo, artifacts_dir):
    page.set_viewport_size({"width": 1360, "height": 900})
    sign_in(page, live_server.url, demo["revops"])

    page.goto(f"{live_server.url}/reports/coverage/")
    expect(page.get_by_role("heading", name="Coverage diagnostic")).to_be_visible()
    expect_charts(page, ["chart-breakdown", "chart-trend"])
    expect(page.get_by_test_id("coverage-tiles")).to_contain_text("Coverage rate")
    expect(page.get_by_test_id("scenarios")).to_contain_text("Conservative")
    page.screenshot(path=str(artifacts_dir / "reports-coverage.png"), full_page=True)
    page.locator(".r-grid").first.screenshot(path=str(artifacts_dir / "reports-coverage-charts.png"))

    with page.expect_download() as download:
        page.get_by_test_id("untouched-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("account_id,name,segment,contract_arr")

    page.get_by_role("link", name="Signal report").click()
    expect(page.get_by_role("heading", name="Signal conversion")).to_be_visible()
    expect_charts(page, ["chart-accuracy", "chart-fire", "chart-ttfc"])
    expect(page.get_by_test_id("breakdown-signal")).to_contain_text("Seat utilisation")
    page.screenshot(path=str(artifacts_dir / "reports-signals.png"), full_page=True)
    page.locator(".r-grid").first.screenshot(path=str(artifacts_dir / "reports-signals-charts.png"))
    page.get_by_test_id("breakdown-signal").screenshot(path=str(artifacts_dir / "reports-signals-table.png"))

    page.get_by_role("link", name="By owner").click()
    expect(page.get_by_test_id("breakdown-owner")).to_be_visible()
    page.get_by_test_id("breakdown-owner").screenshot(
        path=str(artifacts_dir / "reports-signals-by-owner.png")
    )

    page.get_by_role("link", name="Team KPIs").click()
    expect(page.get_by_test_id("kpi-table")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "reports-kpis.png"), full_page=True)
