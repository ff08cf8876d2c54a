"""Readers for warehouse sources: each yields text batches the export validation reads (no ORM).

Every reader turns its rows into Arrow record batches, casts each column to text in Arrow (dates as
``YYYY-MM-DD``, timestamps ISO, numbers as written) and hands pandas frames of strings to the same
validators as the CSV import. Rows are numbered from 1 within this sync's result (the table, query or
Parquet file after the watermark filter), so an error reads ``usage.parquet:12: value: ...``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

#: Rows per batch: bounds memory whatever the size of the table.
BATCH_ROWS = 100_000
INPUTS = ("users", "accounts", "usage", "activities", "expansions", "events")
#: The watermark column used when an input names none (only when the result has that column).
DEFAULT_WATERMARK = {
    name: {"usage": "date", "events": "occurred_at"}.get(name, "updated_at") for name in INPUTS
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def is_table_name(text: str) -> bool:
    """Whether ``text`` is a plain (optionally schema-qualified) table name rather than a query."""
    return bool(_IDENTIFIER.match(text))


class SourceError(Exception):
    """A source cannot be read (missing file, unreachable database, a query that fails)."""


def to_text(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """The batch as a frame of strings (missing values as ""), the way a CSV export reads."""
    columns = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        columns[str(name).strip()] = column.fill_null("").to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns)


def watermark_text(value) -> str:
    """How a high-water mark is stored: ISO for dates and times, else as text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def watermark_value(text: str, *, lag_days: int = 0):
    """The stored high-water mark as the value to compare with, moved back ``lag_days`` days."""
    if not text:
        return None
    try:
        value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return value - dt.timedelta(days=lag_days) if lag_days else value


@dataclass
class Scan:
    """One input's rows as text batches; after iterating, ``high_water`` is the watermark's maximum."""

    label: str
    batches: Iterator[pa.RecordBatch]
    watermark_column: str | None
    names: list[str] = field(default_factory=list)
    high_water: object = None
    rows: int = 0
    #: The typed fast path: called with each Arrow batch and its first row number; a batch it takes
    #: (returns True: it is sure every row is valid and has handled it) is counted, not handed on as text.
    take_typed: Callable[[pa.RecordBatch, int], bool] | None = None
    typed_rows: int = 0

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, int]]:
        yielded = False
        for batch in self.batches:
            if batch.num_rows == 0 and yielded:
                continue
            if self.watermark_column and batch.num_rows:
                top = pc.max(batch.column(self.watermark_column)).as_py()
                if top is not None and (self.high_water is None or top > self.high_water):
                    self.high_water = top
            if self.take_typed is not None and self.take_typed(batch, self.rows + 1):
                self.rows += batch.num_rows
                self.typed_rows += batch.num_rows
                continue
            yield to_text(batch), self.rows + 1
            yielded = True
            self.rows += batch.num_rows
        if not yielded:
            yield pd.DataFrame({name: pd.Series(dtype=object) for name in self.names}), 1


def _watermark_column(configured: str, input_name: str, names: list[str], label: str) -> str | None:
    if configured:
        if configured not in names:
            raise SourceError(
                f"{label}: columns: the watermark column {configured!r} is not in the result "
                f"(columns: {', '.join(names)})"
            )
        return configured
    default = DEFAULT_WATERMARK[input_name]
    return default if default in names else None


def _duckdb_scan(con, base: str, params: list, *, input_name, label, watermark_column, since, batch_rows):
    try:
        names = [row[0] for row in con.execute(f"DESCRIBE {base}", params).fetchall()]
        column = _watermark_column(watermark_column, input_name, names, label)
        query, args = base, list(params)
        if column and since is not None:
            query = f"SELECT * FROM ({base}) AS src WHERE {_quote_duckdb(column)} > ?"  # nosec B608: the source's own configured query; the watermark is a bound parameter
            args.append(since)
        reader = con.sql(query, params=args).to_arrow_reader(batch_rows)
    except duckdb.Error as exc:
        raise SourceError(f"{label}: query: {str(exc).splitlines()[0]}") from exc
    return Scan(label=label, batches=_guard_duckdb(reader, label), watermark_column=column, names=names)


