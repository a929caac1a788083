"""What-if panel state without a browser: controls -> spec, figures, problems, saved scenarios, the case."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.design.distributions import Fixed, Triangular
from forecast.design.prices import PriceBook
from forecast.design.specs import load_workflow, parse_workflow
from forecast.whatif.controls import apply_controls, controls_of
from forecast.whatif.scenario import save_scenario, scenario_yaml
from forecast.whatif.state import load_what_if, scenario_rows

ROOT = Path(__file__).resolve().parents[1]
ON = date(2026, 11, 25)
EXAMPLES = sorted((ROOT / "data/workflows").glob("*.yaml"))
# gpt-4o-mini at genai-prices (OpenAI's published list price): $0.15 input, $0.075 cached input, $0.60 output
# per million tokens. One task = 1,000 input + 500 output tokens = 1000 x 0.15e-6 + 500 x 0.60e-6 = $0.00045.
SIMPLE = """
name: simple-classifier
volume:
  tasks_per_month: 10000
steps:
  - name: classify
    model: gpt-4o-mini
    provider: openai
    input_tokens:
      system: 1000
    output_tokens: 500
outcome:
  success_rate: 0.8
  human_cost_usd_per_task: 2.0
"""


@pytest.fixture(scope="module")
def public_book() -> PriceBook:
    return PriceBook.from_file(None)


@pytest.fixture()
def simple(tmp_path, public_book):
    path = tmp_path / "simple.yaml"
    path.write_text(SIMPLE, encoding="utf-8")
    return load_what_if(path, public_book, ON, samples=2_000, scenarios=500, months=2)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_saved_yaml_loads_back_identical_and_untouched_controls_change_nothing(path):
    wf = load_workflow(path)
    assert parse_workflow(scenario_yaml(wf)) == wf
    assert apply_controls(wf, controls_of(wf)) == wf


def test_monthly_cost_by_hand_follows_volume(simple):
    c = simple.initial_controls
    assert simple.update(c).figures["month_usd_expected"] == pytest.approx(10_000 * 0.00045, rel=1e-12)  # $4.50
    r = simple.update(replace(c, tasks_per_month=20_000))
    assert r.figures["month_usd_expected"] == pytest.approx(9.00, rel=1e-12)
    # half the system prompt read from cache: 500 x 0.15 + 500 x 0.075 + 500 x 0.60 per Mtok = $0.0004125 a task
    r = simple.update(replace(c, tasks_per_month=20_000, cache_hit_rate=0.5))
    assert r.figures["month_usd_expected"] == pytest.approx(20_000 * 0.0004125, rel=1e-12)  # $8.25
    # success 0.8: $0.0004125 / 0.8 per successful outcome
    assert r.figures["outcome_usd_expected"] == pytest.approx(0.0004125 / 0.8, rel=1e-12)
    assert r.figures["ai_to_human_cost_ratio"] == pytest.approx(0.0004125 / 0.8 / 2.0, rel=1e-12)
    assert not simple.problems


def test_negative_volume_is_a_message_and_the_last_good_result_stays(simple):
    good = simple.update(replace(simple.initial_controls, tasks_per_month=20_000))
    kept = simple.update(replace(simple.initial_controls, tasks_per_month=-5))
    assert kept is good
    assert simple.problems == {"tasks_per_month": "tasks per month: -5: must be >= 0"}
    simple.update(replace(simple.initial_controls, tasks_per_month=float("nan"), success_rate=1.5))
    assert simple.problems["tasks_per_month"] == "tasks per month: enter a number"
    assert simple.problems["success_rate"] == "success rate: 1.5: must lie between 0 and 1"
    assert simple.last is good


def test_unknown_model_and_unpriced_model_are_messages_next_to_the_model(simple):
    simple.update(replace(simple.initial_controls, model="openai/no-such-model"))
    assert "not in the price catalog" in simple.problems["model"]
    r = simple.update(replace(simple.initial_controls, model="anthropic/claude-haiku-4-5"))
    assert not simple.problems and r.workflow.steps[0].model == "claude-haiku-4-5"


def test_scale_and_shift_keep_the_shape_of_ranges(tmp_path):
    wf = load_workflow(ROOT / "data/workflows/support_triage.yaml")
    c = controls_of(wf)
    # triangular [32000, 40000, 52000] (mean 41,333.3) set to twice its mean: every point doubles
    out = apply_controls(wf, replace(c, tasks_per_month=2 * c.tasks_per_month, success_rate=0.80,
                                     routed_share=0.7, cache_hit_rate=0.9))
    assert out.volume.tasks_per_month == Triangular(64000, 80000, 104000)
    # success triangular [0.68, 0.75, 0.82] moved to 0.80: shifted by 0.05, width kept
    s = out.outcome.success_rate
    assert (s.low, s.mode, s.high) == pytest.approx((0.73, 0.80, 0.87))
    # draft-reply routes 0.35 to haiku; 0.7 routed doubles it
    draft = next(st for st in out.steps if st.name == "draft-reply")
    assert draft.routing[0].share == pytest.approx(0.7)
    # cache hit [0.6, 0.8, 0.95] to 0.9 would pass 1: becomes a fixed 0.9
    classify = next(st for st in out.steps if st.name == "classify")
    assert classify.cache_hit_rate == Fixed(0.9)
    path = save_scenario(out, tmp_path / "s.yaml", ["test"])
    assert load_workflow(path) == out
    with pytest.raises(Exception, match="already exists"):
        save_scenario(out, path)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 5_000_000))
def test_monthly_cost_is_linear_in_volume(tasks):
    book = PriceBook.from_file(None)
    state = load_what_if_text(SIMPLE, book)
    r = state.update(replace(state.initial_controls, tasks_per_month=float(tasks)))
    assert r.figures["month_usd_expected"] == pytest.approx(tasks * 0.00045, rel=1e-9, abs=1e-12)


def load_what_if_text(text: str, book: PriceBook):
    from forecast.whatif.state import WhatIf

    return WhatIf(parse_workflow(text, "<simple>"), book, ON, samples=1_000, scenarios=200, months=1)


def test_scenario_rows_are_each_minus_the_first(simple):
    a = simple.update(simple.initial_controls)
    b = simple.update(replace(simple.initial_controls, tasks_per_month=30_000))
    c = simple.update(replace(simple.initial_controls, tasks_per_month=5_000))
    row = next(r for r in scenario_rows([a, b, c]) if r["figure"] == "monthly cost, expected (USD)")
    # by hand: $0.00045 a task at 10,000, 30,000 and 5,000 tasks
    assert row["values"] == pytest.approx([4.5, 13.5, 2.25]) and row["minus_first"] == pytest.approx([0, 9.0, -2.25])


def test_business_case_npv_matches_forecast_roi_and_serving_toggle():
    """Untouched, the panel's NPV and payback are those of `forecast roi` (finance.evaluate)."""
    from forecast.core.validation import read_yaml
    from forecast.finance.case import parse_case_data
    from forecast.finance.report import evaluate

    book = PriceBook.from_file(ROOT / "data/prices/overrides.yaml")
    path = ROOT / "data/cases/support_triage.yaml"
    state = load_what_if(path, book, samples=2_000, scenarios=500)
    r = state.update(state.initial_controls)
    summary = evaluate(parse_case_data(read_yaml(path), str(path)), book, samples=0)["summary"]
    assert r.finance["npv_usd"] == pytest.approx(summary["npv_usd"], rel=1e-9)
    assert r.finance["payback_month"] == summary["payback_month"]
    # the case's own self-hosted scenario is offered first after the API
    key = list(state.serving_options())[1]
    assert key == "self_hosted:llama-3.3-70b:h100:fp8:on_demand"
    sh = state.update(replace(state.initial_controls, serving=key))
    f = sh.figures
    # an always-on fleet: GPUs x $/GPU-hour x 730 hours, plus tool fees per task
    tools = sum(row["usd_per_task"] for row in sh.doc["steps"] if row["kind"] == "tool")
    assert f["month_usd_expected"] == pytest.approx(
        f["gpu_count"] * f["gpu_usd_per_hour"] * 730 + tools * f["tasks_per_month_expected"], rel=1e-12)
    assert sh.finance["npv_usd"] != r.finance["npv_usd"]


