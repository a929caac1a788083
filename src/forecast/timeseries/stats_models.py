"""statsmodels adapters: damped-trend ETS, Holt-Winters, Theta and a small-search ARIMA, as pure array models.

Seasonality is handled the M4 way: a series is called seasonal when its autocorrelation at the
season lag passes the 90% test (and it has 3 full cycles); it is then seasonally adjusted by
classical decomposition (multiplicative when all values are positive, else additive), the
non-seasonal model is fitted to the adjusted series, and the forecast and its bands are
re-seasonalized. This keeps one ETS fit at ~15 ms instead of ~600 ms for a 12-state seasonal ETS.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import PointAndBands
from .baselines import normal_bands
from .ets_fit import mle_fit, mle_params


@dataclass(frozen=True)
class Seasonal:
    """Seasonal indices per position in the cycle; kind is 'none', 'additive' or 'multiplicative'."""

    kind: str
    index: np.ndarray  # (m,) factor (multiplicative) or offset (additive) for positions t % m
    n: int

    def adjust(self, y: np.ndarray) -> np.ndarray:
        """The seasonally adjusted history."""
        s = self.index[np.arange(self.n) % len(self.index)]
        return y / s if self.kind == "multiplicative" else y - s

    def restore(self, fc: PointAndBands) -> PointAndBands:
        """A forecast of the adjusted series, put back on the seasonal scale."""
        s = self.index[(self.n + np.arange(len(fc.mean))) % len(self.index)]
        f = (lambda a: a * s) if self.kind == "multiplicative" else (lambda a: a + s)
        return PointAndBands(f(fc.mean), {k: f(v) for k, v in fc.lo.items()}, {k: f(v) for k, v in fc.hi.items()})


def is_seasonal(y: np.ndarray, m: int) -> bool:
    """M4 test: |acf(m)| > 1.645 sqrt((1 + 2 sum_{k<m} acf(k)^2) / n), needing at least 3 cycles."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if m <= 1 or n < 3 * m:
        return False
    d = y - y.mean()
    denom = float(d @ d)
    if denom == 0:
        return False
    acf = np.array([float(d[k:] @ d[: n - k]) / denom for k in range(m + 1)])
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[1:m] ** 2)) / n)
    return bool(abs(acf[m]) > limit)


def seasonal_of(y: np.ndarray, m: int) -> Seasonal:
    """Classical decomposition indices (centred 2 x m moving average) when the series is seasonal."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if not is_seasonal(y, m):
        return Seasonal("none", np.zeros(1), n)
    w = np.ones(m + 1) if m % 2 == 0 else np.ones(m)
    if m % 2 == 0:
        w[0] = w[-1] = 0.5
    w /= m
    trend = np.full(n, np.nan)
    half = len(w) // 2
    trend[half: n - half] = np.convolve(y, w, mode="valid")
    mult = bool(np.all(y > 0))
    ratio = y / trend if mult else y - trend
    idx = np.array([np.nanmean(ratio[p::m]) for p in range(m)])
    idx = idx / idx.mean() if mult else idx - idx.mean()
    return Seasonal("multiplicative" if mult else "additive", idx, n)


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def ets_variance_factors(alpha: float, beta: float, phi: float, h: int) -> np.ndarray:
    """Hyndman et al. (2008) class 1 variance of additive damped ETS: 1 + sum_{j<h} (alpha + beta phi_j)^2."""
    j = np.arange(1, h)
    phi_j = np.cumsum(phi ** j) if h > 1 else np.zeros(0)
    c = alpha + beta * phi_j
    return np.concatenate([[1.0], 1 + np.cumsum(c**2)])


HEURISTIC_FROM = 10  # statsmodels' heuristic initial states need 10 points; they make a fit ~10x faster


def ets_damped_fit(y: np.ndarray):
    """statsmodels ETS(A,Ad,N) fitted by maximum likelihood to a (seasonally adjusted) series.

    Initial level and slope come from statsmodels' heuristic (Hyndman et al. 2008, sec. 2.6.1) when
    there are 10+ points, else they are estimated with the smoothing parameters.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    init = "heuristic" if len(y) >= HEURISTIC_FROM else "estimated"
    model = ETSModel(np.asarray(y, dtype=float), error="add", trend="add", damped_trend=True,
                     initialization_method=init)
    return _quiet(lambda: mle_fit(model))


