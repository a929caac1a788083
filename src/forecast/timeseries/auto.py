"""Auto mode over many series: validate, fan out per series (adjust one-off spikes, select by backtest,
calibrate), collect.

    result = forecast_series(df, h=12, freq="MS")
    result.forecast     # unique_id, ds, forecast, forecast-lo-80, forecast-hi-80, ..., model
    result.selection    # one row per series: model, backtest scores, candidate scores, flags, adjusted_periods
    result.adjustments  # one row per adjusted period: unique_id, ds, actual, adjusted, reason
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from ..core.errors import ForecastError, ParameterError
from ..core.formatting import json_safe
from ..core.results import html_table
from .backtest import default_step
from .base import check_levels, future_dates, level_name, season_length
from .models import model_names
from .parallel import check_scheduler, fan_out
from .select import FLAGS, SeriesForecast, forecast_history
from .validate import validate_long_frame

SCORES = ("mase", "smape", "rmse", "bias")  # backtest scores reported beside the forecasts
ADJUSTMENT_COLUMNS = ("unique_id", "ds", "actual", "adjusted", "reason")


@dataclass(frozen=True)
class ForecastResult:
    """forecast: unique_id, ds, forecast, forecast-lo-<L>, forecast-hi-<L>, model (in y units).
    selection: one row per unique_id with the chosen model, its backtest scores (mase, smape, rmse, bias,
    coverage-<L>, winkler-<L>), each candidate's mase_<name> / smape_<name>, calibration-<L>, flags and
    adjusted_periods. adjustments: one row per one-off spike adjusted in the history before the models were
    backtested and fitted: unique_id, ds, actual, adjusted (y units), reason; empty when none was."""

    forecast: pd.DataFrame
    selection: pd.DataFrame
    h: int
    freq: str
    level: tuple[float, ...]
    adjustments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ADJUSTMENT_COLUMNS)))

    def to_frame(self) -> pd.DataFrame:
        """The forecast rows with each series' backtest scores alongside (backtest_mase, backtest_coverage-80, ...)
        and its adjusted_periods: what `forecast predict` writes."""
        cov = [f"coverage-{level_name(lv)}" for lv in self.level]
        plain = ("short_history", "adjusted_periods")
        keep = [c for c in (*SCORES, *cov, *plain) if c in self.selection]
        scores = self.selection[["unique_id", *keep]].rename(
            columns={c: f"backtest_{c}" for c in keep if c not in plain})
        return self.forecast.merge(scores, on="unique_id", how="left")

    def to_dict(self) -> dict:
        """{"h", "freq", "level", "forecast": [rows], "selection": [rows], "adjustments": [rows]}: dates as
        YYYY-MM-DD, NaN as null."""
        forecast = self.forecast.assign(ds=self.forecast["ds"].dt.strftime("%Y-%m-%d"))
        adjustments = self.adjustments.assign(ds=pd.to_datetime(self.adjustments["ds"]).dt.strftime("%Y-%m-%d"))
        return json_safe({"h": self.h, "freq": self.freq, "level": list(self.level),
                          "forecast": forecast.to_dict("records"), "selection": self.selection.to_dict("records"),
                          "adjustments": adjustments.to_dict("records")})

    def adjustment_lines(self) -> list[str]:
        """One line per adjusted period: 'series YYYY-MM-DD: actual -> adjusted (reason)', in y units."""
        return [f"{r.unique_id} {pd.Timestamp(r.ds):%Y-%m-%d}: {r.actual:,.2f} -> {r.adjusted:,.2f} ({r.reason})"
                for r in self.adjustments.itertuples(index=False)]

    def _repr_html_(self) -> str:
        cols = [c for c in ("unique_id", "model", "mase", "smape", f"coverage-{level_name(self.level[0])}",
                            "adjusted_periods") if c in self.selection] if self.level else ["unique_id", "model"]
        notes = [f"Adjusted before fitting (one-off spikes): {line}" for line in self.adjustment_lines()[:50]]
        return html_table(f"Forecasts of {len(self.selection):,} series, {self.h} periods ({self.freq})",
                          self.selection[cols].head(50).to_dict("records"), notes)


def check_finite(frame: pd.DataFrame, source: str = "series") -> None:
    """Raise a ForecastError (one line per series, up to 3) when a forecast or band is NaN or infinite: the
    models overflowed, and a non-finite figure is never handed on as a forecast."""
    numbers = [c for c in frame.columns if c == "forecast" or c.startswith(("forecast-lo-", "forecast-hi-"))]
    bad = ~np.isfinite(frame[numbers].to_numpy(float))
    problems = []
    for i in np.flatnonzero(bad.any(axis=1)):
        row = frame.iloc[i]
        if problems and row["unique_id"] == problems[-1][0]:
            continue
        column = numbers[int(np.flatnonzero(bad[i])[0])]
        problems.append((row["unique_id"], f"{source}: series {row['unique_id']!r}, ds {row['ds']:%Y-%m-%d}: "
                         f"{column} {row[column]} (model {row['model']}): not a finite number: the history is too "
                         "large or grows too fast for the models; scale y down (e.g. thousands of USD)"))
    if problems:
        raise ForecastError([text for _, text in problems[:3]])


def _one(h, levels, m, candidates, n_windows, step, freq, adjust_spikes, y, first_ds) -> SeriesForecast:
    return forecast_history(y, h, levels, m, candidates, n_windows, step, first_ds, freq, adjust_spikes)


def _check_args(h, n_windows, step, adjust_spikes):
    if not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 1:
        raise ParameterError("h", repr(h), "must be a whole number of periods >= 1")
    if not isinstance(n_windows, int | np.integer) or n_windows < 1:
        raise ParameterError("n_windows", repr(n_windows), "must be a whole number >= 1")
    if step is not None and (not isinstance(step, int | np.integer) or step < 1):
        raise ParameterError("step", repr(step), "must be a whole number of periods >= 1")
    if not isinstance(adjust_spikes, bool | np.bool_):
        raise ParameterError("adjust_spikes", repr(adjust_spikes), "must be True or False")


def forecast_series(df: pd.DataFrame, h: int, freq: str = "MS", level: Sequence[float] = (80, 95),
                    models: str | Sequence[str] = "auto", n_windows: int = 3, step: int | None = None,
                    scheduler: str | None = None, progress: bool | None = None,
                    source: str = "series", adjust_spikes: bool = True) -> ForecastResult:
    """Forecast every series of a long frame h periods ahead, choosing each series' model by backtest.

    models: "auto" or names (see models.MODELS, plus "prophet"); with one name there is no choice, but the
    backtest still scores it and calibrates its intervals. scheduler: None/"local" (processes on this
    machine), "serial", or a Dask scheduler address. progress: a bar on stderr (default: when a terminal).
    adjust_spikes: adjust one-off spikes in each history to a robust local level before the candidates are
    backtested and fitted (outliers.spike_adjusted; listed in `adjustments`); False forecasts the raw history.
    Refused (ForecastError): input the validator rejects (validate.validate_long_frame: y must be finite, >= 0
    and at most validate.MAX_Y = 1e15), and any forecast or band that comes out NaN or infinite anyway.

    >>> months = pd.date_range("2024-01-01", periods=24, freq="MS")
    >>> frame = pd.DataFrame({"unique_id": "api", "ds": months, "y": [10.0 * (i + 1) for i in range(24)]})
    >>> result = forecast_series(frame, h=3, models="drift", scheduler="serial")
    >>> [round(v, 6) for v in result.forecast["forecast"]]  # a straight line, $10 more each month
    [250.0, 260.0, 270.0]
    """
    _check_args(h, n_windows, step, adjust_spikes)
    check_scheduler(scheduler)
    levels = check_levels(level)
    m, step = season_length(freq), step or default_step(h, n_windows)
    candidates = model_names(models, freq)
    valid = validate_long_frame(df, freq, h, source)
    groups = [(str(uid), g) for uid, g in valid.frame.groupby("unique_id", sort=False)]
    work = partial(_one, h, levels, m, candidates, n_windows, step, freq, bool(adjust_spikes))
    results = fan_out(work, [(g["y"].to_numpy(float), g["ds"].iloc[0]) for _, g in groups], scheduler, progress)
    frames, records, adjusted = [], [], []
    for (uid, g), one in zip(groups, results, strict=True):
        fc, rec = one.forecast, dict(one.record)
        adjusted += [{"unique_id": uid, "ds": g["ds"].iloc[a.index], "actual": a.actual, "adjusted": a.adjusted,
                      "reason": a.reason} for a in one.adjustments]
        data = {"unique_id": uid, "ds": future_dates(g["ds"].iloc[-1], h, freq), "forecast": fc.mean}
        for lv in levels:
            data[f"forecast-lo-{level_name(lv)}"] = fc.lo[lv]
            data[f"forecast-hi-{level_name(lv)}"] = fc.hi[lv]
        data["model"] = rec["model"]
        frames.append(pd.DataFrame(data))
        for flag in valid.flags.get(uid, ()):
            rec[flag] = True
        records.append({"unique_id": uid, **rec})
    selection = pd.DataFrame.from_records(records)
    for flag in FLAGS:
        selection[flag] = selection[flag].fillna(False).astype(bool) if flag in selection else False
    first = ["unique_id", "model", "n_obs", "windows", "mase", "smape", "rmse", "bias"]
    cols = [c for c in first if c in selection] + [c for c in selection if c not in first]
    adjustments = pd.DataFrame.from_records(adjusted, columns=list(ADJUSTMENT_COLUMNS))
    adjustments["ds"] = pd.to_datetime(adjustments["ds"])
    adjustments[["actual", "adjusted"]] = adjustments[["actual", "adjusted"]].astype(float)
    forecast = pd.concat(frames, ignore_index=True)
    check_finite(forecast, source)
    return ForecastResult(forecast, selection[cols], h, freq, levels, adjustments)
