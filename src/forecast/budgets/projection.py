"""Month-end projections of daily spend: a forecaster (issue 4) when history allows, else a run-rate.

A projector is any function `(history, as_of, last_day) -> Projection`, where history is daily
USD indexed by UTC day up to and including `as_of`; it returns the expected spend and its standard
deviation for each day after `as_of` up to `last_day`. Budgets take the projector as a parameter, so
another method plugs in without touching the burn arithmetic.

Both built-in projectors read a robust daily rate: a one-off spike day in the history (a runaway agent loop)
is left out of the run-rate's weekday means, set to that rate in the history the forecaster fits on, and in
the backtest of the month's rest, so a runaway day already spent does not multiply the rest of the month
(`spike_days`). The spend already incurred still counts in full; that is the burn's business, not the rate's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from ..core.errors import ForecastError

Z95 = 1.959963984540054  # standard normal 97.5% quantile (scipy.stats.norm.ppf(0.975))
RUN_RATE_WINDOW_DAYS = 28
MIN_WEEKDAY_DAYS = 14  # two of every weekday: below this the run-rate is a flat mean
MIN_FORECAST_HISTORY_DAYS = 56
MIN_SUM_ORIGINS = 8  # past stretches needed before their errors count toward the spread of the month's rest
# A one-off spike day spends above SPIKE_FENCE_FACTOR x the 90th-percentile day of the RUN_RATE_WINDOW_DAYS days
# around it (whose median day spends). The 90th percentile of 28 days ignores its top two days and takes 0.3 of the
# third's: two runaway days are spikes, a third lifts the fence above it (a new level is never adjusted).
SPIKE_FENCE_QUANTILE = 0.9
SPIKE_FENCE_FACTOR = 10.0  # chosen on the sample: adjusts its two runaway days and nothing on dense envelopes


@dataclass(frozen=True)
class Projection:
    """Expected spend and standard deviation per remaining day (USD); days are after as_of."""

    method: str
    days: tuple[date, ...]
    expected_usd: np.ndarray
    sd_usd: np.ndarray
    sum_sd_usd: float | None = None  # sd of the days' sum where the projector knows how their errors move together
    spike_days: tuple[date, ...] = ()  # history days read at the robust rate instead of their spend (spike_days)

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


def _window_starts(n_days: int, window_days: int) -> np.ndarray:
    """The first day of each day's window: window_days days centred on it, shifted to lie inside the history."""
    return np.clip(np.arange(n_days) - window_days // 2, 0, max(n_days - window_days, 0))


def spike_days(values: np.ndarray, window_days: int = RUN_RATE_WINDOW_DAYS) -> np.ndarray:
    """Which days are one-off spikes: True where a day spends more than SPIKE_FENCE_FACTOR x the 90th-percentile
    day of the window_days days around it (centred, shifted to lie inside the history) and the window's median
    day spends. Histories under MIN_WEEKDAY_DAYS days have none.

    A quantile fence, not the median absolute deviation: daily spend is often sparse or lumpy (a small team's
    occasional job, weekend lulls), where the MAD is near 0 and a 3-MAD Hampel filter flags ordinary busy days;
    on the sample it flags 3-52 days per envelope where this fence flags only the two runaway days.

    >>> spike_days(np.array([2.0, 1.0, 3.0] * 9 + [500.0])).nonzero()[0].tolist()
    [27]
    """
    n = len(values)
    if n < MIN_WEEKDAY_DAYS:
        return np.zeros(n, dtype=bool)
    width = min(window_days, n)
    windows = sliding_window_view(values, width)[_window_starts(n, width)]
    fence = SPIKE_FENCE_FACTOR * np.quantile(windows, SPIKE_FENCE_QUANTILE, axis=1)
    return (values > fence) & (np.median(windows, axis=1) > 0)


def robust_usd(values: np.ndarray, weekdays: np.ndarray, spikes: np.ndarray,
               window_days: int = RUN_RATE_WINDOW_DAYS) -> np.ndarray:
    """values with each spike day set to the robust rate of its window: the mean of the window's other days of
    its weekday that are not spikes (of all its days that are not, when none is)."""
    out = values.astype(float)
    width = min(window_days, len(values))
    for t, start in zip(np.flatnonzero(spikes), _window_starts(len(values), width)[spikes], strict=True):
        window = slice(start, start + width)
        normal = ~spikes[window]
        same = normal & (weekdays[window] == weekdays[t])
        out[t] = values[window][same if same.any() else normal].mean()
    return out


def _run_rate_fit(values: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                  kept: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float, str]:
    """(expected USD per future day, its sd, sd of the future days' sum, label) from past days' USD and weekdays;
    `kept` (default all) marks the days that count: the others (spike days) are left out as if not observed.

    With MIN_WEEKDAY_DAYS or more days, every weekday among them: a mean per weekday, residual variance
    s^2 = RSS / (days - 7). A future day's sd is s sqrt(1 + 1/n_d) (n_d past days of its weekday); the sum's
    variance adds s^2 k_d^2 / n_d per weekday (k_d future days share one estimated mean, so its error counts
    k_d times). Fewer days: the flat mean of m days, day sd s sqrt(1 + 1/m), sum variance s^2 (n + n^2 / m);
    one day: s is that day's spend.
    """
    left_out = 0 if kept is None else int((~kept).sum())
    if left_out:
        values, weekdays = values[kept], weekdays[kept]
    n, m = len(future), len(values)
    spikes = f", {left_out} spike day{'s' * (left_out > 1)} left out" if left_out else ""
    counts = np.bincount(weekdays, minlength=7)
    if m >= MIN_WEEKDAY_DAYS and counts.min() > 0:
        means = np.bincount(weekdays, weights=values, minlength=7) / counts
        s = float(np.sqrt(np.square(values - means[weekdays]).sum() / (m - 7)))
        k = np.bincount(future, minlength=7)
        return (means[future], s * np.sqrt(1 + 1 / counts[future]), s * float(np.sqrt(n + (k**2 / counts).sum())),
                f"run-rate by weekday ({m + left_out} days{spikes})")
    s = float(values.std(ddof=1)) if m > 1 else float(values[0])
    return (np.full(n, values.mean()), np.full(n, s * np.sqrt(1 + 1 / m)), s * float(np.sqrt(n + n * n / m)),
            f"run-rate flat ({m + left_out} day{'s' * (m + left_out > 1)}{spikes})")


def run_rate_sum_errors_usd(history: pd.Series, n_days: int, window_days: int = RUN_RATE_WINDOW_DAYS,
                            adjust_spikes: bool = True) -> np.ndarray:
    """Actual minus run-rate projection of the n_days-day sum, from every past day with MIN_WEEKDAY_DAYS days
    before it and n_days after it (a rolling-origin backtest of the sum itself: it carries the day-to-day
    persistence of errors and the error of the estimated means that independent days leave out). With
    adjust_spikes, spike days are left out of each origin's rate and count at their robust rate in the actual
    sums (robust_usd), so one runaway day does not stand for the spread of every month."""
    values = history.to_numpy(float)
    weekdays = history.index.day_of_week.to_numpy()
    spikes = spike_days(values, window_days) if adjust_spikes else np.zeros(len(values), dtype=bool)
    actual = robust_usd(values, weekdays, spikes, window_days)
    errors = []
    for end in range(MIN_WEEKDAY_DAYS, len(values) - n_days + 1):
        start = max(0, end - window_days)
        expected, *_ = _run_rate_fit(values[start:end], weekdays[start:end], weekdays[end:end + n_days],
                                     ~spikes[start:end])
        errors.append(actual[end:end + n_days].sum() - expected.sum())
    return np.array(errors)


def backtest_sum_sd_usd(history: pd.Series, n_days: int, adjust_spikes: bool = True) -> float | None:
    """Root mean square of run_rate_sum_errors_usd (bias included), or None with fewer than MIN_SUM_ORIGINS."""
    if n_days == 0:
        return None
    errors = run_rate_sum_errors_usd(history, n_days, adjust_spikes=adjust_spikes)
    return float(np.sqrt(np.mean(np.square(errors)))) if len(errors) >= MIN_SUM_ORIGINS else None


def _spikes(history: pd.Series, adjust_spikes: bool) -> np.ndarray:
    values = history.to_numpy(float)
    return spike_days(values) if adjust_spikes else np.zeros(len(values), dtype=bool)


def run_rate_projection(history: pd.Series, as_of: date, last_day: date,
                        window_days: int = RUN_RATE_WINDOW_DAYS, adjust_spikes: bool = True) -> Projection:
    """Mean spend per weekday over the last `window_days` days (two weeks or more), else the flat mean; with
    adjust_spikes, one-off spike days (spike_days) are left out of the means, as if not observed.

    Per-day sd: the residual sd around those means, widened for the error of the means (see _run_rate_fit).
    The rest of the month's sd is the larger of that formula's and the backtest of the same sum on this
    history (run_rate_sum_errors_usd), so errors that persist for days are not averaged away.
    """
    days = remaining_days(as_of, last_day)
    history = history[history.index <= pd.Timestamp(as_of)]
    recent = history.index >= pd.Timestamp(as_of - timedelta(days=window_days - 1))
    if not recent.any():
        zero = np.zeros(len(days))
        return Projection("run-rate (no history: zero)", days, zero, zero.copy())
    spikes = _spikes(history, adjust_spikes)
    future = np.array([d.weekday() for d in days], dtype=int)
    expected, sd, sum_sd, method = _run_rate_fit(history.to_numpy(float)[recent],
                                                 history.index.day_of_week.to_numpy()[recent], future,
                                                 ~spikes[recent])
    backtest = backtest_sum_sd_usd(history, len(days), adjust_spikes)
    return Projection(method, days, expected, sd, max(sum_sd, backtest or 0.0), _days(history, spikes))


def _days(history: pd.Series, mask: np.ndarray) -> tuple[date, ...]:
    return tuple(ts.date() for ts in history.index[mask])


def forecast_projection(history: pd.Series, as_of: date, last_day: date, forecaster: Callable | None = None,
                        n_windows: int = 3, adjust_spikes: bool = True) -> Projection:
    """The issue-4 forecaster's daily forecast. A day's sd is read off the upper half of its 95% interval
    (the forecaster floors lower bounds at 0, so the full width understates it); the sum's sd is at least
    what the run-rate missed by over same-length stretches of this history (backtest_sum_sd_usd). With
    adjust_spikes, the forecaster fits a history whose one-off spike days are set to their robust rate
    (robust_usd): it would otherwise carry a runaway day at the end of the history into every day to come."""
    days = remaining_days(as_of, last_day)
    if not days:
        return Projection("forecast (month complete)", days, np.zeros(0), np.zeros(0))
    if forecaster is None:
        from ..timeseries.auto import forecast_series as forecaster  # ImportError when not available
    spikes = _spikes(history, adjust_spikes)
    y = robust_usd(history.to_numpy(float), history.index.day_of_week.to_numpy(), spikes)
    frame = pd.DataFrame({"unique_id": "spend", "ds": history.index, "y": y})
    result = forecaster(frame, h=len(days), freq="D", level=(80, 95), models="auto", n_windows=n_windows)
    fc = result.forecast.sort_values("ds")
    if len(fc) != len(days) or fc["ds"].iloc[0] != pd.Timestamp(days[0]):
        raise ForecastError(f"forecaster returned {len(fc)} days from {fc['ds'].iloc[0] if len(fc) else None}; "
                            f"expected {len(days)} days from {days[0]}")
    expected = np.clip(fc["forecast"].to_numpy(float), 0, None)
    sd = (fc["forecast-hi-95"].to_numpy(float) - fc["forecast"].to_numpy(float)) / Z95
    model = str(fc["model"].iloc[0]) if "model" in fc else "?"
    count = int(spikes.sum())
    left_out = f", {count} spike day{'s' * (count > 1)} at the weekday rate" if count else ""
    return Projection(f"forecast ({model}{left_out})", days, expected, np.clip(sd, 0, None),
                      backtest_sum_sd_usd(history, len(days), adjust_spikes), _days(history, spikes))


def auto_projection(history: pd.Series, as_of: date, last_day: date,
                    min_history_days: int = MIN_FORECAST_HISTORY_DAYS,
                    forecaster: Callable | None = None, adjust_spikes: bool = True) -> Projection:
    """The forecaster when there are `min_history_days` days of history and it is installed, else the run-rate."""
    if len(history) >= min_history_days:
        try:
            return forecast_projection(history, as_of, last_day, forecaster, adjust_spikes=adjust_spikes)
        except ImportError:
            fallback = run_rate_projection(history, as_of, last_day, adjust_spikes=adjust_spikes)
            return replace(fallback, method=fallback.method + "; forecaster not installed")
        except ForecastError as exc:
            fallback = run_rate_projection(history, as_of, last_day, adjust_spikes=adjust_spikes)
            return replace(fallback, method=f"{fallback.method}; forecast failed: {exc.problems[0]}")
    return run_rate_projection(history, as_of, last_day, adjust_spikes=adjust_spikes)
