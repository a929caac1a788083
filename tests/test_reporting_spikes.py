"""The monthly report takes runaway days out of the history it forecasts on, and only there."""

from datetime import date

import pandas as pd
import pytest

from forecast.reporting.monthly import monthly_report
from forecast.reporting.spikes import runaway_days_adjusted
from forecast.usage.warehouse import Warehouse

RUNAWAY = (pd.Timestamp("2026-10-20"), pd.Timestamp("2026-10-21"))


@pytest.fixture
def runaway_warehouse(tmp_path):
    """Team a (workflow w) spends $10 every day and $1,000 on 2026-10-20 and 21; team b $20 every day; March to
    October 2026, so the runaway month is the newest one."""
    days = pd.date_range("2026-03-01", "2026-10-31", freq="D")
    lines = ["timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id,workflow_name"]
    for i, d in enumerate(days):
        lines.append(f"{d:%Y-%m-%d}T10:00:00Z,a{i},openai,gpt-4o-mini,1000,100,{1000 if d in RUNAWAY else 10},a,w")
        lines.append(f"{d:%Y-%m-%d}T11:00:00Z,b{i},openai,gpt-4o-mini,1000,100,20,b,w")
    (tmp_path / "calls.csv").write_text("\n".join(lines) + "\n")
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.load(tmp_path / "calls.csv")
    yield wh
    wh.close()


def test_runaway_days_in_the_newest_month_are_read_at_the_usual_rate(runaway_warehouse):
    monthly, adjustments = runaway_days_adjusted(runaway_warehouse, ["team_id", "workflow_name"], date(2026, 11, 1))
    # by hand: October has 31 days; a's actual is 29 x $10 + 2 x $1,000 = $2,290, read as 31 x $10 = $310
    assert adjustments[["unique_id", "actual", "adjusted"]].values.tolist() == [["a/w", 2290.0, 310.0]]
    assert "2 runaway days (2026-10-20: 1,000 USD, 2026-10-21: 1,000 USD)" in adjustments["reason"].iloc[0]
    assert monthly.loc[monthly["unique_id"] == "b/w", "y"].tolist()[-1] == 31 * 20  # b untouched


def test_the_report_forecasts_the_usual_level_lists_the_adjustment_and_keeps_actual_spend(runaway_warehouse):
    report = monthly_report(runaway_warehouse, "2026-10", budgets="none", horizon=3)
    assert report.total_usd(date(2026, 10, 1)) == pytest.approx(2290 + 31 * 20)  # actual spend unchanged
    oct_actual = report.actuals[(report.actuals["unique_id"] == "a/w") & (report.actuals["ds"] == "2026-10-01")]
    assert oct_actual["y"].tolist() == [2290.0]
    assert report.adjustments.loc[report.adjustments["unique_id"] == "a/w", "adjusted"].tolist() == [310.0]
    # November for a/w: a flat $10 a day is $300 (30 days); the runaway month repeated would be about $2,290
    nov = report.forecast[(report.forecast["unique_id"] == "a/w")].sort_values("ds").iloc[0]
    assert 250 < nov["forecast"] < 350
    effect = report.adjustment_effect(3).set_index("unique_id")
    assert {"a/w", "a", "total"} <= set(effect.index) and "b/w" not in effect.index
    assert effect.loc["a/w", "next_unadjusted_usd"] > 1000 > effect.loc["a/w", "next_usd"]
    assert report.to_dict()["adjustments"][0]["reason"].startswith("2 runaway days")
