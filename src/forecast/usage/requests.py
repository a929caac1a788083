"""Load a staged request log (native, or OTel spans mapped to it) into `requests` and `quarantine`.

Every staged record ends as exactly one of: accepted (a `requests` row), quarantined (a
`quarantine` row with its line and reason), or duplicate (its request_id is already in the
warehouse or earlier in the file, or it is the same rejected line of the same file again).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..errors import UsageError
from ..prices import PriceBook
from . import checks as c
from .pricing import BANDS, MISSES, band_join, build_price_tables, cost_sql
from .schema import CONTEXT, NATIVE_COLUMNS, OUTCOMES, REQUEST_COST, REQUIRED_COLUMNS, STATUSES, TAGS, TOKEN_COLUMNS
from .sources import LINE, MALFORMED, RAW, column_types


@dataclass(frozen=True)
class Counts:
    rows_read: int
    accepted: int
    quarantined: int
    duplicate: int


def _checked_select(staged: str, types: dict[str, str], timezone: str | None, now_sql: str, source: str) -> str:
    cols = {name.lower(): name for name in types if name not in (LINE, MALFORMED, RAW)}
    missing = [n for n in REQUIRED_COLUMNS if n not in cols]
    if missing:
        raise UsageError(f"{source}: missing column(s) {', '.join(missing)}: a request log needs "
                         f"{', '.join(REQUIRED_COLUMNS)} (see README, 'Request log schema')")
    values, reasons = {}, [f"CASE WHEN {MALFORMED} IS NOT NULL THEN 'line ' || {MALFORMED} END"]

    def add(name, pair):
        values[name], reason = pair
        reasons.append(reason)

    def src(name):
        return c.q(cols[name]), types[cols[name]]

    add("timestamp", c.timestamp_utc("timestamp", *src("timestamp"), timezone, now_sql))
    for name in ("request_id", "model"):
        col = src(name)[0]
        add(name, (c.text(col), f"CASE WHEN {c.text(col)} IS NULL THEN {c.reason(name, col, 'required')} END"))
    values["provider"] = f"lower({c.text(src('provider')[0])})" if "provider" in cols else "NULL::VARCHAR"
    values["model"] = f"lower({values['model']})"
    for name in TOKEN_COLUMNS:
        if name in cols:
            add(name, c.whole_number(name, *src(name), required=name in REQUIRED_COLUMNS))
        else:
            values[name] = "0::BIGINT"
    present = {n: src(n)[0] for n in TOKEN_COLUMNS if n in cols}
    subset = [f"coalesce({values[n]}, 0)" for n in ("cached_input_tokens", "cache_write_tokens") if n in present]
    if subset:
        reasons.append(c.broken(f"{' + '.join(subset)} > {values['input_tokens']}", "input_tokens",
                                present["input_tokens"], "must include cached_input_tokens and cache_write_tokens "
                                "(cached + written <= input)"))
    if "cost_usd" in cols:
        add("cost_usd", c.number("cost_usd", *src("cost_usd"), REQUEST_COST))
    else:
        values["cost_usd"] = f"NULL::{REQUEST_COST}"
    if "status" in cols:
        add("status", c.choice("status", src("status")[0], STATUSES, None))
        reasons.append(c.broken(f"{values['status']} IS NULL", "status", src("status")[0],
                                "required: " + ", ".join(STATUSES)))
    else:
        values["status"] = "'ok'"
    if "latency_ms" in cols:
        add("latency_ms", c.number("latency_ms", *src("latency_ms"), "DOUBLE"))
    else:
        values["latency_ms"] = "NULL::DOUBLE"
    for name in (*TAGS, *CONTEXT):
        values[name] = c.text(src(name)[0]) if name in cols else "NULL::VARCHAR"
    if "outcome" in cols:
        add("outcome", c.choice("outcome", src("outcome")[0], OUTCOMES, None))
    else:
        values["outcome"] = "NULL::VARCHAR"
    if "batch" in cols:
        add("batch", c.boolean("batch", *src("batch")))
    else:
        values["batch"] = "false"
    extras = [name for low, name in cols.items() if low not in NATIVE_COLUMNS]
    values["extra"] = (f"to_json(struct_pack({', '.join(f'{c.q(e)} := {c.q(e)}' for e in extras)}))"
                       if extras else "NULL::JSON")
    select = ", ".join(f"{v} AS {c.q(k)}" for k, v in values.items())
    return f"SELECT {select}, {LINE}, {c.first_reason(reasons)} AS _reason FROM {staged}"


def _raw_json(staged: str, types: dict[str, str]) -> str:
    fields = [n for n in types if n not in (LINE, MALFORMED, RAW)]
    packed = f"to_json(struct_pack({', '.join(f'{c.q(n)} := {c.q(n)}' for n in fields)}))" if fields else "NULL"
    return f"coalesce(CAST(s.{RAW} AS JSON), {packed})"


def load_staged_requests(con: duckdb.DuckDBPyConnection, staged: str, *, load_id: int, sha256: str, source: str,
                         kind: str, timezone: str | None, now_sql: str, book: PriceBook, progress) -> Counts:
    """Check, deduplicate, price and insert staged records; returns the accounting of this load."""
    types = column_types(con, staged)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {_checked_select(staged, types, timezone, now_sql, source)}")
    progress("checked")
    # a valid row is a duplicate when its request_id is already stored or appeared on an earlier line
    con.execute("""CREATE OR REPLACE TEMP TABLE _first AS
        SELECT request_id, min(_line) AS first_line FROM _checked WHERE _reason IS NULL
        GROUP BY request_id HAVING count(*) > 1""")
    con.execute("""CREATE OR REPLACE TEMP VIEW _valid AS
        SELECT k.*, (f.first_line IS NOT NULL AND k._line > f.first_line
                     OR k.request_id IN (SELECT request_id FROM requests)) AS _dup
        FROM _checked k LEFT JOIN _first f USING (request_id) WHERE k._reason IS NULL""")
    valid_duplicates = con.execute("SELECT count(*) FROM _valid WHERE _dup").fetchall()[0][0]
    build_price_tables(con, 'SELECT DISTINCT provider, model, CAST("timestamp" AS DATE), batch FROM _valid '
                            "WHERE NOT _dup AND cost_usd IS NULL", book)
    progress("priced")
    columns = [n for n in NATIVE_COLUMNS if n != "cost_usd"]
    picked = ", ".join(f"v.{c.q(n)}" for n in columns)
    con.execute(f"""INSERT INTO requests BY NAME
        SELECT {picked}, coalesce(v.cost_usd, CAST(round({cost_sql('v', 'b')}, 10) AS {REQUEST_COST})) AS cost_usd,
               CASE WHEN v.cost_usd IS NULL THEN 'priced' ELSE 'log' END AS cost_source,
               v.extra, {load_id} AS load_id, v._line AS source_line
        FROM _valid v LEFT JOIN {BANDS} b ON v.cost_usd IS NULL AND {band_join('v', 'b')}
        WHERE NOT v._dup AND (v.cost_usd IS NOT NULL OR b.model IS NOT NULL)""")
    progress("inserted requests")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT _line, _reason FROM _checked WHERE _reason IS NOT NULL
        UNION ALL
        SELECT v._line, 'model: ' || '''' || v.model || ''': ' || m.reason
        FROM _valid v JOIN {MISSES} m ON m.provider IS NOT DISTINCT FROM v.provider AND m.model = v.model
             AND m.day = CAST(v."timestamp" AS DATE) AND m.batch = v.batch
        WHERE NOT v._dup AND v.cost_usd IS NULL""")
    repeated = con.execute(f"""SELECT count(*) FROM _rejected x WHERE EXISTS (SELECT 1 FROM quarantine o
        WHERE o.sha256 = {c.lit(sha256)} AND o.line = x._line AND o.resolved_by_load IS NULL)""").fetchall()[0][0]
    con.execute(f"""INSERT INTO quarantine
        SELECT {load_id}, {c.lit(source)}, {c.lit(sha256)}, {c.lit(kind)}, x._line, x._reason,
               {_raw_json('s', types)}, NULL
        FROM _rejected x JOIN {staged} s ON s.{LINE} = x._line
        WHERE NOT EXISTS (SELECT 1 FROM quarantine o WHERE o.sha256 = {c.lit(sha256)} AND o.line = x._line
                          AND o.resolved_by_load IS NULL AND o.load_id <> {load_id})""")
    con.execute(f"""UPDATE quarantine SET resolved_by_load = {load_id}
        WHERE sha256 = {c.lit(sha256)} AND resolved_by_load IS NULL AND load_id <> {load_id}
          AND line IN (SELECT source_line FROM requests WHERE load_id = {load_id})""")
    read = con.execute(f"SELECT count(*) FROM {staged}").fetchall()[0][0]
    accepted = con.execute(f"SELECT count(*) FROM requests WHERE load_id = {load_id}").fetchall()[0][0]
    quarantined = con.execute(f"SELECT count(*) FROM quarantine WHERE load_id = {load_id}").fetchall()[0][0]
    duplicate = repeated + valid_duplicates
    counts = Counts(read, accepted, quarantined, duplicate)
    if read != accepted + quarantined + duplicate:  # a bug, not bad input: refuse to commit
        raise RuntimeError(f"{source}: accounting does not add up: {counts}")
    return counts