def ets(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Damped-trend exponential smoothing (statsmodels ETSModel) on the seasonally adjusted series."""
    y = np.asarray(y, dtype=float)
    seas = seasonal_of(y, season_length)
    res = ets_damped_fit(seas.adjust(y))
    alpha, beta, phi = (float(res.params[k]) for k in (0, 1, 2))
    steps = np.arange(1, h + 1)
    mean = res.level[-1] + np.cumsum(phi**steps) * res.slope[-1]
    sigma2 = float(np.mean(np.asarray(res.resid) ** 2))
    sd = np.sqrt(sigma2 * ets_variance_factors(alpha, beta, phi, h))
    return seas.restore(normal_bands(np.asarray(mean), sd, levels))


HW_MAX_SEASON = 24  # as R's forecast::ets (Hyndman): more seasonal states than this are too many to estimate


def has_season_state(y: np.ndarray, season_length: int) -> bool:
    """True when Holt-Winters keeps a seasonal state for `y`: the season is at most HW_MAX_SEASON long and the
    series passes the seasonality test (is_seasonal); otherwise holt_winters is the damped ETS.

    >>> t = np.arange(48)
    >>> has_season_state(10 + np.sin(2 * np.pi * t / 12), 12), has_season_state(10 + 0.1 * t, 12)
    (True, False)
    """
    return season_length <= HW_MAX_SEASON and is_seasonal(y, season_length)


def holt_winters_model(y: np.ndarray, season_length: int):
    """statsmodels ETSModel with additive error, damped trend and a seasonal state (multiplicative when every
    value is positive, else additive), its initial states from statsmodels' heuristic (Hyndman et al. 2008,
    sec. 2.6.1, from the first cycles), so only the four smoothing parameters are estimated.

    >>> holt_winters_model(np.arange(1.0, 37), 12).seasonal, holt_winters_model(np.arange(-1.0, 35), 12).seasonal
    ('mul', 'add')
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(y, dtype=float)
    return ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="mul" if np.all(y > 0) else "add",
                    seasonal_periods=season_length, initialization_method="heuristic")


def hw_variance_factors(alpha: float, beta: float, gamma: float, phi: float, h: int, m: int) -> np.ndarray:
    """Hyndman et al. (2008) class 1 variance of additive damped ETS with an additive season, per unit of the
    one-step variance: 1 + sum_{j<h} (alpha + beta phi_j + gamma [j mod m = 0])^2 (used for the multiplicative
    season too, where it is the usual approximation: it leaves out the ratio of the seasonal factors).

    >>> hw_variance_factors(0.5, 0.0, 0.5, 1.0, 3, 2).tolist()  # steps 1-3: 1, 1 + 0.25, 1.25 + (0.5 + 0.5)^2
    [1.0, 1.25, 2.25]
    """
    j = np.arange(1, h)
    c = alpha + beta * np.cumsum(phi**j) + gamma * (j % m == 0)
    return np.concatenate([[1.0], 1 + np.cumsum(c**2)])


def holt_winters_forecast(res, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """The forecast of a fitted (or smoothed) holt_winters_model: its mean, with normal bands from the mean
    squared one-step error and hw_variance_factors. Raises ArithmeticError when the fit gave a value that is
    not finite (select.FIT_ERRORS then drops the model).

    >>> t = np.arange(48)
    >>> y = 100 + 20 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, 48)
    >>> res = holt_winters_model(y, 12).fit(disp=False)
    >>> fc = holt_winters_forecast(res, 12, (80,), 12)
    >>> bool(np.allclose(fc.mean, 100 + 20 * np.sin(2 * np.pi * t[:12] / 12), rtol=0.05))  # the season goes on
    True
    >>> bool(np.all(fc.lo[80] < fc.mean) and np.all(np.diff(fc.hi[80] - fc.mean) >= 0))  # widening with h
    True
    """
    alpha, beta, gamma, phi = (float(v) for v in np.asarray(res.params)[:4])
    mean = np.asarray(_quiet(lambda: res.forecast(h)), dtype=float)
    sigma2 = float(np.mean(np.asarray(res.resid, dtype=float) ** 2))
    sd = np.sqrt(sigma2 * hw_variance_factors(alpha, beta, gamma, phi, h, season_length))
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))):
        raise ArithmeticError("Holt-Winters gave a forecast that is not finite")
    return normal_bands(mean, sd, levels)


