"""A small HubSpot API on 127.0.0.1: CRM v3 batch upsert and search, owners, properties, v4 default
associations, OAuth v1 refresh. hubspot-api-client reaches it with ``hubspot.Client(host=fake.base_url)``."""

from __future__ import annotations

import itertools
import json
import re
import secrets
from datetime import UTC, datetime, timedelta

from werkzeug import Request, Response

EQL_PROPS = [
    "eql_score",
    "eql_priority",
    "eql_route",
    "eql_status",
    "eql_why_now",
    "eql_worth",
    "eql_opening_angle",
    "eql_sla_deadline",
    "eql_csm_email",
    "eql_link",
]
DEFAULT_PROPS = {
    "deals": ["dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id", "description"],
    "tasks": [
        "hs_task_subject",
        "hs_task_body",
        "hs_timestamp",
        "hs_task_status",
        "hs_task_priority",
        "hubspot_owner_id",
    ],
    "companies": ["name", "domain", "hubspot_owner_id"],
}
TYPE_IDS = {"companies": "0-2", "deals": "0-3", "tasks": "0-27"}
ASSOCIATION_TYPE = {
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("tasks", "deals"): 216,
    ("deals", "tasks"): 215,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
}
READ_ONLY = {"hs_object_id", "hs_lastmodifieddate", "createdate"}


def hs_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _as_ms(value) -> float | None:
    """Search compares datetimes as epoch milliseconds; values may be given as ms or ISO 8601."""
    if value in (None, ""):
        return None
    text = str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


class HsError(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, category: str, message: str, **extra) -> HsError:
    return HsError(
        status,
        {
            "status": "error",
            "message": message,
            "correlationId": secrets.token_hex(8),
            "category": category,
            **extra,
        },
    )


