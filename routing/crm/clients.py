"""Talking to each CRM through its mainstream client: simple-salesforce and hubspot-api-client.

Both clients offer the same few operations to the sync (``upsert``, ``bulk_upsert``, ``owner_ids``,
``changed_since``, ``describe``, ``associate``) and turn the CRM's answers into ``RecordResult`` rows
and a handful of named errors:

- ``CrmRateLimited``: 429 with ``Retry-After``. Short waits are waited out here (three tries); a longer
  one stops the run and the next run resumes.
- ``CrmLimitExceeded``: Salesforce ``REQUEST_LIMIT_EXCEEDED`` (the org's daily API allowance is used up):
  the run stops cleanly and what is left stays queued.
- ``CrmAuthError``: no credentials, or a token that expired and could not be renewed (renewed once).
- ``CrmConfigError``: the CRM refused the mapping itself (unknown field, wrong key): fix it in admin.
- ``CrmBatchFailed``: a request failed as a whole for another reason; the sync splits the batch.

Tokens and secrets are never logged or stored: they are read from settings when a client is built.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

logger = logging.getLogger(__name__)

#: Records per request: Salesforce sObject Collections take 200, HubSpot batch endpoints 100.
SALESFORCE_BATCH = 200
HUBSPOT_BATCH = 100
#: Emails per owner lookup query (keeps the SOQL well under its length limit).
OWNER_QUERY_CHUNK = 100
#: Salesforce error codes that mean the mapping itself is wrong, not one record.
MAPPING_ERROR_CODES = {"INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND", "INVALID_FIELD_FOR_INSERT_UPDATE"}


class CrmError(Exception):
    """Base of what a CRM call may raise; ``str()`` is a message for RevOps."""


class CrmConfigError(CrmError):
    pass


class CrmAuthError(CrmError):
    pass


class CrmLimitExceeded(CrmError):
    pass


class CrmRateLimited(CrmError):
    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class CrmBatchFailed(CrmError):
    def __init__(self, message: str, code: str = "BATCH_FAILED"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RecordResult:
    """The CRM's answer for one record of a write, by upsert key."""

    key: str
    ok: bool
    crm_id: str = ""
    created: bool = False
    code: str = ""
    message: str = ""
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrmRecord:
    """A record read back: where it stands in the CRM now."""

    key: str
    crm_id: str
    stage: str
    amount: Decimal | None
    close_date: dt.date | None
    owner_id: str
    modified: str


@dataclass(frozen=True)
class FieldInfo:
    name: str
    writable: bool
    is_key: bool


@dataclass(frozen=True)
class ReadFields:
    """The CRM fields read back, as the mapping names them (empty: not mapped)."""

    stage: str
    amount: str
    close_date: str
    owner: str


