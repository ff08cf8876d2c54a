"""The split-credit log as CSV for Finance: one row per entry, safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from expansion.models import AttributionEntry

#: Entries read from the database at a time while streaming.
CSV_CHUNK = 2000


CSV_COLUMNS = (
    "entry_id",
    "recorded_at",
    "period",
    "closed_at",
    "eql_id",
    "account_id",
    "account_name",
    "primary_signal",
    "person_email",
    "person_name",
    "role",
    "credit_type",
    "percent",
    "amount",
    "rule",
    "reason",
    "recorded_by",
    "corrects_entry",
    "entry_hash",
    "prev_hash",
    "chain_version",
)


def csv_rows(qs: QuerySet[AttributionEntry]) -> Iterator[list]:
    yield list(CSV_COLUMNS)
    rows = qs.select_related("eql", "account", "person", "recorded_by").order_by("id")
    for e in rows.iterator(chunk_size=CSV_CHUNK):
        yield [
            e.pk,
            e.recorded_at.isoformat(),
            e.period,
            e.closed_at.isoformat(),
            e.eql_id,
            e.account.account_id,
            e.account.name,
            e.eql.primary_signal,
            e.person.email,
            e.person.display_name,
            e.role,
            e.credit_type,
            e.percent,
            e.amount,
            e.rule,
            e.reason,
            e.recorded_by.email,
            e.corrects_id or "",
            e.entry_hash,
            e.prev_hash,
            e.chain_version,
        ]
