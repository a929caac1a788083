"""ETS with its form chosen by AICc (Hyndman et al. 2002; R's forecast::ets), fitted with statsmodels' ETSModel.

The forms tried are additive or multiplicative error, no / additive / damped trend and no / additive /
multiplicative season, where the data allow: a multiplicative part needs every value > 0, a season needs
a cycle of 2 to HW_MAX_SEASON periods and the history statsmodels' heuristic initial states need, and
additive error with a multiplicative season is left out, as R does by default (its forecast variance can
be infinite). Initial states come from statsmodels' heuristic (Hyndman et al. 2008, sec. 2.6.1), so one
fit takes a few milliseconds (statsmodels' own optimisation, run by ets_fit.mle_params); AICc counts them as
parameters, as R's ets does, because they are estimated from the data too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .base import PointAndBands
from .ets_fit import mle_params, smoothed
from .stats_models import HEURISTIC_FROM, HW_MAX_SEASON, _quiet

SIMULATIONS = 1000  # sample paths behind a multiplicative form's bands (statsmodels' default), seeded
EXACT_BANDS = ("ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA")  # forms statsmodels has exact bands for (class 1)


@dataclass(frozen=True)
class EtsForm:
    """One ETS form: error 'add'/'mul', trend None/'add', damped, season None/'add'/'mul'."""

    error: str
    trend: str | None
    damped: bool
    season: str | None

    @property
    def name(self) -> str:
        """R's notation, e.g. 'ETS(M,Ad,M)'."""
        trend = "N" if self.trend is None else "Ad" if self.damped else "A"
        return f"ETS({self.error[0].upper()},{trend},{(self.season or 'none')[0].upper()})"

    def states(self, m: int) -> int:
        """Initial states: level, slope when there is a trend, m - 1 free seasonal indices when seasonal."""
        return 1 + (self.trend is not None) + ((m - 1) if self.season else 0)


