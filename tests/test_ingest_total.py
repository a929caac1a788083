"""Issue 16: ingest is total. Every row-level fault becomes a quarantined row with its reason and raw text,
whatever the format; only file-level faults refuse a load (one UsageError line, never another exception);
a reject seen again is counted as a duplicate, not recorded twice; rows_read = accepted + quarantined +
duplicate always.

Expected reasons, lines and raw texts below are written by hand from what each test writes into its files,
never read back from the loader. To keep the file fast, value faults (a bad field in an otherwise well-formed
record, where records cannot disturb each other) share one file per format, loaded once, with one test case
per kind; faults of the file's syntax (quotes, line ends, short lines, bad JSON) and typed Parquet columns get
a file each.
"""

import csv
import io
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from forecast.cli.main import main
from forecast.core.errors import UsageError
from forecast.design.prices import PriceBook
from forecast.usage import warehouse as warehouse_module
from forecast.usage.warehouse import Warehouse

from .conftest import OVERRIDES, ROOT
from .test_usage_sources import FOCUS_HEADER, span

OFFSET_RULE = "UTC offset must be from -14:00 to +14:00 with minutes 00-59"
RANGE_RULE = "must be from 1970-01-01 to 2199-12-31 (UTC)"


@pytest.fixture(scope="module")
def lab_book(tmp_path_factory) -> PriceBook:
    """The round test prices of conftest (m-small: $1 in, $2 out per million tokens), once per module."""
    path = tmp_path_factory.mktemp("prices") / "overrides.yaml"
    path.write_text(OVERRIDES)
    return PriceBook.from_file(path)


def quarantine(wh: Warehouse, load_id: int) -> dict[int, tuple[str, str | None]]:
    """line -> (reason, raw_text) of one load's quarantine rows."""
    rows = wh.sql("SELECT line, reason, raw_text FROM quarantine WHERE load_id = ? ORDER BY line",
                  [load_id]).fetchall()
    return {line: (reason, raw) for line, reason, raw in rows}


def accepted(wh: Warehouse, load_id: int) -> dict[int, tuple[str, str | None]]:
    """source_line -> (request_id, extra JSON) of one load's accepted requests."""
    rows = wh.sql("SELECT source_line, request_id, extra FROM requests WHERE load_id = ?", [load_id]).fetchall()
    return {line: (rid, extra) for line, rid, extra in rows}


SCRATCH = "+scratch"  # a format named with it is loaded as a file past SCRATCH_ABOVE_BYTES is


