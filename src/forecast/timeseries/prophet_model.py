"""Prophet adapter: piecewise-linear trend with changepoints, weekly and yearly seasonality, holidays.

Suits daily usage series (weekday/weekend swings, launches that bend the trend). Each fit starts a
Stan optimisation (~0.3-1 s), so auto mode offers it only when asked (`models="...,prophet"`).
Intervals come from Prophet's posterior predictive samples (500, seeded so runs repeat), as the
central quantiles at each level. `prophet:US` adds that country's public holidays.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .base import STEPS, PointAndBands

SAMPLES = 500


def _quiet_logs() -> None:
    """Silence Prophet's 'plotly not found' and cmdstanpy's per-fit INFO lines (cmdstanpy sets its
    own level and handler on import, so this runs again after the import)."""
    for name, level in (("cmdstanpy", logging.WARNING), ("prophet", logging.WARNING), ("prophet.plot", 100)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        for handler in logger.handlers:
            handler.setLevel(level)


def prophet_array(y: np.ndarray, h: int, levels: Sequence[float], season_length: int,
                  first_ds: pd.Timestamp | None = None, freq: str = "D", country: str | None = None,
                  changepoint_prior_scale: float = 0.05) -> PointAndBands:
    """Prophet fitted to y dated from first_ds at freq (a synthetic 2000-01-03 start when not given)."""
    _quiet_logs()
    from cmdstanpy.utils.logging import get_logger
    from prophet import Prophet

    get_logger()  # creates cmdstanpy's INFO handler now, so the next line can quiet it
    _quiet_logs()

    y = np.asarray(y, dtype=float)
    step = STEPS[freq]
    start = pd.Timestamp(first_ds) if first_ds is not None else pd.Timestamp("2000-01-03")
    ds = pd.DatetimeIndex([start + step * k for k in range(len(y) + h)])
    model = Prophet(changepoint_prior_scale=changepoint_prior_scale, uncertainty_samples=0,
                    weekly_seasonality="auto" if freq == "D" else False,
                    yearly_seasonality="auto" if freq in ("D", "W") else len(y) >= 24)
    if country:
        model.add_country_holidays(country_name=country)
    future = pd.DataFrame({"ds": ds[len(y):]})
    state = np.random.get_state()
    with warnings.catch_warnings():  # prophet 1.1 uses pandas options that pandas 3 deprecates
        warnings.simplefilter("ignore")
        model.fit(pd.DataFrame({"ds": ds[: len(y)], "y": y}))
        mean = model.predict(future)["yhat"].to_numpy(float)
        model.uncertainty_samples = SAMPLES
        try:
            np.random.seed(0)
            samples = model.predictive_samples(future)["yhat"]  # (h, SAMPLES)
        finally:
            np.random.set_state(state)
    lo = {lv: np.quantile(samples, 0.5 - lv / 200, axis=1) for lv in levels}
    hi = {lv: np.quantile(samples, 0.5 + lv / 200, axis=1) for lv in levels}
    return PointAndBands(mean, lo, hi)
