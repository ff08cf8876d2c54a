"""The warehouse import (contract.md, "Warehouse export" and "Import rules") through `import_data`.

Runs unchanged on SQLite and PostgreSQL: assertions read through the ORM only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from expansion.models import Account, Activity, Expansion, Metric, UsageSnapshot, User

pytestmark = pytest.mark.django_db

USERS = """\
email,name,role,manager_email,capacity
mia@example.com,Mia Manager,Manager,,
alex@example.com,Alex AE,AE,mia@example.com,25
casey@example.com,Casey CSM,CSM,mia@example.com,
olli@example.com,Olli Ops,RevOps,,
"""
ACCOUNTS = """\
account_id,name,segment,plan_tier,contract_arr,customer_since,renewal_date,seats_licensed,api_limit_30d,owned_modules,health_score,status,ae_email,csm_email
A-1,Acme,MidMarket,Professional,48000.00,2022-01-15,2026-01-15,50,1000000,sso;reports,80,active,alex@example.com,casey@example.com
A-2,Globex,Enterprise,Business,250000,2021-06-01,,400,5000000,,,active,alex@example.com,
A-3,Initech,SMB,Starter,6000.50,2023-09-30,2025-09-30,10,100000,,55,churned,,
"""
USAGE = """\
account_id,date,metric,value
A-1,2025-05-01,seats_active,48
A-1,2025-05-01,api_calls_30d,900000
A-1,2025-05-02,seats_active,49
A-2,2025-05-01,seats_active,310
A-2,2025-05-01,gated_feature_views_14d:sso,12
A-3,2025-05-01,seats_active,4
"""
USAGE_WIDE = """\
account_id,date,seats_active,api_calls_30d,gated_feature_views_14d:sso
A-1,2025-05-01,48,900000,
A-1,2025-05-02,49,,
A-2,2025-05-01,310,,12
A-3,2025-05-01,4,,
"""
ACTIVITIES = """\
activity_id,account_id,occurred_at,type,actor_email,commercial
T-1,A-1,2025-04-20,call,alex@example.com,true
T-2,A-1,2025-04-22T15:30:00+02:00,qbr,casey@example.com,false
T-3,A-2,2025-04-25T09:00:00Z,email,alex@example.com,true
"""
EXPANSIONS = """\
opportunity_id,account_id,created_date,closed_date,status,expansion_arr,expansion_type,contract_arr_at_close
O-1,A-1,2024-02-01,2024-03-15,won,12000,seats,36000
O-2,A-2,2024-08-01,,open,40000,module,250000
"""
EXPORT = {
    "users.csv": USERS,
    "accounts.csv": ACCOUNTS,
    "usage.csv": USAGE,
    "activities.csv": ACTIVITIES,
    "expansions.csv": EXPANSIONS,
}
ERROR_LINE = re.compile(r"^(?P<file>[\w.]+):(?P<line>\d+): (?P<column>[^:]+): (?P<reason>.+)$")


def write_export(directory: Path, files: dict[str, str | bytes]) -> Path:
    """Write each CSV (text, or raw bytes for encoding tests) into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