class HubSpotFake:
    def __init__(self, server):
        self.server = server
        self.base_url = server.url_for("").rstrip("/")
        self.client_id, self.client_secret = "test-client", "test-secret"
        self.refresh_token = "refresh-" + secrets.token_hex(8)
        self.access_token = "pat-" + secrets.token_hex(12)
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in DEFAULT_PROPS}
        self.properties: dict[str, dict[str, dict]] = {}
        for name, props in DEFAULT_PROPS.items():
            self.properties[name] = {}
            for prop in [*props, "hs_object_id", "hs_lastmodifieddate", "createdate"]:
                self.add_property(name, prop)
            if name != "companies":
                self.add_property(name, "eql_id", unique=True)
                for prop in EQL_PROPS:
                    self.add_property(name, prop)
        self.owners: list[dict] = []
        self.associations: list[dict] = []
        self.requests: list[dict] = []
        self.search_page_size = 100
        self.rejects: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1001)
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._rate_limited, self._retry_after = 0, 1
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    # ---- knobs -------------------------------------------------------------------------------------
    def add_property(self, type: str, name: str, unique: bool = False) -> None:
        kind = (
            "datetime"
            if name in ("hs_lastmodifieddate", "createdate", "hs_timestamp", "closedate")
            else "string"
        )
        kind = "number" if name in ("amount", "eql_score", "hs_object_id") else kind
        self.properties[type][name] = {
            "name": name,
            "label": name.replace("_", " ").title(),
            "type": kind,
            "fieldType": {"datetime": "date", "number": "number"}.get(kind, "text"),
            "groupName": f"{type[:-1]}information",
            "hasUniqueValue": unique,
            "hidden": False,
            "calculated": False,
            "formField": True,
            "modificationMetadata": {
                "readOnlyValue": name in READ_ONLY,
                "archivable": True,
                "readOnlyDefinition": True,
            },
        }

    def add_owner(self, email: str, first_name: str = "Test", last_name: str = "Owner") -> str:
        owner_id = str(next(self._ids))
        self.owners.append(
            {
                "id": owner_id,
                "email": email,
                "type": "PERSON",
                "firstName": first_name,
                "lastName": last_name,
                "userId": int(owner_id) + 5000,
                "archived": False,
                "createdAt": hs_time(self._clock),
                "updatedAt": hs_time(self._clock),
            }
        )
        return owner_id

    def add_company(self, name: str) -> str:
        return self._store("companies", {"name": name})["id"]

    def reject(self, type: str, eql_id: str, message: str) -> None:
        self.rejects[(type, eql_id)] = message

    def clear_reject(self, type: str, eql_id: str) -> None:
        self.rejects.pop((type, eql_id), None)

    def expire_token(self) -> None:
        self.access_token = "expired-" + secrets.token_hex(4)

    def rate_limit_next(self, count: int = 1, retry_after: int = 1) -> None:
        self._rate_limited, self._retry_after = count, retry_after

    def crm_edit(self, type: str, record_id: str, **properties) -> None:
        self._store(type, properties, self.objects[type][record_id])

    def write_requests(self) -> int:
        return sum(1 for r in self.requests if r["write"])

    def find(self, type: str, **props) -> list[dict]:
        return [
            r
            for r in self.objects[type].values()
            if all(r["properties"].get(k) == v for k, v in props.items())
        ]

    # ---- storage -----------------------------------------------------------------------------------
    def _now(self) -> datetime:
        self._clock = max(datetime.now(UTC), self._clock + timedelta(milliseconds=1))
        return self._clock

    def _store(self, type: str, properties: dict, record: dict | None = None) -> dict:
        stamp = hs_time(self._now())
        if record is None:
            record_id = str(next(self._ids))
            record = {
                "id": record_id,
                "properties": {"hs_object_id": record_id, "createdate": stamp},
                "createdAt": stamp,
                "archived": False,
            }
            self.objects[type][record_id] = record
        record["properties"].update({k: None if v is None else str(v) for k, v in properties.items()})
        record["properties"]["hs_lastmodifieddate"] = record["updatedAt"] = stamp
        return record

    # ---- HTTP --------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        entry = {"method": request.method, "path": request.path, "query": dict(request.args), "write": False}
        try:
            entry["json"] = json.loads(body) if body and request.mimetype == "application/json" else None
        except ValueError:
            entry["json"] = None
        self.requests.append(entry)
        try:
            if request.path == "/oauth/v1/token" and request.method == "POST":
                return self.token(request)
            self._gate(request)
            return self._route(request, entry)
        except HsError as err:
            return _json(err.body, err.status, err.headers)

    def _gate(self, request: Request) -> None:
        """Authentication first, then the per-second rate limit.
        https://developers.hubspot.com/docs/api/error-handling , https://developers.hubspot.com/docs/api/usage-details"""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            raise _error(
                401,
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired 1 minute(s) ago.",
                context={"expired at": [hs_time(self._clock)]},
            )
        if self._rate_limited:
            self._rate_limited -= 1
            body = {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": secrets.token_hex(8),
                "policyName": "SECONDLY",
                "groupName": "publicapi:private-app",
            }
            raise HsError(429, body, {"Retry-After": str(self._retry_after)})

    def _route(self, request: Request, entry: dict) -> Response:
        method, path, body = request.method, request.path, entry.get("json") or {}
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/batch/upsert", path):
            return self.batch_upsert(self._type(match[1]), body, entry) if method == "POST" else _not_found()
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path):
            return self.search(self._type(match[1]), body) if method == "POST" else _not_found()
        if path.rstrip("/") == "/crm/v3/owners" and method == "GET":
            return self.owners_page(request.args)
        if match := re.fullmatch(r"/crm/v3/properties/(\w+)", path):
            return _json({"results": list(self.properties[self._type(match[1])].values())})
        if match := re.fullmatch(r"/crm/v4/associations/(\w+)/(\w+)/batch/associate/default", path):
            return self.associate(self._type(match[1]), self._type(match[2]), body, entry)
        return _not_found()

    def _type(self, name: str) -> str:
        if name not in self.objects:
            raise _error(400, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {name}")
        return name

    def token(self, request: Request) -> Response:
        """OAuth refresh: a new access token (and the same refresh token).
        https://developers.hubspot.com/docs/api/oauth/tokens"""
        form = request.form
        if (
            form.get("grant_type"),
            form.get("client_id"),
            form.get("client_secret"),
            form.get("refresh_token"),
        ) != (
            "refresh_token",
            self.client_id,
            self.client_secret,
            self.refresh_token,
        ):
            return _json(
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": secrets.token_hex(8),
                },
                400,
            )
        self.access_token = "pat-" + secrets.token_hex(12)
        return _json(
            {
                "token_type": "bearer",
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": 1800,
            }
        )

    def batch_upsert(self, type: str, body: dict, entry: dict) -> Response:
        """Batch upsert by a unique property: 200 when all inputs are written, 207 with ``errors`` and
        ``numErrors`` when some were refused (the rest are written); at most 100 inputs.
        https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/batch/upsert-deals
        https://developers.hubspot.com/docs/api-reference/error-handling (207 Multi-Status)"""
        entry["write"] = True
        inputs = body.get("inputs") or []
        entry["records"] = len(inputs)
        if not inputs or len(inputs) > 100:
            raise _error(
                400, "VALIDATION_ERROR", f"Batch input size must be between 1 and 100, got {len(inputs)}"
            )
        started, known = hs_time(self._now()), self.properties[type]
        for item in inputs:
            prop = item.get("idProperty")
            if prop not in known or not known[prop]["hasUniqueValue"]:
                raise _error(
                    400, "VALIDATION_ERROR", f"Property {prop} is not a unique identifier property for {type}"
                )
            if unknown := [p for p in item.get("properties") or {} if p not in known]:
                details = [
                    {
                        "isValid": False,
                        "message": f'Property "{p}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": p,
                        "localizedErrorMessage": f'Property "{p}" does not exist',
                    }
                    for p in unknown
                ]
                raise _error(
                    400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(details)}"
                )
        results, errors = [], []
        for item in inputs:
            prop, value = item["idProperty"], str(item.get("id") or "")
            if message := self.rejects.get((type, value)):
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": message,
                        "context": {"ids": [value], "idProperty": [prop]},
                    }
                )
                continue
            existing = next(
                (r for r in self.objects[type].values() if r["properties"].get(prop) == value), None
            )
            record = self._store(type, {**(item.get("properties") or {}), prop: value}, existing)
            results.append({**record, "properties": dict(record["properties"]), "new": existing is None})
        response = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": hs_time(self._now()),
        }
        if errors:
            return _json(response | {"errors": errors, "numErrors": len(errors)}, 207)
        return _json(response)

    def search(self, type: str, body: dict) -> Response:
        """CRM search: OR of filterGroups, AND of filters; sorts; ``after`` paging; limit at most 200.
        https://developers.hubspot.com/docs/api/crm/search"""
        limit = int(body.get("limit") or 10)
        if limit > 200:
            raise _error(400, "VALIDATION_ERROR", "limit must be at most 200")
        groups = body.get("filterGroups") or []
        rows = [
            r
            for r in self.objects[type].values()
            if not groups
            or any(all(_match(r["properties"], f) for f in g.get("filters", [])) for g in groups)
        ]
        for sort in reversed(body.get("sorts") or []):
            if isinstance(sort, str):  # the client's model types sorts as strings: "name" or "-name"
                name, descending = sort.lstrip("-"), sort.startswith("-")
            else:
                name, descending = sort["propertyName"], sort.get("direction") == "DESCENDING"
            rows.sort(key=lambda r, n=name: str(r["properties"].get(n) or ""), reverse=descending)
        after = int(body.get("after") or 0)
        size = min(limit, self.search_page_size)
        wanted = body.get("properties") or ["hs_object_id", "hs_lastmodifieddate", "createdate"]
        page = [
            {
                "id": r["id"],
                "properties": {p: r["properties"].get(p) for p in wanted},
                "createdAt": r["createdAt"],
                "updatedAt": r["updatedAt"],
                "archived": False,
            }
            for r in rows[after : after + size]
        ]
        response = {"total": len(rows), "results": page}
        if after + size < len(rows):
            response["paging"] = {"next": {"after": str(after + size), "link": ""}}
        return _json(response)

    def owners_page(self, args) -> Response:
        """Owners, optionally filtered by email. https://developers.hubspot.com/docs/api/crm/owners"""
        owners = [
            o for o in self.owners if not args.get("email") or o["email"].lower() == args["email"].lower()
        ]
        after, limit = int(args.get("after") or 0), int(args.get("limit") or 100)
        response = {"results": owners[after : after + limit]}
        if after + limit < len(owners):
            response["paging"] = {"next": {"after": str(after + limit), "link": ""}}
        return _json(response)

    def associate(self, from_type: str, to_type: str, body: dict, entry: dict) -> Response:
        """Default (unlabelled) associations in batch.
        https://developers.hubspot.com/docs/api/crm/associations (v4, batch/associate/default)"""
        entry["write"] = True
        spec = {
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": ASSOCIATION_TYPE.get((from_type, to_type), 1),
        }
        results = []
        for item in body.get("inputs") or []:
            source, target = str(item["from"]["id"]), str(item["to"]["id"])
            if source not in self.objects[from_type] or target not in self.objects[to_type]:
                raise _error(
                    400, "VALIDATION_ERROR", f"No {from_type} with id {source} or {to_type} with id {target}"
                )
            link = {"from": {"id": source}, "to": {"id": target}, "associationSpec": spec}
            if link not in self.associations:
                self.associations.append(link)
            results.append(link)
        now = hs_time(self._now())
        return _json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def _match(props: dict, flt: dict) -> bool:
    name, op, actual = flt.get("propertyName"), flt.get("operator"), props.get(flt.get("propertyName"))
    if op == "HAS_PROPERTY":
        return actual not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return actual in (None, "")
    if op == "IN":
        return actual in [str(v) for v in flt.get("values") or []]
    if op in ("EQ", "NEQ"):
        return (actual == str(flt.get("value"))) == (op == "EQ")
    if op in ("GT", "GTE", "LT", "LTE"):
        left, right = _as_ms(actual), _as_ms(flt.get("value"))
        if (
            name not in ("hs_lastmodifieddate", "createdate", "closedate", "hs_timestamp")
            and actual is not None
        ):
            left = float(actual)
        if left is None or right is None:
            return False
        return {"GT": left > right, "GTE": left >= right, "LT": left < right, "LTE": left <= right}[op]
    raise _error(400, "VALIDATION_ERROR", f"Unsupported operator {op}")


def _not_found() -> Response:
    return _json({"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}, 404)


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json;charset=utf-8"
    )
