"""Engine tests: expected values computed by hand in each test (prices from conftest.OVERRIDES:
m-small $1 in / $2 out; m-big $2 in, $0.50 cached, $2.50 cache write, $10 out, per million tokens)."""

import math
import warnings
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from forecast.core.errors import PriceError
from forecast.design.distributions import Fixed
from forecast.design.estimate import estimate
from forecast.design.prices import PriceBook
from forecast.design.specs import InputTokens, ModelStep, Volume, Workflow, load_workflow, parse_workflow
from forecast.design.workload import (
    DAYS_PER_MONTH,
    background_cost_usd_per_month,
    compile_plan,
    expected_task_cost_usd,
    simulate_task_costs_usd,
)

from .conftest import DAY


def plan_of(book, steps: str, extra: str = ""):
    wf = parse_workflow(f"name: t\nvolume: {{tasks_per_month: 1000}}\n{extra}\nsteps:\n{steps}")
    return compile_plan(wf, book, DAY)


def test_single_call_with_cache_and_retry(book):
    plan = plan_of(book, """
  - name: a
    model: m-big
    provider: lab
    input_tokens: {system: 1000, user: 500}
    output_tokens: 200
    cache_hit_rate: 0.5
    retry_rate: 0.1
""")
    # cached 500 x 0.5 + cache write 500 x 2.5 + uncached user 500 x 2 + output 200 x 10 = 4500 per 1e6,
    # times 1.1 attempts for the retries.
    assert expected_task_cost_usd(plan) == pytest.approx(4500e-6 * 1.1)


def test_the_models_table_gives_the_cache_write_part_of_the_cost(book):
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 1000}
steps:
  - {name: a, model: m-big, provider: lab, input_tokens: {system: 1000, user: 500}, output_tokens: 200,
     cache_hit_rate: 0.5, retry_rate: 0.1}
  - {name: b, model: m-small, provider: lab, input_tokens: {user: 100}, output_tokens: 10}
""")
    doc = estimate(wf, book, DAY, samples=2000, scenarios=200).to_dict()
    rows = {r["model"]: r for r in doc["models"]}
    # a: 500 missed prefix tokens written at $2.50 per Mtok, 1.1 attempts: 500 x 2.5 x 1.1 / 1e6
    assert rows["m-big"]["cache_write_usd_per_task"] == pytest.approx(500 * 2.5 * 1.1 / 1e6)
    assert rows["m-big"]["usd_per_task"] == pytest.approx(4500e-6 * 1.1)
    assert rows["m-small"]["cache_write_usd_per_task"] == 0.0  # no cacheable prefix, no cache write


def test_no_caching_means_no_cache_write_premium(book):
    plan = plan_of(book, """
  - {name: a, model: m-big, provider: lab, input_tokens: {system: 1000, user: 500}, output_tokens: 200}
""")
    assert expected_task_cost_usd(plan) == pytest.approx((1500 * 2 + 200 * 10) / 1e6)


def test_loop_with_context_growth_and_cap(book):
    steps = """
  - name: agent
    loop: {iterations: 5, max_steps: 3, context_growth_tokens: 100}
    steps:
      - {name: think, model: m-small, provider: lab, input_tokens: {system: 1000}, output_tokens: 50}
"""
    plan = plan_of(book, steps)
    # capped at 3 iterations: inputs 1000 + 1100 + 1200 = 3300 x $1; outputs 150 x $2
    assert expected_task_cost_usd(plan) == pytest.approx((3300 + 300) / 1e6)
    # uncapped: 1000..1400 = 6000 input, 250 output
    assert expected_task_cost_usd(plan, uncapped=True) == pytest.approx((6000 + 500) / 1e6)
    doc = estimate(plan.workflow, book, DAY, samples=2000, scenarios=200).to_dict()
    (loop,) = doc["loops"]
    assert loop["p_hits_cap"] == 1.0 and loop["expected_iterations"] == 3
    assert loop["cap_saves_usd_per_task"] == pytest.approx(2900e-6)
    assert loop["cap_saves_usd_per_month"] == pytest.approx(2900e-6 * 1000)


def test_loop_with_uncertain_iterations_uses_rounded_capped_distribution(book):
    plan = plan_of(book, """
  - name: agent
    loop: {iterations: {triangular: [0, 2, 4]}, max_steps: 3}
    steps:
      - {name: think, model: m-small, provider: lab, input_tokens: {user: 1000}, output_tokens: 0}
