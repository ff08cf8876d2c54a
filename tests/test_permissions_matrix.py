"""Every role boundary against one table (tests/permissions_table.py).

The URLs come from the URLconf (``get_resolver`` walk, admin included) and the OpenAPI schema; each URL
x method x role is tried once on one set of factory-built data (an EQL owned by one AE, everything
RevOps can reach in admin), and the answers must match the table. A URL without a row, a row without a
URL, a wrong answer, a write on a refusal or a state-changing request accepted without a CSRF token is
collected, and the test fails once listing all of them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from expansion.models import EQL, Activity, AttributionEntry, Role, User
from tests import permissions_table as spec
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    EQLFactory,
    ExpansionFactory,
    MetricFactory,
    ProductEventFactory,
    UsageSnapshotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SITE_METHODS = ("GET", "POST")
ANSWERS = {"ok", "login", "401", "403", "404", "405", "400", "422", "503"}
#: Answers after which the view acted on the request (so CSRF must have been checked first).
PROCESSED = {"ok", "400", "422"}


class _Rollback(Exception):
    """Raised to undo one request's writes, so every request sees the same data."""


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------


def load_table() -> tuple[dict[tuple[str, str], dict[str, str]], list[str]]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    problems = []
    for n, line in enumerate(spec.TABLE.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        url, method, *answers = line.split()
        if len(answers) != len(spec.ROLES) or not {a for cell in answers for a in cell.split("|")} <= ANSWERS:
            problems.append(
                f"permissions_table.py TABLE line {n}: expected {len(spec.ROLES)} answers: {line}"
            )
            continue
        if (url, method) in rows:
            problems.append(f"permissions_table.py TABLE line {n}: {url} {method} is listed twice")
        rows[url, method] = dict(zip(spec.ROLES, answers, strict=True))
    return rows, problems


#: Column widths of TABLE (url, method, then one per role), so a printed row pastes in aligned.
WIDTHS = (53, 8, 7, 7, 9, 7, 8, 7, 7)


def row_line(url: str, method: str, answers: dict[str, str]) -> str:
    cells = [url, method, *(answers[r] for r in spec.ROLES)]
    return "".join(f"{c:<{w}}" for c, w in zip(cells, WIDTHS, strict=True)).rstrip()


# --------------------------------------------------------------------------------------------------
# The URLs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str  # the table's name for it
    pattern: URLPattern
    namespace: str
    route: str

    @property
    def is_admin(self) -> bool:
        return self.namespace == "admin"

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    def methods(self) -> list[str]:
        base = API_METHODS if self.is_api else SITE_METHODS
        htmx = [f"hx:{m}" for m in SITE_METHODS] if self.key in spec.HTMX else []
        return [*base, *htmx]


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from walk(p, prefix + str(p.pattern), p.namespace or namespace)
        else:
            yield p, namespace, prefix + str(p.pattern)


def admin_model_of(name: str):
    """The registered model an admin URL name is about (``expansion_eql_change`` -> EQL)."""
    for model in admin.site._registry:
        if name.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    return None


def endpoints() -> list[Endpoint]:
    found = []
    for pattern, namespace, route in walk(get_resolver()):
        name = pattern.name
        if name is None and namespace == "admin":
            if route.endswith("<path:object_id>/"):
                app, model = route.split("/")[1:3]
                name = f"{app}_{model}_object"
            elif pattern.callback.__name__ == "catch_all_view":
                name = "catch_all"
        key = f"{namespace}:{name}" if namespace and name else (name or route)
        found.append(Endpoint(key, pattern, namespace, route))
    return found


# --------------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------------


def build_world() -> dict:
    """One of everything: the EQL and account AE-1 owns, the people of each role, one object of each
    model registered in admin (their ids fill the admin URLs)."""
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult
    from rest_framework.authtoken.models import Token

    from dashboards.models import BacktestRun
    from expansion.models import SourceRun, WarehouseSource
    from routing.crm import services as crm_services
    from routing.crm.models import CrmConnection, CrmLink, CrmReject, CrmSyncRun
    from routing.models import (
        Delivery,
        Notification,
        NotificationPreference,
        RoutingRule,
        SelfServeMessage,
        SelfServeTemplate,
        SlackInteraction,
        SlackMessage,
        SlackUser,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from routing.services import eql_transition
    from scoring.models import EqlPolicy, Gate, ScoringPass, SignalDefinition

    manager = UserFactory(role=Role.MANAGER, email="manager@example.com")
    ae = UserFactory(role=Role.AE, email="ae1@example.com", manager=manager)
    other_ae = UserFactory(role=Role.AE, email="ae2@example.com", manager=UserFactory(role=Role.MANAGER))
    csm = UserFactory(role=Role.CSM, email="csm@example.com", manager=manager)
    revops = UserFactory(role=Role.REVOPS, email="revops@example.com", is_staff=True)
    finance = UserFactory(role=Role.FINANCE, email="finance@example.com")
    account = AccountFactory(ae=ae, csm=csm, account_id="ACC-MATRIX")  # api-events posts to it
    eql = EQLFactory(account=account, owner=ae, csm=csm, status="contacted")
    won = EQLFactory(account=AccountFactory(ae=ae, csm=csm), owner=ae, csm=csm, status="proposal_sent")
    eql_transition(eql_id=won.pk, user=ae, event="won", expansion_arr=Decimal("12000"))
    entry = AttributionEntry.objects.order_by("pk").first()
    metric = MetricFactory()
    UsageSnapshotFactory(account=account, metric=metric)
    ActivityFactory(account=account, actor=ae)
    ExpansionFactory(account=account)
    ProductEventFactory(account=account)
    notification = Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="s", body="b")
    delivery = Delivery.objects.create(notification=notification, channel="slack")
    # Slack app records (admin: RevOps reads the message log, interactions and the user cache).
    NotificationPreference.objects.create(user=ae, channels="slack", slack_daily_cap=10)
    SlackUser.objects.create(email=ae.email, slack_user_id="U0MATRIX", looked_up_at=timezone.now())
    SlackMessage.objects.create(eql=eql, delivery=delivery, channel="D0MATRIX", ts="1700000000.000100")
    SlackInteraction.objects.create(
        key="matrix", eql=eql, slack_user_id="U0MATRIX", user=ae, action="accept", status="applied"
    )
    # Self-serve motion: the message template RevOps edits and the log (stage SLAs are seeded rows).
    SelfServeTemplate.objects.create(name="Matrix template", subject="Hi {{ account.name }}")
    SelfServeMessage.objects.create(eql=eql, to="admin@example.com", subject="s", status="sent")
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="http://127.0.0.1:9/hook", secret="s" * 32)
    WebhookDelivery.objects.create(endpoint=endpoint, eql=eql, event="eql.updated", payload={})
    Token.objects.create(user=ae)
    now = timezone.now()
    ScoringPass.objects.get_or_create(as_of=now, started_at=now)
    if not EqlPolicy.objects.exists():
        EqlPolicy.objects.create()
    if not Gate.objects.exists():
        Gate.objects.create(name="Matrix gate", value="1")
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    CrontabSchedule.objects.create(minute="0")
    SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    ClockedSchedule.objects.create(clocked_time=now)
    PeriodicTask.objects.create(name="matrix", task="scoring.tasks.run_pass", interval=interval)
    TaskResult.objects.create(task_id="matrix-task")
    GroupResult.objects.create(group_id="matrix-group")
    backtest = BacktestRun.objects.create(created_by=revops, params={})
    # Sign-in lockout records (admin: RevOps reads them and deletes an attempt to unlock someone).
    seen = {"ip_address": "192.0.2.7", "username": ae.email, "user_agent": "matrix", "path_info": "/login/"}
    AccessAttempt.objects.create(**seen, failures_since_start=5, get_data="", post_data="")
    AccessFailureLog.objects.create(**seen, locked_out=True)
    AccessLog.objects.create(**seen)
    signal = SignalDefinition.objects.order_by("pk").first()
    crm = CrmConnection.objects.create(
        name="matrix-sf", kind="salesforce", object_type="Opportunity", upsert_key="EQL_Id__c"
    )
    crm_services.mapping_defaults_apply(connection=crm)
    crm_run = CrmSyncRun.objects.create(connection=crm, started_at=now)
    CrmLink.objects.create(connection=crm, eql=won, crm_id="006000000000001AAA")
    CrmReject.objects.create(connection=crm, eql=won, run=crm_run, code="X", message="m", created_at=now)
    # Warehouse source admin: a source (its inputs inline) and one run of it.
    source = WarehouseSource.objects.create(name="matrix-lake", kind="parquet", location="/nonexistent")
    SourceRun.objects.create(source=source, started_at=now)
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        if obj is not None and hasattr(model, "history") and not obj.history.exists():
            obj.save()  # a history record, for the admin's history-record page
    people = {
        "ae": ae,
        "other_ae": other_ae,
        "csm": csm,
        "manager": manager,
        "revops": revops,
        "finance": finance,
    }
    return {
        "people": people,
        "eql": eql,
        "entry": entry,
        "backtest": backtest,
        "signal": signal,
        "gate": Gate.objects.order_by("pk").first(),
        "policy": EqlPolicy.objects.order_by("pk").first(),
        "routing_rule": RoutingRule.objects.order_by("pk").first(),
        "users.csv": "users.csv",
        "crm_connection": crm.name,
        # Admin URLs about people point at the RevOps user: RevOps trying to escalate itself.
        User: revops,
    }


