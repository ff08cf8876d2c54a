"""A small Salesforce REST API (v62.0) over HTTPS on 127.0.0.1: OAuth client-credentials token, sObject
Collections upsert, Bulk API 2.0 ingest, SOQL query with ``nextRecordsUrl`` paging, describe.

HTTPS because simple-salesforce builds every URL as ``https://{host}/...``; the fixture makes ``requests``
trust the fake's self-signed certificate (``REQUESTS_CA_BUNDLE``)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import secrets
from datetime import UTC, datetime, timedelta

from werkzeug import Request, Response

VERSION = "62.0"
API = f"/services/data/v{VERSION}"
PREFIX = {"Opportunity": "006", "Task": "00T", "Lead": "00Q", "Account": "001", "User": "005"}
EQL_FIELDS = {
    "EQL_Id__c": "string",
    "EQL_Score__c": "double",
    "EQL_Priority__c": "string",
    "EQL_Route__c": "string",
    "EQL_Status__c": "string",
    "EQL_Why_Now__c": "textarea",
    "EQL_Worth__c": "textarea",
    "EQL_Opening_Angle__c": "textarea",
    "EQL_SLA_Deadline__c": "datetime",
    "EQL_CSM_Email__c": "email",
    "EQL_Link__c": "url",
}
SYSTEM = {"Id": "id", "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime"}
STANDARD = {
    "Opportunity": {
        "Name": "string",
        "AccountId": "reference",
        "OwnerId": "reference",
        "StageName": "picklist",
        "Amount": "currency",
        "CloseDate": "date",
        "Description": "textarea",
        "IsClosed": "boolean",
        "IsWon": "boolean",
    },
    "Task": {
        "Subject": "combobox",
        "Description": "textarea",
        "ActivityDate": "date",
        "Status": "picklist",
        "Priority": "picklist",
        "OwnerId": "reference",
        "WhatId": "reference",
    },
    "Lead": {
        "Company": "string",
        "LastName": "string",
        "Status": "picklist",
        "OwnerId": "reference",
        "Description": "textarea",
        "IsConverted": "boolean",
    },
    "Account": {"Name": "string", "OwnerId": "reference"},
    "User": {"Email": "email", "Name": "string", "Username": "string", "IsActive": "boolean"},
}
READ_ONLY = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsClosed", "IsWon", "IsConverted"}
REQUIRED = {"Opportunity": ["Name", "StageName", "CloseDate"], "Lead": ["LastName", "Company"]}
REFERENCES = {"AccountId": ("Account",), "WhatId": ("Account", "Opportunity"), "OwnerId": ("User",)}
SOQL = re.compile(
    r"^SELECT\s+(?P<fields>[\w\s,]+?)\s+FROM\s+(?P<obj>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
COND = re.compile(r"^(\w+)\s*(!=|>=|<=|=|>|<|\s+IN\s+)\s*(.+)$", re.IGNORECASE | re.DOTALL)
LITERAL = re.compile(
    r"'((?:[^'\\]|\\.)*)'|(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d))|(null|true|false)|(-?[\d.]+)$"
)


def sf_id(prefix: str, number: int) -> str:
    """An 18-character Id: key prefix, 12 more characters, and the documented case-safe suffix."""
    base = f"{prefix}{number:012d}"[:15]
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = "".join(
        chars[sum(1 << i for i, c in enumerate(base[j : j + 5]) if c.isupper())] for j in (0, 5, 10)
    )
    return base + suffix


def sf_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_time(text: str) -> datetime:
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text) if "T" in text else datetime.fromisoformat(text + "T00:00:00+00:00")


class SfError(Exception):
    """A whole-request error: Salesforce's ``[{"message", "errorCode"}]`` body."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class SalesforceFake:
    def __init__(self, server):
        self.server = server
        self.instance_url = server.url_for("").rstrip("/")
        self.token_url = self.instance_url + "/services/oauth2/token"
        self.client_id, self.client_secret = "test-client", "test-secret"
        self.access_token = ""
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in PREFIX}
        self.fields = {name: {**SYSTEM, **STANDARD[name]} for name in PREFIX}
        self.external_ids = {name: set() for name in PREFIX}
        for name in ("Opportunity", "Task", "Lead"):
            self.fields[name].update(EQL_FIELDS)
            self.external_ids[name].add("EQL_Id__c")
        self.requests: list[dict] = []
        self.query_page_size = 2000
        self.bulk_polls_in_progress = 1
        self.rejects: dict[tuple[str, str], dict] = {}
        self.jobs: dict[str, dict] = {}
        self.cursors: dict[str, list[dict]] = {}
        self._numbers = itertools.count(1)
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._limit_left: int | None = None
        self._rate_limited, self._retry_after = 0, 1
        self._fail_next: tuple[int, object] | None = None
        self.issue_token()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    # ---- knobs -------------------------------------------------------------------------------------
    def issue_token(self) -> str:
        self.access_token = "00D" + secrets.token_hex(12)
        return self.access_token

    def expire_token(self) -> None:
        self.access_token = "expired-" + secrets.token_hex(4)  # no client holds this one

    def limit_after(self, n: int) -> None:
        self._limit_left = n

    def lift_limit(self) -> None:
        self._limit_left = None

    def rate_limit_next(self, count: int = 1, retry_after: int = 1) -> None:
        self._rate_limited, self._retry_after = count, retry_after

    def fail_next_upsert(self, status: int = 500, body=None) -> None:
        self._fail_next = (
            status,
            body or [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
        )

    def reject(
        self, sobject: str, external_id: str, status_code: str, message: str, fields: list[str]
    ) -> None:
        self.rejects[(sobject, external_id)] = {
            "statusCode": status_code,
            "message": message,
            "fields": list(fields),
        }

    def clear_reject(self, sobject: str, external_id: str) -> None:
        self.rejects.pop((sobject, external_id), None)

    def add_field(self, sobject: str, name: str, type: str = "string", external_id: bool = False) -> None:
        self.fields[sobject][name] = type
        if external_id:
            self.external_ids[sobject].add(name)

    def add_user(self, email: str, name: str = "Test User", active: bool = True) -> str:
        return self._insert("User", {"Email": email, "Name": name, "Username": email, "IsActive": active})

    def add_account(self, name: str) -> str:
        return self._insert("Account", {"Name": name})

    def crm_edit(self, sobject: str, record_id: str, **fields) -> None:
        record = self.objects[sobject][record_id]
        record.update(fields)
        self._touch(sobject, record)

    def write_requests(self) -> int:
        return sum(1 for r in self.requests if r["write"])

    def find(self, sobject: str, **field_equals) -> list[dict]:
        rows = self.objects[sobject].values()
        return [r for r in rows if all(r.get(k) == v for k, v in field_equals.items())]

    # ---- storage -----------------------------------------------------------------------------------
    def _now(self) -> str:
        self._clock = max(datetime.now(UTC), self._clock + timedelta(milliseconds=1))
        return sf_time(self._clock)

    def _touch(self, sobject: str, record: dict) -> None:
        record["SystemModstamp"] = record["LastModifiedDate"] = self._now()
        if sobject == "Opportunity":
            record["IsClosed"] = record.get("StageName") in ("Closed Won", "Closed Lost")
            record["IsWon"] = record.get("StageName") == "Closed Won"

    def _insert(self, sobject: str, fields: dict) -> str:
        record_id = sf_id(PREFIX[sobject], next(self._numbers))
        record = dict.fromkeys(self.fields[sobject]) | fields | {"Id": record_id}
        self._touch(sobject, record)
        record["CreatedDate"] = record["SystemModstamp"]
        self.objects[sobject][record_id] = record
        return record_id

    def _upsert_one(self, sobject: str, ext_field: str, fields: dict) -> dict:
        """One UpsertResult; per-record failures carry ``statusCode``, ``message``, ``fields``."""
        value = fields.get(ext_field)
        if value in (None, ""):
            return _failed("MISSING_ARGUMENT", f"{ext_field} not specified", [])
        if reject := self.rejects.get((sobject, str(value))):
            return {"success": False, "errors": [dict(reject)]}
        if read_only := [f for f in fields if f in READ_ONLY]:
            msg = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings."
            )
            return _failed("INVALID_FIELD_FOR_INSERT_UPDATE", msg, read_only)
        for field, targets in REFERENCES.items():
            ref = fields.get(field)
            if ref and not any(self._valid_ref(t, ref) for t in targets):
                return _failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field])
        existing = next((r for r in self.objects[sobject].values() if r.get(ext_field) == value), None)
        if existing is None:
            if missing := [f for f in REQUIRED.get(sobject, []) if fields.get(f) in (None, "")]:
                return _failed(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            return {"id": self._insert(sobject, fields), "success": True, "errors": [], "created": True}
        existing.update(fields)
        self._touch(sobject, existing)
        return {"id": existing["Id"], "success": True, "errors": [], "created": False}

    def _valid_ref(self, sobject: str, ref: str) -> bool:
        rows = self.objects[sobject]
        target = rows.get(ref) or next(
            (r for i, r in rows.items() if len(ref) == 15 and i.startswith(ref)), None
        )
        return bool(target) and (sobject != "User" or bool(target.get("IsActive")))

    def _check_fields(self, sobject: str, names) -> None:
        if sobject not in self.fields:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        for name in names:
            if name not in self.fields[sobject]:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")

    # ---- HTTP --------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        entry = {"method": request.method, "path": request.path, "query": dict(request.args), "write": False}
        try:
            entry["json"] = json.loads(body) if body else None
        except ValueError:
            entry["text"] = body
        self.requests.append(entry)
        try:
            if request.path == "/services/oauth2/token" and request.method == "POST":
                return self.token(request)
            if not request.path.startswith(API + "/"):
                raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
            self._gate(request)
            return self._route(request, request.path[len(API) + 1 :], entry)
        except SfError as err:
            return _json([{"message": err.message, "errorCode": err.code}], err.status, err.headers)

    def _gate(self, request: Request) -> None:
        """Session, rate and org-limit errors, in the order Salesforce checks them.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm"""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self._rate_limited:
            self._rate_limited -= 1
            headers = {"Retry-After": str(self._retry_after)}
            raise SfError(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests, retry later.", headers)
        if self._limit_left is not None:
            if self._limit_left <= 0:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._limit_left -= 1

    def _route(self, request: Request, path: str, entry: dict) -> Response:
        method, parts = request.method, path.strip("/").split("/")
        if method == "PATCH" and parts[:2] == ["composite", "sobjects"] and len(parts) == 4:
            return self.collections_upsert(parts[2], parts[3], entry)
        if parts[:2] == ["jobs", "ingest"]:
            return self.bulk(request, parts[2:], entry)
        if method == "GET" and parts[0] == "query":
            return self.query(request.args.get("q", "")) if len(parts) == 1 else self.query_more(parts[1])
        if method == "GET" and parts[0] == "sobjects" and len(parts) == 3 and parts[2] == "describe":
            return self.describe(parts[1])
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def token(self, request: Request) -> Response:
        """OAuth 2.0 client credentials flow.
        https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm"""
        form = request.form
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
            "client_credentials",
            self.client_id,
            self.client_secret,
        ):
            return _json({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
        token = self.issue_token()
        issued = str(int(datetime.now(UTC).timestamp() * 1000))
        return _json(
            {
                "access_token": token,
                "instance_url": self.instance_url,
                "token_type": "Bearer",
                "issued_at": issued,
                "id": f"{self.instance_url}/id/00D000000000001EAA/005000000000001AAA",
                "signature": secrets.token_hex(16),
                "scope": "api",
            }
        )

    def collections_upsert(self, sobject: str, ext_field: str, entry: dict) -> Response:
        """sObject Collections upsert: up to 200 records, one UpsertResult per record in order.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm"""
        entry["write"] = True
        records = (entry.get("json") or {}).get("records") or []
        entry["records"] = len(records)
        if self._fail_next:
            (status, body), self._fail_next = self._fail_next, None
            return _json(body, status)
        if len(records) > 200:
            raise SfError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        self._check_fields(sobject, [ext_field])
        if ext_field not in self.external_ids[sobject]:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {ext_field} is not an External ID or indexed field for {sobject}",
            )
        for record in records:
            if (record.get("attributes") or {}).get("type") != sobject:
                raise SfError(400, "INVALID_TYPE", "sObject type in records doesn't match the URI")
            self._check_fields(sobject, [f for f in record if f != "attributes"])
        fields = [{k: v for k, v in r.items() if k != "attributes"} for r in records]
        return _json([self._upsert_one(sobject, ext_field, f) for f in fields])

    def bulk(self, request: Request, parts: list[str], entry: dict) -> Response:
        """Bulk API 2.0 ingest: create job, upload CSV, UploadComplete, poll, successful/failed results.
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_failed_results.htm"""
        method, body = request.method, entry.get("json") or {}
        if method == "POST" and not parts:
            entry["write"] = True
            sobject, ext_field = body.get("object", ""), body.get("externalIdFieldName", "")
            self._check_fields(sobject, [ext_field])
            if body.get("operation") != "upsert" or ext_field not in self.external_ids[sobject]:
                raise SfError(
                    400, "INVALIDJOB", "InvalidJob : External ID was blank or not an external ID field"
                )
            job_id = sf_id("750", next(self._numbers))
            now = self._now()
            self.jobs[job_id] = {
                "id": job_id,
                "operation": "upsert",
                "object": sobject,
                "createdById": sf_id("005", 0),
                "createdDate": now,
                "systemModstamp": now,
                "state": "Open",
                "externalIdFieldName": ext_field,
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(VERSION),
                "contentUrl": f"services/data/v{VERSION}/jobs/ingest/{job_id}/batches",
                "lineEnding": "LF",
                "columnDelimiter": "COMMA",
                "_csv": "",
                "_polls": 0,
                "_ok": [],
                "_failed": [],
            }
            return _json(_public(self.jobs[job_id]))
        job = self.jobs.get(parts[0]) if parts else None
        if job is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        if method == "PUT" and parts[1:] == ["batches"]:
            entry["write"] = True
            if job["state"] != "Open":
                raise SfError(409, "INVALIDJOBSTATE", "Job is not open for uploads")
            job["_csv"] += request.get_data(as_text=True)
            return Response(status=201)
        if method == "PATCH" and len(parts) == 1:
            entry["write"] = True
            if body.get("state") == "UploadComplete":
                job["state"] = "UploadComplete"
                self._run_job(job)
            elif body.get("state") == "Aborted":
                job["state"] = "Aborted"
            return _json(_public(job))
        if method == "GET" and len(parts) == 1:
            if job["state"] in ("UploadComplete", "InProgress"):
                if job["_polls"] < self.bulk_polls_in_progress:
                    job["_polls"] += 1
                    job["state"] = "InProgress"
                else:
                    job["state"] = "JobComplete"
            info = _public(job)
            if job["state"] == "JobComplete":
                info |= {
                    "numberRecordsProcessed": len(job["_ok"]) + len(job["_failed"]),
                    "numberRecordsFailed": len(job["_failed"]),
                    "retries": 0,
                    "totalProcessingTime": 1,
                }
            return _json(info)
        if method == "GET" and parts[1:] in (["successfulResults"], ["failedResults"]):
            ok = parts[1] == "successfulResults"
            return Response(self._results_csv(job, ok), content_type="text/csv")
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def _run_job(self, job: dict) -> None:
        rows = list(csv.DictReader(io.StringIO(job["_csv"])))
        job["_columns"] = list(rows[0]) if rows else []
        self._check_fields(job["object"], job["_columns"])
        for row in rows:
            fields = {k: (None if v == "#N/A" else v) for k, v in row.items() if v != ""}
            result = self._upsert_one(job["object"], job["externalIdFieldName"], fields)
            if result["success"]:
                job["_ok"].append((result["id"], "true" if result["created"] else "false", row))
            else:
                err = result["errors"][0]
                job["_failed"].append(
                    ("", f"{err['statusCode']}:{err['message']}:{','.join(err['fields'])} --", row)
                )

    def _results_csv(self, job: dict, ok: bool) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(["sf__Id", "sf__Created" if ok else "sf__Error", *job.get("_columns", [])])
        for record_id, second, row in job["_ok"] if ok else job["_failed"]:
            writer.writerow([record_id, second, *row.values()])
        return out.getvalue()

    def query(self, soql: str) -> Response:
        """SOQL query; more than ``query_page_size`` rows page through ``nextRecordsUrl``.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm"""
        match = SOQL.match(soql.strip())
        if not match:
            raise SfError(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:80]}")
        sobject = match["obj"]
        columns = [f.strip() for f in match["fields"].split(",")]
        conditions = (
            [_condition(c) for c in re.split(r"\s+AND\s+", match["where"], flags=re.I)]
            if match["where"]
            else []
        )
        self._check_fields(
            sobject, columns + [c[0] for c in conditions] + ([match["order"]] if match["order"] else [])
        )
        rows = [
            r
            for r in self.objects[sobject].values()
            if all(_test(r.get(f), op, v) for f, op, v in conditions)
        ]
        if match["order"]:
            rows.sort(
                key=lambda r: (r.get(match["order"]) is None, str(r.get(match["order"]))),
                reverse=(match["dir"] or "").upper() == "DESC",
            )
        rows = rows[: int(match["limit"])] if match["limit"] else rows
        records = [
            {"attributes": {"type": sobject, "url": f"{API}/sobjects/{sobject}/{r['Id']}"}}
            | {c: r.get(c) for c in columns}
            for r in rows
        ]
        locator = sf_id("01g", next(self._numbers))
        self.cursors[locator] = records
        return self._page(locator, 0)

    def query_more(self, cursor: str) -> Response:
        """The next page of a query: ``/query/{locator}-{offset}``.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm"""
        locator, _, offset = cursor.rpartition("-")
        if locator not in self.cursors or not offset.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset))

    def _page(self, locator: str, offset: int) -> Response:
        records = self.cursors[locator]
        end = offset + self.query_page_size
        body = {"totalSize": len(records), "done": end >= len(records), "records": records[offset:end]}
        if end < len(records):
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{end}"
        return _json(body)

    def describe(self, sobject: str) -> Response:
        """sObject Describe: the field list with the flags a mapping check needs.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm"""
        self._check_fields(sobject, [])
        fields = [
            {
                "name": name,
                "type": kind,
                "label": name.removesuffix("__c").replace("_", " "),
                "createable": name not in READ_ONLY,
                "updateable": name not in READ_ONLY,
                "externalId": name in self.external_ids[sobject],
                "idLookup": name == "Id" or name in self.external_ids[sobject],
                "unique": name in self.external_ids[sobject],
                "nillable": name not in READ_ONLY and name not in REQUIRED.get(sobject, []),
                "custom": name.endswith("__c"),
                "referenceTo": list(REFERENCES.get(name, ())) if kind == "reference" else [],
            }
            for name, kind in self.fields[sobject].items()
        ]
        return _json(
            {
                "name": sobject,
                "label": sobject,
                "keyPrefix": PREFIX[sobject],
                "custom": False,
                "fields": fields,
            }
        )