""")
    # P(K = 0..3) = 1/32, 1/4, 7/16, 9/32 (see test_distributions): E[K] = 1.96875 calls of $0.001
    assert expected_task_cost_usd(plan) == pytest.approx(1.96875 * 1000 / 1e6)


def test_history_in_cache_prefix(book):
    plan = plan_of(book, """
  - name: agent
    loop: {iterations: 2, max_steps: 5, context_growth_tokens: 1000}
    steps:
      - name: think
        model: m-big
        provider: lab
        input_tokens: {system: 1000}
        output_tokens: 0
        cache_hit_rate: 1.0
        cacheable: [system, history]
""")
    # prefix over 2 iterations: 1000 + (1000 + 1000 history) = 3000 tokens, all cache reads at $0.50
    assert expected_task_cost_usd(plan) == pytest.approx(3000 * 0.5 / 1e6)


def test_routing_tools_and_fan_out(book):
    plan = plan_of(book, """
  - {name: search, tool: web, fee_usd_per_call: 0.01, calls_per_run: 2, result_tokens_per_call: 400}
  - name: answer
    model: m-big
    provider: lab
    input_tokens: {user: 200}
    output_tokens: 100
    calls_per_run: 3
    routing: [{model: m-small, provider: lab, share: 0.25}]
""")
    # tool: 2 x $0.01; each answer call has 200 + 2 x 400 = 1000 input tokens and 100 output, 3 calls:
    # m-big: 3 x (1000 x 2 + 100 x 10) = 9000; m-small: 3 x (1000 + 200) = 3600 (per 1e6)
    expected = 0.02 + (0.75 * 9000 + 0.25 * 3600) / 1e6
    assert expected_task_cost_usd(plan) == pytest.approx(expected)
    samples = simulate_task_costs_usd(plan, 40_000, seed=3)
    share_small = np.isclose(samples, 0.02 + 3600e-6).mean()
    assert share_small == pytest.approx(0.25, abs=0.01)  # routing is decided per task


def test_long_context_tier_by_hand():
    # claude-sonnet-4-5 (genai-prices): $3 in / $15 out, $6 / $22.50 above 200k input tokens per call.
    plan = compile_plan(parse_workflow("""
name: t
volume: {tasks_per_month: 1}
steps:
  - name: agent
    loop: {iterations: 4, max_steps: 4, context_growth_tokens: 30000}
    steps:
      - {name: read, model: claude-sonnet-4-5, provider: anthropic, input_tokens: {context: 150000},
         output_tokens: 1000}
"""), PriceBook(), DAY)
    # calls of 150k and 180k input at base prices, 210k and 240k at the tier
    expected = ((150_000 + 180_000) * 3 + 2 * 1000 * 15 + (210_000 + 240_000) * 6 + 2 * 1000 * 22.5) / 1e6
    assert expected_task_cost_usd(plan) == pytest.approx(expected)
    assert simulate_task_costs_usd(plan, 10, seed=0) == pytest.approx(np.full(10, expected))


def test_background_calls_by_hand(book):
    wf = parse_workflow("""
name: t
volume:
  tasks_per_month: 10
  background: [{name: mon, model: m-small, provider: lab, calls_per_day: 288, input_tokens: 1500,
                output_tokens: 120}]
