"""seed_demo: the demo export is realistic, deterministic and loads through the normal import."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re

import pandas as pd
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count

from expansion import demo
from expansion.models import Account, Expansion, Role, UsageSnapshot, User

AS_OF = dt.date(2026, 3, 31)
CONTRACT_HEADERS = {
    "users.csv": "email,name,role,manager_email,capacity",
    "accounts.csv": "account_id,name,segment,plan_tier,contract_arr,customer_since,renewal_date,"
    "seats_licensed,api_limit_30d,owned_modules,health_score,status,ae_email,csm_email",
    "usage.csv": "account_id,date,metric,value",
    "activities.csv": "activity_id,account_id,occurred_at,type,actor_email,commercial",
    "expansions.csv": "opportunity_id,account_id,created_date,closed_date,status,expansion_arr,"
    "expansion_type,contract_arr_at_close",
}


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # PBKDF2 costs ~0.3 s per password; the demo sets 17 of them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _seed(tmp_path, *extra: str, stdout=None) -> None:
    call_command(
        "seed_demo",
        "--accounts",
        "120",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
        "--as-of",
        AS_OF.isoformat(),
        *extra,
        stdout=stdout or io.StringIO(),
    )


@pytest.mark.django_db
def test_seed_demo_loads_people_accounts_usage_and_history(tmp_path):
    _seed(tmp_path, "--quiet")

    roles = dict(User.objects.values_list("role").annotate(n=Count("id")))
    assert roles == {Role.AE: 6, Role.CSM: 8, Role.MANAGER: 1, Role.REVOPS: 1, Role.FINANCE: 1}
    for user in User.objects.all():
        assert list(user.groups.values_list("name", flat=True)) == [user.role]
    manager = User.objects.get(role=Role.MANAGER)
    assert set(User.objects.filter(role__in=[Role.AE, Role.CSM]).values_list("manager", flat=True)) == {
        manager.pk
    }
    assert User.objects.get(role=Role.REVOPS).is_staff
    assert not User.objects.filter(is_staff=True).exclude(role=Role.REVOPS).exists()

    assert Account.objects.count() == 120
    assert set(Account.objects.values_list("segment", flat=True)) == {"SMB", "MidMarket", "Enterprise"}

    dates = sorted(set(UsageSnapshot.objects.values_list("date", flat=True)))
    assert len(dates) == 100
    assert dates[0] == AS_OF - dt.timedelta(days=99)
    assert dates[-1] == AS_OF
    assert Expansion.objects.filter(status="won").exists()

    for name, header in CONTRACT_HEADERS.items():
        assert (tmp_path / name).read_text(encoding="utf-8").split("\n", 1)[0] == header

    # Nothing happens on a second run with --if-empty.
    out = io.StringIO()
    _seed(tmp_path / "again", "--if-empty", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert not (tmp_path / "again").exists()


@pytest.mark.django_db
def test_printed_password_logs_the_demo_user_in(tmp_path):
    out = io.StringIO()
    _seed(tmp_path, stdout=out)
    text = out.getvalue()
    rows = dict(re.findall(r"^\s+(\S+@demo\.example)\s+\S+\s+(\S+)\s*$", text, flags=re.MULTILINE))
    assert len(rows) == 17
    assert text.count("ae1@demo.example") == 1
    for email in ("ae1@demo.example", "csm1@demo.example", "revops@demo.example", "finance@demo.example"):
        user = authenticate(username=email, password=rows[email])
        assert user is not None
        assert user.email == email
    assert authenticate(username="ae1@demo.example", password="wrong-password") is None


def test_generator_is_deterministic(tmp_path):
    first = demo.write_export(demo.generate(seed=3, accounts=120, as_of=AS_OF), tmp_path / "a")
    second = demo.write_export(demo.generate(seed=3, accounts=120, as_of=AS_OF), tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    other = demo.write_export(demo.generate(seed=4, accounts=120, as_of=AS_OF), tmp_path / "c")
    assert other["usage.csv"].read_bytes() != first["usage.csv"].read_bytes()


def test_propensity_is_not_exported(tmp_path):
    export = demo.generate(seed=3, accounts=120, as_of=AS_OF)
    paths = demo.write_export(export, tmp_path)
    for path in paths.values():
        assert "propensity" not in path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert 0.1 < export.propensity.mean() < 0.35


@pytest.mark.parametrize("accounts", [120, 1500])
def test_won_expansions_follow_expansion_propensity(accounts):
    export = demo.generate(seed=3, accounts=accounts, as_of=AS_OF)
    won = export.expansions.loc[export.expansions["status"] == "won"]
    high = export.propensity
    has_won = high.index.isin(won["account_id"])
    assert has_won[high.to_numpy()].mean() > has_won[~high.to_numpy()].mean()
    if accounts >= 1000:
        # Enough won deals of every type for the uplifts to calibrate (10 or more each).
        assert won["expansion_type"].value_counts().reindex(["seats", "tier", "module"]).min() >= 10


def test_usage_shape():
    export = demo.generate(seed=3, accounts=120, as_of=AS_OF)
    usage = export.usage
    assert usage["date"].max() == AS_OF.isoformat()
    assert usage["date"].nunique() == 100
    assert (usage["value"] >= 0).all()
    assert pd.api.types.is_integer_dtype(usage["value"])
    assert set(demo.BASE_METRICS) <= set(usage["metric"])
    gated = usage.loc[usage["metric"].str.startswith("gated_feature_views_14d:"), ["account_id", "metric"]]
    owned = export.accounts.set_index("account_id")["owned_modules"].fillna("").str.split(";")
    for account_id, metric in gated.drop_duplicates().itertuples(index=False):
        assert metric.split(":", 1)[1] not in owned[account_id]


@pytest.mark.django_db
def test_demo_history_gives_every_role_worked_eqls_through_the_lifecycle(
    tmp_path, django_capture_on_commit_callbacks
):
    # given/when: a demo with a few months of weekly passes worked by the owners
    from expansion.models import EQL, Activity, AttributionEntry
    from routing.models import ReasonCode
    from scoring.models import ScoringPass

    with django_capture_on_commit_callbacks(execute=True):  # the credit log signs its head on commit
        call_command(
            "seed_demo",
            "--accounts",
            "400",
            "--seed",
            "5",
            "--out",
            str(tmp_path),
            "--as-of",
            "2026-03-31",
            "--quiet",
            stdout=io.StringIO(),
        )

    # then: ten weekly passes, as of the ten Tuesdays before the demo day
    days = sorted(p.as_of.date() for p in ScoringPass.objects.filter(trigger="demo history"))
    assert days == [AS_OF - dt.timedelta(weeks=w) for w in range(10, 0, -1)]
    # every closed outcome is there, each closed EQL through the lifecycle's own events
    statuses = set(EQL.objects.values_list("status", flat=True))
    assert {"won", "lost", "declined", "contacted"} <= statuses
    for eql in EQL.objects.filter(status__in=["won", "lost", "declined"]):
        events = list(
            Activity.objects.filter(eql=eql).order_by("occurred_at").values_list("event", flat=True)
        )
        assert events[-1] == eql.status
        assert eql.closed_at <= dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
        assert eql.created_at <= eql.closed_at
    codes = {(r.kind, r.code) for r in ReasonCode.objects.all()}
    for eql in EQL.objects.filter(status__in=["lost", "declined"]):
        assert (eql.status, eql.close_reason) in codes
    # Finance's log holds the credit of every won EQL, and it verifies
    won = EQL.objects.filter(status="won")
    assert set(AttributionEntry.objects.values_list("eql_id", flat=True)) == set(
        won.values_list("pk", flat=True)
    )
    for eql in won:
        quota = AttributionEntry.objects.filter(eql=eql, credit_type="quota")
        assert sum(e.percent for e in quota) == 100
        assert sum(e.amount for e in quota) == eql.won_arr
    out = io.StringIO()
    call_command("verify_attribution", stdout=out)
    assert out.getvalue().startswith("OK")
    # the months before the usage export have their EQLs too, every one worked to its end
    first_pass = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)  # ten weeks before the demo day
    earlier = EQL.objects.filter(evaluation__recorded="demo earlier months")
    assert earlier.exists()
    assert set(earlier.values_list("status", flat=True)) == {"won", "lost", "declined"}
    assert all(e.created_at < first_pass for e in earlier)
    months = {(e.created_at.year, e.created_at.month) for e in earlier}
    assert len(months) == 11  # Mar 2025 (395 days back) to Jan 2026, every month
    # one EQL at a time per account, the next one at least the 30-day suppression after the close
    by_account: dict[int, list] = {}
    for e in EQL.objects.order_by("created_at"):
        by_account.setdefault(e.account_id, []).append(e)
    for records in by_account.values():
        for before, after in itertools.pairwise(records):
            if before.evaluation.get("recorded") == "demo earlier months":
                assert after.created_at >= before.closed_at + dt.timedelta(days=30)
