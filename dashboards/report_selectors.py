"""ORM reads for the report pages: build the frames ``dashboards.conversion`` computes from.

Each frame is one ``values_list`` query (foreign keys come back as ids, joined columns through one
SQL join), so a page costs a fixed number of queries whatever the number of EQLs or accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from expansion.models import EQL, Account, Activity, Role, User
from scoring.models import SignalDefinition

#: Lifecycle events the conversion metrics read.
STATUS_EVENTS = ("contacted", "call_booked", "proposal_sent", "won", "lost", "declined", "self_serve_sent")
#: Roles whose members have a weekly KPI row (they own EQLs and books).
MEMBER_ROLES = (Role.AE, Role.CSM)

EQL_FIELDS = {
    "eql_id": "pk",
    "account_id": "account__account_id",
    "segment": "account__segment",
    "owner_id": "owner_id",
    "route": "route",
    "primary_signal": "primary_signal",
    "triggered_signals": "triggered_signals",
    "created_at": "created_at",
    "assigned_at": "assigned_at",
    "first_contact_at": "first_contact_at",
    "sla_deadline": "sla_deadline",
    "sla_breached": "sla_breached",
    "status": "status",
    "closed_at": "closed_at",
    "won_arr": "won_arr",
}
EVENT_COLUMNS = ["eql_id", "event", "occurred_at"]
ACCOUNT_FIELDS = {
    "account_id": "account_id",
    "status": "status",
    "customer_since": "customer_since",
    "segment": "segment",
    "ae_id": "ae_id",
    "csm_id": "csm_id",
}


def _end_of(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` (UTC), the exclusive bound of "on or before ``day``"."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def eqls_frame(as_of: dt.date) -> pd.DataFrame:
    """Every EQL record created on or before ``as_of`` (review items included; 1 query)."""
    rows = list(
        EQL.objects.order_by().filter(created_at__lt=_end_of(as_of)).values_list(*EQL_FIELDS.values())
    )
    return pd.DataFrame(rows, columns=list(EQL_FIELDS))


def events_frame(as_of: dt.date) -> pd.DataFrame:
    """The EQL lifecycle events that occurred on or before ``as_of`` (1 query)."""
    rows = list(
        Activity.objects.order_by()
        .filter(eql__isnull=False, event__in=STATUS_EVENTS, occurred_at__lt=_end_of(as_of))
        .values_list("eql_id", "event", "occurred_at")
    )
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def report_accounts_frame() -> pd.DataFrame:
    """Every account with status, tenure start, segment and owners (1 query)."""
    rows = list(Account.objects.order_by().values_list(*ACCOUNT_FIELDS.values()))
    return pd.DataFrame(rows, columns=list(ACCOUNT_FIELDS))


@dataclass(frozen=True)
class SignalInfo:
    key: str
    name: str
    priority: str
    active: bool


def signal_infos() -> dict[str, SignalInfo]:
    """Signal definitions by key, in admin order (1 query)."""
    rows = SignalDefinition.objects.order_by("order", "key").values_list("key", "name", "priority", "active")
    return {key: SignalInfo(key, name, priority, active) for key, name, priority, active in rows}


@dataclass(frozen=True)
class Person:
    pk: int
    name: str
    email: str
    role: str
    manager_id: int | None

    @property
    def display_name(self) -> str:
        return self.name or self.email


def people() -> dict[int, Person]:
    """Everyone who can own an EQL or lead a team, by pk (1 query)."""
    rows = User.objects.order_by("name", "email").values_list("pk", "name", "email", "role", "manager_id")
    return {pk: Person(pk, name, email, role, manager) for pk, name, email, role, manager in rows}


def team_members(user: User, everyone: dict[int, Person], manager_id: int | None = None) -> list[Person]:
    """Whose KPIs ``user`` sees: a Manager their direct reports; RevOps, Finance and superusers every
    AE and CSM (only ``manager_id``'s reports when given). No query: reads ``everyone``."""
    if user.role == Role.MANAGER and not user.is_superuser:
        manager_id = user.pk
    if manager_id is not None:
        return [p for p in everyone.values() if p.manager_id == manager_id]
    return [p for p in everyone.values() if p.role in MEMBER_ROLES]


def managers(everyone: dict[int, Person]) -> list[Person]:
    """People who lead a team (a Manager role or somebody's manager)."""
    leads = {p.manager_id for p in everyone.values() if p.manager_id}
    return [p for p in everyone.values() if p.role == Role.MANAGER or p.pk in leads]


@dataclass(frozen=True)
class AccountLink:
    pk: int
    ae: str
    csm: str


def account_links(account_ids: list[str]) -> dict[str, AccountLink]:
    """Admin pk and owner names for a handful of accounts (1 query, however many ids)."""
    if not account_ids:
        return {}
    rows = (
        Account.objects.order_by()
        .filter(account_id__in=account_ids)
        .values_list("account_id", "pk", "ae__name", "ae__email", "csm__name", "csm__email")
    )
    return {
        aid: AccountLink(pk, ae_name or ae_email or "", csm_name or csm_email or "")
        for aid, pk, ae_name, ae_email, csm_name, csm_email in rows
    }
