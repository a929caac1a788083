"""Monthly totals of daily forecasts, with intervals that are right for the sum.

Summing daily interval bounds is wrong: it assumes every day's error hits its bound together
(perfect correlation), which overstates the month's range by about sqrt(days) for independent
errors and understates nothing. Here the month's distribution comes from sample paths:

- ``monthly_totals``: a moving-block bootstrap of the series' daily residuals (in-sample or backtest
  errors, actual minus forecast) with one block per calendar month: each month of the horizon draws
  a contiguous window of as many residuals as it has forecast days, from a random start in the
  residual history (Künsch 1989, "The jackknife and the bootstrap for general stationary
  observations", Ann. Stat. 17(3)). The window keeps the residuals' dependence within the month in
  full, which is what the variance of the month's sum depends on. Each path's month total is the sum
  of the point forecasts plus the window's sum; the interval is the paths' quantiles.
- ``totals_from_paths``: the same summing and quantiles for sample paths from elsewhere (e.g. a
  model's own simulation).

Residuals are used as they are (a biased model's bias shifts the interval) and, being one-step or
backtest errors, they do not grow with the horizon by themselves: pass backtest errors at the
horizon you forecast for long horizons. Cross-series dependence is not kept: for totals across
series, reconcile (timeseries.reconcile) and aggregate the reconciled node.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import ForecastError

MAX_MONTH_DAYS = 31


def _check_levels(level: Sequence[int]) -> list[int]:
    levels = sorted(set(level))
    bad = [lv for lv in levels if not 0 < lv < 100]
    if bad:
        raise ForecastError(f"level: {bad[0]!r}: interval levels must lie strictly between 0 and 100")
    return levels


def totals_from_paths(paths: np.ndarray, ds: Sequence, level: Sequence[int] = (80, 95),
                      column: str = "forecast", point: np.ndarray | None = None) -> pd.DataFrame:
    """Calendar-month totals of daily sample paths (n_paths x days) at dates `ds`: point and quantile interval.

    point: the daily point forecast (sum reported as `column`); default the paths' mean.
    """
    paths = np.asarray(paths, dtype=float)
    days = pd.DatetimeIndex(pd.to_datetime(ds))
    if paths.ndim != 2 or paths.shape[1] != len(days):
        raise ForecastError(f"paths: shape {paths.shape}: must be (n_paths, {len(days)}) for {len(days)} dates")
    if np.isnan(paths).any():
        raise ForecastError("paths: contain NaN")
    levels = _check_levels(level)
    point = paths.mean(axis=0) if point is None else np.asarray(point, dtype=float)
    months = days.to_period("M")
    rows = []
    for month in months.unique():
        sel = np.asarray(months == month)
        sums = paths[:, sel].sum(axis=1)
        row = {"ds": month.to_timestamp(), column: float(point[sel].sum()), "days_forecast": int(sel.sum())}
        for lv in levels:
            row[f"{column}-lo-{lv}"], row[f"{column}-hi-{lv}"] = np.quantile(sums, [0.5 - lv / 200, 0.5 + lv / 200])
        rows.append(row)
    return pd.DataFrame(rows)


def block_window_sums(residuals_usd: np.ndarray, lengths: Sequence[int], n_paths: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Sums of random contiguous residual windows: (n_paths, len(lengths)), one window per month."""
    residuals_usd = np.asarray(residuals_usd, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(residuals_usd)])
    out = np.empty((n_paths, len(lengths)))
    for k, n in enumerate(lengths):
        starts = rng.integers(0, len(residuals_usd) - n + 1, size=n_paths)
        out[:, k] = cumulative[starts + n] - cumulative[starts]
    return out


def _daily(frame: pd.DataFrame, what: str, value: str) -> dict[str, pd.DataFrame]:
    missing = [c for c in ("unique_id", "ds", value) if c not in frame.columns]
    if missing:
        raise ForecastError(f"{what}: missing column(s) {', '.join(missing)}")
    out = {}
    for uid, g in frame.groupby("unique_id", sort=True):
        g = g.sort_values("ds")
        ds = pd.DatetimeIndex(pd.to_datetime(g["ds"]))
        steps = np.diff(ds.values).astype("timedelta64[D]").astype(int)
        if (steps != 1).any():
            bad = ds[1:][steps != 1][0]
            raise ForecastError(f"{what}: series {uid!r}: dates are not consecutive days at {bad.date()}: "
                                f"daily series only, no gaps or duplicates")
        if g[value].isna().any():
            raise ForecastError(f"{what}: series {uid!r}: {value!r} has NaN")
        out[str(uid)] = g.assign(ds=ds)
    return out


def monthly_totals(forecasts: pd.DataFrame, residuals: pd.DataFrame, level: Sequence[int] = (80, 95),
                   n_paths: int = 4000, seed: int = 0, column: str = "forecast",
                   history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per series and calendar month: the total of a daily forecast (USD if y is USD) and its interval.

    forecasts: unique_id, ds (consecutive days), `column`. residuals: unique_id, ds, residual (daily,
    at least 31 per series). history: unique_id, ds, y actuals; days of a month before the forecast
    starts are added as known (no uncertainty) and counted in days_actual. complete is False for a
    month the actuals and the forecast together do not cover.
    """
    levels = _check_levels(level)
    if n_paths < 100:
        raise ForecastError(f"n_paths: {n_paths}: need at least 100 sample paths for quantiles")
    fc = _daily(forecasts, "forecasts", column)
    res = _daily(residuals, "residuals", "residual")
    hist = _daily(history, "history", "y") if history is not None else {}
    rng = np.random.default_rng(seed)
    frames = []
    for uid, g in fc.items():
        if uid not in res:
            raise ForecastError(f"residuals: no rows for series {uid!r}: every forecast series needs residuals")
        r = res[uid]["residual"].to_numpy(dtype=float)
        if len(r) < MAX_MONTH_DAYS:
            raise ForecastError(f"residuals: series {uid!r} has {len(r)} daily residuals: need at least "
                                f"{MAX_MONTH_DAYS} (one month) for the block bootstrap")
        months = g["ds"].dt.to_period("M")
        order = months.unique()
        lengths = [int((months == m).sum()) for m in order]
        sums = block_window_sums(r, lengths, n_paths, rng)
        point = np.array([g.loc[(months == m).to_numpy(), column].sum() for m in order])
        known = np.zeros(len(order))
        days_actual = np.zeros(len(order), dtype=int)
        if uid in hist:
            h = hist[uid]
            h = h[h["ds"] < g["ds"].iloc[0]]
            hm = h["ds"].dt.to_period("M")
            for k, m in enumerate(order):
                known[k] = h.loc[(hm == m).to_numpy(), "y"].sum()
                days_actual[k] = int((hm == m).sum())
        out = pd.DataFrame({"unique_id": uid, "ds": [m.to_timestamp() for m in order], column: point + known})
        for lv in levels:
            q = np.quantile(sums, [0.5 - lv / 200, 0.5 + lv / 200], axis=0)
            out[f"{column}-lo-{lv}"] = point + known + q[0]
            out[f"{column}-hi-{lv}"] = point + known + q[1]
        out["days_forecast"] = lengths
        out["days_actual"] = days_actual
        out["complete"] = [da + df == m.days_in_month for da, df, m in zip(days_actual, lengths, order, strict=True)]
        frames.append(out)
    return pd.concat(frames, ignore_index=True)
