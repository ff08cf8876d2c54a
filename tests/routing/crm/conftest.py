"""A Salesforce and a HubSpot connection pointed at the local test servers (tests/crm_fakes)."""

from __future__ import annotations

import pytest

from expansion.models import Role
from routing.crm import services
from routing.crm.models import CrmConnection
from tests.factories import AccountFactory, EQLFactory, UserFactory


@pytest.fixture
def salesforce(salesforce_fake, settings, db):
    """An Opportunity connection on the Salesforce test server (client-credentials flow)."""
    settings.SALESFORCE_CLIENT_ID = salesforce_fake.client_id
    settings.SALESFORCE_CLIENT_SECRET = salesforce_fake.client_secret
    settings.SALESFORCE_DOMAIN = salesforce_fake.instance_url
    settings.SALESFORCE_INSTANCE_URL = ""
    settings.SALESFORCE_ACCESS_TOKEN = ""
    settings.CRM_BULK_POLL_SECONDS = 0
    settings.CRM_MAX_RETRY_WAIT_SECONDS = 5
    connection = CrmConnection.objects.create(
        name="sf",
        kind="salesforce",
        object_type="Opportunity",
        upsert_key="EQL_Id__c",
        auto_create_routes=["ae", "csm"],
    )
    services.mapping_defaults_apply(connection=connection)
    return connection


@pytest.fixture
def hubspot(hubspot_fake, settings, db):
    settings.HUBSPOT_ACCESS_TOKEN = hubspot_fake.access_token
    settings.HUBSPOT_API_BASE = hubspot_fake.base_url.rstrip("/")
    settings.HUBSPOT_PORTAL_ID = "4711"
    settings.CRM_MAX_RETRY_WAIT_SECONDS = 5
    connection = CrmConnection.objects.create(
        name="hs", kind="hubspot", object_type="deals", upsert_key="eql_id", auto_create_routes=["ae", "csm"]
    )
    services.mapping_defaults_apply(connection=connection)
    return connection


@pytest.fixture
def ae(db):
    return UserFactory(role=Role.AE, email="alex@example.com", name="Alex AE")


def open_eqls(n: int, *, owner, crm_account_id: str, **kwargs):
    """``n`` open AE EQLs, each on its own account linked to the same CRM account."""
    return [
        EQLFactory(account=AccountFactory(ae=owner, crm_account_id=crm_account_id), owner=owner, **kwargs)
        for _ in range(n)
    ]
