"""Month-end projections of daily spend: a forecaster (issue 4) when history allows, else a run-rate.

A projector is any function `(history, as_of, last_day) -> Projection`, where history is daily
USD indexed by UTC day up to and including `as_of`; it returns the expected spend and its standard
deviation for each day after `as_of` up to `last_day`. Budgets take the projector as a parameter, so
another method plugs in without touching the burn arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..errors import ForecastError

Z95 = 1.959963984540054  # standard normal 97.5% quantile (scipy.stats.norm.ppf(0.975))
RUN_RATE_WINDOW_DAYS = 28
MIN_FORECAST_HISTORY_DAYS = 56


@dataclass(frozen=True)
class Projection:
    """Expected spend and standard deviation per remaining day (USD); days are after as_of."""

    method: str
    days: tuple[date, ...]
    expected_usd: np.ndarray
    sd_usd: np.ndarray

    @property
    def total_usd(self) -> float:
        return float(self.expected_usd.sum())

    @property
    def total_sd_usd(self) -> float:
        """Days treated as independent: understates the spread when errors persist from day to day."""
        return float(np.sqrt(np.square(self.sd_usd).sum()))


Projector = Callable[[pd.Series, date, date], Projection]


def remaining_days(as_of: date, last_day: date) -> tuple[date, ...]:
    """The UTC days after as_of up to and including last_day."""
    return tuple(as_of + timedelta(days=i) for i in range(1, (last_day - as_of).days + 1))


def run_rate_projection(history: pd.Series, as_of: date, last_day: date,
                        window_days: int = RUN_RATE_WINDOW_DAYS) -> Projection:
    """Mean spend per weekday over the last `window_days` days (two weeks or more), else the flat mean.

    The per-day standard deviation is that of the residuals around those means; with a single day of
    history it is taken as equal to that day's spend (a wide, stated guess, not zero).
    """
    days = remaining_days(as_of, last_day)
    start = pd.Timestamp(as_of - timedelta(days=window_days - 1))
    recent = history[(history.index >= start) & (history.index <= pd.Timestamp(as_of))]
    if recent.empty:
        zero = np.zeros(len(days))
        return Projection("run-rate (no history: zero)", days, zero, zero.copy())
    values = recent.to_numpy(float)
    if len(recent) >= 14:
        weekday = recent.index.day_of_week.to_numpy()
        means = np.array([values[weekday == d].mean() for d in range(7)])
        residuals = values - means[weekday]
        expected = np.array([means[d.weekday()] for d in days])
        sd = float(np.sqrt(np.square(residuals).sum() / max(len(values) - 7, 1)))
        method = f"run-rate by weekday ({len(recent)} days)"
    else:
        expected = np.full(len(days), values.mean())
        sd = float(values.std(ddof=1)) if len(values) > 1 else float(values[0])
        method = f"run-rate flat ({len(recent)} day{'s' * (len(recent) > 1)})"
    return Projection(method, days, expected, np.full(len(days), sd))


def forecast_projection(history: pd.Series, as_of: date, last_day: date, forecaster: Callable | None = None,
                        n_windows: int = 3) -> Projection:
    """The issue-4 forecaster's daily forecast; the standard deviation is read off its 95% interval."""
    days = remaining_days(as_of, last_day)
    if not days:
        return Projection("forecast (month complete)", days, np.zeros(0), np.zeros(0))
    if forecaster is None:
        from ..timeseries.auto import forecast_series as forecaster  # ImportError when not available
    frame = pd.DataFrame({"unique_id": "spend", "ds": history.index, "y": history.to_numpy(float)})
    result = forecaster(frame, h=len(days), freq="D", level=(80, 95), models="auto", n_windows=n_windows)
    fc = result.forecast.sort_values("ds")
    if len(fc) != len(days) or fc["ds"].iloc[0] != pd.Timestamp(days[0]):
        raise ForecastError(f"forecaster returned {len(fc)} days from {fc['ds'].iloc[0] if len(fc) else None}; "
                            f"expected {len(days)} days from {days[0]}")
    expected = np.clip(fc["forecast"].to_numpy(float), 0, None)
    sd = (fc["forecast-hi-95"].to_numpy(float) - fc["forecast-lo-95"].to_numpy(float)) / (2 * Z95)
    model = str(fc["model"].iloc[0]) if "model" in fc else "?"
    return Projection(f"forecast ({model})", days, expected, np.clip(sd, 0, None))


def auto_projection(history: pd.Series, as_of: date, last_day: date,
                    min_history_days: int = MIN_FORECAST_HISTORY_DAYS,
                    forecaster: Callable | None = None) -> Projection:
    """The forecaster when there are `min_history_days` days of history and it is installed, else the run-rate."""
    if len(history) >= min_history_days:
        try:
            return forecast_projection(history, as_of, last_day, forecaster)
        except ImportError:
            fallback = run_rate_projection(history, as_of, last_day)
            return Projection(fallback.method + "; forecaster not installed", fallback.days,
                              fallback.expected_usd, fallback.sd_usd)
        except ForecastError as exc:
            fallback = run_rate_projection(history, as_of, last_day)
            return Projection(f"{fallback.method}; forecast failed: {exc.problems[0]}", fallback.days,
                              fallback.expected_usd, fallback.sd_usd)
    return run_rate_projection(history, as_of, last_day)
