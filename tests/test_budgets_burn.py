"""Burn, month-end projection (run-rate and forecast paths), breach probability and date, alerts, CLI exit codes.

Every expected figure is worked out by hand from the daily spend written into the log below.
October 2026: the 1st is a Thursday, the 12th a Monday, the 14th (as_of) a Wednesday, the 31st a Saturday.
"""

import json
import math
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecast.budgets.burn import breach_probability, envelope_burn, first_crossing
from forecast.budgets.envelopes import parse_budgets_data
from forecast.budgets.projection import (
    auto_projection,
    backtest_sum_sd_usd,
    forecast_projection,
    run_rate_projection,
    run_rate_sum_errors_usd,
)
from forecast.cli.main import main
from forecast.core.validation import parse_yaml
from forecast.usage.warehouse import Warehouse
from tests.budgets_data import days, row, write_log

MONTH, AS_OF = date(2026, 10, 1), date(2026, 10, 14)
REMAINING = 17  # Oct 15..31


def _log_rows() -> list[str]:
    rows, n = [], 0
    for d in days(date(2026, 9, 1), AS_OF):
        n += 1
        rows.append(row(n, d, 10.0, team="A"))  # team A: $10 every day
        n += 1
        rows.append(row(n, d, 10.0 if d.weekday() < 5 else 2.0, team="B"))  # B: $10 weekdays, $2 weekends
        # C: $5 +/- $1, the sign flipping every week: each weekday's 4 values average $5
        week = (d - date(2026, 9, 16)).days // 7
        n += 1
        rows.append(row(n, d, 5.0 + (1 if week % 2 == 0 else -1), team="C"))
    for i, (agent, usd) in enumerate([("dev-1", 0.5), ("dev-1", 0.4), ("dev-2", 0.3), ("dev-3", 2.0)]):
        rows.append(row(10_000 + i, date(2026, 10, 12 + i % 3), usd, team="X", env="development", agent=agent))
    rows.append(row(20_000, date(2026, 10, 9), 7.0, team="X", env="development", agent="dev-1"))  # last week
    return rows


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("burn")
    with Warehouse(tmp / "w.duckdb") as w:
        w.load(write_log(tmp / "log.csv", _log_rows()))
    with Warehouse(tmp / "w.duckdb", read_only=True) as w:
        yield w


def _env(**fields):
    base = {"name": "e", "owner": "o", "match": {"team_id": "A"}, "monthly_cap_usd": 300}
    doc = parse_budgets_data(parse_yaml(json.dumps({"budgets": [{**base, **fields}]}), "t.yaml"), "t.yaml")
    return doc.budgets[0]


def test_flat_spend_burn_projection_breach_date_and_projected_alert(wh):
    b = envelope_burn(wh, _env(action="hard_stop"), MONTH, AS_OF, run_rate_projection)
    assert b.burn_usd == pytest.approx(140.0) and b.days_elapsed == 14 and b.days_in_month == 31
    assert b.run_rate_usd_per_day == pytest.approx(10.0)
    assert b.projected_usd == pytest.approx(140 + 17 * 10)  # 310
    assert b.projection.total_sd_usd == pytest.approx(0.0)  # identical days: no spread
    assert b.breach_probability == 1.0  # 170 still to come >= 160 of headroom, with certainty
    assert b.breached_on is None
    assert b.projected_breach_date == date(2026, 10, 30)  # 140 + 16 x 10 = 300 on the 16th day after the 14th
    # actual 47% fires nothing; projected 103% fires the 100% threshold only, and P(breach) 100% >= the default
    # 20% the projected breach (issue 14: added on purpose); with no spread its date is the P50 path's
    alert, risk = b.alerts
    assert (alert.kind, alert.threshold, alert.pages) == ("projected", 1.0, True)
    assert (risk.kind, risk.probability, risk.probability_level, risk.day, risk.pages) == (
        "projected_breach", 1.0, 0.2, date(2026, 10, 30), True)


def test_weekday_seasonality_and_daily_cap(wh):
    b = envelope_burn(wh, _env(match={"team_id": "B"}, monthly_cap_usd=1000, daily_cap_usd=8), MONTH, AS_OF,
                      run_rate_projection)
    # Oct 1-14: 10 weekdays x $10 + 4 weekend days x $2; Oct 15-31: 12 weekdays, 5 weekend days
    assert b.burn_usd == pytest.approx(108.0)
    assert b.projection.total_usd == pytest.approx(12 * 10 + 5 * 2)
    assert b.projection.method.startswith("run-rate by weekday")
    daily = [a for a in b.alerts if a.kind == "daily"]
    assert len(daily) == 10 and all(a.value_usd == 10 and a.threshold == 1.0 for a in daily)
    assert b.breach_probability == 0.0


