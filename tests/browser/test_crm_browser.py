"""An AE sends an EQL to Salesforce from its page in Chromium (#16): "Create in Salesforce", then
"Open in Salesforce", against the local Salesforce server.

Run: ``DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python -m pytest tests/browser -q -m browser``.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from expansion.models import Role
from routing.crm import services
from routing.crm.models import CrmConnection
from tests.browser.test_inbox_browser import sign_in
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_ae_creates_the_eql_in_salesforce_and_opens_it(
    page: Page, live_server, salesforce_fake, settings, artifacts_dir
):
    settings.SALESFORCE_CLIENT_ID = salesforce_fake.client_id
    settings.SALESFORCE_CLIENT_SECRET = salesforce_fake.client_secret
    settings.SALESFORCE_DOMAIN = salesforce_fake.instance_url
    connection = CrmConnection.objects.create(
        name="sf",
        kind="salesforce",
        object_type="Opportunity",
        upsert_key="EQL_Id__c",
        auto_create_routes=["csm"],
    )
    services.mapping_defaults_apply(connection=connection)
    ae = UserFactory(email="maya@example.com", name="Maya Patel", role=Role.AE)
    salesforce_fake.add_user(ae.email)
    account = AccountFactory(
        name="Harbor Freight Co", ae=ae, crm_account_id=salesforce_fake.add_account("Harbor")
    )
    eql = EQLFactory(account=account, owner=ae)

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, ae)
    page.goto(f"{live_server.url}/eqls/{eql.pk}/")
    panel = page.locator("#eql-crm")
    expect(panel.get_by_role("heading", name="In the CRM")).to_be_visible()
    panel.get_by_role("button", name="Create in Salesforce").click()

    link = panel.get_by_role("link", name="Open in Salesforce")
    expect(link).to_be_visible()
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]
    expect(link).to_have_attribute(
        "href", f"{salesforce_fake.instance_url}/lightning/r/Opportunity/{opp['Id']}/view"
    )
    expect(panel).to_contain_text(opp["Id"])
    page.screenshot(path=str(artifacts_dir / "eql-crm-created.png"), full_page=True)
