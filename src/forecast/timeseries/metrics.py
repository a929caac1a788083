"""Forecast accuracy metrics (M4 competition definitions). Pure: inputs are never modified.

Each takes actuals and forecasts as scalars or arrays of the same shape and returns a float.
Errors are forecast minus actual, so a positive bias means over-forecasting.
"""

from __future__ import annotations

import numpy as np


def _arrays(*xs) -> list[np.ndarray]:
    return [np.array(x, dtype=float, copy=True).ravel() for x in xs]


def seasonal_scale(insample, season_length: int) -> float:
    """Mean absolute seasonal difference of the history, |y_t - y_{t-m}| (m = 1 when history <= m)."""
    (y,) = _arrays(insample)
    m = season_length if len(y) > season_length else 1
    if len(y) <= m:
        return float("nan")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(y, y_hat, insample, season_length: int) -> float:
    """Mean absolute scaled error: MAE over the seasonal-naive in-sample MAE (NaN when that scale is 0)."""
    a, f = _arrays(y, y_hat)
    scale = seasonal_scale(insample, season_length)
    if not scale > 0:
        return float("nan")
    return float(np.mean(np.abs(f - a)) / scale)


def smape(y, y_hat) -> float:
    """Symmetric MAPE in percent (0 to 200): mean of 200 |f - y| / (|y| + |f|), with 0/0 counted as 0."""
    a, f = _arrays(y, y_hat)
    den = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(f - a), den, out=np.zeros_like(den), where=den > 0)
    return float(100 * np.mean(ratio))


def rmse(y, y_hat) -> float:
    """Root mean squared error, in the units of y."""
    a, f = _arrays(y, y_hat)
    return float(np.sqrt(np.mean((f - a) ** 2)))


def bias(y, y_hat) -> float:
    """Mean error (forecast minus actual), in the units of y: positive means over-forecast."""
    a, f = _arrays(y, y_hat)
    return float(np.mean(f - a))


def coverage(y, lo, hi) -> float:
    """Share (0 to 1) of actuals inside [lo, hi], bounds included."""
    a, lower, upper = _arrays(y, lo, hi)
    return float(np.mean((a >= lower) & (a <= upper)))


def winkler(y, lo, hi, level: float) -> float:
    """Mean Winkler interval score for a central interval at level (%): width plus 2/alpha x each miss."""
    a, lower, upper = _arrays(y, lo, hi)
    alpha = 1 - level / 100
    penalty = (2 / alpha) * (np.maximum(lower - a, 0) + np.maximum(a - upper, 0))
    return float(np.mean(upper - lower + penalty))


def msis(y, lo, hi, insample, season_length: int, level: float = 95) -> float:
    """Mean scaled interval score (M4): the Winkler score over the seasonal in-sample MAE (NaN when that is 0)."""
    scale = seasonal_scale(insample, season_length)
    if not scale > 0:
        return float("nan")
    return winkler(y, lo, hi, level) / scale
