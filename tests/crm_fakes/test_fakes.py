"""The CRM fakes driven through the real client libraries, the way the product's sync calls them."""

import json

import hubspot
import pytest
import requests
from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

UPSERT = "composite/sobjects/Opportunity/EQL_Id__c"


def sf_client(fake):
    return Salesforce(instance_url=fake.instance_url, session_id=fake.access_token, version="62.0")


def opportunity(eql_id, account_id, owner_id, **fields):
    return {
        "attributes": {"type": "Opportunity"},
        "EQL_Id__c": eql_id,
        "Name": f"Expansion {eql_id}",
        "StageName": "Prospecting",
        "CloseDate": "2026-12-31",
        "AccountId": account_id,
        "OwnerId": owner_id,
        **fields,
    }


def hs_client(fake):
    return hubspot.Client(access_token=fake.access_token, host=fake.base_url)


def deal_inputs(*eql_ids, **props):
    inputs = [
        {"idProperty": "eql_id", "id": e, "properties": {"dealname": f"Expansion {e}", **props}}
        for e in eql_ids
    ]
    return BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)


# ---- Salesforce ---------------------------------------------------------------------------------------
def test_token_endpoint_issues_a_current_token_and_refuses_bad_credentials(salesforce_fake):
    good = {"grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret"}
    response = requests.post(salesforce_fake.token_url, data=good, timeout=5)
    assert response.status_code == 200
    assert response.json()["access_token"] == salesforce_fake.access_token
    assert response.json()["instance_url"] == salesforce_fake.instance_url
    bad = requests.post(salesforce_fake.token_url, data={**good, "client_secret": "nope"}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_client")


def test_collections_upsert_creates_then_updates_by_external_id(salesforce_fake):
    account, owner = salesforce_fake.add_account("Acme"), salesforce_fake.add_user("ae@example.com")
    sf = sf_client(salesforce_fake)
    first = sf.restful(
        UPSERT, method="PATCH", json={"allOrNone": False, "records": [opportunity("E1", account, owner)]}
    )
    assert first[0]["success"] is True
    assert first[0]["created"] is True
    assert first[0]["id"].startswith("006")
    assert len(first[0]["id"]) == 18
    records = [opportunity("E1", account, owner, StageName="Closed Won")]
    second = sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert second == [{"id": first[0]["id"], "success": True, "errors": [], "created": False}]
    [stored] = salesforce_fake.find("Opportunity", EQL_Id__c="E1")
    assert (stored["IsClosed"], stored["IsWon"]) == (True, True)
    assert salesforce_fake.write_requests() == 2


def test_one_bad_record_among_200_fails_alone_and_201_records_are_refused(salesforce_fake):
    account, owner = salesforce_fake.add_account("Acme"), salesforce_fake.add_user("ae@example.com")
    sf = sf_client(salesforce_fake)
    records = [opportunity(f"E{i}", account, owner) for i in range(200)]
    records[57]["AccountId"] = "001000000000999AAA"
    results = sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert len(results) == 200
    assert sum(r["success"] for r in results) == 199
    assert results[57] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                "message": "invalid cross reference id",
                "fields": ["AccountId"],
            }
        ],
    }
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(
            UPSERT,
            method="PATCH",
            json={"allOrNone": False, "records": [*records, opportunity("X", account, owner)]},
        )
    assert refused.value.status == 400
    assert refused.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert len(salesforce_fake.objects["Opportunity"]) == 199


def test_per_record_rejections_required_fields_and_unknown_columns(salesforce_fake):
    account, owner = salesforce_fake.add_account("Acme"), salesforce_fake.add_user("ae@example.com")
    inactive = salesforce_fake.add_user("gone@example.com", active=False)
    salesforce_fake.reject(
        "Opportunity", "E3", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount required", ["Amount"]
    )
    sf = sf_client(salesforce_fake)
    records = [
        {"attributes": {"type": "Opportunity"}, "EQL_Id__c": "E1", "Name": "x"},
        opportunity("E2", account, inactive),
        opportunity("E3", account, owner),
    ]
    results = sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "REQUIRED_FIELD_MISSING",
        "INVALID_CROSS_REFERENCE_KEY",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    ]
    assert results[0]["errors"][0]["fields"] == ["StageName", "CloseDate"]
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.restful(
            UPSERT, method="PATCH", json={"records": [opportunity("E4", account, owner, Colour__c="red")]}
        )
    assert bad.value.content == [
        {"message": "No such column 'Colour__c' on sobject of type Opportunity", "errorCode": "INVALID_FIELD"}
    ]


