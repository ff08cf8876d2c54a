"""Write-side services for the core domain: the warehouse import and user roles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from expansion import demo, demo_presets, importing
from expansion.importing import RowError
from expansion.models import Account, Activity, Expansion, Metric, ProductEvent, Role, UsageChange, User
from expansion.money import to_cents
from expansion.roles import may_manage_privileged
from expansion.signals import events_received

logger = logging.getLogger(__name__)

#: Rows validated and written per step; bounds memory whatever the file size.
CHUNK_ROWS = 100_000
SNAPSHOT_TABLE = "expansion_usagesnapshot"
#: pandas' message for a row with more fields than the header; "line" counts the header as line 1.
_RAGGED_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass
class FileResult:
    name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated}


class ImportRejected(Exception):
    """A file had invalid rows; nothing from it was written."""

    def __init__(self, name: str, errors: list[RowError] | list[str]):
        self.name = name
        self.errors = [str(e) for e in errors]
        #: Rows with at least one problem (a header or file problem counts as one).
        self.rows_rejected = len({(e.file, e.line) for e in errors if isinstance(e, RowError)}) or len(
            self.errors
        )
        super().__init__(
            f"{name} rejected: {len(self.errors)} problem(s); nothing from this file was written"
        )


@dataclass
class Progress:
    """Reports how far through a file the import is (a terminal prints it, a task stores it)."""

    callback: Callable[[str, int, int, int], None] | None = None
    total_bytes: int = 0
    rows: int = 0
    started: float = field(default_factory=time.monotonic)

    def update(self, name: str, rows: int, bytes_read: int) -> None:
        self.rows = rows
        if self.callback:
            self.callback(name, rows, bytes_read, self.total_bytes)


def _opt_date(value):
    return None if pd.isna(value) else value.date()


def _read_chunks(stream: IO[bytes], name: str) -> Iterable[tuple[pd.DataFrame, int]]:
    try:
        reader = pd.read_csv(
            stream,
            dtype=str,
            keep_default_na=False,
            chunksize=CHUNK_ROWS,
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
        first_line = importing.FIRST_DATA_LINE
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            yield chunk, first_line
            first_line += len(chunk)
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            name, [f"{name}: file: not UTF-8 text ({exc.reason}); export it as UTF-8 CSV"]
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise ImportRejected(name, [f"{name}:1: header: the file is empty; expected a header row"]) from exc
    except pd.errors.ParserError as exc:
        ragged = _RAGGED_ROW.search(str(exc))
        if ragged:
            expected, line, saw = ragged.groups()
            raise ImportRejected(
                name, [f"{name}:{line}: row: expected {expected} fields as in the header, saw {saw}"]
            ) from exc
        raise ImportRejected(name, [f"{name}: file: not a readable CSV ({str(exc).strip()})"]) from exc


def assign_role_group(user: User) -> None:
    """Put a person in their role's permission group (only that one)."""
    if user.role:
        group, _ = Group.objects.get_or_create(name=user.role)
        user.groups.set([group])


def _upsert(model, key: str, records: list[dict]) -> tuple[int, int]:
    """Create new records and update changed ones; unchanged rows are not written at all."""
    existing = model.objects.in_bulk([r[key] for r in records], field_name=key)
    to_create, to_update, changed_fields = [], [], set()
    for record in records:
        obj = existing.get(record[key])
        if obj is None:
            to_create.append(model(**record))
            continue
        diff = [f for f, v in record.items() if getattr(obj, f) != v]
        if diff:
            for f in diff:
                setattr(obj, f, record[f])
            changed_fields.update(diff)
            to_update.append(obj)
    model.objects.bulk_create(to_create, batch_size=2000)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields), batch_size=2000)
    return len(to_create), len(to_update)