def run_import(directory: Path) -> dict:
    """Run ``import_data DIR --json`` and return the parsed JSON; raises CommandError on rejection."""
    out = StringIO()
    call_command("import_data", str(directory), "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def run_rejected(directory: Path) -> tuple[dict, list[str], CommandError]:
    """Run an import that must fail: the JSON of the files that did load, the problem lines, the error."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_data", str(directory), "--json", stdout=out, stderr=err)
    problems = [line.strip() for line in err.getvalue().splitlines() if line.startswith("  ")]
    return json.loads(out.getvalue()), problems, excinfo.value


def parse_problem(problem: str) -> tuple[str, int, str, str]:
    match = ERROR_LINE.match(problem)
    assert match, f"not a file:line: column: reason message: {problem!r}"
    return match["file"], int(match["line"]), match["column"], match["reason"]


def contents() -> dict[str, list[tuple]]:
    """Every row of every table the import writes, in a stable order (vendor-neutral, via the ORM)."""
    return {
        "users": list(User.objects.order_by("pk").values_list()),
        "user_groups": list(User.groups.through.objects.order_by("pk").values_list()),
        "accounts": list(Account.objects.order_by("pk").values_list()),
        "metrics": list(Metric.objects.order_by("pk").values_list()),
        "snapshots": list(UsageSnapshot.objects.order_by("pk").values_list()),
        "activities": list(Activity.objects.order_by("pk").values_list()),
        "expansions": list(Expansion.objects.order_by("pk").values_list()),
    }


def drop_column(text: str, column: str) -> str:
    """The same CSV without one column (no quoting in these fixtures, so a plain split is exact)."""
    rows = [line.split(",") for line in text.splitlines()]
    index = rows[0].index(column)
    return "".join(",".join(r[:index] + r[index + 1 :]) + "\n" for r in rows)


def snapshot_set() -> set[tuple]:
    return set(UsageSnapshot.objects.values_list("account__account_id", "metric__name", "date", "value"))


@pytest.fixture
def imported(tmp_path) -> Path:
    """The baseline export, already imported; returns its folder."""
    directory = write_export(tmp_path / "baseline", EXPORT)
    run_import(directory)
    return directory


# --- a valid export -------------------------------------------------------------------------------


def test_valid_export_imports_with_exact_counts(tmp_path):
    # given
    directory = write_export(tmp_path / "export", EXPORT)

    # when
    result = run_import(directory)

    # then
    assert result == {
        "files": {
            "users.csv": {"rows": 4, "created": 4, "updated": 0},
            "accounts.csv": {"rows": 3, "created": 3, "updated": 0},
            "usage.csv": {"rows": 6, "created": 6, "updated": 0},
            "activities.csv": {"rows": 3, "created": 3, "updated": 0},
            "expansions.csv": {"rows": 2, "created": 2, "updated": 0},
        }
    }
    assert User.objects.count() == 4
    assert Account.objects.count() == 3
    assert UsageSnapshot.objects.count() == 6
    assert Metric.objects.count() == 3
    assert Activity.objects.count() == 3
    assert Expansion.objects.count() == 2


def test_valid_export_stores_parsed_values(tmp_path):
    # given
    directory = write_export(tmp_path / "export", EXPORT)

    # when
    run_import(directory)

    # then
    alex = User.objects.get(email="alex@example.com")
    assert (alex.username, alex.name, alex.role, alex.manager.email, alex.capacity) == (
        "alex@example.com",
        "Alex AE",
        "AE",
        "mia@example.com",
        25,
    )
    assert list(alex.groups.values_list("name", flat=True)) == ["AE"]
    acme = Account.objects.get(account_id="A-1")
    assert (
        acme.name,
        acme.segment,
        acme.plan_tier,
        acme.contract_arr,
        acme.customer_since,
        acme.renewal_date,
        acme.seats_licensed,
        acme.api_limit_30d,
        acme.owned_modules,
        acme.health_score,
        acme.status,
        acme.ae.email,
        acme.csm.email,
    ) == (
        "Acme",
        "MidMarket",
        "Professional",
        Decimal("48000.00"),
        dt.date(2022, 1, 15),
        dt.date(2026, 1, 15),
        50,
        1_000_000,
        ["reports", "sso"],
        80,
        "active",
        "alex@example.com",
        "casey@example.com",
    )
    globex = Account.objects.get(account_id="A-2")
    assert (globex.renewal_date, globex.health_score, globex.owned_modules, globex.csm) == (
        None,
        None,
        [],
        None,
    )
    assert Account.objects.get(account_id="A-3").contract_arr == Decimal("6000.50")
    assert snapshot_set() == {
        ("A-1", "seats_active", dt.date(2025, 5, 1), 48.0),
        ("A-1", "api_calls_30d", dt.date(2025, 5, 1), 900000.0),
        ("A-1", "seats_active", dt.date(2025, 5, 2), 49.0),
        ("A-2", "seats_active", dt.date(2025, 5, 1), 310.0),
        ("A-2", "gated_feature_views_14d:sso", dt.date(2025, 5, 1), 12.0),
        ("A-3", "seats_active", dt.date(2025, 5, 1), 4.0),
    }
    assert list(
        Activity.objects.order_by("activity_id").values_list(
            "activity_id", "account__account_id", "occurred_at", "type", "actor__email", "commercial"
        )
    ) == [
        ("T-1", "A-1", dt.datetime(2025, 4, 20, tzinfo=dt.UTC), "call", "alex@example.com", True),
        ("T-2", "A-1", dt.datetime(2025, 4, 22, 13, 30, tzinfo=dt.UTC), "qbr", "casey@example.com", False),
        ("T-3", "A-2", dt.datetime(2025, 4, 25, 9, 0, tzinfo=dt.UTC), "email", "alex@example.com", True),
    ]
    assert list(
        Expansion.objects.order_by("opportunity_id").values_list(
            "opportunity_id",
            "account__account_id",
            "created_date",
            "closed_date",
            "status",
            "expansion_arr",
            "expansion_type",
            "contract_arr_at_close",
        )
    ) == [
        (
            "O-1",
            "A-1",
            dt.date(2024, 2, 1),
            dt.date(2024, 3, 15),
            "won",
            Decimal("12000.00"),
            "seats",
            Decimal("36000.00"),
        ),
        (
            "O-2",
            "A-2",
            dt.date(2024, 8, 1),
            None,
            "open",
            Decimal("40000.00"),
            "module",
            Decimal("250000.00"),
        ),
    ]


def test_files_present_are_imported_and_absent_ones_skipped(tmp_path):
    # given
    directory = write_export(tmp_path / "export", {"users.csv": USERS})

    # when
    result = run_import(directory)

    # then
    assert result == {"files": {"users.csv": {"rows": 4, "created": 4, "updated": 0}}}


def test_folder_without_export_files_is_an_error(tmp_path):
    # given
    directory = write_export(tmp_path / "empty", {"notes.txt": "hello"})

    # when / then
    with pytest.raises(CommandError, match="no export files found"):
        run_import(directory)


# --- idempotent re-import -------------------------------------------------------------------------


def test_reimport_of_the_same_folder_changes_nothing(imported):
    # given
    before = contents()

    # when
    result = run_import(imported)

    # then
    assert result == {
        "files": {
            "users.csv": {"rows": 4, "created": 0, "updated": 0},
            "accounts.csv": {"rows": 3, "created": 0, "updated": 0},
            "usage.csv": {"rows": 6, "created": 0, "updated": 0},
            "activities.csv": {"rows": 3, "created": 0, "updated": 0},
            "expansions.csv": {"rows": 2, "created": 0, "updated": 0},
        }
    }
    assert contents() == before


@pytest.mark.parametrize(
    ("name", "old", "new", "check"),
    [
        pytest.param(
            "users.csv",
            "alex@example.com,Alex AE,AE,mia@example.com,25",
            "alex@example.com,Alex AE,AE,mia@example.com,30",
            lambda: User.objects.get(email="alex@example.com").capacity == 30,
            id="user-capacity",
        ),
        pytest.param(
            "accounts.csv",
            "A-2,Globex,Enterprise,Business,250000,",
            "A-2,Globex,Enterprise,Business,275000,",
            lambda: Account.objects.get(account_id="A-2").contract_arr == Decimal("275000.00"),
            id="account-arr",
        ),
        pytest.param(
            "usage.csv",
            "A-1,2025-05-02,seats_active,49",
            "A-1,2025-05-02,seats_active,50",
            lambda: (
                UsageSnapshot.objects.get(
                    account__account_id="A-1", metric__name="seats_active", date=dt.date(2025, 5, 2)
                ).value
                == 50.0
            ),
            id="usage-value",
        ),
        pytest.param(
            "activities.csv",
            "T-3,A-2,2025-04-25T09:00:00Z,email,",
            "T-3,A-2,2025-04-25T09:00:00Z,meeting,",
            lambda: Activity.objects.get(activity_id="T-3").type == "meeting",
            id="activity-type",
        ),
        pytest.param(
            "expansions.csv",
            "O-2,A-2,2024-08-01,,open,40000,",
            "O-2,A-2,2024-08-01,2024-09-01,won,40000,",
            lambda: Expansion.objects.get(opportunity_id="O-2").status == "won",
            id="expansion-status",
        ),
    ],
)
def test_reimport_with_one_changed_value_updates_one_row(imported, tmp_path, name, old, new, check):
    # given
    assert old in EXPORT[name]
    changed = {**EXPORT, name: EXPORT[name].replace(old, new)}
    directory = write_export(tmp_path / "changed", changed)
    rows_before = {n: len(text.splitlines()) - 1 for n, text in EXPORT.items()}

    # when
    result = run_import(directory)

    # then
    assert result["files"][name] == {"rows": rows_before[name], "created": 0, "updated": 1}
    assert {n: r for n, r in result["files"].items() if n != name} == {
        n: {"rows": rows_before[n], "created": 0, "updated": 0} for n in EXPORT if n != name
    }
    assert check()


def test_reimport_with_an_extra_row_creates_only_that_row(imported, tmp_path):
    # given
    directory = write_export(tmp_path / "more", {"usage.csv": USAGE + "A-3,2025-05-02,seats_active,5\n"})
    before = snapshot_set()

    # when
    result = run_import(directory)

    # then
    assert result == {"files": {"usage.csv": {"rows": 7, "created": 1, "updated": 0}}}
    assert snapshot_set() == before | {("A-3", "seats_active", dt.date(2025, 5, 2), 5.0)}


# --- invalid rows: the file is rejected whole -----------------------------------------------------

#: For each file: a header, a row that changes an existing record (line 2) and a new row (line 3).
#: A rejected file must write neither.
GOOD_PREFIX = {
    "users.csv": (
        "email,name,role,manager_email,capacity\n"
        "alex@example.com,Alex AE,AE,mia@example.com,30\n"
        "nia@example.com,Nia New,AE,mia@example.com,\n"
    ),
    "accounts.csv": (
        ACCOUNTS.splitlines()[0] + "\n"
        "A-1,Acme,MidMarket,Professional,49000,2022-01-15,2026-01-15,50,1000000,sso;reports,80,active,,\n"
        "A-4,Umbrella,SMB,Starter,9000,2024-01-01,,5,1000,,,active,,\n"
    ),
    "usage.csv": (
        "account_id,date,metric,value\nA-1,2025-05-01,seats_active,50\nA-3,2025-05-02,seats_active,5\n"
    ),
    "activities.csv": (
        ACTIVITIES.splitlines()[0] + "\n"
        "T-1,A-1,2025-04-20,meeting,alex@example.com,true\n"
        "T-4,A-3,2025-04-28,note,,false\n"
    ),
    "expansions.csv": (
        EXPANSIONS.splitlines()[0] + "\n"
        "O-1,A-1,2024-02-01,2024-03-15,won,15000,seats,36000\n"
        "O-3,A-3,2024-11-01,,open,3000,tier,6000\n"
    ),
}
#: A valid file imported alongside the bad one (it must load), and the tables it adds one row to.
COMPANION = {
    "users.csv": (USERS + "zed@example.com,Zed New,CSM,,\n", ("users", "user_groups")),
    "expansions.csv": (EXPANSIONS + "O-9,A-3,2025-01-01,,open,1000,tier,6000.50\n", ("expansions",)),
}

INVALID_ROWS = [
    # missing required value
    ("users.csv", ",No Email,AE,,", "email", "required value is missing"),
    ("users.csv", "bo@example.com,Bo,,,", "role", "required value is missing"),
    ("accounts.csv", "A-5,,SMB,Starter,1000,2024-01-01,,1,1,,,active,,", "name", "required value is missing"),
    ("accounts.csv", "A-5,Hooli,SMB,Starter,,2024-01-01,,1,1,,,active,,", "contract_arr", "required value"),
    ("usage.csv", "A-2,2025-05-01,,7", "metric", "required value is missing"),
    ("usage.csv", "A-2,2025-05-01,seats_active,", "value", "required value is missing"),
    ("activities.csv", "T-5,,2025-04-28,note,,false", "account_id", "required value is missing"),
    ("expansions.csv", "O-5,A-2,,,open,1000,tier,250000", "created_date", "required value is missing"),
    # unparsable number
    ("users.csv", "bo@example.com,Bo,AE,,lots", "capacity", "cannot read 'lots'"),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,12k,2024-01-01,,1,1,,,active,,",
        "contract_arr",
        "cannot read '12k'",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,1.5,1,,,active,,",
        "seats_licensed",
        "whole number",
    ),
    ("usage.csv", "A-2,2025-05-01,seats_active,n/a", "value", "cannot read 'n/a' as a number"),
    ("expansions.csv", "O-5,A-2,2024-08-01,,open,abc,tier,250000", "expansion_arr", "cannot read 'abc'"),
    # unparsable date
    ("accounts.csv", "A-5,Hooli,SMB,Starter,1000,15/01/2024,,1,1,,,active,,", "customer_since", "ISO date"),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,2025-02-30,1,1,,,active,,",
        "renewal_date",
        "ISO",
    ),
    ("usage.csv", "A-2,May 1st,seats_active,7", "date", "cannot read 'May 1st' as an ISO date"),
    ("activities.csv", "T-5,A-2,yesterday,note,,false", "occurred_at", "cannot read 'yesterday'"),
    ("expansions.csv", "O-5,A-2,2024-08-01,2024-13-01,won,1000,tier,250000", "closed_date", "ISO date"),
    # negative money
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,-100,2024-01-01,,1,1,,,active,,",
        "contract_arr",
        "must not be negative",
    ),
    ("expansions.csv", "O-5,A-2,2024-08-01,,open,-1000,tier,250000", "expansion_arr", "must not be negative"),
    (
        "expansions.csv",
        "O-5,A-2,2024-08-01,,open,1000,tier,-5",
        "contract_arr_at_close",
        "must not be negative",
    ),
    # negative counts
    ("users.csv", "bo@example.com,Bo,AE,,-1", "capacity", "must not be negative"),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,-3,1,,,active,,",
        "seats_licensed",
        "must not be neg",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,1,-1,,,active,,",
        "api_limit_30d",
        "must not be neg",
    ),
    ("usage.csv", "A-2,2025-05-01,seats_active,-7", "value", "-7 must not be negative"),
    # unknown enum value
    ("users.csv", "bo@example.com,Bo,Sales,,", "role", "unknown value 'Sales'; expected one of AE, CSM"),
    (
        "accounts.csv",
        "A-5,Hooli,Huge,Starter,1000,2024-01-01,,1,1,,,active,,",
        "segment",
        "unknown value 'Huge'",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Gold,1000,2024-01-01,,1,1,,,active,,",
        "plan_tier",
        "unknown value 'Gold'",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,1,1,,,paused,,",
        "status",
        "unknown value 'paused'",
    ),
    ("activities.csv", "T-5,A-2,2025-04-28,lunch,,false", "type", "unknown value 'lunch'"),
    ("activities.csv", "T-5,A-2,2025-04-28,note,,maybe", "commercial", "unknown value 'maybe'"),
    ("expansions.csv", "O-5,A-2,2024-08-01,,pending,1000,tier,250000", "status", "unknown value 'pending'"),
    (
        "expansions.csv",
        "O-5,A-2,2024-08-01,,open,1000,addon,250000",
        "expansion_type",
        "unknown value 'addon'",
    ),
    # unknown references
    ("usage.csv", "A-404,2025-05-01,seats_active,7", "account_id", "usage for unknown account 'A-404'"),
    ("activities.csv", "T-5,A-404,2025-04-28,note,,false", "account_id", "unknown account 'A-404'"),
    (
        "expansions.csv",
        "O-5,A-404,2024-08-01,,open,1000,tier,250000",
        "account_id",
        "unknown account 'A-404'",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1,2024-01-01,,1,1,,,active,who@example.com,",
        "ae_email",
        "unknown user",
    ),
    # duplicate id within the file
    ("users.csv", "nia@example.com,Nia Again,AE,,", "email", "duplicate id 'nia@example.com'"),
    (
        "accounts.csv",
        "A-4,Umbrella 2,SMB,Starter,9000,2024-01-01,,5,1000,,,active,,",
        "account_id",
        "duplicate id 'A-4'",
    ),
    (
        "usage.csv",
        "A-3,2025-05-02,seats_active,6",
        "date",
        "duplicate account_id/date/metric (first on line 3)",
    ),
    ("activities.csv", "T-4,A-3,2025-04-29,note,,false", "activity_id", "duplicate id 'T-4'"),
    ("expansions.csv", "O-3,A-3,2024-11-02,,open,3000,tier,6000", "opportunity_id", "duplicate id 'O-3'"),
    # numbers beyond what the column stores
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,99999999999999999999,1,,,active,,",
        "seats_licensed",
        "99999999999999999999 is above the largest allowed value, 2,147,483,647",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000,2024-01-01,,1,99999999999999999999,,,active,,",
        "api_limit_30d",
        "is above the largest allowed value, 1,000,000,000,000,000",
    ),
    (
        "accounts.csv",
        "A-5,Hooli,SMB,Starter,1000000000000,2024-01-01,,1,1,,,active,,",
        "contract_arr",
        "1000000000000 is above the largest allowed value, 999,999,999,999.99",
    ),
    ("users.csv", "bo@example.com,Bo,AE,,3000000000", "capacity", "is above the largest allowed value"),
    ("usage.csv", "A-2,2025-05-01,seats_active,1e300", "value", "1e300 is above the largest allowed value"),
    ("expansions.csv", "O-5,A-2,2024-08-01,,open,1e13,tier,250000", "expansion_arr", "is above the largest"),
    # text longer than the column stores, and NUL characters
    (
        "accounts.csv",
        f"A-5,{'H' * 256},SMB,Starter,1000,2024-01-01,,1,1,,,active,,",
        "name",
        "is 256 characters long; at most 255 are allowed",
    ),
    ("users.csv", f"bo@example.com,{'B' * 201},AE,,", "name", "at most 200 are allowed"),
    ("usage.csv", f"A-2,2025-05-01,{'m' * 121},7", "metric", "at most 120 are allowed"),
    ("activities.csv", f"{'T' * 65},A-2,2025-04-28,note,,false", "activity_id", "at most 64 are allowed"),
    ("accounts.csv", "A-5,Hoo\x00li,SMB,Starter,1000,2024-01-01,,1,1,,,active,,", "name", "NUL character"),
    ("usage.csv", "A-2,2025-05-01,seats\x00active,7", "metric", "contains a NUL character"),
]


@pytest.mark.parametrize(
    ("name", "bad_row", "column", "reason"),
    [pytest.param(*case, id=f"{case[0]}-{case[2]}-{i}") for i, case in enumerate(INVALID_ROWS)],
)
def test_file_with_an_invalid_row_is_rejected_whole(imported, tmp_path, name, bad_row, column, reason):
    # given: the bad file (an update, a new row, then the bad row on line 4) and a valid companion file
    companion_name = "expansions.csv" if name == "users.csv" else "users.csv"
    companion_text, companion_tables = COMPANION[companion_name]
    directory = write_export(
        tmp_path / "bad", {name: GOOD_PREFIX[name] + bad_row + "\n", companion_name: companion_text}
    )
    before = contents()

    # when
    result, problems, error = run_rejected(directory)

    # then: exactly one problem, named by file, line and column
    assert str(error) == "1 file(s) rejected; fix the rows above and import again"
    assert len(problems) == 1, problems
    file, line, col, why = parse_problem(problems[0])
    assert (file, line, col) == (name, 4, column)
    assert reason in why
    # nothing from the bad file was written; every other table is as it was, except the companion's
    after = contents()
    assert {t: rows for t, rows in after.items() if t not in companion_tables} == {
        t: rows for t, rows in before.items() if t not in companion_tables
    }
    # the valid companion file did import
    assert result == {
        "files": {companion_name: {"rows": len(companion_text.splitlines()) - 1, "created": 1, "updated": 0}}
    }
    assert [len(after[t]) - len(before[t]) for t in companion_tables] == [1] * len(companion_tables)


def test_rejected_file_leaves_existing_rows_untouched(imported, tmp_path):
    # given: a change to A-1 and a bad row in the same file
    before = Account.objects.get(account_id="A-1")
    directory = write_export(
        tmp_path / "bad",
        {
            "accounts.csv": GOOD_PREFIX["accounts.csv"]
            + "A-5,Hooli,Huge,Starter,1,2024-01-01,,1,1,,,active,,\n"
        },
    )

    # when
    run_rejected(directory)

    # then
    after = Account.objects.get(account_id="A-1")
    assert (after.contract_arr, after.ae_id, after.csm_id, after.updated_at) == (
        Decimal("48000.00"),
        before.ae_id,
        before.csm_id,
        before.updated_at,
    )
    assert not Account.objects.filter(account_id="A-4").exists()


def test_every_bad_row_is_reported(db, tmp_path):
    # given: lines 2, 4 and 5 are bad, line 3 is good
    header = ACCOUNTS.splitlines()[0]
    text = (
        f"{header}\n"
        "A-1,Acme,Huge,Professional,48000,2022-01-15,,50,1,,,active,,\n"
        "A-2,Globex,Enterprise,Business,250000,2021-06-01,,400,1,,,active,,\n"
        "A-3,Initech,SMB,Starter,-5,2023-09-30,,10,1,,,active,,\n"
        "A-4,Umbrella,SMB,Starter,9000,2022-13-01,,5,1,,,active,,\n"
    )
    directory = write_export(tmp_path / "bad", {"accounts.csv": text})

    # when
    result, problems, _ = run_rejected(directory)

    # then
    assert problems == [
        "accounts.csv:2: segment: unknown value 'Huge'; expected one of SMB, MidMarket, Enterprise",
        "accounts.csv:4: contract_arr: -5 must not be negative",
        "accounts.csv:5: customer_since: cannot read '2022-13-01' as an ISO date (YYYY-MM-DD)",
    ]
    assert result == {"files": {}}
    assert Account.objects.count() == 0


def test_every_problem_on_one_row_is_reported(db, tmp_path):
    # given
    header = ACCOUNTS.splitlines()[0]
    directory = write_export(
        tmp_path / "bad", {"accounts.csv": f"{header}\nA-1,,Huge,Starter,-1,2023-01-01,,1,1,,,active,,\n"}
    )

    # when
    _, problems, _ = run_rejected(directory)

    # then
    assert [parse_problem(p)[:3] for p in problems] == [
        ("accounts.csv", 2, "contract_arr"),
        ("accounts.csv", 2, "name"),
        ("accounts.csv", 2, "segment"),
    ]


def test_several_rejected_files_are_all_reported(imported, tmp_path):
    # given: a bad users.csv, a bad accounts.csv and a good usage.csv
    directory = write_export(
        tmp_path / "bad",
        {
            "users.csv": USERS + "bo@example.com,Bo,Sales,,\n",
            "accounts.csv": ACCOUNTS.replace("A-3,Initech,SMB", "A-3,Initech,Tiny"),
            "usage.csv": USAGE,
        },
    )
    before = contents()

    # when
    result, problems, error = run_rejected(directory)

    # then
    assert str(error) == "2 file(s) rejected; fix the rows above and import again"
    assert [parse_problem(p)[:3] for p in problems] == [
        ("users.csv", 6, "role"),
        ("accounts.csv", 4, "segment"),
    ]
    assert result == {"files": {"usage.csv": {"rows": 6, "created": 0, "updated": 0}}}
    assert contents() == before


def test_rejection_message_says_nothing_was_written(db, tmp_path):
    # given
    directory = write_export(tmp_path / "bad", {"users.csv": USERS + "bo@example.com,Bo,Sales,,\n"})
    err = StringIO()

    # when
    with pytest.raises(CommandError):
        call_command("import_data", str(directory), stdout=StringIO(), stderr=err)

    # then
    assert err.getvalue().splitlines() == [
        "users.csv rejected: 1 problem(s); nothing from this file was written",
        "  users.csv:6: role: unknown value 'Sales'; expected one of AE, CSM, Manager, RevOps, Finance",
    ]


def test_unknown_manager_is_reported_on_its_line(db, tmp_path):
    # given
    directory = write_export(
        tmp_path / "bad", {"users.csv": USERS + "bo@example.com,Bo,AE,ghost@example.com,\n"}
    )

    # when
    _, problems, _ = run_rejected(directory)

    # then
    assert problems == ["users.csv:6: manager_email: unknown user 'ghost@example.com'"]
    assert User.objects.count() == 0


# --- usage: wide format ---------------------------------------------------------------------------


def test_wide_usage_imports_the_same_snapshots_as_long(db, tmp_path):
    # given
    base = write_export(tmp_path / "base", {"users.csv": USERS, "accounts.csv": ACCOUNTS})
    run_import(base)
    run_import(write_export(tmp_path / "long", {"usage.csv": USAGE}))
    from_long = snapshot_set()
    UsageSnapshot.objects.all().delete()

    # when: the wide file has empty cells where the long file has no row
    result = run_import(write_export(tmp_path / "wide", {"usage.csv": USAGE_WIDE}))

    # then
    assert result == {"files": {"usage.csv": {"rows": 4, "created": 6, "updated": 0}}}
    assert snapshot_set() == from_long
    assert len(from_long) == 6


def test_wide_usage_reimport_after_long_changes_nothing(imported, tmp_path):
    # given
    before = contents()

    # when
    result = run_import(write_export(tmp_path / "wide", {"usage.csv": USAGE_WIDE}))

    # then
    assert result == {"files": {"usage.csv": {"rows": 4, "created": 0, "updated": 0}}}
    assert contents() == before


def test_wide_usage_bad_cell_is_reported_on_its_line(imported, tmp_path):
    # given
    text = "account_id,date,seats_active,api_calls_30d\nA-1,2025-05-03,50,\nA-2,2025-05-03,,-4\n"
    before = contents()

    # when
    _, problems, _ = run_rejected(write_export(tmp_path / "wide", {"usage.csv": text}))

    # then
    assert problems == ["usage.csv:3: api_calls_30d: -4 must not be negative"]
    assert contents() == before


def test_wide_usage_bad_account_or_date_is_reported_once_per_line(imported, tmp_path):
    # given: line 2 has an unknown account, line 3 a bad date, each with two metric cells
    text = "account_id,date,seats_active,api_calls_30d\nA-404,2025-05-03,50,10\nA-1,03/05/2025,50,10\n"

    # when
    _, problems, _ = run_rejected(write_export(tmp_path / "wide", {"usage.csv": text}))

    # then
    assert problems == [
        "usage.csv:2: account_id: usage for unknown account 'A-404'",
        "usage.csv:3: date: cannot read '03/05/2025' as an ISO date (YYYY-MM-DD)",
    ]


def test_wide_usage_duplicate_account_and_date_is_rejected(imported, tmp_path):
    # given
    text = "account_id,date,seats_active,api_calls_30d\nA-1,2025-05-03,50,10\nA-1,2025-05-03,51,11\n"
    before = contents()

    # when
    _, problems, _ = run_rejected(write_export(tmp_path / "wide", {"usage.csv": text}))

    # then
    assert problems == ["usage.csv:3: date: duplicate account_id/date/metric (first on line 2)"]
    assert contents() == before


# --- file-level problems --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param(
            "accounts.csv",
            drop_column(ACCOUNTS, "segment"),
            "accounts.csv:1: header: missing required column(s) segment",
            id="accounts-missing-segment",
        ),
        pytest.param(
            "users.csv",
            "email,name\nbo@example.com,Bo\n",
            "users.csv:1: header: missing required column(s) role",
            id="users-missing-role",
        ),
        pytest.param(
            "expansions.csv",
            "opportunity_id,account_id,created_date\nO-1,A-1,2024-01-01\n",
            "expansions.csv:1: header: missing required column(s) status, expansion_arr, expansion_type, "
            "contract_arr_at_close",
            id="expansions-missing-several",
        ),
        pytest.param(
            "usage.csv",
            "account_id,date\nA-1,2025-05-01\n",
            "usage.csv:1: header: expected metric,value columns (long format) "
            "or one column per metric after account_id,date (wide format)",
            id="usage-no-metric-columns",
        ),
        pytest.param(
            "users.csv",
            "",
            "users.csv:1: header: the file is empty; expected a header row",
            id="empty-file",
        ),
    ],
)
def test_bad_header_is_reported_on_line_one(db, tmp_path, name, text, expected):
    # given
    directory = write_export(tmp_path / "bad", {name: text})

    # when
    result, problems, _ = run_rejected(directory)

    # then
    assert problems == [expected]
    assert result == {"files": {}}


def test_row_with_more_fields_than_the_header_is_reported_on_its_line(db, tmp_path):
    # given
    directory = write_export(tmp_path / "bad", {"users.csv": USERS + "bo@example.com,Bo,AE,,,extra\n"})

    # when
    result, problems, _ = run_rejected(directory)

    # then
    assert problems == ["users.csv:6: row: expected 5 fields as in the header, saw 6"]
    assert result == {"files": {}}
    assert User.objects.count() == 0


def test_header_only_file_imports_no_rows(db, tmp_path):
    # given
    directory = write_export(tmp_path / "export", {"users.csv": "email,name,role,manager_email,capacity\n"})

    # when
    result = run_import(directory)

    # then
    assert result == {"files": {"users.csv": {"rows": 0, "created": 0, "updated": 0}}}


def test_non_utf8_file_is_rejected_with_a_clear_message(db, tmp_path):
    # given: Latin-1 bytes for "Zoë"
    text = (USERS + "zoe@example.com,Zoë,AE,,\n").encode("latin-1")
    directory = write_export(tmp_path / "bad", {"users.csv": text})

    # when
    result, problems, _ = run_rejected(directory)

    # then
    assert len(problems) == 1
    assert problems[0].startswith("users.csv: file: not UTF-8 text")
    assert problems[0].endswith("export it as UTF-8 CSV")
    assert result == {"files": {}}
    assert User.objects.count() == 0


def test_utf8_with_byte_order_mark_imports(db, tmp_path):
    # given
    directory = write_export(tmp_path / "export", {"users.csv": "\ufeff" + USERS})

    # when
    result = run_import(directory)

    # then
    assert result == {"files": {"users.csv": {"rows": 4, "created": 4, "updated": 0}}}


def test_unknown_extra_columns_are_ignored(db, tmp_path):
    # given
    users = USERS.replace("capacity\n", "capacity,region\n", 1).replace(",25\n", ",25,EMEA\n")
    accounts = ACCOUNTS.replace("csm_email\n", "csm_email,region,tags\n", 1)
    directory = write_export(tmp_path / "export", {"users.csv": users, "accounts.csv": accounts})

    # when
    result = run_import(directory)

    # then
    assert result == {
        "files": {
            "users.csv": {"rows": 4, "created": 4, "updated": 0},
            "accounts.csv": {"rows": 3, "created": 3, "updated": 0},
        }
    }
    assert User.objects.get(email="alex@example.com").capacity == 25


def test_import_data_is_an_operator_command_and_may_create_and_change_privileged_users(tmp_path):
    # given: the operator at the server creates RevOps and Finance people...
    users = USERS + "fin@example.com,Fay Finance,Finance,,\n"
    run_import(write_export(tmp_path / "one", {"users.csv": users}))

    # when: ...and later changes them
    run_import(write_export(tmp_path / "two", {"users.csv": users.replace("Fay Finance,Finance", "Fay,AE")}))

    # then
    assert User.objects.get(email="olli@example.com").groups.get().name == "RevOps"
    assert User.objects.get(email="fin@example.com").role == "AE"


# --------------------------------------------------------------------------------------------------
# Optional account contact columns: timezone (IANA) and admin_email
# --------------------------------------------------------------------------------------------------


def _with_contacts(rows: list[tuple[str, str]]) -> str:
    lines = ACCOUNTS.strip().splitlines()
    out = [lines[0] + ",timezone,admin_email"]
    out += [f"{line},{zone},{email}" for line, (zone, email) in zip(lines[1:], rows, strict=True)]
    return "\n".join(out) + "\n"


def test_accounts_take_an_optional_time_zone_and_admin_contact(tmp_path):
    accounts = _with_contacts([("Europe/Berlin", "Ops@Acme.example"), ("", ""), ("America/New_York", "")])
    run_import(write_export(tmp_path, {"users.csv": USERS, "accounts.csv": accounts}))
    stored = dict(Account.objects.values_list("account_id", "timezone"))
    assert stored == {"A-1": "Europe/Berlin", "A-2": "", "A-3": "America/New_York"}
    assert Account.objects.get(account_id="A-1").admin_email == "ops@acme.example"


def test_a_file_without_the_columns_keeps_the_stored_contacts(tmp_path):
    accounts = _with_contacts([("Europe/Berlin", "ops@acme.example"), ("", ""), ("", "")])
    run_import(write_export(tmp_path / "one", {"users.csv": USERS, "accounts.csv": accounts}))
    run_import(write_export(tmp_path / "two", {"users.csv": USERS, "accounts.csv": ACCOUNTS}))
    acme = Account.objects.get(account_id="A-1")
    assert (acme.timezone, acme.admin_email) == ("Europe/Berlin", "ops@acme.example")


def test_an_unknown_time_zone_or_a_bad_admin_email_rejects_the_file(tmp_path):
    accounts = _with_contacts([("Europe/Berlinn", ""), ("", "not-an-email"), ("", "")])
    _, problems, _ = run_rejected(write_export(tmp_path, {"users.csv": USERS, "accounts.csv": accounts}))
    assert any(
        p.startswith("accounts.csv:2: timezone: unknown time zone 'Europe/Berlinn'; use an IANA name")
        for p in problems
    )
    assert "accounts.csv:3: admin_email: 'not-an-email' is not an email address" in problems
    assert not Account.objects.exists()
