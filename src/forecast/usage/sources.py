"""Read a usage file and check its rows into a DuckDB table, keeping every row, its line and its raw text.

DuckDB's own readers are used where they are exact, and the rows are converted and checked in the same
pass: a CSV file with `read_csv` (strict, rejects stored) when it rejected nothing and every record is
one physical line (records plus the header equal the file's line count), so a record's line is its
position; a JSON Lines file with `read_json` when every line is an object, else line by line with the
JSON functions. Otherwise (a stray quote, a quoted newline, a blank line, a short or long row)
python_readers reads the file record by record. Parquet is read by DuckDB with its row number. Staged
values are the file's own (text for CSV and JSON Lines, typed for Parquet); the loaders' SELECT checks
and converts them. A loader that needs only a few columns of every row in file order (FOCUS: the row's
key and reason) has check_file keep just those, and reads the rest again, in parallel and in any
order, from Checked.rows: a copy of every column in file order spills to disk past the memory limit.
The rows a DuckDB reader checked in file order are kept in the database `store`: temp, or, for a request log
too large for memory, a scratch database file the warehouse attaches, where a table is stored compressed, so
the later passes read it faster than a temp table spilled past the memory limit (10M request rows: the insert
18.6 s from a temp table, 11.2 s from the file).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb

from ..core.errors import UsageError
from .checks import lit, q
from .files import FileScan, check_utf8, file_format, scan_file
from .python_readers import csv_header, csv_records, jsonl_columns, jsonl_records, stage_records
from .schema import LINE, MALFORMED, RAW

SEPARATOR = "\x1f\x1e\x1d\x1c"  # a delimiter no text line holds: DuckDB's CSV reader then yields whole lines


def _check_columns(path: Path, columns: list[str]) -> None:
    unnamed = [str(i) for i, c in enumerate(columns, start=1) if not c]
    if unnamed:
        raise UsageError(f"{path}: line 1: column {', '.join(unnamed)} of the header has no name: name every column")
    lowered = [c.lower() for c in columns]
    if len(set(lowered)) != len(columns):
        dupes = sorted({c for c in columns if lowered.count(c.lower()) > 1})
        raise UsageError(f"{path}: line 1: column names repeat (ignoring case): {', '.join(dupes)}")
    if {LINE, MALFORMED, RAW} & set(columns):
        raise UsageError(f"{path}: columns {LINE}, {MALFORMED} and {RAW} are reserved")


CheckedSelect = Callable[[str, dict[str, str], list[str]], str]  # (staged relation, its types, columns) -> SELECT


def _create_checked(con: duckdb.DuckDBPyConnection, table: str, staged: str, columns: list[str],
                    select: CheckedSelect, kind: str = "TABLE") -> None:
    con.execute(f"CREATE OR REPLACE TEMP {kind} {table} AS {select(staged, column_types(con, staged), columns)}")


class Checked(NamedTuple):
    """Where check_file left a file's checked rows: `relation` holds every row with its _line (only the `keys`
    columns when check_file was given them), `rows` every column of the checked SELECT (the same relation, or a
    view that reads the file again)."""

    relation: str
    rows: str


def _staged_view(con: duckdb.DuckDBPyConnection, view: str, reader: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, NULL::BIGINT AS {LINE}, "
                f"NULL::VARCHAR AS {MALFORMED}, NULL::VARCHAR AS {RAW} FROM {reader}")


def _checked_by_duckdb(con: duckdb.DuckDBPyConnection, table: str, readers: tuple[str, str], header_lines: int,
                       lines: Callable[[], int], columns: list[str], select: CheckedSelect,
                       keys: tuple[str, ...] | None, store: str) -> Checked | None:
    """Read with a DuckDB reader and check in one pass, kept only when exact (see the module docstring), or None.
    `readers` are a read_csv or read_json call that stores its rejects in _rejects (when it stores any) and the
    same call without them, which reads the file again for `rows` when only `keys` are kept in `table` (made in
    the database `store`, under temp views `table`_lines and `table`_rows)."""
    stored = f"{store}.{table}"
    try:
        _staged_view(con, "_read", readers[0])
        types = column_types(con, "_read")
    except duckdb.Error:
        return None
    sql = select("_read", types, columns)
    kept = f"SELECT {', '.join(q(k) for k in (*keys, LINE))} FROM ({sql})" if keys else sql
    con.execute("SET preserve_insertion_order = true")  # rowid is then the record's position in the file
    try:
        con.execute(f"CREATE OR REPLACE {'TEMP ' if store == 'temp' else ''}TABLE {stored} AS {kept}")
        rows, first, last = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {stored}").fetchall()[0]
        rejected = con.execute("SELECT count(*) FROM _rejects").fetchall()[0][0] if "store_rejects" in readers[0] else 0
    except duckdb.Error:
        return None
    finally:
        con.execute("SET preserve_insertion_order = false")
    if rejected or rows + header_lines != lines() or (rows and last - first + 1 != rows):
        con.execute(f"DROP TABLE IF EXISTS {stored}")
        return None
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_lines AS SELECT * REPLACE "
                f"(rowid - {first or 0} + {1 + header_lines} AS {LINE}) FROM {stored}")
    if not keys:
        return Checked(f"{table}_lines", f"{table}_lines")
    _staged_view(con, "_reread", readers[1])
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_rows AS {select('_reread', types, columns)}")
    return Checked(f"{table}_lines", f"{table}_rows")


def _as_text(columns: list[str]) -> str:
    """A reader's `columns` argument: every column read as text."""
    return "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in columns) + "}"