steps: [{name: a, model: m-small, provider: lab, output_tokens: 1}]
""")
    plan = compile_plan(wf, book, DAY)
    per_call = (1500 * 1 + 120 * 2) / 1e6
    assert background_cost_usd_per_month(plan) == pytest.approx(288 * (365.25 / 12) * per_call)
    assert pytest.approx(30.4375) == DAYS_PER_MONTH


def test_month_figures_and_outcome(book):
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 2000}
steps: [{name: a, model: m-small, provider: lab, input_tokens: {user: 1000}, output_tokens: 500}]
outcome: {success_rate: 0.8, human_cost_usd_per_task: 4.0}
""")
    doc = estimate(wf, book, DAY, samples=1000, scenarios=100).to_dict()
    # $0.002 per task; 2000 tasks = $4 a month; 1600 successes -> $0.0025 each; 0.0025 / 4 human
    assert doc["per_task_usd"]["expected"] == pytest.approx(0.002)
    assert doc["per_month_usd"]["expected"] == pytest.approx(4.0)
    assert doc["per_month_usd"]["p50"] == pytest.approx(4.0)
    assert doc["per_successful_outcome_usd"]["expected"] == pytest.approx(0.0025)
    assert doc["ai_to_human_cost_ratio"] == pytest.approx(0.0025 / 4)


def test_projection_uses_dated_prices_and_growth(book):
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 1000, monthly_growth: 0.1}
steps: [{name: a, model: m-big, provider: lab, input_tokens: {user: 1000}, output_tokens: 0}]
""")
    doc = estimate(wf, book, date(2026, 11, 10), samples=1000, scenarios=50, months=3).to_dict()
    nov, dec, jan = doc["projection"]
    assert nov["usd_expected"] == pytest.approx(1000 * 0.002)
    assert dec["usd_expected"] == pytest.approx(1100 * 0.002)
    assert jan["usd_expected"] == pytest.approx(1210 * 0.001)  # m-big input halves from 2027-01-01


def test_monte_carlo_converges_to_closed_form_on_every_example(examples):
    book = PriceBook.from_file(examples[0].parents[1] / "prices" / "overrides.yaml")
    assert len(examples) >= 3
    for path in examples:
        plan = compile_plan(load_workflow(path), book, DAY)
        samples = simulate_task_costs_usd(plan, 200_000, seed=11)
        se = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - expected_task_cost_usd(plan)) < 4 * se, path.name


def test_monte_carlo_converges_with_everything_uncertain(book):
    plan = plan_of(book, """
  - name: a
    model: m-big
    provider: lab
    input_tokens: {system: {pert: [500, 1000, 3000]}, user: {lognormal: {p50: 300, p90: 1500}}}
    output_tokens: {triangular: [50, 200, 900]}
    cache_hit_rate: {triangular: [0.2, 0.6, 0.9]}
    retry_rate: {pert: [0, 0.02, 0.1]}
    routing: [{model: m-small, provider: lab, share: 0.4}]
  - {name: t, tool: x, fee_usd_per_call: {triangular: [0, 0.001, 0.01]}, calls_per_run: {pert: [0, 1, 5]},
     result_tokens_per_call: {lognormal: {p50: 400, p90: 2000}}}
  - name: agent
    loop: {iterations: {lognormal: {p50: 3, p90: 9}}, max_steps: 6,
           context_growth_tokens: {triangular: [100, 800, 3000]}}
    steps:
      - {name: t2, tool: y, calls_per_run: {triangular: [0, 1, 3]}, result_tokens_per_call: 500}
      - {name: b, model: m-big, provider: lab, input_tokens: {system: 2000}, output_tokens: {pert: [20, 80, 400]},
         cache_hit_rate: 0.7, cacheable: [system, history], calls_per_run: {triangular: [1, 1, 3]}}
