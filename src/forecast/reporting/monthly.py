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
from pathlib import Path

import pandas as pd

from ..budgets.envelopes import load_budgets
from ..budgets.status import Anomalies, BudgetStatus, budget_status, find_anomalies
from ..core import workfolder
from ..core.errors import ForecastError, ParameterError
from ..core.formatting import json_safe
from ..core.months import month_start, parse_month
from ..core.resources import example
from ..core.results import html_table
from ..timeseries import records
from ..timeseries.auto import forecast_series
from ..timeseries.backtest import cross_validation
from ..timeseries.bridge import bridge
from ..timeseries.drivers import drivers_from_warehouse
from ..timeseries.models import array_model
from ..timeseries.reconcile import hierarchy, reconcile
from ..usage.sample import sample_warehouse
from ..usage.series import COVERAGE_TARGET, coverage, series, unit_metrics
from ..usage.warehouse import Warehouse

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
    budgets: BudgetStatus | None  # the report month; None without a budget file
    budgets_next: BudgetStatus | None  # the next month, projected from the report month's end
    anomalies: Anomalies  # in the report month
    coverage_by_environment: pd.DataFrame
    coverage_by_team: pd.DataFrame
    unit_costs: pd.DataFrame  # per workflow and month: cost per task and per successful outcome
    notes: tuple[str, ...] = ()  # which files the defaults chose (the sample company, no budgets, ...)

    def total_usd(self, month: date) -> float:
        """All spend in `month` (USD), series too new to forecast included."""
        return float(self.spend.loc[self.spend["ds"] == pd.Timestamp(month), "y"].sum())

    def next_month(self) -> pd.Series:
        """The total's forecast for the month after the report month (forecast, forecast-lo/hi-80/95, model)."""
        total = self.forecast[self.forecast["unique_id"] == "total"]
        return total.sort_values("ds").iloc[0]

    def forecast_sums(self, months: int = 12) -> pd.DataFrame:
        """Per node, the sum of its first `months` monthly forecasts and the sums of their monthly 80% bounds
        (USD; the sums of bounds are not an interval of the total, which is narrower)."""
        first = self.forecast["ds"].min()
        window = self.forecast[self.forecast["ds"] < first + pd.DateOffset(months=months)]
        return window.groupby(["level", "unique_id"], as_index=False)[
            ["forecast", "forecast-lo-80", "forecast-hi-80"]].sum().rename(columns={
                "forecast": "forecast_usd", "forecast-lo-80": "sum_of_monthly_lo_80_usd",
                "forecast-hi-80": "sum_of_monthly_hi_80_usd"})

    def teams_below_coverage(self, target: float = COVERAGE_TARGET) -> pd.DataFrame:
        """Teams whose tagged share of spend in the report month is under `target`."""
        team = self.coverage_by_team
        return team[team["spend_coverage"].fillna(0) < target]

    def to_dict(self) -> dict:
        """The report as one JSON-ready document (schema "forecast.monthly/1"): spend, forecasts, bridge,
        budgets, anomalies, coverage and unit costs; dates as ISO strings, NaN as null."""
        def records(frame: pd.DataFrame | None) -> list[dict] | None:
            if frame is None:
                return None
            out = frame.copy()
            for column in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[column]):
                    out[column] = out[column].dt.strftime("%Y-%m-%d")
            return json_safe(out.astype(object).where(out.notna(), None).to_dict("records"))

        prev = month_start(self.month, -1)
        return {"schema": "forecast.monthly/1", "month": f"{self.month:%Y-%m}", "run_id": self.run_id,
                "spend_usd": self.total_usd(self.month), "previous_month_spend_usd": self.total_usd(prev),
                "forecast": records(self.forecast), "selection": records(self.selection),
                "last_forecast": records(self.last_forecast),
                "last_forecast_backfilled": self.last_forecast_backfilled, "too_new": records(self.too_new),
                "bridge": records(self.bridge),
                "budgets": self.budgets.to_dict() if self.budgets else None,
                "budgets_next": self.budgets_next.to_dict() if self.budgets_next else None,
                "anomalies": self.anomalies.to_dict(), "coverage_by_team": records(self.coverage_by_team),
                "coverage_by_environment": records(self.coverage_by_environment),
                "unit_costs": records(self.unit_costs)}

    def to_frame(self) -> pd.DataFrame:
        """The reconciled forecast: level, unique_id, ds, forecast and its bounds (USD), model, method."""
        return self.forecast.copy()

    def _repr_html_(self) -> str:
        nxt, prev = self.next_month(), month_start(self.month, -1)
        rows = [{"": f"spend {self.month:%Y-%m}", "USD": self.total_usd(self.month)},
                {"": f"spend {prev:%Y-%m}", "USD": self.total_usd(prev)},
                {"": f"forecast {nxt['ds']:%Y-%m} (P50)", "USD": nxt["forecast"]},
                {"": "80% interval low", "USD": nxt["forecast-lo-80"]},
                {"": "80% interval high", "USD": nxt["forecast-hi-80"]}]
        return html_table(f"Monthly report {self.month:%B %Y} (forecast run {self.run_id})", rows,
                          self.anomalies.lines()[:10])