def seasonal_forms_fit(n: int, m: int) -> bool:
    """True when a season of m periods can be fitted to n values: 2 <= m <= HW_MAX_SEASON and the history holds
    the two cycles and 10 + 2 (m // 2) values statsmodels' heuristic initial states need.

    >>> seasonal_forms_fit(24, 12), seasonal_forms_fit(21, 12), seasonal_forms_fit(120, 52)
    (True, False, False)
    """
    return 2 <= m <= HW_MAX_SEASON and n >= max(2 * m, 10 + 2 * (m // 2))


def ets_forms(y: np.ndarray, m: int) -> list[EtsForm]:
    """The forms the data allow (see the module docstring).

    >>> [f.name for f in ets_forms(np.arange(-1.0, 11), 12)]  # a value <= 0, too short for a season
    ['ETS(A,N,N)', 'ETS(A,A,N)', 'ETS(A,Ad,N)']
    >>> len(ets_forms(np.arange(1.0, 37), 12))  # positive, 3 cycles: 6 additive-error and 9 multiplicative
    15
    """
    y = np.asarray(y, dtype=float)
    positive = bool(np.all(y > 0))
    seasons = [None, *(("add", "mul") if positive else ("add",))] if seasonal_forms_fit(len(y), m) else [None]
    return [EtsForm(error, trend, damped, season)
            for error in (("add", "mul") if positive else ("add",))
            for trend, damped in ((None, False), ("add", False), ("add", True))
            for season in seasons if not (error == "add" and season == "mul")]


def aicc(loglik: float, k: int, n: int) -> float:
    """Corrected Akaike criterion: -2 loglik + 2k + 2k(k + 1) / (n - k - 1); infinite when n <= k + 1.

    >>> aicc(-10.0, 3, 24)  # 20 + 6 + 24 / 20
    27.2
    """
    return -2 * loglik + 2 * k + 2 * k * (k + 1) / (n - k - 1) if n > k + 1 else float("inf")


def heuristic_states(y: np.ndarray, season: str | None, m: int) -> tuple:
    """statsmodels' heuristic initial level, slope and seasonal indices of y (Hyndman et al. 2008, sec. 2.6.1) for a
    season kind (None, 'add', 'mul'), from the function ETSModel calls for them. They do not depend on the error
    or the trend form, and only on y's first values: 10 without a season; with one, the first min(5, n // m)
    cycles, at least the 10 + 2 (m // 2) values the heuristic needs. The backtest's cutoffs and the whole history
    mostly share those, so each prefix is computed once (0.3 ms with a season; 0.03 ms without).

    >>> y = 100 + 10 * np.sin(np.arange(72.0) * np.pi / 6)
    >>> bool(heuristic_states(y, "add", 12)[0] == heuristic_states(y[:60], "add", 12)[0])  # both: the first 5 years
    True
    """
    y = np.asarray(y, dtype=float)
    used = 10 if season is None else m * max(min(5, len(y) // m), -(-(10 + 2 * (m // 2)) // m))
    level, slope, seasonal = _heuristic_of_prefix(y[:used].tobytes(), season, m)
    return level, slope, None if seasonal is None else seasonal.copy()


@lru_cache(maxsize=1024)
def _heuristic_of_prefix(prefix: bytes, season: str | None, m: int) -> tuple:
    from statsmodels.tsa.exponential_smoothing.initialization import _initialization_heuristic

    return _initialization_heuristic(np.frombuffer(prefix), trend="add", seasonal=season,
                                     seasonal_periods=m if season else None)


def initial_states(y: np.ndarray, forms: Sequence[EtsForm], m: int) -> dict:
    """heuristic_states per season kind of `forms`; None for each (the states are then estimated with the
    parameters) when y has fewer than HEURISTIC_FROM values."""
    return {s: heuristic_states(y, s, m) if len(y) >= HEURISTIC_FROM else None for s in {f.season for f in forms}}


def ets_model(y: np.ndarray, form: EtsForm, m: int, states: tuple | None):
    """statsmodels' ETSModel of one form on the bare array (faster than on a pandas Series) starting from `states`
    (heuristic_states), or estimating its initial states when they are None."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    init = {"initialization_method": "estimated"} if states is None else {
        "initialization_method": "known", "initial_level": states[0],
        "initial_trend": states[1] if form.trend else None, "initial_seasonal": states[2] if form.season else None}
    return ETSModel(np.asarray(y, dtype=float), error=form.error, trend=form.trend,
                    damped_trend=form.damped, seasonal=form.season, seasonal_periods=m if form.season else None,
                    **init)


def form_aicc(model, form: EtsForm, params: np.ndarray, m: int) -> float:
    """AICc of a form's model at given parameters, every estimated parameter counted: the smoothing parameters,
    the variance and the initial states (in the parameters when estimated, else from the heuristic)."""
    n = int(model.nobs)
    k = len(params) + 1 + (form.states(m) if n >= HEURISTIC_FROM else 0)
    return aicc(float(model.loglike(params)), k, n)


def fit_form(y: np.ndarray, form: EtsForm, m: int, states: dict | None = None):
    """One form fitted by maximum likelihood (ets_fit.mle_params): (model, parameters, AICc). Only the parameters
    are kept: the results object is built for the chosen form alone (lowest_aicc). states:
    initial_states of y (computed when not given)."""
    states = initial_states(y, [form], m) if states is None else states
    model = ets_model(y, form, m, states[form.season])
    params = _quiet(lambda: mle_params(model))
    return model, params, form_aicc(model, form, params, m)


def fit_forms(y: np.ndarray, m: int) -> list[tuple[EtsForm, object, np.ndarray, float]]:
    """(form, model, parameters, AICc) of every form the data allow that statsmodels could fit."""
    y = np.asarray(y, dtype=float)
    forms = ets_forms(y, m)
    states = initial_states(y, forms, m)
    out = []
    for form in forms:
        try:
            out.append((form, *fit_form(y, form, m, states)))
        except (ValueError, np.linalg.LinAlgError):
            continue
    return out


def lowest_aicc(scored):
    """The smoothed results and the form of the (form, model, parameters, AICc) with the lowest finite AICc;
    ValueError when there is none."""
    finite = [row for row in scored if np.isfinite(row[3])]
    if not finite:
        raise ValueError("no ETS form could be fitted")
    form, model, params, _ = min(finite, key=lambda row: row[3])
    return _quiet(lambda: smoothed(model, params)), form


def best_ets(y: np.ndarray, m: int):
    """The form with the lowest AICc, as statsmodels results, and that form; ValueError when no form could be
    fitted.

    >>> t = np.arange(72)
    >>> y = (100 + 2 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12))  # a season that grows with the level
    >>> best_ets(y, 12)[1].season
    'mul'
    """
    return lowest_aicc(fit_forms(y, m))


def ets_forecast(res, h: int, levels: Sequence[float]) -> PointAndBands:
    """The forecast of fitted (or smoothed) ETS results with statsmodels' bands, computed as its get_prediction
    and pred_int compute them (which need results of a model built on a pandas Series): exact for the forms it
    has them for (EXACT_BANDS), else the quantiles of SIMULATIONS seeded sample paths, simulated once with every
    level's quantiles in one call. Raises ArithmeticError when the forecast or a band is not finite."""
    from scipy.stats import norm

    n = int(res.nobs)
    mean = np.asarray(_quiet(lambda: res.predict(start=n, end=n + h - 1)), dtype=float)
    alphas = [1 - lv / 100 for lv in levels]
    lo, hi = {}, {}
    if res.model.short_name in EXACT_BANDS:
        sd = np.sqrt(res.mse * res._relative_forecast_variance(np.arange(1.0, h + 1)))
        for lv, a in zip(levels, alphas, strict=True):
            half = norm.ppf(1 - a / 2) * sd
            lo[lv], hi[lv] = mean - half, mean + half
    else:
        paths = np.asarray(_quiet(lambda: res.simulate(h, anchor="end", repetitions=SIMULATIONS,
                                                       rng=np.random.default_rng(0))), dtype=float)
        probabilities = [p for a in alphas for p in (a / 2, 1 - a / 2)]
        bounds = _quiet(lambda: np.quantile(paths, probabilities, axis=1))  # a path that blew up warns: refused below
        for i, lv in enumerate(levels):
            lo[lv], hi[lv] = bounds[2 * i], bounds[2 * i + 1]
    if not all(np.all(np.isfinite(a)) for a in (mean, *lo.values(), *hi.values())):
        raise ArithmeticError("ETS gave a forecast that is not finite")
    return PointAndBands(mean, lo, hi)


def autoets(y: np.ndarray, h: int, levels: Sequence[float], season_length: int) -> PointAndBands:
    """ETS of the form with the lowest AICc (best_ets), forecast by ets_forecast.

    >>> level = 50 + np.random.default_rng(0).normal(0, 2, 40)  # no trend, no season
    >>> fc = autoets(level, 6, (80,), 12)
    >>> bool(np.ptp(fc.mean) < 1e-9 and abs(fc.mean[0] - 50) < 2 and np.all(fc.lo[80] < fc.mean))
    True
    """
    return ets_forecast(best_ets(np.asarray(y, dtype=float), season_length)[0], h, levels)
