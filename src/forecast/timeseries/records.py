"""Forecast records: every forecast run saved in the warehouse, then scored against what happened.

Tables (created on first use, next to the usage tables of the same DuckDB file):

- forecast_runs: run_id, created_at, data_sha256 (of the history the run saw), freq, h, levels,
  parameters (JSON), n_series, history_end, forecast_version;
- forecast_values: run_id, unique_id, ds, horizon (1 = first period after the history), model, forecast;
- forecast_intervals: run_id, unique_id, ds, level (e.g. 80), lo, hi;
- forecast_selection: run_id, unique_id, model, scores (JSON: the backtest scores behind the choice).

A run is written in one transaction: after a failure nothing of it is there. Runs are never updated.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from ..core.errors import ForecastError
from ..core.version import __version__

DDL = """
CREATE TABLE IF NOT EXISTS forecast_runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, data_sha256 VARCHAR NOT NULL,
    freq VARCHAR NOT NULL, h INTEGER NOT NULL, levels VARCHAR NOT NULL, parameters JSON NOT NULL,
    n_series INTEGER NOT NULL, history_end DATE NOT NULL, forecast_version VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS forecast_values (
    run_id VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, ds DATE NOT NULL, horizon INTEGER NOT NULL,
    model VARCHAR NOT NULL, forecast DOUBLE NOT NULL, PRIMARY KEY (run_id, unique_id, ds)
);
CREATE TABLE IF NOT EXISTS forecast_intervals (
    run_id VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, ds DATE NOT NULL, level DOUBLE NOT NULL,
    lo DOUBLE NOT NULL, hi DOUBLE NOT NULL, PRIMARY KEY (run_id, unique_id, ds, level)
);
CREATE TABLE IF NOT EXISTS forecast_selection (
    run_id VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, model VARCHAR NOT NULL, scores JSON NOT NULL,
    PRIMARY KEY (run_id, unique_id)
);
"""


def ensure_tables(wh) -> None:
    """Create the forecast record tables in the warehouse if they are not there."""
    wh.con.execute(DDL)


def data_sha256(history: pd.DataFrame) -> str:
    """SHA-256 of the history's unique_id, ds, y rows, sorted, as CSV (floats to 17 digits): order-independent."""
    missing = [c for c in ("unique_id", "ds", "y") if c not in history.columns]
    if missing:
        raise ForecastError(f"history: missing column(s) {', '.join(missing)}")
    rows = history[["unique_id", "ds", "y"]].assign(ds=pd.to_datetime(history["ds"]).dt.strftime("%Y-%m-%d"))
    rows = rows.sort_values(["unique_id", "ds"], kind="stable")
    return hashlib.sha256(rows.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


def _interval_levels(forecast: pd.DataFrame) -> list[tuple[float, str, str]]:
    out = []
    for col in forecast.columns:
        if col.startswith("forecast-lo-"):
            name = col[len("forecast-lo-"):]
            hi = f"forecast-hi-{name}"
            try:
                level = float(name)
            except ValueError:
                raise ForecastError(f"forecast: column {col!r}: the level must be a number") from None
            if hi not in forecast.columns:
                raise ForecastError(f"forecast: column {col!r} has no matching {hi!r}")
            out.append((level, col, hi))
    return sorted(out)


def _values(forecast: pd.DataFrame, selection: pd.DataFrame | None) -> pd.DataFrame:
    missing = [c for c in ("unique_id", "ds", "forecast") if c not in forecast.columns]
    if missing:
        raise ForecastError(f"forecast: missing column(s) {', '.join(missing)}")
    fc = forecast.copy()
    fc["unique_id"] = fc["unique_id"].astype(str)
    fc["ds"] = pd.to_datetime(fc["ds"])
    if fc.duplicated(["unique_id", "ds"]).any():
        raise ForecastError("forecast: duplicate (unique_id, ds) rows")
    if "model" not in fc.columns:
        if selection is None or "model" not in selection.columns:
            raise ForecastError("forecast: no model column and no selection with one: a record must say which "
                                "model made each series")
        fc = fc.merge(selection[["unique_id", "model"]].astype({"unique_id": str}), on="unique_id", how="left")
    bad = fc["forecast"].isna() | fc["model"].isna()
    if bad.any():
        row = fc[bad].iloc[0]
        raise ForecastError(f"forecast: series {row['unique_id']!r} at {row['ds'].date()}: forecast or model missing")
    fc["horizon"] = fc.groupby("unique_id")["ds"].rank(method="first").astype(int)
    return fc


def _insert(con, table: str, frame: pd.DataFrame) -> None:
    con.register("_record_rows", frame)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _record_rows")
    finally:
        con.unregister("_record_rows")


def save_run(wh, forecast: pd.DataFrame, history: pd.DataFrame, freq: str, parameters: dict | None = None,
             selection: pd.DataFrame | None = None, created_at: datetime | None = None) -> str:
    """Save one forecast run (values, intervals, model and scores per series) atomically; returns its run_id.

    forecast: unique_id, ds, forecast, forecast-lo-L / -hi-L, model (or a selection with model).
    history: the unique_id, ds, y frame the forecast was made from (hashed, and its last ds kept).
    """
    ensure_tables(wh)
    fc = _values(forecast, selection)
    levels = _interval_levels(fc)
    hist_ds = pd.to_datetime(history["ds"]) if "ds" in history.columns else None
    if hist_ds is None or hist_ds.empty:
        raise ForecastError("history: empty or without ds: the run must record the data it was made from")
    sha = data_sha256(history)
    created_at = created_at or datetime.now(UTC)
    run_id = f"{created_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{sha[:8]}-{secrets.token_hex(3)}"
    h = int(fc["horizon"].max())
    run = pd.DataFrame([{
        "run_id": run_id, "created_at": created_at, "data_sha256": sha, "freq": freq, "h": h,
        "levels": json.dumps([lv for lv, _, _ in levels]),
        "parameters": json.dumps(parameters or {}, sort_keys=True, default=str),
        "n_series": int(fc["unique_id"].nunique()), "history_end": hist_ds.max().date(),
        "forecast_version": __version__}])
    values = fc[["unique_id", "ds", "horizon", "model", "forecast"]].assign(run_id=run_id)
    values = values[["run_id", "unique_id", "ds", "horizon", "model", "forecast"]]
    intervals = [pd.DataFrame({"run_id": run_id, "unique_id": fc["unique_id"], "ds": fc["ds"], "level": lv,
                               "lo": fc[lo].astype(float), "hi": fc[hi].astype(float)}) for lv, lo, hi in levels]
    intervals = pd.concat(intervals, ignore_index=True) if intervals else None
    if intervals is not None and intervals[["lo", "hi"]].isna().any().any():
        raise ForecastError("forecast: an interval bound is NaN")
    sel = None
    if selection is not None:
        if "unique_id" not in selection.columns or "model" not in selection.columns:
            raise ForecastError("selection: needs unique_id and model columns")
        scores = selection.drop(columns=["unique_id", "model"])
        sel = pd.DataFrame({"run_id": run_id, "unique_id": selection["unique_id"].astype(str),
                            "model": selection["model"].astype(str),
                            "scores": [json.dumps({k: _plain(v) for k, v in r.items()}, sort_keys=True)
                                       for r in scores.to_dict("records")]})
    con = wh.con
    con.execute("BEGIN TRANSACTION")
    try:
        _insert(con, "forecast_runs", run)
        _insert(con, "forecast_values", values)
        if intervals is not None:
            _insert(con, "forecast_intervals", intervals)
        if sel is not None:
            _insert(con, "forecast_selection", sel)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return run_id


def save_result(wh, result, history: pd.DataFrame, parameters: dict | None = None) -> str:
    """Save an auto.ForecastResult (forecast, selection, h, freq, level) as a run; returns its run_id."""
    params = {"h": result.h, "freq": result.freq, "level": list(result.level), **(parameters or {})}
    return save_run(wh, result.forecast, history, result.freq, params, result.selection)


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.isoformat()
    return value


def _actual(wh, actual: pd.DataFrame) -> None:
    missing = [c for c in ("unique_id", "ds", "y") if c not in actual.columns]
    if missing:
        raise ForecastError(f"actual: missing column(s) {', '.join(missing)}")
    frame = actual[["unique_id", "ds", "y"]].assign(unique_id=actual["unique_id"].astype(str),
                                                    ds=pd.to_datetime(actual["ds"]).dt.date)
    wh.con.register("_actual", frame)


def runs(wh) -> pd.DataFrame:
    """Every saved run, oldest first."""
    ensure_tables(wh)
    return wh.sql("SELECT * FROM forecast_runs ORDER BY created_at, run_id").df()


def forecast_vs_actual(wh, actual: pd.DataFrame, period: date | str, run_id: str | None = None) -> pd.DataFrame:
    """Per series: the latest forecast of `period` made before it (history ending before it), against the actual.

    run_id picks one run instead. Columns: unique_id, ds, run_id, created_at, horizon, model, forecast,
    lo_<L> / hi_<L>, actual, error (actual - forecast), pct_error, inside_<L>.
    """
    ensure_tables(wh)
    period = pd.Timestamp(period).date()
    _actual(wh, actual)
    try:
        pick = "r.run_id = ?" if run_id else "r.history_end < ?"
        got = wh.sql(f"""
            WITH v AS (
                SELECT v.*, r.created_at, row_number() OVER (PARTITION BY v.unique_id
                       ORDER BY r.created_at DESC, r.run_id DESC) AS k
                FROM forecast_values v JOIN forecast_runs r USING (run_id)
                WHERE v.ds = ? AND {pick})
            SELECT v.unique_id, v.ds, v.run_id, v.created_at, v.horizon, v.model, v.forecast, a.y AS actual,
                   a.y - v.forecast AS error, (a.y - v.forecast) / nullif(a.y, 0) AS pct_error
            FROM v LEFT JOIN _actual a ON a.unique_id = v.unique_id AND a.ds = v.ds
            WHERE k = 1 ORDER BY v.unique_id""", [period, run_id or period]).df()
        iv = wh.sql("SELECT i.* FROM forecast_intervals i WHERE i.ds = ?", [period]).df()
    finally:
        wh.con.unregister("_actual")
    if got.empty:
        raise ForecastError(f"no saved forecast of {period}" + (f" in run {run_id}" if run_id else
                            " made before it: save runs with records.save_run"))
    for lv in sorted(iv["level"].unique()):
        name = f"{lv:g}"
        part = iv[iv["level"] == lv][["run_id", "unique_id", "lo", "hi"]].rename(
            columns={"lo": f"lo_{name}", "hi": f"hi_{name}"})
        got = got.merge(part, on=["run_id", "unique_id"], how="left")
        inside = (got[f"lo_{name}"] <= got["actual"]) & (got["actual"] <= got[f"hi_{name}"])
        got[f"inside_{name}"] = inside.astype(object).where(got["actual"].notna(), None)  # None: no actual yet
    return got


def accuracy_over_time(wh, actual: pd.DataFrame, by: Sequence[str] = ("run_id", "horizon")) -> pd.DataFrame:
    """Accuracy of saved forecasts against actuals, per run and horizon (or `by`): n, mae, rmse, bias
    (mean forecast - actual), mape (over non-zero actuals), smape and coverage_<L> (share inside)."""
    ensure_tables(wh)
    allowed = ("run_id", "horizon", "unique_id", "model", "ds")
    bad = [b for b in by if b not in allowed]
    if bad or not by:
        raise ForecastError(f"by: {list(by)}: choose from {', '.join(allowed)}")
    _actual(wh, actual)
    keys = ", ".join(f"v.{b}" for b in by)
    try:
        levels = [r[0] for r in wh.sql("SELECT DISTINCT level FROM forecast_intervals ORDER BY 1").fetchall()]
        cover = "".join(
            f", avg(CASE WHEN a.y BETWEEN i{k}.lo AND i{k}.hi THEN 1.0 ELSE 0.0 END) AS \"coverage_{lv:g}\""
            for k, lv in enumerate(levels))
        joins = "".join(
            f" LEFT JOIN forecast_intervals i{k} ON i{k}.run_id = v.run_id AND i{k}.unique_id = v.unique_id"
            f" AND i{k}.ds = v.ds AND i{k}.level = {lv!r}" for k, lv in enumerate(levels))
        return wh.sql(f"""
            SELECT {keys}, min(r.created_at) AS created_at, count(*) AS n, avg(abs(a.y - v.forecast)) AS mae,
                   sqrt(avg((a.y - v.forecast) ^ 2)) AS rmse, avg(v.forecast - a.y) AS bias,
                   avg(CASE WHEN a.y <> 0 THEN abs(a.y - v.forecast) / abs(a.y) END) AS mape,
                   avg(CASE WHEN abs(a.y) + abs(v.forecast) > 0
                       THEN 2 * abs(a.y - v.forecast) / (abs(a.y) + abs(v.forecast)) ELSE 0 END) AS smape{cover}
            FROM forecast_values v JOIN forecast_runs r USING (run_id)
            JOIN _actual a ON a.unique_id = v.unique_id AND a.ds = v.ds{joins}
            GROUP BY {keys} ORDER BY created_at, {keys}""").df()
    finally:
        wh.con.unregister("_actual")
