"""Detectors on the sample company's data (known injected anomalies, sample.py / MANIFEST.json) and on
hand-made series: each is checked for detection and for false alarms on clean stretches.

The generator injects: a runaway loop in research-agent-3 on 2026-09-14 and 15 (60 stuck tasks a day of 60-149
steps against the workflow's ~10), and code_review's upgrade to gpt-5 on 2025-09-01 (3x tokens per task).
2025-10-01 .. 2026-08-31 holds no injected event (support_triage's model swap keeps its tokens) and is
the clean stretch false alarms are counted on.
"""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.budgets import anomalies as an
from forecast.budgets import shifts
from forecast.budgets.envelopes import parse_budgets_data
from forecast.budgets.guardrails import check_guardrail
from forecast.budgets.projection import run_rate_projection
from forecast.budgets.status import find_anomalies
from forecast.cli.main import main
from forecast.core.validation import parse_yaml
from forecast.usage.sample import RUNAWAY_AGENT, RUNAWAY_DAYS, RUNAWAY_TASKS_PER_DAY, UPGRADE_DAY, generate_requests
from forecast.usage.warehouse import Warehouse
from tests.budgets_data import days, row, write_log

CLEAN = (date(2025, 10, 1), date(2026, 8, 31))


@pytest.fixture(scope="session")
def sample_wh(tmp_path_factory):
    import pyarrow.parquet as pq

    tmp = tmp_path_factory.mktemp("sample")
    table, _ = generate_requests(60_000, 16, 0, corrupt_share=0.0)  # July 2025 .. October 2026
    pq.write_table(table, tmp / "requests.parquet")
    with Warehouse(tmp / "w.duckdb") as w:
        w.load(tmp / "requests.parquet")
    with Warehouse(tmp / "w.duckdb", read_only=True) as w:
        yield w


def test_spike_rule_on_a_hand_made_frame():
    index = pd.date_range("2026-01-01", periods=10)
    wide = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6, 7, 9, 30, 8.0], "b": [np.nan] * 3 + [5.0] * 7}, index=index)
    hits = an.spike_days(wide, factor=2.0, window_days=7, min_excess_usd=1.0)
    # a: day 8 (9) vs median(1..7) = 4 -> 2.25x; day 9 (30) vs median(2..7, 9) = 5 -> 6x; day 10 (8) vs
    # median(3..7, 9, 30) = 6 -> 1.3x. b has only 7 days of history: no full window before its last day.
    assert list(zip(hits.day.astype(str), hits.entity, hits.median_usd, strict=True)) == [
        ("2026-01-08", "a", 4.0), ("2026-01-09", "a", 5.0)]
    floor = an.spike_days(wide, factor=2.0, window_days=7, min_excess_usd=10.0)
    assert floor.day.astype(str).tolist() == ["2026-01-09"]  # 9 - 4 = 5 is below a $10 floor


def test_spikes_find_the_runaway_agent_and_say_what_changed(sample_wh):
    found = an.spikes(sample_wh, "agent_id", date(2026, 9, 1), date(2026, 10, 31))
    assert {(s.entity, s.day) for s in found} == {(RUNAWAY_AGENT, d) for d in RUNAWAY_DAYS}
    workflow = an.spikes(sample_wh, "workflow_name", date(2026, 9, 1), date(2026, 10, 31))
    assert [(s.entity, s.day) for s in workflow] == [("research_agent", d) for d in RUNAWAY_DAYS]
    first = workflow[0]
    assert first.ratio > 10 and any(c.startswith("steps/task") for c in first.changes)
    assert first.day_context.models[0][0] == "o3" and first.day_context.tool_calls_per_task is None


def test_spikes_raise_no_false_alarm_on_clean_months(sample_wh):
    for by in ("agent_id", "workflow_name"):
        assert an.spikes(sample_wh, by, *CLEAN) == []


def test_runaway_tasks_are_the_injected_ones_and_only_those(sample_wh):
    found = an.runaway_tasks(sample_wh, date(2026, 9, 1), date(2026, 10, 31))
    assert len(found) == 2 * RUNAWAY_TASKS_PER_DAY  # the stuck tasks of each runaway day
    assert {(r.agent_id, r.day) for r in found} == {(RUNAWAY_AGENT, d) for d in RUNAWAY_DAYS}
    assert all(r.steps >= 60 and r.norm_steps <= 12 for r in found)
    assert an.runaway_tasks(sample_wh, *CLEAN) == []


