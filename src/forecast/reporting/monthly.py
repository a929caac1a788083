"""The monthly forecast job: one month of a warehouse -> everything the FP&A report shows.

For a report month M (the last complete month by default) it builds, with the library's own
functions: spend by team and workflow, last month's forecast of M against the actual, a
reconciled 12-month forecast of total / team / team+workflow with the chosen models and their
backtest scores, the variance bridge from M-1 to M, budget status for M and projected for M+1,
anomalies in M, tag coverage and unit-cost trends. The forecast is saved in the warehouse
(forecast records), so next month's report can score it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ..budgets.envelopes import BudgetFile, load_budgets
from ..budgets.status import Anomalies, BudgetStatus, budget_status, find_anomalies
from ..core import workfolder
from ..core.errors import ForecastError, ParameterError
from ..core.formatting import json_safe
from ..core.months import month_start, parse_month
from ..core.resources import example
from ..core.results import html_table
from ..core.tokens import TOKEN_KINDS
from ..design.prices import PriceBook, price_book
from ..timeseries import records
from ..timeseries.auto import forecast_series
from ..timeseries.backtest import cross_validation
from ..timeseries.bridge import bridge
from ..timeseries.drivers import drivers_from_warehouse, month_prices_usd_per_mtok
from ..timeseries.models import array_model
from ..timeseries.reconcile import MIN_RESIDUAL_PERIODS, hierarchy, reconcile
from ..timeseries.totals import horizon_totals
from ..usage.reconcile import Reconciliation
from ..usage.reconcile import reconcile as reconcile_invoice
from ..usage.sample import sample_warehouse
from ..usage.series import COVERAGE_TARGET, coverage, series, unit_metrics
from ..usage.warehouse import Warehouse
from .design_drift import workflow_drifts
from .spikes import runaway_days_adjusted

BY = ["team_id", "workflow_name"]  # the bottom level of the report's hierarchy
LEVELS = ((), ("team_id",), tuple(BY))
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
    if cv.empty:  # no series is long enough for one backtest window (3 training months + 1)
        return pd.DataFrame({"unique_id": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]"),
                             "residual": pd.Series(dtype=float)})
    return cv.assign(residual=cv["y"] - cv["ets"])[["unique_id", "ds", "residual"]]


def with_adjustments(frame: pd.DataFrame, adjustments: pd.DataFrame) -> pd.DataFrame:
    """frame (unique_id, ds, y) with each adjusted period's y set to its adjusted value."""
    if adjustments.empty:
        return frame
    keyed = adjustments.assign(ds=pd.to_datetime(adjustments["ds"]))[["unique_id", "ds", "adjusted"]]
    out = frame.merge(keyed, on=["unique_id", "ds"], how="left")
    return out.assign(y=out["adjusted"].fillna(out["y"])).drop(columns="adjusted")


def reconciled_forecast(history: pd.DataFrame, horizon: int, level=(80, 95), n_windows: int = 3):
    """(result, reconciled frame, node history): forecast every node of LEVELS (one-off spikes adjusted, see
    forecast_series), then MinT-reconcile them with the covariance of one-step backtest errors (shrunk) on the
    adjusted histories, so total = sum of teams = sum of workflows. On a short history (fewer than
    MIN_RESIDUAL_PERIODS months in which every node has a one-step error: under 5 months) the reconciliation is
    bottom-up instead (the frame's method column says which; see reconcile's fallback)."""
    tree = hierarchy(history, LEVELS)
    result = forecast_series(tree.frame, h=horizon, freq="MS", level=level, n_windows=n_windows, progress=False)
    rec = reconcile(result.forecast.drop(columns="model"), tree.summing, "mint_shrink",
                    one_step_residuals(with_adjustments(tree.frame, result.adjustments)), fallback="bottom_up")
    out = rec.forecast.merge(result.forecast[["unique_id", "ds", "model"]], on=["unique_id", "ds"])
    level_of = {uid: name for name, ids in tree.levels.items() for uid in ids}
    out.insert(0, "level", out["unique_id"].map(level_of))
    nodes = tree.frame.assign(level=tree.frame["unique_id"].map(level_of))
    return result, out.assign(method=rec.method), nodes