def load_as(fmt: str, folder: Path, path: Path, **options):
    """Load `path` into a fresh warehouse in `folder`; returns (warehouse, result), the warehouse still open.
    With SCRATCH in `fmt`, the rows are checked into the scratch database whatever the file's size."""
    wh = Warehouse(folder / "w.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        if fmt.endswith(SCRATCH):
            mp.setattr(warehouse_module, "SCRATCH_ABOVE_BYTES", -1)
        try:
            return wh, wh.load(path, **options)
        except BaseException:
            wh.close()
            raise


def adds_up(r) -> None:
    assert r.rows_read == r.accepted + r.quarantined + r.duplicate, r


def strict_json(text: str):
    """json.loads; a Parquet row's NaN or infinite double is written NaN / Infinity, as JavaScript does."""
    return json.loads(text)


# ---------------------------------------------------------------- native rows

COLUMNS = ("timestamp", "request_id", "provider", "model", "input_tokens", "cached_input_tokens", "output_tokens",
           "request_count", "cost_usd", "status", "latency_ms", "outcome", "batch", "note")
HEADER = ",".join(COLUMNS)
BASE = {"timestamp": "2026-10-01T09:00:00Z", "request_id": "g1", "provider": "lab", "model": "m-small",
        "input_tokens": "1000", "cached_input_tokens": "0", "output_tokens": "500", "request_count": "1",
        "cost_usd": "", "status": "ok", "latency_ms": "12", "outcome": "success", "batch": "false", "note": "n"}
SENTINEL_REASON = "input_tokens: '-7': must be a whole number >= 0"


def row(**changes) -> dict:
    return {**BASE, **changes}


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\r\n') else value


def csv_record(values: dict) -> str:
    """One CSV record as written (RFC 4180 quoting; a quoted newline makes it span lines)."""
    return ",".join(csv_cell(values[c]) for c in COLUMNS)


JSON_NUMBERS = {"input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 500, "request_count": 1,
                "latency_ms": 12}


def json_record(values: dict, changed=()) -> str:
    """One JSON Lines record: unchanged fields typed as a logger would write them, changed ones as given."""
    obj = {}
    for c in COLUMNS:
        v = values[c]
        if c not in changed:
            v = JSON_NUMBERS.get(c, v) if v == BASE[c] else v
            v = None if c == "cost_usd" and v == "" else False if c == "batch" and v == "false" else v
        obj[c] = v
    return json.dumps(obj, ensure_ascii=False)


@dataclass(frozen=True)
class Value:
    """A value fault: the corrupted row is the base row with `changes`. `reason` is the start of the expected
    reason (None: the row is fine and accepted) and `rule` a part of it; `formats` where it applies."""

    name: str
    changes: dict
    reason: str | None
    rule: str = ""
    formats: tuple[str, ...] = ("csv", "csv_python", "jsonl", "parquet")


VALUES = [
    Value("ts_empty", {"timestamp": ""}, "timestamp: ", "required"),
    Value("ts_blank", {"timestamp": "   "}, "timestamp: ", "required"),
    Value("ts_garbage", {"timestamp": "yesterday"}, "timestamp: 'yesterday': is not an ISO 8601 date-time"),
    Value("ts_offset_99_99", {"timestamp": "2026-10-01T09:00:00+99:99"},
          "timestamp: '2026-10-01T09:00:00+99:99': " + OFFSET_RULE),
    Value("ts_offset_15h", {"timestamp": "2026-10-01T09:00:00+15:00"}, "timestamp: ", OFFSET_RULE),
    Value("ts_offset_60min", {"timestamp": "2026-10-01T09:00:00+05:60"}, "timestamp: ", OFFSET_RULE),
    Value("ts_offset_minus_14h_ok", {"timestamp": "2026-10-01T09:00:00-14:00"}, None),  # 23:00 UTC that day
    Value("ts_year_0000", {"timestamp": "0000-01-01T00:00:00Z"}, "timestamp: '0000-01-01T00:00:00Z': "),
    Value("ts_1969", {"timestamp": "1969-12-31T23:59:59Z"}, "timestamp: ", RANGE_RULE),
    Value("ts_1969_by_offset", {"timestamp": "1970-01-01T00:30:00+01:00"}, "timestamp: ", RANGE_RULE),
    Value("ts_2200", {"timestamp": "2200-01-01T00:00:00Z"}, "timestamp: ", RANGE_RULE),
    Value("ts_year_10000", {"timestamp": "10000-01-01T00:00:00Z"}, "timestamp: '10000-01-01T00:00:00Z': "),
    Value("ts_feb_30", {"timestamp": "2026-02-30T00:00:00Z"}, "timestamp: ", "is not an ISO 8601 date-time"),
    Value("ts_naive", {"timestamp": "2026-10-01 09:00:00"}, "timestamp: ", "has no UTC offset"),
    Value("ts_future", {"timestamp": "2099-01-01T00:00:00Z"}, "timestamp: ", "is in the future"),
    Value("request_id_empty", {"request_id": ""}, "request_id: ", "required"),
    Value("model_blank", {"model": "  "}, "model: ", "required"),
    Value("tokens_negative", {"output_tokens": "-5"}, "output_tokens: '-5': must be a whole number >= 0"),
    Value("tokens_fraction", {"input_tokens": "12.5"}, "input_tokens: '12.5': must be a whole number >= 0"),
    Value("tokens_above_2_63", {"input_tokens": "9223372036854775808"},
          "input_tokens: '9223372036854775808': must be a whole number >= 0"),
    Value("tokens_text", {"output_tokens": "lots"}, "output_tokens: 'lots': must be a whole number >= 0"),
    Value("tokens_exponent", {"input_tokens": "1e3"}, "input_tokens: '1e3': must be a whole number >= 0"),
    Value("tokens_required_empty", {"output_tokens": ""}, "output_tokens: ", "required"),
    Value("cached_above_input", {"cached_input_tokens": "2000"},
          "input_tokens: '1000': must include cached_input_tokens"),
    Value("cost_negative", {"cost_usd": "-1"}, "cost_usd: '-1': must be a number >= 0"),
    Value("cost_nan", {"cost_usd": "NaN"}, "cost_usd: 'NaN': must be a number >= 0"),
    Value("cost_inf", {"cost_usd": "inf"}, "cost_usd: 'inf': must be a number >= 0"),
    Value("cost_text", {"cost_usd": "free"}, "cost_usd: 'free': must be a number >= 0"),
    Value("cost_above_decimal_18_10", {"cost_usd": "100000000"},  # DECIMAL(18,10) holds at most 99,999,999.99...
          "cost_usd: '100000000': must be a number >= 0 that fits DECIMAL(18,10)"),
    Value("cost_1e20", {"cost_usd": "1e20"}, "cost_usd: '1e20': must be a number >= 0 that fits DECIMAL(18,10)"),
    Value("unknown_model_no_cost", {"model": "no-such-model"}, "model: 'no-such-model': unknown"),
    Value("unknown_model_logged_cost_ok", {"model": "no-such-model", "cost_usd": "0.5"}, None),
    Value("status_bad", {"status": "maybe"}, "status: 'maybe': must be one of ok, error, retry"),
    Value("outcome_bad", {"outcome": "win"}, "outcome: 'win': must be one of success, failure"),
    Value("batch_bad", {"batch": "perhaps"}, "batch: 'perhaps': must be true or false"),
    Value("request_count_zero", {"request_count": "0"}, "request_count: '0': must be a whole number >= 1"),
    Value("request_count_text", {"request_count": "many"}, "request_count: 'many': must be a whole number >= 1"),
    Value("latency_negative", {"latency_ms": "-3"}, "latency_ms: '-3': must be a number >= 0"),
    Value("latency_text", {"latency_ms": "fast"}, "latency_ms: 'fast': must be a number >= 0"),
    # m-small costs $1 per million input tokens: 9e14 tokens = $900,000,000, above what DECIMAL(18,10) holds
    Value("priced_above_cost_cap", {"input_tokens": "900000000000000"},
          "input_tokens: '900000000000000': priced at $900,000,000: above the $99,999,999 one row can hold"),
    # gpt-4o-mini (genai-prices): $0.15 per million input tokens, $0.60 output: 9e14 in = $135,000,000
    Value("priced_above_cost_cap_gpt_4o_mini", {"provider": "openai", "model": "gpt-4o-mini",
                                                "input_tokens": "900000000000000"},
          "input_tokens: '900000000000000': priced at $135,000,000: above the $99,999,999 one row can hold"),
    Value("nul_in_text_ok", {"note": "a\x00b"}, None),
    Value("control_chars_ok", {"request_id": "c\x01t\x7fl", "note": "\x07\x1b[31mred"}, None),
    Value("unicode_ok", {"request_id": "réq-☕-\U0001d518", "note": "naïve ✓"}, None),
    Value("comma_and_quotes_ok", {"note": 'say "hi", then go'}, None),
    Value("long_field_ok", {"note": "x" * 200_000}, None),
    Value("long_field_bad", {"timestamp": "9" * 100_000}, "timestamp: '" + "9" * 80 + "': "),
    Value("quoted_newline_ok", {"note": "two\nlines"}, None, formats=("csv_python", "jsonl", "parquet")),
    Value("quoted_newline_bad", {"timestamp": "nope", "note": "two\nlines"}, "timestamp: 'nope': ",
          formats=("csv_python", "jsonl", "parquet")),
    Value("quoted_crlf_ok", {"note": "a\r\nb"}, None, formats=("csv_python", "jsonl", "parquet")),
]
# JSON Lines only: values a JSON logger writes with their own types
JSON_VALUES = [
    Value("json_tokens_fraction", {"input_tokens": 12.5}, "input_tokens: '12.5': must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_tokens_negative", {"output_tokens": -5}, "output_tokens: '-5': must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_tokens_2_64", {"input_tokens": 2**64}, "input_tokens: ", "must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_tokens_true", {"input_tokens": True}, "input_tokens: 'true': must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_tokens_object", {"input_tokens": {"a": 1}}, "input_tokens: ", "must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_tokens_list", {"output_tokens": [1]}, "output_tokens: ", "must be a whole number >= 0",
          formats=("jsonl",)),
    Value("json_timestamp_null", {"timestamp": None}, "timestamp: missing: required", formats=("jsonl",)),
    Value("json_timestamp_number", {"timestamp": 1790000000}, "timestamp: '1790000000': ", formats=("jsonl",)),
    Value("json_model_null", {"model": None}, "model: missing: required", formats=("jsonl",)),
    Value("json_cost_negative", {"cost_usd": -0.5}, "cost_usd: '-0.5': must be a number >= 0",
          formats=("jsonl",)),
]
ALL_VALUES = VALUES + JSON_VALUES


def value_rows(fmt: str) -> list[tuple[Value | None, dict, tuple]]:
    """The records of the shared file of `fmt`: a good row, one row per value kind, a good row.

    csv_python is CSV whose first row has a quoted newline: the loader then reads it with Python's csv module
    instead of DuckDB's reader (see forecast.usage.sources), so both readers meet every value fault."""
    rows = [(None, row(request_id="g1", note="forces\nthe Python reader" if fmt == "csv_python" else "n"), ())]
    for i, kind in enumerate(v for v in ALL_VALUES if fmt in v.formats):
        rows.append((kind, {**row(request_id=f"bad-{i}"), **kind.changes}, tuple(kind.changes)))
    rows.append((None, row(request_id="g2"), ()))
    return rows


@dataclass
class Loaded:
    """One load of a shared file: per kind name its first line and the text it was written as."""

    result: object = None
    error: Exception | None = None
    line: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    quarantine: dict = field(default_factory=dict)
    accepted: dict = field(default_factory=dict)


def write_native(folder: Path, fmt: str, records: list[tuple[object, dict, tuple]]) -> tuple[Path, dict, dict]:
    """Write `records` as native `fmt`; returns the file, key -> first line, key -> text as written."""
    lines, texts = {}, {}
    if fmt == "parquet":
        path = folder / "log.parquet"
        pq.write_table(pa.table({c: pa.array([r[c] for _, r, _ in records], pa.string()) for c in COLUMNS}), path)
        for n, (key, _, _) in enumerate(records, start=1):
            lines[key] = n
        return path, lines, texts
    out, line = [], 1
    if fmt == "csv":
        out.append(HEADER)
        line = 2
    for key, values, changed in records:
        text = csv_record(values) if fmt == "csv" else json_record(values, changed)
        lines[key], texts[key] = line, text
        out.append(text)
        line += text.count("\n") + 1
    path = folder / f"log.{fmt}"
    path.write_bytes(("\n".join(out) + "\n").encode())
    return path, lines, texts


def value_records(fmt: str) -> list[tuple[object, dict, tuple]]:
    """value_rows(fmt) keyed for write_native: by the value kind's name, or the request_id of a plain row."""
    return [(kind.name if kind else values["request_id"], values, changed) for kind, values, changed in value_rows(fmt)]


@pytest.fixture(scope="module")
def shared_loads(tmp_path_factory, lab_book):
    """fmt -> Loaded: the file of every value kind of that format, loaded once into its own fresh warehouse."""
    cache = {}

    def get(fmt: str) -> Loaded:
        if fmt not in cache:
            folder = tmp_path_factory.mktemp(f"values-{fmt}")
            base = fmt.removesuffix(SCRATCH)
            records = value_records(base)
            path, lines, texts = write_native(folder, "csv" if base == "csv_python" else base, records)
            got = Loaded(line=lines, text=texts, values={k: v for k, v, _ in records})
            try:
                wh, got.result = load_as(fmt, folder, path, book=lab_book)
                with wh:
                    got.quarantine = quarantine(wh, got.result.load_id)
                    got.accepted = accepted(wh, got.result.load_id)
            except Exception as exc:  # every case of this format reports it
                got.error = exc
            cache[fmt] = got
        return cache[fmt]

    return get


VALUE_CASES = [pytest.param(f, kind, id=f"{f}-{kind.name}") for kind in ALL_VALUES for fmt in kind.formats
               for f in ((fmt, fmt + SCRATCH) if fmt in ("csv", "jsonl") else (fmt,))]


@pytest.mark.parametrize("fmt, kind", VALUE_CASES)
def test_a_value_fault_is_quarantined_with_its_reason_and_raw_text(shared_loads, fmt, kind):
    got = shared_loads(fmt)
    if got.error is not None:
        pytest.fail(f"the {fmt} file of value faults did not load: {type(got.error).__name__}: {got.error}")
    line = got.line[kind.name]
    if kind.reason is None:
        assert line not in got.quarantine, got.quarantine.get(line)
        rid, extra = got.accepted[line]
        assert rid == got.values[kind.name]["request_id"]
        if "note" in kind.changes:  # kept exactly, in requests.extra
            assert json.loads(extra)["note"] == kind.changes["note"]
        return
    assert line in got.quarantine, f"line {line} was not quarantined"
    reason, raw = got.quarantine[line]
    assert reason.startswith(kind.reason) and kind.rule in reason, reason
    assert "\n" not in reason
    assert raw is not None
    if fmt == "parquet":
        assert strict_json(raw) == got.values[kind.name]  # the row as JSON text, every column as it was
    else:
        assert raw == got.text[kind.name]  # the physical line(s) as written, without the line end


@pytest.mark.parametrize("fmt", ["csv", "csv_python", "jsonl", "parquet", "csv" + SCRATCH, "jsonl" + SCRATCH])
def test_the_shared_value_files_account_for_every_row(shared_loads, fmt):
    got = shared_loads(fmt)
    if got.error is not None:
        pytest.fail(f"the {fmt} file of value faults did not load: {type(got.error).__name__}: {got.error}")
    kinds = [v for v in ALL_VALUES if fmt.removesuffix(SCRATCH) in v.formats]
    bad = sum(k.reason is not None for k in kinds)
    r = got.result
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (len(kinds) + 2, len(kinds) + 2 - bad, bad, 0)
    assert all(raw for _, raw in got.quarantine.values())
    assert sorted(got.quarantine) == sorted(got.line[k.name] for k in kinds if k.reason)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "csv" + SCRATCH, "jsonl" + SCRATCH])
