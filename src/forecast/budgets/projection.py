"""Month-end projections of daily spend: a forecaster (issue 4) when history allows, else a run-rate.

A projector is any function `(history, as_of, last_day) -> Projection`, where history is daily
USD indexed by UTC day up to and including `as_of`; it returns the expected spend and its standard
deviation for each day after `as_of` up to `last_day`. Budgets take the projector as a parameter, so
another method plugs in without touching the burn arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..core.errors import ForecastError

Z95 = 1.959963984540054  # standard normal 97.5% quantile (scipy.stats.norm.ppf(0.975))
RUN_RATE_WINDOW_DAYS = 28
MIN_WEEKDAY_DAYS = 14  # two of every weekday: below this the run-rate is a flat mean
MIN_FORECAST_HISTORY_DAYS = 56
MIN_SUM_ORIGINS = 8  # past stretches needed before their errors count toward the spread of the month's rest


@dataclass(frozen=True)
class Projection:
    """Expected spend and standard deviation per remaining day (USD); days are after as_of."""

    method: str
    days: tuple[date, ...]
    expected_usd: np.ndarray
    sd_usd: np.ndarray
    sum_sd_usd: float | None = None  # sd of the days' sum where the projector knows how their errors move together

    @property
    def total_usd(self) -> float:
        return float(self.expected_usd.sum())

    @property
    def total_sd_usd(self) -> float:
        """sd of the remaining days' sum (USD): sum_sd_usd, never below the independent-days sqrt(sum sd^2)."""
        independent = float(np.sqrt(np.square(self.sd_usd).sum()))
        return independent if self.sum_sd_usd is None else max(independent, self.sum_sd_usd)


Projector = Callable[[pd.Series, date, date], Projection]


def remaining_days(as_of: date, last_day: date) -> tuple[date, ...]:
    """The UTC days after as_of up to and including last_day."""
    return tuple(as_of + timedelta(days=i) for i in range(1, (last_day - as_of).days + 1))


def _run_rate_fit(values: np.ndarray, weekdays: np.ndarray, future: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                         float, str]:
    """(expected USD per future day, its sd, sd of the future days' sum, label) from past days' USD and weekdays.

    With MIN_WEEKDAY_DAYS or more days: a mean per weekday, residual variance s^2 = RSS / (days - 7). A future
    day's sd is s sqrt(1 + 1/n_d) (n_d past days of its weekday); the sum's variance adds s^2 k_d^2 / n_d per
    weekday (k_d future days share one estimated mean, so its error counts k_d times). Fewer days: the flat mean
    of m days, day sd s sqrt(1 + 1/m), sum variance s^2 (n + n^2 / m); one day: s is that day's spend.
    """
    n, m = len(future), len(values)
    if m >= MIN_WEEKDAY_DAYS:
        counts = np.bincount(weekdays, minlength=7)
        means = np.bincount(weekdays, weights=values, minlength=7) / counts
        s = float(np.sqrt(np.square(values - means[weekdays]).sum() / (m - 7)))
        k = np.bincount(future, minlength=7)
        return (means[future], s * np.sqrt(1 + 1 / counts[future]), s * float(np.sqrt(n + (k**2 / counts).sum())),
                f"run-rate by weekday ({m} days)")
    s = float(values.std(ddof=1)) if m > 1 else float(values[0])
    return (np.full(n, values.mean()), np.full(n, s * np.sqrt(1 + 1 / m)), s * float(np.sqrt(n + n * n / m)),
            f"run-rate flat ({m} day{'s' * (m > 1)})")


def run_rate_sum_errors_usd(history: pd.Series, n_days: int, window_days: int = RUN_RATE_WINDOW_DAYS) -> np.ndarray:
    """Actual minus run-rate projection of the n_days-day sum, from every past day with MIN_WEEKDAY_DAYS days
    before it and n_days after it (a rolling-origin backtest of the sum itself: it carries the day-to-day
    persistence of errors and the error of the estimated means that independent days leave out)."""
    values = history.to_numpy(float)
    weekdays = history.index.day_of_week.to_numpy()
    errors = []
    for end in range(MIN_WEEKDAY_DAYS, len(values) - n_days + 1):
        start = max(0, end - window_days)
        expected, *_ = _run_rate_fit(values[start:end], weekdays[start:end], weekdays[end:end + n_days])
        errors.append(values[end:end + n_days].sum() - expected.sum())
    return np.array(errors)


def backtest_sum_sd_usd(history: pd.Series, n_days: int) -> float | None:
    """Root mean square of run_rate_sum_errors_usd (bias included), or None with fewer than MIN_SUM_ORIGINS."""
    if n_days == 0:
        return None
    errors = run_rate_sum_errors_usd(history, n_days)
    return float(np.sqrt(np.mean(np.square(errors)))) if len(errors) >= MIN_SUM_ORIGINS else None


def run_rate_projection(history: pd.Series, as_of: date, last_day: date,
                        window_days: int = RUN_RATE_WINDOW_DAYS) -> Projection:
    """Mean spend per weekday over the last `window_days` days (two weeks or more), else the flat mean.

    Per-day sd: the residual sd around those means, widened for the error of the means (see _run_rate_fit).
    The rest of the month's sd is the larger of that formula's and the backtest of the same sum on this
    history (run_rate_sum_errors_usd), so errors that persist for days are not averaged away.
    """
    days = remaining_days(as_of, last_day)
    start = pd.Timestamp(as_of - timedelta(days=window_days - 1))
    recent = history[(history.index >= start) & (history.index <= pd.Timestamp(as_of))]
    if recent.empty:
        zero = np.zeros(len(days))
        return Projection("run-rate (no history: zero)", days, zero, zero.copy())
    future = np.array([d.weekday() for d in days], dtype=int)
    expected, sd, sum_sd, method = _run_rate_fit(recent.to_numpy(float), recent.index.day_of_week.to_numpy(), future)
    backtest = backtest_sum_sd_usd(history[history.index <= pd.Timestamp(as_of)], len(days))
    return Projection(method, days, expected, sd, max(sum_sd, backtest or 0.0))


def forecast_projection(history: pd.Series, as_of: date, last_day: date, forecaster: Callable | None = None,
                        n_windows: int = 3) -> Projection:
    """The issue-4 forecaster's daily forecast. A day's sd is read off the upper half of its 95% interval
    (the forecaster floors lower bounds at 0, so the full width understates it); the sum's sd is at least
    what the run-rate missed by over same-length stretches of this history (backtest_sum_sd_usd)."""
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
    sd = (fc["forecast-hi-95"].to_numpy(float) - fc["forecast"].to_numpy(float)) / Z95
    model = str(fc["model"].iloc[0]) if "model" in fc else "?"
    return Projection(f"forecast ({model})", days, expected, np.clip(sd, 0, None),
                      backtest_sum_sd_usd(history, len(days)))


def auto_projection(history: pd.Series, as_of: date, last_day: date,
                    min_history_days: int = MIN_FORECAST_HISTORY_DAYS,
                    forecaster: Callable | None = None) -> Projection:
    """The forecaster when there are `min_history_days` days of history and it is installed, else the run-rate."""
    if len(history) >= min_history_days:
        try:
            return forecast_projection(history, as_of, last_day, forecaster)
        except ImportError:
            fallback = run_rate_projection(history, as_of, last_day)
            return replace(fallback, method=fallback.method + "; forecaster not installed")
        except ForecastError as exc:
            fallback = run_rate_projection(history, as_of, last_day)
            return replace(fallback, method=f"{fallback.method}; forecast failed: {exc.problems[0]}")
    return run_rate_projection(history, as_of, last_day)