def test_breach_probability_from_residual_spread(wh):
    cap = 170.0
    b = envelope_burn(wh, _env(match={"team_id": "C"}, monthly_cap_usd=cap), MONTH, AS_OF, run_rate_projection)
    # Sep 17 - Oct 14 (last 28 days): every weekday has two $6 and two $4 days -> means $5, residuals +/-1,
    # residual sd s = sqrt(28 x 1 / (28 - 7)); Oct 1-14 spend: weeks start Sep 16 (+1), Sep 23 (-1), Sep 30 (+1),
    # Oct 7 (-1): Oct 1-6 = 6 x 6, Oct 7-13 = 7 x 4, Oct 14 = 6
    assert b.burn_usd == pytest.approx(36 + 28 + 6)
    s2 = 28 / 21
    # a future day's variance s^2 (1 + 1/4): its weekday mean comes from 4 days
    assert b.projection.sd_usd == pytest.approx(np.full(REMAINING, math.sqrt(s2 * 1.25)))
    # Oct 15-31: Thu, Fri, Sat 3 days each, Sun-Wed 2 each. Var(sum) = s^2 (17 + sum k^2 / 4) =
    # s^2 (17 + (3 x 9 + 4 x 4) / 4) = s^2 x 27.75 = 37; days taken as independent would give s^2 x 17 = 22.7
    sd_total = math.sqrt(s2 * 27.75)
    assert sd_total == pytest.approx(math.sqrt(37))
    assert b.projection.total_sd_usd == pytest.approx(sd_total)
    # the backtest of 17-day sums on this history (14 origins; the signs over 17 days sum to +/-1 or +/-3, the
    # means of unbalanced windows are off by up to 1/7 a day) has an RMS under 6.08, so the formula binds
    assert b.projection.sum_sd_usd == pytest.approx(sd_total)
    z = (cap - 70 - 5 * REMAINING) / sd_total  # headroom 100 vs 85 expected
    assert b.breach_probability == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))  # normal upper tail
    lo, hi = b.projected_interval_usd(0.8)
    assert (lo, hi) == pytest.approx((155 - 1.2815515655 * sd_total, 155 + 1.2815515655 * sd_total))


def test_sum_backtest_by_hand():
    # 14 days at $10 then two at $20 (Mon 2026-09-07 ...). One-day sums: from day 14 the weekday means are all
    # $10 -> error +10; from day 15 (window days 0-14) day 15's weekday (days 1, 8) still means $10 -> +10.
    history = pd.Series([10.0] * 14 + [20.0, 20.0], index=pd.date_range("2026-09-07", periods=16))
    np.testing.assert_allclose(run_rate_sum_errors_usd(history, 1), [10.0, 10.0])
    # two-day sum from day 14: 40 - 20 = +20, and no other origin has two days after it
    np.testing.assert_allclose(run_rate_sum_errors_usd(history, 2), [20.0])
    assert backtest_sum_sd_usd(history, 1) is None  # 2 origins < MIN_SUM_ORIGINS


def test_persistent_errors_widen_the_month_beyond_independent_days():
    # a random walk: each day's level persists, so the 17-day sum misses by far more than sqrt(17) day-errors
    rng = np.random.default_rng(3)
    index = pd.date_range(AS_OF - timedelta(days=119), AS_OF)
    history = pd.Series(200 + np.cumsum(rng.normal(0, 5, len(index))), index=index)
    p = run_rate_projection(history, AS_OF, date(2026, 10, 31))
    formula = p.sd_usd[0] / math.sqrt(1.25) * math.sqrt(27.75)  # the independent-days formula, as above
    errors = run_rate_sum_errors_usd(history, REMAINING)
    assert len(errors) == 120 - 14 - REMAINING + 1
    assert p.total_sd_usd == pytest.approx(math.sqrt(np.mean(errors**2))) and p.total_sd_usd > 2 * formula


def test_actual_breach_day_and_threshold_alerts():
    assert first_crossing(0.0, np.array([10, 50, 45, 1.0]), 100, ["d1", "d2", "d3", "d4"]) == "d3"
    assert first_crossing(0.0, np.array([1.0]), 100, ["d1"]) is None
    assert breach_probability(120, 100, 0, 0) == 1.0
    assert breach_probability(50, 100, 50, 0) == 1.0 and breach_probability(50, 100, 49.9, 0) == 0.0
    assert breach_probability(50, 100, 50, 10) == pytest.approx(0.5)