def holt_winters(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """Holt-Winters damped exponential smoothing, the season in the model's states (holt_winters_model): the
    seasonal pattern may drift, where the other models fix it by classical decomposition. Where
    has_season_state is False it is the damped ETS (`ets`).

    >>> t = np.arange(60)
    >>> y = (100 + t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12))  # a season that grows with the level
    >>> fc = holt_winters(y, 12, (80,), 12)
    >>> bool(np.all(np.abs(fc.mean / ((160 + np.arange(12)) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)))
    ...                    - 1) < 0.05))
    True
    """
    y = np.asarray(y, dtype=float)
    if not has_season_state(y, season_length):
        return ets(y, h, levels, season_length)
    res = _quiet(lambda: mle_fit(holt_winters_model(y, season_length)))
    return holt_winters_forecast(res, h, levels, season_length)


def ses_one_step_errors(y: np.ndarray, alpha: float) -> np.ndarray:
    """In-sample one-step errors of simple exponential smoothing started at y[0] (level_t += alpha e_t)."""
    level, out = float(y[0]), np.empty(len(y) - 1)
    for t in range(1, len(y)):
        out[t - 1] = y[t] - level
        level += alpha * out[t - 1]
    return out


def ses_alpha(y: np.ndarray) -> float:
    """The weight of simple exponential smoothing started at y[0], by maximum likelihood, as statsmodels' ThetaModel
    estimates it: fitted as ETS(A,N,N) with that known initial level (ets_fit.mle_params), which on M1's 617
    seasonally adjusted series reaches a lower squared error than ThetaModel's own fit on 551 (ThetaModel on 66),
    in 0.15 s against 2.53 s (benchmarks/bench_ets_fit.py).

    >>> y = 50 + np.cumsum(np.random.default_rng(3).normal(0, 1, 60))  # a random walk: SES follows it closely
    >>> bool(ses_alpha(y) > 0.8)
    True
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(y, dtype=float)
    return float(mle_params(ETSModel(y, error="add", initialization_method="known", initial_level=y[0]))[0])


def theta_mean(y: np.ndarray, alpha: float, h: int) -> np.ndarray:
    """The Theta method's forecast (theta = 2, Assimakopoulos & Nikolopoulos 2000, as statsmodels' ThetaModel
    computes it): SES with weight alpha started at y[0], plus half the slope b0 of the least-squares line through
    y times h - 1 + 1/alpha - (1 - alpha)^n / alpha.

    >>> theta_mean(np.arange(10.0), 1.0, 2).tolist()  # SES at 1 ends on the last value; b0 = 1
    [9.5, 10.0]
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    b0 = float(np.polyfit(np.arange(n, dtype=float), y, 1)[0])
    level = float(y[0])
    for value in y[1:]:
        level += alpha * (value - level)
    return level + 0.5 * b0 * (np.arange(h) + 1 / alpha - (1 - alpha) ** n / alpha)


def theta_forecast(y: np.ndarray, alpha: float, h: int, levels: Sequence[float]) -> PointAndBands:
    """theta_mean with bands from the ARIMA(0,1,1) variance sigma^2 (1 + (h - 1) alpha^2) (Hyndman & Billah
    2003), sigma^2 the mean squared in-sample one-step SES error (statsmodels refits a SARIMAX for it: 10x
    slower)."""
    sigma2 = float(np.mean(ses_one_step_errors(y, alpha) ** 2))
    return normal_bands(theta_mean(y, alpha, h), np.sqrt(sigma2 * (1 + np.arange(h) * alpha**2)), levels)


def theta(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """The Theta method (theta_forecast, its weight from ses_alpha) on the seasonally adjusted series."""
    y = np.asarray(y, dtype=float)
    seas = seasonal_of(y, season_length)
    sa = seas.adjust(y)
    return seas.restore(theta_forecast(sa, _quiet(lambda: ses_alpha(sa)), h, levels))


ARIMA_ORDERS = ((0, 1, 1), (1, 1, 0), (1, 1, 1))


def arima(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """statsmodels ARIMA with drift on the seasonally adjusted series; order by AIC among ARIMA_ORDERS."""
    from statsmodels.tsa.arima.model import ARIMA

    y = np.asarray(y, dtype=float)
    seas = seasonal_of(y, season_length)
    sa = seas.adjust(y)
    best = None
    for order in ARIMA_ORDERS:
        try:
            res = _quiet(lambda order=order: ARIMA(sa, order=order, trend="t").fit())
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or res.aic < best.aic:
            best = res
    if best is None:
        raise ValueError("no ARIMA order could be fitted")
    pred = best.get_forecast(h)
    mean = np.asarray(pred.predicted_mean, dtype=float)
    lo, hi = {}, {}
    for lv in levels:
        ci = np.asarray(pred.conf_int(alpha=1 - lv / 100), dtype=float)
        lo[lv], hi[lv] = ci[:, 0], ci[:, 1]
    return seas.restore(PointAndBands(mean, lo, hi))
