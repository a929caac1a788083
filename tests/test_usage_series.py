"""Series, coverage and unit metrics on a small hand-written log (expected values worked out below)."""

import hashlib
import json

import pandas as pd
import pytest

from forecast.core.errors import UsageError
from forecast.usage.series import coverage, series, unit_metrics, untagged_spend
from forecast.usage.warehouse import Warehouse

COLS = "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id,cost_center,feature_id," \
       "workflow_name,environment,intent,task_id,outcome\n"
ROWS = [  # cost_usd given, so no pricing is involved
    "2026-09-30T23:59:59Z,a1,lab,m-small,100,10,1.00,A,cc,f,wf1,production,i,t1,",
    "2026-10-01T00:00:00Z,a2,lab,m-small,100,10,2.00,A,cc,f,wf1,production,i,t1,success",
    "2026-10-03T10:00:00Z,a3,lab,m-small,100,10,4.00,A,cc,f,wf1,production,i,t2,failure",
    "2026-10-03T11:00:00Z,b1,lab,m-small,300,30,8.00,B,cc,f,wf2,production,i,t3,success",
    "2026-10-03T12:00:00Z,u1,lab,m-small,100,10,16.00,,,,wf2,production,,,",
    "2026-10-04T12:00:00Z,s1,lab,m-small,100,10,32.00,B,cc,f,wf2,staging,i,t4,",
]


