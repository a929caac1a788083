"""The dynamic optimised Theta model (DOTM; Fiorucci, Pellegrini, Louzada, Petropoulos and Koehler 2016,
"Models for optimising the theta method and their relationship to state space models", IJF 32(4)).

After t observations the model holds the SES level l_t and the intercept A_t and slope B_t of the least-squares
line through y_1..y_t (updated recursively). The one-step forecast from t is

    mu_{t+1} = l_t + w [ (1 - alpha)^t A_t + (1 - (1 - alpha)^(t+1)) / alpha * B_t ],   w = 1 - 1/theta

and h steps ahead it adds (h - 1) w B_t. With w = 0 (theta = 1) it is simple exponential smoothing. For a
given alpha the one-step errors are linear in the initial level l_0 and in w, so both are solved by least
squares (w kept in [0, W_MAX]) and only alpha is searched (bounded scalar minimisation of the squared errors).
Statsmodels has no optimised Theta (its ThetaModel fixes theta), hence this module. Seasonality is handled as
for the other models: a classical decomposition when the series passes the seasonality test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import PointAndBands
from .baselines import normal_bands
from .stats_models import seasonal_of

ALPHA_RANGE = (0.01, 0.99)
W_MAX = 0.999  # theta at most 1,000


def line_states(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept A_t and slope B_t of the least-squares line through (1, y_1) .. (t, y_t), for t = 1..n
    (A_1 = y_1, B_1 = 0).

    >>> a, b = line_states(np.array([3.0, 5.0, 7.0, 9.0]))
    >>> [float(round(v, 9)) for v in a], [float(round(v, 9)) for v in b]
    ([3.0, 1.0, 1.0, 1.0], [0.0, 2.0, 2.0, 2.0])
    """
    y = np.asarray(y, dtype=float)
    a, b = np.empty(len(y)), np.empty(len(y))
    a[0], b[0], mean, slope = y[0], 0.0, y[0], 0.0
    for i in range(1, len(y)):
        t = i + 1
        slope = (t - 2) / (t + 1) * slope + 6 / (t + 1) * (y[i] - mean) / t
        mean = ((t - 1) * mean + y[i]) / t
        a[i], b[i] = mean - (t + 1) / 2 * slope, slope
    return a, b


def _ses_levels(y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """SES levels l_1..l_n started from l_0 = 0, and (1 - alpha)^t: l_t(l_0) = levels + powers * l_0."""
    from scipy.signal import lfilter

    return lfilter([alpha], [1.0, alpha - 1.0], y), (1 - alpha) ** np.arange(1, len(y) + 1)


def _drift_terms(alpha: float, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (1 - alpha) ** t * a + (1 - (1 - alpha) ** (t + 1)) / alpha * b


@dataclass(frozen=True)
class ThetaFit:
    """A fitted DOTM: smoothing weight alpha, theta, initial level l0, in-sample one-step errors, and its forecast
    from the end of the history: `start` one step ahead, then `slope` (w B_n) more each step (y's units)."""

    alpha: float
    theta: float
    l0: float
    errors: np.ndarray
    start: float
    slope: float


def _solve(y: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float, w: float | None) -> ThetaFit:
    """l0 and w (unless given) minimising the squared one-step errors of y_2..y_n for this alpha (w clipped to
    [0, W_MAX])."""
    levels, powers = _ses_levels(y, alpha)
    t = np.arange(1, len(y))
    base = y[1:] - levels[:-1]
    cols = np.column_stack([powers[:-1], _drift_terms(alpha, a[:-1], b[:-1], t)])
    fixed = w is not None
    if not fixed:
        (l0, w), *_ = np.linalg.lstsq(cols, base, rcond=None)
    if fixed or not 0 <= w <= W_MAX:
        w = min(max(w, 0.0), W_MAX)
        l0 = float(cols[:, 0] @ (base - w * cols[:, 1]) / (cols[:, 0] @ cols[:, 0]))
    end = levels[-1] + powers[-1] * l0 + w * _drift_terms(alpha, a[-1], b[-1], np.array(len(y)))
    return ThetaFit(alpha, 1 / (1 - w), float(l0), base - cols @ np.array([l0, w]), float(end), float(w * b[-1]))


def theta_fit(y: np.ndarray, theta: float | None = None) -> ThetaFit:
    """DOTM fitted to y by least squares of its one-step errors (needs 3+ points); theta fixed when given (2 is
    the classic Theta method).

    >>> fit = theta_fit(np.array([10.0, 12, 11, 14, 13, 16, 15, 18]))
    >>> bool(0.01 <= fit.alpha <= 0.99 and fit.theta >= 1)
    True
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(y, dtype=float)
    if len(y) < 3:
        raise ValueError("the optimised Theta model needs 3 or more observations")
    a, b = line_states(y)
    w = None if theta is None else 1 - 1 / theta
    found = minimize_scalar(lambda alpha: float(np.sum(_solve(y, a, b, alpha, w).errors ** 2)), bounds=ALPHA_RANGE,
                            method="bounded", options={"xatol": 1e-4})
    return _solve(y, a, b, float(found.x), w)


def theta_path(fit: ThetaFit, h: int) -> np.ndarray:
    """The h-step forecast of a fitted DOTM from the end of its history (y's units).

    >>> y = np.array([10.0, 11, 12, 13, 14, 15])
    >>> [float(round(v, 2)) for v in theta_path(theta_fit(y, theta=1.0), 2)]  # theta 1: SES, flat at its level
    [14.99, 14.99]
    """
    return fit.start + fit.slope * np.arange(h)


def dotm(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Dynamic optimised Theta on the seasonally adjusted series, bands from the SES-with-drift variance
    sigma^2 (1 + (h - 1) alpha^2) (Hyndman & Billah 2003), sigma^2 the mean squared one-step error.

    >>> months = np.array([100.0 + 5 * t for t in range(24)])  # a straight line: the forecast continues it
    >>> [float(round(v, 1)) for v in dotm(months, 3, (80,), 12).mean]
    [220.0, 225.0, 230.0]
    """
    y = np.asarray(y, dtype=float)
    seas = seasonal_of(y, season_length)
    sa = seas.adjust(y)
    fit = theta_fit(sa)
    sd = np.sqrt(np.mean(fit.errors ** 2) * (1 + np.arange(h) * fit.alpha ** 2))
    return seas.restore(normal_bands(theta_path(fit, h), sd, levels))
