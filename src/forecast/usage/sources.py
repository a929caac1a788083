"""Read usage files into DuckDB staging relations, keeping every row, its line number and its raw text.

CSV and JSON Lines are read by DuckDB's own readers: a CSV file with `read_csv` (strict, rejects
stored), read and checked in one pass; a JSON Lines file line by line and split with DuckDB's JSON
functions. The CSV reader is kept only where it is exact: it rejected nothing and every record is one
physical line (the record count plus the header equals the file's line count), so a record's line is
its position. Otherwise
(a stray quote, a quoted newline, a blank line, a short or long row) Python's csv module reads the
file, record by record, keeping each record's first line and, for a malformed or multi-line one,
its raw text. Parquet is read by DuckDB directly with its row number. Staged values are the file's
own (text for CSV and JSON Lines, typed for Parquet); the loaders check and convert them in SQL.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.errors import UsageError
from .checks import lit, q

CHUNK_ROWS = 200_000
MALFORMED = "_malformed"  # staged column: why a line could not be split into fields (else NULL)
LINE = "_line"  # staged column: 1-based line in the file (CSV, JSON Lines) or row (Parquet)
RAW = "_raw"  # staged column: the record's raw text where the line number alone cannot give it (else NULL)
SEPARATOR = "\x1f\x1e\x1d\x1c"  # a delimiter no text line holds: DuckDB's CSV reader then yields whole lines
MAX_FIELD_CHARS = 1 << 27  # Python's csv module: a field may be this long (DuckDB's reader stops at 2 MB lines)


@dataclass(frozen=True)
class FileScan:
    """One pass over a file: its SHA-256 and, for text, its physical line count (UTF-8 checked)."""

    sha256: str
    lines: int | None = None


def scan_file(path: Path, text: bool, block_bytes: int = 1 << 24) -> FileScan:
    """SHA-256 of `path`; for a text file also its line count, raising UsageError at the first byte not UTF-8.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = f.write_bytes(b"a,b\\n1,2")
    >>> scan_file(f, text=True).lines
    2
    >>> _ = f.write_bytes(b"a\\n\\xff\\n")
    >>> scan_file(f, text=True)
    Traceback (most recent call last):
    ...
    forecast.core.errors.UsageError: ...a.csv: line 2: byte 0xff is not UTF-8: save the file as UTF-8
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines, offset, last = 0, 0, b""
    with path.open("rb") as f:
        while block := f.read(block_bytes):
            digest.update(block)
            if text:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    with path.open("rb") as g:
                        head = g.read(bad + 1)
                    line = head.count(b"\n") + 1
                    raise UsageError(f"{path}: line {line}: byte 0x{head[-1]:02x} is not UTF-8: "
                                     "save the file as UTF-8") from None
                newlines += block.count(b"\n")
            offset += len(block)
            last = block[-1:]
    if not text:
        return FileScan(digest.hexdigest())
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: line {newlines + 1}: file ends inside a UTF-8 character") from None
    return FileScan(digest.hexdigest(), newlines + (1 if last not in (b"", b"\n") else 0))


def line_texts(path: Path, wanted: Iterable[int]) -> dict[int, str]:
    """The text of the given 1-based physical lines of a UTF-8 file, without their line ending."""
    wanted = set(wanted)
    out: dict[int, str] = {}
    if not wanted:
        return out
    last = max(wanted)
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if n in wanted:
                out[n] = line.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n")
            if n >= last:
                break
    return out


GLOB = set("*?[]{}")  # DuckDB reads a path with any of these as a pattern of file names
ENDINGS = (".otlp.jsonl", ".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")


