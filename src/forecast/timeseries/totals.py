"""The total of several months of forecasts, with an interval for the total itself.

Summing the monthly bounds is wrong. It assumes every month's error hits its bound together, so it overstates
the range of a sum of independent errors and understates that of a trending series. The forecasters here produce
h-step errors of a linear innovations process (ETS, ARIMA, drift, naive and seasonal naive do):

    e_h = sigma * (psi_0 eps_h + psi_1 eps_(h-1) + ... + psi_(h-1) eps_1),   psi_0 = 1

So each h-step variance is sd_h^2 = sigma^2 * sum_j<h psi_j^2, and each weight can be read off how the marginal
interval widens: psi_(h-1)^2 = (sd_h^2 - sd_(h-1)^2) / sigma^2, with sigma = sd_1 and the weights taken as
non-negative. The error of the total over H months is then

    sum_h e_h = sigma * sum_i eps_i * (psi_0 + ... + psi_(H-i)),
    Var = sigma^2 * sum_i (sum_(j <= H-i) psi_j)^2

(Hyndman, Koehler, Ord & Snyder 2008, Forecasting with Exponential Smoothing, ch. 6.6, the variance of
cumulative forecasts). For a random walk this gives sigma^2 H(H+1)(2H+1)/6; for a seasonal naive forecast within
one season, H sigma^2. The interval is normal around the summed point forecasts, and a lower bound below zero is
cut at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..core.errors import ForecastError


def total_sd(sd: np.ndarray) -> float:
    """sd of the sum of h = 1..H forecast errors, from the marginal sds of the H steps (see the module docstring).

    >>> round(total_sd(np.sqrt([1.0, 2.0, 3.0])), 6)  # a random walk, sigma 1: sqrt(3^2 + 2^2 + 1^2)
    3.741657
    >>> bool(total_sd(np.array([2.0, 2.0, 2.0])) == 2 * np.sqrt(3))  # errors that do not accumulate
    True
    """
    sd = np.asarray(sd, dtype=float)
    if sd.size == 0 or sd[0] <= 0:
        return float(np.sqrt(np.square(sd).sum()))  # no first-step spread to scale by: independent steps
    increments = np.diff(np.square(sd), prepend=0.0).clip(min=0.0)
    psi = np.sqrt(increments) / sd[0]
    psi[0] = 1.0
    cumulative = np.cumsum(psi)  # psi_0 + ... + psi_k
    return float(sd[0] * np.sqrt(np.square(cumulative).sum()))


def horizon_totals(forecast: pd.DataFrame, months: int, level: Sequence[float] = (80, 95),
                   column: str = "forecast") -> pd.DataFrame:
    """Per unique_id (and its other key columns): the sum of its first `months` forecasts and `level`% intervals
    of that sum (same units as the forecast). The marginal sds come from the forecast's 80% band (else the first
    band it has): sd_h = (hi - lo) / (2 z).

    >>> months = pd.date_range("2026-11-01", periods=3, freq="MS")
    >>> z80 = float(ndtri(0.9))
    >>> sd = np.sqrt([1, 2, 3])  # a random walk's h-step sds, sigma 1
    >>> rw = pd.DataFrame({"unique_id": "a", "ds": months, "forecast": 10.0,
    ...                    "forecast-lo-80": 10 - z80 * sd, "forecast-hi-80": 10 + z80 * sd})
    >>> t = horizon_totals(rw, 3, level=(80,)).iloc[0]
    >>> float(t.forecast_total), round(float(t["forecast_total-hi-80"] - t.forecast_total), 4)  # z80 x sqrt(14)
    (30.0, 4.7951)
    """
    bands = sorted({float(c.rsplit("-", 1)[1]) for c in forecast.columns if c.startswith(f"{column}-lo-")})
    if not bands:
        raise ForecastError(f"horizon_totals: the forecast has no {column}-lo-<level> / {column}-hi-<level> columns")
    band = 80.0 if 80.0 in bands else bands[0]
    name = f"{band:g}"
    z_band = float(ndtri(0.5 + band / 200))
    keys = [c for c in forecast.columns if c in ("level", "unique_id")]
    rows = []
    for key, g in forecast.sort_values("ds").groupby(keys, sort=False):
        g = g.head(months)
        sd = ((g[f"{column}-hi-{name}"] - g[f"{column}-lo-{name}"]) / (2 * z_band)).to_numpy(float)
        point, spread = float(g[column].sum()), total_sd(sd)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row |= {"months": len(g), "first": g["ds"].iloc[0], "last": g["ds"].iloc[-1], f"{column}_total": point}
        for lv in level:
            z = float(ndtri(0.5 + lv / 200))
            row[f"{column}_total-lo-{lv:g}"] = max(point - z * spread, 0.0)
            row[f"{column}_total-hi-{lv:g}"] = point + z * spread
        rows.append(row)
    return pd.DataFrame(rows)
