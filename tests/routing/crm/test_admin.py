"""RevOps sets up a CRM connection in admin: defaults on save, clear errors for a bad mapping."""

from __future__ import annotations

import pytest
from django.urls import reverse

from expansion.models import Role
from routing.crm import payload
from routing.crm.models import CrmConnection, CrmFieldMap, CrmLink
from scoring.signals import pass_completed
from tests.factories import UserFactory
from tests.routing.crm.conftest import open_eqls

pytestmark = pytest.mark.django_db


@pytest.fixture
def revops(client):
    user = UserFactory(role=Role.REVOPS, email="olli@example.com", is_staff=True)
    from expansion.services import assign_role_group

    assign_role_group(user)
    client.force_login(user)
    return user


def _form(connection: CrmConnection | None, **overrides) -> dict:
    """The change form as the browser posts it, with the connection's current inline rows."""
    fields = list(connection.fields.order_by("pk")) if connection else []
    stages = list(connection.stages.order_by("pk")) if connection else []
    data = {
        "name": "sf",
        "kind": "salesforce",
        "enabled": "on",
        "object_type": "Opportunity",
        "upsert_key": "EQL_Id__c",
        "auto_create_routes": ["ae", "csm"],
        "bulk_threshold": "2000",
        "hubspot_pipeline": "default",
        "read_back": "on",
        "fields-TOTAL_FORMS": str(len(fields)),
        "fields-INITIAL_FORMS": str(len(fields)),
        "stages-TOTAL_FORMS": str(len(stages)),
        "stages-INITIAL_FORMS": str(len(stages)),
    }
    for i, f in enumerate(fields):
        data.update(
            {
                f"fields-{i}-id": str(f.pk),
                f"fields-{i}-connection": str(connection.pk),
                f"fields-{i}-crm_field": f.crm_field,
                f"fields-{i}-source": f.source,
                **({f"fields-{i}-required": "on"} if f.required else {}),
            }
        )
    for i, s in enumerate(stages):
        data.update(
            {
                f"stages-{i}-id": str(s.pk),
                f"stages-{i}-connection": str(connection.pk),
                f"stages-{i}-eql_status": s.eql_status,
                f"stages-{i}-crm_stage": s.crm_stage,
            }
        )
    data.update(overrides)
    return data


def test_a_new_connection_gets_the_default_mapping_for_its_object(client, revops):
    response = client.post(reverse("admin:crm_crmconnection_add"), _form(None))

    assert response.status_code == 302, response.content.decode()[:2000]
    connection = CrmConnection.objects.get(name="sf")
    rows = [(f.crm_field, f.source, f.required) for f in connection.fields.order_by("pk")]
    assert rows == list(payload.DEFAULT_FIELDS[("salesforce", "Opportunity")])
    assert {s.eql_status: s.crm_stage for s in connection.stages.all()} == payload.DEFAULT_STAGES[
        ("salesforce", "Opportunity")
    ]
    assert connection.auto_create_routes == ["ae", "csm"]


def test_a_field_mapped_twice_is_refused_with_a_clear_message_and_nothing_changes(client, revops):
    client.post(reverse("admin:crm_crmconnection_add"), _form(None))
    connection = CrmConnection.objects.get(name="sf")
    before = list(CrmFieldMap.objects.values_list("crm_field", "source"))

    # the second row (AccountId) renamed to Name, which the first row already maps
    response = client.post(
        reverse("admin:crm_crmconnection_change", args=[connection.pk]),
        _form(connection, **{"fields-1-crm_field": "Name"}),
    )

    assert response.status_code == 200
    assert "Name is mapped twice; a CRM field gets one EQL value." in response.content.decode()
    assert list(CrmFieldMap.objects.values_list("crm_field", "source")) == before


def test_won_and_lost_on_one_stage_are_refused(client, revops):
    client.post(reverse("admin:crm_crmconnection_add"), _form(None))
    connection = CrmConnection.objects.get(name="sf")
    lost = next(i for i, s in enumerate(connection.stages.order_by("pk")) if s.eql_status == "lost")

    response = client.post(
        reverse("admin:crm_crmconnection_change", args=[connection.pk]),
        _form(connection, **{f"stages-{lost}-crm_stage": "Closed Won"}),
    )

    assert response.status_code == 200
    assert "Won and lost map to the same CRM stage" in response.content.decode()
    assert connection.stages.get(eql_status="lost").crm_stage == "Closed Lost"


def test_hubspot_cannot_write_an_opportunity(client, revops):
    response = client.post(
        reverse("admin:crm_crmconnection_add"), _form(None, kind="hubspot", upsert_key="eql_id")
    )

    assert response.status_code == 200
    assert (
        "Salesforce writes an Opportunity, Task or Lead; HubSpot a deal or a task."
        in response.content.decode()
    )
    assert not CrmConnection.objects.exists()


def test_the_connection_list_says_which_credentials_are_missing(client, revops, settings):
    settings.SALESFORCE_CLIENT_ID = settings.SALESFORCE_ACCESS_TOKEN = ""
    CrmConnection.objects.create(
        name="sf", kind="salesforce", object_type="Opportunity", upsert_key="EQL_Id__c"
    )

    page = client.get(reverse("admin:crm_crmconnection_changelist")).content.decode()

    assert "Salesforce is not configured: set SALESFORCE_CLIENT_ID" in page


def test_check_mapping_names_a_field_the_crm_does_not_have(client, revops, salesforce, salesforce_fake):
    salesforce.fields.create(crm_field="Renewal_Risk__c", source="score")

    response = client.post(
        reverse("admin:crm_crmconnection_changelist"),
        {"action": "check_mapping", "_selected_action": [salesforce.pk]},
        follow=True,
    )

    assert (
        "Connection sf: Renewal_Risk__c: no such field on Opportunity in the CRM" in response.content.decode()
    )


def test_check_mapping_passes_on_the_defaults(client, revops, salesforce, salesforce_fake):
    response = client.post(
        reverse("admin:crm_crmconnection_changelist"),
        {"action": "check_mapping", "_selected_action": [salesforce.pk]},
        follow=True,
    )

    assert "Connection sf: the mapping matches the CRM." in response.content.decode()


def test_a_completed_scoring_pass_queues_the_crm_sync(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]

    pass_completed.send_robust(None, scoring_pass_id=1)

    assert CrmLink.objects.get(eql=eql).crm_id == salesforce_fake.find("Opportunity")[0]["Id"]