def test_step_change_dates_the_model_upgrade(sample_wh):
    found = shifts.step_changes(sample_wh, date(2025, 8, 1), date(2025, 9, 30))
    assert [(c.entity, c.start) for c in found] == [("code_review", UPGRADE_DAY)]
    assert 2.5 < found[0].ratio < 4.0  # tokens per task x3 (context growth makes it a little more)
    clean = [c for m in shifts.METRICS for c in shifts.step_changes(sample_wh, *CLEAN, metric=m)]
    assert clean == []


def test_change_points_on_a_hand_made_series():
    values = np.r_[np.full(20, 10.0) + np.tile([0.5, -0.5], 10), np.full(20, 30.0) + np.tile([1, -1], 10)]
    values[5] = np.nan  # a day without tasks
    [(t, before, after, p)] = shifts.change_points(values, window_days=14, min_ratio=1.5, max_p=1e-4)
    assert t == 20 and before == 10.0 and after == 30.0 and p < 1e-4
    assert shifts.change_points(np.full(40, 10.0) + np.tile([1, -1], 20)) == []


def test_forecast_outliers_catch_the_runaway_days_only(sample_wh):
    found = shifts.forecast_outliers(sample_wh, date(2026, 9, 8), date(2026, 9, 21), projector=run_rate_projection)
    assert [(o.entity, o.day) for o in found] == [("research_agent", d) for d in RUNAWAY_DAYS]
    assert all(o.actual_usd > o.hi_usd for o in found)
    clean = shifts.forecast_outliers(sample_wh, date(2026, 8, 1), date(2026, 8, 31), projector=run_rate_projection)
    assert clean == []


@pytest.mark.slow
def test_forecast_outliers_with_the_forecaster(sample_wh):  # about 40 s: model selection per workflow
    found = shifts.forecast_outliers(sample_wh, date(2026, 9, 8), date(2026, 9, 21))
    assert [(o.entity, o.day) for o in found] == [("research_agent", d) for d in RUNAWAY_DAYS]
    assert all(o.method.startswith("forecast") for o in found)
    assert shifts.forecast_outliers(sample_wh, date(2026, 8, 1), date(2026, 8, 31)) == []


def test_weekly_top_agents_with_week_over_week_change(tmp_path):
    rows, n = [], 0
    for d in days(date(2026, 10, 5), date(2026, 10, 21)):  # two weeks from Monday Oct 5, and 3 days of a third
        for i in range(12):
            n += 1
            usd = (i + 1) * (2.0 if d >= date(2026, 10, 12) else 1.0) if i != 11 else (5.0 if d.day == 6 else 0)
            rows.append(row(n, d, usd, agent=f"ag-{i:02d}"))
        rows.append(row(n := n + 1, d, 40.0 if d >= date(2026, 10, 12) else 0.01, agent="ag-cents"))
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.load(write_log(tmp_path / "l.csv", rows))
        top = an.weekly_top_agents(w, date(2026, 10, 15))
        # anomalies up to Wednesday Oct 21 rank the last full week, not the 3 days of the week in progress
        found = find_anomalies(w, date(2026, 10, 19), date(2026, 10, 21), method="run-rate")
    pd.testing.assert_frame_equal(found.top_agents, top)
    assert found.to_dict()["weekly_top_agents_week_start"] == "2026-10-12"
    # week of Oct 12: agent i spends 7 x 2 x (i + 1); the week before 7 x (i + 1); ag-11 only $5 last week;
    # ag-cents spends 7 x $40 = $280 after 7 x $0.01 = $0.07: below the $1 base, so no percentage
    assert len(top) == 10 and str(top.week_start[0]) == "2026-10-12"
    assert top.agent_id.tolist() == ["ag-cents"] + [f"ag-{i:02d}" for i in range(10, 1, -1)]
    assert top.cost_usd.tolist() == pytest.approx([280.0] + [14.0 * (i + 1) for i in range(10, 1, -1)])
    assert top.change_usd.tolist() == pytest.approx([279.93] + [7.0 * (i + 1) for i in range(10, 1, -1)])
    assert np.isnan(top.change_pct[0]) and top.change_pct[1:].tolist() == pytest.approx([1.0] * 9)


