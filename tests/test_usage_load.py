"""Loading request logs: checks, quarantine, duplicates, pricing, DECIMAL totals, atomicity."""

import csv
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from genai_prices import Usage

from forecast.core.errors import ParameterError, UsageError
from forecast.usage.warehouse import Warehouse

from .conftest import ROOT

HEADER = ("timestamp,request_id,provider,model,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,"
          "cost_usd,status,latency_ms,team_id,environment,note\n")


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.fixture
def wh(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as w:
        yield w


def test_priced_rows_hand_computed(tmp_path, wh, book):
    # m-big (conftest): input $2, cached read $0.5, cache write $2.5, output $10 per million tokens.
    # r1: 1,000,000 input of which 400,000 cached and 100,000 written, 50,000 output:
    #     500,000 x 2 + 400,000 x 0.5 + 100,000 x 2.5 + 50,000 x 10 = 1.0 + 0.2 + 0.25 + 0.5 = $1.95
    # r2: logged cost 0.123456789 is kept as given; r3: 1000 in, 0 out at m-small ($1/M) = $0.001
    f = write(tmp_path / "log.csv", HEADER
              + "2026-10-01T10:00:00Z,r1,lab,m-big,1000000,400000,100000,50000,,ok,10,t,production,x\n"
              + "2026-10-01T12:00:00+02:00,r2,lab,m-big,10,0,0,10,0.123456789,retry,10,t,production,y\n"
              + "2026-10-02T00:00:00Z,r3,lab,m-small,1000,,,0,,error,,,,\n")
    r = wh.load(f, book=book)
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (3, 3, 0, 0)
    rows = dict(wh.sql("SELECT request_id, cost_usd FROM requests").fetchall())
    assert rows == {"r1": Decimal("1.95"), "r2": Decimal("0.123456789"), "r3": Decimal("0.001")}
    assert r.cost_usd_accepted == Decimal("2.074456789")
    ts = wh.sql("SELECT \"timestamp\" FROM requests WHERE request_id = 'r2'").fetchall()[0][0]
    assert ts == datetime(2026, 10, 1, 10, 0, tzinfo=UTC)  # +02:00 normalised to UTC
    extra = wh.sql("SELECT extra FROM requests WHERE request_id = 'r1'").fetchall()[0][0]
    assert json.loads(extra) == {"note": "x"}  # extra columns are kept


def test_priced_with_genai_prices_at_the_rows_date(tmp_path, wh):
    """o3's price fell from $10/$40 to $2/$8 on 2025-06-10; rows on either side get their day's price.
    Expected values from genai-prices' own calculator (an independent source)."""
    f = write(tmp_path / "o3.csv", "timestamp,request_id,provider,model,input_tokens,output_tokens\n"
              "2025-06-09T12:00:00Z,a,openai,o3,20000,3000\n2025-06-11T12:00:00Z,b,openai,o3,20000,3000\n")
    wh.load(f)
    got = dict(wh.sql("SELECT request_id, cost_usd FROM requests").fetchall())
    for rid, day in (("a", 9), ("b", 11)):
        theirs = genai_prices.calc_price(Usage(input_tokens=20000, output_tokens=3000), "o3", provider_id="openai",
                                         genai_request_timestamp=datetime(2025, 6, day, 12, tzinfo=UTC))
        assert float(got[rid]) == pytest.approx(float(theirs.total_price), abs=1e-10)
    assert got["a"] == Decimal("0.32") and got["b"] == Decimal("0.064")  # 20k x 10 + 3k x 40; 20k x 2 + 3k x 8


def test_every_bad_row_is_quarantined_with_line_and_reason(tmp_path, wh, book):
    f = write(tmp_path / "bad.csv", HEADER
              + "2026-10-01T00:00:00Z,ok1,lab,m-small,10,0,0,10,,ok,1,t,production,\n"  # line 2: fine
              + "2026-10-01T00:00:00Z,b1,lab,m-small,-5,0,0,10,,ok,1,t,production,\n"  # 3
              + "2026-10-01T00:00:00Z,b2,lab,m-small,12.5,0,0,10,,ok,1,t,production,\n"  # 4
              + "2026-10-01 00:00:00,b3,lab,m-small,10,0,0,10,,ok,1,t,production,\n"  # 5: naive
              + "2099-01-01T00:00:00Z,b4,lab,m-small,10,0,0,10,,ok,1,t,production,\n"  # 6: future
              + "2026-10-01T00:00:00Z,b5,lab,nope,10,0,0,10,,ok,1,t,production,\n"  # 7: no price
              + "2026-10-01T00:00:00Z,,lab,m-small,10,0,0,10,,ok,1,t,production,\n"  # 8: no id
              + "2026-10-01T00:00:00Z,b7,lab,m-small,10,0,0,10,,maybe,1,t,production,\n"  # 9: status
              + "2026-10-01T00:00:00Z,b8,lab,m-small,10,8,5,10,,ok,1,t,production,\n"  # 10: 8 + 5 > 10
              + "2026-10-01T00:00:00Z,b9,lab,m-small,10\n"  # 11: short line
              + "2026-10-01T00:00:00Z,b10,lab,m-small,10,0,0,10,-1,ok,1,t,production,\n"  # 12: negative cost
              + "not a time,b11,lab,m-small,10,0,0,10,,ok,1,t,production,\n"  # 13
              + "2026-10-01T00:00:00Z,ok1,lab,m-small,10,0,0,10,,ok,1,t,production,\n")  # 14: duplicate
    r = wh.load(f, book=book)
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (13, 1, 11, 1)
    got = dict(wh.sql("SELECT line, reason FROM quarantine ORDER BY line").fetchall())
    assert sorted(got) == list(range(3, 14))
    assert got[3] == "input_tokens: '-5': must be a whole number >= 0"
    assert got[4] == "input_tokens: '12.5': must be a whole number >= 0"
    assert "has no UTC offset" in got[5] and "--timezone" in got[5]
    assert "in the future" in got[6]
    assert got[7].startswith("model: 'nope': unknown")  # never priced at $0
    assert got[8] == "request_id: missing: required"  # an empty field, as DuckDB's reader also reports it
    assert got[9].startswith("status: 'maybe': must be one of ok, error, retry")
    assert got[10].startswith("input_tokens: '10': must include cached_input_tokens")
    assert got[11] == "line has 5 fields, the header has 14"
    assert got[12].startswith("cost_usd: '-1': must be a number >= 0")
    assert got[13] == "timestamp: 'not a time': is not an ISO 8601 date-time"
    raw = json.loads(wh.sql("SELECT raw FROM quarantine WHERE line = 3").fetchall()[0][0])
    assert raw["request_id"] == "b1" and raw["input_tokens"] == "-5"  # the row is kept as it was


def test_timezone_option_localises_naive_timestamps(tmp_path, wh, book):
    f = write(tmp_path / "naive.csv", "timestamp,request_id,provider,model,input_tokens,output_tokens\n"
              "2026-07-01 09:30:00,n1,lab,m-small,1,1\n")
    wh.load(f, book=book, timezone="America/New_York")  # EDT = UTC-4
    assert wh.sql("SELECT \"timestamp\" FROM requests").fetchall()[0][0] == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    with pytest.raises(ParameterError, match=r"timezone 'Mars/Olympus': not a known IANA time zone"):
        wh.load(f, book=book, timezone="Mars/Olympus")


@pytest.mark.parametrize("content, message", [
    ("a,b\n1,2\n", "missing column(s) timestamp, request_id, model, input_tokens, output_tokens"),
    (b"timestamp,request_id,model,input_tokens,output_tokens\n2026-01-01T00:00:00Z,caf\xe9,m,1,1\n",
     "line 2: byte 0xe9 is not UTF-8"),
    ("", "line 1: empty file"),
])
def test_bad_files_are_refused_whole_and_nothing_loaded_is_lost(tmp_path, wh, book, content, message):
    good = write(tmp_path / "good.csv", "timestamp,request_id,provider,model,input_tokens,output_tokens\n"
                 "2026-10-01T00:00:00Z,g1,lab,m-small,1,1\n")
    wh.load(good, book=book)
    bad = write(tmp_path / "bad.csv", content)
    with pytest.raises(UsageError) as exc:
        wh.load(bad, book=book)
    assert len(exc.value.problems) == 1 and exc.value.problems[0].startswith(f"{bad}: {message}")
    assert wh.sql("SELECT count(*) FROM requests").fetchall()[0][0] == 1
    assert wh.sql("SELECT count(*) FROM loads").fetchall()[0][0] == 1


def test_same_file_twice_adds_nothing_and_fixed_prices_release_quarantine(tmp_path, book):
    f = write(tmp_path / "log.jsonl", "\n".join(json.dumps(r) for r in [
        {"timestamp": "2026-10-01T00:00:00Z", "request_id": "j1", "provider": "lab", "model": "m-small",
         "input_tokens": 5, "output_tokens": 5, "tags_extra": {"a": 1}},
        {"timestamp": "2026-10-01T00:00:00Z", "request_id": "j2", "provider": "lab", "model": "m-private",
         "input_tokens": 5, "output_tokens": 5},
    ]) + "\n{not json\n")
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        first = wh.load(f, book=book)
        second = wh.load(f, book=book)
        tables = {t: wh.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("requests", "quarantine")}
    assert (first.accepted, first.quarantined, first.duplicate) == (1, 2, 0)
    assert (second.rows_read, second.accepted, second.quarantined, second.duplicate) == (3, 0, 0, 3)
    assert tables == {"requests": 1, "quarantine": 2}
    # a price for the private model arrives: re-loading the file accepts j2 and marks its quarantine row resolved
    more = tmp_path / "more.yaml"
    row = "  - {provider: lab, model: %s, input_usd_per_mtok: 1, output_usd_per_mtok: %d, source: test}\n"
    more.write_text("prices:\n" + row % ("m-small", 2) + row % ("m-private", 1))
    from forecast.design.prices import PriceBook

    with Warehouse(db) as wh:
        third = wh.load(f, book=PriceBook.from_file(more))
        resolved = wh.sql("SELECT line, resolved_by_load FROM quarantine ORDER BY line").fetchall()
    assert (third.accepted, third.quarantined, third.duplicate) == (1, 0, 2)
    assert resolved == [(2, third.load_id), (3, None)]


def test_parquet_typed_columns_and_naive_timestamp_type(tmp_path, wh, book):
    t = pa.table({"timestamp": pa.array([datetime(2026, 10, 1, 8)], pa.timestamp("us")),
                  "request_id": ["p1"], "provider": ["lab"], "model": ["m-small"],
                  "input_tokens": pa.array([1000], pa.int32()), "output_tokens": pa.array([500], pa.int64()),
                  "cost_usd": pa.array([None], pa.float64())})
    pq.write_table(t, tmp_path / "naive.parquet")
    r = wh.load(tmp_path / "naive.parquet", book=book)
    assert (r.accepted, r.quarantined) == (0, 1)
    reason = wh.sql("SELECT reason FROM quarantine").fetchall()[0][0]
    assert "has no UTC offset" in reason
    r = wh.load(tmp_path / "naive.parquet", book=book, timezone="UTC")
    assert r.accepted == 1 and r.cost_usd_accepted == Decimal("0.002")  # 1000 x $1 + 500 x $2 per million


def test_totals_reconcile_with_the_source_to_the_cent(tmp_path, wh):
    """Sample log with thousands of logged costs: the warehouse sum equals the file's own sum (Python Decimal)."""
    from forecast.usage.sample import write_sample

    paths = write_sample(tmp_path / "s", rows=5_000, months=3, fmt="csv", otel_spans=4)
    r = wh.load(paths["requests"])
    with paths["requests"].open() as f:
        rows = list(csv.DictReader(f))
    stored = dict(wh.sql("SELECT source_line, cost_usd FROM requests WHERE cost_source = 'log'").fetchall())
    expected = sum(Decimal(rows[line - 2]["cost_usd"]) for line in stored)
    assert sum(stored.values()) == expected
    assert round(sum(stored.values()), 2) == round(expected, 2)
    assert r.rows_read == len(rows)


def test_five_percent_corrupt_rows_accounting_is_exact(tmp_path, wh):
    """The generator injects known corruptions; the load's accounting must match them exactly."""
    from forecast.usage.sample import generate_requests

    table, truth = generate_requests(20_000, 2, seed=5, corrupt_share=0.05)
    pq.write_table(table, tmp_path / "c.parquet")
    inj = truth["injected"]
    assert sum(inj.values()) == round(truth["rows"] * 0.05)
    r = wh.load(tmp_path / "c.parquet")
    quarantined = inj["negative_output_tokens"] + inj["unknown_model"] + inj["empty_request_id"] \
        + inj["future_timestamp"]
    assert (r.rows_read, r.quarantined, r.duplicate) == (truth["rows"], quarantined, inj["duplicate_request_id"])
    assert r.accepted == truth["rows"] - quarantined - inj["duplicate_request_id"]
    assert r.rows_read == r.accepted + r.quarantined + r.duplicate
    row = wh.sql("SELECT rows_read, accepted, quarantined, duplicate FROM loads").fetchall()[0]
    assert row == (r.rows_read, r.accepted, r.quarantined, r.duplicate)


def test_a_long_load_writes_nothing_to_stdout(tmp_path):
    """DuckDB draws a progress bar on stdout for a query past progress_bar_time (2 s; here 0 s, so for every query).

    stdout carries the JSON summary and the CSV exports, so nothing else may reach it.
    """
    from forecast.usage.sample import generate_requests

    table, _ = generate_requests(2_000, 2, seed=3)
    pq.write_table(table, tmp_path / "r.parquet")
    script = """
import sys, duckdb
from forecast.usage.warehouse import Warehouse
connect = duckdb.connect
def eager(path=":memory:", **kwargs):  # every query on the warehouse draws its progress bar, unless turned off
    con = connect(path, **kwargs)
    if path == sys.argv[1]:
        con.execute("SET progress_bar_time = 0")
    return con
duckdb.connect = eager
wh = Warehouse(sys.argv[1])
print("opened", flush=True)
wh.load(sys.argv[2])
wh.sql("SELECT count(*) FROM requests").fetchall()
"""
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "w.duckdb"), str(tmp_path / "r.parquet")],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.partition("opened\n")[2] == ""  # from the moment the warehouse is open


