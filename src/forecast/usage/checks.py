"""SQL that converts staged columns to typed values and names the first rule a row breaks.

Each helper returns (value_sql, reason_sql) for one column: value_sql is the converted value
(NULL when absent or invalid), reason_sql is NULL or a one-line reason that names the field,
the value and the rule. Typed sources (Parquet) skip text parsing.
"""

from __future__ import annotations

INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT")
CLOCK = r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?"  # an offset counts only after a clock time
TZ_SUFFIX = r"([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$"
VALID_OFFSET = r"([zZ]|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)$"
OFFSET_RULE = "UTC offset must be from -14:00 to +14:00 with minutes 00-59"
EARLIEST, AFTER_LATEST = "1970-01-01 00:00:00+00", "2200-01-01 00:00:00+00"
RANGE_RULE = "must be from 1970-01-01 to 2199-12-31 (UTC)"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_of(names: list[str]) -> str:
    """SQL of the JSON object of the columns `names` with their values as they are, NULLs included (a row's raw
    fields, a FOCUS row's identity).

    >>> import duckdb
    >>> duckdb.sql(f"SELECT {json_of(['a', 'b'])} FROM (SELECT '1' AS a, NULL AS b)").fetchall()
    [('{"a":"1","b":null}',)]
    """
    return f"to_json(struct_pack({', '.join(f'{q(n)} := {q(n)}' for n in names)}))"


def json_object_of(names: list[str]) -> str:
    """SQL of the JSON object of the columns `names` that hold a value (NULL JSON when `names` is empty): the
    columns a file has beyond those the warehouse maps, kept as `extra`.

    >>> import duckdb
    >>> duckdb.sql(f"SELECT {json_object_of(['team', 'note'])} FROM (SELECT 'a' AS team, NULL AS note)").fetchall()
    [('{"team":"a"}',)]
    """
    if not names:
        return "NULL::JSON"
    import json

    members = ", ".join(f"CASE WHEN {q(n)} IS NOT NULL THEN {lit(json.dumps(n) + ':')} || to_json({q(n)}) END"
                        for n in names)
    return f"CAST('{{' || concat_ws(',', {members}) || '}}' AS JSON)"


def shown(col: str) -> str:
    """The raw value as it appears in a reason: quoted text, or 'missing'."""
    return f"coalesce('''' || left(CAST({col} AS VARCHAR), 80) || '''', 'missing')"


def reason(field: str, col: str, rule: str) -> str:
    return f"{lit(field + ': ')} || {shown(col)} || {lit(': ' + rule)}"


def broken(condition: str, field: str, col: str, rule: str) -> str:
    """A reason expression: the rule's one-line reason where `condition` holds, else NULL."""
    return f"CASE WHEN {condition} THEN {reason(field, col, rule)} END"


def text(col: str, typ: str = "VARCHAR") -> str:
    """Text with outer spaces trimmed, empty as NULL (trim runs only where needed: it copies every string).

    A typed column that is not text (a number, a timestamp) becomes its text form as it is."""
    t = f"CAST({col} AS VARCHAR)"
    if typ != "VARCHAR":
        return t
    return f"CASE WHEN {t} = '' OR {t} LIKE ' %' OR {t} LIKE '% ' THEN NULLIF(trim({t}), '') ELSE {t} END"


NUMERIC = (*INTEGER_TYPES, "FLOAT", "DOUBLE")


def _typed(typ: str) -> bool:
    return typ in NUMERIC or typ.startswith("DECIMAL")


def whole_number(field: str, col: str, typ: str, required: bool, empty_as: int = 0,
                 minimum: int = 0) -> tuple[str, str]:
    """A count >= `minimum`; an optional one that is empty counts as `empty_as`. Text must be digits (spaces
    around them aside): a value whose text is the number as DuckDB writes it passes without the pattern match."""
    rule = f"must be a whole number >= {minimum}"
    value = f"TRY_CAST({col} AS BIGINT)"
    if typ in INTEGER_TYPES:
        ok = f"{value} >= {minimum}"
    elif _typed(typ):
        ok = f"isfinite(CAST({col} AS DOUBLE)) AND {value} >= {minimum} AND {col} = trunc({col})"
    else:  # DuckDB's cast skips the spaces text() trims
        ok = (f"{value} >= {minimum} AND (CAST({value} AS VARCHAR) = {col} "
              f"OR regexp_full_match({text(col)}, '[0-9]+'))")
    missing = f"WHEN {text(col, typ)} IS NULL THEN {reason(field, col, 'required') if required else 'NULL'} "
    checked = f"CASE WHEN {ok} THEN NULL {missing}ELSE {reason(field, col, rule)} END"
    return (value if required else f"coalesce({value}, {empty_as})"), checked


def request_count(field: str, col: str, typ: str) -> tuple[str, str]:
    """A count of requests >= 1; empty counts as 1 (a row is one request unless it says otherwise)."""
    return whole_number(field, col, typ, required=False, empty_as=1, minimum=1)