def admin_object(world: dict, model):
    if model in world:
        return world[model]
    return model._default_manager.order_by("pk").first()


def url_of(endpoint: Endpoint, world: dict) -> str | None:
    """The concrete URL to try, or None when the data has nothing to fill it with."""
    pattern, key = endpoint.pattern, endpoint.key
    if endpoint.is_admin:
        name = key.split(":", 1)[1]
        if name == "catch_all":
            return "/admin/no-such-page/"
        if name == "app_list":
            return reverse("admin:app_list", kwargs={"app_label": "expansion"})
        if name == "view_on_site":
            ct = ContentType.objects.get_for_model(EQL)
            return reverse("admin:view_on_site", args=[ct.pk, world["eql"].pk])
        if name == "auth_user_password_change":
            return reverse(key, args=[world[User].pk])
        model = admin_model_of(name)
        if model is None:
            return reverse(key)
        obj = admin_object(world, model)
        if obj is None:
            return None
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        if name.endswith("_object"):
            return reverse(f"{base}_change", args=[obj.pk]).removesuffix("change/")
        if name.endswith("_simple_history"):
            record = obj.history.order_by("history_id").first()
            return reverse(key, args=[obj.pk, record.history_id]) if record else None
        if name.endswith(("_changelist", "_add")):
            return reverse(key)
        return reverse(key, args=[obj.pk])
    names = set(pattern.pattern.regex.groupindex) | set(getattr(pattern.pattern, "converters", {}))
    if not names:
        return reverse(key)
    fill = spec.PARAMS.get(key)
    if fill is None or set(fill) != names:
        return None
    kwargs = {p: (v if isinstance(v := world[name], str) else v.pk) for p, name in fill.items()}
    return reverse(key, kwargs=kwargs)