def _guard_duckdb(reader, label):
    try:
        yield from reader
    except duckdb.Error as exc:
        raise SourceError(f"{label}: query: {str(exc).splitlines()[0]}") from exc


def _quote_duckdb(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def parquet_path(location: str, input_name: str, configured: str = "") -> tuple[str, str] | None:
    """(path or glob for read_parquet, label) for an input, or None when the source has no such input.

    Default: ``<location>/<input>.parquet`` or a folder ``<location>/<input>/`` of Parquet files."""
    root = Path(location)
    if configured:
        path = Path(configured) if Path(configured).is_absolute() else root / configured
        if path.is_dir():
            return str(path / "*.parquet"), f"{configured.rstrip('/')}/*.parquet"
        return str(path), configured
    if (root / f"{input_name}.parquet").is_file():
        return str(root / f"{input_name}.parquet"), f"{input_name}.parquet"
    if (root / input_name).is_dir():
        return str(root / input_name / "*.parquet"), f"{input_name}/*.parquet"
    return None


def parquet_scan(
    location: str,
    input_name: str,
    *,
    path: str = "",
    watermark_column: str = "",
    since=None,
    batch_rows: int = BATCH_ROWS,
) -> Scan | None:
    """An input read from Parquet through DuckDB, the watermark filter pushed into the scan."""
    found = parquet_path(location, input_name, path)
    if found is None:
        return None
    target, label = found
    con = duckdb.connect()
    return _duckdb_scan(
        con,
        "SELECT * FROM read_parquet(?, union_by_name = true)",
        [target],
        input_name=input_name,
        label=label,
        watermark_column=watermark_column,
        since=since,
        batch_rows=batch_rows,
    )


def duckdb_scan(
    location: str,
    input_name: str,
    *,
    query: str = "",
    watermark_column: str = "",
    since=None,
    batch_rows: int = BATCH_ROWS,
) -> Scan | None:
    """An input read from a DuckDB database file: a table (default: named after the input) or a query."""
    if not Path(location).is_file():
        raise SourceError(f"{location}: file: no DuckDB database file here")
    try:
        con = duckdb.connect(location, read_only=True)
    except duckdb.Error as exc:
        raise SourceError(f"{location}: file: cannot open as a DuckDB database ({exc})") from exc
    table = query.strip() or input_name
    if _IDENTIFIER.match(table):
        parts = table.split(".")
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"  # nosec B608: fixed text, values bound
            + (" AND table_schema = ?" if len(parts) > 1 else ""),
            [parts[-1], *parts[:-1][-1:]],
        ).fetchone()[0]
        if not exists:
            if query.strip():
                raise SourceError(f"{table}: table: no such table in {Path(location).name}")
            return None
        base, label = "SELECT * FROM " + ".".join(_quote_duckdb(p) for p in parts), table  # nosec B608: quoted identifier
    else:
        base, label = f"SELECT * FROM ({query.strip().rstrip(';')}) AS q", input_name  # nosec B608: the source's own configured query
    return _duckdb_scan(
        con,
        base,
        [],
        input_name=input_name,
        label=label,
        watermark_column=watermark_column,
        since=since,
        batch_rows=batch_rows,
    )


