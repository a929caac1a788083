"""The monthly forecast job: one month of a warehouse -> everything the FP&A report shows.

For a report month M (the last complete month by default) it builds, with the library's own
functions: spend by team and workflow, last month's forecast of M against the actual, a
reconciled 12-month forecast of total / team / team+workflow with the chosen models and their
backtest scores, the variance bridge from M-1 to M, budget status for M and projected for M+1,
anomalies in M, tag coverage and unit-cost trends. The forecast is saved in the warehouse
(forecast records), so next month's report can score it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from ..budgets.envelopes import load_budgets
from ..budgets.status import budget_status, find_anomalies
from ..core.errors import ForecastError
from ..core.months import month_start
from ..timeseries import records
from ..timeseries.auto import forecast_series
from ..timeseries.backtest import cross_validation
from ..timeseries.bridge import bridge
from ..timeseries.drivers import drivers_from_warehouse
from ..timeseries.models import array_model
from ..timeseries.reconcile import hierarchy, reconcile
from ..usage.series import coverage, series, unit_metrics

LEVELS = ((), ("team_id",), ("team_id", "workflow_name"))
RESIDUAL_WINDOWS = 12  # one-step backtest errors per node, for the reconciliation's error covariance


def last_complete_month(wh) -> date:
    """The newest month whose last UTC day has data in the warehouse."""
    newest = wh.sql('SELECT CAST(max("timestamp") AS DATE) FROM requests').fetchone()[0]
    if newest is None:
        raise ForecastError(f"{wh.path}: no requests in the warehouse: load usage first (forecast ingest)")
    return month_start(newest) if (newest + timedelta(days=1)).day == 1 else month_start(newest, -1)


def min_history_months(horizon: int) -> int:
    """Months a series needs before it is forecast `horizon` months on (the engine's own rule: >= 3, h <= 4n)."""
    return max(3, -(-horizon // 4))


def forecastable(history: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series with enough months to forecast `horizon` on, series too new to forecast)."""
    months = history.groupby("unique_id")["y"].transform("size")
    enough = months >= min_history_months(horizon)
    return history[enough], history[~enough]


def one_step_residuals(frame: pd.DataFrame, windows: int = RESIDUAL_WINDOWS) -> pd.DataFrame:
    """unique_id, ds, residual: actual minus a one-step-ahead ETS forecast over the last `windows` months."""
    cv = cross_validation(frame, {"ets": array_model("ets")}, h=1, freq="MS", n_windows=windows, step=1)
    return cv.assign(residual=cv["y"] - cv["ets"])[["unique_id", "ds", "residual"]]


def reconciled_forecast(history: pd.DataFrame, horizon: int, level=(80, 95), n_windows: int = 3):
    """(result, reconciled frame, node history): forecast every node of LEVELS, then MinT-reconcile them
    with the covariance of one-step backtest errors (shrunk), so total = sum of teams = sum of workflows."""
    tree = hierarchy(history, LEVELS)
    result = forecast_series(tree.frame, h=horizon, freq="MS", level=level, n_windows=n_windows, progress=False)
    rec = reconcile(result.forecast.drop(columns="model"), tree.summing, "mint_shrink",
                    one_step_residuals(tree.frame))
    out = rec.forecast.merge(result.forecast[["unique_id", "ds", "model"]], on=["unique_id", "ds"])
    level_of = {uid: name for name, ids in tree.levels.items() for uid in ids}
    out.insert(0, "level", out["unique_id"].map(level_of))
    nodes = tree.frame.assign(level=tree.frame["unique_id"].map(level_of))
    return result, out.assign(method=rec.method), nodes


def forecast_and_save(wh, history: pd.DataFrame, horizon: int, level, parameters: dict) -> tuple:
    """Reconciled forecast of `history`, saved as a forecast run: (result, reconciled frame, node history, run id)."""
    result, forecast, nodes = reconciled_forecast(history, horizon, level)
    run_id = records.save_run(wh, forecast.drop(columns=["level", "method"]), nodes[["unique_id", "ds", "y"]], "MS",
                              {"h": horizon, "level": list(level), **parameters}, result.selection)
    return result, forecast, nodes, run_id


def last_forecast_of(wh, history: pd.DataFrame, month: date, horizon: int, level) -> tuple:
    """(the latest saved forecast of `month` made before it, against the actual; backfilled?). When no run made
    before `month` was saved, one is made now from the history before `month` alone and saved as a backfill."""
    actual = hierarchy(history, LEVELS).frame
    actual = actual[actual["ds"] == pd.Timestamp(month)]
    try:
        return records.forecast_vs_actual(wh, actual, month), False
    except ForecastError:
        pass
    prior, _ = forecastable(history[history["ds"] < pd.Timestamp(month)], horizon)
    if prior.empty:
        return None, False
    forecast_and_save(wh, prior, horizon, level, {"report_month": f"{month_start(month, -1):%Y-%m}", "backfill": True})
    return records.forecast_vs_actual(wh, actual, month), True


def month_bridge(wh, month: date) -> pd.DataFrame:
    """Spend change from the month before `month` to `month` per workflow/provider/model, split into volume,
    mix, unit consumption and price effects (USD) that add up to the change."""
    drivers = drivers_from_warehouse(wh, ("workflow_name",), month_start(month, -1), month_start(month, 1))
    drivers = drivers[drivers["tasks"] > 0]
    before = drivers[drivers["ds"] == pd.Timestamp(month_start(month, -1))]
    after = drivers[drivers["ds"] == pd.Timestamp(month)]
    return bridge(before, after, ["segment"])


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the monthly report shows; USD throughout; frames are long tables."""

    month: date
    spend: pd.DataFrame  # ds, y: total monthly spend (USD), every series included, through the report month
    actuals: pd.DataFrame  # unique_id, ds, y, level: monthly spend of every node (total, team, team/workflow)
    forecast: pd.DataFrame  # reconciled: level, unique_id, ds, forecast, forecast-lo/hi-80/95, model, method
    selection: pd.DataFrame  # per node: chosen model and backtest scores
    last_forecast: pd.DataFrame | None  # the latest forecast of `month` made before it, against the actual
    last_forecast_backfilled: bool  # True when no earlier run existed and it was made now from data before M
    too_new: pd.DataFrame  # team/workflow series with too little history to forecast (left out of every level)
    run_id: str  # this report's forecast run, saved in the warehouse
    bridge: pd.DataFrame  # month-over-month change by workflow/model: volume, mix, unit consumption, price
    budgets: tuple | None  # (as_of, burns, exceedances) for the report month; None without a budget file
    budgets_next: tuple | None  # projected for the next month from the report month's end
    anomalies: tuple  # spikes, runaway tasks, step changes, forecast outliers, weekly top agents
    coverage_by_environment: pd.DataFrame
    coverage_by_team: pd.DataFrame
    unit_costs: pd.DataFrame  # per workflow and month: cost per task and per successful outcome

    def total_usd(self, month: date) -> float:
        """All spend in `month` (USD), series too new to forecast included."""
        return float(self.spend.loc[self.spend["ds"] == pd.Timestamp(month), "y"].sum())


def monthly_report(wh, month: date | None = None, budgets_path: str | None = None, horizon: int = 12,
                   level=(80, 95), method: str = "auto") -> MonthlyReport:
    """Build the monthly report for `month` (default: the last complete month) from warehouse `wh`, saving
    its forecast run (and a backfilled forecast of `month` when none was saved before it)."""
    month = month_start(month) if month else last_complete_month(wh)
    end, last_day = month_start(month, 1), month_start(month, 1) - timedelta(days=1)
    history = series(wh, by=["team_id", "workflow_name"], freq="MS", end=end)
    if history.empty or history["ds"].max() < pd.Timestamp(month):
        raise ForecastError(f"month {month:%Y-%m}: the warehouse has no spend in it; load that month's usage first")
    ready, too_new = forecastable(history, horizon)
    last, backfilled = last_forecast_of(wh, ready, month, horizon, level)
    result, forecast, actuals, run_id = forecast_and_save(wh, ready, horizon, level, {"report_month": f"{month:%Y-%m}"})
    doc = load_budgets(budgets_path) if budgets_path else None
    return MonthlyReport(
        month=month, spend=history.groupby("ds", as_index=False)["y"].sum(), actuals=actuals, forecast=forecast,
        selection=result.selection, last_forecast=last,
        last_forecast_backfilled=backfilled, too_new=too_new, run_id=run_id, bridge=month_bridge(wh, month),
        budgets=budget_status(wh, doc, month, last_day, method) if doc else None,
        budgets_next=budget_status(wh, doc, end, last_day, method) if doc else None,
        anomalies=find_anomalies(wh, month, last_day, method=method),
        coverage_by_environment=coverage(wh, start=month, end=end),
        coverage_by_team=coverage(wh, by="team_id", start=month, end=end),
        unit_costs=unit_metrics(wh, start=month_start(month, -11), end=end))
