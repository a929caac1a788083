"""The one forecaster interface over long frames (unique_id, ds, y) and what every adapter shares.

A forecaster is fitted on many series at once and predicts `h` periods past each series' last
date, returning `unique_id, ds, <alias>, <alias>-lo-<L>, <alias>-hi-<L>` for each level L (%).
Every adapter here is built on a pure array function `(y, h, levels, season_length) -> PointAndBands`
so the backtest, the auto mode and the fit/predict interface run the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ..core.errors import ForecastError
from ..core.frequencies import FREQUENCIES, check_freq

# The step between periods of each supported frequency (core.frequencies lists them).
STEPS: dict[str, pd.DateOffset] = {"MS": pd.offsets.MonthBegin(1), "W": pd.DateOffset(weeks=1),
                                   "D": pd.DateOffset(days=1)}


@runtime_checkable
class Forecaster(Protocol):
    """Fit on a long frame of many series; predict h periods with interval levels in percent."""

    alias: str

    def fit(self, df: pd.DataFrame, freq: str) -> Forecaster: ...

    def predict(self, h: int, level: Sequence[float] = ()) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PointAndBands:
    """A forecast of one series: mean (h,), and per level L (%) the lower and upper bounds (h,)."""

    mean: np.ndarray
    lo: dict[float, np.ndarray] = field(default_factory=dict)
    hi: dict[float, np.ndarray] = field(default_factory=dict)


ArrayModel = Callable[[np.ndarray, int, Sequence[float], int], PointAndBands]


def season_length(freq: str) -> int:
    """Periods per seasonal cycle for a frequency alias: MS -> 12, W -> 52, D -> 7."""
    return FREQUENCIES[check_freq(freq)].season_length


def future_dates(last: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The h period starts after `last` at frequency `freq`."""
    step = STEPS[check_freq(freq)]
    return pd.DatetimeIndex([last + step * k for k in range(1, h + 1)])


def interval_columns(alias: str, level: Sequence[float]) -> list[str]:
    """Column names of the bounds for each level: <alias>-lo-<L>, <alias>-hi-<L>."""
    cols = []
    for lv in level:
        cols += [f"{alias}-lo-{level_name(lv)}", f"{alias}-hi-{level_name(lv)}"]
    return cols


def level_name(lv: float) -> str:
    """80 -> '80', 97.5 -> '97.5' (how a level appears in column names)."""
    return f"{lv:g}"


def check_levels(level: Sequence[float]) -> tuple[float, ...]:
    """Levels as a sorted tuple of floats, each strictly between 0 and 100."""
    out = []
    for lv in level:
        if not (isinstance(lv, int | float) and 0 < float(lv) < 100):
            raise ForecastError(f"level: {lv!r}: an interval level must be a percentage between 0 and 100 (e.g. 80)")
        out.append(float(lv))
    return tuple(sorted(set(out)))


def frame_of(uid: str, ds: pd.DatetimeIndex, alias: str, fc: PointAndBands, level: Sequence[float]) -> pd.DataFrame:
    """One series' forecast as rows of the output frame."""
    data = {"unique_id": uid, "ds": ds, alias: fc.mean}
    for lv in level:
        data[f"{alias}-lo-{level_name(lv)}"] = fc.lo[lv]
        data[f"{alias}-hi-{level_name(lv)}"] = fc.hi[lv]
    return pd.DataFrame(data)


class ArrayForecaster:
    """A Forecaster made from a pure array model: fit stores each series, predict runs the model per series."""

    def __init__(self, alias: str, model: ArrayModel):
        self.alias = alias
        self.model = model
        self._series: list[tuple[str, np.ndarray, pd.Timestamp, pd.Timestamp]] = []
        self._freq = ""

    def model_for(self, first_ds: pd.Timestamp, freq: str) -> ArrayModel:
        """The array model for a series starting at first_ds (date-aware models bind the dates here)."""
        return self.model

    def fit(self, df: pd.DataFrame, freq: str) -> ArrayForecaster:
        """Validate the long frame and remember each series (fitting happens per series in predict)."""
        from .validate import validate_long_frame

        clean = validate_long_frame(df, freq).frame
        self._freq = freq
        self._series = [(str(uid), g["y"].to_numpy(float), g["ds"].iloc[0], g["ds"].iloc[-1])
                        for uid, g in clean.groupby("unique_id", sort=False)]
        return self

    def predict(self, h: int, level: Sequence[float] = ()) -> pd.DataFrame:
        """Forecast h periods past each fitted series' last date, with the given interval levels (%)."""
        if not self._series:
            raise ForecastError(f"{self.alias}: predict called before fit")
        levels = check_levels(level)
        m = season_length(self._freq)
        parts = [frame_of(uid, future_dates(last, h, self._freq), self.alias,
                          self.model_for(first, self._freq)(y, h, levels, m), levels)
                 for uid, y, first, last in self._series]
        return pd.concat(parts, ignore_index=True)