def number(field: str, col: str, typ: str, sql_type: str, nonneg: bool = True,
           required: bool = False) -> tuple[str, str]:
    """A finite number (>= 0 when nonneg; NULL allowed unless required), converted to sql_type. Text is cast as
    it is: DuckDB's cast skips the spaces around a number that text() trims."""
    value = f"TRY_CAST({col} AS {sql_type})"
    ok = [f"{value} IS NOT NULL"]
    if sql_type in ("FLOAT", "DOUBLE"):
        ok.append(f"isfinite({value})")
    if nonneg:  # a value below 0 that rounds to 0 in sql_type is still below 0
        ok.append(f"({value} > 0 OR ({value} = 0 AND NOT coalesce(TRY_CAST({col} AS DOUBLE) < 0, false)))")
    rule = f"must be a {'number >= 0' if nonneg else 'number'} that fits {sql_type}"
    missing = f"WHEN {text(col, typ)} IS NULL THEN {reason(field, col, 'required') if required else 'NULL'} "
    return value, f"CASE WHEN {' AND '.join(ok)} THEN NULL {missing}ELSE {reason(field, col, rule)} END"


def choice(field: str, col: str, allowed: tuple[str, ...], default: str | None) -> tuple[str, str]:
    t = f"lower({text(col)})"
    listed = ", ".join(lit(a) for a in allowed)
    value = f"coalesce({t}, {lit(default)})" if default else t
    bad = f"{t} NOT IN ({listed})" + ("" if default else f" AND {t} IS NOT NULL")
    rule = f"must be one of {', '.join(allowed)}" + (f" (empty means {default})" if default else "")
    return value, f"CASE WHEN {bad} THEN {reason(field, col, rule)} END"


def boolean(field: str, col: str, typ: str) -> tuple[str, str]:
    if typ == "BOOLEAN":
        return f"coalesce({col}, false)", "NULL"
    t = f"lower({text(col)})"
    value = f"coalesce({t} IN ('true', '1', 'yes'), false)"
    bad = f"{t} IS NOT NULL AND {t} NOT IN ('true', 'false', '1', '0', 'yes', 'no')"
    return value, f"CASE WHEN {bad} THEN {reason(field, col, 'must be true or false')} END"


def timestamp_utc(field: str, col: str, typ: str, timezone: str | None, now_sql: str,
                  required: bool = True) -> tuple[str, str]:
    """TIMESTAMPTZ from text with an offset, a TIMESTAMPTZ column, or naive values in `timezone`; empty is a fault
    when `required`, else NULL.

    The value is NULL unless the time is valid: an offset from -14:00 to +14:00 (minutes 00-59) after a
    clock time, and a moment from 1970-01-01 to 2199-12-31 UTC; a date alone has no offset."""
    naive_rule = "has no UTC offset: add one (e.g. Z) or load with a time zone (forecast ingest --timezone)"
    if "TIME ZONE" in typ or typ.startswith("TIMESTAMPTZ"):
        parsed, bad_sql = f"CAST({col} AS TIMESTAMPTZ)", "NULL"
    elif typ.startswith("TIMESTAMP") or typ == "DATE":
        parsed = f"timezone({lit(timezone)}, CAST({col} AS TIMESTAMP))" if timezone else "NULL::TIMESTAMPTZ"
        bad_sql = "NULL" if timezone else f"CASE WHEN {col} IS NOT NULL THEN {reason(field, col, naive_rule)} END"
    else:
        t = text(col)
        has_tz = f"regexp_matches({t}, {lit(CLOCK + TZ_SUFFIX)})"
        bad_tz = f"NOT regexp_matches({t}, {lit(VALID_OFFSET)})"
        local = f"timezone({lit(timezone)}, TRY_CAST({t} AS TIMESTAMP))" if timezone else "NULL::TIMESTAMPTZ"
        parsed = f"CASE WHEN NOT {has_tz} THEN {local} WHEN NOT {bad_tz} THEN TRY_CAST({t} AS TIMESTAMPTZ) END"
        bad_sql = (f"CASE WHEN {t} IS NULL THEN NULL "
                   f"WHEN {has_tz} AND {bad_tz} THEN {reason(field, col, OFFSET_RULE)} "
                   f"WHEN NOT {has_tz} AND {lit(timezone or '')} = '' AND TRY_CAST({t} AS TIMESTAMP) IS NOT NULL "
                   f"THEN {reason(field, col, naive_rule)} "
                   f"WHEN ({parsed}) IS NULL THEN {reason(field, col, 'is not an ISO 8601 date-time')} END")
    inside = f"({parsed}) >= TIMESTAMPTZ '{EARLIEST}' AND ({parsed}) < TIMESTAMPTZ '{AFTER_LATEST}'"
    value = f"CASE WHEN {inside} THEN {parsed} END"
    missing = f"WHEN {text(col, typ)} IS NULL THEN {reason(field, col, 'required') if required else 'NULL'} "
    span = f"WHEN NOT ({inside}) THEN {reason(field, col, RANGE_RULE)} "
    future = f"WHEN ({value}) > {now_sql} THEN {reason(field, col, 'is in the future (after the load started)')} "
    # a valid value that is not in the future breaks no rule: that common case skips the costly checks below
    valid = f"WHEN ({value}) IS NOT NULL AND ({value}) <= {now_sql} THEN NULL "
    return value, f"CASE {valid}{missing}WHEN ({bad_sql}) IS NOT NULL THEN ({bad_sql}) {span}{future}END"


def utc_day(col: str) -> str:
    """The UTC calendar day of a TIMESTAMPTZ, by arithmetic on epoch microseconds (no time-zone library call)."""
    return f"(DATE '1970-01-01' + CAST(floor(epoch_us({col}) / 86400000000) AS INTEGER))"


def first_reason(reasons: list[str]) -> str:
    return f"coalesce({', '.join(reasons)})" if reasons else "NULL"