def test_rate_controls_move_every_step_by_the_same_amount_so_cost_moves_the_right_way():
    from forecast.design.alternatives import model_steps

    wf = load_workflow(ROOT / "data/workflows/support_triage.yaml")
    c = controls_of(wf)
    before = {s.name: (s.cache_hit_rate.mean(), s.retry_rate.mean()) for s in model_steps(wf)}
    assert len({rates[0] for rates in before.values()}) > 1  # the steps' cache hit rates differ
    out = apply_controls(wf, replace(c, cache_hit_rate=c.cache_hit_rate - 0.01, retry_rate=c.retry_rate + 0.02))
    for s in model_steps(out):
        cache, retry = before[s.name]
        assert s.cache_hit_rate.mean() == pytest.approx(max(0.0, cache - 0.01))
        assert s.retry_rate.mean() == pytest.approx(min(1.0, retry + 0.02))
    from forecast.whatif.state import WhatIf

    state = WhatIf(wf, PriceBook.from_file(None), date(2026, 11, 25), samples=2_000, scenarios=200, months=1)
    spec_cost = state.update(c).figures["month_usd_expected"]
    lower_cache = state.update(replace(c, cache_hit_rate=c.cache_hit_rate - 0.01)).figures["month_usd_expected"]
    assert lower_cache > spec_cost  # fewer cache hits never make a month cheaper