def adjustment_forecasts(actuals: pd.DataFrame, fitted: pd.DataFrame, result, horizon: int,
                         level) -> pd.DataFrame:
    """Every node whose history was adjusted (runaway days, one-off spikes), forecast on its own (before
    reconciliation) from the adjusted history (`history` "adjusted": the report's base forecast) and from the
    actual one ("actual"): history, unique_id, ds, forecast, forecast-lo/hi-<L>, model (USD)."""
    both = actuals.merge(fitted[["unique_id", "ds", "y"]], on=["unique_id", "ds"], suffixes=("", "_fitted"))
    changed = (set(both.loc[(both["y"] - both["y_fitted"]).abs() > 1e-9, "unique_id"])
               | set(result.adjustments["unique_id"]))
    raw = actuals.loc[actuals["unique_id"].isin(changed), ["unique_id", "ds", "y"]]
    if raw.empty:
        return pd.DataFrame(columns=["history", "unique_id", "ds", "forecast", "model"])
    plain = forecast_series(raw, h=horizon, freq="MS", level=level, progress=False, adjust_spikes=False).forecast
    base = result.forecast[result.forecast["unique_id"].isin(changed)]
    return pd.concat([base.assign(history="adjusted"), plain.assign(history="actual")], ignore_index=True)


def forecast_and_save(wh, history: pd.DataFrame, horizon: int, level, parameters: dict) -> tuple:
    """Reconciled forecast of `history`, saved as a forecast run: (result, reconciled frame, node history, run id)."""
    result, forecast, nodes = reconciled_forecast(history, horizon, level)
    run_id = records.save_run(wh, forecast.drop(columns=["level", "method"]), nodes[["unique_id", "ds", "y"]], "MS",
                              {"h": horizon, "level": list(level), **parameters}, result.selection)
    return result, forecast, nodes, run_id


def last_forecast_of(wh, history: pd.DataFrame, month: date, horizon: int, level) -> tuple:
    """(the latest saved forecast of `month` made before it, against the actual; backfilled?). When no run made
    before `month` was saved, one is made now from the data before `month` alone (runaway days adjusted as of
    then) and saved as a backfill."""
    actual = hierarchy(history, LEVELS).frame
    actual = actual[actual["ds"] == pd.Timestamp(month)]
    try:
        found = records.forecast_vs_actual(wh, actual, month)
    except ForecastError:
        pass
    else:  # a backfill an earlier report saved is still a backfill, not a forecast made before the month
        runs = list(found["run_id"].unique())
        backfilled = wh.sql("SELECT bool_or(coalesce(json_extract(parameters, '$.backfill')::BOOLEAN, false)) "
                            "FROM forecast_runs WHERE list_contains(?, run_id)", [runs]).fetchone()[0]
        return found, bool(backfilled)
    before, _ = runaway_days_adjusted(wh, BY, month)
    prior, _ = forecastable(before[before["unique_id"].isin(history["unique_id"])], horizon)
    if prior.empty:
        return None, False
    forecast_and_save(wh, prior, horizon, level, {"report_month": f"{month_start(month, -1):%Y-%m}", "backfill": True})
    return records.forecast_vs_actual(wh, actual, month), True


def with_list_prices(drivers: pd.DataFrame, book: PriceBook) -> pd.DataFrame:
    """Driver rows with each segment's list prices of the month (USD per Mtok per kind, base band, averaged over
    its days); NaN for a model the price book does not know (the bridge then blends that segment)."""
    out = drivers.copy()
    prices = {}
    for key in set(zip(out["provider"], out["model"], out["ds"], strict=True)):
        try:
            prices[key] = month_prices_usd_per_mtok(book, key[0], key[1], key[2].date())
        except ForecastError:
            prices[key] = dict.fromkeys(TOKEN_KINDS, float("nan"))
    keys = list(zip(out["provider"], out["model"], out["ds"], strict=True))
    for kind in TOKEN_KINDS:
        out[f"{kind}_usd_per_mtok"] = [prices[k][kind] for k in keys]
    return out