def test_actual_alert_takes_precedence_and_is_the_highest_threshold(wh):
    b = envelope_burn(wh, _env(monthly_cap_usd=150, thresholds=[0.5, 0.8, 1.0]), MONTH, AS_OF, run_rate_projection)
    # 140 spent = 93% of 150: the 80% actual alert; projected 310 crosses 100% -> one projected alert at 100%,
    # and P(breach) 100% >= 20% the projected breach (issue 14: added on purpose)
    assert [(a.kind, a.threshold) for a in b.alerts] == [("actual", 0.8), ("projected", 1.0),
                                                         ("projected_breach", 1.0)]
    assert b.breached_on is None and b.projected_breach_date == date(2026, 10, 15)
    b = envelope_burn(wh, _env(monthly_cap_usd=100), MONTH, AS_OF, run_rate_projection)
    assert b.breached_on == date(2026, 10, 10) and b.projected_breach_date is None  # 10 days x $10
    assert [(a.kind, a.threshold) for a in b.alerts] == [("actual", 1.0)]  # breached: no projected breach


@pytest.mark.parametrize("action", ["warn", "downgrade_model", "require_approval", "hard_stop"])
def test_the_breach_action_is_recorded_as_policy_and_only_hard_stop_pages(wh, action):
    b = envelope_burn(wh, _env(action=action), MONTH, AS_OF, run_rate_projection)
    # projected 140 + 17 x 10 = 310 >= 300: the 100% projected alert, and the projected breach (P 100% >= 20%)
    alert, risk = b.alerts
    assert (alert.kind, alert.threshold, alert.action) == ("projected", 1.0, action)
    assert alert.line() == f"e: projected month-end $310.00 >= 100.0% of $300.00 -> {action}"
    assert risk.line() == f"e: projected breach of $300.00: P(breach) 100.0% >= 20.0%, ~2026-10-30 -> {action}"
    assert alert.pages is risk.pages is (action == "hard_stop")


def test_exploration_credits_reset_on_monday(wh):
    env = _env(type="exploration", match={"environment": "development"}, monthly_cap_usd=None,
               credit_usd_per_week=1.0)  # per defaults to agent_id
    b = envelope_burn(wh, env, MONTH, AS_OF, run_rate_projection)
    # week of Mon Oct 12: dev-1 0.5 (12th) + 0.4 (13th), dev-2 0.3 (14th), dev-3 2.0 (12th); the $7 of Oct 9 is
    # last week's and does not count
    got = {c.identity: c.spent_usd for c in b.credits}
    assert got == pytest.approx({"dev-1": 0.9, "dev-2": 0.3, "dev-3": 2.0})
    assert {(a.subject, a.threshold) for a in b.alerts} == {("dev-1", 0.8), ("dev-3", 1.0)}
    assert b.breach_probability is None


def _stub_forecaster(mean_usd: float, sd_usd: float, floor_usd: float = -np.inf):
    calls = []

    def forecaster(df, h, freq, level, models, n_windows):
        calls.append((len(df), h, freq))
        start = df["ds"].max() + pd.Timedelta(days=1)
        ds = pd.date_range(start, periods=h, freq="D")
        half = 1.959963984540054 * sd_usd
        frame = pd.DataFrame({"unique_id": "spend", "ds": ds, "forecast": mean_usd, "forecast-lo-80": 0.0,
                              "forecast-hi-80": 0.0, "forecast-lo-95": max(mean_usd - half, floor_usd),
                              "forecast-hi-95": mean_usd + half, "model": "stub"})
        return SimpleNamespace(forecast=frame, selection=None)

    forecaster.calls = calls
    return forecaster


def test_forecast_path_reads_mean_and_spread_off_the_interval():
    history = pd.Series(10.0, index=pd.date_range("2026-08-01", "2026-10-14"))
    stub = _stub_forecaster(4.0, 2.0)
    p = forecast_projection(history, AS_OF, date(2026, 10, 31), stub)
    assert stub.calls == [(75, REMAINING, "D")]
    assert p.method == "forecast (stub)" and p.days[0] == date(2026, 10, 15) and len(p.days) == REMAINING
    assert p.total_usd == pytest.approx(4.0 * REMAINING)
    assert p.total_sd_usd == pytest.approx(2.0 * math.sqrt(REMAINING))