def test_a_file_duckdb_reads_exactly_never_meets_the_python_readers(tmp_path, lab_book, monkeypatch, fmt):
    """The value faults are row faults, not syntax: DuckDB's read_csv or read_json takes the whole file in one pass
    (the fast path), not its line-by-line JSON reading or the Python readers."""
    from forecast.usage import sources

    def slower_reader(*args):
        raise AssertionError("the file went to a slower reader")

    monkeypatch.setattr(sources, "stage_records", slower_reader)
    monkeypatch.setattr(sources, "_duckdb_jsonl", slower_reader)
    stores, check_file = [], sources.check_file

    def spy(*args, store="temp", **kwargs):
        stores.append(store)
        return check_file(*args, store=store, **kwargs)

    monkeypatch.setattr(sources, "check_file", spy)
    base = fmt.removesuffix(SCRATCH)
    records = value_records(base)
    path, _, _ = write_native(tmp_path, base, records)
    wh, r = load_as(fmt, tmp_path, path, book=lab_book)
    with wh:
        stored = wh.sql("SELECT database_name FROM duckdb_databases() WHERE database_name = 'load_scratch'").fetchall()
    assert r.rows_read == len(records)
    assert stores == ["load_scratch" if fmt.endswith(SCRATCH) else "temp"]
    assert stored == []  # detached once the load ended


# ---------------------------------------------------------------- CSV and JSON Lines syntax, a file each


@dataclass(frozen=True)
class Syntax:
    """A fault of the file's syntax: `text` is the corrupted record exactly as written (it may span lines).

    reason: the start of the expected reason (a tuple: any of them); None: accepted as `request_id`.
    last: the record ends the file (after the sentinel); newline: the file ends with a line end.
    record: False when the text is not a record at all (a blank line). either: quarantined or accepted.
    loose: only the invariants and the other rows are checked (how the record splits is not specified)."""

    name: str
    text: str
    reason: str | tuple | None = None
    last: bool = False
    newline: bool = True
    record: bool = True
    either: bool = False
    loose: bool = False
    request_id: str = "bad"
    note: str | None = None  # the accepted row's note, exactly
    eol: str = "\n"
    bom: bool = False


def bad_csv(**changes) -> str:
    return csv_record(row(**{"request_id": "bad", **changes}))


def bad_json(**changes) -> str:
    return json_record(row(**{"request_id": "bad", **changes}), tuple(changes))


CSV_SYNTAX = [
    Syntax("stray_quote_inside_a_field", bad_csv(request_id="ba_d").replace("ba_d", 'ba"d'), either=True,
           request_id='ba"d'),
    Syntax("stray_quote_after_the_timestamp", bad_csv().replace("09:00:00Z,", '09:00:00Z",', 1), "timestamp: "),
    Syntax("text_after_a_closing_quote", bad_csv().replace(",bad,", ',"bad"x,'), "line not valid CSV"),
    Syntax("space_after_a_closing_quote", bad_csv().replace(",bad,", ',"bad" ,'), either=True),
    Syntax("unterminated_quote_on_the_last_line", bad_csv().replace(",bad,", ',"bad,'), "line not valid CSV",
           last=True),
    Syntax("unterminated_quote_swallows_the_rest", bad_csv().replace(",bad,", ',"bad,') + "\n"
           + csv_record(row(request_id="g3")), "line not valid CSV", last=True),
    Syntax("a_lone_quote_ends_the_file", '"', "line not valid CSV", last=True),
    Syntax("truncated_last_line", "2026-10-01T09:00:00Z,trunc,lab,m-sm", "line has 4 fields, the header has 14",
           last=True, newline=False),
    Syntax("too_few_fields", "2026-10-01T09:00:00Z,short,lab", "line has 3 fields, the header has 14"),
    Syntax("too_many_fields", bad_csv() + ",x,y", "line has 16 fields, the header has 14"),
    Syntax("quoted_newline_ok", bad_csv(note="two\nlines"), None, note="two\nlines"),
    Syntax("quoted_newline_in_a_bad_row", bad_csv(timestamp="nope", note="two\nlines"), "timestamp: 'nope': "),
    Syntax("quoted_crlf_ok", bad_csv(note="a\r\nb"), None, note="a\r\nb"),
    Syntax("blank_line", "", record=False),
    Syntax("spaces_only_line", "   ", "line has 1 fields, the header has 14"),
    Syntax("nul_only_line", "\x00", "line has 1 fields, the header has 14"),
    Syntax("commas_only_line", "," * 13, "timestamp: "),
    Syntax("unicode_line_separators_in_a_bad_row", bad_csv(timestamp="nope", note="a\u2028b\x85c\x0cd\x0be"),
           "timestamp: 'nope': "),
    Syntax("bare_carriage_return_inside_a_field", bad_csv(note="a_b").replace("a_b", "a\rb"), loose=True),
    Syntax("crlf_line_ends", bad_csv(output_tokens="-5"), "output_tokens: '-5': ", eol="\r\n"),
    Syntax("byte_order_mark", bad_csv(timestamp="nope"), "timestamp: 'nope': ", bom=True),
]
JSONL_SYNTAX = [
    Syntax("not_json", "{not json", "line not valid JSON"),
    Syntax("json_array", "[1, 2]", "line is not a JSON object"),
    Syntax("json_string", '"just text"', "line is not a JSON object"),
    Syntax("truncated_last_line", '{"timestamp": "2026-10-01T0', "line not valid JSON", last=True, newline=False),
    Syntax("raw_carriage_return_in_a_string", bad_json(note="a_b").replace("a_b", "a\rb"), "line not valid JSON"),
    Syntax("raw_control_char_in_a_string", bad_json(note="a_b").replace("a_b", "a\x01b"), "line not valid JSON"),
    Syntax("number_1e400", bad_json().replace('"input_tokens": 1000', '"input_tokens": 1e400'), "input_tokens: "),
    Syntax("nan_token", bad_json().replace('"cost_usd": null', '"cost_usd": NaN'),
           ("cost_usd: ", "line not valid JSON")),
    Syntax("blank_line", "", record=False),
    Syntax("spaces_only_line", "   ", record=False),
    Syntax("unicode_line_separators_in_a_bad_row", bad_json(timestamp="nope", note="a\u2028b\x85c"),
           "timestamp: 'nope': "),
    Syntax("crlf_line_ends", bad_json(output_tokens="-5"), "output_tokens: '-5': ", eol="\r\n"),
]
SENTINEL = row(request_id="sentinel", input_tokens="-7")  # a fault after the kind: its line and text must hold


def write_syntax(folder: Path, fmt: str, kind: Syntax) -> tuple[Path, str, dict, dict]:
    """Write good g1, the kind, good g2 and the sentinel (the kind last when kind.last); returns the file, its
    text and per record key its first physical line and its text."""
    encode = csv_record if fmt == "csv" else (lambda values: json_record(values))
    records = [("g1", encode(row(request_id="g1"))), ("x", kind.text), ("g2", encode(row(request_id="g2"))),
               ("sentinel", encode(SENTINEL))]
    if kind.last:
        records.append(records.pop(1))
    out, lines, texts, line = ([HEADER], {}, {}, 2) if fmt == "csv" else ([], {}, {}, 1)
    for key, text in records:
        lines[key], texts[key] = line, text
        out.append(text)
        line += text.count("\n") + 1
    text = kind.eol.join(out) + (kind.eol if kind.newline else "")
    path = folder / f"log.{fmt}"
    path.write_bytes((("\ufeff" if kind.bom else "") + text).encode())
    return path, text, lines, texts


