"""Calibrated intervals: rebuild a model's bands from its backtest errors, which are the only honest measure
of how far its forecasts miss.

The score of an actual a against a forecast (mean, lo, hi) is its distance from the mean in units of the band
on its side: (a - mean) / (hi - mean) above, (mean - a) / (mean - lo) below. A level's calibrated band is
mean +- factor x the model's own distance, where the factor is the larger of

- the split-conformal quantile of the scores: the ceil((n + 1) L)-th smallest of the n (Vovk et al. 2005);
- t x the root mean square of the scores, t the Student-t quantile of the level with the backtest's effective
  degrees of freedom: the errors of one window move together (a level shift misses every step the same way),
  so n errors give n (1 - rho) / (1 + rho) - 1 (rho the lag-1 autocorrelation of the signed scores within
  windows, about 0, not their mean: a bias counts as a shared miss), and never fewer than one per window.

The quantile alone treats the backtest's errors as independent and gave 80% bands that held 76% of M1's
held-out months; the t term accounts for how few independent misses 3 windows are (docs/forecasting.md).
Where the model's band has zero width, the absolute errors are used instead (band = mean +- quantile of |a -
mean|).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .base import PointAndBands
from .metrics import coverage


def conformal_quantile(scores, level: float) -> float:
    """The ceil((n+1) L/100)-th smallest score; NaN when n is too small for that level.

    >>> conformal_quantile([3.0, 1.0, 2.0, 5.0, 4.0], 50)  # ceil(6 x 0.5) = 3rd smallest
    3.0
    """
    s = np.sort(np.asarray(scores, dtype=float).ravel())
    k = math.ceil((len(s) + 1) * level / 100)
    return float(s[k - 1]) if 1 <= k <= len(s) else float("nan")


def effective_dof(windows: Sequence[np.ndarray]) -> float:
    """Degrees of freedom of the pooled errors of backtest `windows` (signed, one array per window):
    n (1 - rho) / (1 + rho) - 1, rho the lag-1 autocorrelation within windows (clipped to 0-0.95), at least
    the number of windows.

    >>> round(effective_dof([np.array([1.0, -1, 1, -1]), np.array([-1.0, 1, -1, 1])]), 6)  # no positive rho
    7.0
    >>> effective_dof([np.ones(18)] * 3)  # every window missed one way: 3 independent misses
    3.0
    """
    pairs = sum(float(np.sum(w[1:] * w[:-1])) for w in windows)
    squares = sum(float(np.sum(w * w)) for w in windows)
    rho = min(max(pairs / squares if squares > 0 else 0.0, 0.0), 0.95)
    n = sum(len(w) for w in windows)
    return max(n * (1 - rho) / (1 + rho) - 1, float(len(windows)))


def _side_scores(actual: np.ndarray, fc: PointAndBands, lv: float) -> np.ndarray | None:
    up, down = fc.hi[lv] - fc.mean, fc.mean - fc.lo[lv]
    above = actual >= fc.mean
    dist = np.where(above, up, down)
    if np.any(dist <= 0):
        return None
    return np.where(above, actual - fc.mean, fc.mean - actual) / dist


def calibration(actuals: Sequence[np.ndarray], forecasts: Sequence[PointAndBands], levels: Sequence[float]
                ) -> dict[float, tuple[str, float, float]]:
    """Per level: (mode, value, observed backtest coverage of the model's own band); mode 'scale' (factor on
    the model's distance), 'absolute' (half-width in y units) or 'model' (bands kept: no backtest point, a
    backtest that never missed, or errors that are not finite)."""
    from scipy.stats import t

    out = {}
    a_all = np.concatenate([np.asarray(a, dtype=float) for a in actuals]) if actuals else np.zeros(0)
    for lv in levels:
        if len(a_all) == 0:
            out[lv] = ("model", float("nan"), float("nan"))
            continue
        lo = np.concatenate([f.lo[lv] for f in forecasts])
        hi = np.concatenate([f.hi[lv] for f in forecasts])
        mean = np.concatenate([f.mean for f in forecasts])
        observed = coverage(a_all, lo, hi)
        scores = _side_scores(a_all, PointAndBands(mean, {lv: lo}, {lv: hi}), lv)
        if scores is None:
            q = conformal_quantile(np.abs(a_all - mean), lv)
            out[lv] = ("absolute", q, observed) if np.isfinite(q) else ("model", float("nan"), observed)
            continue
        if not np.any(scores > 0):  # the backtest never missed: no measure of the spread, the model's band stays
            out[lv] = ("model", 1.0, observed)
            continue
        signed = np.where(a_all >= mean, scores, -scores)
        windows = np.split(signed, np.cumsum([len(a) for a in actuals])[:-1])
        spread = float(t.ppf((1 + lv / 100) / 2, effective_dof(windows)) * np.sqrt(np.mean(scores ** 2)))
        finite = [v for v in (spread, conformal_quantile(scores, lv)) if np.isfinite(v)]
        out[lv] = ("scale", max(finite), observed) if finite else ("model", float("nan"), observed)
    return out


def apply_calibration(fc: PointAndBands, cal: dict[float, tuple[str, float, float]]) -> PointAndBands:
    """The forecast with each level's band rebuilt as `calibration` says (the mean is unchanged)."""
    lo, hi = dict(fc.lo), dict(fc.hi)
    for lv, (mode, value, _) in cal.items():
        if mode == "scale":
            lo[lv] = fc.mean - value * (fc.mean - fc.lo[lv])
            hi[lv] = fc.mean + value * (fc.hi[lv] - fc.mean)
        elif mode == "absolute":
            lo[lv], hi[lv] = fc.mean - value, fc.mean + value
    return PointAndBands(fc.mean, lo, hi)
