"""The model registry: names usable in `--models`, their array functions and Forecaster constructors."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import pandas as pd

from ..core.errors import ForecastError
from .auto_ets import autoets
from .base import ArrayForecaster, ArrayModel
from .baselines import croston_sba, drift, naive, seasonal_naive
from .optimised_theta import dotm
from .stats_models import arima, ets, holt_winters, theta

MODELS: dict[str, ArrayModel] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "croston": croston_sba,
    "ets": ets,
    "autoets": autoets,
    "hw": holt_winters,
    "theta": theta,
    "dotm": dotm,
    "arima": arima,
}
# Auto mode's candidates. ARIMA (3 orders x each fit, ~10x the cost of ETS) and Prophet (~1 s per fit)
# are offered by name only: on the bundled monthly series neither improved auto mode enough to pay
# for its cost (see README, measured by benchmarks/bench_forecast_accuracy.py). Holt-Winters (hw) runs only
# where it keeps a seasonal state (forecast_one drops it elsewhere, where it would repeat ets), autoets only on
# 3+ seasons of history, where it is the ETS member of the mean (select.ETS_BY_AICC). Without autoets, auto mode
# takes a third of the time and loses accuracy (M1: 4.1 s and 14.87 / 1.075 against 11.8 s and 14.50 / 1.060,
# 2026-12-04): seasonal_naive,naive,drift,ets,dotm,theta,hw by name.
AUTO_MODELS = ("seasonal_naive", "naive", "drift", "ets", "autoets", "dotm", "theta", "hw")
AUTO: dict[str, tuple[str, ...]] = {"MS": AUTO_MODELS, "W": AUTO_MODELS, "D": AUTO_MODELS}
# Candidates for short histories (under two seasons): one season cannot tell seasonality from a one-off
# (seasonal naive would repeat last year's runaway-loop month as next year's), so no seasonal model.
SHORT = ("naive", "drift")
INTERMITTENT = ("croston", "naive", "seasonal_naive")
COMBINABLE = ("ets", "autoets", "hw", "theta", "dotm", "arima", "prophet", "drift", "seasonal_naive", "naive")


def model_names(models: str | Sequence[str], freq: str) -> tuple[str, ...]:
    """Candidate names from 'auto', 'a,b' or a sequence; unknown names are an error naming the valid ones."""
    if isinstance(models, str):
        if models == "auto":
            return AUTO[freq]
        models = [m.strip() for m in models.split(",") if m.strip()]
    known = (*MODELS, "prophet", "prophet:<COUNTRY>")
    bad = [m for m in models if m not in MODELS and not is_prophet(m)]
    if bad or not models:
        raise ForecastError(f"models: {', '.join(bad) or 'none'}: unknown model: use 'auto' or any of "
                            f"{', '.join(known)}")
    return tuple(dict.fromkeys(models))


def is_prophet(name: str) -> bool:
    """True for 'prophet' and 'prophet:<COUNTRY>' (with that country's holidays, e.g. prophet:US)."""
    return name == "prophet" or (name.startswith("prophet:") and len(name) > len("prophet:"))


def array_model(name: str, first_ds: pd.Timestamp | None = None, freq: str = "D") -> ArrayModel:
    """The array function of a model name; Prophet is bound to the series' real dates."""
    if is_prophet(name):
        from .prophet_model import prophet_array

        country = name.split(":", 1)[1] if ":" in name else None
        return partial(prophet_array, first_ds=first_ds, freq=freq, country=country)
    return MODELS[name]


class _Dated(ArrayForecaster):
    def model_for(self, first_ds: pd.Timestamp, freq: str) -> ArrayModel:
        return array_model(self.alias, first_ds, freq)


def forecaster(name: str) -> ArrayForecaster:
    """A Forecaster (fit on a long frame, predict h with levels) for a model name; alias = the name."""
    model_names([name], "MS")
    return _Dated(name, array_model(name)) if is_prophet(name) else ArrayForecaster(name, MODELS[name])