def check_syntax(tmp_path, book, fmt: str, kind: Syntax) -> None:
    path, text, lines, texts = write_syntax(tmp_path, fmt, kind)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(path, book=book)  # no exception: a syntax fault is a row fault
        got, ok = quarantine(wh, r.load_id), accepted(wh, r.load_id)
    adds_up(r)
    assert all(raw for _, raw in got.values()), got
    assert all(raw in text for _, raw in got.values()), got  # raw texts are the file's own text
    # the other rows: g1, g2 accepted, the sentinel quarantined with its own line's text
    sentinel = [(line, reason) for line, (reason, raw) in got.items() if raw == texts["sentinel"]]
    assert [reason for _, reason in sentinel] == [SENTINEL_REASON], got
    assert {"g1", "g2"} <= {rid for rid, _ in ok.values()}
    if kind.loose:
        return
    assert sentinel[0][0] == lines["sentinel"] and ok[lines["g2"]][0] == "g2"
    if not kind.record:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (3, 2, 1, 0)
        return
    x = lines["x"]
    if kind.either and x in ok:
        assert ok[x][0] == kind.request_id
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 3, 1, 0)
        return
    if kind.reason is None and not kind.either:
        assert x not in got, got[x]
        assert ok[x][0] == kind.request_id
        if kind.note is not None:
            assert json.loads(ok[x][1])["note"] == kind.note
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 3, 1, 0)
        return
    assert x in got, f"line {x} was not quarantined: {got}"
    reason, raw = got[x]
    prefixes = kind.reason if isinstance(kind.reason, tuple) else (kind.reason or "",)
    assert reason.startswith(prefixes), reason
    assert raw == kind.text  # exactly the physical line(s) written, without the line end
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 2, 2, 0)


@pytest.mark.parametrize("kind", CSV_SYNTAX, ids=lambda k: k.name)
def test_a_csv_syntax_fault_is_a_row_fault(tmp_path, lab_book, kind):
    check_syntax(tmp_path, lab_book, "csv", kind)


def test_both_csv_readers_read_a_record_alike(tmp_path, lab_book):
    """DuckDB's reader loads a CSV file unless a record spans lines (or it rejects one); Python's csv module
    reads it then. A record must load the same either way: whether a row is accepted cannot depend on an
    unrelated quoted newline elsewhere in the file."""
    records = [csv_record(row(request_id="g1")),
               csv_record(row(request_id="long", note="y" * 150_000)),  # a long prompt kept in an extra column
               bad_csv(request_id="sq").replace(",sq,", ',s"q,')]  # a stray quote
    outcomes = []
    for name, tail in (("duckdb", []), ("python", [csv_record(row(request_id="g9", note="a\nb"))])):
        f = tmp_path / f"{name}.csv"
        f.write_text("\n".join([HEADER, *records, *tail]) + "\n")
        with Warehouse(tmp_path / f"{name}.duckdb") as wh:
            r = wh.load(f, book=lab_book)
            adds_up(r)
            ok = {line: rid for line, (rid, _) in accepted(wh, r.load_id).items() if line <= len(records) + 1}
            bad = {line for line in quarantine(wh, r.load_id) if line <= len(records) + 1}
        outcomes.append((ok, bad))
    (duck_ok, duck_bad), (py_ok, py_bad) = outcomes
    assert (duck_ok, duck_bad) == (py_ok, py_bad), (
        f"DuckDB's reader accepted {duck_ok} and quarantined lines {sorted(duck_bad)}; "
        f"Python's csv module accepted {py_ok} and quarantined lines {sorted(py_bad)}")


@pytest.mark.parametrize("kind", JSONL_SYNTAX, ids=lambda k: k.name)
def test_a_json_lines_syntax_fault_is_a_row_fault(tmp_path, lab_book, kind):
    check_syntax(tmp_path, lab_book, "jsonl", kind)


# ---------------------------------------------------------------- typed Parquet columns, a file each

TYPED = [  # (name, column, Arrow type, good value, bad value, expected reason start or None: accepted)
    ("tokens_double_fraction", "input_tokens", pa.float64(), 1000.0, 12.5, "input_tokens: '12.5': "),
    ("tokens_double_1e20", "input_tokens", pa.float64(), 1000.0, 1e20, "input_tokens: "),
    ("tokens_double_nan", "input_tokens", pa.float64(), 1000.0, math.nan, "input_tokens: "),
    ("tokens_uint64_max", "input_tokens", pa.uint64(), 1000, 2**64 - 1, "input_tokens: "),
    ("tokens_int64_negative", "output_tokens", pa.int64(), 500, -5, "output_tokens: '-5': "),
    ("request_count_int64_zero", "request_count", pa.int64(), 1, 0, "request_count: '0': "),
    ("cost_double_nan", "cost_usd", pa.float64(), None, math.nan, "cost_usd: "),
    ("cost_double_inf", "cost_usd", pa.float64(), None, math.inf, "cost_usd: "),
    ("cost_decimal_1e20", "cost_usd", pa.decimal128(38, 10), None, Decimal("1e20"), "cost_usd: "),
    ("latency_double_negative", "latency_ms", pa.float64(), 12.0, -1.0, "latency_ms: '-1.0': "),
    ("ts_utc_1969", "timestamp", pa.timestamp("us", tz="UTC"), datetime(2026, 10, 1, 9, tzinfo=UTC),
     datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "timestamp: "),
    ("ts_utc_2200", "timestamp", pa.timestamp("us", tz="UTC"), datetime(2026, 10, 1, 9, tzinfo=UTC),
     datetime(2200, 1, 1, tzinfo=UTC), "timestamp: "),
    # pandas writes datetime64[ns, UTC] as nanosecond timestamps: as time-zone aware as microseconds
    ("ts_utc_nanoseconds_ok", "timestamp", pa.timestamp("ns", tz="UTC"), datetime(2026, 10, 1, 9, tzinfo=UTC),
     datetime(2026, 10, 1, 9, 30, tzinfo=UTC), None),
]


@pytest.mark.parametrize("name, column, typ, good, bad, reason", TYPED, ids=[t[0] for t in TYPED])
def test_a_typed_parquet_fault_is_a_row_fault(tmp_path, lab_book, name, column, typ, good, bad, reason):
    rows = [row(request_id="g1"), row(request_id="bad"), row(request_id="g2"), row(request_id="s", model="")]
    values = [good, bad, good, good]
    table = pa.table({**{c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS if c != column},
                      column: pa.array(values, typ)})
    pq.write_table(table, tmp_path / "log.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(tmp_path / "log.parquet", book=lab_book)
        got, ok = quarantine(wh, r.load_id), accepted(wh, r.load_id)
    adds_up(r)
    if reason is None:
        assert 2 not in got, got[2]
        assert ok[2][0] == "bad" and (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 3, 1, 0)
    else:
        assert got[2][0].startswith(reason), got[2][0]
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 2, 2, 0)
        raw = strict_json(got[2][1])  # the row as JSON text (NaN and Infinity are not JSON)
        assert raw["request_id"] == "bad" and column in raw
    assert got[4][0] == "model: '': required"
    assert strict_json(got[4][1])["request_id"] == "s"


# ---------------------------------------------------------------- FOCUS

FOCUS_COLUMNS = tuple(FOCUS_HEADER.strip().split(","))
FOCUS_BASE = {"BilledCost": "1.00", "EffectiveCost": "1.00", "ListCost": "1.00", "BillingCurrency": "USD",
              "ChargePeriodStart": "2026-10-01T00:00:00Z", "ChargePeriodEnd": "2026-10-02T00:00:00Z",
              "ChargeCategory": "Usage", "ChargeClass": "", "ServiceName": "X", "ServiceCategory": "Other",
              "ProviderName": "X", "SkuId": "", "ConsumedQuantity": "", "ConsumedUnit": "", "Tags": "",
              "x_Team": "g1"}
