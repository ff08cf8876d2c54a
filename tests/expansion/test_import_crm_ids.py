"""accounts.csv's optional crm_account_id: validated like every column, kept when a file omits it."""

from __future__ import annotations

import pytest

from expansion.importing import crm_account_id_problem, salesforce_id_suffix
from expansion.models import Account
from tests.expansion.test_import import (
    ACCOUNTS,
    EXPORT,
    contents,
    parse_problem,
    run_import,
    run_rejected,
    write_export,
)

pytestmark = pytest.mark.django_db

HEADER, *ROWS = ACCOUNTS.splitlines()


def _with_crm_ids(*ids: str) -> str:
    lines = [HEADER + ",crm_account_id"] + [f"{row},{crm}" for row, crm in zip(ROWS, ids, strict=True)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),  # Salesforce's documented example
        ("001000000000000", "001000000000000AAA"),  # no upper-case letters: every block is A
        ("ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"),  # all upper case: 31 = "5" for each block
    ],
)
def test_salesforce_suffix_is_the_case_checksum(id15, id18):
    assert id15 + salesforce_id_suffix(id15) == id18


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0015g00000ABCDE", None),
        ("a0D30000001n7PiEAI", None),
        (
            "a0D30000001n7PiEAA",
            "is not a valid 18-character Salesforce Id (its last 3 characters do not match)",
        ),
        ("9471632", None),
        (
            "0123",
            "is not a CRM account id",
        ),  # a HubSpot id never starts with 0 and is too short for Salesforce
        ("acme-corp", "is not a CRM account id"),
        ("001ABC", "is not a CRM account id"),
    ],
)
def test_crm_account_id_rules(value, problem):
    found = crm_account_id_problem(value)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_crm_account_ids_are_imported(tmp_path):
    directory = write_export(
        tmp_path / "e", {**EXPORT, "accounts.csv": _with_crm_ids("0015g00000ABCDEAA5", "9471632", "")}
    )

    run_import(directory)

    assert dict(Account.objects.values_list("account_id", "crm_account_id")) == {
        "A-1": "0015g00000ABCDEAA5",
        "A-2": "9471632",
        "A-3": "",
    }


def test_a_file_without_the_column_keeps_the_links(tmp_path):
    run_import(
        write_export(tmp_path / "a", {**EXPORT, "accounts.csv": _with_crm_ids("9471632", "9471633", "")})
    )

    result = run_import(write_export(tmp_path / "b", {"accounts.csv": ACCOUNTS}))

    assert result["files"]["accounts.csv"] == {"rows": 3, "created": 0, "updated": 0}
    assert Account.objects.get(account_id="A-1").crm_account_id == "9471632"


def test_bad_crm_account_id_rejects_the_file_and_writes_nothing(tmp_path):
    run_import(write_export(tmp_path / "a", EXPORT))
    before = contents()

    _, problems, _ = run_rejected(
        write_export(tmp_path / "b", {"accounts.csv": _with_crm_ids("0015g00000ABCDEAAA", "acme", "")})
    )

    assert [parse_problem(p)[:3] for p in problems] == [
        ("accounts.csv", 2, "crm_account_id"),
        ("accounts.csv", 3, "crm_account_id"),
    ]
    assert "last 3 characters do not match" in problems[0]
    assert (
        "expected a Salesforce Account Id (15 or 18 letters and digits) or a HubSpot company id"
        in problems[1]
    )
    assert contents() == before
