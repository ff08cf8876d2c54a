"""Split-credit log: keyed chain (chain_version), a signed seal of the legacy entries, and on
PostgreSQL a trigger that refuses UPDATE and DELETE.

- ``chain_version``: every row already in the table is version 1 (unkeyed SHA-256) and keeps its
  original hash: re-chaining old rows with the new key would sign whatever the table held on the
  day of the upgrade and erase the evidence of an earlier edit. New entries are version 2 (HMAC).
- The legacy seal: if the table holds entries, the legacy chain is verified and its head (count,
  last id and hash) is signed with ATTRIBUTION_CHAIN_KEY and published as an anchor (log line and
  anchor file). ``verify_attribution`` accepts unkeyed entries only up to a seal's count, so they
  cannot later be rewritten (or keyed entries downgraded) with SHA-256 alone. A seal proves only that
  the entries have not changed since the upgrade; run ``verify_attribution`` before migrating and
  compare its head hash with any earlier record (a CSV export carries entry_hash). A broken legacy
  chain is not sealed (an error is logged) and keeps failing verification until it is restored.
- The trigger stops UPDATE and DELETE by anyone, raw SQL included (TRUNCATE is not a row operation
  and is not refused; the test runner's flush uses it; anchors detect it). SQLite gets no trigger:
  it is the laptop and test database, and its flush deletes rows one statement at a time.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import migrations, models

logger = logging.getLogger("expansion.attribution")

# The seal in the format of this release, frozen here (a migration must write the same thing whatever
# the live code later becomes): chain version 1's hash and the signed-head ("anchor") line that
# verify_attribution reads.
GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "eql_id", "account_id", "person_id", "role", "credit_type", "percent", "amount", "period",
    "closed_at", "rule", "basis", "reason", "recorded_by_id", "recorded_at", "corrects_id", "prev_hash",
)
ANCHOR_DOMAIN = b"attribution-anchor/v1\n"
FINGERPRINT_DOMAIN = b"attribution-key-fingerprint/v1"


def _canonical_value(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return str(Decimal(value).quantize(Decimal("0.01")))
    return value


def legacy_entry_hash(entry):
    data = {name: _canonical_value(entry[name]) for name in HASHED_FIELDS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_line(*, key, at, entries, last_id, last_hash):
    payload = {
        "kind": "attribution_anchor",
        "at": at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "entries": entries,
        "last_id": last_id,
        "last_hash": last_hash,
        "reason": "legacy-seal",
        "key": hmac.new(key, FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()[:16],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    mac = hmac.new(key, ANCHOR_DOMAIN + text.encode("utf-8"), hashlib.sha256).hexdigest()
    return json.dumps({**payload, "mac": mac}, sort_keys=True, separators=(",", ":"))


def publish(line):
    logger.info("attribution_anchor %s", line)
    path = Path(settings.ATTRIBUTION_ANCHOR_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        logger.error("attribution anchor not written to %s: %s; the log line above carries it", path, exc)

TABLE = "expansion_attributionentry"

CREATE_TRIGGER = f"""
CREATE OR REPLACE FUNCTION expansion_attribution_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The attribution log is append-only: % of entry % refused; record a correction',
        TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER attribution_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION expansion_attribution_append_only();
"""
DROP_TRIGGER = f"""
DROP TRIGGER IF EXISTS attribution_append_only ON {TABLE};
DROP FUNCTION IF EXISTS expansion_attribution_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER, params=None)


def seal_legacy_chain(apps, schema_editor):
    from django.utils import timezone

    Entry = apps.get_model("expansion", "AttributionEntry")
    db = schema_editor.connection.alias
    rows = (
        Entry.objects.using(db)
        .order_by("id")
        .values("id", "entry_hash", "chain_version", *HASHED_FIELDS)
        .iterator(chunk_size=2000)
    )
    count, prev, last_id = 0, GENESIS_HASH, None
    for row in rows:
        count += 1
        if row["prev_hash"] != prev or legacy_entry_hash(row) != row["entry_hash"]:
            logger.error(
                "attribution legacy chain broken at entry %s: not sealed; restore it from a backup, "
                "then run verify_attribution",
                row["id"],
            )
            return
        prev, last_id = row["entry_hash"], row["id"]
    if not count:
        return
    key = settings.ATTRIBUTION_CHAIN_KEY.encode("utf-8")
    publish(seal_line(key=key, at=timezone.now(), entries=count, last_id=last_id, last_hash=prev))


class Migration(migrations.Migration):

    dependencies = [
        ("expansion", "0005_snapshot_covering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="attributionentry",
            name="chain_version",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text="How entry_hash is computed: 1 unkeyed SHA-256 (before the key), 2 HMAC-SHA256.",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(seal_legacy_chain, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