def _csv_readers(path: Path, columns: list[str]) -> tuple[str, str]:
    """read_csv of every column as text, storing its rejects, and the same without them."""
    plain = (f"read_csv({lit(str(path))}, header = true, columns = {_as_text(columns)}, auto_detect = false, "
             "delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false")
    return plain + ", store_rejects = true, rejects_table = '_rejects', rejects_scan = '_reject_scans')", plain + ")"


def _lines_reader(path: Path) -> str:
    """read_csv of every physical line whole, as column t (NULL for an empty line)."""
    return (f"read_csv({lit(str(path))}, header = false, columns = {{'t': 'VARCHAR'}}, delim = '{SEPARATOR}', "
            "quote = '', escape = '', auto_detect = false, strict_mode = false, store_rejects = true, "
            "rejects_table = '_line_rejects', rejects_scan = '_line_reject_scans')")


# valid JSON whose first character after JSON whitespace (space, tab, CR, LF) is { is an object
IS_OBJECT = "json_valid(t) AND starts_with(ltrim(t, ' ' || chr(9) || chr(10) || chr(13)), '{')"


def _jsonl_keys(con: duckdb.DuckDBPyConnection, path: Path) -> list[str] | None:
    """The keys of a JSON Lines file's objects, sorted, from one DuckDB pass (None when DuckDB cannot read it)."""
    try:
        return [r[0] for r in con.execute(f"SELECT DISTINCT unnest(json_keys(t)) AS k FROM {_lines_reader(path)} "
                                          f"WHERE t IS NOT NULL AND {IS_OBJECT} ORDER BY k").fetchall()]
    except duckdb.Error:
        return None


def _jsonl_reader(path: Path, columns: list[str]) -> str:
    return f"read_json({lit(str(path))}, format = 'newline_delimited', records = true, columns = {_as_text(columns)})"


