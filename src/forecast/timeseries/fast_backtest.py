"""Backtests of ETS, Theta, Holt-Winters and ETS by AICc that fit once per series instead of once per window.

Parameters (and the classical seasonal indices) are estimated by statsmodels on the earliest window's training
data only; every later window re-runs the model's recursions over its longer history with those fixed
parameters (statsforecast calls this `refit=False`), with the initial states the heuristic gives that history
(and, for autoets, the form with the lowest AICc there). Nothing after a window's cutoff leaks into it. The
earliest window's forecast equals a full refit exactly (tested). This cuts a 3-window backtest from 3 fits to 1
per model (2 for Holt-Winters when its earliest windows show no season yet: see hw_windows; a full selection
for autoets where a later history allows a form the earliest did not).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .auto_ets import best_ets, ets_forecast, ets_forms, ets_model, fit_forms, form_aicc, initial_states, lowest_aicc
from .backtest import Window
from .baselines import normal_bands
from .ets_fit import mle_fit, smoothed
from .stats_models import (
    HEURISTIC_FROM,
    Seasonal,
    _quiet,
    ets_damped_fit,
    ets_variance_factors,
    has_season_state,
    holt_winters_forecast,
    holt_winters_model,
    seasonal_of,
    ses_alpha,
    theta_forecast,
)


def _seasonal_for(y: np.ndarray, m: int, first: int) -> Seasonal:
    s = seasonal_of(y[:first], m)
    return Seasonal(s.kind, s.index, len(y))


def ets_filter(sa: np.ndarray, alpha: float, beta: float, phi: float, level0: float, slope0: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ETS(A,Ad,N) recursions: level, slope after each observation and one-step errors (each (n,))."""
    n = len(sa)
    lv, sl, err = np.empty(n), np.empty(n), np.empty(n)
    level, slope = level0, slope0
    for t in range(n):
        e = sa[t] - (level + phi * slope)
        level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
        lv[t], sl[t], err[t] = level, slope, e
    return lv, sl, err


def ets_windows(y: np.ndarray, h: int, levels: Sequence[float], m: int, cuts: Sequence[int]) -> list[Window]:
    """Backtest windows of `stats_models.ets` with parameters fitted on y[:cuts[0]]."""
    y = np.asarray(y, dtype=float)
    seas = _seasonal_for(y, m, cuts[0])
    sa = seas.adjust(y)
    res = ets_damped_fit(sa[: cuts[0]])
    alpha, beta, phi = (float(res.params[k]) for k in (0, 1, 2))
    lv, sl, err = ets_filter(sa, alpha, beta, phi, float(res.initial_level), float(res.initial_trend))
    steps, var = np.arange(1, h + 1), ets_variance_factors(alpha, beta, phi, h)
    out = []
    for c in cuts:
        mean = lv[c - 1] + np.cumsum(phi**steps) * sl[c - 1]
        fc = normal_bands(mean, np.sqrt(np.mean(err[:c] ** 2) * var), levels)
        out.append(Window(c, y[c:c + h], Seasonal(seas.kind, seas.index, c).restore(fc)))
    return out


def theta_windows(y: np.ndarray, h: int, levels: Sequence[float], m: int, cuts: Sequence[int]) -> list[Window]:
    """Backtest windows of `stats_models.theta` with the SES weight alpha fitted on y[:cuts[0]]."""
    y = np.asarray(y, dtype=float)
    seas = _seasonal_for(y, m, cuts[0])
    sa = seas.adjust(y)
    alpha = _quiet(lambda: ses_alpha(sa[: cuts[0]]))
    return [Window(c, y[c:c + h], Seasonal(seas.kind, seas.index, c).restore(theta_forecast(sa[:c], alpha, h, levels)))
            for c in cuts]


def hw_windows(y: np.ndarray, h: int, levels: Sequence[float], m: int, cuts: Sequence[int]) -> list[Window]:
    """Backtest windows of `stats_models.holt_winters`, each what the model would have forecast at its cutoff: at
    a cutoff whose history has no seasonal state (too short for the seasonality test, say) the damped ETS, as
    `ets_windows`; at the others Holt-Winters, its smoothing parameters fitted on the earliest such history and
    re-run by statsmodels' `smooth` over each later one (whose first cycles give the heuristic initial states
    again); a history whose seasonal form changes (a value <= 0 appears) is refitted.

    >>> t = np.arange(72)
    >>> y = 100 + 20 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, 72)
    >>> [(w.cutoff, len(w.actual)) for w in hw_windows(y, 12, (80,), 12, [48, 54, 60])]
    [(48, 12), (54, 12), (60, 12)]
    """
    y = np.asarray(y, dtype=float)
    seasonal = [c for c in cuts if has_season_state(y[:c], m)]
    plain = [c for c in cuts if c not in seasonal]
    out = {w.cutoff: w for w in (ets_windows(y, h, levels, m, plain) if plain else [])}
    if seasonal:
        first = holt_winters_model(y[: seasonal[0]], m)
        fitted = _quiet(lambda: mle_fit(first))
        for c in seasonal:
            model = first if c == seasonal[0] else holt_winters_model(y[:c], m)
            if model is first:
                res = fitted
            elif model.seasonal == first.seasonal:
                res = _quiet(lambda model=model: smoothed(model, fitted.params))
            else:
                res = _quiet(lambda model=model: mle_fit(model))
            out[c] = Window(c, y[c:c + h], holt_winters_forecast(res, h, levels, m))
    return [out[c] for c in cuts]


def autoets_windows(y: np.ndarray, h: int, levels: Sequence[float], m: int, cuts: Sequence[int]) -> list[Window]:
    """Backtest windows of `auto_ets.autoets`, each what it would have forecast at its cutoff with every form's
    smoothing parameters fitted on y[:cuts[0]]: at a later cutoff each form is re-run by statsmodels over the
    longer history with those parameters (its heuristic initial states from that history's first cycles) and
    the form with the lowest AICc there forecasts. A cutoff whose history allows a form the first did not (a
    season once there are enough cycles), or a first history too short for the heuristic, gets a full selection.

    >>> t = np.arange(72)
    >>> y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    >>> [(w.cutoff, len(w.actual)) for w in autoets_windows(y, 12, (80,), 12, [48, 54, 60])]
    [(48, 12), (54, 12), (60, 12)]
    """
    y = np.asarray(y, dtype=float)
    first = fit_forms(y[: cuts[0]], m) if cuts[0] >= HEURISTIC_FROM else []
    allowed = set(ets_forms(y[: cuts[0]], m))
    out = []
    for c in cuts:
        forms = ets_forms(y[:c], m)
        if c == cuts[0] and first:
            res = lowest_aicc(first)[0]
        elif first and set(forms) <= allowed:
            states = initial_states(y[:c], forms, m)
            rerun = [(f, ets_model(y[:c], f, m, states[f.season]), p) for f, _, p, _ in first if f in forms]
            res = lowest_aicc([(f, model, p, form_aicc(model, f, p, m)) for f, model, p in rerun])[0]
        else:
            res = best_ets(y[:c], m)[0]
        out.append(Window(c, y[c:c + h], ets_forecast(res, h, levels)))
    return out


FAST_WINDOWS = {"ets": ets_windows, "theta": theta_windows, "hw": hw_windows, "autoets": autoets_windows}