""")
    samples = simulate_task_costs_usd(plan, 400_000, seed=5, chunk_tasks=10_000)
    se = samples.std() / np.sqrt(samples.size)
    assert abs(samples.mean() - expected_task_cost_usd(plan)) < 4 * se


def test_monte_carlo_is_seeded_and_chunked(book):
    plan = plan_of(book, "  - {name: a, model: m-small, provider: lab, output_tokens: {pert: [1, 5, 40]}}")
    a = simulate_task_costs_usd(plan, 1000, seed=7)
    assert a.shape == (1000,)
    assert np.array_equal(a, simulate_task_costs_usd(plan, 1000, seed=7))
    assert not np.array_equal(a, simulate_task_costs_usd(plan, 1000, seed=8))


TOKENS = st.floats(min_value=0, max_value=200_000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(system=TOKENS, user=TOKENS, output=TOKENS, hit=st.floats(0, 1), retry=st.floats(0, 1),
       tasks=st.floats(0, 1e7), extra=st.floats(1, 50_000))
def test_properties_nonnegative_linear_in_volume_monotone_in_tokens(system, user, output, hit, retry, tasks, extra):
    book = PriceBook.from_file(None)

    def month(out_tokens: float, volume: float) -> float:
        step = ModelStep(name="a", model="gpt-4o", provider="openai", output_tokens=Fixed(out_tokens),
                         input_tokens=InputTokens(system=Fixed(system), user=Fixed(user)),
                         cache_hit_rate=Fixed(hit), retry_rate=Fixed(retry))
        wf = Workflow(name="p", volume=Volume(tasks_per_month=Fixed(volume)), steps=(step,))
        return float(expected_task_cost_usd(compile_plan(wf, book, DAY))) * volume

    base = month(output, tasks)
    assert base >= 0
    assert month(output, 2 * tasks) == pytest.approx(2 * base, rel=1e-9, abs=1e-12)
    assert month(output + extra, tasks) >= base


def test_heavy_tails_without_tiers_keep_the_exact_closed_form(book):
    """No long-context tier: the closed form is exact, however far a small Monte Carlo sample lands from it."""
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 1000}
steps:
  - {name: a, model: m-small, provider: lab, input_tokens: {user: {lognormal: {p50: 100, p90: 5000}}},
     output_tokens: 10}
""")
    sigma = math.log(5000 / 100) / stats.norm.ppf(0.9)
    per_task = (100 * math.exp(sigma**2 / 2) * 1 + 10 * 2) / 1e6  # E[lognormal] x $1 + 10 x $2, per 1e6
    # with 2,000 samples (seed 0) the sample mean lies about 6 standard errors below the mean
    doc = estimate(wf, book, DAY, samples=2000, seed=0, scenarios=100, months=1).to_dict()
    assert doc["per_task_usd"]["expected"] == pytest.approx(per_task)
    assert doc["per_task_usd"]["monte_carlo_mean"] < 0.7 * per_task
    assert doc["per_month_usd"]["expected"] == pytest.approx(1000 * per_task)
    assert doc["per_task_usd"]["expected_from"] == "closed_form" and doc["warnings"] == []


def test_tiers_with_uncertain_input_use_monte_carlo_means_everywhere():
    """claude-sonnet-4-5 pays $3 / $15 per million up to 200k input tokens and $6 / $22.50 on the whole call above.
    Context ~ Triangular(100k, 200k, 300k): half the calls lie above 200k, with mean 233,333 there (mode + width/3)
    and 166,667 below. Per call: 0.5 x 166,667 x 3 + 0.5 x 233,333 x 6 = 950,000 and output 0.5 x 1000 x 15
    + 0.5 x 1000 x 22.5 = 18,750, per 1e6 -> $0.96875 (the closed form at the mean, 200k, would say $0.615)."""
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 1000}
steps:
  - name: agent
    loop: {iterations: 2, max_steps: 1}
    steps:
      - {name: read, model: claude-sonnet-4-5, provider: anthropic,
         input_tokens: {context: {triangular: [100000, 200000, 300000]}}, output_tokens: 1000}