def _failed(code: str, message: str, fields: list[str]) -> dict:
    return {"success": False, "errors": [{"statusCode": code, "message": message, "fields": fields}]}


def _public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json;charset=UTF-8"
    )


def _literal(text: str):
    match = LITERAL.match(text.strip())
    if not match:
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token: {text.strip()[:40]}")
    string, stamp, keyword, number = match.groups()
    if string is not None:
        return string.replace("\\'", "'")
    if stamp:
        return parse_time(stamp)
    if keyword:
        return {"null": None, "true": True, "false": False}[keyword.lower()]
    return float(number)


def _condition(text: str) -> tuple[str, str, object]:
    match = COND.match(text.strip())
    if not match:
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token: {text.strip()[:40]}")
    field, op, value = match[1], match[2].strip().upper(), match[3].strip()
    if op == "IN":
        if not (value.startswith("(") and value.endswith(")")):
            raise SfError(400, "MALFORMED_QUERY", "IN needs a parenthesised list")
        return field, op, [_literal(v) for v in value[1:-1].split(",")]
    return field, op, _literal(value)


def _test(actual, op: str, expected) -> bool:
    if op == "IN":
        return actual in expected
    if isinstance(expected, datetime) and actual is not None:
        actual = parse_time(str(actual))
    elif isinstance(expected, float) and actual is not None:
        actual = float(actual)
    if op in ("=", "!="):
        return (actual == expected) == (op == "=")
    if actual is None or expected is None:
        return False
    return {
        ">": actual > expected,
        ">=": actual >= expected,
        "<": actual < expected,
        "<=": actual <= expected,
    }[op]