@contextmanager
def duckdb_readable(path: Path) -> Iterator[Path]:
    """`path`, or, when it holds a character DuckDB would read as a glob (* ? [ ] { }), a link to the file under a
    plain name in a temporary folder, kept until the block ends.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "usage[1].csv"
    >>> _ = f.write_text("a\\n")
    >>> with duckdb_readable(f) as r:
    ...     r.name, r.read_text() == "a\\n"
    ('file.csv', True)
    """
    if not GLOB & set(str(path.resolve())):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="forecast-read-"))
    ending = next((e for e in ENDINGS if path.name.lower().endswith(e)), "")
    link = folder / f"file{ending}"
    try:
        try:
            link.symlink_to(path.resolve())
        except OSError:  # no links here: a copy reads the same
            shutil.copyfile(path, link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith((".parquet", ".pq"))


def file_format(path: Path) -> str:
    """'csv', 'jsonl' or 'parquet' from the file name."""
    name = path.name.lower()
    for suffixes, fmt in (((".csv",), "csv"), ((".jsonl", ".ndjson"), "jsonl"),
                          ((".parquet", ".pq"), "parquet")):
        if name.endswith(suffixes):
            return fmt
    raise UsageError(f"{path}: unknown file type: use .csv, .jsonl/.ndjson or .parquet (compressed CSV is not read: "
                     "decompress it or convert it to Parquet)")


def check_utf8(path: Path) -> None:
    """Raise UsageError naming the line of the first byte that is not UTF-8."""
    scan_file(path, text=True)


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
        except UnicodeDecodeError:  # in the first block read, maybe past the header: the scan names the line
            scan_file(path, text=True)
            raise
    if not header:
        raise UsageError(f"{path}: line 1: the header line is empty: the first line names the columns")
    return [h.strip() for h in header]


def _csv_records(path: Path, width: int) -> Iterator[tuple[int, list[str] | None, str | None, str | None]]:
    """(first line, fields, problem, raw text) per record after the header. Lines are counted as the csv module
    counts them (a carriage return alone ends a line), so each record carries its own text."""
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
                yield line, (None if problem else fields), problem, raw
            line = reader.line_num + 1


def _jsonl_columns(path: Path) -> list[str]:
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


def _jsonl_records(path: Path, columns: list[str]) -> Iterator[tuple[int, list | None, str | None, str | None]]:
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
            yield line, [_json_text(obj.get(c)) for c in columns], None, None


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


def _stage_records(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], records) -> None:
    """Stage (line, fields, problem, raw) records from Python as a table of text columns."""
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


CheckedSelect = Callable[[str, dict[str, str], list[str]], str]  # (staged relation, its types, columns) -> SELECT


def _create_checked(con: duckdb.DuckDBPyConnection, table: str, staged: str, columns: list[str],
                    select: CheckedSelect, kind: str = "TABLE") -> None:
    con.execute(f"CREATE OR REPLACE TEMP {kind} {table} AS {select(staged, column_types(con, staged), columns)}")


def _checked_by_duckdb(con: duckdb.DuckDBPyConnection, table: str, reader: str, header_lines: int,
                       lines: Callable[[], int], columns: list[str], select: CheckedSelect) -> str | None:
    """Read with a DuckDB reader and check in one pass, kept only when exact (see the module docstring): the
    relation of the checked rows with their lines, or None. `reader` is a read_csv or read_json call; when it
    stores rejects, they are in _rejects."""
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW _read AS SELECT *, NULL::BIGINT AS {LINE}, "
                    f"NULL::VARCHAR AS {MALFORMED}, NULL::VARCHAR AS {RAW} FROM {reader}")
        types = column_types(con, "_read")
    except duckdb.Error:
        return None
    sql = select("_read", types, columns)
    con.execute("SET preserve_insertion_order = true")  # rowid is then the record's position in the file
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
        rows, first, last = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {table}").fetchall()[0]
        rejected = con.execute("SELECT count(*) FROM _rejects").fetchall()[0][0] if "store_rejects" in reader else 0
    except duckdb.Error:
        return None
    finally:
        con.execute("SET preserve_insertion_order = false")
    if rejected or rows + header_lines != lines() or (rows and last - first + 1 != rows):
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return None
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_lines AS SELECT * REPLACE "
                f"(rowid - {first or 0} + {1 + header_lines} AS {LINE}) FROM {table}")
    return f"{table}_lines"


def _csv_reader(path: Path, columns: list[str]) -> str:
    spec = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in columns) + "}"
    return (f"read_csv({lit(str(path))}, header = true, columns = {spec}, auto_detect = false, delim = ',', "
            "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, store_rejects = true, "
            "rejects_table = '_rejects', rejects_scan = '_reject_scans')")


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
    spec = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in columns) + "}"
    return f"read_json({lit(str(path))}, format = 'newline_delimited', records = true, columns = {spec})"