@dataclass(frozen=True)
class ReportInputs:
    """The files a monthly report reads, chosen by the working-folder rule, and notes saying what a default chose."""

    warehouse: Path | None  # None: the packaged sample company, loaded into a temporary warehouse
    budgets: Path | None  # None: no budgets checked
    notes: tuple[str, ...] = ()


def report_inputs(warehouse: str | Path | None = None, budgets: str | Path | None = None) -> ReportInputs:
    """`warehouse` (it must exist: reading creates nothing), else ./warehouse.duckdb when present, else the
    packaged sample company; `budgets` ('none': none), else ./budgets.yaml when present, else the sample
    company's budgets with the sample company's data, else none.

    >>> import contextlib, tempfile
    >>> with tempfile.TemporaryDirectory() as empty, contextlib.chdir(empty):  # in an empty folder
    ...     chosen = report_inputs()
    >>> chosen.warehouse, chosen.budgets.name
    (None, 'budgets.yaml')
    """
    notes = []
    if warehouse:
        path = Path(warehouse)
        if not path.is_file():
            raise ParameterError("warehouse", path, "no warehouse here: load usage into it with forecast ingest first")
    elif Path(workfolder.WAREHOUSE).is_file():
        path = Path(workfolder.WAREHOUSE)
    else:
        path = None
        notes.append(f"warehouse: no {workfolder.WAREHOUSE} in the current folder, so this report shows the packaged "
                     "sample company (load your own usage with forecast ingest)")
    chosen = workfolder.budgets_file(budgets)
    if chosen.path is None and not budgets and path is None:
        chosen = workfolder.Chosen(example("budgets.yaml"), "budgets: the sample company's, with its data")
    return ReportInputs(path, chosen.path, (*notes, *([chosen.note] if chosen.note else [])))


def monthly_report(warehouse: Warehouse | str | Path | None = None, month: date | str | None = None,
                   budgets: str | Path | None = None, horizon: int = 12, level=(80, 95),
                   method: str = "auto") -> MonthlyReport:
    """Build the monthly report for `month` (a date or YYYY-MM; default: the last complete month) from
    `warehouse` (an open Warehouse, or a file chosen by report_inputs), saving its forecast run (and a backfilled
    forecast of `month` when none was saved before it). `budgets` as report_inputs chooses them; `horizon`
    months forecast; USD throughout.

    >>> from forecast.core.resources import example
    >>> from forecast.usage.sample import sample_warehouse
    >>> with sample_warehouse() as wh:  # the packaged sample company, 2024-11 to 2026-10
    ...     report = monthly_report(wh, budgets=example("budgets.yaml"), horizon=3)
    >>> report.month, len(report.forecast[report.forecast["unique_id"] == "total"])
    (datetime.date(2026, 10, 1), 3)
    >>> [b.envelope.name for b in report.budgets.burns][:2]
    ['engineering-code-review', 'research-agents']
    """
    if isinstance(month, str):
        month = parse_month(month) if month else None
    if isinstance(warehouse, Warehouse):
        chosen = workfolder.budgets_file(budgets)
        return _monthly_report(warehouse, month, chosen.path, horizon, level, method,
                               (chosen.note,) if chosen.note else ())
    inputs = report_inputs(warehouse, budgets)
    with (sample_warehouse() if inputs.warehouse is None else Warehouse(inputs.warehouse)) as wh:
        return _monthly_report(wh, month, inputs.budgets, horizon, level, method, inputs.notes)


def _monthly_report(wh: Warehouse, month: date | None, budgets: Path | None, horizon: int, level, method: str,
                    notes: tuple[str, ...]) -> MonthlyReport:
    month = month_start(month) if month else last_complete_month(wh)
    end, last_day = month_start(month, 1), month_start(month, 1) - timedelta(days=1)
    history = series(wh, by=["team_id", "workflow_name"], freq="MS", end=end)
    if history.empty or history["ds"].max() < pd.Timestamp(month):
        raise ForecastError(f"month {month:%Y-%m}: the warehouse has no spend in it; load that month's usage first")
    ready, too_new = forecastable(history, horizon)
    last, backfilled = last_forecast_of(wh, ready, month, horizon, level)
    result, forecast, actuals, run_id = forecast_and_save(wh, ready, horizon, level, {"report_month": f"{month:%Y-%m}"})
    doc = load_budgets(budgets) if budgets else None
    return MonthlyReport(
        month=month, spend=history.groupby("ds", as_index=False)["y"].sum(), actuals=actuals, forecast=forecast,
        selection=result.selection, last_forecast=last,
        last_forecast_backfilled=backfilled, too_new=too_new, run_id=run_id, bridge=month_bridge(wh, month),
        budgets=budget_status(wh, doc, month, last_day, method) if doc else None,
        budgets_next=budget_status(wh, doc, end, last_day, method) if doc else None,
        anomalies=find_anomalies(wh, month, last_day, method=method),
        coverage_by_environment=coverage(wh, start=month, end=end),
        coverage_by_team=coverage(wh, by="team_id", start=month, end=end),
        unit_costs=unit_metrics(wh, start=month_start(month, -11), end=end), notes=notes)
