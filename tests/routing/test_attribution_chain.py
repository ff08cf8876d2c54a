"""Forging Finance's split-credit log: a keyed chain, signed heads outside the table, and a database
trigger (expansion.attribution, "the hash chain"; migration 0006).

Each forgery is done the way someone with database access but without ATTRIBUTION_CHAIN_KEY would do
it: raw SQL, then every later hash recomputed with the product's own functions (unkeyed, or with the
key they guess), and the trigger switched off as the table's owner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import json
import runpy
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from expansion.models import AttributionEntry, Role
from routing.attribution import rules
from routing.attribution import services as attribution_services
from routing.attribution.anchors import chain_key
from routing.services import eql_transition
from tests.factories import AccountFactory, EQLFactory, UserFactory
from tests.routing import tampering

UTC = dt.UTC
WRONG_KEY = b"a-key-the-forger-guessed-0123456789abcdef"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "expansion" / "settings.py"


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_attribution", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def anchors_on_file() -> list[rules.Anchor]:
    path = Path(django_settings.ATTRIBUTION_ANCHOR_FILE)
    return rules.parse_anchors(path.read_text().splitlines(), str(path)) if path.exists() else []


@pytest.fixture
def ae():
    return UserFactory(role=Role.AE, email="ae@example.com", name="Ada AE")


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, email="csm@example.com", name="Cy CSM")


def won(ae, csm, amount="12000.00", *, co_owned=False, month=3):
    eql = EQLFactory(
        account=AccountFactory(ae=ae, csm=csm),
        owner=ae,
        csm=csm,
        route="ae",
        csm_involvement_required=co_owned,
        status="proposal_sent",
        created_at=dt.datetime(2025, 1, 2, tzinfo=UTC),
        estimated_expansion_arr=Decimal(amount),
    )
    splits = [{"email": ae.email, "percent": 70}, {"email": csm.email, "percent": 30}] if co_owned else None
    with TestCase.captureOnCommitCallbacks(execute=True):  # the head is anchored on commit
        eql_transition(
            eql_id=eql.pk,
            user=ae,
            event="won",
            at=dt.datetime(2025, month, 15, 12, tzinfo=UTC),
            expansion_arr=Decimal(amount),
            splits=splits,
        )
    return eql


@pytest.fixture
def log(ae, csm):
    """Three wins: a co-owned 70/30 split of 12,000 (the AE's entry is 8,400), then two AE-owned."""
    won(ae, csm, co_owned=True, month=1)
    won(ae, csm, month=2)
    won(ae, csm, month=3)
    return tampering.rows()


def the_8400_entry(log) -> dict:
    return next(r for r in log if r["amount"] == Decimal("8400.00"))


def to_94000(target_id):
    def edit(row):
        if row["id"] == target_id:
            row["amount"] = Decimal("94000.00")

    return edit


# --- keyed chain ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_write_is_keyed_and_anchored_outside_the_table(log):
    # then every entry carries an HMAC under the configured key, not a plain SHA-256
    key = chain_key()
    assert all(r["chain_version"] == rules.CHAIN_KEYED for r in log)
    assert all(r["entry_hash"] == rules.keyed_entry_hash(r, key) for r in log)
    assert all(r["entry_hash"] != rules.legacy_entry_hash(r) for r in log)
    # and each win's head (count, last id and hash) is signed in the anchor file
    anchors = anchors_on_file()
    assert [(a.entries, a.last_id, a.last_hash) for a in anchors] == [
        (n, log[n - 1]["id"], log[n - 1]["entry_hash"]) for n in (3, 5, 7)
    ]
    assert rules.anchor_problem(anchors, key) is None
    assert json.loads(verify("--json"))["newest_anchor"] == rules.anchor_line(anchors[-1])


@pytest.mark.django_db
def test_the_anchor_is_a_structured_log_line_that_verify_reads_back(log, ae, csm, caplog, tmp_path):
    # given the log output of one more win (and no anchor file at all)
    with caplog.at_level("INFO", logger="expansion.attribution"):
        won(ae, csm, month=4)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("attribution_anchor ")]
    Path(django_settings.ATTRIBUTION_ANCHOR_FILE).unlink()
    collected = tmp_path / "web.log"
    collected.write_text("".join(f"2026-12-03 10:00:00 INFO expansion.attribution {m}\n" for m in logged))

    # when / then the collected log is evidence enough
    assert len(logged) == 1
    assert '"entries":9' in logged[0]
    assert chain_key().decode() not in caplog.text  # the key itself is never logged
    assert verify("--anchors", str(collected)).startswith("OK: 9 attribution entries verified")