def _duckdb_jsonl(con: duckdb.DuckDBPyConnection, view: str, path: Path, lines: int) -> list[str] | None:
    """A view of a JSON Lines file staged by DuckDB: each physical line read whole, then split with the JSON
    functions; its columns, or None when DuckDB's line count differs from the file's (a carriage return alone,
    an overlong line)."""
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _jsonl AS SELECT t FROM {_lines_reader(path)}")
        rows, first, last = con.execute("SELECT count(*), min(rowid), max(rowid) FROM _jsonl").fetchall()[0]
        rejected = con.execute("SELECT count(*) FROM _line_rejects").fetchall()[0][0]
    except duckdb.Error:
        return None
    finally:
        con.execute("SET preserve_insertion_order = false")
    if rejected or rows != lines or (rows and last - first + 1 != rows):
        con.execute("DROP TABLE IF EXISTS _jsonl")
        return None
    line = f"rowid - {first or 0} + 1"
    is_object = IS_OBJECT
    columns = [r[0] for r in con.execute(f"""SELECT k FROM (SELECT {line} AS n, unnest(json_keys(t)) AS k
        FROM _jsonl WHERE t IS NOT NULL AND {is_object}) GROUP BY k ORDER BY min(n), k""").fetchall()]
    _check_columns(path, columns)
    # JSON pointers (RFC 6901): any key, non-ASCII, quotes and slashes included, names itself exactly
    paths = ", ".join(lit("/" + c.replace("~", "~0").replace("/", "~1")) for c in columns) or "'/x'"
    values = "".join(f"v[{i}] AS {q(c)}, " for i, c in enumerate(columns, start=1))
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {view} AS SELECT {values}n AS {LINE},
        CASE WHEN NOT ok THEN CASE WHEN json_valid(t) THEN 'is not a JSON object' ELSE 'not valid JSON' END END
            AS {MALFORMED}, NULL::VARCHAR AS {RAW}
        FROM (SELECT n, t, ok, CASE WHEN ok THEN json_extract_string(t, [{paths}]) END AS v
              FROM (SELECT {line} AS n, t, {is_object} AS ok FROM _jsonl WHERE trim(t) <> ''))""")
    return columns


def check_file(con: duckdb.DuckDBPyConnection, path: Path, select: CheckedSelect,
               scan: Callable[[], FileScan] | None = None, table: str = "_checked") -> tuple[str, list[str]]:
    """Stage a CSV, JSON Lines or Parquet file and store its checked rows, select(staged relation, its types,
    its columns), as the temp table `table`; returns (the relation of the checked rows with their _line, the file's
    columns). The staged relation has the file's columns plus _line, _malformed and _raw.

    `scan` gives the file's scan_file() result (it may still be running in another thread); a text file is scanned
    here when it is not given."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    fmt = file_format(path)
    if fmt == "parquet":
        columns = _stage_parquet(con, path, "_staged")
        # typed columns convert cheaply: each pass reads the file again instead of holding every row in memory
        _create_checked(con, table, "_staged", columns, select, kind="VIEW")
        return table, columns
    if scan is None:
        scanned = scan_file(path, text=True)

        def scan():
            return scanned

    def lines() -> int:
        return scan().lines

    if fmt == "csv":
        columns = csv_header(path)
        _check_columns(path, columns)
        relation = _checked_by_duckdb(con, table, _csv_reader(path, columns), 1, lines, columns, select)
        if relation is not None:
            return relation, columns
        lines()  # a file that is not UTF-8 is refused here, before the Python reader meets it
        _stage_records(con, "_staged", columns, _csv_records(path, len(columns)))
    else:
        columns = _jsonl_keys(con, path)
        if columns:
            _check_columns(path, columns)
            relation = _checked_by_duckdb(con, table, _jsonl_reader(path, columns), 0, lines, columns, select)
            if relation is not None:
                return relation, columns
        lines()
        columns = _duckdb_jsonl(con, "_staged", path, lines())
        if columns is None:
            columns = _jsonl_columns(path)
            _check_columns(path, columns)
            _stage_records(con, "_staged", columns, _jsonl_records(path, columns))
    _create_checked(con, table, "_staged", columns, select)
    return table, columns


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
