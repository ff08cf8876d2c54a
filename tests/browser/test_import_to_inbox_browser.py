"""From a warehouse export to a booked call, in Chromium: ``import_data`` on a small export in the
contract's format (``docs/contract.md``), ``score`` with the seeded signals, gates and routing rules,
then the owning AE finds the EQL at the top of the queue, reads why now and what to say, and books a
call. Dates are relative to today, so the usage is always fresh."""

from __future__ import annotations

import csv
import datetime as dt
import os
from io import StringIO
from pathlib import Path

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from expansion.models import EQL, Activity, User
from tests.browser.test_inbox_browser import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AE = "maya.patel@harbor.example"
OTHER_AE = "jonas.berg@harbor.example"
CSM = "sofia.lindqvist@harbor.example"
SEATS = 500
#: Seats in use on every one of the last 100 days at the expansion-ready account (92% of 500).
HOT_SEATS = 460
CONTRACT_ARR = 200_000
#: segment, plan tier and contract ARR of every account
PLAN = ("MidMarket", "Business", CONTRACT_ARR)
#: The seeded seat-utilisation signal's default uplift (no won expansions to calibrate from).
SEAT_UPLIFT = 0.20

ACCOUNTS = [
    # account_id, name, ae, seats in use, automation workflows
    ("ACC-100", "Harbor Freight Systems", AE, HOT_SEATS, 30),  # expansion-ready
    ("ACC-200", "Quiet Meadow Farms", AE, 240, 2),  # steady, nothing fires
    ("ACC-300", "Lantern Books", AE, 310, 4),  # steady, nothing fires
    ("ACC-400", "Summit Capital", OTHER_AE, 490, 30),  # ready, but another AE's
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def write_export(folder: Path, today: dt.date) -> Path:
    folder.mkdir()
    write_csv(
        folder / "users.csv",
        ["email", "name", "role", "manager_email", "capacity"],
        [
            [AE, "Maya Patel", "AE", "", ""],
            [OTHER_AE, "Jonas Berg", "AE", "", ""],
            [CSM, "Sofia Lindqvist", "CSM", "", ""],
        ],
    )
    since = (today - dt.timedelta(days=700)).isoformat()  # past the minimum tenure
    renewal = (today + dt.timedelta(days=200)).isoformat()
    write_csv(
        folder / "accounts.csv",
        [
            "account_id",
            "name",
            "segment",
            "plan_tier",
            "contract_arr",
            "customer_since",
            "renewal_date",
            "seats_licensed",
            "api_limit_30d",
            "owned_modules",
            "health_score",
            "status",
            "ae_email",
            "csm_email",
        ],
        [
            [aid, name, *PLAN, since, renewal, SEATS, 100_000, "", 90, "active", ae, CSM]
            for aid, name, ae, _seats, _workflows in ACCOUNTS
        ],
    )
    usage = []
    for aid, _name, _ae, seats, workflows in ACCOUNTS:
        for back in range(100):
            day = (today - dt.timedelta(days=back)).isoformat()
            metrics = {
                "seats_active": seats,
                "api_calls_30d": 20_000,
                "features_used": 5,
                "automation_workflows": workflows,
                "departments_active": 3,
                "export_rows_30d": 500,
            }
            usage += [[aid, day, metric, value] for metric, value in metrics.items()]
    write_csv(folder / "usage.csv", ["account_id", "date", "metric", "value"], usage)
    write_csv(
        folder / "activities.csv",
        ["activity_id", "account_id", "occurred_at", "type", "actor_email", "commercial"],
        [["ACT-1", "ACC-200", (today - dt.timedelta(days=12)).isoformat(), "qbr", CSM, "false"]],
    )
    write_csv(
        folder / "expansions.csv",
        [
            "opportunity_id",
            "account_id",
            "created_date",
            "closed_date",
            "status",
            "expansion_arr",
            "expansion_type",
            "contract_arr_at_close",
        ],
        [],
    )
    return folder


def test_ae_books_a_call_on_an_eql_scored_from_an_imported_export(page: Page, live_server, tmp_path):
    # given an export in the contract's format, imported and scored like the hourly job does
    today = timezone.localdate()
    call_command("import_data", str(write_export(tmp_path / "export", today)), stdout=StringIO())
    call_command("score", stdout=StringIO())
    ae = User.objects.get(email=AE)
    ae.set_password(PASSWORD)  # the import creates people without a password
    ae.save()
    eql = EQL.objects.get(account__account_id="ACC-100")
    assert (eql.status, eql.route, eql.owner.email) == ("new", "ae", AE)
    assert set(EQL.objects.values_list("account__account_id", flat=True)) == {"ACC-100", "ACC-400"}

    # when the owning AE signs in, the EQL is at the top of their queue with its signal and estimate
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, ae)
    rows = page.locator("table.eqls tbody tr")
    expect(rows).to_have_count(1)  # Summit Capital is Jonas's
    top = rows.first
    expect(top.locator("[data-label=Account]")).to_contain_text("Harbor Freight Systems")
    expect(top.locator("[data-label='Primary signal']")).to_contain_text("Seat utilisation")
    expect(top.locator("[data-label='Est. expansion ARR']")).to_have_text(
        f"${CONTRACT_ARR * SEAT_UPLIFT:,.0f}"
    )
    expect(top.locator("[data-label='Contract ARR']")).to_have_text(f"${CONTRACT_ARR:,}")

    # and opening it shows why now and the opening angle, in the account's own numbers
    top.get_by_role("link", name="Harbor Freight Systems").click()
    expect(page.get_by_role("heading", name="Harbor Freight Systems")).to_be_visible()
    why = page.locator("section.o-why")
    primary = why.locator("li.is-primary")
    expect(primary).to_have_count(1)
    expect(primary).to_contain_text(f"Seat utilisation {HOT_SEATS * 100 // SEATS}% ≥ 90% for 7 days")
    expect(primary).to_contain_text("primary")
    expect(page.get_by_test_id("opening-angle")).to_contain_text(
        f"Harbor Freight Systems has had {HOT_SEATS} of {SEATS} seats in use (92%) every day "
        "for the past week."
    )

    # and booking a call changes its status, on the page and in the database
    page.get_by_role("button", name="Call booked").click()
    expect(page.get_by_test_id("eql-status")).to_have_text("Call booked")
    expect(page.locator("#eql-activity")).to_contain_text("Call booked by Maya Patel")
    eql.refresh_from_db()
    assert eql.status == "call_booked"
    assert Activity.objects.filter(eql=eql, event="call_booked", actor=ae).exists()
    assert EQL.objects.get(account__account_id="ACC-400").status == "new"
