"""FOCUS (FinOps Open Cost and Usage Specification) cost-and-usage exports: import 1.0-1.3, export.

Sources: FOCUS specification 1.0 (2024-06-20), 1.1 (2024-11), 1.2 (2025-05-29), 1.3 (2025-12-04),
https://focus.finops.org/focus-specification/ (mandatory columns, allowed values, DateTime
format `YYYY-MM-DDTHH:mm:ssZ`, custom columns prefixed `x_`); checked 2026-11-25.

The PyPI validator (`focus-validator` 1.0.0, checked 2026-11-25) checks FOCUS 1.0 only, and its
1.0 rule set still names four columns as the 1.0 preview did (Provider, Publisher, InvoiceIssuer,
ResourceID) and reads ChargeType; an export declared as 1.0 therefore also carries Provider,
Publisher, InvoiceIssuer and ChargeType after the spec columns, and spells ResourceId as
ResourceID (column names differ only in case, and case-insensitive readers such as DuckDB
cannot hold both), so that the official validator passes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..core.csvsafe import safe_table
from ..core.errors import UsageError
from ..core.months import month_start
from . import checks as c
from .files import is_parquet
from .schema import CHARGE_COST, CHARGE_KINDS, CHARGE_VALUES, LINE, MALFORMED, RAW, TAGS

if TYPE_CHECKING:
    import pyarrow as pa

VERSIONS = ("1.0", "1.1", "1.2", "1.3")
MANDATORY = (  # the 21 columns every version from 1.0 to 1.3 requires
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)
ADDED = {"1.1": ("ServiceSubcategory", "SkuMeter", "CapacityReservationId", "CommitmentDiscountQuantity"),
         "1.2": ("InvoiceId", "BillingAccountType", "SubAccountType", "PricingCurrency"),
         "1.3": ("ServiceProviderName", "HostProviderName")}
MANDATORY_ADDED = {"1.3": ("ServiceProviderName", "HostProviderName")}
VALIDATOR_ALIASES = {"Provider": "ProviderName", "Publisher": "PublisherName", "InvoiceIssuer": "InvoiceIssuerName",
                     "ResourceID": "ResourceId"}
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
    "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other",
)
COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
QUANTITIES = ("ConsumedQuantity", "PricingQuantity")
UNIT_PRICES = ("ContractedUnitPrice", "ListUnitPrice")
EXPORT_COUNTS = ("x_Requests", "x_InputTokens", "x_CachedInputTokens", "x_OutputTokens")
CSV_NUMBERS = COSTS + QUANTITIES + UNIT_PRICES + EXPORT_COUNTS  # numbers held as text: never given a ' in a CSV
TIMES = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")
TEXTS = ("BillingCurrency", "ChargeClass", "ChargeDescription", "ProviderName", "PublisherName", "InvoiceIssuerName",
         "ServiceProviderName", "HostProviderName", "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId",
         "SkuPriceId", "ConsumedUnit", "PricingUnit", "RegionId", "ResourceId", "ResourceName", "SubAccountId",
         "SubAccountName", "BillingAccountId", "BillingAccountName")
IMPORT_REQUIRED = ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BillingCurrency")
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google", "mistral": "Mistral AI",
                  "aws": "Amazon Web Services", "azure": "Microsoft Azure", "x-ai": "xAI", "deepseek": "DeepSeek"}


def looks_like_focus(path: Path) -> bool:
    """True when the file's columns include BilledCost and ChargePeriodStart."""
    from .python_readers import csv_header

    if not is_parquet(path):
        try:
            return {"BilledCost", "ChargePeriodStart"} <= set(csv_header(path))
        except (UsageError, OSError, UnicodeDecodeError):
            return False
    con = duckdb.connect()
    try:
        cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    except duckdb.Error:
        return False
    finally:
        con.close()
    return {"BilledCost", "ChargePeriodStart"} <= cols


def detect_version(columns: set[str]) -> str:
    """The newest FOCUS version whose added columns appear in the file (1.0 when none do)."""
    for version in ("1.3", "1.2", "1.1"):
        if columns & set(ADDED[version]):
            return version
    return "1.0"


def required_columns(version: str) -> tuple[str, ...]:
    """Columns a FOCUS `version` dataset must contain (present, possibly null)."""
    return MANDATORY + (MANDATORY_ADDED.get(version, ()))