def test_a_scratch_database_a_killed_load_left_is_removed_when_the_warehouse_opens(tmp_path, monkeypatch):
    from forecast.usage import warehouse

    for name in ("w.duckdb.load", "w.duckdb.load.wal"):
        (tmp_path / name).write_bytes(b"left by a load killed midway")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert not [p.name for p in tmp_path.iterdir() if ".load" in p.name]
        (tmp_path / "w.duckdb.load").mkdir()  # what stands in its way is named in a one-line error
        (tmp_path / "r.csv").write_text("timestamp,request_id,model,input_tokens,output_tokens\n"
                                        "2026-10-01T00:00:00Z,a,gpt-4o,10,5\n")
        monkeypatch.setattr(warehouse, "SCRATCH_ABOVE_BYTES", -1)  # as if the file were large
        with pytest.raises(UsageError, match=r"w\.duckdb\.load: cannot remove the load's scratch database"):
            wh.load(tmp_path / "r.csv")
        (tmp_path / "w.duckdb.load").rmdir()
        assert wh.load(tmp_path / "r.csv").accepted == 1
        assert not [p.name for p in tmp_path.iterdir() if ".load" in p.name]
    monkeypatch.undo()  # r.csv is small again
    (tmp_path / "o.duckdb.load").mkdir()
    with Warehouse(tmp_path / "o.duckdb") as other:  # opening is not refused for it: only a load that needs it is
        assert other.load(tmp_path / "r.csv").rows_read == 1


