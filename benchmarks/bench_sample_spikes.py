"""The sample company's runaway loop (research-agent-3, 2026-09-14/15) with and without spike handling.

    .venv/bin/python benchmarks/bench_sample_spikes.py

Prints, for the research team of the packaged sample, the figures issue 14 measures before and after:
- the month-end projection of September made mid-month (through 2026-09-15), with the budgets' robust daily
  rate and without it, against the month's actual close;
- the forecast of October made from the months before it (what the October report shows as "last month's
  forecast"), and the 12-month forecast made after October, each from the actual history with no adjustment
  and from the history the monthly report fits on (runaway days read at the usual rate, then one-off spikes).
Both columns come from the same code paths in the same run; only the adjustment differs.
"""

from __future__ import annotations

from datetime import date

from forecast.budgets.burn import daily_usd
from forecast.budgets.projection import auto_projection
from forecast.reporting.spikes import runaway_days_adjusted
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.totals import horizon_totals
from forecast.usage.sample import sample_warehouse
from forecast.usage.series import series

BY = ["team_id", "workflow_name"]
NODE = "research/research_agent"  # the research team's only workflow: the team's node equals it


def projection_rows(wh) -> list[str]:
    history = daily_usd(wh, {"team_id": "research"}, date(2026, 3, 18), date(2026, 9, 15))
    spent = float(history[history.index >= "2026-09-01"].sum())
    actual = float(daily_usd(wh, {"team_id": "research"}, date(2026, 9, 1), date(2026, 9, 30)).sum())
    rows = [f"September month-end projected on 2026-09-15 (spent so far ${spent:,.2f}; the month closed at "
            f"${actual:,.2f}):"]
    for label, adjust in (("without the robust rate", False), ("with the robust rate", True)):
        p = auto_projection(history, date(2026, 9, 15), date(2026, 9, 30), adjust_spikes=adjust)
        p50, sd = spent + p.total_usd, p.total_sd_usd
        rows.append(f"  {label:<28} P50 ${p50:,.2f} (P10-P90 ${max(p50 - 1.2816 * sd, spent):,.2f}-"
                    f"${p50 + 1.2816 * sd:,.2f}): error {p50 / actual - 1:+.1%}  [{p.method}]")
    return rows


def forecast_rows(wh) -> list[str]:
    rows = []
    for end, label in ((date(2026, 10, 1), "October 2026 forecast from the data through September"),
                       (date(2026, 11, 1), "12-month forecast from the data through October")):
        adjusted, _ = runaway_days_adjusted(wh, BY, end)
        raw = series(wh, by=BY, freq="MS", end=end)
        rows.append(label + ":")
        for name, history, adjust in (("actual history, no adjustment", raw, False),
                                      ("as the monthly report fits it", adjusted, True)):
            node = history[history["unique_id"] == NODE][["unique_id", "ds", "y"]]
            result = forecast_series(node, h=12, freq="MS", level=(80,), scheduler="serial", progress=False,
                                     adjust_spikes=adjust)
            first = result.forecast.iloc[0]
            total = horizon_totals(result.forecast, 12, level=(80,)).iloc[0]
            mase = result.selection["mase"].iloc[0]
            rows.append(f"  {name:<31} next month ${first['forecast']:,.2f} (80% ${first['forecast-lo-80']:,.2f}-"
                        f"${first['forecast-hi-80']:,.2f}); 12 months ${total['forecast_total']:,.0f} (80% "
                        f"${total['forecast_total-lo-80']:,.0f}-${total['forecast_total-hi-80']:,.0f}); "
                        f"{result.forecast['model'].iloc[0]}, backtest MASE {mase:.2f}")
    actual_oct = series(wh, by=BY, freq="MS", start=date(2026, 10, 1), end=date(2026, 11, 1))
    rows.append(f"October 2026 actual: ${float(actual_oct.loc[actual_oct['unique_id'] == NODE, 'y'].sum()):,.2f}")
    return rows


def main() -> None:
    with sample_warehouse() as wh:
        print("\n".join([*projection_rows(wh), "", *forecast_rows(wh)]))


if __name__ == "__main__":
    main()
