"""Load a staged request log (native, or OTel spans mapped to it) into `requests` and `quarantine`.

Every staged record ends as exactly one of: accepted (a `requests` row), quarantined (a
`quarantine` row with its line and reason), or duplicate (its request_id is already in the
warehouse or earlier in the file, or it is the same rejected line of the same file again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..core.errors import UsageError
from ..core.tokens import TOKEN_FIELDS
from ..design.prices import PriceBook
from . import checks as c
from .pricing import BANDS, MISSES, band_join, build_price_tables, cost_sql, key_match
from .quarantine import insert_quarantine, resolve_earlier, start_line_texts
from .schema import (
    CONTEXT,
    LINE,
    MALFORMED,
    NATIVE_COLUMNS,
    OUTCOMES,
    RAW,
    REQUEST_COST,
    REQUIRED_COLUMNS,
    STATUSES,
    TAGS,
)

COST_CAP = 1e8  # USD: a row's cost is DECIMAL(18,10), at most $99,999,999.9999999999


@dataclass(frozen=True)
class Counts:
    rows_read: int
    accepted: int
    quarantined: int
    duplicate: int


def checked_select(staged: str, types: dict[str, str], timezone: str | None, now_sql: str, source: str) -> str:
    """SELECT of the converted values, _line, _reason (the first rule broken, else NULL) and, for the rows that
    break one or are still to be priced, _raw_json (the fields as staged); _raw_text is the staged _raw."""
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
        col, t = src(name)[0], c.text(*src(name))
        add(name, (t, f"CASE WHEN {t} IS NULL THEN {c.reason(name, col, 'required')} END"))
    values["provider"] = f"lower({c.text(*src('provider'))})" if "provider" in cols else "NULL::VARCHAR"
    values["model"] = f"lower({values['model']})"
    for name in TOKEN_FIELDS:
        if name in cols:
            add(name, c.whole_number(name, *src(name), required=name in REQUIRED_COLUMNS))
        else:
            values[name] = "0::BIGINT"
    if "request_count" in cols:
        add("request_count", c.request_count("request_count", *src("request_count")))
    else:
        values["request_count"] = "1::BIGINT"
    present = {n: src(n)[0] for n in TOKEN_FIELDS if n in cols}
    subset = [f"CAST(coalesce({values[n]}, 0) AS HUGEINT)" for n in ("cached_input_tokens", "cache_write_tokens")
              if n in present]
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
        values[name] = c.text(*src(name)) if name in cols else "NULL::VARCHAR"
    if "outcome" in cols:
        add("outcome", c.choice("outcome", src("outcome")[0], OUTCOMES, None))
    else:
        values["outcome"] = "NULL::VARCHAR"
    if "batch" in cols:
        add("batch", c.boolean("batch", *src("batch")))
    else:
        values["batch"] = "false"
    extras = [name for low, name in cols.items() if low not in NATIVE_COLUMNS]
    values["extra"] = c.json_object_of(extras)
    select = ", ".join(f"{v} AS {c.q(k)}" for k, v in values.items())
    fields = [n for n in types if n not in (LINE, MALFORMED, RAW)]
    unpriced = c.text(*src("cost_usd")) + " IS NULL" if "cost_usd" in cols else "true"  # to price: may miss one
    raw = f"CASE WHEN (_reason IS NOT NULL OR {unpriced}) AND {MALFORMED} IS NULL THEN {c.json_of(fields)} END"
    return (f"SELECT {select}, {LINE}, {c.first_reason(reasons)} AS _reason, {raw} AS _raw_json, {RAW} AS _raw_text "
            f"FROM {staged}")


def _insert_requests(con: duckdb.DuckDBPyConnection, rows: str, where: str, load_id: int) -> int:
    """Insert the checked rows `rows` (alias v) that pass `where`, pricing those without a cost; returns the count."""
    picked = ", ".join(f"v.{c.q(n)}" for n in NATIVE_COLUMNS if n != "cost_usd")
    return con.execute(f"""INSERT INTO requests BY NAME
        SELECT {picked}, coalesce(v.cost_usd, CAST(round({cost_sql('v', 'b')}, 10) AS {REQUEST_COST})) AS cost_usd,
               CASE WHEN v.cost_usd IS NULL THEN 'priced' ELSE 'log' END AS cost_source,
               v.extra, {load_id} AS load_id, v._line AS source_line
        FROM {rows} v LEFT JOIN {BANDS} b ON v.cost_usd IS NULL AND {band_join('v', 'b')}
        WHERE {where}""").fetchall()[0][0]


def load_checked_requests(con: duckdb.DuckDBPyConnection, checked: str, *, load_id: int, sha256: str, source: str,
                          kind: str, book: PriceBook, progress, lines_from: Path | None = None) -> Counts:
    """Deduplicate, price and insert the rows of `checked` (from checked_select); returns the accounting.

    The rows were converted and checked once (a temp table, or a view of a Parquet file). Every row that
    is not a plain accept is held back in a small table: it breaks a rule, its model has no price, its request_id may be
    a duplicate (its hash occurs twice in the file, or it is already stored), or its priced cost could
    reach the per-row cap. All other rows go straight into `requests`; the held rows are then settled
    exactly, by request_id.
    A rejected row keeps its raw text (see quarantine.start_line_texts for `lines_from`).
    """
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _suspect AS SELECT hash(request_id) AS h FROM {checked}
        WHERE request_id IS NOT NULL GROUP BY h HAVING count(*) > 1""")
    build_price_tables(con, f"""SELECT DISTINCT provider, model, {c.utc_day('"timestamp"')}, batch FROM {checked}
        WHERE cost_usd IS NULL AND model IS NOT NULL AND "timestamp" IS NOT NULL""", book)
    progress("priced")
    rate, fee = con.execute(f"""SELECT coalesce(max(greatest(input_usd_per_mtok, cached_input_usd_per_mtok,
        cache_write_usd_per_mtok, output_usd_per_mtok)), 0), coalesce(max(usd_per_call), 0) FROM {BANDS}"""
                            ).fetchall()[0]
    # a row priced here costs at most this bound: only rows whose bound reaches the cap are priced apart and checked
    tokens = "(coalesce(CAST(v.input_tokens AS DOUBLE), 0) + coalesce(CAST(v.output_tokens AS DOUBLE), 0))"
    bound = (f"(v.cost_usd IS NULL AND {tokens} * {rate!r} / 1e6"
             f" + coalesce(v.request_count, 1) * {fee!r} >= {COST_CAP})")
    # held: every row that is not a plain accept (it breaks a rule, has no price, may be a duplicate or costly)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _held AS SELECT * FROM (
            SELECT v.*, m.reason AS _miss, v.request_id IN (SELECT request_id FROM requests) AS _stored,
                   hash(v.request_id) IN (SELECT h FROM _suspect) AS _suspect, {bound} AS _big
            FROM {checked} v LEFT JOIN {MISSES} m ON v.cost_usd IS NULL AND {key_match('v', 'm')})
        WHERE _reason IS NOT NULL OR _miss IS NOT NULL OR _stored OR _suspect OR _big""")
    texts = start_line_texts(con, "_held", lines_from)  # every rejected row is a held row
    accepted = _insert_requests(con, checked, "v._line NOT IN (SELECT _line FROM _held)", load_id)
    # held rows that passed every check: a duplicate when stored already or on an earlier valid line
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _settled AS
        SELECT *, (_stored OR row_number() OVER (PARTITION BY request_id ORDER BY _line) > 1) AS _dup,
            CASE WHEN _big THEN (SELECT max({cost_sql('v', 'b')}) FROM {BANDS} b WHERE {band_join('v', 'b')}) END
            AS _priced_usd
        FROM _held v WHERE _reason IS NULL""")
    over = f"coalesce(v._priced_usd >= {COST_CAP}, false)"
    accepted += _insert_requests(con, "_settled", f"NOT v._dup AND v._miss IS NULL AND NOT {over}", load_id)
    progress("inserted requests")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT _line, _reason, _raw_json, _raw_text FROM _held WHERE _reason IS NOT NULL
        UNION ALL
        SELECT _line, 'model: ''' || model || ''': ' || _miss, _raw_json, _raw_text
        FROM _settled v WHERE NOT _dup AND _miss IS NOT NULL
        UNION ALL
        SELECT _line, 'input_tokens: ''' || input_tokens || ''': priced at $' || format('{{:,.0f}}', _priced_usd)
            || ': above the $99,999,999 one row can hold (check the token counts)', _raw_json, _raw_text
        FROM _settled v WHERE NOT _dup AND _miss IS NULL AND {over}""")
    quarantined, repeated = insert_quarantine(con, "_rejected", load_id=load_id, source=source, sha256=sha256,
                                              kind=kind, texts=texts)
    resolve_earlier(con, sha256, load_id, "requests")
    read = con.execute(f"SELECT count(*) FROM {checked}").fetchall()[0][0]
    duplicate = repeated + con.execute("SELECT count(*) FROM _settled WHERE _dup").fetchall()[0][0]
    stored = con.execute(f"SELECT count(*) FROM requests WHERE load_id = {load_id}").fetchall()[0][0]
    counts = Counts(read, accepted, quarantined, duplicate)
    if stored != accepted or read != accepted + quarantined + duplicate:  # a bug, not bad input: refuse to commit
        raise RuntimeError(f"{source}: accounting does not add up: {counts}, {stored} stored")
    return counts
