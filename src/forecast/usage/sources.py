"""Read usage files into DuckDB staging relations, keeping every row and its line number.

CSV and JSON Lines are read with Python's own parsers so that every record keeps the line it
came from (a quoted newline or a malformed line cannot shift the numbering); Parquet is read
by DuckDB directly with its row number. Staged values are the file's own (text for CSV and
JSON Lines, typed for Parquet); the loaders check and convert them in SQL.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.errors import UsageError
from .checks import q

CHUNK_ROWS = 200_000
MALFORMED = "_malformed"  # staged column: why a line could not be split into fields (else NULL)
LINE = "_line"  # staged column: 1-based line in the file (CSV, JSON Lines) or row (Parquet)
RAW = "_raw"  # staged column: the fields of a malformed line as JSON text (else NULL)


def file_format(path: Path) -> str:
    """'csv', 'jsonl' or 'parquet' from the file name."""
    name = path.name.lower()
    for suffixes, fmt in (((".csv",), "csv"), ((".jsonl", ".ndjson"), "jsonl"),
                          ((".parquet", ".pq"), "parquet")):
        if name.endswith(suffixes):
            return fmt
    raise UsageError(f"{path}: unknown file type: use .csv, .jsonl/.ndjson or .parquet (compressed CSV is not read: "
                     "decompress it or convert it to Parquet)")


def check_utf8(path: Path, block_bytes: int = 1 << 24) -> None:
    """Raise UsageError naming the line of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before, offset = 0, 0
    with path.open("rb") as f:
        while block := f.read(block_bytes):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                with path.open("rb") as g:
                    head = g.read(bad + 1)
                line = head.count(b"\n") + 1
                raise UsageError(f"{path}: line {line}: byte 0x{head[-1]:02x} is not UTF-8: "
                                 "save the file as UTF-8") from None
            lines_before += block.count(b"\n")
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UsageError(f"{path}: line {lines_before + 1}: file ends inside a UTF-8 character") from None


def _csv_records(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str] | None, str | None]]]:
    f = path.open(encoding="utf-8", newline="")
    reader = csv.reader(f, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        f.close()
        raise UsageError(f"{path}: line 1: empty file: a header line is expected") from None
    except csv.Error as exc:
        f.close()
        raise UsageError(f"{path}: line 1: header is not valid CSV ({exc})") from None
    width = len(header)

    def records():
        with f:
            line = reader.line_num + 1
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield line, None, f"not valid CSV ({exc})"
                    line = reader.line_num + 1
                    continue
                if fields and len(fields) != width:
                    yield line, fields, f"has {len(fields)} fields, the header has {width}"
                elif fields:
                    yield line, fields, None
                line = reader.line_num + 1

    return [h.strip() for h in header], records()


def _jsonl_records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict | None, str | None]]]:
    """Columns are the keys of all objects, in order of first appearance (one pass to find them)."""
    columns: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for text in f:
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            if isinstance(obj, dict):
                columns.update(dict.fromkeys(obj))

    def records():
        with path.open(encoding="utf-8") as f:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    yield line, text.rstrip("\n"), f"not valid JSON ({exc.args[0].split(':')[0]})"
                    continue
                if not isinstance(obj, dict):
                    yield line, text.rstrip("\n"), "is not a JSON object"
                    continue
                yield line, obj, None

    return list(columns), records()


def _json_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def _stage_text(con: duckdb.DuckDBPyConnection, table: str, path: Path, fmt: str) -> list[str]:
    check_utf8(path)
    columns, records = _csv_records(path) if fmt == "csv" else _jsonl_records(path)
    lowered = [c.lower() for c in columns]
    if len(set(lowered)) != len(columns):
        dupes = sorted({c for c in columns if lowered.count(c.lower()) > 1})
        raise UsageError(f"{path}: line 1: column names repeat (ignoring case): {', '.join(dupes)}")
    if {LINE, MALFORMED, RAW} & set(columns):
        raise UsageError(f"{path}: columns {LINE}, {MALFORMED} and {RAW} are reserved")
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
    for line, fields, problem in records:
        raw = None
        if problem is not None:
            values = [None] * n
            raw = None if fields is None else json.dumps(fields)  # the line's text or fields, as JSON
        elif fmt == "csv":
            values = fields
        else:
            values = [_json_text(fields.get(c)) for c in columns]
        for i, v in enumerate(values):
            batch[i].append(v)
        batch[n].append(line)
        batch[n + 1].append(problem)
        batch[n + 2].append(raw)
        if len(batch[n]) >= CHUNK_ROWS:
            flush()
    flush()
    return columns


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    """Stage a CSV, JSON Lines or Parquet file as `table` (+ _line, _malformed); returns its columns."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    fmt = file_format(path)
    if fmt != "parquet":
        return _stage_text(con, table, path, fmt)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    except duckdb.Error as exc:
        raise UsageError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    if {LINE, MALFORMED, RAW} & set(cols):
        raise UsageError(f"{path}: columns {LINE}, {MALFORMED} and {RAW} are reserved")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number + 1 AS {LINE}, NULL::VARCHAR AS {MALFORMED}, NULL::VARCHAR AS {RAW} "
                f"FROM read_parquet('{_sql_str(path)}', file_row_number = true)")
    return cols


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type name of a staged relation."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