def test_forecast_spread_comes_from_the_upper_half_when_the_lower_bound_is_floored_at_zero():
    # mean $1, sd $2: the 95% interval is 1 +/- 3.92, floored at 0 -> [0, 4.92]. The upper half gives 3.92 / 1.96
    # = 2; the full width would give 4.92 / 3.92 = 1.26 and understate the risk of a breach
    history = pd.Series(10.0, index=pd.date_range("2026-08-01", "2026-10-14"))
    p = forecast_projection(history, AS_OF, date(2026, 10, 31), _stub_forecaster(1.0, 2.0, floor_usd=0.0))
    np.testing.assert_allclose(p.sd_usd, 2.0)


def test_auto_uses_forecast_with_enough_history_else_run_rate():
    stub = _stub_forecaster(4.0, 0.0)
    long = pd.Series(10.0, index=pd.date_range(AS_OF - timedelta(days=59), AS_OF))
    assert auto_projection(long, AS_OF, date(2026, 10, 31), forecaster=stub).method == "forecast (stub)"
    short = long.iloc[-30:]
    p = auto_projection(short, AS_OF, date(2026, 10, 31), forecaster=stub)
    assert p.method.startswith("run-rate by weekday") and p.total_usd == pytest.approx(170.0)
    assert len(stub.calls) == 1


def test_projector_is_swappable_in_envelope_burn(wh):
    def flat_zero(history, as_of, last_day):
        return run_rate_projection(history.iloc[0:0], as_of, last_day)

    b = envelope_burn(wh, _env(), MONTH, AS_OF, flat_zero)
    assert b.projected_usd == pytest.approx(140.0) and b.projection.method.startswith("run-rate (no history")


def test_real_forecaster_when_installed():
    pytest.importorskip("forecast.timeseries.auto")
    rng = np.random.default_rng(0)
    index = pd.date_range(AS_OF - timedelta(days=119), AS_OF)
    history = pd.Series(20 + 5 * (index.day_of_week < 5) + rng.normal(0, 1, len(index)), index=index)
    p = forecast_projection(history, AS_OF, date(2026, 10, 31))
    # truth for Oct 15-31: 12 weekdays x 25 + 5 weekend days x 20 = 400
    assert p.method.startswith("forecast (") and p.total_usd == pytest.approx(400, rel=0.1)


BUDGETS = """
budgets:
  - {name: team-a, owner: o, match: {team_id: A}, monthly_cap_usd: %s, action: %s}
guardrails:
  - {name: g, match: {team_id: B}, max_usd_per_agent_day: 50}
"""


@pytest.mark.parametrize(("cap", "action", "status"), [
    (1000, "hard_stop", 0),  # projected 310 of 1000: all is well
    (300, "warn", 0),  # projected breach, but only a warning
    (300, "hard_stop", 1),  # projected breach of a hard cap
    (100, "hard_stop", 1),  # already breached
])
def test_cli_exit_status(wh, tmp_path, capsys, cap, action, status):
    f = tmp_path / "b.yaml"
    f.write_text(BUDGETS % (cap, action))
    args = ["budgets", "--month", "2026-10", "--budgets", str(f), "--warehouse", str(wh.path),
            "--method", "run-rate"]
    assert main(args) == status
    assert "team-a" in capsys.readouterr().out  # as_of defaults to the newest day: Oct 14
    assert main([*args, "--format", "json"]) == status
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2026-10-14" and doc["envelopes"][0]["burn_usd"] == pytest.approx(140.0)
    assert doc["pages"] is bool(status)


def test_cli_rejects_a_month_without_data_and_a_bad_file(wh, tmp_path, capsys):
    f = tmp_path / "b.yaml"
    f.write_text(BUDGETS % (100, "hard_stop"))
    assert main(["budgets", "--month", "2026-12", "--budgets", str(f), "--warehouse", str(wh.path)]) == 2
    # issue 14: the error names the data's first and last month (was: "the newest request is on 2026-10-14")
    assert capsys.readouterr().err == ("error: --month 2026-12: outside the data: the warehouse holds 2026-09 to "
                                       "2026-10 (requests from 2026-09-01 to 2026-10-14); give a month in that "
                                       "range or load that month's usage first\n")
    f.write_text("budgets:\n  - {name: x, owner: o, match: {team: A}, monthly_cap_usd: 5}\n")
    assert main(["budgets", "--month", "2026-10", "--budgets", str(f), "--warehouse", str(wh.path)]) == 2
    assert f"{f}: budgets[0].match.team" in capsys.readouterr().err