@pytest.mark.django_db
def test_an_amount_edited_and_rechained_without_the_key_fails(log):
    # given 8,400 is edited to 94,000 and every later hash recomputed with the old unkeyed function
    target = the_8400_entry(log)
    tampering.rechain(to_94000(target["id"]), rules.legacy_entry_hash)

    # when / then
    with pytest.raises(CommandError, match=rf"broken at entry {target['id']}: its content does not match"):
        verify()


@pytest.mark.django_db
def test_an_amount_edited_and_rechained_with_a_guessed_key_fails(log):
    # given the forger recomputes every later hash with the product's keyed function and a guessed key
    target = the_8400_entry(log)
    tampering.rechain(to_94000(target["id"]), lambda row: rules.keyed_entry_hash(row, WRONG_KEY))

    # when / then
    with pytest.raises(
        CommandError, match=rf"broken at entry {target['id']}: its content does not match its keyed"
    ):
        verify()


@pytest.mark.django_db
def test_a_rechained_log_relabelled_as_unkeyed_fails(log):
    # given the forger marks the rewritten entries as legacy (chain version 1) and hashes them unkeyed
    target = the_8400_entry(log)
    tampering.rechain(to_94000(target["id"]), rules.legacy_entry_hash, version=rules.CHAIN_LEGACY)

    # when / then: no legacy seal covers them, and one cannot be forged without the key
    with pytest.raises(CommandError, match=r"unkeyed hash \(chain version 1\) but no signed legacy seal"):
        verify()


@pytest.mark.django_db
def test_a_rewrite_by_someone_holding_the_key_is_still_caught_by_the_anchors(log):
    # given even the key is stolen: the chain itself verifies again after the rewrite
    target = the_8400_entry(log)
    tampering.rechain(to_94000(target["id"]), lambda row: rules.keyed_entry_hash(row, chain_key()))
    assert rules.chain_break(tampering.rows(), chain_key())[0] is None

    # when / then the first anchor after the edit no longer matches the table
    with pytest.raises(CommandError, match=r"anchor 20\d\d-\d\d-\d\d .*\(the log was rewritten\)"):
        verify()


# --- anchors: deletions ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_the_newest_entry_is_detected_and_named(log):
    # given the newest entry is deleted: what is left is a perfectly valid chain
    newest = log[-1]
    tampering.delete(newest["id"])
    assert rules.chain_break(tampering.rows(), chain_key())[0] is None
    day = timezone.now().astimezone(UTC).date().isoformat()

    # when / then
    with pytest.raises(CommandError) as error:
        verify()
    assert f"entry #{newest['id']} missing: anchor {day} says 7 entries, table has 6" in str(error.value)


@pytest.mark.django_db
def test_deleting_the_newest_entries_names_how_many(log):
    # given the whole last win (two entries) is deleted
    tampering.delete(log[-1]["id"])
    tampering.delete(log[-2]["id"])

    # when / then
    with pytest.raises(
        CommandError, match=rf"2 entries missing, the newest #{log[-1]['id']}: anchor .* says 7"
    ):
        verify()


@pytest.mark.django_db
def test_deleting_a_middle_entry_is_detected_at_the_next_one(log):
    # given
    middle = log[3]
    tampering.delete(middle["id"])

    # when / then
    with pytest.raises(CommandError, match=rf"broken at entry {log[4]['id']}: its prev_hash does not match"):
        verify()