FOCUS_VALUES = [  # (name, changes, expected reason start, a part of it)
    ("start_empty", {"ChargePeriodStart": ""}, "ChargePeriodStart: ", "required"),
    ("start_blank", {"ChargePeriodStart": "  "}, "ChargePeriodStart: ", "required"),
    ("end_empty", {"ChargePeriodEnd": ""}, "ChargePeriodEnd: ", "required"),
    ("end_before_start", {"ChargePeriodEnd": "2026-09-30T00:00:00Z"},
     "ChargePeriodEnd: '2026-09-30T00:00:00Z': must be after ChargePeriodStart", ""),
    ("start_garbage", {"ChargePeriodStart": "soon"}, "ChargePeriodStart: 'soon': is not an ISO 8601 date-time", ""),
    ("start_offset_99_99", {"ChargePeriodStart": "2026-10-01T00:00:00+99:99"}, "ChargePeriodStart: ", OFFSET_RULE),
    ("start_1969", {"ChargePeriodStart": "1969-12-31T00:00:00Z"}, "ChargePeriodStart: ", RANGE_RULE),
    ("end_2200", {"ChargePeriodEnd": "2200-01-01T00:00:00Z"}, "ChargePeriodEnd: ", RANGE_RULE),
    ("start_future", {"ChargePeriodStart": "2099-01-01T00:00:00Z", "ChargePeriodEnd": "2099-01-02T00:00:00Z"},
     "ChargePeriodStart: ", "is in the future"),
    ("billed_text", {"BilledCost": "abc"}, "BilledCost: 'abc': must be a number", ""),
    ("billed_empty", {"BilledCost": ""}, "BilledCost: ", "required"),
    ("billed_nan", {"BilledCost": "NaN"}, "BilledCost: 'NaN': ", ""),
    ("billed_above_decimal_38_10", {"BilledCost": "1e30"}, "BilledCost: '1e30': ", "DECIMAL(38,10)"),
    ("currency_eur", {"BillingCurrency": "EUR"}, "BillingCurrency: 'EUR': must be USD", ""),
    ("category_refund", {"ChargeCategory": "Refund"}, "ChargeCategory: 'Refund': must be one of", ""),
    ("tags_bad_json", {"Tags": '{"team": '}, "Tags: ", "must be a JSON object"),
    ("service_category_bad", {"ServiceCategory": "Generative AI"}, "ServiceCategory: 'Generative AI': ", ""),
    ("charge_class_bad", {"ChargeClass": "Bogus"}, "ChargeClass: 'Bogus': must be empty or Correction", ""),
]


def focus_record(values: dict) -> str:
    return ",".join(csv_cell(values[c]) for c in FOCUS_COLUMNS)


@pytest.fixture(scope="module")
def focus_loads(tmp_path_factory):
    """fmt -> Loaded for a FOCUS file of every value kind (csv or parquet), loaded once each."""
    cache = {}

    def get(fmt: str) -> Loaded:
        if fmt not in cache:
            folder = tmp_path_factory.mktemp(f"focus-{fmt}")
            records = [("g1", {**FOCUS_BASE, "x_Team": "g1"})]
            records += [(name, {**FOCUS_BASE, "x_Team": name, **changes}) for name, changes, _, _ in FOCUS_VALUES]
            records.append(("g2", {**FOCUS_BASE, "x_Team": "g2"}))
            got = Loaded(values=dict(records))
            path = folder / f"bill.{fmt}"
            if fmt == "csv":
                texts = [focus_record(v) for _, v in records]
                path.write_text(FOCUS_HEADER + "\n".join(texts) + "\n")
                got.text = {k: t for (k, _), t in zip(records, texts, strict=True)}
                got.line = {k: n for n, (k, _) in enumerate(records, start=2)}
            else:
                pq.write_table(pa.table({c: pa.array([v[c] for _, v in records], pa.string())
                                         for c in FOCUS_COLUMNS}), path)
                got.line = {k: n for n, (k, _) in enumerate(records, start=1)}
            try:
                with Warehouse(folder / "w.duckdb") as wh:
                    got.result = wh.load(path)
                    got.quarantine = quarantine(wh, got.result.load_id)
            except Exception as exc:  # every case reports it
                got.error = exc
            cache[fmt] = got
        return cache[fmt]

    return get


@pytest.mark.parametrize("fmt, name, reason, rule",
                         [pytest.param(fmt, n, r, u, id=f"{fmt}-{n}") for n, _, r, u in FOCUS_VALUES
                          for fmt in ("csv", "parquet")])
def test_a_focus_value_fault_is_quarantined_with_its_reason_and_raw_text(focus_loads, fmt, name, reason, rule):
    got = focus_loads(fmt)
    if got.error is not None:
        pytest.fail(f"the FOCUS {fmt} file did not load: {type(got.error).__name__}: {got.error}")
    line = got.line[name]
    assert line in got.quarantine, f"line {line} was not quarantined: {got.quarantine}"
    why, raw = got.quarantine[line]
    assert why.startswith(reason) and rule in why, why
    if fmt == "csv":
        assert raw == got.text[name]
    else:
        assert strict_json(raw) == got.values[name]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_focus_value_files_account_for_every_row(focus_loads, fmt):
    got = focus_loads(fmt)
    if got.error is not None:
        pytest.fail(f"the FOCUS {fmt} file did not load: {type(got.error).__name__}: {got.error}")
    r = got.result
    assert r.kind == "focus"
    n = len(FOCUS_VALUES)
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (n + 2, 2, n, 0)


def test_a_billing_period_may_be_empty_but_not_wrong(tmp_path):
    """BillingPeriodStart/End are optional in an import: empty or blank is stored as NULL; a value must still be a
    valid date-time, and is stored exactly."""
    header = "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingPeriodStart,x_Case\n"
    day = "1.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage"
    rows = [f"{day},2026-10-01T00:00:00Z,good", f"{day},,empty", f"{day},  ,blank", f"{day},soon,garbage",
            f"{day},2026-10-01T00:00:00+99:99,offset"]
    path = tmp_path / "bill.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(path)
        stored = dict(wh.sql("SELECT extra->>'x_Case', BillingPeriodStart FROM charges").fetchall())
        why = quarantine(wh, r.load_id)
    assert (r.rows_read, r.accepted, r.quarantined) == (5, 3, 2)
    assert stored == {"good": datetime(2026, 10, 1, tzinfo=UTC), "empty": None, "blank": None}
    assert why[5][0] == "BillingPeriodStart: 'soon': is not an ISO 8601 date-time"
    assert why[6][0].startswith("BillingPeriodStart: '2026-10-01T00:00:00+99:99': UTC offset must be")


FOCUS_GOOD = focus_record(FOCUS_BASE)
FOCUS_SYNTAX = [  # (name, the record as written, expected reason start; None: accepted or quarantined)
    ("stray_quote_inside_a_field", FOCUS_GOOD.replace(",X,Other,", ',X"Y,Other,').replace(",g1", ",bad"), None),
    ("text_after_a_closing_quote", FOCUS_GOOD.replace(",X,Other,", ',"X"Y,Other,').replace(",g1", ",bad"),
     "line not valid CSV"),
    ("too_few_fields", "1.00,1.00,1.00,USD", "line has 4 fields, the header has 16"),
    ("too_many_fields", FOCUS_GOOD.replace(",g1", ",bad") + ",x,y", "line has 18 fields, the header has 16"),
    ("unterminated_quote", FOCUS_GOOD.replace(",X,Other,", ',"X,Other,').replace(",g1", ",bad"),
     "line not valid CSV"),
]


@pytest.mark.parametrize("name, text, reason", FOCUS_SYNTAX, ids=[f[0] for f in FOCUS_SYNTAX])
def test_a_focus_syntax_fault_is_a_row_fault_and_the_file_stays_focus(tmp_path, name, text, reason):
    g2 = focus_record({**FOCUS_BASE, "x_Team": "g2", "BilledCost": "2.00"})
    sentinel = focus_record({**FOCUS_BASE, "x_Team": "s", "ChargeClass": "Bogus"})
    f = tmp_path / "bill.csv"  # the fault last: an unterminated quote would swallow what follows
    f.write_text(FOCUS_HEADER + "\n".join([FOCUS_GOOD, g2, sentinel, text]) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(f)
        got = quarantine(wh, r.load_id)
    adds_up(r)
    assert r.kind == "focus"
    assert got[4] == ("ChargeClass: 'Bogus': must be empty or Correction", sentinel)
    if reason is None:
        assert r.rows_read == 4 and (r.accepted, r.quarantined) in ((3, 1), (2, 2))
        if r.quarantined == 2:
            assert got[5][1] == text
        return
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 2, 2, 0)
    assert got[5][0].startswith(reason) and got[5][1] == text


# ---------------------------------------------------------------- OpenTelemetry spans

GOOD_SPAN = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "lab", "gen_ai.request.model": "m-small",
             "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500}