def _duckdb_jsonl(con: duckdb.DuckDBPyConnection, view: str, path: Path, lines: int, columns: list[str]) -> bool:
    """Stage a JSON Lines file as a view: each physical line read whole by DuckDB, then split into `columns` (its
    keys, from _jsonl_keys, which reads the same lines) with the JSON functions. False when DuckDB's line count
    differs from the file's (a carriage return alone, an overlong line)."""
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _jsonl AS SELECT t FROM {_lines_reader(path)}")
        rows, first, last = con.execute("SELECT count(*), min(rowid), max(rowid) FROM _jsonl").fetchall()[0]
        rejected = con.execute("SELECT count(*) FROM _line_rejects").fetchall()[0][0]
    except duckdb.Error:
        return False
    finally:
        con.execute("SET preserve_insertion_order = false")
    if rejected or rows != lines or (rows and last - first + 1 != rows):
        con.execute("DROP TABLE IF EXISTS _jsonl")
        return False
    line = f"rowid - {first or 0} + 1"
    # JSON pointers (RFC 6901): any key, non-ASCII, quotes and slashes included, names itself exactly
    paths = ", ".join(lit("/" + c.replace("~", "~0").replace("/", "~1")) for c in columns) or "'/x'"
    values = "".join(f"v[{i}] AS {q(c)}, " for i, c in enumerate(columns, start=1))
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {view} AS SELECT {values}n AS {LINE},
        CASE WHEN NOT ok THEN CASE WHEN json_valid(t) THEN 'is not a JSON object' ELSE 'not valid JSON' END END
            AS {MALFORMED}, NULL::VARCHAR AS {RAW}
        FROM (SELECT n, t, ok, CASE WHEN ok THEN json_extract_string(t, [{paths}]) END AS v
              FROM (SELECT {line} AS n, t, {IS_OBJECT} AS ok FROM _jsonl WHERE trim(t) <> ''))""")
    return True


def check_file(con: duckdb.DuckDBPyConnection, path: Path, select: CheckedSelect,
               scan: Callable[[], FileScan] | None = None, table: str = "_checked",
               keys: tuple[str, ...] | None = None, store: str = "temp") -> Checked:
    """Stage a CSV, JSON Lines or Parquet file and store its checked rows, select(staged relation, its types,
    its columns), as `table` with their _line (a table in the database `store`, seen through the temp view
    `table`_lines, when a DuckDB reader read the file exactly; else a temp table or view). The staged relation has
    the file's columns plus _line, _malformed and _raw.

    With `keys`, a file DuckDB reads exactly keeps only those columns in `table` (little to hold in file order)
    and Checked.rows reads the file again for the rest. `scan` gives the file's scan_file() result (it may still
    be running in another thread); a text file is scanned here when it is not given."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    fmt = file_format(path)
    if fmt == "parquet":
        columns = _stage_parquet(con, path, "_staged")
        # typed columns convert cheaply: each pass reads the file again instead of holding every row in memory
        _create_checked(con, table, "_staged", columns, select, kind="VIEW")
        return Checked(table, table)
    if scan is None:
        scanned = scan_file(path, text=True)

        def scan():
            return scanned

    def lines() -> int:
        return scan().lines

    if fmt == "csv":
        columns = csv_header(path)
        _check_columns(path, columns)
        checked = _checked_by_duckdb(con, table, _csv_readers(path, columns), 1, lines, columns, select, keys,
                                     store)
        if checked is not None:
            return checked
        check_utf8(path)  # a file that is not UTF-8 is refused here, before the Python reader meets it
        stage_records(con, "_staged", columns, csv_records(path, len(columns)))
    else:
        columns = _jsonl_keys(con, path)
        if columns:
            _check_columns(path, columns)
            reader = _jsonl_reader(path, columns)
            checked = _checked_by_duckdb(con, table, (reader, reader), 0, lines, columns, select, keys, store)
            if checked is not None:
                return checked
        if columns is None or not _duckdb_jsonl(con, "_staged", path, lines(), columns):
            check_utf8(path)
            columns = jsonl_columns(path)
            _check_columns(path, columns)
            stage_records(con, "_staged", columns, jsonl_records(path, columns))
    _create_checked(con, table, "_staged", columns, select)
    return Checked(table, table)


def check_staged(con: duckdb.DuckDBPyConnection, staged: str, columns: list[str], select: CheckedSelect,
                 table: str = "_checked") -> str:
    """Store the checked rows of an already staged relation as the temp table `table`; returns its name."""
    _create_checked(con, table, staged, columns, select)
    return table


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    try:
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    except duckdb.Error as exc:
        raise UsageError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    if {LINE, MALFORMED, RAW} & set(cols):
        raise UsageError(f"{path}: columns {LINE}, {MALFORMED} and {RAW} are reserved")
    if "file_row_number" in {c.lower() for c in cols}:
        raise UsageError(f"{path}: column file_row_number is reserved (the reader numbers Parquet rows under that "
                         "name): rename it")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number + 1 AS {LINE}, NULL::VARCHAR AS {MALFORMED}, NULL::VARCHAR AS {RAW} "
                f"FROM read_parquet('{_sql_str(path)}', file_row_number = true)")
    return cols


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type name of a staged relation."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