KILLER = """
import os, sys, time
from forecast.usage.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
def progress(stage):
    if stage == "inserted requests":
        print("inserted", flush=True)
        time.sleep(60)
wh.load(sys.argv[2], progress=progress)
"""


def test_a_load_killed_midway_leaves_the_warehouse_as_it_was(tmp_path):
    from forecast.usage.sample import generate_requests

    db = tmp_path / "w.duckdb"
    first, _ = generate_requests(3_000, 2, seed=1)
    pq.write_table(first, tmp_path / "first.parquet")
    big, _ = generate_requests(200_000, 6, seed=2)
    pq.write_table(big, tmp_path / "big.parquet")
    with Warehouse(db) as wh:
        wh.load(tmp_path / "first.parquet")
        before = {t: wh.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("requests", "quarantine", "loads")}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", KILLER, str(db), str(tmp_path / "big.parquet")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = child.stdout.readline().strip()
    if line != "inserted":  # the child ended before its rows were in: say why
        child.wait()
        pytest.fail(f"the loading child printed {line!r} and exited {child.returncode}: {child.stderr.read()}")
    child.send_signal(signal.SIGKILL)  # rows are in, the transaction is open
    child.wait()
    with Warehouse(db) as wh:
        after = {t: wh.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("requests", "quarantine", "loads")}
        assert after == before
        r = wh.load(tmp_path / "big.parquet")
        assert r.rows_read == big.num_rows and r.accepted > 190_000
        assert wh.sql("SELECT count(*) FROM loads").fetchall()[0][0] == before["loads"] + 1