def sql_scan(
    url: str,
    input_name: str,
    *,
    query: str = "",
    watermark_column: str = "",
    since=None,
    batch_rows: int = BATCH_ROWS,
    engine: sa.Engine | None = None,
) -> Scan | None:
    """An input read with one query over a SQLAlchemy URL (default: ``SELECT * FROM <input>``).

    With a high-water mark the query is wrapped: ``SELECT * FROM (<query>) AS src WHERE col > :watermark``
    (a bound parameter, never text pasted into the SQL)."""
    engine = engine or sa.create_engine(url)
    label = input_name
    try:
        if not query.strip():
            if not sa.inspect(engine).has_table(input_name):
                return None
            query = f"SELECT * FROM {engine.dialect.identifier_preparer.quote(input_name)}"  # nosec B608: a quoted identifier
        base = query.strip().rstrip(";")
        conn = engine.connect().execution_options(stream_results=True, yield_per=batch_rows)
        names = list(conn.execute(sa.text(f"SELECT * FROM ({base}) AS src WHERE 1 = 0")).keys())  # nosec B608: the admin-configured query
        column = _watermark_column(watermark_column, input_name, names, label)
        params = {}
        if column and since is not None:
            quoted = engine.dialect.identifier_preparer.quote(column)
            base = f"SELECT * FROM ({base}) AS src WHERE {quoted} > :watermark"  # nosec B608: quoted identifier, bound value
            params["watermark"] = since
        if _copies(engine):
            batches = _copy_batches(conn, base, params, batch_rows, label)
        else:
            batches = _sql_batches(conn, conn.execute(sa.text(base), params), batch_rows, label)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{label}: query: {_first_line(exc)}") from exc
    return Scan(label=label, batches=batches, watermark_column=column, names=names)


def _copies(engine: sa.Engine) -> bool:
    """PostgreSQL through psycopg 3: the result is streamed with COPY, the bulk path (a tuple per row
    through the DB-API costs most of a sync)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


#: PostgreSQL type oids -> the Arrow type their COPY text is read as (others: text).
_PG_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


class _CopyStream:
    """A file-like view of a COPY ... TO STDOUT stream (pyarrow's CSV reader pulls from it)."""

    def __init__(self, copy):
        self._chunks = iter(copy)
        self._buffer = bytearray()
        self.closed = False

    def peek(self) -> bool:
        """Whether the stream has any data (reads the first chunk)."""
        while not self._buffer:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                return False
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)  # amortised: a bytearray grows in place
            except StopIteration:
                break
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = bytes(self._buffer), bytearray()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def close(self) -> None:
        self.closed = True


def _copy_batches(conn, base: str, params: dict, batch_rows: int, label: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pacsv

    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cur:
            # the column types, from the query's description (no rows read)
            # psycopg reads placeholders only when given parameters: then a literal % is written %%
            bound = base.replace("%", "%%").replace(":watermark", "%(watermark)s") if params else base
            cur.execute(f"SELECT * FROM ({bound}) AS src LIMIT 0", params or None)  # nosec B608: the admin-configured query
            names = [d.name for d in cur.description]
            types = {d.name: _PG_TYPES.get(d.type_code, pa.string()) for d in cur.description}
            copy_sql = f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER false, NULL '')"  # nosec B608: the admin-configured query
            with cur.copy(copy_sql, params or None) as copy:
                stream = _CopyStream(copy)
                if not stream.peek():
                    yield pa.RecordBatch.from_arrays([pa.array([], types[n]) for n in names], names=names)
                    return
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
                    convert_options=pacsv.ConvertOptions(
                        column_types=types,
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=False,
                        null_values=[""],
                    ),
                )
                for batch in reader:
                    for start in range(0, batch.num_rows, batch_rows):
                        yield batch.slice(start, batch_rows)
    except (pa.ArrowInvalid, sa.exc.SQLAlchemyError, psycopg.Error) as exc:
        raise SourceError(f"{label}: query: {_first_line(exc)}") from exc
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _arrow_column(values: tuple) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _sql_batches(conn, result, batch_rows: int, label: str) -> Iterator[pa.RecordBatch]:
    names = list(result.keys())
    try:
        for part in result.partitions(batch_rows):
            columns = list(zip(*part, strict=True)) if part else [() for _ in names]
            yield pa.RecordBatch.from_arrays([_arrow_column(c) for c in columns], names=names)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{label}: query: {_first_line(exc)}") from exc
    finally:
        conn.close()
