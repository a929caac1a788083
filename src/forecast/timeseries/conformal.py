"""Calibrated intervals: check a model's bands on its backtest and, where they are off, widen or narrow
them by split-conformal factors computed from the backtest errors.

The score of an actual a against a forecast (mean, lo, hi) is its distance from the mean in units of
the band on its side: (a - mean) / (hi - mean) above, (mean - a) / (mean - lo) below. The factor for
level L is the ceil((n + 1) L) -th smallest of the n scores (split conformal, Vovk et al. 2005); the
calibrated band is mean ± factor x the model's own distance. Where the model's band has zero width,
the absolute errors are used instead (band = mean ± quantile of |a - mean|).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .base import PointAndBands
from .metrics import coverage


def conformal_quantile(scores, level: float) -> float:
    """The ceil((n+1) L/100)-th smallest score; NaN when n is too small for that level."""
    s = np.sort(np.asarray(scores, dtype=float).ravel())
    k = math.ceil((len(s) + 1) * level / 100)
    return float(s[k - 1]) if 1 <= k <= len(s) else float("nan")


def coverage_is_off(observed: float, level: float, n: int) -> bool:
    """True when observed coverage differs from level (%) by more than 2 binomial standard errors."""
    p = level / 100
    return abs(observed - p) > 2 * math.sqrt(p * (1 - p) / max(n, 1))


def _side_scores(actual: np.ndarray, fc: PointAndBands, lv: float) -> np.ndarray | None:
    up, down = fc.hi[lv] - fc.mean, fc.mean - fc.lo[lv]
    above = actual >= fc.mean
    dist = np.where(above, up, down)
    if np.any(dist <= 0):
        return None
    return np.where(above, actual - fc.mean, fc.mean - actual) / dist


def calibration(actuals: Sequence[np.ndarray], forecasts: Sequence[PointAndBands], levels: Sequence[float]
                ) -> dict[float, tuple[str, float, float]]:
    """Per level: (mode, value, observed coverage); mode 'model' (bands kept), 'scale' (factor) or 'absolute'
    (half-width in y units); mode 'model' also when too few backtest points exist to calibrate."""
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
        if not coverage_is_off(observed, lv, len(a_all)):
            out[lv] = ("model", 1.0, observed)
            continue
        pooled = PointAndBands(mean, {lv: lo}, {lv: hi})
        scores = _side_scores(a_all, pooled, lv)
        if scores is None:
            q = conformal_quantile(np.abs(a_all - mean), lv)
            out[lv] = ("absolute", q, observed) if np.isfinite(q) else ("model", float("nan"), observed)
        else:
            q = conformal_quantile(scores, lv)
            out[lv] = ("scale", q, observed) if np.isfinite(q) else ("model", float("nan"), observed)
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