@pytest.mark.django_db
def test_deleting_a_middle_entry_and_relinking_without_the_key_fails(log):
    # given the forger deletes an entry and re-links the rest with a guessed key
    middle = log[3]
    tampering.delete(middle["id"])

    def relink(row):
        if row["id"] == log[4]["id"]:
            row["prev_hash"] = "relinked"

    tampering.rechain(relink, lambda row: rules.keyed_entry_hash(row, WRONG_KEY))

    # when / then
    with pytest.raises(CommandError, match=rf"broken at entry {log[4]['id']}: its content does not match"):
        verify()


@pytest.mark.django_db
def test_finances_signed_head_download_catches_a_deletion_after_the_anchor_file_is_lost(log, tmp_path):
    # given Finance downloads the signed head with the month's export
    finance = Client()
    finance.force_login(UserFactory(role=Role.FINANCE))
    response = finance.get(reverse("finance-attribution-head"))
    kept = tmp_path / "attribution-head.jsonl"
    kept.write_bytes(response.content)
    # and later the newest entry and the server's anchor file are both removed
    tampering.delete(log[-1]["id"])
    Path(django_settings.ATTRIBUTION_ANCHOR_FILE).unlink()

    # when / then the server alone cannot tell, the download can
    assert response.status_code == 200
    assert reverse("finance-attribution-head") in finance.get(reverse("finance-attribution")).content.decode()
    assert response["Content-Disposition"].startswith('attachment; filename="attribution-head-')
    with pytest.raises(CommandError, match=r"no signed anchor found"):
        verify()
    with pytest.raises(
        CommandError, match=rf"entry #{log[-1]['id']} missing: anchor .* says 7 entries, table has 6"
    ):
        verify("--anchors", str(kept))


@pytest.mark.django_db
def test_only_finance_readers_download_the_signed_head(log):
    # given
    ae_client = Client()
    ae_client.force_login(UserFactory(role=Role.AE))

    # when / then
    assert ae_client.get(reverse("finance-attribution-head")).status_code == 403
    assert Client().get(reverse("finance-attribution-head")).status_code == 302


@pytest.mark.django_db
def test_a_forged_anchor_is_refused(log):
    # given someone appends an anchor of a shorter log, signed with a guessed key's MAC
    genuine = anchors_on_file()[-1]
    forged = dataclasses.replace(genuine, entries=5, source="")
    with Path(django_settings.ATTRIBUTION_ANCHOR_FILE).open("a") as file:
        file.write(rules.anchor_line(forged) + "\n")

    # when / then
    with pytest.raises(CommandError, match=r"anchor .*:4 does not match its signature \(forged or altered\)"):
        verify()


@pytest.mark.django_db
def test_lost_anchors_fail_verification_until_the_head_is_signed_again(log):
    # given the anchor file is gone
    Path(django_settings.ATTRIBUTION_ANCHOR_FILE).unlink()
    with pytest.raises(CommandError, match="no signed anchor found"):
        verify()

    # when the head is signed again after a check against a backup
    out = verify("--anchor")

    # then
    assert "Signed head published: 7 entries" in out
    assert [a.reason for a in anchors_on_file()] == [rules.ANCHOR_VERIFIED]
    assert verify().startswith("OK: 7 attribution entries verified")


@pytest.mark.django_db
def test_anchor_refuses_to_sign_a_broken_log(log):
    # given
    tampering.delete(log[3]["id"])

    # when / then nothing is signed
    with pytest.raises(CommandError, match="prev_hash does not match"):
        verify("--anchor")
    assert [a.reason for a in anchors_on_file()] == [rules.ANCHOR_WRITE] * 3


# --- the key --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verifying_with_the_wrong_key_says_so(log, settings):
    # given the server is configured with another key than the one the log was written with
    written_with = rules.key_fingerprint(chain_key())
    settings.ATTRIBUTION_CHAIN_KEY = WRONG_KEY.decode()

    # when / then
    with pytest.raises(CommandError) as error:
        verify()
    message = str(error.value)
    assert f"signed with the key whose fingerprint is {written_with}" in message
    assert f"ATTRIBUTION_CHAIN_KEY here has fingerprint {rules.key_fingerprint(WRONG_KEY)}" in message
    assert WRONG_KEY.decode() not in message


