"""Baseline array models: naive, seasonal naive, drift (FPP3 section 5.5 intervals) and Croston-SBA.

Each is a pure function `(y, h, levels, season_length) -> PointAndBands`. Interval spread uses
Student-t quantiles with the residual degrees of freedom, so short histories get honestly wide
intervals (with 2 residuals the 95% multiplier is 12.7, not 1.96).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .base import PointAndBands


def quantile_multiplier(level: float, dof: float | None = None) -> float:
    """Two-sided multiplier of the standard deviation for a central interval at level (%): z, or Student-t."""
    p = 0.5 + level / 200
    if dof is None or not np.isfinite(dof) or dof > 1000:
        return float(stats.norm.ppf(p))
    return float(stats.t.ppf(p, max(dof, 1)))


def normal_bands(mean: np.ndarray, sd: np.ndarray, levels: Sequence[float], dof: float | None = None) -> PointAndBands:
    """Symmetric bands mean ± multiplier x sd at each level (%)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    lo, hi = {}, {}
    for lv in levels:
        k = quantile_multiplier(lv, dof)
        lo[lv], hi[lv] = mean - k * sd, mean + k * sd
    return PointAndBands(mean, lo, hi)


def _rms(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(e**2))) if len(e) else 0.0


def naive(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Last value carried forward; sd_h = sigma sqrt(h), sigma from one-step differences."""
    y = np.asarray(y, dtype=float)
    e = np.diff(y)
    steps = np.arange(1, h + 1)
    return normal_bands(np.full(h, y[-1]), _rms(e) * np.sqrt(steps), levels, dof=len(e))


def seasonal_naive(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Value of the same season last cycle; sd_h = sigma sqrt(floor((h-1)/m) + 1). Naive when history <= m."""
    y = np.asarray(y, dtype=float)
    m = season_length
    if len(y) <= m:
        return naive(y, h, levels, season_length)
    e = y[m:] - y[:-m]
    steps = np.arange(h)
    mean = y[len(y) - m + steps % m]
    return normal_bands(mean, _rms(e) * np.sqrt(steps // m + 1), levels, dof=len(e))


def drift(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Line through the first and last values; sd_h = sigma sqrt(h (1 + h / (T - 1))).

    The slope is the mean of T - 1 one-step differences, so its variance is sigma^2 / (T - 1) and a
    forecast h steps out adds h^2 sigma^2 / (T - 1) to the random walk's h sigma^2 (FPP3 table 5.2).
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    slope = (y[-1] - y[0]) / (n - 1)
    e = np.diff(y) - slope
    steps = np.arange(1, h + 1)
    sigma = float(np.sqrt(np.sum(e**2) / max(len(e) - 1, 1)))
    return normal_bands(y[-1] + slope * steps, sigma * np.sqrt(steps * (1 + steps / (n - 1))), levels, dof=len(e) - 1)


def croston_sba(y: np.ndarray, h: int, levels: Sequence[float], season_length: int,
                alpha: float = 0.1) -> PointAndBands:
    """Croston with the Syntetos-Boylan bias correction for intermittent demand (many zero periods).

    Mean = (1 - alpha/2) x smoothed nonzero size / smoothed interval between nonzero periods. Bands are
    the empirical central quantiles of the observed per-period values (treated as independent draws).
    """
    y = np.asarray(y, dtype=float)
    nz = np.flatnonzero(y > 0)
    if len(nz) == 0:
        zero = np.zeros(h)
        return PointAndBands(zero, {lv: zero for lv in levels}, {lv: zero for lv in levels})
    sizes, gaps = y[nz], np.diff(np.concatenate([[-1], nz])).astype(float)
    z, p = sizes[0], gaps[0]
    for s, g in zip(sizes[1:], gaps[1:], strict=True):
        z += alpha * (s - z)
        p += alpha * (g - p)
    mean = np.full(h, (1 - alpha / 2) * z / p)
    lo = {lv: np.full(h, np.quantile(y, 0.5 - lv / 200)) for lv in levels}
    hi = {lv: np.full(h, np.quantile(y, 0.5 + lv / 200)) for lv in levels}
    return PointAndBands(mean, lo, hi)
