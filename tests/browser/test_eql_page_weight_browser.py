"""The EQL page in Chromium: light (no chart library), no console error after an action, no failed
request (the favicon included), and the badge and "calibrated" chip readable (4.5:1) (#15)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from routing.models import Notification
from tests.browser.test_inbox_browser import sign_in, team  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

#: htmx (about 50 kB) and nothing like plotly (4.7 MB).
MAX_SCRIPT_BYTES = 150_000

SCRIPTS_JS = """() => performance.getEntriesByType('resource')
  .filter(e => e.initiatorType === 'script')
  .map(e => ({url: e.name, bytes: e.transferSize || e.encodedBodySize}))"""

CONTRAST_JS = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => {
    const [r, g, b] = c.map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_the_eql_page_is_light_and_an_action_leaves_no_console_error(
    page: Page,
    live_server,
    team,  # noqa: F811
):
    top = team["top"]
    top.estimate_source = "calibrated"
    top.save(update_fields=["estimate_source"])
    Notification.objects.create(recipient=team["ae"], eql=top, kind="new_eql", subject="New EQL", body="b")
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, live_server.url, team["ae"])

    # when the AE opens the EQL page cold
    page.goto(f"{live_server.url}/eqls/{top.pk}/")
    page.wait_for_load_state("load")

    # then it draws the sparkline without a chart library, with a few kB of script
    expect(page.locator("#spark .spark-line")).to_be_attached()
    expect(page.locator("#spark .spark-threshold")).to_be_attached()
    expect(page.get_by_role("img", name="Seat utilisation went from")).to_be_visible()
    scripts = page.evaluate(SCRIPTS_JS)
    assert scripts, "no script was measured"
    assert not [s for s in scripts if "plotly" in s["url"]]
    assert sum(s["bytes"] for s in scripts) < MAX_SCRIPT_BYTES, scripts
    # and the badge and the chip are readable
    assert page.evaluate(CONTRAST_JS, ".badge-count") >= 4.5
    assert page.evaluate(CONTRAST_JS, ".chip-ok") >= 4.5

    # when the AE books a call from the page
    page.get_by_role("button", name="Call booked").click()

    # then the page updates with no console error (no out-of-band swap without a target)
    expect(page.get_by_test_id("eql-status")).to_have_text("Call booked")
    expect(page.locator("#flash")).to_contain_text("Call booked")
    page.wait_for_load_state("networkidle")
    assert errors == []
    assert failed == []  # the favicon included: no request for a missing /favicon.ico