@pytest.fixture
def wh(tmp_path, book):
    f = tmp_path / "log.csv"
    f.write_text(COLS + "\n".join(ROWS) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.load(f, book=book)
        yield w


def test_daily_series_fills_gaps_with_zero_and_labels_untagged(wh):
    s = series(wh, by=["team_id"], freq="D")
    got = {(r.unique_id, r.ds.strftime("%m-%d")): r.y for r in s.itertuples()}
    assert got == {
        ("A", "09-30"): 1.0, ("A", "10-01"): 2.0, ("A", "10-02"): 0.0, ("A", "10-03"): 4.0, ("A", "10-04"): 0.0,
        ("B", "10-03"): 8.0, ("B", "10-04"): 32.0,  # B starts at its first day
        ("(untagged)", "10-03"): 16.0, ("(untagged)", "10-04"): 0.0,
    }
    assert list(s.columns) == ["unique_id", "ds", "y", "team_id"]


def test_monthly_and_weekly_series_and_other_metrics(wh):
    monthly = series(wh, by=["team_id", "workflow_name"], freq="MS")
    assert {(r.unique_id, r.ds.strftime("%Y-%m")): r.y for r in monthly.itertuples()} == {
        ("A/wf1", "2026-09"): 1.0, ("A/wf1", "2026-10"): 6.0, ("B/wf2", "2026-10"): 40.0,
        ("(untagged)/wf2", "2026-10"): 16.0}
    weekly = series(wh, freq="W")  # 2026-09-28 is a Monday: all six rows fall in that week
    assert list(zip(weekly.ds.dt.strftime("%Y-%m-%d"), weekly.y, strict=True)) == [("2026-09-28", 63.0)]
    tasks = series(wh, by=["workflow_name"], freq="MS", metric="tasks")
    assert dict(zip(tasks.unique_id + tasks.ds.dt.strftime("@%m"), tasks.y, strict=True)) == {
        "wf1@09": 1.0, "wf1@10": 2.0, "wf2@10": 2.0}  # t1 spans both months; u1 has no task
    out_tokens = series(wh, freq="MS", metric="output_tokens", where={"environment": "staging"})
    assert out_tokens.y.tolist() == [10.0]
    with pytest.raises(UsageError, match="unknown dimension"):
        series(wh, by=["colour"])


def test_coverage_by_environment_and_untagged_production_spend(wh):
    cov = coverage(wh).set_index("environment")
    # production: 5 requests, u1 lacks tags -> 4/5 requests; spend 31 of which 15 tagged
    assert cov.loc["production", "requests"] == 5
    assert cov.loc["production", "request_coverage"] == pytest.approx(0.8)
    assert cov.loc["production", "spend_coverage"] == pytest.approx(15 / 31)
    assert cov.loc["staging", "spend_coverage"] == pytest.approx(1.0)
    untagged = untagged_spend(wh)
    assert untagged.cost_usd.tolist() == [16.0] and pd.Timestamp(untagged.day[0]).day == 3


def test_unit_metrics_per_workflow_and_month(wh):
    m = unit_metrics(wh).set_index(["workflow_name", "month"])
    oct_wf1 = m.loc[("wf1", pd.Timestamp("2026-10-01"))]
    # tasks are dated by their first call: t1 starts in September, so October has only t2 (cost 4, failed)
    assert oct_wf1.tasks == 1 and oct_wf1.cost_per_task_usd == pytest.approx(4.0)
    assert pd.isna(oct_wf1.cost_per_success_usd)  # no success: no cost per success
    sep_wf1 = m.loc[("wf1", pd.Timestamp("2026-09-01"))]
    assert sep_wf1.calls_per_task == 2 and sep_wf1.cost_per_success_usd == pytest.approx(3.0)
    wf2 = m.loc[("wf2", pd.Timestamp("2026-10-01"))]
    # t3 (8, success) and t4 (32, no outcome): 40 / 2 tasks; per success 40 / 1
    assert wf2.tasks == 2 and wf2.cost_per_task_usd == pytest.approx(20.0)
    assert wf2.cost_per_success_usd == pytest.approx(40.0)


def test_sample_generator_is_deterministic_and_has_its_events(tmp_path):
    from forecast.usage.sample import write_sample

    a = write_sample(tmp_path / "a", rows=8_000, months=26, seed=3, otel_spans=10)
    b = write_sample(tmp_path / "b", rows=8_000, months=26, seed=3, otel_spans=10)
    for key in ("requests", "focus", "otel", "manifest"):
        assert hashlib.sha256(a[key].read_bytes()).digest() == hashlib.sha256(b[key].read_bytes()).digest()
    manifest = json.loads(a["manifest"].read_text())
    assert manifest["months"] == 26 and sum(manifest["injected"].values()) > 0
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(a["requests"])
        tokens = dict(wh.sql("""SELECT "timestamp" >= '2025-09-01', sum(input_tokens + output_tokens) / count(DISTINCT
            task_id) FROM requests WHERE workflow_name = 'code_review' AND "timestamp" >= '2025-07-01'
            AND "timestamp" < '2025-11-01' GROUP BY 1""").fetchall())
        # an agent task is one row; request_count is its model calls (steps)
        runaway = wh.sql("""SELECT min(request_count), count(*) FROM requests WHERE agent_id = 'research-agent-3'
            AND CAST("timestamp" AS DATE) IN ('2026-09-14', '2026-09-15') AND request_count >= 60""").fetchall()[0]
        normal = wh.sql("SELECT quantile_cont(request_count, 0.99) FROM requests "
                        "WHERE workflow_name = 'research_agent' AND CAST(\"timestamp\" AS DATE) "
                        "NOT IN ('2026-09-14', '2026-09-15')").fetchall()[0][0]
        scale = wh.sql("""SELECT sum(request_count), CAST(sum(cost_usd) AS DOUBLE) FROM requests
            WHERE "timestamp" >= '2026-10-01'""").fetchall()[0]
        o3 = dict(wh.sql("""SELECT "timestamp" >= '2025-06-10', sum(cost_usd) / sum(input_tokens + output_tokens)
            FROM requests WHERE model = 'o3' GROUP BY 1""").fetchall())
    assert 2.5 < tokens[True] / tokens[False] < 3.5  # the upgrade triples tokens per task
    assert runaway[0] >= 60 and runaway[1] == 2 * 60 and normal < 40  # 60 stuck tasks a day, 60-149 steps each
    # a realistic scale: October 2026 is about 35 million requests and $100k-$300k (issue 14)
    assert scale[0] > 20_000_000 and 100_000 <= scale[1] <= 300_000
    assert o3[True] / o3[False] < 0.35  # o3 input and output prices fell 5x on 2025-06-10 (cached reads did not)


def test_the_sample_warehouse_generates_its_requests_where_an_install_lacks_the_file(monkeypatch):
    import json

    from forecast.core.errors import ForecastError
    from forecast.core.resources import packaged
    from forecast.usage import sample

    def without_requests(*parts):
        if parts[-1] == "requests.parquet":
            raise ForecastError("not packaged")
        return packaged(*parts)

    monkeypatch.setattr(sample, "packaged", without_requests)
    manifest = json.loads(packaged("data", "sample", "MANIFEST.json").read_text())
    with sample.sample_warehouse() as wh:
        rows = wh.sql("SELECT sum(rows_read) FROM loads WHERE source_file LIKE '%requests.parquet'").fetchone()[0]
    assert rows == manifest["rows"]  # MANIFEST.json is kept in git with data/sample/