def test_expired_token_limit_and_rate_limit_raise_the_library_exceptions(salesforce_fake):
    sf = sf_client(salesforce_fake)
    salesforce_fake.expire_token()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Opportunity")
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    sf = sf_client(salesforce_fake)  # reconnect with the token issued after the refresh
    salesforce_fake.limit_after(1)
    sf.query("SELECT Id FROM Opportunity")
    with pytest.raises(SalesforceRefusedRequest) as limited:
        sf.query("SELECT Id FROM Opportunity")
    assert limited.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    salesforce_fake.lift_limit()
    salesforce_fake.rate_limit_next(count=1, retry_after=7)
    retry_after = []
    sf.session.hooks["response"].append(lambda r, *a, **k: retry_after.append(r.headers.get("Retry-After")))
    with pytest.raises(SalesforceGeneralError) as throttled:
        sf.query("SELECT Id FROM Opportunity")
    assert (throttled.value.status, retry_after[-1]) == (429, "7")
    assert sf.query("SELECT Id FROM Opportunity")["totalSize"] == 0


def test_query_pages_through_next_records_url_with_filters(salesforce_fake):
    account, owner = salesforce_fake.add_account("Acme"), salesforce_fake.add_user("ae@example.com")
    sf = sf_client(salesforce_fake)
    sf.restful(
        UPSERT, method="PATCH", json={"records": [opportunity(f"E{i}", account, owner) for i in range(5)]}
    )
    [first] = salesforce_fake.find("Opportunity", EQL_Id__c="E0")
    watermark = max(r["SystemModstamp"] for r in salesforce_fake.objects["Opportunity"].values()).replace(
        "+0000", "Z"
    )
    salesforce_fake.crm_edit("Opportunity", first["Id"], StageName="Closed Won", Amount=1200.0)
    salesforce_fake.query_page_size = 2
    page = sf.query("SELECT Id, EQL_Id__c FROM Opportunity WHERE EQL_Id__c != null ORDER BY EQL_Id__c ASC")
    seen = [r["EQL_Id__c"] for r in page["records"]]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        seen += [r["EQL_Id__c"] for r in page["records"]]
    assert seen == ["E0", "E1", "E2", "E3", "E4"]
    changed = sf.query(
        f"SELECT Id, StageName, Amount FROM Opportunity WHERE SystemModstamp > {watermark} "
        "AND EQL_Id__c IN ('E0','E1') LIMIT 10"
    )
    assert [(r["Id"], r["StageName"], r["Amount"]) for r in changed["records"]] == [
        (first["Id"], "Closed Won", 1200.0)
    ]
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT COUNT() FROM Opportunity GROUP BY StageName")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_bulk_ingest_job_through_restful_and_bulk2(salesforce_fake):
    account, owner = salesforce_fake.add_account("Acme"), salesforce_fake.add_user("ae@example.com")
    sf = sf_client(salesforce_fake)
    job = sf.restful(
        "jobs/ingest",
        method="POST",
        data=json.dumps(
            {
                "object": "Opportunity",
                "externalIdFieldName": "EQL_Id__c",
                "contentType": "CSV",
                "operation": "upsert",
                "lineEnding": "LF",
            }
        ),
    )
    assert job["state"] == "Open"
    assert job["contentUrl"].endswith(f"/jobs/ingest/{job['id']}/batches")
    rows = "EQL_Id__c,Name,StageName,CloseDate,AccountId,OwnerId\n"
    rows += f"B1,One,Prospecting,2026-12-31,{account},{owner}\n"
    rows += f"B2,Two,Prospecting,2026-12-31,001000000000999AAA,{owner}\n"
    upload = sf.session.put(
        f"{sf.base_url}jobs/ingest/{job['id']}/batches",
        data=rows,
        headers={**sf.headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    sf.restful(f"jobs/ingest/{job['id']}", method="PATCH", data=json.dumps({"state": "UploadComplete"}))
    assert sf.restful(f"jobs/ingest/{job['id']}")["state"] == "InProgress"
    done = sf.restful(f"jobs/ingest/{job['id']}")
    assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
        "JobComplete",
        2,
        1,
    )
    failed = sf.session.get(f"{sf.base_url}jobs/ingest/{job['id']}/failedResults/", headers=sf.headers).text
    assert (
        failed.splitlines()[0]
        == '"sf__Id","sf__Error","EQL_Id__c","Name","StageName","CloseDate","AccountId","OwnerId"'
    )
    assert '"INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:AccountId --"' in failed.splitlines()[1]
    ok = sf.session.get(f"{sf.base_url}jobs/ingest/{job['id']}/successfulResults/", headers=sf.headers).text
    [stored] = salesforce_fake.find("Opportunity", EQL_Id__c="B1")
    assert ok.splitlines()[1].startswith(f'"{stored["Id"]}","true","B1"')
    salesforce_fake.bulk_polls_in_progress = 0
    results = sf.bulk2.Opportunity.upsert(
        records=[{"EQL_Id__c": "B1", "Name": "Renamed"}], external_id_field="EQL_Id__c"
    )
    assert (results[0]["numberRecordsProcessed"], results[0]["numberRecordsFailed"]) == (1, 0)
    assert salesforce_fake.objects["Opportunity"][stored["Id"]]["Name"] == "Renamed"


def test_describe_lists_the_eql_fields_and_the_external_id(salesforce_fake):
    salesforce_fake.add_field("Task", "Region__c")
    described = sf_client(salesforce_fake).restful("sobjects/Task/describe")
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["EQL_Id__c"]["externalId"] is True
    assert fields["EQL_Id__c"]["unique"] is True
    assert (fields["EQL_SLA_Deadline__c"]["type"], fields["Region__c"]["externalId"]) == ("datetime", False)


# ---- HubSpot ------------------------------------------------------------------------------------------
def test_hubspot_batch_upsert_creates_then_updates(hubspot_fake):
    client = hs_client(hubspot_fake)
    first = client.crm.deals.batch_api.upsert(deal_inputs("E1", "E2", eql_score="0.8"))
    assert [r.new for r in first.results] == [True, True]
    assert first.status == "COMPLETE"
    second = client.crm.deals.batch_api.upsert(deal_inputs("E1", dealstage="closedwon"))
    assert (second.results[0].id, second.results[0].new) == (first.results[0].id, False)
    assert hubspot_fake.find("deals", eql_id="E1")[0]["properties"]["dealstage"] == "closedwon"
    assert hubspot_fake.write_requests() == 2


def test_hubspot_tasks_upsert_through_the_objects_api(hubspot_fake):
    from hubspot.crm.objects.tasks import BatchInputSimplePublicObjectBatchInputUpsert as TaskBatch

    inputs = [{"idProperty": "eql_id", "id": "E1", "properties": {"hs_task_subject": "Call Acme"}}]
    result = hs_client(hubspot_fake).crm.objects.tasks.batch_api.upsert(TaskBatch(inputs=inputs))
    assert result.results[0].new is True
    assert hubspot_fake.find("tasks", eql_id="E1")[0]["properties"]["hs_task_subject"] == "Call Acme"


def test_hubspot_207_partial_batch_and_refused_requests(hubspot_fake):
    client = hs_client(hubspot_fake)
    hubspot_fake.reject("deals", "E2", "Deal stage is not valid")
    partial = client.crm.deals.batch_api.upsert(deal_inputs("E1", "E2", "E3"))
    assert [r.properties["eql_id"] for r in partial.results] == ["E1", "E3"]
    assert partial.num_errors == 1
    assert partial.errors[0].context == {"ids": ["E2"], "idProperty": ["eql_id"]}
    assert (partial.errors[0].category, partial.errors[0].message) == (
        "VALIDATION_ERROR",
        "Deal stage is not valid",
    )
    with pytest.raises(ApiException) as too_many:
        client.crm.deals.batch_api.upsert(deal_inputs(*[f"E{i}" for i in range(101)]))
    assert too_many.value.status == 400
    with pytest.raises(ApiException) as unknown:
        client.crm.deals.batch_api.upsert(deal_inputs("E9", colour="red"))
    assert "PROPERTY_DOESNT_EXIST" in json.loads(unknown.value.body)["message"]


def test_hubspot_expired_token_rate_limit_and_refresh(hubspot_fake):
    client = hs_client(hubspot_fake)
    hubspot_fake.rate_limit_next(count=1, retry_after=3)
    with pytest.raises(ApiException) as throttled:
        client.crm.deals.batch_api.upsert(deal_inputs("E1"))
    assert (throttled.value.status, throttled.value.headers["Retry-After"]) == (429, "3")
    assert json.loads(throttled.value.body)["policyName"] == "SECONDLY"
    hubspot_fake.expire_token()
    with pytest.raises(ApiException) as expired:
        client.crm.deals.batch_api.upsert(deal_inputs("E1"))
    assert (expired.value.status, json.loads(expired.value.body)["category"]) == (
        401,
        "EXPIRED_AUTHENTICATION",
    )
    token = requests.post(
        f"{hubspot_fake.base_url}/oauth/v1/token",
        timeout=5,
        data={
            "grant_type": "refresh_token",
            "client_id": "test-client",
            "client_secret": "test-secret",
            "refresh_token": hubspot_fake.refresh_token,
        },
    ).json()
    refreshed = hubspot.Client(access_token=token["access_token"], host=hubspot_fake.base_url)
    assert refreshed.crm.deals.batch_api.upsert(deal_inputs("E1")).results[0].new is True


def test_hubspot_search_pages_with_after_and_filters_on_last_modified(hubspot_fake):
    client = hs_client(hubspot_fake)
    created = client.crm.deals.batch_api.upsert(deal_inputs(*[f"E{i}" for i in range(5)])).results
    watermark = created[-1].properties["hs_lastmodifieddate"]
    hubspot_fake.crm_edit("deals", created[1].id, dealstage="closedwon", amount="900")
    request = {
        "filter_groups": [{"filters": [{"propertyName": "eql_id", "operator": "HAS_PROPERTY"}]}],
        "sorts": [{"propertyName": "eql_id", "direction": "ASCENDING"}],
        "properties": ["eql_id"],
        "limit": 2,
    }
    page, seen = client.crm.deals.search_api.do_search(PublicObjectSearchRequest(**request)), []
    while True:
        seen += [r.properties["eql_id"] for r in page.results]
        if not page.paging:
            break
        page = client.crm.deals.search_api.do_search(
            PublicObjectSearchRequest(**request, after=page.paging.next.after)
        )
    assert seen == ["E0", "E1", "E2", "E3", "E4"]
    assert page.total == 5
    changed = client.crm.deals.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": watermark},
                        {"propertyName": "eql_id", "operator": "IN", "values": ["E1", "E2"]},
                    ]
                }
            ],
            properties=["dealstage", "amount"],
        )
    )
    assert [(r.id, r.properties["dealstage"], r.properties["amount"]) for r in changed.results] == [
        (created[1].id, "closedwon", "900")
    ]


def test_hubspot_owners_properties_and_associations(hubspot_fake):
    client = hs_client(hubspot_fake)
    owner_id = hubspot_fake.add_owner("ae@example.com")
    hubspot_fake.add_owner("csm@example.com")
    owners = client.crm.owners.owners_api.get_page(email="ae@example.com", limit=100)
    assert [(o.id, o.email) for o in owners.results] == [(owner_id, "ae@example.com")]
    props = {p.name: p for p in client.crm.properties.core_api.get_all("deals").results}
    assert props["eql_id"].has_unique_value is True
    assert props["eql_score"].has_unique_value is False
    company = hubspot_fake.add_company("Acme")
    deal = client.crm.deals.batch_api.upsert(deal_inputs("E1")).results[0]
    linked = client.crm.associations.v4.batch_api.create_default(
        "deals",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[{"from": {"id": deal.id}, "to": {"id": company}}]
        ),
    )
    assert linked.results[0].association_spec.association_type_id == 5
    assert hubspot_fake.associations == [
        {
            "from": {"id": deal.id},
            "to": {"id": company},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5},
        }
    ]
