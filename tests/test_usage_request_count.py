"""Rows that stand for many requests (a provider's daily or hourly usage export): request_count is honoured by
pricing, accounting, series, coverage, drivers, budgets and anomalies. Expected figures worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from forecast.budgets.anomalies import runaway_tasks
from forecast.budgets.envelopes import parse_budgets_data
from forecast.budgets.guardrails import check_guardrail
from forecast.design.prices import PriceBook
from forecast.timeseries.drivers import drivers_from_warehouse
from forecast.usage.series import coverage, series
from forecast.usage.warehouse import Warehouse

FEES = """
prices:
  - {provider: lab, model: m-small, input_usd_per_mtok: 1, output_usd_per_mtok: 2, source: test prices}
  - {provider: lab, model: m-fee, input_usd_per_mtok: 1, output_usd_per_mtok: 2, usd_per_call: 0.01,
     source: test prices}
"""
COLS = "timestamp,request_id,provider,model,input_tokens,output_tokens,request_count,cost_usd,team_id,task_id\n"


@pytest.fixture
def book(tmp_path) -> PriceBook:
    path = tmp_path / "fees.yaml"
    path.write_text(FEES)
    return PriceBook.from_file(path)


def _load(tmp_path, book, rows: list[str]) -> Warehouse:
    f = tmp_path / "usage.csv"
    f.write_text(COLS + "\n".join(rows) + "\n")
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.load(f, book=book)
    return wh


def test_an_aggregated_row_is_priced_on_its_totals_and_counts_its_requests(tmp_path, book):
    with _load(tmp_path, book, [
        "2026-10-01T00:00:00Z,agg-1,lab,m-small,100000,50000,100,,A,",  # 100 requests, no cost given
        "2026-10-01T00:00:00Z,agg-2,lab,m-fee,100000,50000,100,,A,",  # and with a per-call fee
        "2026-10-02T09:00:00Z,one,lab,m-small,1000,500,,,B,",  # an ordinary request: count 1
    ]) as wh:
        costs = dict(wh.sql("SELECT request_id, CAST(cost_usd AS DOUBLE) FROM requests").fetchall())
        # 100,000 x $1 + 50,000 x $2 per Mtok = $0.20; the fee: 100 requests x $0.01 = $1.00 more
        assert costs == {"agg-1": pytest.approx(0.20), "agg-2": pytest.approx(1.20), "one": pytest.approx(0.002)}
        requests = series(wh, by=["team_id"], freq="MS", metric="requests")
        assert dict(zip(requests.unique_id, requests.y, strict=True)) == {"A": 200.0, "B": 1.0}
        cov = coverage(wh, required=["team_id"], by="team_id")
        assert dict(zip(cov.team_id, cov.requests, strict=True)) == {"A": 200, "B": 1}
        # rows without task_id: each request is a task of its own; the fee row's tasks cost $1.20 / 100
        d = drivers_from_warehouse(wh, ("team_id",))
        assert sorted(zip(d.segment, d.tasks, d.requests, strict=True)) == [
            ("A/lab/m-fee", 100.0, 100), ("A/lab/m-small", 100.0, 100), ("B/lab/m-small", 1.0, 1)]


def test_request_count_must_be_a_whole_number_of_at_least_one(tmp_path, book):
    with _load(tmp_path, book, [
        "2026-10-01T00:00:00Z,z,lab,m-small,10,10,0,,A,",
        "2026-10-01T00:00:00Z,n,lab,m-small,10,10,-3,,A,",
        "2026-10-01T00:00:00Z,f,lab,m-small,10,10,2.5,,A,",
        "2026-10-01T00:00:00Z,ok,lab,m-small,10,10,7,,A,",
    ]) as wh:
        reasons = sorted(r for (r,) in wh.sql("SELECT reason FROM quarantine").fetchall())
        assert reasons == ["request_count: '-3': must be a whole number >= 1",
                           "request_count: '0': must be a whole number >= 1",
                           "request_count: '2.5': must be a whole number >= 1"]
        assert wh.sql("SELECT request_id, request_count FROM requests").fetchall() == [("ok", 7)]


def test_a_long_context_tier_applies_by_the_input_per_request(tmp_path):
    book = PriceBook()
    prices = book.lookup("gemini-2.5-pro", "google", date(2026, 10, 1))
    base, tier = prices.bands[0], prices.bands[1]
    above = tier.above_input_tokens  # 200,000 input tokens per call
    rows = [f"2026-10-01T00:00:00Z,two,google,gemini-2.5-pro,{above * 2},1000,2,,A,",  # 200,000 each: base band
            f"2026-10-01T00:00:00Z,one,google,gemini-2.5-pro,{above * 2},1000,1,,A,"]  # 400,000 in one call: tier
    with _load(tmp_path, book, rows) as wh:
        costs = dict(wh.sql("SELECT request_id, CAST(cost_usd AS DOUBLE) FROM requests").fetchall())
    assert costs["two"] == pytest.approx((above * 2 * base.input_usd_per_mtok + 1000 * base.output_usd_per_mtok) / 1e6)
    assert costs["one"] == pytest.approx((above * 2 * tier.input_usd_per_mtok + 1000 * tier.output_usd_per_mtok) / 1e6)


def test_steps_of_a_task_row_count_its_requests(tmp_path, book):
    rows = [f"2026-10-{d:02d}T09:00:00Z,t{d},lab,m-small,1000,100,5,,A,task-{d}" for d in range(1, 29)]
    rows.append("2026-10-28T10:00:00Z,loop,lab,m-small,900000,90000,120,,A,task-loop")  # one task, 120 steps
    with _load(tmp_path, book, rows) as wh:
        found = runaway_tasks(wh, date(2026, 10, 28), date(2026, 10, 28))
        assert [(r.task_id, r.steps, r.norm_steps) for r in found] == [("task-loop", 120, 5.0)]
        guard = parse_budgets_data({"budgets": [], "guardrails": [{"name": "loops", "match": {},
                                                                  "max_steps_per_task": 50}]}, "<test>").guardrails[0]
        over = check_guardrail(wh, guard, date(2026, 10, 1), date(2026, 10, 31))
        assert [(x.subject, x.value) for x in over] == [("task-loop", 120.0)]


def test_a_warehouse_from_before_request_count_is_upgraded_when_opened_for_writing(tmp_path):
    import duckdb

    from forecast.usage.schema import DDL

    old = DDL.replace("request_count BIGINT NOT NULL DEFAULT 1,", "").split("ALTER TABLE")[0]
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute(old)
        con.execute("INSERT INTO requests (request_id, \"timestamp\", model, input_tokens, cached_input_tokens, "
                    "cache_write_tokens, output_tokens, cost_usd, cost_source, status, batch, load_id, source_line) "
                    "VALUES ('r', TIMESTAMPTZ '2026-10-01 00:00:00+00', 'm', 1, 0, 0, 1, 0.5, 'log', 'ok', false, "
                    "1, 2)")
    with Warehouse(tmp_path / "old.duckdb") as wh:
        assert wh.sql("SELECT request_count FROM requests").fetchall() == [(1,)]
