"""factory_boy factories for the core domain. Defaults are valid; override what a test is about."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from expansion.models import (
    EQL,
    Account,
    AccountStatus,
    Activity,
    ActivityType,
    EQLStatus,
    Expansion,
    ExpansionStatus,
    ExpansionType,
    Metric,
    PlanTier,
    ProductEvent,
    Role,
    Route,
    Segment,
    UsageSnapshot,
    User,
)

#: Every factory-made user can log in with this password.
PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once per test run (the default hasher is deliberately slow)."""
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    """A person with a role; login (username) and email are the same address."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda o: o.email)
    name = factory.Sequence(lambda n: f"User {n}")
    role = Role.AE
    password = factory.LazyFunction(password_hash)
    capacity = None

    @factory.post_generation
    def role_group(obj, create, extracted, **kwargs):
        """Put the user in their role's permission group, as the import and ``user_set_role`` do."""
        if create and obj.role:
            obj.groups.add(Group.objects.get_or_create(name=obj.role)[0])


class AccountFactory(factory.django.DjangoModelFactory):
    """An active Mid-market customer on Professional, with no owners unless given."""

    class Meta:
        model = Account

    account_id = factory.Sequence(lambda n: f"ACC-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    segment = Segment.MIDMARKET
    plan_tier = PlanTier.PROFESSIONAL
    contract_arr = Decimal("48000.00")
    customer_since = dt.date(2022, 1, 15)
    renewal_date = dt.date(2026, 1, 15)
    seats_licensed = 50
    api_limit_30d = 1_000_000
    owned_modules = factory.LazyFunction(list)
    health_score = 75
    status = AccountStatus.ACTIVE
    ae = None
    csm = None


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Metric
        django_get_or_create = ("name",)

    name = "seats_active"


class UsageSnapshotFactory(factory.django.DjangoModelFactory):
    """One metric value for one account on one day."""

    class Meta:
        model = UsageSnapshot

    account = factory.SubFactory(AccountFactory)
    metric = factory.SubFactory(MetricFactory)
    date = factory.LazyFunction(timezone.localdate)
    value = 10.0


class ActivityFactory(factory.django.DjangoModelFactory):
    """A commercial call on an account, now."""

    class Meta:
        model = Activity

    activity_id = factory.Sequence(lambda n: f"ACT-{n:06d}")
    account = factory.SubFactory(AccountFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    type = ActivityType.CALL
    actor = None
    actor_email = factory.LazyAttribute(lambda o: o.actor.email if o.actor else "")
    commercial = True


class ExpansionFactory(factory.django.DjangoModelFactory):
    """A won seats expansion on an account."""

    class Meta:
        model = Expansion

    opportunity_id = factory.Sequence(lambda n: f"OPP-{n:06d}")
    account = factory.SubFactory(AccountFactory)
    created_date = dt.date(2024, 3, 1)
    closed_date = dt.date(2024, 4, 1)
    status = ExpansionStatus.WON
    expansion_arr = Decimal("12000.00")
    expansion_type = ExpansionType.SEATS
    contract_arr_at_close = factory.LazyAttribute(lambda o: o.account.contract_arr)


class ProductEventFactory(factory.django.DjangoModelFactory):
    """A seat-limit invite block on an account, now."""

    class Meta:
        model = ProductEvent

    event_id = factory.Sequence(lambda n: f"EV-{n:06d}")
    account = factory.SubFactory(AccountFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    event = "invite_blocked_seat_limit"
    properties = factory.LazyFunction(dict)


class EQLFactory(factory.django.DjangoModelFactory):
    """A new AE-routed EQL on a fresh account, created now."""

    class Meta:
        model = EQL

    account = factory.SubFactory(AccountFactory)
    status = EQLStatus.NEW
    score = 70
    primary_signal = "seat_utilization"
    expansion_type = ExpansionType.SEATS
    route = Route.AE
    owner = None
    csm = None
    contract_arr = factory.LazyAttribute(lambda o: o.account.contract_arr)
    estimated_expansion_arr = Decimal("9600.00")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
