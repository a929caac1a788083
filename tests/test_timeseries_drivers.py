"""Driver-based spend (prices per day from the override file, volume plans) and the Shapley variance bridge."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.core.errors import ForecastError
from forecast.design.prices import PriceBook
from forecast.timeseries.bridge import EFFECTS, bridge, shapley_product_effects
from forecast.timeseries.drivers import (
    apply_plan,
    drivers_from_warehouse,
    forecast_drivers,
    load_volume_plan,
    month_prices_usd_per_mtok,
    priced_drivers,
)
from forecast.usage.warehouse import Warehouse


def _state(rows):
    return pd.DataFrame(rows, columns=["segment", "tasks", "tokens", "spend_usd"])


def _effects(out, segment="(total)"):
    row = out.set_index("segment").loc[segment]
    return {k: row[k] for k in ("change_usd", *EFFECTS)}


def test_bridge_single_segment_hand_computed_shapley():
    # tasks 100 -> 120, tokens per task 1,000 -> 1,500, USD per Mtok 10 -> 8: spend 1.00 -> 1.44 USD.
    # Shapley for a 3-factor product, by hand: effect of T = 1/3 [dT k0 p0 + dT k1 p1] + 1/6 [dT k1 p0 + dT k0 p1]
    #   = (0.2 + 0.24)/3 + (0.3 + 0.16)/6 = 0.223333; tokens: (0.5 + 0.48)/3 + (0.6 + 0.4)/6 = 0.493333;
    #   price: (-0.2 - 0.36)/3 + (-0.24 - 0.3)/6 = -0.276667; one segment so mix = 0. Sum = 0.44.
    out = bridge(_state([("s", 100, 100_000, 1.0)]), _state([("s", 120, 180_000, 1.44)]), ["segment"])
    got = _effects(out)
    assert got == pytest.approx({"change_usd": 0.44, "volume_usd": 0.22 + 1 / 300, "mix_usd": 0.0,
                                 "unit_consumption_usd": 0.49 + 1 / 300, "token_mix_usd": 0.0,
                                 "price_usd": -0.28 + 1 / 300}, abs=1e-12)
    row = out.iloc[0]
    assert row["tokens_per_task_after"] == 1500 and row["usd_per_mtok_after"] == pytest.approx(8.0)


def test_bridge_pure_mix_shift_is_all_mix():
    # 200 tasks both months; A costs 0.01 USD per task, B 0.03; 50 tasks move from A to B: +1.00 USD, all mix
    before = _state([("A", 100, 100_000, 1.0), ("B", 100, 100_000, 3.0)])
    after = _state([("A", 50, 50_000, 0.5), ("B", 150, 150_000, 4.5)])
    got = _effects(bridge(before, after, ["segment"]))
    assert got == pytest.approx({"change_usd": 1.0, "volume_usd": 0.0, "mix_usd": 1.0, "unit_consumption_usd": 0.0,
                                 "token_mix_usd": 0.0, "price_usd": 0.0}, abs=1e-12)


def test_bridge_new_segment_is_volume_and_mix_not_price():
    # B is new: 100 tasks at 0.02 USD per task. Total tasks 100 -> 200 (volume doubles), A's share 1 -> 0.5.
    # A: T m k p = T m * 0.01, two factors change (T: 100 -> 200, m: 1 -> 0.5): volume = 100 * (1 + 0.5)/2 * 0.01
    #    = 0.75, mix = -0.5 * (100 + 200)/2 * 0.01 = -0.75. B: T m * 0.02 (k, p taken from after):
    #    volume = 100 * (0 + 0.5)/2 * 0.02 = 0.5, mix = 0.5 * (100 + 200)/2 * 0.02 = 1.5. Total +2.00.
    before = _state([("A", 100, 10_000, 1.0)])
    after = _state([("A", 100, 10_000, 1.0), ("B", 100, 20_000, 2.0)])
    out = bridge(before, after, ["segment"])
    assert _effects(out, "A") == pytest.approx({"change_usd": 0.0, "volume_usd": 0.75, "mix_usd": -0.75,
                                                "unit_consumption_usd": 0.0, "token_mix_usd": 0.0, "price_usd": 0.0},
                                               abs=1e-12)
    assert _effects(out, "B") == pytest.approx({"change_usd": 2.0, "volume_usd": 0.5, "mix_usd": 1.5,
                                                "unit_consumption_usd": 0.0, "token_mix_usd": 0.0, "price_usd": 0.0},
                                               abs=1e-12)


segment_rows = st.lists(st.tuples(st.sampled_from("ABCDE"), st.floats(1, 1e6), st.floats(1, 1e4),
                                  st.floats(0.01, 100)), min_size=1, max_size=5, unique_by=lambda r: r[0])


@settings(max_examples=30, deadline=None)
@given(before=segment_rows, after=segment_rows)
def test_bridge_effects_add_up_exactly_and_reverse_with_sign(before, after):
    def state(rows):  # (segment, tasks, tokens per task, USD per Mtok)
        return _state([(s, t, t * k, t * k * p / 1e6) for s, t, k, p in rows])

    out = bridge(state(before), state(after), ["segment"])
    scale = max(1.0, out["spend_before_usd"].abs().max(), out["spend_after_usd"].abs().max())
    np.testing.assert_allclose(out[list(EFFECTS)].sum(axis=1), out["change_usd"], rtol=0, atol=1e-9 * scale)
    back = bridge(state(after), state(before), ["segment"]).set_index("segment")
    np.testing.assert_allclose(back.loc[out["segment"], list(EFFECTS)].to_numpy(),
                               -out[list(EFFECTS)].to_numpy(), rtol=0, atol=1e-9 * scale)


def test_shapley_of_two_factors_is_the_midpoint_rule():
    # a*b from (2, 3) to (5, 7): effect of a = 3 * (3 + 7)/2 = 15, of b = 4 * (2 + 5)/2 = 14, sum 35 - 6 = 29
    np.testing.assert_allclose(shapley_product_effects([[2.0], [3.0]], [[5.0], [7.0]]), [[15.0], [14.0]])


def test_bridge_rejects_bad_input():
    with pytest.raises(ForecastError, match="bridge before: missing column"):
        bridge(pd.DataFrame({"segment": ["a"], "tasks": [1]}), _state([("a", 1, 1, 1)]), ["segment"])
    with pytest.raises(ForecastError, match=r"segment \('a',\): spend without tokens"):
        bridge(_state([("a", 1, 0, 1.0)]), _state([("a", 1, 1, 1)]), ["segment"])
    with pytest.raises(ForecastError, match="non-negative"):
        bridge(_state([("a", -1, 1, 1.0)]), _state([("a", 1, 1, 1)]), ["segment"])


# ------------------------------------------------------------------ driver-based spend


def _drivers(months, model="m-big", **extra):
    base = {"segment": "s", "provider": "lab", "model": model, "tasks": 1000.0, "input_tokens_per_task": 10_000.0,
            "cached_input_tokens_per_task": 4_000.0, "output_tokens_per_task": 1_000.0}
    return pd.DataFrame([{**base, **extra, "ds": pd.Timestamp(m)} for m in months])


def test_priced_drivers_apply_the_scheduled_price_change(book):
    # conftest prices lab/m-big: input 2, cached 0.5, output 10 USD/Mtok; from 2027-01-01 input 1, output 5
    # (cached then defaults to the input price, 1). Per task: Dec = (6,000 x 2 + 4,000 x 0.5 + 1,000 x 10) / 1e6
    # = 0.024 USD; Jan = (6,000 x 1 + 4,000 x 1 + 1,000 x 5) / 1e6 = 0.015 USD. 1,000 tasks: 24 and 15 USD.
    out = priced_drivers(_drivers(["2026-12-01", "2027-01-01"]), book)
    assert out["spend_usd"].tolist() == pytest.approx([24.0, 15.0], abs=1e-9)
    assert out["usd_per_mtok"].tolist() == pytest.approx([24_000 / 11_000, 15_000 / 11_000])
    assert out["tokens"].tolist() == [11_000_000, 11_000_000]


def test_a_mid_month_price_change_is_weighted_by_days(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("prices:\n"
                    "  - {provider: lab, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2, source: test}\n"
                    "  - {provider: lab, model: m, input_usd_per_mtok: 4, output_usd_per_mtok: 8, source: test,\n"
                    "     effective_from: 2027-03-17}\n")
    got = month_prices_usd_per_mtok(PriceBook.from_file(path), "lab", "m", pd.Timestamp("2027-03-01").date())
    # 16 days at the old price, 15 at the new: input (16 x 1 + 15 x 4) / 31, output (16 x 2 + 15 x 8) / 31
    assert got["input"] == pytest.approx(76 / 31) and got["output"] == pytest.approx(152 / 31)


def test_volume_plan_replaces_forecast_drivers_and_says_so(tmp_path, book):
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text("""
plans:
  - {segment: s, effective_from: 2027-01-01, tasks: 3000, source: "FY27 plan v3"}
  - {segment: s, effective_from: 2027-02-01, provider: lab, model: m-small, source: "move to m-small in Feb"}