""")
    doc = estimate(wf, PriceBook(), DAY, samples=200_000, seed=1, scenarios=200, months=1).to_dict()
    per_call = 0.96875
    assert doc["per_task_usd"]["expected"] == pytest.approx(per_call, rel=0.005)
    assert doc["per_task_usd"]["expected_from"] == "monte_carlo"
    (step,), (model,), (loop,) = doc["steps"], doc["models"], doc["loops"]
    assert step["usd_per_task"] == pytest.approx(doc["per_task_usd"]["expected"], rel=1e-12)
    assert model["usd_per_task"] == pytest.approx(doc["per_task_usd"]["expected"], rel=1e-12)
    assert step["input_tokens_per_task"] == pytest.approx(200_000, rel=0.005)
    assert doc["per_month_usd"]["expected"] == pytest.approx(1000 * doc["per_task_usd"]["expected"])
    assert doc["projection"][0]["usd_expected"] == pytest.approx(1000 * per_call, rel=0.01)
    # the loop is capped at 1 of 2 iterations: uncapped, the same draws cost twice as much
    assert loop["usd_per_task"] == pytest.approx(step["usd_per_task"])
    assert loop["usd_per_task_uncapped"] == pytest.approx(2 * per_call, rel=0.005)
    assert loop["cap_saves_usd_per_task"] == pytest.approx(per_call, rel=0.005)
    (warning,) = doc["warnings"]
    assert "Monte Carlo means" in warning and "steps 'read'" in warning


def test_tiers_out_of_reach_of_uncertain_input_keep_the_exact_closed_form():
    """Input ~ lognormal(p50 350, p90 1200) plus at most 9 x 5000 tokens of history: far below the 200k tier."""
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 100}
steps:
  - name: agent
    loop: {iterations: 3, max_steps: 10, context_growth_tokens: {triangular: [0, 1000, 5000]}}
    steps:
      - {name: a, model: claude-sonnet-4-5, provider: anthropic, input_tokens: {user: {lognormal: {p50: 350,
         p90: 1200}}}, output_tokens: 100}
""")
    sigma = math.log(1200 / 350) / stats.norm.ppf(0.9)
    user = 350 * math.exp(sigma**2 / 2)
    # 3 calls at $3 in / $15 out per million: 3 x user + (0 + 1 + 2) x 2000 mean history, 300 output
    per_task = ((3 * user + 3 * 2000) * 3 + 300 * 15) / 1e6
    doc = estimate(wf, PriceBook(), DAY, samples=500, scenarios=50, months=1).to_dict()
    assert doc["per_task_usd"]["expected_from"] == "closed_form" and doc["warnings"] == []
    assert doc["per_task_usd"]["expected"] == pytest.approx(per_task)


def test_tool_tokens_pass_through_a_loop_without_a_model_step(book):
    plan = plan_of(book, """
  - {name: search, tool: web, result_tokens_per_call: 100000}
  - name: poll
    loop: {iterations: 2, max_steps: 3}
    steps: [{name: ping, tool: health}]
  - {name: a, model: m-small, provider: lab, output_tokens: 0}
""")
    # the search results reach the model step after the loop: 100,000 input tokens x $1 per million
    assert expected_task_cost_usd(plan) == pytest.approx(0.1)
    assert simulate_task_costs_usd(plan, 10, seed=0) == pytest.approx(np.full(10, 0.1))


def test_huge_fixed_iterations_are_capped_and_the_uncapped_cut_is_reported(book):
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 10}
steps:
  - name: agent
    loop: {iterations: 1000000000000, max_steps: 10}
    steps: [{name: a, model: m-small, provider: lab, input_tokens: {user: 1000}, output_tokens: 0}]