INSERT_MEMORY_MB = 600  # DuckDB's memory limit while load_focus inserts (the warehouse's is MEMORY_LIMIT_MB)
KEYS = ("row_key", "_reason", "_raw_json", "_raw_text")  # what load_focus needs of each row in file order


def charge_key(columns: tuple[str, ...], table: str = "") -> str:
    """SQL of a charge's key: DuckDB's 64-bit hash of its `columns` (of `table`, when named) as stored. Equal values
    give equal keys; two charges are the same only when every value is equal too (drop_copies), so a key shared by
    chance merges nothing.

    >>> duckdb.sql(f"SELECT {charge_key(('a', 'b'), 't')} = hash(1, NULL) FROM (SELECT 1 AS a, NULL AS b) t").fetchall()
    [(True,)]
    """
    return f"hash({', '.join((table + '.' if table else '') + c.q(n) for n in columns)})"


def identity(kind: str) -> tuple[str, ...]:
    """The values that make a charge of a `kind` of file the same charge: all of them for a FOCUS file; all but the
    amounts for a provider's cost report, whose revised amount for a bucket is the same charge."""
    from .exports.charges import AMOUNTS

    return CHARGE_VALUES if kind == "focus" else tuple(n for n in CHARGE_VALUES if n not in AMOUNTS)


def drop_copies(con: duckdb.DuckDBPyConnection, load_id: int, kind: str) -> None:
    """Delete the charges of `load_id` that equal, in every value of identity(kind), a charge of another load or one
    on an earlier line of the same load. Rows sharing a charge_key are paired first (a join on one column; no pair
    when nothing repeats), and only pairs are compared value by value."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _same_key AS SELECT m.rowid AS mine, o.rowid AS other
        FROM (SELECT rowid, charge_key, source_line FROM charges WHERE load_id = {load_id}) m
        JOIN (SELECT rowid, charge_key, load_id, source_line FROM charges) o ON o.charge_key = m.charge_key
        WHERE o.load_id <> {load_id} OR o.source_line < m.source_line""")
    if con.execute("SELECT count(*) FROM _same_key").fetchall()[0][0]:
        equal = " AND ".join(f"m.{c.q(n)} IS NOT DISTINCT FROM o.{c.q(n)}" for n in identity(kind))
        con.execute(f"""DELETE FROM charges WHERE rowid IN (SELECT s.mine FROM _same_key s
            JOIN charges m ON m.rowid = s.mine JOIN charges o ON o.rowid = s.other WHERE {equal})""")
    con.execute("DROP TABLE _same_key")


def migrate_row_hashes(con: duckdb.DuckDBPyConnection) -> None:
    """Give the charges of a warehouse made before charge keys (which told charges apart by an MD5 `row_hash` of
    their text as read) their charge_key and drop row_hash, in one transaction; then make charge_key NOT NULL
    (DuckDB cannot while the transaction's updates are outstanding). Each step runs only while it is needed."""
    def column(name: str) -> list:
        return con.execute("SELECT is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
                           "AND table_name = 'charges' AND column_name = ?", [name]).fetchall()

    if column("row_hash"):
        reports = ", ".join(c.lit(k) for k in CHARGE_KINDS if k != "focus")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("ALTER TABLE charges ADD COLUMN IF NOT EXISTS charge_key UBIGINT")
            con.execute(f"""UPDATE charges SET charge_key = CASE WHEN load_id IN
                (SELECT load_id FROM loads WHERE kind IN ({reports})) THEN {charge_key(identity("report"))}
                ELSE {charge_key(identity("focus"))} END""")
            con.execute("ALTER TABLE charges DROP COLUMN row_hash")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    if column("charge_key") == [(True,)]:
        con.execute("ALTER TABLE charges ALTER COLUMN charge_key SET NOT NULL")


