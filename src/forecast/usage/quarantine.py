"""The quarantine: every rejected row with its file, line, reason and raw text; recorded once, listed on demand."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from .checks import lit
from .files import line_texts
from .temp_tables import create_temp_table

LISTED = ("load_id", "source_file", "line", "reason", "raw_text", "resolved_by_load")  # quarantined_rows' fields


def start_line_texts(con: duckdb.DuckDBPyConnection, rows: str,
                     lines_from: Path | None) -> Callable[[], dict[int, str]]:
    """Start reading, in a thread, the lines of `lines_from` (a text file whose records are one line each) that the
    rows of `rows` without a _raw_text came from; returns the function that waits for them ({line: text}).

    The thread runs while DuckDB inserts the accepted rows (its queries release the GIL)."""
    if lines_from is None:
        return dict
    wanted = [r[0] for r in con.execute(f"SELECT _line FROM {rows} WHERE _raw_text IS NULL").fetchall()]
    if not wanted:
        return dict
    pool = ThreadPoolExecutor(1)
    reading = pool.submit(line_texts, lines_from, wanted)
    pool.shutdown(wait=False)
    return reading.result


def insert_quarantine(con: duckdb.DuckDBPyConnection, rejected: str, *, load_id: int, source: str, sha256: str,
                      kind: str, texts: Callable[[], dict[int, str]] = dict) -> tuple[int, int]:
    """Record the rows of `rejected` (_line, _reason, _raw_json, _raw_text) in `quarantine`; returns (recorded,
    repeated).

    A row's raw text is its _raw_text, else its line from `texts()` (see start_line_texts), else its fields as
    JSON. A row already quarantined and unresolved, as the same line of the same file or as the same raw text from
    any file, is a repeat: counted, not recorded again."""
    lines = texts()
    if lines:
        create_temp_table(con, "_texts", {"line": ("BIGINT", list(lines)), "text": ("VARCHAR", list(lines.values()))})
        con.execute(f"UPDATE {rejected} SET _raw_text = t.text FROM _texts t "
                    f"WHERE {rejected}._line = t.line AND {rejected}._raw_text IS NULL")
    con.execute(f"UPDATE {rejected} SET _raw_text = CAST(_raw_json AS VARCHAR) WHERE _raw_text IS NULL")
    sha = lit(sha256)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _new_rejects AS SELECT x.*, EXISTS (
        SELECT 1 FROM quarantine o WHERE o.resolved_by_load IS NULL
            AND ((o.sha256 = {sha} AND o.line = x._line) OR o.raw_text = x._raw_text)) AS _repeated
        FROM {rejected} x""")
    recorded = con.execute(f"""INSERT INTO quarantine (load_id, source_file, sha256, kind, line, reason, raw, raw_text)
        SELECT {load_id}, {lit(source)}, {sha}, {lit(kind)}, _line, _reason, _raw_json, _raw_text
        FROM _new_rejects WHERE NOT _repeated""").fetchall()[0][0]
    repeated = con.execute("SELECT count(*) FROM _new_rejects WHERE _repeated").fetchall()[0][0]
    return recorded, repeated


def resolve_earlier(con: duckdb.DuckDBPyConnection, sha256: str, load_id: int, table: str) -> None:
    """Mark earlier rejects of the same file that this load accepted (their line is now a row of `table`, requests or
    charges) as resolved by it."""
    sha = lit(sha256)
    if con.execute(f"SELECT count(*) FROM quarantine WHERE sha256 = {sha} AND resolved_by_load IS NULL "
                   f"AND load_id <> {load_id}").fetchall()[0][0]:
        con.execute(f"""UPDATE quarantine SET resolved_by_load = {load_id}
            WHERE sha256 = {sha} AND resolved_by_load IS NULL AND load_id <> {load_id}
              AND line IN (SELECT source_line FROM {table} WHERE load_id = {load_id})""")


def quarantined_rows(con: duckdb.DuckDBPyConnection, load_id: int | None = None, reason: str | None = None,
                     include_resolved: bool = False) -> list[dict]:
    """Rejected rows, oldest first: load_id, source_file, line, reason, raw_text (the row as it was in its file),
    resolved_by_load. `reason` keeps rows whose reason contains it (case-insensitive); resolved rows (accepted by
    a later load) only with include_resolved.

    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE quarantine (load_id BIGINT, source_file VARCHAR, line BIGINT, reason VARCHAR,"
    ...                 " raw_text VARCHAR, resolved_by_load BIGINT)")
    >>> _ = con.execute("INSERT INTO quarantine VALUES (1, 'a.csv', 3, 'timestamp: missing: required', "
    ...                 "',x,m,1,1', NULL)")
    >>> [r["line"] for r in quarantined_rows(con, reason="TIMESTAMP")], quarantined_rows(con, load_id=2)
    ([3], [])
    """
    where, params = ["true"], []
    if load_id is not None:
        where.append("load_id = ?")
        params.append(load_id)
    if reason:
        where.append("reason ILIKE '%' || ? || '%'")
        params.append(reason)
    if not include_resolved:
        where.append("resolved_by_load IS NULL")
    cur = con.execute(f"""SELECT {', '.join(LISTED)} FROM quarantine
        WHERE {' AND '.join(where)} ORDER BY load_id, line""", params)
    return [dict(zip(LISTED, row, strict=True)) for row in cur.fetchall()]