# --------------------------------------------------------------------------------------------------
# Requests and answers
# --------------------------------------------------------------------------------------------------


def login_paths() -> tuple[str, ...]:
    return (reverse(settings.LOGIN_URL), reverse("admin:login"))


def answer_of(response) -> str:
    logins = login_paths()
    target = urlsplit(response.headers.get("Location") or response.headers.get("HX-Redirect") or "")
    if target.path in logins and "next=" in target.query:
        return "login"  # sent to sign in first (signing out also ends on the sign-in page, without next)
    if 200 <= response.status_code < 400:
        return "ok"
    return str(response.status_code)


def escalation_form(user: User) -> dict:
    """The user change form for ``user`` as posted, plus superuser, staff, every group and Finance."""
    return {
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "role": Role.FINANCE,
        "manager": "",
        "capacity": "",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": list(Group.objects.values_list("pk", flat=True)),
    }


def send(client: Client, method: str, url: str, endpoint: Endpoint, world: dict):
    htmx = method.startswith("hx:")
    method = method.removeprefix("hx:")
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"} if htmx else {}
    if method == "GET":
        return client.get(url, headers=headers)
    payload = spec.PAYLOADS.get(endpoint.key, {})
    if endpoint.is_admin and endpoint.key.endswith("_delete"):
        payload = {"form": spec.ADMIN_DELETE_PAYLOAD}
    if "json" in payload:
        return client.generic(
            method, url, json.dumps(payload["json"]), content_type="application/json", headers=headers
        )
    if "csv" in payload:
        return client.generic(method, url, payload["csv"].encode(), content_type="text/csv", headers=headers)
    form = payload.get("form", {})
    if form == "escalation":
        form = escalation_form(world[User])
    if method == "POST":
        return client.post(url, form, headers=headers)
    body = urlencode(form, doseq=True)
    return client.generic(
        method, url, body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def writes() -> int:
    """Rows written on this connection so far (any table), to tell whether a request wrote anything."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT total_changes()")
        else:
            cur.execute(
                "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_all_tables"
            )
        return int(cur.fetchone()[0])


def relevant_rows() -> str:
    """A digest of the rows a role boundary guards: people's privileges, the EQLs, their events, credit."""
    parts = [
        list(
            User.objects.order_by("pk").values_list(
                "pk", "role", "is_superuser", "is_staff", "password", "name"
            )
        ),
        list(User.groups.through.objects.order_by("pk").values_list("user_id", "group_id")),
        list(EQL.objects.order_by("pk").values_list("pk", "status", "owner_id", "updated_at")),
        Activity.objects.count(),
        AttributionEntry.objects.count(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def try_once(client: Client, method: str, url: str, endpoint: Endpoint, world: dict):
    """One request, its writes undone afterwards: (response, rows written, guarded rows changed)."""
    cache.clear()  # sign-in and API throttles must not count the matrix's own requests
    cookies = copy.deepcopy(client.cookies)  # signing out clears the session cookie; the next try needs it
    if method.removeprefix("hx:") not in STATE_CHANGING:
        response = send(client, method, url, endpoint, world)
        client.cookies = cookies
        return response, 0, False
    before_rows, before_writes = relevant_rows(), writes()
    try:
        with transaction.atomic():
            response = send(client, method, url, endpoint, world)
            written = writes() - before_writes
            changed = relevant_rows() != before_rows
            raise _Rollback
    except _Rollback:
        pass
    client.cookies = cookies
    return response, written, changed


def clients(world: dict, *, enforce_csrf_checks: bool = False) -> dict[str, Client]:
    result = {"anon": Client(enforce_csrf_checks=enforce_csrf_checks)}
    for role, user in world["people"].items():
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.force_login(user)
        result[role] = client
    return result


def targets(world: dict) -> tuple[list[tuple[Endpoint, str]], list[str]]:
    found, problems = [], []
    for endpoint in endpoints():
        url = url_of(endpoint, world)
        if url is None:
            problems.append(
                f"{endpoint.key} ({endpoint.route}): cannot fill its parameters; add them to PARAMS in "
                "tests/permissions_table.py (or an object of its model to build_world)"
            )
            continue
        found.append((endpoint, url))
    return found, problems


# --------------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------------


def test_every_url_method_and_role_answers_as_the_table_says():
    table, problems = load_table()
    world = build_world()
    by_role = clients(world)
    found, unfilled = targets(world)
    problems += unfilled
    missing, seen = [], set()
    for endpoint, url in found:
        for method in endpoint.methods():
            seen.add((endpoint.key, method))
            expected = table.get((endpoint.key, method))
            observed = {}
            for role, client in by_role.items():
                response, written, changed = try_once(client, method, url, endpoint, world)
                got = observed[role] = answer_of(response)
                if expected is not None and got not in expected[role].split("|"):
                    problems.append(
                        f"{endpoint.key} {method} as {role} ({url}): expected {expected[role]}, "
                        f"got {got} ({response.status_code})"
                    )
                if method.removeprefix("hx:") in STATE_CHANGING and got != "ok" and (written or changed):
                    what = "changed guarded rows" if changed else f"wrote {written} row(s)"
                    problems.append(f"{endpoint.key} {method} as {role}: refused with {got} but {what}")
            if expected is None:
                missing.append(row_line(endpoint.key, method, observed))
    for url, method in sorted(set(table) - seen):
        problems.append(f"permissions_table.py: {url} {method} has no such URL any more; remove the row")
    if missing:
        problems.append(
            "URLs without a row in tests/permissions_table.py TABLE; check each answer below against who "
            "should be allowed, then add the lines:\n" + "\n".join(missing)
        )
    assert not problems, "\n".join(problems)


def test_the_openapi_schema_and_the_table_list_the_same_api():
    # given
    table, _ = load_table()
    client = Client()
    client.force_login(UserFactory(role=Role.REVOPS, is_staff=True))

    # when
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    # then: every documented operation has a row that someone may use...
    problems, documented = [], set()
    for path, operations in schema["paths"].items():
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
        key = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        for method in operations:
            if method.upper() not in API_METHODS:
                continue
            documented.add((key, method.upper()))
            row = table.get((key, method.upper()))
            if row is None:
                problems.append(f"{method.upper()} {path} ({key}) is in the schema but has no row")
            elif set(row.values()) <= {"401", "405"}:
                problems.append(f"{method.upper()} {path} ({key}) is documented but answers nobody")
    # ...and every API row that anyone may use is documented.
    for (key, method), row in table.items():
        is_api = any(e.key == key and e.is_api for e in endpoints())
        used = is_api and key not in ("api-schema", "api-docs") and "405" not in row.values()
        if used and (key, method) not in documented:
            problems.append(f"{method} {key} answers {row} but is not in the OpenAPI schema")
    assert not problems, "\n".join(problems)


def test_state_changing_requests_without_a_csrf_token_are_refused():
    table, _ = load_table()
    world = build_world()
    by_role = clients(world, enforce_csrf_checks=True)
    found, _ = targets(world)
    problems, tried = [], 0
    for endpoint, url in found:
        for method in endpoint.methods():
            if method.removeprefix("hx:") not in STATE_CHANGING or (endpoint.key, method) not in table:
                continue
            for role, answer in table[endpoint.key, method].items():
                if answer not in PROCESSED or (role == "anon" and endpoint.is_api):
                    continue  # refused anyway (the matrix test checks that), or no session to forge
                tried += 1
                response, written, changed = try_once(by_role[role], method, url, endpoint, world)
                refused = response.status_code == 403 and b"CSRF" in response.content
                if not refused or written or changed:
                    problems.append(
                        f"{endpoint.key} {method} as {role} without a CSRF token: {response.status_code}"
                        + (", rows written" if written or changed else "")
                    )
    assert tried > 0, "the table lists no state-changing request that any role may make"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("via", ["inbox", "api"])
def test_an_ae_cannot_act_on_another_aes_eql(via):
    # given
    world = build_world()
    eql = world["eql"]
    client = Client()
    client.force_login(world["people"]["other_ae"])
    before = (EQL.objects.filter(pk=eql.pk).values().get(), Activity.objects.count(), writes())

    # when
    if via == "inbox":
        response = client.post(reverse("eql_event", args=[eql.pk]), {"type": "call_booked"})
    else:
        response = client.post(
            reverse("eql-events", args=[eql.pk]), {"type": "call_booked"}, content_type="application/json"
        )

    # then
    assert response.status_code == 404
    assert (EQL.objects.filter(pk=eql.pk).values().get(), Activity.objects.count(), writes()) == before