""")
    out = priced_drivers(apply_plan(_drivers(["2026-12-01", "2027-01-01", "2027-02-01"]),
                                    load_volume_plan(plan_file)), book)
    assert out["tasks"].tolist() == [1000, 3000, 3000]
    assert out["tasks_source"].tolist() == ["forecast", "plan: FY27 plan v3", "plan: FY27 plan v3"]
    assert out["model"].tolist() == ["m-big", "m-big", "m-small"]
    # Feb on m-small (input 1, cached = input = 1, output 2): (10,000 x 1 + 1,000 x 2) / 1e6 x 3,000 = 36 USD
    assert out["spend_usd"].tolist() == pytest.approx([24.0, 45.0, 36.0])


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("plans: [{segment: s, effective_from: 2027-01-15, tasks: 1, source: abc}]", "must be the first day of a month"),
    ("plans: [{segment: s, effective_from: 2027-01-01, source: abc}]", "plans nothing"),
    ("plans: [{segment: s, effective_from: 2027-01-01, tasks: -1, source: abc}]", r"plans\[0\]\.tasks: -1"),
    ("plans: [{segment: s, effective_from: 2027-01-01, task: 1, source: abc}]", r"plans\[0\]\.task: unknown field"),
    ("plans: [{segment: s, effective_from: 2027-01-01, model: x, source: abc}]", "needs both provider and model"),
])
def test_volume_plan_errors_name_the_field(tmp_path, yaml_text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ForecastError, match=message):
        load_volume_plan(path)


def test_driver_frame_errors():
    with pytest.raises(ForecastError, match=r"drivers: tasks: -5\.0 for segment 's' at 2027-01-01"):
        priced_drivers(_drivers(["2027-01-01"], tasks=-5.0), None)
    with pytest.raises(ForecastError, match="must be a month start"):
        priced_drivers(_drivers(["2027-01-02"]), None)
    with pytest.raises(ForecastError, match="cached \\+ cache-write tokens per task exceed"):
        priced_drivers(_drivers(["2027-01-01"], cached_input_tokens_per_task=20_000.0), None)


COLS = ("timestamp,request_id,provider,model,input_tokens,output_tokens,cached_input_tokens,cost_usd,"
        "workflow_name,task_id\n")
LOG = [  # two months of one workflow; cost given, so no pricing is involved
    "2026-09-03T10:00:00Z,r1,lab,m-small,1000,100,0,0.10,wf,t1",
    "2026-09-03T10:00:01Z,r2,lab,m-small,1000,100,500,0.10,wf,t1",
    "2026-09-04T10:00:00Z,r3,lab,m-small,2000,200,0,0.20,wf,t2",
    "2026-10-01T10:00:00Z,r4,lab,m-small,3000,300,0,0.30,wf,t3",
    "2026-10-02T10:00:00Z,r5,lab,m-small,3000,300,0,0.50,wf,t4",
    "2026-10-02T11:00:00Z,r6,lab,m-small,3000,300,0,0.50,wf,",
]


def test_drivers_from_warehouse_and_bridge_of_actual_months(tmp_path, book):
    f = tmp_path / "log.csv"
    f.write_text(COLS + "\n".join(LOG) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(f, book=book)
        d = drivers_from_warehouse(wh, by=("workflow_name",))
    assert d["segment"].tolist() == ["wf/lab/m-small", "wf/lab/m-small"]
    # September: tasks t1, t2 = 2; tokens 1,100 + 1,100 + 2,200 = 4,400; cost 0.40. October: t3, t4 and one
    # request without a task = 3 tasks; 9,900 tokens; 1.30 USD.
    assert d["tasks"].tolist() == [2, 3]
    assert d["tokens"].tolist() == [4400, 9900]
    assert d["spend_usd"].tolist() == pytest.approx([0.40, 1.30])
    assert d["cached_input_tokens_per_task"].tolist() == [250, 0]
    sep, octo = d.iloc[[0]], d.iloc[[1]]
    got = _effects(bridge(sep, octo, ["segment"]))
    assert got["change_usd"] == pytest.approx(0.90)
    assert sum(got[k] for k in EFFECTS) == pytest.approx(0.90, abs=1e-12)


def test_forecast_drivers_then_price_end_to_end(book):
    # 12 months of history ending December 2026: tasks grow by 10 a month (100 ... 210), tokens per task flat
    hist = _drivers(pd.date_range("2026-01-01", periods=12, freq="MS"))
    hist["tasks"] = 100.0 + 10 * np.arange(12)
    gone = _drivers(pd.date_range("2026-01-01", periods=9, freq="MS")).assign(segment="old")  # ends in September
    new = _drivers(pd.date_range("2026-11-01", periods=2, freq="MS")).assign(segment="new", tasks=[5.0, 7.0])
    hist = pd.concat([hist, gone, new], ignore_index=True)
    fc, selection = forecast_drivers(hist, h=2, models=("drift",), scheduler="serial", progress=False)
    # the discontinued segment (no task October to December) has 0 tasks ahead, from December on
    old = fc[fc["segment"] == "old"]
    assert old["ds"].dt.strftime("%Y-%m").tolist() == ["2027-01", "2027-02"]
    assert old["tasks"].tolist() == [0.0, 0.0] and (old["tasks-lo-80"] == 0).all()
    assert old["tasks_source"].iloc[0] == "discontinued: no tasks in the last 3 months"
    # two months are too few to forecast: December's 7 tasks held, the bounds unknown, and no model chosen
    young = fc[fc["segment"] == "new"]
    assert young["tasks"].tolist() == [7.0, 7.0] and young["tasks-hi-80"].isna().all()
    assert young["tasks_source"].iloc[0].startswith("held at the last month: 2 month(s) of history")
    assert not selection["unique_id"].str.startswith(("new::", "old::")).any()
    fc = fc[fc["segment"] == "s"].reset_index(drop=True)
    # drift continues the line exactly: 220 and 230 tasks; flat tokens per task stay as they were
    assert fc["tasks"].tolist() == pytest.approx([220.0, 230.0])
    assert fc["output_tokens_per_task"].tolist() == pytest.approx([1000.0, 1000.0])
    assert fc["tasks_source"].tolist() == ["forecast: drift", "forecast: drift"]
    assert set(selection["unique_id"]) >= {"s::tasks", "s::input_tokens_per_task", "s::output_tokens_per_task",
                                           "s::cached_input_tokens_per_task", "s::cache_write_tokens_per_task"}
    priced = priced_drivers(fc, book)
    # from 2027-01-01 lab/m-big costs 0.015 USD per task (worked out above): 220 x 0.015, 230 x 0.015
    assert priced["spend_usd"].tolist() == pytest.approx([3.3, 3.45])
    assert priced["tasks_source"].tolist() == ["forecast: drift", "forecast: drift"]


# ------------------------------------------------------------------ the bridge by token kind, on a warehouse
KIND_COLS = "timestamp,request_id,provider,model,input_tokens,cached_input_tokens,output_tokens,workflow_name,task_id\n"


def _kind_bridge(tmp_path, overrides: str, september: str, october: str):
    """Bridge September -> October 2026 of 100 one-call tasks a month on lab/m-big, costs priced at ingest."""
    from forecast.reporting.monthly import with_list_prices

    (tmp_path / "prices.yaml").write_text(overrides)
    book = PriceBook.from_file(tmp_path / "prices.yaml")
    rows = [f"2026-09-{1 + i % 28:02d}T10:00:00Z,s{i},lab,m-big,{september},wf,s{i}" for i in range(100)]
    rows += [f"2026-10-{1 + i % 28:02d}T10:00:00Z,o{i},lab,m-big,{october},wf,o{i}" for i in range(100)]
    (tmp_path / "log.csv").write_text(KIND_COLS + "\n".join(rows) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "log.csv", book=book)
        d = with_list_prices(drivers_from_warehouse(wh, ("workflow_name",)), book)
    return _effects(bridge(d[d.ds.dt.month == 9], d[d.ds.dt.month == 10], ["segment"]))


M_BIG = "  - {provider: lab, model: m-big, input_usd_per_mtok: 2, cached_input_usd_per_mtok: 0.5, " \
        "output_usd_per_mtok: 10, source: test prices}\n"


def test_bridge_a_dated_price_change_is_all_price(tmp_path):
    # lab/m-big costs $2 in / $10 out per Mtok, and $1 / $5 from 2026-10-01 (a dated row of the override file).
    # 100 tasks of 1,000 input + 500 output tokens: September 100 x (1000 x 2 + 500 x 10) / 1e6 = $0.70,
    # October 100 x (1000 x 1 + 500 x 5) / 1e6 = $0.35; the same tokens: the whole -$0.35 is price
    cut = M_BIG + ("  - {provider: lab, model: m-big, input_usd_per_mtok: 1, output_usd_per_mtok: 5, "
                   "effective_from: 2026-10-01, source: test price cut}\n")
    got = _kind_bridge(tmp_path, "prices:\n" + cut, "1000,0,500", "1000,0,500")
    assert got == pytest.approx({"change_usd": -0.35, "volume_usd": 0.0, "mix_usd": 0.0, "unit_consumption_usd": 0.0,
                                 "token_mix_usd": 0.0, "price_usd": -0.35}, abs=1e-12)


def test_bridge_reading_more_from_the_cache_is_token_mix_not_price(tmp_path):
    # one price all along ($2 in, $0.50 cached, $10 out per Mtok); December: 1,000 uncached input + 500 output a
    # task: $0.70; January: half the input read from the cache, 100 x (500 x 2 + 500 x 0.5 + 500 x 10) / 1e6
    # = $0.625. The blended USD per token fell 11%, yet no price changed: -$0.075 is token mix, price $0
    got = _kind_bridge(tmp_path, "prices:\n" + M_BIG, "1000,0,500", "1000,500,500")
    assert got == pytest.approx({"change_usd": -0.075, "volume_usd": 0.0, "mix_usd": 0.0,
                                 "unit_consumption_usd": 0.0, "token_mix_usd": -0.075, "price_usd": 0.0}, abs=1e-12)


def test_the_sample_octobers_bridge_has_no_price_effect(tmp_path):
    # no price of the sample company changes between September and October 2026 (its MANIFEST dates every change):
    # whatever moved the spend, the price effect is exactly $0; the research agent's September runaway loop
    # (long tasks) shows as tokens per task instead
    import pyarrow.parquet as pq

    from forecast.core.resources import example
    from forecast.reporting.monthly import month_bridge
    from forecast.usage.sample import generate_requests

    table, _ = generate_requests(5_000, 3, seed=2, corrupt_share=0.0)
    pq.write_table(table, tmp_path / "requests.parquet")
    book = PriceBook.from_file(example("prices/overrides.yaml"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "requests.parquet", book=book)
        b = month_bridge(wh, pd.Timestamp("2026-10-01").date(), book).set_index("segment")
    assert (b["price_usd"] == 0.0).all()
    np.testing.assert_allclose(b[list(EFFECTS)].sum(axis=1), b["change_usd"], rtol=1e-12, atol=1e-9)
    assert b.loc["research_agent/openai/o3", "unit_consumption_usd"] < 0


def test_batch_calls_are_priced_at_the_batch_rate():
    # Google's Gemini API pricing (ai.google.dev/gemini-api/docs/pricing, also in genai-prices 0.2.3):
    # gemini-2.5-pro up to 200k input tokens $1.25 in / $10 out per Mtok, Batch Mode half: $0.625 / $5.
    # 1,000 tasks of 8,000 input and 800 output tokens: standard 1000 x (8000 x 1.25 + 800 x 10) / 1e6 = $18,
    # batch 1000 x (8000 x 0.625 + 800 x 5) / 1e6 = $9, and half of the calls in batch $13.50
    frame = pd.DataFrame({"segment": "inv", "ds": pd.Timestamp("2026-11-01"), "provider": "google",
                          "model": "gemini-2.5-pro", "tasks": 1000.0, "input_tokens_per_task": 8000.0,
                          "output_tokens_per_task": 800.0, "batch_share": [0.0, 1.0, 0.5]})
    spend = [float(priced_drivers(frame.iloc[[i]].reset_index(drop=True), PriceBook())["spend_usd"].iloc[0])
             for i in range(3)]
    assert spend == pytest.approx([18.0, 9.0, 13.5], abs=1e-9)
    with pytest.raises(ForecastError, match=r"batch_share: 1.5 for segment 'inv' .*: must be a share between 0 and 1"):
        priced_drivers(frame.assign(batch_share=1.5).iloc[[0]], PriceBook())