def checked_select(staged: str, types: dict[str, str], version: str, timezone: str | None, now_sql: str,
                   source: str, identity: list[str] | None = None) -> str:
    """SELECT of the converted charge columns, row_key, _line, _reason and the raw columns of rejected rows. row_key
    finds a row again within one load: a hash of all its columns as read, or of the `identity` columns only (a
    provider's cost report: its bucket and grouping, so a revised amount for the same bucket is the same charge)."""
    cols = {VALIDATOR_ALIASES.get(n, n): n for n in types if n not in (LINE, MALFORMED, RAW)}
    missing = [n for n in IMPORT_REQUIRED if n not in cols]
    if missing:
        raise UsageError(f"{source}: missing FOCUS column(s) {', '.join(missing)}: a FOCUS cost and usage file "
                         f"needs at least {', '.join(IMPORT_REQUIRED)}")
    values, reasons = {}, [f"CASE WHEN {MALFORMED} IS NOT NULL THEN 'line ' || {MALFORMED} END"]

    def src(name):
        return c.q(cols[name]), types[cols[name]]

    for name in COSTS + QUANTITIES:  # every value of a charge is selected (NULL when the file lacks its column)
        sql_type = CHARGE_COST if name in COSTS else "DECIMAL(38,10)"
        values[name] = f"NULL::{sql_type}"
        if name in cols:
            values[name], why = c.number(name, *src(name), sql_type, nonneg=name in QUANTITIES,
                                         required=name == "BilledCost")
            reasons.append(why)
    for name in TIMES:
        values[name] = "NULL::TIMESTAMPTZ"
        if name in cols:
            values[name], why = c.timestamp_utc(name, *src(name), timezone, "TIMESTAMPTZ '9999-01-01'",
                                                required=name.startswith("Charge"))
            reasons.append(why)
    reasons.append(f"CASE WHEN {values['ChargePeriodEnd']} <= {values['ChargePeriodStart']} THEN "
                   f"{c.reason('ChargePeriodEnd', src('ChargePeriodEnd')[0], 'must be after ChargePeriodStart')} END")
    reasons.append(f"CASE WHEN {values['ChargePeriodStart']} > {now_sql} THEN "
                   f"{c.reason('ChargePeriodStart', src('ChargePeriodStart')[0], 'is in the future')} END")
    for name in TEXTS:
        values[name] = c.text(src(name)[0]) if name in cols else "NULL::VARCHAR"
    cat = c.text(src("ChargeCategory")[0])
    values["ChargeCategory"] = cat
    listed = ", ".join(c.lit(v) for v in CHARGE_CATEGORIES)
    reasons.append(c.broken(f"{cat} IS NULL OR {cat} NOT IN ({listed})", "ChargeCategory",
                            src("ChargeCategory")[0], "must be one of " + ", ".join(CHARGE_CATEGORIES)))
    reasons.append(c.broken(f"{values['BillingCurrency']} IS DISTINCT FROM 'USD'", "BillingCurrency",
                            src("BillingCurrency")[0], "must be USD (no exchange rates are loaded)"))
    klass = values["ChargeClass"]
    reasons.append(c.broken(f"{klass} IS NOT NULL AND {klass} <> 'Correction'", "ChargeClass",
                            c.q(cols.get("ChargeClass", "ChargeClass")), "must be empty or Correction"))
    if "ServiceCategory" in cols:
        listed = ", ".join(c.lit(v) for v in SERVICE_CATEGORIES)
        reasons.append(c.broken(f"{values['ServiceCategory']} NOT IN ({listed})", "ServiceCategory",
                                src("ServiceCategory")[0], "must be a FOCUS service category"))
    if "Tags" in cols:
        tags = c.text(src("Tags")[0])
        values["Tags"] = f"CASE WHEN json_valid({tags}) THEN CAST({tags} AS JSON) END"
        reasons.append(f"CASE WHEN {tags} IS NOT NULL AND (NOT json_valid({tags}) OR json_type(CAST({tags} AS JSON))"
                       f" <> 'OBJECT') THEN {c.reason('Tags', src('Tags')[0], 'must be a JSON object')} END")
    else:
        values["Tags"] = "NULL::JSON"
    known = set(COSTS + QUANTITIES + TIMES + TEXTS) | {"ChargeCategory", "Tags"}
    extras = [orig for name, orig in cols.items() if name not in known]
    values["extra"] = c.json_object_of(extras)
    everything = [n for n in types if n not in (LINE, MALFORMED, RAW)]
    packed = c.json_of(everything)
    select = ", ".join(f"{v} AS {c.q(k)}" for k, v in values.items())
    raw = f"CASE WHEN _reason IS NOT NULL AND {MALFORMED} IS NULL THEN {packed} END"
    # row_key: DuckDB's 64-bit hash of the values, only to find a row again within this load (cheaper than MD5)
    who = identity or everything
    key = f"hash({', '.join(c.q(n) for n in who)})"
    return (f"SELECT {select}, {key} AS row_key, "
            f"{c.lit(version)} AS focus_version, {LINE}, "
            f"{c.first_reason(reasons)} AS _reason, {raw} AS _raw_json, {RAW} AS _raw_text FROM {staged}")


