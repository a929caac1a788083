"""Calibration against known truth: logs drawn from a spec (usage.spec_logs), loaded, then measured
(usage.calibration.observe). The truth is the spec's own generating parameters and the month's drawn rates."""

from datetime import date
from pathlib import Path

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

TEMPLATE = (Path(__file__).parent / "data" / "calibration_spec.yaml").read_text()
DESIGN = {"OUT_P50": "120", "OUT_P90": "400", "RETRY": "0.05", "SHARE": "0.25", "ITER_P50": "5", "ITER_P90": "9"}
TRUTH = {"OUT_P50": "200", "OUT_P90": "600", "RETRY": "0.08", "SHARE": "0.4", "ITER_P50": "6", "ITER_P90": "10"}


def filled(values: dict) -> str:
    text = TEMPLATE
    for key, value in values.items():
        text = text.replace(key, value)
    return text


SPEC = filled(DESIGN)  # the design, its act step's cache hit rate still HIT (each test sets it)
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
    assert obs.steps["triage"].model_shares[("openai", "gpt-4.1-mini")] == pytest.approx(0.25, abs=0.02)
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


# ---------------------------------------------------------------- calibrate: the spec fitted to the logs

TRUE_SPEC = filled(TRUTH | {"HIT": "0.8"})  # output p50 200 not 120, retries 8% not 5%, 40% routed not 25%,
# 6 iterations not 5


def _model_usd_per_task(workflow, book, month):
    doc = estimate(workflow, book, month, samples=20_000, scenarios=100).to_dict()
    return sum(r["usd_per_task"] for r in doc["models"] if r["kind"] == "model")


def test_a_spec_calibrated_on_one_month_prices_the_next_within_3_percent(tmp_path):
    from forecast.usage.calibrate import calibrate

    design = parse_workflow(SPEC.replace("HIT", "0.8"))
    truth = parse_workflow(TRUE_SPEC)
    wh, _, book = _load(tmp_path, truth, 10_000, seed=1)
    with wh:
        calibrated, records, _ = calibrate(design, observe(wh.con, design))
    fitted = {r.label(): r for r in records}
    assert fitted["steps[0].output_tokens"].used
    assert calibrated.steps[0].output_tokens.p50 == pytest.approx(200, rel=0.05)
    assert calibrated.steps[0].retry_rate.value == pytest.approx(0.08, abs=0.02)
    assert calibrated.steps[0].routing[0].share == pytest.approx(0.4, abs=0.02)
    # a held-out month drawn from the truth, priced by ingest: what its model calls cost per task
    held_out = tmp_path / "next"
    held_out.mkdir()
    logs, _ = spec_logs(truth, book, date(2026, 11, 1), 10_000, seed=7)
    pq.write_table(pa.Table.from_pandas(logs, preserve_index=False), held_out / "logs.parquet")
    with Warehouse(held_out / "w.duckdb") as next_month:
        next_month.load(held_out / "logs.parquet", book=book)
        realised = float(next_month.sql("SELECT sum(cost_usd) / count(DISTINCT task_id) FROM requests")
                         .fetchall()[0][0])
    assert _model_usd_per_task(calibrated, book, date(2026, 11, 1)) == pytest.approx(realised, rel=0.03)
    # the design missed it
    assert _model_usd_per_task(design, book, date(2026, 11, 1)) != pytest.approx(realised, rel=0.03)


def test_the_calibrated_spec_loads_back_with_its_numbers_commented(tmp_path):
    from forecast.design.specs import load_workflow
    from forecast.usage.calibrate import calibrate, spec_text

    design = parse_workflow(SPEC.replace("HIT", "0.8"))
    wh, _, _ = _load(tmp_path, parse_workflow(TRUE_SPEC), 2_000)
    with wh:
        calibrated, records, notes = calibrate(design, observe(wh.con, design))
    path = tmp_path / "cal.yaml"
    path.write_text(spec_text(calibrated, records, ["calibrated for a test", *notes]))
    assert load_workflow(path) == calibrated
    text = path.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("retry_rate: 0.0"))
    assert "# designed 0.05; observed 0.0" in line and "; n 2," in line
    assert "outcome.human_cost_usd_per_task" not in text  # the spec sets none: nothing to keep


def test_too_few_tasks_keep_the_designed_numbers(tmp_path):
    from forecast.usage.calibrate import MIN_N, calibrate

    design = parse_workflow(SPEC.replace("HIT", "0.8"))
    wh, _, _ = _load(tmp_path, parse_workflow(TRUE_SPEC), 12)
    with wh:
        calibrated, records, _ = calibrate(design, observe(wh.con, design))
    kept = [r for r in records if r.n < MIN_N]
    assert kept and all(not r.used and f"fewer than {MIN_N}" in r.note for r in kept)
    assert calibrated.steps[0].output_tokens == design.steps[0].output_tokens
    assert calibrated.outcome.success_rate == design.outcome.success_rate