OTEL_KINDS = [  # (name, attribute changes (None removes), raw AnyValues, startTimeUnixNano (... keeps it), reason)
    ("start_minus_one", {}, {}, "-1", ("timestamp: ", RANGE_RULE)),  # -1 ns is 1969-12-31T23:59:59.999999999Z
    ("start_beyond_year_9999", {}, {}, "300000000000000000000", ("timestamp: '300000000000000000000': ", "")),
    ("start_year_2286", {}, {}, "10000000000000000000", ("timestamp: ", RANGE_RULE)),
    ("start_text", {}, {}, "soon", ("timestamp: 'soon': ", "")),
    ("start_empty", {}, {}, "", ("timestamp: ", "required")),
    ("start_missing", {}, {}, None, ("timestamp: missing: required", "")),
    ("int_value_text", {"gen_ai.usage.output_tokens": None}, {"gen_ai.usage.output_tokens": {"intValue": "abc"}},
     ..., ("output_tokens: 'abc': must be a whole number >= 0", "")),
    ("int_value_fraction", {"gen_ai.usage.input_tokens": None}, {"gen_ai.usage.input_tokens": {"intValue": "12.5"}},
     ..., ("input_tokens: '12.5': must be a whole number >= 0", "")),
    ("int_value_above_2_63", {"gen_ai.usage.input_tokens": None},
     {"gen_ai.usage.input_tokens": {"intValue": "99999999999999999999"}}, ...,
     ("input_tokens: '99999999999999999999': must be a whole number >= 0", "")),
    ("double_tokens", {"gen_ai.usage.input_tokens": None}, {"gen_ai.usage.input_tokens": {"doubleValue": 12.5}},
     ..., ("input_tokens: '12.5': must be a whole number >= 0", "")),
    ("negative_tokens", {"gen_ai.usage.output_tokens": -5}, {}, ..., ("output_tokens: '-5': ", "")),
    ("model_missing", {"gen_ai.request.model": None}, {}, ..., ("model: missing: required", "")),
    ("unknown_model", {"gen_ai.request.model": "no-such-model"}, {}, ..., ("model: 'no-such-model': unknown", "")),
    ("cached_above_input", {"gen_ai.usage.cache_read.input_tokens": 2000}, {}, ...,
     ("input_tokens: '1000': must include cached_input_tokens", "")),
]


def otel_span(n: int, changes: dict, raw: dict, start) -> dict:
    attrs = {k: v for k, v in {**GOOD_SPAN, **changes}.items() if v is not None}
    s = span(f"{n:016x}", attrs)
    s["attributes"] += [{"key": k, "value": v} for k, v in raw.items()]
    if start is None:
        del s["startTimeUnixNano"]
    elif start is not ...:
        s["startTimeUnixNano"] = start
    return s


@pytest.fixture(scope="module")
def otel_load(tmp_path_factory, lab_book):
    folder = tmp_path_factory.mktemp("otel")
    spans = [otel_span(1, {}, {}, ...)] + [otel_span(n, ch, raw, start) for n, (_, ch, raw, start, _)
                                           in enumerate(OTEL_KINDS, start=2)] + [otel_span(99, {}, {}, ...)]
    f = folder / "spans.json"
    f.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}, indent=1))
    got = Loaded(values={n: s for n, s in enumerate(spans, start=1)})
    try:
        with Warehouse(folder / "w.duckdb") as wh:
            got.result = wh.load(f, book=lab_book)
            got.quarantine = quarantine(wh, got.result.load_id)
    except Exception as exc:  # every case reports it
        got.error = exc
    return got


@pytest.mark.parametrize("line, reason", [pytest.param(n, k[4], id=k[0]) for n, k in enumerate(OTEL_KINDS, 2)])
def test_an_otel_span_fault_is_quarantined_with_the_span_as_raw_text(otel_load, line, reason):
    got = otel_load
    if got.error is not None:
        pytest.fail(f"the OTel file did not load: {type(got.error).__name__}: {got.error}")
    assert line in got.quarantine, f"span {line} was not quarantined: {got.quarantine}"
    why, raw = got.quarantine[line]
    assert why.startswith(reason[0]) and reason[1] in why, why
    assert json.loads(raw) == got.values[line]  # the span's JSON, as it came


def test_the_otel_file_accounts_for_every_span(otel_load):
    if otel_load.error is not None:
        pytest.fail(f"the OTel file did not load: {type(otel_load.error).__name__}: {otel_load.error}")
    r = otel_load.result
    n = len(OTEL_KINDS)
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (n + 2, 2, n, 0)


# ---------------------------------------------------------------- several files: the bad ones refused, one line each


def forecast_command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "forecast"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "forecast.cli"]


def test_file_level_faults_refuse_only_their_file_with_one_error_line(tmp_path):
    prices = tmp_path / "overrides.yaml"
    prices.write_text(OVERRIDES)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n" + csv_record(row(request_id="g1")) + "\n" + csv_record(row(request_id="g2")) + "\n")
    faulty = tmp_path / "faulty.jsonl"
    faulty.write_text("\n".join([json_record(row(request_id="j1")), json_record(row(request_id="j2", timestamp="")),
                                 "{not json"]) + "\n")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(HEADER.encode() + b"\n" + csv_record(row(request_id="caf_")).encode().replace(b"_", b"\xe9")
                       + b"\n")
    nocols = tmp_path / "nocols.parquet"
    pq.write_table(pa.table({"timestamp": ["2026-10-01T09:00:00Z"], "id": ["x"]}), nocols)
    notparquet = tmp_path / "broken.parquet"
    notparquet.write_bytes(b"PAR1 this is not parquet")
    nototel = tmp_path / "spans.json"
    nototel.write_text('{"spans": []}')
    db = tmp_path / "w.duckdb"
    done = subprocess.run([*forecast_command(), "ingest", str(latin1), str(good), str(nocols), str(faulty),
                           str(notparquet), str(nototel), "--warehouse", str(db), "--prices", str(prices)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    errors = done.stderr.splitlines()
    assert len(errors) == 4 and all(line.startswith("error: ") for line in errors), done.stderr
    assert errors[0] == f"error: {latin1}: line 2: byte 0xe9 is not UTF-8: save the file as UTF-8"
    assert errors[1].startswith(f"error: {nocols}: missing column(s) request_id, model, input_tokens, output_tokens")
    assert errors[2].startswith(f"error: {notparquet}: not a readable Parquet file")
    assert errors[3].startswith(f"error: {nototel}: line 1: not an OTLP trace export")
    out = done.stdout.splitlines()
    assert out[0].startswith(f"{good} [native]: read 2 = accepted 2 + quarantined 0 + duplicate 0;")
    assert out[1].startswith(f"{faulty} [native]: read 3 = accepted 1 + quarantined 2 + duplicate 0;")
    with Warehouse(db, read_only=True) as wh:
        assert wh.sql("SELECT source_file FROM loads ORDER BY load_id").fetchall() == [(str(good),), (str(faulty),)]
        assert wh.sql("SELECT line, raw_text FROM quarantine ORDER BY line").fetchall() == [
            (2, json_record(row(request_id="j2", timestamp=""))), (3, "{not json")]


GOOD_OTLP = span("00000000000000aa", GOOD_SPAN)


def otlp(resource_spans) -> bytes:
    return json.dumps({"resourceSpans": resource_spans}).encode()


FILE_FAULTS = [  # (name, file name, bytes, a part of the one-line error; None: an error line or a clean load)
    ("duplicate_column_names", "log.csv", (HEADER + ",Model\n" + csv_record(BASE) + ",x\n").encode(),
     "line 1: column names repeat (ignoring case): Model, model"),
    ("reserved_column_name", "log.csv", (HEADER + ",_line\n" + csv_record(BASE) + ",1\n").encode(),
     "columns _line, _malformed and _raw are reserved"),
    ("unterminated_quote_in_the_header", "log.csv", ('"' + HEADER + "\n" + csv_record(BASE) + "\n").encode(),
     "line 1: header is not valid CSV"),
    ("empty_column_name_in_the_header", "log.csv", ("," + HEADER + "\n," + csv_record(BASE) + "\n").encode(), None),
    ("only_a_line_end", "log.csv", b"\n", None),
    ("ends_inside_a_utf8_character", "log.csv", (HEADER + "\n" + csv_record(BASE)).encode() + b"\xc3",
     "line 2: file ends inside a UTF-8 character"),
    ("utf16", "log.csv", (HEADER + "\n" + csv_record(BASE) + "\n").encode("utf-16"), "line 1: byte 0xff is not UTF-8"),
    ("latin1_inside_a_quoted_field", "log.csv", HEADER.encode() + b'\n2026-10-01T09:00:00Z,"caf\xe9",lab,m-small,'
     b"1,0,1,1,,ok,1,success,false,n\n", "line 2: byte 0xe9 is not UTF-8"),
    ("json_lines_without_objects", "log.jsonl", b"[1]\n2\n", "missing column(s) timestamp, request_id, model"),
    ("json_lines_latin1_in_a_value", "log.jsonl", b'{"timestamp": "2026-10-01T09:00:00Z", "request_id": "a", '
     b'"model": "m-small", "input_tokens": 1, "output_tokens": 1}\n{"timestamp": "2026-10-01T09:00:00Z", '
     b'"request_id": "caf\xe9", "model": "m-small", "input_tokens": 1, "output_tokens": 1}\n',
     "line 2: byte 0xe9 is not UTF-8"),
    ("latin1_in_a_plain_field_of_an_exact_csv", "log.csv", HEADER.encode() + b"\n2026-10-01T09:00:00Z,caf\xe9,lab,"
     b"m-small,1,0,1,1,,ok,1,success,false,n\n", "line 2: byte 0xe9 is not UTF-8"),
    ("focus_without_its_columns", "bill.csv", b"BilledCost,ChargePeriodStart\n1.0,2026-10-01T00:00:00Z\n",
     "missing FOCUS column(s) ChargePeriodEnd, ChargeCategory, BillingCurrency"),
    ("otlp_not_an_export", "spans.json", b"[1, 2]", "line 1: not an OTLP trace export"),
    ("otlp_not_json", "spans.json", b"{oops", "line 1: not valid OTLP JSON"),
    ("otlp_resource_spans_entry_not_an_object", "spans.json", otlp([5]), None),
    ("otlp_scope_spans_entry_not_an_object", "spans.json", otlp([{"scopeSpans": [5]}]), None),
    ("otlp_span_not_an_object", "spans.json", otlp([{"scopeSpans": [{"spans": [5, GOOD_OTLP]}]}]), None),
    ("otlp_resource_attributes_not_a_list", "spans.json",
     otlp([{"resource": {"attributes": 5}, "scopeSpans": [{"spans": [GOOD_OTLP]}]}]), None),
    ("otlp_span_attribute_value_not_an_object", "spans.json",
     otlp([{"scopeSpans": [{"spans": [{**GOOD_OTLP, "attributes": [{"key": "gen_ai.request.model", "value": "m"},
                                                                  *GOOD_OTLP["attributes"]]}]}]}]), None),
    ("parquet_empty_file", "log.parquet", b"", "not a readable Parquet file"),
    ("otlp_latin1", "spans.json", b'{"resourceSpans": []}\n{"x": "caf\xe9"}\n', "line 2: byte 0xe9 is not UTF-8"),
]


@pytest.mark.parametrize("name, filename, data, message", FILE_FAULTS, ids=[f[0] for f in FILE_FAULTS])
def test_a_file_level_fault_is_one_usage_error_line_never_another_exception(tmp_path, lab_book, name, filename,
                                                                             data, message):
    path = tmp_path / filename
    path.write_bytes(data)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        try:
            r = wh.load(path, book=lab_book)
        except UsageError as exc:
            assert len(exc.problems) == 1 and "\n" not in exc.problems[0], exc.problems
            assert exc.problems[0].startswith(f"{path}: "), exc.problems
            assert message is None or message in exc.problems[0], exc.problems
            assert wh.sql("SELECT count(*) FROM loads").fetchall()[0][0] == 0
            return
        assert message is None, f"loaded, but a file-level error was expected: {r}"
        adds_up(r)
        assert all(raw for (raw,) in wh.sql("SELECT raw_text FROM quarantine").fetchall())


# ---------------------------------------------------------------- a reject seen again is a duplicate


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_overlapping_files_record_each_reject_once(tmp_path, lab_book, fmt):
    a1, a2, b1 = (row(request_id=i) for i in ("a1", "a2", "b1"))
    x1 = row(request_id="x1", output_tokens="-5")
    x2 = row(request_id="x2", timestamp="nope")
    y1 = row(request_id="y1", status="maybe")

    def write(path, rows):
        if fmt == "parquet":
            pq.write_table(pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS}), path)
        else:
            head = [HEADER] if fmt == "csv" else []
            path.write_text("\n".join([*head, *(csv_record(r) if fmt == "csv" else json_record(r) for r in rows)])
                            + "\n")
        return path

    a = write(tmp_path / f"a.{fmt}", [a1, x1, x2, a2])
    b = write(tmp_path / f"b.{fmt}", [x2, b1, x1, y1, a1])  # x2, x1 again (other lines), new y1 and b1, a1 again
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ra = wh.load(a, book=lab_book)
        rb = wh.load(b, book=lab_book)
        rb2 = wh.load(b, book=lab_book)  # the same file again: every line seen
        rows = wh.sql("SELECT load_id, line, raw_text FROM quarantine ORDER BY load_id, line").fetchall()
    assert (ra.rows_read, ra.accepted, ra.quarantined, ra.duplicate) == (4, 2, 2, 0)
    assert (rb.rows_read, rb.accepted, rb.quarantined, rb.duplicate) == (5, 1, 1, 3)  # x2, x1 and a1 again
    assert (rb2.rows_read, rb2.accepted, rb2.quarantined, rb2.duplicate) == (5, 0, 0, 5)
    first = 2 if fmt == "csv" else 1  # the line of the first record
    assert [(load, line) for load, line, _ in rows] == [(ra.load_id, first + 1), (ra.load_id, first + 2),
                                                        (rb.load_id, first + 3)]
    if fmt == "parquet":
        assert [strict_json(raw) for _, _, raw in rows] == [x1, x2, y1]
    else:
        encode = csv_record if fmt == "csv" else json_record
        assert [raw for _, _, raw in rows] == [encode(x1), encode(x2), encode(y1)]


