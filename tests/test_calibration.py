"""Calibration against known truth: logs drawn from a spec (usage.spec_logs), loaded, then measured
(usage.calibration.observe). The truth is the spec's own generating parameters and the month's drawn rates."""

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forecast.design.distributions import rounded_pmf
from forecast.design.estimate import estimate
from forecast.design.prices import price_book
from forecast.design.specs import parse_workflow
from forecast.usage.calibration import observe
from forecast.usage.spec_logs import spec_logs
from forecast.usage.warehouse import Warehouse

SPEC = """
name: cal-test
volume: {tasks_per_month: 10000}
steps:
  - name: triage
    model: gpt-4o-mini
    provider: openai
    input_tokens: {system: 1500, user: {lognormal: {p50: 300, p90: 900}}}
    output_tokens: {lognormal: {p50: 120, p90: 400}}
    cache_hit_rate: 0.6
    retry_rate: 0.05
    routing: [{model: gpt-4.1-mini, provider: openai, share: 0.25}]
  - name: agent
    loop: {iterations: {lognormal: {p50: 5, p90: 9}}, max_steps: 8, context_growth_tokens: 500}
    steps:
      - name: act
        model: claude-haiku-4-5
        provider: anthropic
        input_tokens: {system: 2000, user: 200}
        output_tokens: {pert: [50, 150, 400]}
        cacheable: [system, history]
        cache_hit_rate: HIT
        retry_rate: 0.02
outcome: {success_rate: 0.8}
"""
MONTH = date(2026, 10, 1)


def _load(tmp_path, workflow, tasks, seed=1, extra_rows=None):
    book = price_book("none")
    logs, truth = spec_logs(workflow, book, MONTH, tasks, seed=seed)
    if extra_rows is not None:
        logs = extra_rows(logs)
    pq.write_table(pa.Table.from_pandas(logs, preserve_index=False), tmp_path / "logs.parquet")
    wh = Warehouse(tmp_path / "w.duckdb")
    result = wh.load(tmp_path / "logs.parquet", book=book)
    assert result.quarantined == 0 and result.accepted == len(logs)
    return wh, truth, book


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    workflow = parse_workflow(SPEC.replace("HIT", "{triangular: [0.7, 0.8, 0.9]}"))
    wh, truth, _ = _load(tmp_path_factory.mktemp("cal"), workflow, 10_000)
    with wh:
        return workflow, truth, observe(wh.con, workflow)


def test_token_p50s_come_back_within_5_percent(measured):
    _, _, obs = measured
    triage, act = obs.steps["triage"], obs.steps["act"]
    assert triage.output_tokens.p50 == pytest.approx(120, rel=0.05)  # lognormal p50 of the spec
    assert triage.input_tokens_first.p50 == pytest.approx(1500 + 300, rel=0.05)  # fixed system + lognormal user
    # PERT(50, 150, 400): the median of 50 + 350 x Beta(1 + 4 x 100/350, 1 + 4 x 250/350), scipy's beta.ppf
    from scipy import stats

    alpha, beta = 1 + 4 * 100 / 350, 1 + 4 * 250 / 350
    assert act.output_tokens.p50 == pytest.approx(50 + 350 * stats.beta.ppf(0.5, alpha, beta), rel=0.05)
    assert act.input_tokens_first.p50 == pytest.approx(2200, rel=0.05)  # the first iteration has no history yet


def test_rates_come_back_within_0_02(measured):
    _, truth, obs = measured
    for step in ("triage", "act"):
        assert obs.steps[step].cache_hit_rate == pytest.approx(truth.cache_hit_rate[step], abs=0.02), step
        assert obs.steps[step].retry_rate == pytest.approx(truth.retry_rate[step], abs=0.02), step
    assert obs.success_rate == pytest.approx(truth.success_rate, abs=0.02)
    assert obs.steps["triage"].model_shares["openai/gpt-4.1-mini"] == pytest.approx(0.25, abs=0.02)
    assert obs.tasks == 10_000 and obs.months == {"2026-10": 10_000}


def test_the_loop_comes_back_within_3_percent(measured):
    workflow, _, obs = measured
    loop = obs.loops["agent"]
    # iterations: round(X) capped at 8, X lognormal(p50 5, p90 9): the mean of that pmf, and its mass at 8
    pmf = rounded_pmf(workflow.steps[1].loop.iterations, 8)
    expected = sum(k * p for k, p in enumerate(pmf))
    assert loop.iterations.mean == pytest.approx(expected, rel=0.03)
    assert loop.cap_hit_rate == pytest.approx(pmf[-1], abs=0.02)
    assert loop.context_growth_tokens.p50 == pytest.approx(500, rel=0.05)


def test_the_logs_cost_what_the_estimate_says(tmp_path):
    """The drawn month, priced by ingest, against the closed-form expected cost per task (fixed rates, so the
    month's population parameters are the design's)."""
    workflow = parse_workflow(SPEC.replace("HIT", "0.8"))
    wh, _, book = _load(tmp_path, workflow, 4_000, seed=2)
    with wh:
        logged = wh.sql("SELECT sum(cost_usd) / count(DISTINCT task_id) FROM requests").fetchall()[0][0]
    expected = estimate(workflow, book, MONTH, samples=2000, scenarios=100).to_dict()["per_task_usd"]["expected"]
    assert float(logged) == pytest.approx(expected, rel=0.03)


def test_unmatched_steps_and_untagged_calls_are_named(tmp_path):
    workflow = parse_workflow(SPEC.replace("HIT", "0.8"))

    tampered = {}

    def tamper(logs):
        logs = logs[logs["step"] != "triage"].copy()  # a spec step with no logged call
        logs.loc[logs.index[:7], "step"] = "summarise"  # a step the spec does not have
        logs.loc[logs.index[7:10], "task_id"] = None  # calls without a task
        tampered["summarise"] = int(((logs["step"] == "summarise") & (logs["status"] == "ok")).sum())
        return logs

    wh, _, _ = _load(tmp_path, workflow, 200, extra_rows=tamper)
    with wh:
        obs = observe(wh.con, workflow)
    assert obs.spec_steps_not_logged == ("triage",)
    assert obs.logged_steps_not_in_spec == (("summarise", tampered["summarise"]),) and tampered["summarise"] >= 6
    assert obs.untagged_calls == 3