def test_forecast_calibrate_writes_once_and_says_what_it_fitted(tmp_path, monkeypatch, capsys):
    from forecast.cli.main import main

    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "cal-test.yaml"
    spec.write_text(SPEC.replace("HIT", "0.8"))
    wh, _, _ = _load(tmp_path, parse_workflow(TRUE_SPEC), 500)
    wh.close()
    argv = ["calibrate", str(spec), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "steps[0].output_tokens" in out and "calibrated spec written to cal-test.calibrated.yaml" in out
    assert (tmp_path / "cal-test.calibrated.yaml").exists()
    assert main(argv) == 2  # never over the file it wrote
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--workflow", "nobody", "--out", "other.yaml"]) == 2
    assert "no logged task of workflow 'nobody'" in capsys.readouterr().err


# ---------------------------------------------------------------- drift: the design against one month


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    from forecast.usage.drift import drift

    design = parse_workflow(SPEC.replace("HIT", "0.8"))
    wh, _, book = _load(tmp_path_factory.mktemp("drift"), parse_workflow(TRUE_SPEC), 10_000)
    with wh:
        return drift(design, wh.con, MONTH, book)


def test_the_gap_is_attributed_to_the_parameters_that_moved_and_adds_up_to_the_cent(drifted):
    c, m = drifted.cost_per_task, drifted.cost_per_month
    assert sum(drifted.per_task_shares.values()) == pytest.approx(c["observed"] - c["designed"], abs=1e-12)
    assert round(sum(drifted.per_month_shares.values()), 2) == round(m["observed"] - m["designed"], 2)
    # the truth raised output tokens, retries, the routed share (to the pricier gpt-4.1-mini) and iterations
    for moved in ("output tokens", "retry rate", "routing", "loop iterations"):
        assert drifted.per_task_shares[moved] > 0, moved
    # and left the prompts and the history growth alone: next to nothing of the gap is theirs
    gap = c["observed"] - c["designed"]
    for kept in ("input tokens", "context growth"):
        assert abs(drifted.per_task_shares[kept]) < 0.02 * gap, kept
    # with every observed parameter the spec prices the month's logs within 3%
    assert c["observed"] == pytest.approx(c["actual"], rel=0.03)
    assert c["designed"] < 0.9 * c["actual"]


def test_a_rate_outside_the_design_is_flagged(drifted):
    flags = {p.parameter: p.outside for p in drifted.parameters}
    assert flags["steps[0].retry_rate"]  # designed 0.05, drawn from a truth of 0.08
    assert not flags["steps[1].loop.context_growth_tokens"]  # 500 as designed


def test_forecast_drift_prints_table_json_and_csv(tmp_path, capsys):
    import csv
    import io
    import json

    from forecast.cli.main import main

    spec = tmp_path / "cal-test.yaml"
    spec.write_text(SPEC.replace("HIT", "0.8"))
    wh, _, _ = _load(tmp_path, parse_workflow(TRUE_SPEC), 300)
    wh.close()
    base = ["drift", str(spec), "--warehouse", str(tmp_path / "w.duckdb"), "--month", "2026-10", "--prices", "none"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "cal-test in 2026-10: 300 logged tasks" in out and "Shapley values; they add up to the gap" in out
    assert main([*base, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "forecast.drift/1" and doc["tasks"] == 300
    assert main([*base, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["section", "name", "designed"] and any(r[0] == "gap_per_month" for r in rows)
    assert main([*base[:-4], "--month", "2026-09", "--prices", "none"]) == 2
    assert "no logged task of workflow 'cal-test' in 2026-09" in capsys.readouterr().err


def test_a_step_that_switched_model_mid_month_is_named(tmp_path):
    from forecast.usage.calibrate import calibrate

    workflow = parse_workflow(SPEC.replace("HIT", "0.8").replace(
        "    routing: [{model: gpt-4.1-mini, provider: openai, share: 0.25}]\n", ""))

    def switch(logs):
        logs = logs.copy()
        late = (logs["step"] == "triage") & (logs["timestamp"] >= logs["timestamp"].min().replace(day=16, hour=0,
                                                                                                 minute=0, second=0))
        logs.loc[late, "model"] = "gpt-4.1-mini"
        return logs

    wh, _, _ = _load(tmp_path, workflow, 400, extra_rows=switch)
    with wh:
        observed = observe(wh.con, workflow)
        calibrated, _, notes = calibrate(workflow, observed)
    ((step, change),) = observed.model_changes
    assert step == "triage" and change.startswith("triage: openai/gpt-4o-mini until 2026-10-15")
    assert "then openai/gpt-4.1-mini from 2026-10-16" in change and change in notes
    # a switch is not a routing share: the step's routing stays as designed
    assert calibrated.steps[0].routing == workflow.steps[0].routing == ()


def test_sample_data_draws_a_workflows_logs_from_its_spec(tmp_path, capsys):
    from forecast.cli.main import main

    spec = tmp_path / "cal-test.yaml"
    spec.write_text(SPEC.replace("HIT", "0.8"))
    argv = ["sample-data", "--spec", str(spec), "--tasks", "60", "--month", "2026-10", "--out", str(tmp_path / "s"),
            "--format", "csv", "--prices", "none"]
    assert main(argv) == 0
    assert "calls of 60 tasks of cal-test in 2026-10" in capsys.readouterr().out
    with Warehouse(tmp_path / "w.duckdb") as wh:
        result = wh.load(tmp_path / "s" / "requests.csv", book=price_book("none"))
        assert result.quarantined == 0
        assert observe(wh.con, parse_workflow(SPEC.replace("HIT", "0.8"))).tasks == 60
    assert main(argv) == 2  # never over an earlier sample
    assert "exists" in capsys.readouterr().err


HARD_SPEC = """
name: hard
volume: {tasks_per_month: 5000}
steps:
  - name: lookup
    tool: search
    result_tokens_per_call: 1000
  - name: agent
    loop: {iterations: {lognormal: {p50: 4, p90: 7}}, max_steps: 10, context_growth_tokens: 300}
    steps:
      - name: act
        model: claude-haiku-4-5
        provider: anthropic
        input_tokens: {system: {lognormal: {p50: 1000, p90: 3000}}, user: {lognormal: {p50: 300, p90: 900}}}
        output_tokens: 100
        cacheable: [history]
        cache_hit_rate: 0.7
  - name: extra-check
    model: gpt-4o-mini
    provider: openai
    input_tokens: {user: 100}
    output_tokens: 20
    calls_per_run: 0.3
outcome: {success_rate: 0.9}
"""


def test_varying_parts_tools_before_a_loop_a_history_cache_and_a_skipped_step_calibrate_to_the_logs(tmp_path):
    """Logs drawn from the spec itself: the calibrated spec must price them as the design does."""
    from forecast.usage.calibrate import calibrate
    from forecast.usage.drift import drift

    workflow = parse_workflow(HARD_SPEC)
    wh, _, book = _load(tmp_path, workflow, 5_000)
    with wh:
        obs = observe(wh.con, workflow)
        calibrated, _, _ = calibrate(workflow, obs)
        found = drift(workflow, wh.con, MONTH, book)
    # the history-only prefix: first iterations have nothing to cache and are not counted against the rate
    assert obs.steps["act"].cache_hit_rate == pytest.approx(0.7, abs=0.02)
    # a step 70% of tasks skip: 0.3 calls per task, not 1 per task that called it
    assert calibrated.steps[2].calls_per_run.mean() == pytest.approx(0.3, abs=0.03)
    # the search results before the loop feed its first call, not the step after it
    assert calibrated.steps[2].input_tokens.user.mean() == pytest.approx(100, rel=0.05)
    # two varying parts: the logged mean kept, not a lognormal fitted to the total less a mean
    act = calibrated.steps[1].steps[0].input_tokens
    assert act.user.mean() + act.system.mean() + 1000 == pytest.approx(obs.steps["act"].input_tokens_first.mean,
                                                                       rel=0.02)
    c = found.cost_per_task
    assert c["observed"] == pytest.approx(c["actual"], rel=0.03) and c["designed"] == pytest.approx(c["actual"],
                                                                                                      rel=0.03)


def test_a_rare_route_is_dropped_and_a_launch_month_growth_stays_in_the_spec_range(tmp_path):
    from forecast.design.specs import load_workflow
    from forecast.usage.calibrate import _Fitter, _routing, calibrate, spec_text
    from forecast.usage.calibration import Observed

    design = parse_workflow(SPEC.replace("HIT", "0.8"))
    step = design.steps[0]
    # one task in 40,000 on a third model rounds to a share of 0: no route of share 0 (the spec refuses it)
    shares = {("openai", "gpt-4o-mini"): 29_999 / 40_000, ("openai", "gpt-4.1-mini"): 10_000 / 40_000,
              ("openai", "o3"): 1 / 40_000}
    routes = _routing(_Fitter("cal-test"), ("steps", 0), step, shares, 40_000, None)
    assert [(r.model, r.share) for r in routes] == [("gpt-4.1-mini", 0.25)]
    # a workflow launched late in September: 40 tasks, then 2,000 in October; growth 49 is clamped to 10
    observed = Observed("cal-test", 2_040, {"2026-09": 40, "2026-10": 2_000}, 0.8, 2_040,
                        complete_months=("2026-09", "2026-10"))
    calibrated, records, notes = calibrate(design, observed)
    assert calibrated.volume.monthly_growth.value == 10.0 and calibrated.volume.tasks_per_month.value == 2_000
    path = tmp_path / "c.yaml"
    path.write_text(spec_text(calibrated, records, ["a header\nwith a line end", *notes]))
    assert load_workflow(path) == calibrated
    # no month covered from its first day to its last: the volume stays as designed, and says so
    partial = Observed("cal-test", 500, {"2026-10": 500}, 0.8, 500)
    kept, _, notes = calibrate(design, partial)
    assert kept.volume == design.volume and any("no month is logged from its first day" in n for n in notes)