def month_bridge(wh, month: date, book: PriceBook | None = None) -> pd.DataFrame:
    """Spend change from the month before `month` to `month` per workflow/provider/model, split into volume, mix,
    tokens per task, token mix and price effects (USD) that add up to the change; list prices from `book`
    (default: price_book())."""
    drivers = drivers_from_warehouse(wh, ("workflow_name",), month_start(month, -1), month_start(month, 1))
    drivers = with_list_prices(drivers[drivers["tasks"] > 0], book if book is not None else price_book())
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
    last_forecast_backfilled: bool  # True when no run was saved before M: made from the data before M, after it
    adjustments: pd.DataFrame  # unique_id, ds, actual, adjusted (USD), reason: history adjusted before fitting
    adjustment_forecasts: pd.DataFrame  # per adjusted node, on its own: forecast from the adjusted / actual history
    too_new: pd.DataFrame  # team/workflow series with too little history to forecast (left out of every level)
    run_id: str  # this report's forecast run, saved in the warehouse
    bridge: pd.DataFrame  # month-over-month change by workflow/model: volume, mix, unit consumption, price
    budgets: BudgetStatus | None  # the report month; None without a budget file
    budgets_next: BudgetStatus | None  # the next month, projected from the report month's end
    anomalies: Anomalies  # in the report month
    coverage_by_environment: pd.DataFrame
    coverage_by_team: pd.DataFrame
    unit_costs: pd.DataFrame  # per workflow and month: cost per task and per successful outcome
    reconciliation: Reconciliation | None = None  # the report month's logs against the invoice
    team_budgets_usd: dict = field(default_factory=dict)  # team -> monthly cap of an envelope on the team alone
    notes: tuple[str, ...] = ()  # which files the defaults chose (the sample company, no budgets, ...)
    design: tuple = ()  # usage.drift.Drift of each working-folder spec logged in the month (design_drift)
    design_notes: tuple[str, ...] = ()  # the specs left out of that, and why

    def total_usd(self, month: date) -> float:
        """All spend in `month` (USD), series too new to forecast included."""
        return float(self.spend.loc[self.spend["ds"] == pd.Timestamp(month), "y"].sum())

    def next_month(self) -> pd.Series:
        """The total's forecast for the month after the report month (forecast, forecast-lo/hi-80/95, model)."""
        total = self.forecast[self.forecast["unique_id"] == "total"]
        return total.sort_values("ds").iloc[0]

    def forecast_totals(self, months: int = 12) -> pd.DataFrame:
        """Per node: the total of its first `months` monthly forecasts (USD) with 80% and 95% intervals of that
        total (timeseries.totals: from how each node's monthly intervals widen, not sums of monthly bounds)."""
        totals = horizon_totals(self.forecast, months, level=(80, 95))
        depth = totals["level"].map({"total": 0, "team_id": 1}).fillna(2)
        totals = totals.assign(_depth=depth).sort_values(["_depth", "forecast_total"], ascending=[True, False])
        return totals.drop(columns="_depth").reset_index(drop=True).rename(
            columns=lambda c: c.replace("forecast_total", "total_usd"))

    def adjustment_effect(self, months: int = 12) -> pd.DataFrame:
        """Per node whose history was adjusted: the next month and the next `months` months' total (USD, with 80%
        intervals) as the node's own forecast (before reconciliation) makes them from the adjusted history and from
        the actual one (`_unadjusted`)."""
        columns = ["unique_id"]
        for name in ("", "_unadjusted"):
            columns += [f"next{name}_usd", f"total{name}_usd", f"total{name}_lo_80_usd", f"total{name}_hi_80_usd"]
        both = self.adjustment_forecasts
        if both.empty:
            return pd.DataFrame(columns=columns)
        frames = []
        for name, history in (("", "adjusted"), ("_unadjusted", "actual")):
            frame = both[both["history"] == history].drop(columns="history")
            first = frame.sort_values("ds").groupby("unique_id")["forecast"].first().rename(f"next{name}_usd")
            totals = horizon_totals(frame, months, level=(80,)).set_index("unique_id")
            frames += [first, totals[["forecast_total", "forecast_total-lo-80", "forecast_total-hi-80"]].set_axis(
                [f"total{name}_usd", f"total{name}_lo_80_usd", f"total{name}_hi_80_usd"], axis=1)]
        out = pd.concat(frames, axis=1).reset_index(names="unique_id")[columns]
        order = {uid: i for i, uid in enumerate(self.forecast["unique_id"].unique())}
        return out.sort_values("unique_id", key=lambda c: c.map(order), ignore_index=True)

    def weak_forecasts(self) -> pd.DataFrame:
        """Nodes whose chosen model scored a backtest MASE above 1: its forecast errors over the backtest were larger,
        on average, than the series' own typical movement in the history it was fitted on (the in-sample error of
        repeating last year's same month, or the last month when that history is a year or shorter), so its
        figures deserve less weight."""
        sel = self.selection
        columns = [c for c in ("unique_id", "model", "mase", "n_obs") if c in sel]
        return sel.loc[sel["mase"] > 1, columns] if "mase" in sel else sel.iloc[0:0][columns]

    def team_year(self) -> pd.DataFrame:
        """Per team for the report month's calendar year (USD): actual spend year to date, the forecast of the
        year's remaining months with its 80% interval, the full year (actual + forecast) and, where the budget file
        has an envelope on the team alone, its monthly cap, 12 x that cap (budget_usd) with the full year against
        it, and the first forecast month whose P50 passes the cap with the count of such months in the horizon.
        The rest of the year is NaN for a team too new to forecast, or when the horizon ends before December."""
        year_end = date(self.month.year, 12, 1)
        left = (year_end.year - self.month.year) * 12 + year_end.month - self.month.month
        teams = self.actuals[self.actuals["level"] == "team_id"]
        ytd = teams[teams["ds"].dt.year == self.month.year].groupby("unique_id")["y"].sum()
        rows = []
        fc = self.forecast[self.forecast["level"] == "team_id"]
        rest = horizon_totals(fc, left, level=(80,)).set_index("unique_id") if left else None
        for team, actual in ytd.items():
            if not left:
                forecast = lo = hi = 0.0
            elif team in rest.index and rest.loc[team, "months"] == left:
                r = rest.loc[team]
                forecast, lo, hi = r["forecast_total"], r["forecast_total-lo-80"], r["forecast_total-hi-80"]
            else:  # too new to forecast, or a horizon that ends before December: the year is not known
                forecast = lo = hi = float("nan")
            budget = self.team_budgets_usd.get(team)
            ahead = fc[fc["unique_id"] == team].sort_values("ds")
            over = ahead[ahead["forecast"] > budget] if budget is not None else ahead.iloc[0:0]
            unknown = budget is None or ahead.empty
            rows.append({"team": team, "actual_ytd_usd": float(actual), "forecast_rest_usd": float(forecast),
                         "forecast_rest_lo_80_usd": float(lo), "forecast_rest_hi_80_usd": float(hi),
                         "full_year_usd": float(actual + forecast),
                         "monthly_cap_usd": budget, "budget_usd": None if budget is None else 12 * budget,
                         "full_year_vs_budget_usd": None if budget is None else float(actual + forecast - 12 * budget),
                         "first_month_over_cap": over["ds"].iloc[0].date() if len(over) else None,
                         "months_over_cap": None if unknown else len(over)})
        return pd.DataFrame(rows).sort_values("full_year_usd", ascending=False, ignore_index=True)

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
                "adjustments": records(self.adjustments), "adjustment_effect": records(self.adjustment_effect()),
                "bridge": records(self.bridge),
                "budgets": self.budgets.to_dict() if self.budgets else None,
                "budgets_next": self.budgets_next.to_dict() if self.budgets_next else None,
                "anomalies": self.anomalies.to_dict(), "coverage_by_team": records(self.coverage_by_team),
                "reconciliation": self.reconciliation.to_dict() if self.reconciliation else None,
                "forecast_totals_12": records(self.forecast_totals(12)),
                "weak_forecasts": records(self.weak_forecasts()),
                "team_year": records(self.team_year()),
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