""")
    doc = estimate(wf, book, DAY, samples=100, scenarios=20, months=1).to_dict()
    (loop,) = doc["loops"]
    assert doc["per_task_usd"]["expected"] == pytest.approx(10 * 0.001)  # 10 calls of 1000 tokens at $1/M
    assert loop["usd_per_task_uncapped"] == pytest.approx(100_000 * 0.001)  # counted at 100,000 iterations
    assert any("more than 100,000 iterations with probability 1" in w for w in doc["warnings"])


def test_zero_human_cost_zero_success_and_zero_volume_do_not_fail(book):
    spec = """
name: t
volume: {tasks_per_month: TASKS}
steps: [{name: a, model: m-small, provider: lab, input_tokens: {user: 1000}, output_tokens: 500}]
outcome: {success_rate: SUCCESS, human_cost_usd_per_task: 0}
"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from percentiles of infinities either
        doc = estimate(parse_workflow(spec.replace("TASKS", "1000").replace("SUCCESS", "0.5")), book, DAY,
                       samples=200, scenarios=50, months=1).to_dict()
        # $0.002 per task, 500 successes a month -> $0.004 each; a human cost of 0 has no ratio
        assert doc["per_successful_outcome_usd"]["expected"] == pytest.approx(0.004)
        assert doc["human_cost_usd_per_task"] == 0 and "ai_to_human_cost_ratio" not in doc
        for tasks, success in (("1000", "0"), ("0", "0.5")):
            doc = estimate(parse_workflow(spec.replace("TASKS", tasks).replace("SUCCESS", success)), book, DAY,
                           samples=200, scenarios=50, months=1).to_dict()
            assert doc["per_successful_outcome_usd"]["expected"] is None
            assert doc["per_successful_outcome_usd"]["p50"] == math.inf


def test_price_errors_name_the_spec_file_and_field(book, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("""
name: t
volume:
  tasks_per_month: 1
  background: [{name: mon, model: m-small, provider: lab, calls_per_day: 1, input_tokens: 1, output_tokens: 1},
               {name: mon2, model: m-smal, provider: lab, calls_per_day: 1, input_tokens: 1, output_tokens: 1}]
steps:
  - {name: a, model: m-small, provider: lab, output_tokens: 1}
  - name: agent
    loop: {iterations: 2, max_steps: 3}
    steps:
      - {name: b, model: m-small, provider: lab, output_tokens: 1, routing: [{model: m-bgi, provider: lab,
         share: 0.5}]}
""")
    wf = load_workflow(path)
    with pytest.raises(PriceError) as err:
        compile_plan(wf, book, DAY)
    assert err.value.problems == [f"{path}: steps[1].steps[0].routing[0].model: 'm-bgi': unknown model 'm-bgi' for "
                                  "provider 'lab': closest known: lab/m-big; a private or self-hosted model needs "
                                  "a row in the price overrides file"]
    path.write_text(path.read_text().replace("m-bgi", "m-big"))
    with pytest.raises(PriceError) as err:
        compile_plan(load_workflow(path), book, DAY)
    assert err.value.problems[0].startswith(f"{path}: volume.background[1].model: 'm-smal': unknown model 'm-smal'")


def test_a_fixed_volume_month_still_spreads_by_task_to_task_noise(book):
    wf = parse_workflow("""
name: t
volume: {tasks_per_month: 10000}
steps: [{name: a, model: m-small, provider: lab, output_tokens: {triangular: [0, 0, 3000]}}]
""")
    doc = estimate(wf, book, DAY, samples=200_000, scenarios=4000, months=1).to_dict()
    # output ~ Triangular(0, 0, 3000): mean 1000, variance 3000^2 / 18, so $0.002 +- $0.0014142 per task at $2/M;
    # a month of 10,000 tasks: $20 +- sqrt(10,000) x 0.0014142 = 0.14142, P90 - P10 = 2 x 1.28155 x 0.14142
    month = doc["per_month_usd"]
    assert month["expected"] == pytest.approx(20.0)
    assert month["p90"] - month["p10"] == pytest.approx(2 * 1.28155 * 0.14142, rel=0.05)
