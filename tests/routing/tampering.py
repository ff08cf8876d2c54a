"""How someone with database access rewrites the split-credit log behind the app's back (test helpers).

On PostgreSQL the table refuses UPDATE and DELETE with a trigger; the table's owner (the app's own
database role) can switch it off, so the forgeries below do exactly that: what is left to catch them
is the key and the anchors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

from expansion.models import AttributionEntry
from routing.attribution import rules

TABLE = AttributionEntry._meta.db_table
TRIGGER = "attribution_append_only"


@contextmanager
def owner_bypassing_the_trigger() -> Iterator:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's transaction has deferred FK checks pending, which ALTER TABLE refuses to skip.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def rows() -> list[dict]:
    return list(
        AttributionEntry.objects.order_by("id").values(
            "id", "entry_hash", "chain_version", *rules.HASHED_FIELDS
        )
    )


def rechain(edit: Callable[[dict], None], hasher: Callable[[dict], str], version: int | None = None) -> None:
    """Apply ``edit`` to the rows, then recompute every hash and link from the first changed row on
    with ``hasher`` (the product's own functions, with whatever key the forger has), and write it all
    back with raw SQL. ``version`` also relabels the rewritten rows' chain_version."""
    current = rows()
    prev = rules.GENESIS_HASH
    changed = False
    with owner_bypassing_the_trigger() as cursor:
        for row in current:
            before = dict(row)
            edit(row)
            changed = changed or row != before
            if changed:
                row["prev_hash"] = prev
                if version is not None:
                    row["chain_version"] = version
                row["entry_hash"] = hasher(row)
                cursor.execute(
                    f"UPDATE {TABLE} SET amount = %s, percent = %s, person_id = %s, prev_hash = %s, "
                    "entry_hash = %s, chain_version = %s WHERE id = %s",
                    [
                        row["amount"],
                        row["percent"],
                        row["person_id"],
                        row["prev_hash"],
                        row["entry_hash"],
                        row["chain_version"],
                        row["id"],
                    ],
                )
            prev = row["entry_hash"]


def delete(entry_id: int) -> None:
    with owner_bypassing_the_trigger() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry_id])