def _retry_after(value: str | None, default: float = 10.0) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def _waiting(max_wait: float) -> Retrying:
    """Wait out a short 429 (the CRM's own Retry-After) up to three tries; re-raise anything else."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return exc.retry_after if isinstance(exc, CrmRateLimited) else 0.0

    return Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, CrmRateLimited) and e.retry_after <= max_wait),
        wait=wait,
        stop=stop_after_attempt(3),
        reraise=True,
    )


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():  # HubSpot: milliseconds since the epoch
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC).date()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


_SOQL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z")


def _soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- Salesforce -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesforceCredentials:
    instance_url: str = ""
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    domain: str = ""
    version: str = "62.0"
    timeout: float = 30.0

    @property
    def token_url(self) -> str:
        domain = self.domain.strip().rstrip("/")
        if domain.startswith(("http://", "https://")):
            return f"{domain}/services/oauth2/token"
        return f"https://{domain}.salesforce.com/services/oauth2/token"

    @property
    def can_refresh(self) -> bool:
        return bool(self.client_id and self.client_secret and self.domain)

    def problem(self) -> str | None:
        if self.can_refresh or (self.instance_url and self.access_token):
            return None
        return (
            "Salesforce is not configured: set SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and "
            "SALESFORCE_DOMAIN, or SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN"
        )


class SalesforceClient:
    batch_size = SALESFORCE_BATCH

    def __init__(
        self,
        credentials: SalesforceCredentials,
        *,
        object_type: str,
        key_field: str,
        max_wait: float = 30.0,
        poll_seconds: float = 2.0,
        bulk_timeout: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        problem = credentials.problem()
        if problem:
            raise CrmAuthError(problem)
        self.credentials = credentials
        self.object_type = object_type
        self.key_field = key_field
        self.requests = 0
        self.max_wait = max_wait
        self.poll_seconds = poll_seconds
        self.bulk_timeout = bulk_timeout
        self.sleep = sleep
        self._refreshed = False
        self._session = requests.Session()
        self._retry_after_seen = 10.0
        self._session.hooks["response"].append(self._count)
        self._sf = None
        if credentials.instance_url and credentials.access_token:
            self._connect(credentials.instance_url, credentials.access_token)
        else:
            self._fetch_token()

    def _count(self, response: requests.Response, *args, **kwargs) -> None:
        """Every HTTP answer counts as a request used; a 429 remembers its Retry-After."""
        self.requests += 1
        if response.status_code == 429:
            self._retry_after_seen = _retry_after(response.headers.get("Retry-After"))

    def _connect(self, instance_url: str, token: str) -> None:
        from simple_salesforce import Salesforce

        self._sf = Salesforce(
            instance_url=instance_url,
            session_id=token,
            version=self.credentials.version,
            session=self._session,
        )

    def _fetch_token(self) -> None:
        """OAuth 2.0 client-credentials flow against the org's My Domain."""
        c = self.credentials
        try:
            response = self._session.post(
                c.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                },
                timeout=c.timeout,
            )
        except requests.RequestException as exc:
            raise CrmAuthError(f"Salesforce token request failed: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            try:
                detail = response.json().get("error_description") or response.json().get("error")
            except ValueError:
                detail = f"HTTP {response.status_code}"
            raise CrmAuthError(f"Salesforce refused the client credentials: {detail}")
        body = response.json()
        self._connect(body["instance_url"], body["access_token"])

    @property
    def instance_url(self) -> str:
        return self._sf.base_url.split("/services/")[0] if self._sf else self.credentials.instance_url

    def _call(self, fn: Callable[[], Any]) -> Any:
        for attempt in _waiting(self.max_wait):
            with attempt:
                return self._once(fn)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, fn: Callable[[], Any]) -> Any:
        from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

        try:
            return fn()
        except SalesforceExpiredSession as exc:
            if self.credentials.can_refresh and not self._refreshed:
                self._refreshed = True  # once: a token that expires again at once is a real problem
                self._fetch_token()
                try:
                    return fn()
                except SalesforceError as again:
                    raise self._translate(again) from again
            raise CrmAuthError(
                "the Salesforce session expired and cannot be renewed; set a new SALESFORCE_ACCESS_TOKEN or "
                "configure the client-credentials trio"
                if not self.credentials.can_refresh
                else "the Salesforce session expired again right after it was renewed"
            ) from exc
        except SalesforceError as exc:
            raise self._translate(exc) from exc
        except requests.RequestException as exc:
            raise CrmBatchFailed(
                f"Salesforce did not answer: {exc.__class__.__name__}", "CONNECTION"
            ) from exc

    def _translate(self, exc) -> CrmError:
        content = exc.content
        first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
        code = str(first.get("errorCode", "")) or f"HTTP_{exc.status}"
        message = str(first.get("message", "")) or str(content)[:300]
        if exc.status == 401:
            return CrmAuthError(f"Salesforce refused the session: {message}")
        if (
            exc.status == 429
        ):  # a rate limit in front of the org (its body may say REQUEST_LIMIT_EXCEEDED too)
            retry = self._retry_after_seen
            return CrmRateLimited(f"Salesforce asked to slow down (retry after {retry:g} s)", retry)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return CrmLimitExceeded(f"Salesforce API limit reached: {message}")
        if code in MAPPING_ERROR_CODES:
            return CrmConfigError(f"Salesforce refused the mapping for {self.object_type}: {code}: {message}")
        return CrmBatchFailed(f"Salesforce answered {exc.status} {code}: {message}", code)

    def upsert(self, records: Sequence[dict]) -> list[RecordResult]:
        """sObject Collections upsert by External ID: one request, up to 200 records, per-record answers."""
        path = f"composite/sobjects/{self.object_type}/{self.key_field}"
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": self.object_type}, **r} for r in records],
        }
        answers = self._call(lambda: self._sf.restful(path, method="PATCH", json=body, timeout=self._timeout))
        results = []
        for record, answer in zip(records, answers or [], strict=False):
            key = str(record[self.key_field])
            if answer.get("success"):
                results.append(
                    RecordResult(
                        key=key, ok=True, crm_id=answer.get("id") or "", created=bool(answer.get("created"))
                    )
                )
            else:
                error = (answer.get("errors") or [{}])[0]
                results.append(
                    RecordResult(
                        key=key,
                        ok=False,
                        code=str(error.get("statusCode", "UNKNOWN")),
                        message=str(error.get("message", "")),
                        fields=tuple(error.get("fields") or ()),
                    )
                )
        return results

    @property
    def _timeout(self) -> float:
        return self.credentials.timeout

    def _raw(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call the JSON helper cannot make (CSV up or down), with the client's session and headers."""
        from simple_salesforce.util import exception_handler

        def call() -> requests.Response:
            headers = {**self._sf.headers, **kwargs.pop("headers", {})}
            response = self._session.request(
                method, self._sf.base_url + path, headers=headers, timeout=self._timeout, **kwargs
            )
            if response.status_code >= 300:
                exception_handler(response, name=path)
            return response

        return self._call(call)

    def bulk_upsert(self, records: Sequence[dict]) -> list[RecordResult]:
        """Bulk API 2.0 ingest: create a job, upload one CSV, close it, poll, read the results."""
        columns = sorted({k for r in records for k in r})
        columns.remove(self.key_field)
        columns = [self.key_field, *columns]
        job = self._call(
            lambda: self._sf.restful(
                "jobs/ingest",
                method="POST",
                json={
                    "object": self.object_type,
                    "externalIdFieldName": self.key_field,
                    "contentType": "CSV",
                    "operation": "upsert",
                    "lineEnding": "LF",
                },
                timeout=self._timeout,
            )
        )
        job_id = job["id"]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({c: "" if r.get(c) is None else r.get(c) for c in columns})
        self._raw(
            "PUT",
            f"jobs/ingest/{job_id}/batches",
            data=out.getvalue().encode(),
            headers={"Content-Type": "text/csv"},
        )
        self._call(
            lambda: self._sf.restful(
                f"jobs/ingest/{job_id}",
                method="PATCH",
                json={"state": "UploadComplete"},
                timeout=self._timeout,
            )
        )
        deadline = time.monotonic() + self.bulk_timeout
        while True:
            info = self._call(lambda: self._sf.restful(f"jobs/ingest/{job_id}", timeout=self._timeout))
            state = info.get("state")
            if state == "JobComplete":
                break
            if state in ("Failed", "Aborted"):
                raise CrmBatchFailed(
                    f"Salesforce Bulk job {job_id} {state.lower()}: {info.get('errorMessage', '')}",
                    "BULK_JOB_FAILED",
                )
            if time.monotonic() > deadline:
                raise CrmBatchFailed(
                    f"Salesforce Bulk job {job_id} still {state} after the timeout", "BULK_TIMEOUT"
                )
            self.sleep(self.poll_seconds)
        results: dict[str, RecordResult] = {}
        ok = self._raw("GET", f"jobs/ingest/{job_id}/successfulResults/")
        for row in csv.DictReader(io.StringIO(ok.text)):
            key = row.get(self.key_field, "")
            created = str(row.get("sf__Created", "")).lower() == "true"
            results[key] = RecordResult(key=key, ok=True, crm_id=row.get("sf__Id", ""), created=created)
        failed = self._raw("GET", f"jobs/ingest/{job_id}/failedResults/")
        for row in csv.DictReader(io.StringIO(failed.text)):
            key = row.get(self.key_field, "")
            code, message, fields = _bulk_error(row.get("sf__Error", ""))
            results[key] = RecordResult(key=key, ok=False, code=code, message=message, fields=fields)
        return [
            results.get(str(r[self.key_field]))
            or RecordResult(
                key=str(r[self.key_field]), ok=False, code="NO_RESULT", message="not in the job results"
            )
            for r in records
        ]

    def _query(self, soql: str) -> Iterator[dict]:
        page = self._call(lambda: self._sf.query(soql))
        while True:
            yield from page.get("records", [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(lambda url=next_url: self._sf.query_more(url, identifier_is_url=True))

    def owner_ids(self, emails: Sequence[str]) -> dict[str, str]:
        """Active Salesforce users by email (lower-cased)."""
        found: dict[str, str] = {}
        wanted = sorted({e.lower() for e in emails if e})
        for start in range(0, len(wanted), OWNER_QUERY_CHUNK):
            chunk = wanted[start : start + OWNER_QUERY_CHUNK]
            quoted = ", ".join(_soql_quote(e) for e in chunk)
            # SOQL has no bound parameters; every email is a quoted, escaped SOQL string literal.
            soql = f"SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ({quoted})"  # nosec B608: literals escaped by _soql_quote
            for row in self._query(soql):
                found[str(row["Email"]).lower()] = row["Id"]
        return found

    def changed_since(self, watermark: str, read: ReadFields) -> Iterator[CrmRecord]:
        """Records we created (key set) modified after the watermark, oldest first (SystemModstamp)."""
        fields = [
            "Id",
            self.key_field,
            "SystemModstamp",
            *[f for f in (read.stage, read.amount, read.close_date, read.owner) if f],
        ]
        where = f"{self.key_field} != null"
        if watermark and not _SOQL_DATETIME.fullmatch(watermark):
            raise CrmConfigError(
                f"the read-back watermark {watermark!r} is not a SOQL datetime; clear it in admin"
            )
        if watermark:
            where += f" AND SystemModstamp > {watermark}"
        columns = ", ".join(dict.fromkeys(fields))
        # Field and object names are API names (admin validates them as identifiers; the object is a
        # choice); the watermark is a datetime literal the sync formatted itself.
        soql = f"SELECT {columns} FROM {self.object_type} WHERE {where} ORDER BY SystemModstamp ASC"  # nosec B608: identifiers validated, no user text
        for row in self._query(soql):
            yield CrmRecord(
                key=str(row.get(self.key_field) or ""),
                crm_id=str(row.get("Id") or ""),
                stage=str(row.get(read.stage) or "") if read.stage else "",
                amount=_decimal(row.get(read.amount)) if read.amount else None,
                close_date=_date(row.get(read.close_date)) if read.close_date else None,
                owner_id=str(row.get(read.owner) or "") if read.owner else "",
                modified=_salesforce_stamp(row.get("SystemModstamp")),
            )

    def describe(self) -> dict[str, FieldInfo]:
        info = self._call(
            lambda: self._sf.restful(f"sobjects/{self.object_type}/describe", timeout=self._timeout)
        )
        return {
            f["name"]: FieldInfo(
                name=f["name"],
                writable=bool(f.get("createable") or f.get("updateable")),
                is_key=bool(f.get("externalId") or f.get("idLookup")),
            )
            for f in info.get("fields", [])
        }

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Salesforce links the record to its account through a field (AccountId/WhatId): nothing to do."""


def _salesforce_stamp(value: Any) -> str:
    """SystemModstamp as a SOQL datetime literal (``2026-12-03T10:00:00Z``), comparable as text."""
    if not value:
        return ""
    text = str(value)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        return ""  # not a timestamp: never becomes part of a query
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:AccountId --`` -> code, message, fields."""
    parts = text.rstrip(" -").split(":")
    code = parts[0].strip() or "UNKNOWN"
    message = parts[1].strip() if len(parts) > 1 else text
    fields = tuple(f.strip() for f in parts[2].split(",") if f.strip()) if len(parts) > 2 else ()
    return code, message, fields


# -- HubSpot ----------------------------------------------------------------------------------------

#: HubSpot object type ids used in record links (app.hubspot.com/contacts/{portal}/record/{id}/{record}).
HUBSPOT_OBJECT_TYPE_IDS = {"deals": "0-3", "tasks": "0-27"}
HUBSPOT_MODIFIED = "hs_lastmodifieddate"


@dataclass(frozen=True)
class HubSpotCredentials:
    access_token: str = ""
    api_base: str = "https://api.hubapi.com"
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    portal_id: str = ""
    app_url: str = "https://app.hubspot.com"
    timeout: float = 30.0

    @property
    def can_refresh(self) -> bool:
        return bool(self.client_id and self.client_secret and self.refresh_token)

    def problem(self) -> str | None:
        if self.access_token or self.can_refresh:
            return None
        return (
            "HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN (a private app token), or "
            "HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN"
        )


class HubSpotClient:
    batch_size = HUBSPOT_BATCH

    def __init__(
        self,
        credentials: HubSpotCredentials,
        *,
        object_type: str,
        key_field: str,
        pipeline: str = "",
        max_wait: float = 30.0,
    ):
        problem = credentials.problem()
        if problem:
            raise CrmAuthError(problem)
        self.credentials = credentials
        self.object_type = object_type
        self.key_field = key_field
        self.max_wait = max_wait
        self.requests = 0
        self._refreshed = False
        token = credentials.access_token or self._refresh()
        self._connect(token)

    def _connect(self, token: str) -> None:
        import hubspot

        self._client = hubspot.Client(access_token=token, host=self.credentials.api_base)

    def _refresh(self) -> str:
        c = self.credentials
        self.requests += 1
        try:
            response = requests.post(
                f"{c.api_base}/oauth/v1/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token,
                },
                timeout=c.timeout,
            )
        except requests.RequestException as exc:
            raise CrmAuthError(f"HubSpot token request failed: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise CrmAuthError(f"HubSpot refused the refresh token (HTTP {response.status_code})")
        return response.json()["access_token"]

    def _objects(self):
        crm = self._client.crm
        return crm.deals if self.object_type == "deals" else crm.objects.tasks

    def _call(self, fn: Callable[[], Any]) -> Any:
        for attempt in _waiting(self.max_wait):
            with attempt:
                return self._once(fn)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, fn: Callable[[], Any]) -> Any:
        from hubspot.crm.deals.exceptions import ApiException

        try:
            self.requests += 1
            return fn()
        except Exception as exc:  # each generated package has its own ApiException; all share the shape
            if not _is_api_exception(exc, ApiException):
                raise
            if exc.status == 401:
                if self.credentials.can_refresh and not self._refreshed:
                    self._refreshed = True
                    self._connect(self._refresh())
                    try:
                        self.requests += 1
                        return fn()
                    except Exception as again:
                        if _is_api_exception(again, ApiException):
                            raise self._translate(again) from again
                        raise
                raise CrmAuthError(
                    "the HubSpot token expired or was revoked; set a new HUBSPOT_ACCESS_TOKEN"
                    + ("" if not self.credentials.can_refresh else " (it expired again right after renewal)")
                ) from exc
            raise self._translate(exc) from exc

    def _translate(self, exc) -> CrmError:
        body = _json(getattr(exc, "body", None))
        message = str(body.get("message") or exc.reason or "")
        category = str(body.get("category") or body.get("errorType") or f"HTTP_{exc.status}")
        if exc.status == 401:
            return CrmAuthError(f"HubSpot refused the token: {message}")
        if exc.status == 429:
            headers = getattr(exc, "headers", None) or {}
            retry = _retry_after(headers.get("Retry-After"), default=10.0)
            return CrmRateLimited(f"HubSpot asked to slow down (retry after {retry:g} s): {message}", retry)
        if exc.status == 400 and ("PROPERTY_DOESNT_EXIST" in str(body) or "does not exist" in message):
            return CrmConfigError(f"HubSpot refused the mapping for {self.object_type}: {message}")
        return CrmBatchFailed(f"HubSpot answered {exc.status} {category}: {message}", category)

    def upsert(self, records: Sequence[dict]) -> list[RecordResult]:
        """Batch upsert by a unique property: one request, up to 100 records (200 or 207 multi-status)."""
        from hubspot.crm.deals import (
            BatchInputSimplePublicObjectBatchInputUpsert,
            SimplePublicObjectBatchInputUpsert,
        )

        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id_property=self.key_field,
                id=str(r[self.key_field]),
                properties={k: _hs_value(v) for k, v in r.items()},
            )
            for r in records
        ]
        batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        answer = self._call(
            lambda: self._objects().batch_api.upsert(
                batch_input_simple_public_object_batch_input_upsert=batch
            )
        )
        by_key: dict[str, RecordResult] = {}
        for result in getattr(answer, "results", None) or []:
            key = str((result.properties or {}).get(self.key_field) or "")
            by_key[key] = RecordResult(
                key=key, ok=True, crm_id=str(result.id), created=bool(getattr(result, "new", False))
            )
        for error in getattr(answer, "errors", None) or []:
            context = getattr(error, "context", None) or {}
            keys = [str(k) for k in context.get("ids") or context.get("id") or []]
            for key in keys:
                by_key[key] = RecordResult(
                    key=key,
                    ok=False,
                    code=str(getattr(error, "category", "") or "ERROR"),
                    message=str(getattr(error, "message", "")),
                    fields=tuple(str(p) for p in context.get("propertyName", []) or []),
                )
        out = []
        for r in records:
            key = str(r[self.key_field])
            out.append(
                by_key.get(key)
                or RecordResult(
                    key=key, ok=False, code="NO_RESULT", message="HubSpot returned no result for it"
                )
            )
        return out

    def bulk_upsert(self, records: Sequence[dict]) -> list[RecordResult]:
        """HubSpot has no bulk ingest for CRM objects: batches of 100."""
        out: list[RecordResult] = []
        for start in range(0, len(records), self.batch_size):
            out += self.upsert(records[start : start + self.batch_size])
        return out

    def owner_ids(self, emails: Sequence[str]) -> dict[str, str]:
        """Every HubSpot owner by email (lower-cased), read page by page once per sync."""
        found: dict[str, str] = {}
        after = None
        while True:
            kwargs = {"limit": 500, **({"after": after} if after else {})}
            page = self._call(lambda kw=kwargs: self._client.crm.owners.owners_api.get_page(**kw))
            for owner in page.results or []:
                if owner.email:
                    found[str(owner.email).lower()] = str(owner.id)
            nxt = page.paging.next if page.paging else None
            if not nxt or not nxt.after:
                return found
            after = nxt.after

    def changed_since(self, watermark: str, read: ReadFields) -> Iterator[CrmRecord]:
        from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest

        filters = [Filter(property_name=self.key_field, operator="HAS_PROPERTY")]
        if watermark:
            filters.append(Filter(property_name=HUBSPOT_MODIFIED, operator="GT", value=watermark))
        properties = [
            self.key_field,
            HUBSPOT_MODIFIED,
            *[f for f in (read.stage, read.amount, read.close_date, read.owner) if f],
        ]
        after = None
        while True:
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=filters)],
                sorts=[f"{HUBSPOT_MODIFIED}"],
                properties=list(dict.fromkeys(properties)),
                limit=100,
                after=after,
            )
            page = self._call(
                lambda req=request: self._objects().search_api.do_search(public_object_search_request=req)
            )
            for result in page.results or []:
                props = result.properties or {}
                yield CrmRecord(
                    key=str(props.get(self.key_field) or ""),
                    crm_id=str(result.id),
                    stage=str(props.get(read.stage) or "") if read.stage else "",
                    amount=_decimal(props.get(read.amount)) if read.amount else None,
                    close_date=_date(props.get(read.close_date)) if read.close_date else None,
                    owner_id=str(props.get(read.owner) or "") if read.owner else "",
                    modified=_hubspot_stamp(props.get(HUBSPOT_MODIFIED)),
                )
            nxt = page.paging.next if page.paging else None
            if not nxt or not nxt.after:
                return
            after = nxt.after

    def describe(self) -> dict[str, FieldInfo]:
        answer = self._call(
            lambda: self._client.crm.properties.core_api.get_all(object_type=self.object_type)
        )
        return {
            p.name: FieldInfo(
                name=p.name,
                writable=not bool(
                    getattr(getattr(p, "modification_metadata", None), "read_only_value", False)
                ),
                is_key=bool(getattr(p, "has_unique_value", False)),
            )
            for p in answer.results or []
        }

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Default association of each record with its company (v4 batch, 100 a request)."""
        from hubspot.crm.associations.v4 import (
            BatchInputPublicDefaultAssociationMultiPost,
            PublicDefaultAssociationMultiPost,
        )

        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            batch = BatchInputPublicDefaultAssociationMultiPost(
                inputs=[PublicDefaultAssociationMultiPost(_from={"id": a}, to={"id": b}) for a, b in chunk]
            )
            self._call(
                lambda b=batch: self._client.crm.associations.v4.batch_api.create_default(
                    from_object_type=self.object_type,
                    to_object_type="companies",
                    batch_input_public_default_association_multi_post=b,
                )
            )


def _is_api_exception(exc: Exception, reference: type) -> bool:
    """Every hubspot sub-package generates its own ApiException class (and subclasses such as
    UnauthorizedException); they share the name and the shape (status, headers, body)."""
    return any(c.__name__ == reference.__name__ for c in type(exc).__mro__) and hasattr(exc, "status")


def _json(body: Any) -> dict:
    import json

    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _hs_value(value: Any) -> str:
    """HubSpot properties are strings; booleans are ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _hubspot_stamp(value: Any) -> str:
    """hs_lastmodifieddate as milliseconds since the epoch (what a GT filter compares against)."""
    if not value:
        return ""
    text = str(value)
    if text.isdigit():
        return text
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return str(int(parsed.timestamp() * 1000))