class _FileImporter:
    name = ""

    def __init__(self, progress: Progress, by: User | None = None, *, label: str | None = None):
        self.progress = progress
        #: Who imports: None for an operator at the server (``import_data``), else the API's user.
        self.by = by
        #: What errors name: the CSV file, or a warehouse source's table, query or Parquet file.
        self.label = label or self.name
        self.errors: list[RowError] = []
        self.result = FileResult(self.name)

    def run(self, stream: IO[bytes]) -> FileResult:
        return self.run_batches(_read_chunks(stream, self.name), position=lambda: _tell(stream))

    def run_batches(
        self,
        batches: Iterable[tuple[pd.DataFrame, int]],
        *,
        position: Callable[[], int] = lambda: 0,
        empty_is_error: bool = True,
    ) -> FileResult:
        """Validate and write text batches (``(frame, first line or row)``); any bad row rejects all.

        The caller holds the transaction, so a rejection leaves the stored data as it was."""
        started = time.monotonic()
        header_checked = False
        for chunk, first_line in batches:
            if not header_checked:
                try:
                    self.layout = importing.check_header(
                        self.name, chunk.columns, label=None if self.label == self.name else self.label
                    )
                except importing.HeaderError as exc:
                    raise ImportRejected(self.label, [str(exc)]) from exc
                header_checked = True
            checked = self.validate(chunk, first_line)
            if self.label != self.name:
                checked.errors = [dataclasses.replace(e, file=self.label) for e in checked.errors]
            self.errors.extend(checked.errors)
            self.result.rows += len(chunk)
            if not self.errors:
                self.write(checked.rows)
            self.progress.update(self.label, self.result.rows, position())
        if not header_checked and empty_is_error:
            raise ImportRejected(
                self.name, [f"{self.name}:1: header: the file is empty; expected a header row"]
            )
        if header_checked:
            self.finish()
        if self.errors:
            # set(): a wide usage row yields one long row per metric, so a bad account or date repeats.
            raise ImportRejected(self.label, sorted(set(self.errors)))
        self.result.seconds = time.monotonic() - started
        return self.result

    def validate(self, chunk: pd.DataFrame, first_line: int) -> importing.Checked:
        raise NotImplementedError

    def write(self, rows: pd.DataFrame) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Work that needs the whole file (cross-row checks, final merge)."""

    def add(self, created: int, updated: int) -> None:
        self.result.created += created
        self.result.updated += updated


def _tell(stream) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def _known_users() -> Callable[[pd.Series], pd.Series]:
    emails = set(User.objects.values_list("email", flat=True))
    return lambda s: s.isin(emails)


def _existing_users(rows: pd.DataFrame) -> dict[str, importing.ExistingUser]:
    """What is stored now for the people in ``rows`` (for the privileged-account check)."""
    people = User.objects.filter(email__in=rows["email"].tolist()).select_related("manager")
    return {
        u.email: importing.ExistingUser(
            name=u.name,
            role=u.role,
            manager_email=u.manager.email if u.manager else "",
            capacity=u.capacity,
            is_superuser=u.is_superuser,
        )
        for u in people
    }


class UsersImporter(_FileImporter):
    name = "users.csv"

    def __init__(self, progress, by=None, **kw):
        super().__init__(progress, by, **kw)
        self.seen: set[str] = set()
        self.managers: dict[str, str] = {}

    def validate(self, chunk, first_line):
        checked = importing.validate_users(chunk, first_line, self.seen)
        if self.by is not None and not may_manage_privileged(self.by):
            checked.errors = sorted(
                checked.errors + importing.check_privileged_users(checked.rows, _existing_users(checked.rows))
            )
        return checked

    def write(self, rows):
        records = []
        for r in rows.itertuples(index=False):
            records.append(
                {
                    "email": r.email,
                    "username": r.email,
                    "name": r.name,
                    "role": r.role,
                    "capacity": None if pd.isna(r.capacity) else int(r.capacity),
                }
            )
            self.managers[r.email] = (r.manager_email, int(r.line_no))
        self.add(*_upsert(User, "email", records))

    def finish(self):
        if self.errors:
            return
        users = {
            u.email: u
            for u in User.objects.filter(email__in=[*self.managers, *(m for m, _ in self.managers.values())])
        }
        for manager_email, line in self.managers.values():
            if manager_email and manager_email not in users:
                self.errors.append(
                    RowError(self.label, line, "manager_email", f"unknown user {manager_email!r}")
                )
        if self.errors:
            return
        changed = []
        for email, (manager_email, _line) in self.managers.items():
            user = users[email]
            manager_id = users[manager_email].pk if manager_email else None
            if user.manager_id != manager_id:
                user.manager_id = manager_id
                changed.append(user)
            if user.role and not user.groups.filter(name=user.role).exists():
                assign_role_group(user)
        User.objects.bulk_update(changed, ["manager"])


class AccountsImporter(_FileImporter):
    name = "accounts.csv"

    def __init__(self, progress, by=None, **kw):
        super().__init__(progress, by, **kw)
        self.seen: set[str] = set()
        self.known_user = _known_users()
        self.user_ids = dict(User.objects.values_list("email", "pk"))

    def validate(self, chunk, first_line):
        return importing.validate_accounts(chunk, first_line, self.seen, self.known_user)

    def write(self, rows):
        records = [
            {
                "account_id": r.account_id,
                "name": r.name,
                "segment": r.segment,
                "plan_tier": r.plan_tier,
                "contract_arr": to_cents(r.contract_arr),
                "customer_since": r.customer_since.date(),
                "renewal_date": _opt_date(r.renewal_date),
                "seats_licensed": int(r.seats_licensed),
                "api_limit_30d": int(r.api_limit_30d),
                "owned_modules": list(r.owned_modules),
                "health_score": None if pd.isna(r.health_score) else int(r.health_score),
                "status": r.status,
                "ae_id": self.user_ids.get(r.ae_email),
                "csm_id": self.user_ids.get(r.csm_email),
                **({"crm_account_id": r.crm_account_id} if "crm_account_id" in rows else {}),
                **({"timezone": r.timezone} if "timezone" in rows else {}),
                **({"admin_email": r.admin_email} if "admin_email" in rows else {}),
            }
            for r in rows.itertuples(index=False)
        ]
        self.add(*_upsert(Account, "account_id", records))


def _account_pk_lookup(account_ids: Iterable[str] | None = None) -> Callable[[pd.Series], pd.Series]:
    """Account ids -> our pks (NaN when unknown), as the usage rules take them; ``account_ids`` limits
    the lookup to those ids (default: every account)."""
    accounts = (
        Account.objects.all() if account_ids is None else Account.objects.filter(account_id__in=account_ids)
    )
    pk_by_id = pd.Series(dict(accounts.values_list("account_id", "pk")), dtype="float64")
    return lambda ids: ids.map(pk_by_id)


class UsageImporter(_FileImporter):
    """Usage snapshots: staged in a temporary table, then merged with one set-based upsert."""

    name = "usage.csv"

    def __init__(self, progress, by=None, **kw):
        super().__init__(progress, by, **kw)
        self.account_pk = _account_pk_lookup()
        self.metric_ids = dict(Metric.objects.values_list("name", "pk"))
        self.vendor = connection.vendor
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS import_usage")
            if self.vendor == "postgresql":
                cur.execute(
                    "CREATE TEMP TABLE import_usage (account_id bigint, metric_id bigint, date date, "
                    "value double precision, line integer) ON COMMIT DROP"
                )
            else:
                cur.execute(
                    "CREATE TEMP TABLE import_usage (account_id INTEGER, metric_id INTEGER, date TEXT, "
                    "value REAL, line INTEGER)"
                )

    def validate(self, chunk, first_line):
        return importing.validate_usage(chunk, first_line, self.account_pk, wide=self.layout == "wide")

    def stage_typed(self, batch, first_row: int, known_ids, known_pks) -> bool:
        """Stage a typed (Arrow) long usage batch without the text rules when every row is certainly
        valid (``importing.usage_batch_certainly_valid``); False hands it to the text rules instead.
        ``known_ids``: the accounts' ids (Arrow strings), ``known_pks`` their pks in the same order."""
        if self.errors or not importing.usage_batch_certainly_valid(batch, known_ids):
            return False
        import pyarrow as pa
        import pyarrow.compute as pc

        def column(name):
            values = batch.column(name)
            return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values

        positions = pc.index_in(column("account_id"), value_set=known_ids).to_numpy(zero_copy_only=False)
        metric = column("metric").dictionary_encode()
        for name in metric.dictionary.to_pylist():
            if name not in self.metric_ids:
                self.metric_ids[name] = Metric.objects.get_or_create(name=name)[0].pk
        metric_pks = np.array([self.metric_ids[n] for n in metric.dictionary.to_pylist()], dtype=np.int64)
        staged = pd.DataFrame(
            {
                "account_id": known_pks[positions],
                "metric_id": metric_pks[metric.indices.to_numpy(zero_copy_only=False)],
                "date": pc.cast(column("date"), pa.string()).to_numpy(zero_copy_only=False),
                "value": pc.cast(column("value"), pa.float64()).to_numpy(zero_copy_only=False),
                "line": np.arange(first_row, first_row + batch.num_rows, dtype=np.int64),
            }
        )
        self._stage(staged)
        self.progress.update(self.label, first_row - 1 + batch.num_rows, 0)
        return True

    def write(self, rows):
        if rows.empty:
            return
        for name in rows["metric"].unique():
            if name not in self.metric_ids:
                self.metric_ids[name] = Metric.objects.get_or_create(name=name)[0].pk
        staged = pd.DataFrame(
            {
                "account_id": rows["account"].astype("int64"),
                "metric_id": rows["metric"].map(self.metric_ids).astype("int64"),
                "date": rows["date"].dt.strftime("%Y-%m-%d"),
                "value": rows["value"].astype("float64"),
                "line": rows["line_no"].astype("int64"),
            }
        )
        self._stage(staged)

    def _stage(self, staged: pd.DataFrame) -> None:
        """Rows (account_id, metric_id, date text, value, line) into the temporary table."""
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                buf = io.StringIO()
                staged.to_csv(buf, index=False, header=False)
                with cur.cursor.copy("COPY import_usage FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buf.getvalue())
            else:
                cur.executemany(
                    "INSERT INTO import_usage VALUES (%s, %s, %s, %s, %s)",
                    zip(*(staged[c].tolist() for c in staged.columns), strict=True),
                )

    def finish(self):
        with connection.cursor() as cur:
            if not self.errors:
                if self.vendor == "postgresql":
                    # Temporary tables have no statistics until analysed; without them the planner
                    # picks nested loops for the duplicate check and the merge.
                    cur.execute("ANALYZE import_usage")
                else:
                    cur.execute("CREATE INDEX import_usage_key ON import_usage (account_id, metric_id, date)")
                self._report_duplicates(cur)
            if not self.errors:
                self._merge(cur)
            if self.vendor != "postgresql":
                cur.execute("DROP TABLE IF EXISTS import_usage")

    def _report_duplicates(self, cur) -> None:
        cur.execute(
            "SELECT s.line, d.first_line FROM import_usage s JOIN ("
            " SELECT account_id, metric_id, date, MIN(line) AS first_line FROM import_usage"
            " GROUP BY account_id, metric_id, date HAVING COUNT(*) > 1) d"
            " ON s.account_id = d.account_id AND s.metric_id = d.metric_id AND s.date = d.date"
            " WHERE s.line <> d.first_line ORDER BY s.line"
        )
        for line, first in cur.fetchall():
            self.errors.append(
                RowError(
                    self.label, int(line), "date", f"duplicate account_id/date/metric (first on line {first})"
                )
            )

    def _merge(self, cur) -> None:
        join = (
            f" FROM import_usage s LEFT JOIN {SNAPSHOT_TABLE} t ON t.account_id = s.account_id"
            " AND t.metric_id = s.metric_id AND t.date = s.date"
        )
        cur.execute(
            "SELECT COUNT(*) FILTER (WHERE t.id IS NULL), COUNT(*) FILTER (WHERE t.value <> s.value),"
            " MIN(s.date) FILTER (WHERE t.id IS NULL OR t.value <> s.value),"
            " MAX(s.date) FILTER (WHERE t.id IS NULL OR t.value <> s.value)" + join
        )
        created, updated, first, last = cur.fetchone()
        cur.execute(
            f"INSERT INTO {SNAPSHOT_TABLE} (account_id, metric_id, date, value)"  # nosec B608: model table
            " SELECT account_id, metric_id, date, value FROM import_usage WHERE true"
            " ON CONFLICT (account_id, metric_id, date) DO UPDATE SET value = excluded.value"
            f" WHERE {SNAPSHOT_TABLE}.value <> excluded.value"
        )
        self.add(int(created or 0), int(updated or 0))
        if created or updated:
            usage_changed(first_date=first, last_date=last, rows=int(created or 0) + int(updated or 0))


class UsageChecker(UsageImporter):
    """Usage of a source scored in place: every row validated like ``usage.csv``, nothing written.

    The scoring pass reads those rows where they are (``scoring.readings``); a rejected batch makes
    the pass refuse to score from the source until a sync validates it again."""

    def __init__(self, progress, by=None, **kw):
        _FileImporter.__init__(self, progress, by, **kw)
        self.account_pk = _account_pk_lookup()

    def write(self, rows):
        pass

    def finish(self):
        pass


class ActivitiesImporter(_FileImporter):
    name = "activities.csv"

    def __init__(self, progress, by=None, **kw):
        super().__init__(progress, by, **kw)
        self.seen: set[str] = set()
        self.account_pks = dict(Account.objects.values_list("account_id", "pk"))
        self.account_known = lambda s: s.isin(self.account_pks.keys())
        self.user_ids = dict(User.objects.values_list("email", "pk"))

    def validate(self, chunk, first_line):
        return importing.validate_activities(chunk, first_line, self.seen, self.account_known)

    def write(self, rows):
        records = [
            {
                "activity_id": r.activity_id,
                "account_id": self.account_pks[r.account_id],
                "occurred_at": r.occurred_at.to_pydatetime(),
                "type": r.type,
                "actor_id": self.user_ids.get(r.actor_email),
                "actor_email": r.actor_email,
                "commercial": bool(r.commercial),
            }
            for r in rows.itertuples(index=False)
        ]
        self.add(*_upsert(Activity, "activity_id", records))


class ExpansionsImporter(_FileImporter):
    name = "expansions.csv"

    def __init__(self, progress, by=None, **kw):
        super().__init__(progress, by, **kw)
        self.seen: set[str] = set()
        self.account_pks = dict(Account.objects.values_list("account_id", "pk"))
        self.account_known = lambda s: s.isin(self.account_pks.keys())

    def validate(self, chunk, first_line):
        return importing.validate_expansions(chunk, first_line, self.seen, self.account_known)

    def write(self, rows):
        records = [
            {
                "opportunity_id": r.opportunity_id,
                "account_id": self.account_pks[r.account_id],
                "created_date": r.created_date.date(),
                "closed_date": _opt_date(r.closed_date),
                "status": r.status,
                "expansion_arr": to_cents(r.expansion_arr),
                "expansion_type": r.expansion_type,
                "contract_arr_at_close": to_cents(r.contract_arr_at_close),
            }
            for r in rows.itertuples(index=False)
        ]
        self.add(*_upsert(Expansion, "opportunity_id", records))


#: Event ids looked up per query when checking which events are already stored.
EVENT_LOOKUP_BATCH = 5000


class EventsImporter(_FileImporter):
    """Product events: validated whole, then only event ids not yet stored are written (a repeat is
    skipped and counted as unchanged). After the commit, ``events_received`` is sent once."""

    name = "events.csv"

    def __init__(self, progress, by=None, *, where=None, scope: str = "this file", account_ids=None, **kw):
        super().__init__(progress, by, **kw)
        self.seen: dict[str, int] = {}
        #: ``account_ids``: look up only these (an API batch), not every account.
        self.account_pk = _account_pk_lookup(account_ids)
        self.now = pd.Timestamp(timezone.now()).tz_convert("UTC")
        self.wording = {"scope": scope, **({"where": where} if where else {})}
        self.new_accounts: set[int] = set()
        self.new_events: set[str] = set()

    def validate(self, chunk, first_line):
        return importing.validate_events(
            chunk, first_line, self.seen, self.account_pk, now=self.now, **self.wording
        )

    def write(self, rows):
        ids = rows["event_id"].tolist()
        stored: set[str] = set()
        for start in range(0, len(ids), EVENT_LOOKUP_BATCH):
            batch = ids[start : start + EVENT_LOOKUP_BATCH]
            stored.update(ProductEvent.objects.filter(event_id__in=batch).values_list("event_id", flat=True))
        new = rows[~rows["event_id"].isin(stored)]
        objects = [
            ProductEvent(
                event_id=r.event_id,
                account_id=int(r.account),
                occurred_at=r.occurred_at.to_pydatetime(),
                event=r.event,
                properties=r.properties,
            )
            for r in new.itertuples(index=False)
        ]
        # ignore_conflicts: an event id stored by a concurrent writer since the lookup is a repeat too.
        ProductEvent.objects.bulk_create(objects, batch_size=2000, ignore_conflicts=True)
        self.new_accounts.update(int(pk) for pk in new["account"].unique())
        self.new_events.update(new["event"].unique().tolist())
        self.add(len(objects), 0)

    def finish(self):
        if self.errors or not self.new_events:
            return
        account_pks, events = sorted(self.new_accounts), sorted(self.new_events)
        transaction.on_commit(
            lambda: events_received.send(sender=ProductEvent, account_pks=account_pks, events=events)
        )


IMPORTERS: dict[str, type[_FileImporter]] = {
    cls.name: cls
    for cls in (
        UsersImporter,
        AccountsImporter,
        UsageImporter,
        ActivitiesImporter,
        ExpansionsImporter,
        EventsImporter,
    )
}

#: What ``POST /api/events/`` reads of each event (the events.csv columns).
EVENT_FIELDS = ("event_id", "account_id", "occurred_at", "event", "properties")


@dataclass(frozen=True)
class EventsResult:
    received: int
    created: int
    duplicates: int

    def as_dict(self) -> dict:
        return {"received": self.received, "created": self.created, "duplicates": self.duplicates}


class EventsRejected(Exception):
    """A batch of events had invalid items; nothing from it was written."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"events rejected: {len(errors)} problem(s); nothing from this batch was written")


def _event_text(name: str, value) -> str:
    """One API event field as the events.csv text the rules read (properties as JSON text)."""
    if value is None:
        return ""
    if name == "properties" or isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def events_ingest(*, rows: list[dict], by: User | None) -> EventsResult:
    """Store a batch of product events (``POST /api/events/``) by the events.csv rules, all or nothing.

    An event id already stored is a duplicate (skipped, not an error); a batch with any invalid item
    raises ``EventsRejected`` with one ``events[i].field: reason`` per problem and writes nothing.
    At most ``importing.MAX_EVENTS_PER_REQUEST`` events per batch."""
    if problem := importing.events_batch_problem(len(rows)):
        raise EventsRejected([f"events: {problem}"])
    if not rows:
        return EventsResult(received=0, created=0, duplicates=0)
    frame = pd.DataFrame(
        {name: [_event_text(name, row.get(name)) for row in rows] for name in EVENT_FIELDS}, dtype=object
    )
    importer = EventsImporter(
        Progress(),
        by,
        where=lambda index: f"first at events[{index}]",
        scope="this request",
        account_ids=sorted({text.strip() for text in frame["account_id"]}),
        label="events",
    )
    try:
        with transaction.atomic():
            result = importer.run_batches([(frame, 0)])
    except ImportRejected as exc:
        errors = sorted(set(importer.errors)) or exc.errors
        raise EventsRejected(
            [
                f"events[{e.line}].{e.column}: {e.reason}" if isinstance(e, RowError) else str(e)
                for e in errors
            ]
        ) from exc
    logger.info("events ingest by=%s received=%d created=%d", by, len(rows), result.created)
    return EventsResult(received=len(rows), created=result.created, duplicates=len(rows) - result.created)


def usage_changed(*, first_date, last_date, rows: int = 0) -> UsageChange:
    """Record that usage snapshots of these days were written (every writer of snapshots calls this;
    the scoring pass's local store re-reads those days)."""
    return UsageChange.objects.create(
        first_date=dt.date.fromisoformat(str(first_date)[:10]),
        last_date=dt.date.fromisoformat(str(last_date)[:10]),
        rows=rows,
    )


def import_file(
    *, name: str, stream: IO[bytes], progress: Progress | None = None, by: User | None = None
) -> FileResult:
    """Load one export file in one transaction; any invalid row rejects the whole file (ImportRejected).

    ``by`` is the person importing through the API; None means an operator at the server
    (``manage.py import_data``). Unless ``by`` is a superuser, users.csv rows that would create or
    change a superuser, RevOps or Finance account are invalid rows."""
    if name not in IMPORTERS:
        raise ImportRejected(
            name, [f"{name}: file: unknown file; expected one of {', '.join(importing.FILE_ORDER)}"]
        )
    progress = progress or Progress()
    with transaction.atomic():
        result = IMPORTERS[name](progress, by).run(stream)
    logger.info(
        "import file=%s rows=%d created=%d updated=%d seconds=%.2f",
        name,
        result.rows,
        result.created,
        result.updated,
        result.seconds,
    )
    return result


def import_directory(
    *, directory: Path, progress_callback: Callable[[str, int, int, int], None] | None = None
) -> tuple[dict[str, FileResult], list[ImportRejected]]:
    """Load every export file present in ``directory``, in dependency order, each in its own transaction."""
    results: dict[str, FileResult] = {}
    rejected: list[ImportRejected] = []
    for name in importing.FILE_ORDER:
        path = directory / name
        if not path.exists():
            continue
        progress = Progress(callback=progress_callback, total_bytes=path.stat().st_size)
        try:
            with path.open("rb") as stream:
                results[name] = import_file(name=name, stream=stream, progress=progress)
        except ImportRejected as exc:
            rejected.append(exc)
    return results, rejected


def user_set_role(*, user: User, role: str) -> User:
    """Set a person's role and the matching permission group."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user.role = role
    user.save(update_fields=["role"])
    assign_role_group(user)
    return user


@dataclass
class DemoSeedResult:
    export: demo.DemoExport
    directory: Path
    files: dict  # name -> services.FileResult
    generate_seconds: float
    write_seconds: float
    import_seconds: float
    passwords: list[tuple[str, str, str]]


def demo_seed(
    *,
    directory: Path,
    seed: int = demo.DEFAULT_SEED,
    accounts: int = demo.DEFAULT_ACCOUNTS,
    as_of: dt.date,
    preset: str = "",
) -> DemoSeedResult:
    """Generate, write and import the demo export, then set demo passwords and role groups.

    ``preset``: add the demo data that preset's triggers read (``expansion.demo_presets``); the
    caller applies the preset's configuration file.

    Raises ``ImportRejected`` (the first rejected file) if the import refused anything.
    """
    started = time.monotonic()
    export = demo.generate(seed=seed, accounts=accounts, as_of=as_of)
    if preset:
        export = demo_presets.with_extras(export, preset)
    generated = time.monotonic()
    demo.write_export(export, directory)
    written = time.monotonic()
    results, rejected = import_directory(directory=Path(directory))
    imported = time.monotonic()
    if rejected:
        raise rejected[0]
    passwords = export.passwords
    with transaction.atomic():
        users = {u.email: u for u in User.objects.filter(email__in=[e for e, _, _ in passwords])}
        for email, role, password in passwords:
            user = users[email]
            user.set_password(password)
            user.is_active = True
            user.is_staff = role == "RevOps"
            user.save(update_fields=["password", "is_active", "is_staff"])
            user_set_role(user=user, role=role)
    return DemoSeedResult(
        export=export,
        directory=Path(directory),
        files=results,
        generate_seconds=generated - started,
        write_seconds=written - generated,
        import_seconds=imported - written,
        passwords=passwords,
    )