@pytest.mark.django_db
def test_the_wrong_key_without_anchors_fails_at_the_first_entry(log, settings, tmp_path):
    # given anchors that were signed with the wrong key too (they would be refused otherwise)
    settings.ATTRIBUTION_CHAIN_KEY = WRONG_KEY.decode()
    settings.ATTRIBUTION_ANCHOR_FILE = tmp_path / "none.jsonl"

    # when / then
    with pytest.raises(
        CommandError, match=rf"broken at entry {log[0]['id']}: .*or ATTRIBUTION_CHAIN_KEY is not the key"
    ):
        verify()


def _settings_with(monkeypatch, **env):
    for name in ("ATTRIBUTION_CHAIN_KEY", "DJANGO_SECRET_KEY", "DJANGO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_production_settings_need_the_key(monkeypatch):
    # when / then
    with pytest.raises(
        ImproperlyConfigured, match="ATTRIBUTION_CHAIN_KEY must be set when DJANGO_DEBUG is off"
    ):
        _settings_with(monkeypatch, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50)
    with pytest.raises(ImproperlyConfigured, match="ATTRIBUTION_CHAIN_KEY is too short"):
        _settings_with(
            monkeypatch, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50, ATTRIBUTION_CHAIN_KEY="short"
        )
    configured = _settings_with(
        monkeypatch, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50, ATTRIBUTION_CHAIN_KEY="c" * 64
    )
    assert configured["ATTRIBUTION_CHAIN_KEY"] == "c" * 64


def test_debug_settings_derive_a_development_key_from_the_secret_key(monkeypatch):
    # when
    one = _settings_with(monkeypatch, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="one" * 20)
    two = _settings_with(monkeypatch, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="two" * 20)

    # then
    assert len(one["ATTRIBUTION_CHAIN_KEY"]) == 64
    assert one["ATTRIBUTION_CHAIN_KEY"] != two["ATTRIBUTION_CHAIN_KEY"]
    assert "one" not in one["ATTRIBUTION_CHAIN_KEY"]


# --- entries from before the key ------------------------------------------------------------------


def _legacy_entries(ae, csm, count: int) -> list[AttributionEntry]:
    """Entries as the unkeyed chain wrote them before the upgrade."""
    written, prev = [], rules.GENESIS_HASH
    for i in range(count):
        eql = EQLFactory(account=AccountFactory(ae=ae, csm=csm), owner=ae, status="won")
        entry = AttributionEntry(
            eql=eql,
            account=eql.account,
            person=ae,
            role=ae.role,
            credit_type="quota",
            percent=100,
            amount=Decimal(1000 + i),
            period="2024-12",
            closed_at=dt.datetime(2024, 12, 1 + i, tzinfo=UTC),
            rule=rules.RULE_AE_OWNER,
            basis={},
            reason="AE-owned deal: the owner gets 100% quota credit",
            recorded_by=ae,
            recorded_at=dt.datetime(2024, 12, 1 + i, 1, tzinfo=UTC),
            prev_hash=prev,
            chain_version=rules.CHAIN_LEGACY,
        )
        entry.entry_hash = prev = rules.legacy_entry_hash(
            {name: getattr(entry, name) for name in rules.HASHED_FIELDS}
        )
        entry.save()
        written.append(entry)
    return written


def _seal():
    migration = importlib.import_module("expansion.migrations.0006_attribution_keyed_chain")
    migration.seal_legacy_chain(apps, SimpleNamespace(connection=connection))


@pytest.mark.django_db
def test_legacy_entries_are_sealed_by_the_upgrade_and_the_chain_continues_keyed(ae, csm):
    # given two entries from before the key, sealed by the upgrade, then a keyed win
    legacy = _legacy_entries(ae, csm, 2)
    _seal()
    won(ae, csm)

    # then the legacy hashes are kept as they were, the new ones are keyed, and the whole log verifies
    rows = tampering.rows()
    assert [r["entry_hash"] for r in rows[:2]] == [e.entry_hash for e in legacy]
    assert [r["chain_version"] for r in rows] == [1, 1, 2, 2]
    assert rows[2]["prev_hash"] == legacy[-1].entry_hash
    assert [a.reason for a in anchors_on_file()] == [rules.ANCHOR_LEGACY_SEAL, rules.ANCHOR_WRITE]
    assert verify().startswith("OK: 4 attribution entries verified")


@pytest.mark.django_db
def test_a_legacy_entry_rewritten_after_the_seal_is_detected(ae, csm):
    # given a sealed legacy log, then its first entry edited and the rest re-chained unkeyed
    legacy = _legacy_entries(ae, csm, 3)
    _seal()

    def edit(row):
        if row["id"] == legacy[0].pk:
            row["amount"] = Decimal("94000.00")

    tampering.rechain(edit, rules.legacy_entry_hash)

    # when / then the chain itself verifies as legacy, the seal does not
    with pytest.raises(
        CommandError, match=rf"broken at entry {legacy[2].pk}: anchor .*\(the log was rewritten\)"
    ):
        verify()


@pytest.mark.django_db
def test_a_broken_legacy_chain_is_not_sealed(ae, csm):
    # given
    legacy = _legacy_entries(ae, csm, 2)
    tampering.delete(legacy[0].pk)

    # when
    _seal()

    # then
    assert anchors_on_file() == []
    with pytest.raises(CommandError, match=rf"broken at entry {legacy[1].pk}: its prev_hash does not match"):
        verify()


def test_unkeyed_entries_after_keyed_ones_are_refused():
    # given a keyed entry followed by an unkeyed one, both covered by a seal
    key = b"k" * 32
    first = dict.fromkeys(rules.HASHED_FIELDS)
    first.update(id=1, prev_hash=rules.GENESIS_HASH, chain_version=2)
    first["entry_hash"] = rules.keyed_entry_hash(first, key)
    second = dict.fromkeys(rules.HASHED_FIELDS)
    second.update(id=2, prev_hash=first["entry_hash"], chain_version=1)
    second["entry_hash"] = rules.legacy_entry_hash(second)
    seal = rules.sign_anchor(
        key=key, at=timezone.now(), entries=2, last_id=2, last_hash=second["entry_hash"], reason="legacy-seal"
    )

    # when
    broken = rules.chain_break([first, second], key, [seal])[0]

    # then
    assert (broken.entry_id, broken.kind) == (2, "unkeyed")
    assert "it follows keyed entries" in broken.reason


# --- the database refuses edits -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {t} SET amount = 94000 WHERE id = %s",
        "UPDATE {t} SET entry_hash = entry_hash WHERE id = %s",
        "DELETE FROM {t} WHERE id = %s",
    ],
)
def test_postgresql_refuses_update_and_delete_of_an_entry(log, sql):
    # given
    target = the_8400_entry(log)

    # when / then
    refused = r"append-only: (UPDATE|DELETE) of entry \d+ refused"
    with pytest.raises(DatabaseError, match=refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.replace("{t}", tampering.TABLE), [target["id"]])
    assert AttributionEntry.objects.get(pk=target["id"]).amount == Decimal("8400.00")


@pytest.mark.django_db
@pytest.mark.postgres
def test_corrections_still_work_with_the_trigger(log, ae):
    # given
    revops = UserFactory(role=Role.REVOPS)
    target = the_8400_entry(log)

    # when a correction appends a reversal and a replacement
    with TestCase.captureOnCommitCallbacks(execute=True):
        reversal, replacement = attribution_services.credit_correct(
            entry_id=target["id"], recorded_by=revops, reason="60/40 agreed", percent=60
        )

    # then
    assert (reversal.amount, replacement.amount) == (Decimal("-8400.00"), Decimal("7200.00"))
    assert verify().startswith("OK: 9 attribution entries verified")
