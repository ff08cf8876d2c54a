"""Accessibility in Chromium: axe-core (axe-playwright-python, axe-core shipped in the package) on every
page each role sees, and the queue worked with the keyboard alone.

Every page must have no critical and no serious axe violation. Data: the demo export (150 accounts)
with history (as in test_reports_browser), a finished backtest, and the small team of the inbox tests.
Run: ``.venv/bin/python -m pytest -m browser tests/browser/test_accessibility.py`` (axe.json of the
last run in ``test-artifacts/``).
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import datetime as dt
import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.db.models import Max
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from dashboards import backtest_runs
from dashboards.models import BacktestRun
from expansion.models import EQL, Activity, AttributionEntry, Role, UsageSnapshot
from routing.models import RoutingRule
from scoring import backtest_services
from scoring.models import EqlPolicy, Gate, SignalDefinition
from tests.browser.test_inbox_browser import team  # noqa: F401  (fixture)
from tests.browser.test_reports_browser import add_history
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

#: Impacts that fail a page; "moderate" and "minor" are reported but do not fail.
BLOCKING = {"critical", "serious"}
#: axe-core's WCAG 2.x A/AA rules plus its best practices (landmarks, headings, region).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}
AXE = Axe()


def violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (after htmx and plotly drew)."""
    page.wait_for_load_state("networkidle")
    return AXE.run(page, options=AXE_OPTIONS).response["violations"]


CHARTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot, [data-figure], #bt-chart, #spark')]
  .map(el => ({
    target: el.id ? '#' + el.id : `[data-figure=${el.dataset.figure}]`,
    role: el.getAttribute('role'),
    label: (el.getAttribute('aria-label') || '').trim(),
    numbers: [...el.parentElement.querySelectorAll('table, .visually-hidden')]
      .some(alt => alt.textContent.trim().length > 0),
  }))"""


def chart_violations(page: Page) -> list[dict]:
    """Each plotly chart is an image with a name, and its numbers are there as text beside it (a table,
    visible or visually hidden, or a hidden summary)."""
    bad = [
        {"target": [c["target"]]}
        for c in page.evaluate(CHARTS_JS)
        if c["role"] != "img" or not c["label"] or not c["numbers"]
    ]
    if not bad:
        return []
    return [
        {
            "id": "chart-text-alternative",
            "impact": "serious",
            "help": "Charts need a text alternative",
            "nodes": bad,
        }
    ]


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, items in found.items():
        for v in items:
            targets = [", ".join(node["target"]) for node in v["nodes"][:4]]
            lines.append(f"{where}: [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])}x) {targets}")
    return "\n".join(lines)


class Audit:
    """Runs axe on each page visited and keeps every violation, by page."""

    def __init__(self, page: Page, artifacts):
        self.page, self.artifacts = page, artifacts
        self.found: dict[str, list[dict]] = {}

    def check(self, name: str) -> None:
        self.found[name] = violations(self.page) + chart_violations(self.page)

    def visit(self, name: str, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == 200, f"{name}: {url} answered {response.status}"
        self.check(name)

    def assert_clean(self) -> None:
        counts = {
            impact: sum(1 for items in self.found.values() for v in items if v["impact"] == impact)
            for impact in ("critical", "serious", "moderate", "minor")
        }
        (self.artifacts / "axe.json").write_text(
            json.dumps({"counts": counts, "pages": self.found}, indent=1)
        )
        blocking = {k: [v for v in items if v["impact"] in BLOCKING] for k, items in self.found.items()}
        blocking = {k: v for k, v in blocking.items() if v}
        assert not blocking, f"axe violations by page ({counts}):\n{describe(blocking)}"


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="EQL queue")).to_be_visible()


def sign_out(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.fixture
def company(tmp_path):
    """The demo company with history, its people by role, a finished backtest and a won EQL."""
    call_command("seed_demo", "--accounts", "150", "--seed", "2", "--quiet", "--out", str(tmp_path))
    revops = UserFactory(email="dana.revops@example.com", name="Dana RevOps", role=Role.REVOPS, is_staff=True)
    assert add_history(revops) > 10
    last = UsageSnapshot.objects.aggregate(last=Max("date"))["last"]
    runs = []
    for label, overrides in [("Saved model", {}), ("Seats 0.95", {"seat_utilisation.threshold": 0.95})]:
        params = backtest_services.run_params(
            start=last - dt.timedelta(days=56), end=last, overrides=overrides
        )
        run = backtest_runs.backtest_run_create(params=params, created_by=revops, label=label)
        runs.append(backtest_runs.backtest_run_execute(run_id=run.pk))
    assert all(run.status == BacktestRun.Status.DONE for run in runs)
    entry = AttributionEntry.objects.order_by("pk").first()
    assert entry is not None, "the history has no won EQL to attribute"

    def person(role: str) -> str:
        user = UserFactory(role=role, name=f"A {role}", email=f"{role.lower()}.a11y@example.com")
        return user.email

    owned = EQL.objects.filter(owner__role=Role.AE).order_by("-score")
    ae_eql = owned.filter(status__in=["open", "contacted", "call_booked"]).first() or owned.first()
    ae_eql.owner.set_password(PASSWORD)
    ae_eql.owner.save(update_fields=["password"])
    csm_eql = EQL.objects.filter(csm__isnull=False).order_by("-score").first()
    csm_eql.csm.set_password(PASSWORD)
    csm_eql.csm.save(update_fields=["password"])
    manager = ae_eql.owner.manager or UserFactory(role=Role.MANAGER, email="mgr.a11y@example.com")
    manager.set_password(PASSWORD)
    manager.save(update_fields=["password"])
    return {
        "revops": revops.email,
        "finance": person(Role.FINANCE),
        "manager": manager.email,
        "ae": ae_eql.owner.email,
        "ae_eql": ae_eql,
        "csm": csm_eql.csm.email,
        "csm_eql": csm_eql,
        "runs": runs,
        "won_eql": entry.eql_id,
    }


def test_every_page_of_every_role_passes_axe(page: Page, live_server, company, artifacts_dir):
    base = live_server.url
    page.set_viewport_size({"width": 1360, "height": 900})
    audit = Audit(page, artifacts_dir)

    audit.visit("login", f"{base}/login/")
    page.get_by_label("Email").fill(company["ae"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is not right")
    audit.check("login with an error")

    for role in ("ae", "csm"):
        sign_in(page, base, company[role])
        audit.check(f"{role}: queue")
        audit.visit(f"{role}: EQL", f"{base}{reverse('eql', args=[company[f'{role}_eql'].pk])}")
        for summary in page.locator("details.disclose > summary").all():
            summary.click()  # the won/lost/decline/note forms
        audit.check(f"{role}: EQL with its forms open")
        sign_out(page, base)

    sign_in(page, base, company["manager"])
    audit.check("manager: team queue")
    for report in ("coverage", "signals", "kpis"):
        audit.visit(f"manager: {report}", f"{base}{reverse(f'reports-{report}')}")
    sign_out(page, base)

    sign_in(page, base, company["revops"])
    audit.check("revops: queue")
    for report in ("coverage", "signals", "kpis"):
        audit.visit(f"revops: {report}", f"{base}{reverse(f'reports-{report}')}")
    audit.visit("revops: signals by owner", f"{base}{reverse('reports-signals')}?by=owner")
    first, second = company["runs"]
    audit.visit("revops: backtests", f"{base}{reverse('backtest-list')}")
    audit.visit("revops: backtest", f"{base}{reverse('backtest', args=[first.pk])}")
    audit.visit("revops: backtest compare", f"{base}{reverse('backtest-compare')}?ids={first.pk},{second.pk}")
    audit.visit("revops: attribution", f"{base}{reverse('finance-attribution')}")

    signal = SignalDefinition.objects.order_by("pk").first()
    audit.visit(
        "admin: signal", f"{base}{reverse('admin:scoring_signaldefinition_change', args=[signal.pk])}"
    )
    with page.context.expect_page() as preview:
        page.get_by_role("button", name="Preview impact (last 12 months)").click()
    preview_page = preview.value
    expect(preview_page.get_by_role("heading", level=1)).to_be_visible(timeout=120_000)
    preview_page.wait_for_load_state("networkidle")
    audit.found["admin: signal preview"] = violations(preview_page)
    preview_page.close()
    audit.visit(
        "admin: gate", f"{base}{reverse('admin:scoring_gate_change', args=[Gate.objects.first().pk])}"
    )
    rule = RoutingRule.objects.order_by("pk").first()
    audit.visit("admin: routing rule", f"{base}{reverse('admin:routing_routingrule_change', args=[rule.pk])}")
    policy = EqlPolicy.objects.order_by("pk").first()
    audit.visit("admin: policy", f"{base}{reverse('admin:scoring_eqlpolicy_change', args=[policy.pk])}")
    sign_out(page, base)

    sign_in(page, base, company["finance"])
    audit.check("finance: queue")
    audit.visit("finance: attribution", f"{base}{reverse('finance-attribution')}")
    audit.visit("finance: attribution of one EQL", f"{base}{reverse('finance-attribution-eql-pick')}")
    audit.visit(
        "finance: EQL credit", f"{base}{reverse('finance-attribution-eql', args=[company['won_eql']])}"
    )
    audit.visit("finance: config changes", f"{base}{reverse('finance-changes')}")
    audit.visit("finance: coverage", f"{base}{reverse('reports-coverage')}")

    audit.assert_clean()


def focus_by_tab(page: Page, target: Locator, limit: int = 80) -> int:
    """Press Tab until ``target`` has focus (with a visible focus ring); return how many presses."""
    expect(target).to_have_count(1)
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            outline = target.evaluate(
                "el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth,"
                " getComputedStyle(el).boxShadow]"
            )
            assert outline[0] != "none" or outline[2] != "none", f"{target} has no visible focus ring"
            return presses
    raise AssertionError(f"{target} was not reached with {limit} presses of Tab")


def test_the_queue_and_an_eql_action_work_with_the_keyboard_alone(page: Page, live_server, team):  # noqa: F811
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/login/")
    focus_by_tab(page, page.get_by_label("Email"))
    page.keyboard.type(team["ae"].email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="EQL queue")).to_be_visible()

    # The first Tab offers to skip the navigation; Enter moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    top = team["top"]
    focus_by_tab(page, page.locator(f"#eql-row-{top.pk}").get_by_role("link", name="Northwind Logistics"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Northwind Logistics")).to_be_visible()

    focus_by_tab(page, page.get_by_role("button", name="Call booked"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("eql-status")).to_have_text("Call booked")
    expect(page.locator("#eql-activity")).to_contain_text("Call booked by Maya Patel")
    assert Activity.objects.filter(eql=top, event="call_booked", actor=team["ae"]).exists()

    # Back in the queue, the next EQL's quick action from the keyboard; the row updates in place.
    page.goto(f"{base}/")
    second = team["second"]
    focus_by_tab(page, page.locator(f"#eql-row-{second.pk}").get_by_role("button", name="Log contact"))
    page.keyboard.press("Enter")
    expect(page.locator(f"#eql-row-{second.pk} .status")).to_have_text("Contacted")
    second.refresh_from_db()
    assert second.status == "contacted"
