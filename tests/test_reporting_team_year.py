"""The year per team on hand-made frames: year-to-date actuals, the rest of the year, and the monthly cap."""

from datetime import date

import pandas as pd
import pytest

from forecast.reporting.monthly import MonthlyReport


def _report(caps: dict, months_ahead: int = 4) -> MonthlyReport:
    months = pd.date_range("2026-01-01", "2026-10-01", freq="MS")
    actuals = pd.concat([pd.DataFrame({"unique_id": team, "ds": months, "y": y, "level": "team_id"})
                         for team, y in (("a", 900.0), ("b", 100.0), ("new", 5.0))])
    ahead = pd.date_range("2026-11-01", periods=months_ahead, freq="MS")
    forecast = pd.concat([pd.DataFrame({"level": "team_id", "unique_id": team, "ds": ahead, "forecast": points,
                                        "forecast-lo-80": [p - 10 for p in points],
                                        "forecast-hi-80": [p + 10 for p in points]})
                          for team, points in (("a", [950.0, 1010.0, 1050.0, 990.0][:months_ahead]),
                                                ("b", [100.0] * months_ahead))])
    none = pd.DataFrame()
    return MonthlyReport(date(2026, 10, 1), none, actuals, forecast, none, None, False, none, none, none, "run",
                         none, None, None, None, none, none, none, team_budgets_usd=caps)


def test_the_year_per_team_counts_ytd_forecast_and_the_months_over_the_cap():
    year = _report({"a": 1000.0}).team_year().set_index("team")
    a, b = year.loc["a"], year.loc["b"]
    # a: 10 x $900 to October, then November 950 + December 1010 for the rest of the year
    assert (a.actual_ytd_usd, a.forecast_rest_usd, a.full_year_usd) == (9000.0, 1960.0, 10960.0)
    # cap $1,000 a month: 12 x = $12,000; of the 4 forecast months December (1010) and January (1050) pass it
    assert (a.monthly_cap_usd, a.budget_usd, a.full_year_vs_budget_usd) == (1000.0, 12000.0, -1040.0)
    assert (a.first_month_over_cap, a.months_over_cap) == (date(2026, 12, 1), 2)
    # equal +-10 bands are errors that do not accumulate (totals.total_sd): the 2-month sum's band is +-10 x sqrt(2)
    assert a.forecast_rest_hi_80_usd - a.forecast_rest_usd == pytest.approx(10 * 2 ** 0.5)
    assert b.full_year_usd == 1200.0 and pd.isna(b.budget_usd) and b.first_month_over_cap is None


def test_a_team_under_its_cap_every_month_has_no_first_month_over():
    a = _report({"a": 2000.0}).team_year().set_index("team").loc["a"]
    assert (a.first_month_over_cap, a.months_over_cap) == (None, 0)


def test_the_rest_of_the_year_is_unknown_for_a_team_not_forecast_or_a_horizon_short_of_december():
    year = _report({"a": 1000.0, "new": 50.0}).team_year().set_index("team")
    new = year.loc["new"]  # budgeted, but too new to forecast: no forecast rows at all
    assert new.actual_ytd_usd == 50.0 and pd.isna(new.forecast_rest_usd) and pd.isna(new.full_year_usd)
    assert pd.isna(new.months_over_cap) and new.first_month_over_cap is None
    short = _report({"a": 1000.0}, months_ahead=1).team_year().set_index("team").loc["a"]  # November only
    assert pd.isna(short.forecast_rest_usd) and pd.isna(short.full_year_usd)