def team_budgets_usd(doc: BudgetFile | None) -> dict[str, float]:
    """Team -> monthly cap (USD) of each envelope whose match is that team alone."""
    if doc is None:
        return {}
    return {e.match["team_id"]: e.monthly_cap_usd for e in doc.budgets
            if set(e.match) == {"team_id"} and e.monthly_cap_usd is not None}


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
    history = series(wh, by=BY, freq="MS", end=end)
    if history.empty or history["ds"].max() < pd.Timestamp(month):
        raise ForecastError(f"month {month:%Y-%m}: the warehouse has no spend in it; load that month's usage first")
    ready, too_new = forecastable(history, horizon)
    months = history["ds"].nunique()
    if ready.empty:
        raise ForecastError(f"month {month:%Y-%m}: the warehouse has {months} month(s) of spend through it: the "
                            f"report needs at least {min_history_months(horizon)} months of a team/workflow's spend "
                            f"to forecast {horizon} months on")
    adjusted, runaway = runaway_days_adjusted(wh, BY, end)
    adjusted = adjusted[adjusted["unique_id"].isin(ready["unique_id"])]
    last, backfilled = last_forecast_of(wh, ready, month, horizon, level)
    result, forecast, fitted, run_id = forecast_and_save(wh, adjusted, horizon, level,
                                                         {"report_month": f"{month:%Y-%m}"})
    actuals = hierarchy(ready, LEVELS).frame
    level_of = fitted.drop_duplicates("unique_id").set_index("unique_id")["level"]
    actuals = actuals.assign(level=actuals["unique_id"].map(level_of))
    adjustments = pd.concat([runaway[runaway["unique_id"].isin(ready["unique_id"])], result.adjustments],
                            ignore_index=True)
    doc = load_budgets(budgets) if budgets else None
    design, design_notes = workflow_drifts(wh, month)
    if (forecast["method"] != "mint_shrink").any():
        notes = (*notes, f"forecast reconciliation: bottom-up (each team's and the total's forecast is the sum of "
                 f"its workflows' forecasts) instead of MinT, which needs one-step backtest errors of every team and "
                 f"workflow in at least {MIN_RESIDUAL_PERIODS} common months (5 months of history); this warehouse "
                 f"has {months} month(s) through {month:%Y-%m}. The summed intervals take the workflows' errors as "
                 "moving together, so they are as wide as a sum's can be")
    return MonthlyReport(
        month=month, spend=history.groupby("ds", as_index=False)["y"].sum(), actuals=actuals, forecast=forecast,
        selection=result.selection, last_forecast=last, adjustments=adjustments,
        adjustment_forecasts=adjustment_forecasts(actuals, fitted, result, horizon, level),
        last_forecast_backfilled=backfilled, too_new=too_new, run_id=run_id, bridge=month_bridge(wh, month),
        budgets=budget_status(wh, doc, month, last_day, method) if doc else None,
        budgets_next=budget_status(wh, doc, end, last_day, method) if doc else None,
        anomalies=find_anomalies(wh, month, last_day, method=method),
        coverage_by_environment=coverage(wh, start=month, end=end),
        coverage_by_team=coverage(wh, by="team_id", start=month, end=end),
        unit_costs=unit_metrics(wh, start=month_start(month, -11), end=end),
        reconciliation=reconcile_invoice(wh, month), team_budgets_usd=team_budgets_usd(doc), notes=notes,
        design=design, design_notes=design_notes)