def test_guardrails_and_spike_context_on_an_injected_log(tmp_path):
    rows, n = [], 0
    for d in days(date(2026, 10, 1), date(2026, 10, 10)):
        for t in range(2):  # two normal tasks a day: 3 steps, $0.50 a step, 1 tool call a step
            for _s in range(3):
                n += 1
                rows.append(row(n, d, 0.5, agent="a-1", task=f"{d.day}-{t}", tool_calls="1"))
    for _s in range(12):  # Oct 11: one stuck task, 12 steps at $1 on a bigger model, 4 tool calls a step
        n += 1
        rows.append(row(n, date(2026, 10, 11), 1.0, agent="a-1", task="stuck", model="m-big", tool_calls="4",
                        tokens=3000))
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.load(write_log(tmp_path / "l.csv", rows))
        g = parse_budgets_data(parse_yaml("""guardrails:
  - {name: g, match: {workflow_name: wf}, max_steps_per_task: 10, max_usd_per_task: 5, max_usd_per_agent_day: 6}
budgets: []""", "g.yaml"), "g.yaml").guardrails[0]
        exceeded = check_guardrail(w, g, date(2026, 10, 1), date(2026, 10, 31))
        [spike] = an.spikes(w, "agent_id", date(2026, 10, 8), date(2026, 10, 11), min_excess_usd=1.0)
    # normal days: $3 per agent-day, $1.50 per task: nothing exceeded; the stuck task: 12 steps, $12
    assert sorted((x.rule, x.subject, x.value) for x in exceeded) == [
        ("max_steps_per_task", "stuck", 12.0), ("max_usd_per_agent_day", "a-1", 12.0),
        ("max_usd_per_task", "stuck", 12.0)]
    # Oct 11: $12 vs median $3 (4x); per task: 12 steps vs 3, 3300 tokens x 12 vs 1100 x 3, 48 tool calls vs 3
    assert spike.day == date(2026, 10, 11) and spike.median_usd == 3.0
    assert spike.day_context.tool_calls_per_task == 48 and spike.baseline_context.tool_calls_per_task == 3
    assert spike.changes == ("model m-small -> m-big", "steps/task 3 -> 12 (4.0x)",
                             "tokens/task 3,300 -> 3.96e+04 (12.0x)", "tool calls/task 3 -> 48 (16.0x)",
                             "USD/task 1.5 -> 12 (8.0x)")


def test_a_quiet_identity_has_a_zero_median_not_none(tmp_path):
    # q-1 spends $1 on Sep 20, nothing for 3 weeks, then $40 on Oct 12. The 7 days before Oct 12 are $0 each
    # (median 0): 40 > 2 x 0 and 40 - 0 >= 5 -> a spike. new-1 spends for the first time ever on Oct 12: no
    # history, no median, no spike (the runaway-task and forecast rules cover new identities).
    rows = [row(1, date(2026, 9, 20), 1.0, agent="q-1"), row(2, date(2026, 10, 12), 40.0, agent="q-1"),
            row(3, date(2026, 10, 12), 40.0, agent="new-1")]
    with Warehouse(tmp_path / "w.duckdb") as w:
        w.load(write_log(tmp_path / "l.csv", rows))
        found = an.spikes(w, "agent_id", date(2026, 10, 12), date(2026, 10, 12))
    assert [(s.entity, s.day, s.cost_usd, s.median_usd) for s in found] == [("q-1", date(2026, 10, 12), 40.0, 0.0)]


def test_anomalies_cli_exit_status(sample_wh, capsys):
    args = ["anomalies", "--warehouse", str(sample_wh.path), "--method", "run-rate"]
    assert main([*args, "--since", "2026-09-08", "--until", "2026-09-21"]) == 1
    out = capsys.readouterr().out
    assert f"agent_id={RUNAWAY_AGENT}" in out
    assert f"runaway tasks ({2 * RUNAWAY_TASKS_PER_DAY}, costliest 20 shown)" in out
    assert main([*args, "--since", "2026-08-01", "--until", "2026-08-31"]) == 0
    assert "runaway tasks (0): none" in capsys.readouterr().out
