"""The CRM sync against the local HubSpot server: deals by the eql_id property, 207s, read-back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from expansion.models import AttributionEntry
from routing.crm import services
from routing.crm.models import CrmConnection, CrmLink, CrmReject
from routing.services import eql_transition
from tests.routing.crm.conftest import open_eqls

pytestmark = pytest.mark.django_db


def sync(connection, **kwargs):
    return services.crm_sync(connection=connection, **kwargs)


def test_first_sync_upserts_deals_and_associates_them_with_their_company(hubspot, hubspot_fake, ae):
    owner = hubspot_fake.add_owner(ae.email)
    company = hubspot_fake.add_company("Acme")
    eqls = open_eqls(2, owner=ae, crm_account_id=company)

    result = sync(hubspot)

    assert (result.written, result.rejected) == (2, 0)
    deal = hubspot_fake.find("deals", eql_id=str(eqls[0].pk))[0]
    props = deal["properties"]
    assert (props["hubspot_owner_id"], props["dealstage"], props["pipeline"]) == (
        owner,
        "appointmentscheduled",
        "default",
    )
    assert props["amount"] == "9600.0"
    assert props["eql_link"] == f"http://127.0.0.1:8000/eqls/{eqls[0].pk}/"
    assert sorted(a["from"]["id"] for a in hubspot_fake.associations) == sorted(
        CrmLink.objects.values_list("crm_id", flat=True)
    )
    assert {a["to"]["id"] for a in hubspot_fake.associations} == {company}

    writes = hubspot_fake.write_requests()
    again = sync(hubspot)

    assert (again.written, again.unchanged) == (0, 2)
    assert hubspot_fake.write_requests() == writes


def test_a_partial_batch_writes_the_good_deals_and_logs_the_refused_one(hubspot, hubspot_fake, ae):
    hubspot_fake.add_owner(ae.email)
    good, bad = open_eqls(2, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))
    hubspot_fake.reject("deals", str(bad.pk), 'Property values were not valid: amount "x"')

    result = sync(hubspot)

    assert (result.written, result.rejected) == (1, 1)
    assert hubspot_fake.find("deals", eql_id=str(good.pk))
    reject = CrmReject.objects.get(eql=bad)
    assert (reject.code, reject.message) == ("VALIDATION_ERROR", 'Property values were not valid: amount "x"')

    hubspot_fake.clear_reject("deals", str(bad.pk))
    retry = sync(hubspot)

    assert (retry.written, retry.unchanged, retry.rejected) == (1, 1, 0)
    assert CrmReject.objects.get(pk=reject.pk).resolved_at is not None


def test_a_deal_closed_won_in_hubspot_closes_the_eql_once(hubspot, hubspot_fake, ae):
    hubspot_fake.add_owner(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))[0]
    sync(hubspot)
    deal = hubspot_fake.find("deals", eql_id=str(eql.pk))[0]

    hubspot_fake.crm_edit("deals", deal["id"], dealstage="closedwon", amount="20000")
    result = sync(hubspot)

    eql.refresh_from_db()
    assert result.closed_from_crm == 1
    assert (eql.status, eql.won_arr) == ("won", Decimal("20000.00"))
    entries = AttributionEntry.objects.filter(eql=eql).count()
    assert entries >= 1
    assert sync(hubspot).closed_from_crm == 0
    assert AttributionEntry.objects.filter(eql=eql).count() == entries


def test_an_expired_hubspot_token_fails_the_run_loudly(hubspot, hubspot_fake, ae):
    hubspot_fake.add_owner(ae.email)
    open_eqls(1, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))
    hubspot_fake.expire_token()

    result = sync(hubspot)

    assert result.state == "failed"
    assert "the HubSpot token expired or was revoked; set a new HUBSPOT_ACCESS_TOKEN" in result.message
    assert not CrmLink.objects.exclude(crm_id="").exists()


def test_an_oauth_refresh_token_is_used_once_when_the_token_expires(hubspot, hubspot_fake, ae, settings):
    settings.HUBSPOT_CLIENT_ID = hubspot_fake.client_id
    settings.HUBSPOT_CLIENT_SECRET = hubspot_fake.client_secret
    settings.HUBSPOT_REFRESH_TOKEN = hubspot_fake.refresh_token
    hubspot_fake.add_owner(ae.email)
    open_eqls(1, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))
    hubspot_fake.expire_token()

    result = sync(hubspot)

    assert (result.state, result.written) == ("done", 1)
    assert [r["path"] for r in hubspot_fake.requests].count("/oauth/v1/token") == 1


def test_a_429_from_hubspot_is_waited_out(hubspot, hubspot_fake, ae):
    hubspot_fake.add_owner(ae.email)
    open_eqls(1, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))
    hubspot_fake.rate_limit_next(count=1, retry_after=1)

    result = sync(hubspot, read_back=False)

    assert (result.state, result.written) == ("done", 1)
    assert [r["path"] for r in hubspot_fake.requests].count("/crm/v3/owners/") == 2


def test_an_unknown_property_fails_the_run_and_the_check_names_it(hubspot, hubspot_fake, ae):
    hubspot_fake.add_owner(ae.email)
    open_eqls(1, owner=ae, crm_account_id=hubspot_fake.add_company("Acme"))
    hubspot.fields.create(crm_field="eql_typo", source="score")

    result = sync(hubspot)

    assert result.state == "failed"
    assert result.message.startswith("HubSpot refused the mapping for deals:")
    assert "eql_typo" in result.message
    assert services.mapping_check(connection=hubspot) == ["eql_typo: no such field on deals in the CRM"]


def test_hubspot_tasks_are_written_with_their_own_mapping(hubspot_fake, settings, ae):
    settings.HUBSPOT_ACCESS_TOKEN = hubspot_fake.access_token
    settings.HUBSPOT_API_BASE = hubspot_fake.base_url.rstrip("/")
    connection = CrmConnection.objects.create(
        name="hs-tasks", kind="hubspot", object_type="tasks", upsert_key="eql_id", auto_create_routes=["ae"]
    )
    services.mapping_defaults_apply(connection=connection)
    hubspot_fake.add_owner(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id="", priority="high")[0]

    result = sync(connection)

    assert result.written == 1
    props = hubspot_fake.find("tasks", eql_id=str(eql.pk))[0]["properties"]
    assert (props["hs_task_status"], props["hs_task_priority"]) == ("NOT_STARTED", "HIGH")
    eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    sync(connection)
    assert hubspot_fake.find("tasks", eql_id=str(eql.pk))[0]["properties"]["hs_task_status"] == "IN_PROGRESS"