def version_of(columns: list[str], focus_version: str | None, source: str) -> str:
    """The FOCUS version given, else the one detected from the file's columns."""
    version = focus_version or detect_version({VALIDATOR_ALIASES.get(n, n) for n in columns})
    if version not in VERSIONS:
        raise UsageError(f"{source}: FOCUS version {version!r}: must be one of {', '.join(VERSIONS)}")
    return version


def load_focus(con: duckdb.DuckDBPyConnection, checked, path: Path, *, kind: str, load_id: int, sha256: str,
               source: str, progress):
    """Insert the checked charges of `checked` (a sources.Checked of checked_select) into `charges`, rejects into the
    quarantine; returns their Counts. A charge equal to one stored already, or to one on an earlier line, in every
    value of identity(kind) is a duplicate (drop_copies): the first line of a charge not stored yet stays. Each valid
    row's line is found by its row_key from the read in file order. Two different rows sharing a row_key by chance
    (about 1 in 370,000 for 10M rows) stop the load as if the file had changed: nothing is lost."""
    from .quarantine import insert_quarantine, resolve_earlier, start_line_texts
    from .requests import Counts

    keys, rows = checked.relation, checked.rows
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _new AS SELECT row_key, min(_line) AS line, count(*) AS n
        FROM {keys} WHERE _reason IS NULL GROUP BY row_key""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rejected AS SELECT _line, _reason, _raw_json, _raw_text
        FROM {keys} WHERE _reason IS NOT NULL""")
    texts = start_line_texts(con, "_rejected", None if is_parquet(path) else path)
    internal = "_line, _reason, _raw_json, _raw_text, row_key"
    mine = f"charges WHERE load_id = {load_id}"
    # DuckDB guesses a few dozen rows for a file it reads, so it would build the join's hash table on the file's
    # rows, every column: kept from swapping the sides, it builds on _new (key and line), which fits in memory.
    # A lower memory limit for the insert keeps the peak under 1 GB at 10M rows (0.89 GB against 1.04 GB) at no
    # cost in time. Settings outlive a failed transaction: the warehouse restores both when the load ends.
    swaps = "build_side_probe_side"
    if con.execute(f"SELECT count(*) FROM duckdb_optimizers() WHERE name = '{swaps}'").fetchall()[0][0]:
        con.execute(f"SET disabled_optimizers = '{swaps}'")
    con.execute(f"SET memory_limit = '{INSERT_MEMORY_MB}MB'")
    # a cost report's row_key covers its identity columns only, so a rejected row can share a valid row's key; its
    # checked rows are one relation (rows is keys: a temp table, or a Parquet view), where the reason is cheap to
    # read again, unlike a CSV's checks
    valid_only = " WHERE r._reason IS NULL" if rows == keys else ""
    try:
        con.execute(f"""INSERT INTO charges BY NAME SELECT r.* EXCLUDE ({internal}), {load_id} AS load_id,
            n.line AS source_line, {charge_key(identity(kind), "r")} AS charge_key
            FROM {rows} r JOIN _new n USING (row_key){valid_only}""")
    except duckdb.Error as exc:  # `rows` reads the file again: it went or changed since the first read
        raise UsageError(f"{source}: could not read the file again ({str(exc).splitlines()[0]}): if it was changed "
                         "while it loaded, load it again") from None
    from .warehouse import restore_settings

    restore_settings(con)
    # every valid line went in once with the first line of its key (the same rows both reads), else the file changed;
    # the copies of a key that repeats are one row, else two rows shared the key
    *expected, repeats = con.execute("SELECT coalesce(sum(n), 0), sum(n * hash(line)::HUGEINT), "
                                     "count(*) FILTER (n > 1) FROM _new").fetchall()[0]
    inserted = list(con.execute(f"SELECT count(*), sum(hash(source_line)::HUGEINT) FROM {mine}").fetchall()[0])
    repeated_lines = f"{mine} AND source_line IN (SELECT line FROM _new WHERE n > 1)"
    shared = repeats and con.execute(f"""SELECT count(*) FROM (SELECT source_line FROM {repeated_lines}
        GROUP BY 1 HAVING count(DISTINCT charge_key) > 1)""").fetchall()[0][0]
    if inserted != expected or shared:
        raise UsageError(f"{source}: the file changed while it loaded: {expected[0]:,} valid rows when first "
                         f"read, {inserted[0]:,} when read again, not the same ones: load it again")
    valid = inserted[0]
    if repeats:  # a repeated line went in once per copy: keep the first
        con.execute(f"""DELETE FROM {repeated_lines}
            AND rowid NOT IN (SELECT min(rowid) FROM {repeated_lines} GROUP BY source_line)""")
    drop_copies(con, load_id, kind)
    accepted = con.execute(f"SELECT count(*) FROM {mine}").fetchall()[0][0]
    progress("inserted charges")
    quarantined, repeated = insert_quarantine(con, "_rejected", load_id=load_id, source=source, sha256=sha256,
                                              kind="focus", texts=texts)
    resolve_earlier(con, sha256, load_id, "charges")
    read = valid + con.execute("SELECT count(*) FROM _rejected").fetchall()[0][0]  # no third read of the file
    counts = Counts(read, accepted, quarantined, repeated + valid - accepted)
    if read != accepted + quarantined + counts.duplicate:
        raise RuntimeError(f"{source}: accounting does not add up: {counts}")
    return counts


# ---------------------------------------------------------------- export


def _zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value) -> str | None:
    """FOCUS numeric text with a decimal point (the validator reads integers as a wrong type)."""
    if value is None:
        return None
    text = format(Decimal(value), "f")
    return text if "." in text else text + ".0"


def focus_table(records: list[dict], version: str = "1.0", billing_account_id: str = "ai-usage") -> pa.Table:
    """FOCUS rows from records {provider, model, day, cost_usd, tokens, category, tags, [list_cost_usd,
    charge_class, description, x_* ...]}.

    One row per record: a day's charge for one provider and model (SkuId provider/model). cost_usd is what is
    billed (BilledCost = ContractedCost = EffectiveCost); list_cost_usd the same usage at list price (ListCost;
    default cost_usd). ConsumedQuantity and PricingQuantity are tokens, unit prices are blended USD per token.
    """
    if version not in VERSIONS:
        raise UsageError(f"FOCUS version {version!r}: must be one of {', '.join(VERSIONS)}")
    import json

    import pyarrow as pa  # here, not at the top: loading FOCUS needs none of it

    rows = []
    for r in records:
        name = PROVIDER_NAMES.get(r["provider"], r["provider"])
        day: date = r["day"]
        month, next_month = month_start(day), month_start(day, 1)
        start = datetime.combine(day, time(), UTC)
        usage = r["category"] == "Usage"
        cost = Decimal(str(r["cost_usd"]))
        list_cost = Decimal(str(r.get("list_cost_usd", r["cost_usd"])))
        tokens = r.get("tokens")
        unit_price = (cost / Decimal(tokens)) if usage and tokens else None
        list_price = (list_cost / Decimal(tokens)) if usage and tokens else None
        sku = f"{r['provider']}/{r['model']}" if r.get("model") else None
        row = {
            "AvailabilityZone": None, "BilledCost": _decimal(cost), "BillingAccountId": billing_account_id,
            "BillingAccountName": None, "BillingCurrency": "USD",
            "BillingPeriodEnd": _zulu(datetime.combine(next_month, time(), UTC)),
            "BillingPeriodStart": _zulu(datetime.combine(month, time(), UTC)),
            "ChargeCategory": r["category"], "ChargeClass": r.get("charge_class"),
            "ChargeDescription": f"{r['model']} tokens" if usage else r.get("description", r["category"]),
            "ChargeFrequency": "Usage-Based" if usage else "One-Time",
            "ChargePeriodEnd": _zulu(start + timedelta(days=1)), "ChargePeriodStart": _zulu(start),
            "CommitmentDiscountCategory": None, "CommitmentDiscountId": None, "CommitmentDiscountName": None,
            "CommitmentDiscountStatus": None, "CommitmentDiscountType": None,
            "ConsumedQuantity": _decimal(tokens) if usage else None, "ConsumedUnit": "Tokens" if usage else None,
            "ContractedCost": _decimal(cost),
            "ContractedUnitPrice": _decimal(round(unit_price, 18)) if unit_price is not None else None,
            "EffectiveCost": _decimal(cost), "InvoiceIssuerName": name, "ListCost": _decimal(list_cost),
            "ListUnitPrice": _decimal(round(list_price, 18)) if list_price is not None else None,
            "PricingCategory": "Standard" if usage else None,
            "PricingQuantity": _decimal(tokens) if usage else None, "PricingUnit": "Tokens" if usage else None,
            "ProviderName": name, "PublisherName": name, "RegionId": None, "RegionName": None, "ResourceId": None,
            "ResourceName": None, "ResourceType": None, "ServiceCategory": "AI and Machine Learning",
            "ServiceName": f"{name} API", "SkuId": sku, "SkuPriceId": sku if usage else None,
            "SubAccountId": None, "SubAccountName": None, "Tags": json.dumps(r.get("tags") or {}, sort_keys=True),
        }
        if version >= "1.1":
            row |= {"ServiceSubcategory": "Generative AI", "SkuMeter": "Tokens" if usage else None}
        if version >= "1.3":
            row |= {"ServiceProviderName": name, "HostProviderName": name}
        row |= {k: (None if v is None else str(v)) for k, v in r.items() if k.startswith("x_")}
        if version == "1.0":  # focus-validator 1.0.0 compatibility block (see module docstring)
            row |= {"Provider": name, "Publisher": name, "InvoiceIssuer": name, "ChargeType": r["category"]}
            row = {("ResourceID" if k == "ResourceId" else k): v for k, v in row.items()}
        rows.append(row)
    if not rows:
        return pa.table({k: pa.array([], pa.string()) for k in required_columns(version)})
    names = list(rows[0])
    return pa.table({k: pa.array([row.get(k) for row in rows], pa.string()) for k in names})


def export_focus(con: duckdb.DuckDBPyConnection, month: date, out: Path, version: str = "1.0") -> tuple[int, Decimal]:
    """Write one month of request-log spend as FOCUS rows (CSV or Parquet by suffix); returns (rows, total USD).

    One row per UTC day, provider, model and tag set (the tags go to Tags as a JSON object);
    custom columns x_Requests, x_InputTokens, x_CachedInputTokens, x_OutputTokens, x_Environment.
    In a CSV, text cells that a spreadsheet would run as a formula (a model, provider or environment tag
    starting with =, +, -, @, a tab or carriage return) get a leading ' (core.csvsafe); numbers are left as they
    are. The Tags cell is a JSON object, which starts with {, so it is never changed.
    """
    start, end = month_start(month), month_start(month, 1)
    tag_cols = [t for t in TAGS if t != "environment"]
    rows = con.execute(f"""
        SELECT CAST("timestamp" AS DATE) AS day, coalesce(provider, 'unknown') AS provider, model,
               {", ".join(tag_cols)}, environment, sum(request_count) AS requests, sum(input_tokens) AS input_tokens,
               sum(cached_input_tokens) AS cached, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost
        FROM requests WHERE "timestamp" >= ? AND "timestamp" < ?
        GROUP BY ALL ORDER BY ALL""", [datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)]
    ).fetchall()
    records, total = [], Decimal(0)
    for day, provider, model, *rest in rows:
        tags = dict(zip(tag_cols, rest[:len(tag_cols)], strict=True))
        env, requests, inp, cached, outp, cost = rest[len(tag_cols):]
        total += cost
        records.append({"provider": provider, "model": model, "day": day, "cost_usd": cost, "tokens": inp + outp,
                        "category": "Usage", "tags": {k: v for k, v in tags.items() if v is not None},
                        "x_Requests": requests, "x_InputTokens": inp, "x_CachedInputTokens": cached,
                        "x_OutputTokens": outp, "x_Environment": env})
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = focus_table(records, version)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.name.lower().endswith(".parquet"):
        pq.write_table(table, out)
    else:
        pacsv.write_csv(safe_table(table, numeric=CSV_NUMBERS), out)
    return len(records), total