# ---------------------------------------------------------------- forecast quarantine


def test_quarantine_command_lists_filters_and_neutralises_formulas(tmp_path, capsys):
    prices = tmp_path / "overrides.yaml"
    prices.write_text(OVERRIDES)
    db = str(tmp_path / "w.duckdb")
    a = tmp_path / "a.csv"
    bad_ts, bad_tokens = csv_record(row(request_id="q1", timestamp="nope")), csv_record(row(request_id="q2",
                                                                                                input_tokens="-1"))
    a.write_text("\n".join([HEADER, bad_ts, csv_record(row(request_id="ok")), bad_tokens]) + "\n")
    b = tmp_path / "b.csv"  # every row refused; the raw text starts like a spreadsheet formula
    formula = "=cmd(),,lab,m-small,1,1"
    b.write_text("request_id,timestamp,provider,model,input_tokens,output_tokens\n" + formula + "\n")
    assert main(["ingest", str(a), "--warehouse", db, "--prices", str(prices)]) == 0
    capsys.readouterr()
    assert main(["ingest", str(b), "--warehouse", db, "--prices", str(prices)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{b} [native]: read 1 = accepted 0 + quarantined 1 + duplicate 0")
    assert err.splitlines() == [f"warning: {b}: every row read was quarantined: see `forecast quarantine --load 2`"]

    assert main(["quarantine", "--warehouse", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["load", "line", "file", "reason", "raw", "text"]
    assert len(lines) == 5 and lines[-1] == "3 rows"
    assert lines[1].split()[:3] == ["1", "2", str(a)] and "timestamp: 'nope'" in lines[1]
    assert lines[3].split()[:3] == ["2", "2", str(b)] and lines[3].endswith(formula)

    assert main(["quarantine", "--warehouse", db, "--reason", "WHOLE NUMBER"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].split()[:2] == ["1", "4"] and lines[-1] == "1 row"

    assert main(["quarantine", "--warehouse", db, "--load", "2", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(d["load_id"], d["line"], d["raw_text"]) for d in doc] == [(2, 2, formula)]
    assert doc[0]["reason"].startswith("timestamp: ") and "required" in doc[0]["reason"]

    assert main(["quarantine", "--warehouse", db, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["raw_text"] for d in doc] == [bad_ts, bad_tokens, formula]

    assert main(["quarantine", "--warehouse", db, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["load_id", "source_file", "line", "reason", "raw_text", "resolved_by_load"]
    assert [r[4] for r in table[1:]] == [bad_ts, bad_tokens, "'" + formula]  # a spreadsheet shows it as text

    assert main(["quarantine", "--warehouse", db, "--reason", "no such reason"]) == 0
    assert capsys.readouterr().out == "no quarantined rows match\n"


# ---------------------------------------------------------------- random damage (hypothesis)

HYPO_HEADER = "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,status"
HYPO_ROWS = [f"2026-10-0{d}T09:00:00Z,h{d},openai,gpt-4o-mini,{100 * d},{10 * d},{'0.5' if d % 2 else ''},ok"
             for d in range(1, 6)]
HYPO_JSON = [json.dumps({"timestamp": f"2026-10-0{d}T09:00:00Z", "request_id": f"h{d}", "provider": "openai",
                         "model": "gpt-4o-mini", "input_tokens": 100 * d, "output_tokens": 10 * d,
                         "cost_usd": 0.5 if d % 2 else None, "status": "ok"}) for d in range(1, 6)]
JSON_KEYS = ("timestamp", "request_id", "provider", "model", "input_tokens", "output_tokens", "cost_usd", "status")
TEXT = st.text(max_size=12)
SPECIAL = st.sampled_from(['"', ",", "\n", "\r", "\r\n", "{", "}", ":", "\x00", " ", "\ufeff"])
MUTATION = st.one_of(
    st.tuples(st.just("field"), st.integers(0, 4), st.integers(0, 7), TEXT, st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.one_of(SPECIAL, TEXT)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
)


def mutate(text: str, mutations, fmt: str) -> str:
    for m in mutations:
        if m[0] == "field":
            _, r, col, new, as_json = m
            lines = text.split("\n")
            n = r + (1 if fmt == "csv" else 0)
            if n < len(lines):
                if fmt == "csv":
                    cells = lines[n].split(",")
                    if col < len(cells):
                        cells[col] = new
                    lines[n] = ",".join(cells)
                else:
                    key = json.dumps(JSON_KEYS[col]) + ": "
                    start = lines[n].find(key)
                    if start >= 0:
                        start += len(key)
                        end = lines[n].find(", ", start)
                        end = len(lines[n]) - 1 if end < 0 else end
                        lines[n] = lines[n][:start] + (json.dumps(new) if as_json else new) + lines[n][end:]
            text = "\n".join(lines)
        elif m[0] == "delete" and text:
            p = m[1] % len(text)
            text = text[:p] + text[p + 1:]
        elif m[0] == "insert":
            p = m[1] % (len(text) + 1)
            text = text[:p] + m[2] + text[p:]
        elif m[0] == "truncate":
            text = text[:m[1] % (len(text) + 1)]
    return text


def load_damaged(fmt: str, text: str) -> None:
    """Load damaged text (priced with genai-prices alone, whose repr is short in a falsifying example)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"log.{fmt}"
        path.write_bytes(text.encode("utf-8"))
        with Warehouse(Path(folder) / "w.duckdb") as wh:
            try:
                r = wh.load(path, book=PriceBook())
            except UsageError as exc:  # a file-level fault: one line naming the file
                assert len(exc.problems) == 1 and "\n" not in exc.problems[0]
                return
            adds_up(r)
            stored = wh.sql("SELECT count(*) FROM requests WHERE load_id = ?", [r.load_id]).fetchall()[0][0]
            assert stored == r.accepted
            for line, reason, raw in wh.sql("SELECT line, reason, raw_text FROM quarantine WHERE load_id = ?",
                                            [r.load_id]).fetchall():
                assert raw, (line, reason)
                assert raw in text, (line, reason, raw)  # the file's own text, never made up


@settings(max_examples=40, deadline=None)
@given(st.lists(MUTATION, min_size=1, max_size=3))
@example([("field", 0, 4, "-5", False)])  # a row fault for sure: line 2's input_tokens
@example([("insert", 100, '"'), ("field", 3, 1, "x,y", False)])  # a stray quote in line 2, a long line 5
def test_random_damage_to_a_csv_file_is_quarantined_or_refused(mutations):
    load_damaged("csv", mutate(HYPO_HEADER + "\n" + "\n".join(HYPO_ROWS) + "\n", mutations, "csv"))


@settings(max_examples=40, deadline=None)
@given(st.lists(MUTATION, min_size=1, max_size=3))
@example([("field", 0, 4, "-5", True)])  # a row fault for sure: line 1's input_tokens
@example([("field", 2, 0, "oops", False), ("truncate", 500)])  # not JSON, and a cut line
def test_random_damage_to_a_json_lines_file_is_quarantined_or_refused(mutations):
    load_damaged("jsonl", mutate("\n".join(HYPO_JSON) + "\n", mutations, "jsonl"))


# ---------------------------------------------------------------- found in review

NATIVE_HEADER = "timestamp,request_id,model,input_tokens,output_tokens\n"


def test_a_file_name_with_glob_characters_reads_that_file_only(tmp_path, lab_book):
    """DuckDB reads * ? [ ] in a path as a pattern: c[1].csv would read its neighbour c1.csv."""
    (tmp_path / "c[1].csv").write_text(NATIVE_HEADER + "2026-10-01T09:00:00Z,literal,m-small,1,1\n")
    (tmp_path / "c1.csv").write_text(NATIVE_HEADER + "2026-10-01T09:00:00Z,OTHER,m-small,1,1\n")
    pq.write_table(pa.table({"timestamp": ["2026-10-01T09:00:00Z"], "request_id": ["star"], "model": ["m-small"],
                             "input_tokens": ["1"], "output_tokens": ["1"]}), tmp_path / "v*.parquet")
    pq.write_table(pa.table({"timestamp": ["2026-10-01T09:00:00Z"], "request_id": ["x1"], "model": ["m-small"],
                             "input_tokens": ["1"], "output_tokens": ["1"]}), tmp_path / "vx.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        a = wh.load(tmp_path / "c[1].csv", book=lab_book)
        b = wh.load(tmp_path / "v*.parquet", book=lab_book)
        got = wh.sql("SELECT load_id, request_id, source_line FROM requests ORDER BY load_id").fetchall()
    assert (a.rows_read, a.source_file) == (1, str(tmp_path / "c[1].csv"))
    assert (b.rows_read, b.source_file) == (1, str(tmp_path / "v*.parquet"))
    assert got == [(a.load_id, "literal", 2), (b.load_id, "star", 1)]


def test_json_lines_keys_are_found_whatever_their_characters_and_the_line_indent(tmp_path, lab_book):
    """Keys with non-ASCII letters, a slash or a quote, and a line indented by a tab, read alike whether the file
    goes through read_json (no blank line) or line by line (a blank line)."""
    lines = ['{"timestamp":"2026-10-01T09:00:00Z","request_id":"r1","model":"m-small","input_tokens":1,'
             '"output_tokens":1,"équipe":"blue","a/b":"s","q\\"k":"w"}',
             '\t{"timestamp":"2026-10-01T09:00:00Z","request_id":"r2","model":"m-small","input_tokens":1,'
             '"output_tokens":1,"team_id":"red"}']
    results = []
    for name, text in (("plain.jsonl", "\n".join(lines) + "\n"), ("blank.jsonl", "\n".join(lines) + "\n\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        with Warehouse(tmp_path / f"{name}.duckdb") as wh:
            r = wh.load(tmp_path / name, book=lab_book)
            rows = wh.sql("SELECT request_id, team_id, extra FROM requests ORDER BY request_id").fetchall()
        assert (r.rows_read, r.accepted) == (2, 2), r
        results.append([(rid, team, json.loads(extra)) for rid, team, extra in rows])
    assert results[0] == results[1]
    assert results[0][0] == ("r1", None, {"équipe": "blue", "a/b": "s", 'q"k': "w"})
    assert results[0][1][:2] == ("r2", "red")


def test_token_counts_near_the_bigint_limit_are_quarantined_not_a_crash(tmp_path, lab_book):
    big = 9_000_000_000_000_000_000  # fits BIGINT (< 2**63); two of them added do not
    (tmp_path / "big.csv").write_text(
        "timestamp,request_id,model,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens\n"
        f"2026-10-01T09:00:00Z,a,m-small,{big},{big},{big},{big}\n"
        f"2026-10-01T09:00:00Z,b,m-small,{big},0,0,{big}\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(tmp_path / "big.csv", book=lab_book)
        got = quarantine(wh, r.load_id)
    assert (r.rows_read, r.accepted, r.quarantined) == (2, 0, 2)
    assert got[2][0].startswith(f"input_tokens: '{big}': must include cached_input_tokens")
    # m-small: $1 in + $2 out per million tokens: 9e18 x 3 / 1e6 = $27,000,000,000,000
    assert got[3][0] == (f"input_tokens: '{big}': priced at $27,000,000,000,000: above the $99,999,999 one row can "
                         "hold (check the token counts)")


def test_a_focus_reject_accepted_by_a_later_load_is_marked_resolved(tmp_path):
    naive = {**FOCUS_BASE, "ChargePeriodStart": "2026-10-01T00:00:00", "ChargePeriodEnd": "2026-10-02T00:00:00"}
    (tmp_path / "f.csv").write_text(FOCUS_HEADER + focus_record(naive) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = wh.load(tmp_path / "f.csv", kind="focus")
        second = wh.load(tmp_path / "f.csv", kind="focus", timezone="UTC")
        open_rejects = wh.sql("SELECT count(*) FROM quarantine WHERE resolved_by_load IS NULL").fetchall()[0][0]
        resolved = wh.sql("SELECT resolved_by_load FROM quarantine").fetchall()
    assert (first.accepted, first.quarantined, second.accepted, second.quarantined) == (0, 1, 1, 0)
    assert open_rejects == 0 and resolved == [(second.load_id,)]


def test_a_parquet_column_named_file_row_number_is_one_error_line(tmp_path):
    pq.write_table(pa.table({"timestamp": ["2026-10-01T09:00:00Z"], "request_id": ["a"], "model": ["m-small"],
                             "input_tokens": [1], "output_tokens": [1], "file_row_number": [7]}),
                   tmp_path / "p.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(UsageError) as err:
        wh.load(tmp_path / "p.parquet")
    assert err.value.problems == [f"{tmp_path / 'p.parquet'}: column file_row_number is reserved (the reader "
                                  "numbers Parquet rows under that name): rename it"]
