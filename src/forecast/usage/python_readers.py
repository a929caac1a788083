"""Python's own readers for the CSV and JSON Lines files DuckDB's readers cannot read exactly: record by record,
each with its first line and raw text, staged as a table of text columns."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ..core.errors import UsageError
from .checks import q
from .files import check_utf8
from .schema import LINE, MALFORMED, RAW

CHUNK_ROWS = 200_000
MAX_FIELD_CHARS = 1 << 27  # a field may be this long (DuckDB's reader stops at 2 MB lines and leaves them here)


class _TakenLines:
    """An iterator over a file's lines that remembers the lines taken since the last `take()`."""

    def __init__(self, f):
        self.f, self.taken = f, []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.f)
        self.taken.append(line)
        return line

    def take(self) -> list[str]:
        taken, self.taken = self.taken, []
        return taken


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header line, outer spaces trimmed."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        try:
            header = next(csv.reader(f, strict=True))
        except StopIteration:
            raise UsageError(f"{path}: line 1: empty file: a header line is expected") from None
        except csv.Error as exc:
            raise UsageError(f"{path}: line 1: header is not valid CSV ({exc})") from None
        except UnicodeDecodeError:  # in the first block read, maybe past the header: check_utf8 names the line
            check_utf8(path)
            raise
    if not header:
        raise UsageError(f"{path}: line 1: the header line is empty: the first line names the columns")
    return [h.strip() for h in header]


def csv_records(path: Path, width: int) -> Iterator[tuple[int, list[str] | None, str | None, str | None]]:
    """(first line, fields, problem, raw text) per record after the header, empty fields as None. Lines are counted
    as the csv module counts them (a carriage return alone ends a line), so each record carries its own text."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = _TakenLines(f)
        reader = csv.reader(lines, strict=True)
        next(reader)
        line = reader.line_num + 1
        lines.take()
        while True:
            try:
                fields = next(reader)
                problem = None
            except StopIteration:
                return
            except csv.Error as exc:
                fields, problem = None, f"not valid CSV ({exc})"
            taken = lines.take()
            if fields is not None and len(fields) != width and fields:
                problem = f"has {len(fields)} fields, the header has {width}"
            if fields or problem:
                raw = "".join(taken).rstrip("\r\n")
                # an empty field is NULL, as DuckDB's read_csv gives it, so a row hashes alike by either reader
                yield line, (None if problem else [v if v else None for v in fields]), problem, raw
            line = reader.line_num + 1


def jsonl_columns(path: Path) -> list[str]:
    """The keys of all objects, in order of first appearance."""
    columns: dict[str, None] = {}
    with path.open(encoding="utf-8-sig") as f:
        for text in f:
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            if isinstance(obj, dict):
                columns.update(dict.fromkeys(obj))
    return list(columns)


def jsonl_records(path: Path, columns: list[str]) -> Iterator[tuple[int, list | None, str | None, str | None]]:
    with path.open(encoding="utf-8-sig", newline="\n") as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                yield line, None, f"not valid JSON ({exc.args[0].split(':')[0]})", None
                continue
            if not isinstance(obj, dict):
                yield line, None, "is not a JSON object", None
                continue
            yield line, [json_text(obj.get(c)) for c in columns], None, None


def json_text(value) -> str | None:
    """A JSON value as the text a CSV cell would hold: strings as they are, numbers and booleans as JSON writes
    them, lists and objects as JSON.

    >>> json_text(True), json_text(12), json_text({"b": 1, "a": None}), json_text(None)
    ('true', '12', '{"a": null, "b": 1}', None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def stage_records(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], records) -> None:
    """Stage (line, fields, problem, raw) records from Python as a table of text columns."""
    import pyarrow as pa  # here, not at the top: DuckDB's readers need none of it

    names = [*columns, LINE, MALFORMED, RAW]
    schema = pa.schema([*((c, pa.string()) for c in columns), (LINE, pa.int64()), (MALFORMED, pa.string()),
                        (RAW, pa.string())])
    cols = "".join(f"{q(c)} VARCHAR, " for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({cols}{LINE} BIGINT, {MALFORMED} VARCHAR, {RAW} VARCHAR)")
    batch: list[list] = [[] for _ in names]

    def flush():
        chunk = pa.Table.from_arrays([pa.array(v, type=t.type) for v, t in zip(batch, schema, strict=True)],
                                     schema=schema)
        con.register("_chunk", chunk)
        con.execute(f"INSERT INTO {table} SELECT * FROM _chunk")
        con.unregister("_chunk")
        for v in batch:
            v.clear()

    n = len(columns)
    empty = [None] * n
    for line, fields, problem, raw in records:
        for i, v in enumerate(fields or empty):
            batch[i].append(v)
        batch[n].append(line)
        batch[n + 1].append(problem)
        batch[n + 2].append(raw)
        if len(batch[n]) >= CHUNK_ROWS:
            flush()
    flush()
