"""Intervals of a multi-month total, checked by hand against the error algebra of the models."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.timeseries.totals import horizon_totals, total_sd


def test_simple_exponential_smoothing_total_by_hand():
    # SES with alpha 0.5, sigma 1: e_h = eps_h + alpha (eps_1 + ... + eps_(h-1)), so sd_h^2 = 1 + (h - 1) alpha^2.
    # The 3-month total's error is eps_1 (1 + 2 alpha) + eps_2 (1 + alpha) + eps_3: variance 4 + 2.25 + 1 = 7.25
    alpha = 0.5
    sd = np.sqrt(1 + np.arange(3) * alpha**2)
    assert total_sd(sd) == pytest.approx(np.sqrt(7.25), rel=1e-12)
    # and a simulation of that process agrees (an independent check of the algebra)
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((200_000, 3))
    errors = np.column_stack([eps[:, 0], eps[:, 1] + alpha * eps[:, 0], eps[:, 2] + alpha * (eps[:, 0] + eps[:, 1])])
    assert errors.sum(axis=1).std() == pytest.approx(np.sqrt(7.25), rel=0.01)


def test_the_total_interval_is_narrower_than_the_sum_of_bounds_and_wider_than_independence():
    months = pd.date_range("2026-11-01", periods=12, freq="MS")
    sd = np.sqrt(1 + np.arange(12) * 0.3**2) * 10.0
    z = norm.ppf(0.9)
    frame = pd.DataFrame({"level": "team_id", "unique_id": "research", "ds": months, "forecast": 100.0,
                          "forecast-lo-80": 100 - z * sd, "forecast-hi-80": 100 + z * sd})
    t = horizon_totals(frame, 12, level=(80,)).iloc[0]
    half = t["forecast_total-hi-80"] - t.forecast_total
    assert t.forecast_total == 1200.0 and t.months == 12
    assert z * np.sqrt((sd**2).sum()) < half < z * sd.sum()  # between independent steps and summed bounds
    assert t["forecast_total-lo-80"] == pytest.approx(1200.0 - half)
