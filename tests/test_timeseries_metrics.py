"""Metrics, baselines and conformal calibration against values worked out by hand in each test."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forecast.timeseries import metrics, stats_models
from forecast.timeseries.base import PointAndBands
from forecast.timeseries.baselines import croston_sba, drift, naive, seasonal_naive
from forecast.timeseries.conformal import apply_calibration, calibration, conformal_quantile, effective_dof
from forecast.timeseries.stats_models import ets_variance_factors

Y, F, INSAMPLE = [1.0, 2.0, 3.0], [2.0, 2.0, 5.0], [1.0, 3.0, 2.0, 4.0]
LO, HI = [0.0, 2.5, 2.0], [1.0, 3.0, 3.0]
# Student-t two-sided multipliers for 2 degrees of freedom, from a printed t table: 80% 1.886, 95% 4.303.
T2_80, T2_95 = 1.886, 4.303


def test_point_metrics_by_hand():
    # errors f - y = 1, 0, 2; in-sample |diffs| = 2, 1, 2 -> scale 5/3
    assert metrics.seasonal_scale(INSAMPLE, 1) == pytest.approx(5 / 3)
    assert metrics.mase(Y, F, INSAMPLE, 1) == pytest.approx(1 / (5 / 3))
    assert metrics.seasonal_scale(INSAMPLE, 2) == pytest.approx(1.0)  # |2-1|, |4-3|
    # 200|f-y|/(|y|+|f|): 200/3, 0, 400/8 -> mean 38.888...
    assert metrics.smape(Y, F) == pytest.approx((200 / 3 + 0 + 50) / 3)
    assert metrics.smape([0, 0], [0, 0]) == 0.0
    assert metrics.rmse(Y, F) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.bias(Y, F) == pytest.approx(1.0)
    assert np.isnan(metrics.mase(Y, F, [2, 2, 2], 1))  # zero scale: undefined, not 0 or inf


def test_interval_metrics_by_hand():
    assert metrics.coverage(Y, LO, HI) == pytest.approx(2 / 3)  # 1 on the bound counts; 2 below 2.5 misses
    # widths 1, 0.5, 1; the miss costs 2/0.2 x 0.5 = 5 -> (1 + 5.5 + 1) / 3
    assert metrics.winkler(Y, LO, HI, 80) == pytest.approx(2.5)
    assert metrics.msis(Y, LO, HI, INSAMPLE, 1, 80) == pytest.approx(2.5 / (5 / 3))


finite = arrays(np.float64, 6, elements=st.floats(0, 1e6, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(finite, finite, finite, finite)
def test_metrics_never_modify_their_inputs(y, f, lo, ins):
    copies = [a.copy() for a in (y, f, lo, ins)]
    hi = lo + 1
    metrics.mase(y, f, ins, 2), metrics.smape(y, f), metrics.rmse(y, f), metrics.bias(y, f)
    metrics.coverage(y, lo, hi), metrics.winkler(y, lo, hi, 95), metrics.msis(y, lo, hi, ins, 2)
    for a, b in zip((y, f, lo, ins), copies, strict=True):
        assert np.array_equal(a, b)
    assert 0 <= metrics.smape(y, f) <= 200 and 0 <= metrics.coverage(y, lo, hi) <= 1


def test_naive_bands_by_hand():
    fc = naive(np.array([1.0, 2.0, 4.0]), 2, (80, 95), 12)
    sigma = np.sqrt((1 + 4) / 2)  # one-step diffs 1, 2
    assert fc.mean.tolist() == [4.0, 4.0]
    assert fc.hi[80] - fc.mean == pytest.approx(T2_80 * sigma * np.sqrt([1, 2]), abs=2e-3)
    assert fc.mean - fc.lo[95] == pytest.approx(T2_95 * sigma * np.sqrt([1, 2]), abs=5e-3)


def test_seasonal_naive_and_drift_by_hand():
    fc = seasonal_naive(np.array([1.0, 2, 3, 4, 5, 6]), 3, (80,), 2)
    assert fc.mean.tolist() == [5.0, 6.0, 5.0]
    # season 2: differences y[2:] - y[:2] = 2, 2, 2, 2: sigma 2 with 4 degrees of freedom (t table, 80%: 1.533);
    # sd_h = 2 sqrt(floor((h-1)/2) + 1) = 2, 2, 2.83
    assert (fc.hi[80] - fc.mean) == pytest.approx(1.533 * 2 * np.array([1, 1, np.sqrt(2)]), abs=3e-3)
    fc = drift(np.array([1.0, 3, 4, 8]), 1, (80,), 12)
    assert fc.mean[0] == pytest.approx(8 + 7 / 3)  # slope (8 - 1) / 3
    sigma = np.sqrt((1 + 16 + 25) / 9 / 2)  # residuals -1/3, -4/3, 5/3 with 2 degrees of freedom
    # 3 residuals less the slope: 2 degrees of freedom; sd_1 = sigma sqrt(1 (1 + 1 / (T - 1))), T = 4
    # (var(slope) = sigma^2 / 3: the mean of 3 differences; FPP3 table 5.2)
    assert fc.hi[80][0] - fc.mean[0] == pytest.approx(T2_80 * sigma * np.sqrt(1 + 1 / 3), rel=1e-3)


def test_croston_sba_by_hand():
    fc = croston_sba(np.array([0.0, 4, 0, 0, 2, 0]), 2, (80,), 12)
    # sizes 4, 2; intervals 2, 3: z = 4 + 0.1 (2 - 4) = 3.8, p = 2 + 0.1 (3 - 2) = 2.1; SBA x (1 - 0.05)
    assert fc.mean.tolist() == pytest.approx([0.95 * 3.8 / 2.1] * 2)
    zero = croston_sba(np.zeros(5), 3, (80,), 12)
    assert zero.mean.tolist() == [0, 0, 0] and zero.hi[80].tolist() == [0, 0, 0]


def test_conformal_quantile_and_effective_dof():
    assert conformal_quantile(np.arange(1, 10), 80) == 8  # ceil(10 x 0.8) = 8th smallest
    assert np.isnan(conformal_quantile([1, 2, 3], 80))  # ceil(4 x 0.8) = 4 > 3 points
    # lag-1 autocorrelation within the window, by hand: [1, 2, -1, -2, 1, 2]: pairs 2 - 2 + 2 - 2 + 2 = 2,
    # squares 15 -> rho = 2 / 15; n = 6: 6 (13 / 15) / (17 / 15) - 1 = 6 x 13 / 17 - 1
    assert effective_dof([np.array([1.0, 2, -1, -2, 1, 2])]) == pytest.approx(6 * 13 / 17 - 1)
    # [1, 2, 3] and [3, 2, 1]: rho = 16 / 28, 6 (12 / 44) - 1 = 0.64 counts as the 2 windows
    assert effective_dof([np.array([1.0, 2, 3]), np.array([3.0, 2, 1])]) == 2.0


def test_calibration_rebuilds_bands_from_the_backtest_errors():
    actual = np.array([0.5, -1, 1.5, -2, 2.5, -3, 3.5, -4, 4.5])
    fc = PointAndBands(np.zeros(9), {80: -np.ones(9)}, {80: np.ones(9)})
    mode, factor, observed = calibration([actual], [fc], (80,))[80]
    # scores |a| / 1 = 0.5 .. 4.5; conformal: the 8th smallest of 9 = 4.0. Signs alternate: pairs sum to
    # -(0.5x1 + 1x1.5 + ... + 4x4.5) < 0, so rho = 0 and dof = 9 - 1 = 8; RMS of the scores sqrt(sum(a^2) / 9)
    # = sqrt(71.25 / 9); t(0.90, 8) = 1.3968 (table): 1.3968 x 2.8137 = 3.930 < 4.0, so the quantile wins
    assert (mode, observed) == ("scale", pytest.approx(2 / 9)) and factor == pytest.approx(4.0)
    wide = apply_calibration(fc, calibration([actual], [fc], (80,)))
    assert wide.hi[80].tolist() == [4.0] * 9 and wide.lo[80].tolist() == [-4.0] * 9
    # the same misses all on one side (a level shift): rho is high, the dof fall to the window count (1), and
    # t(0.90, 1) = 3.0777 x RMS 2.8137 = 8.66 is the factor
    shifted = calibration([np.abs(actual)], [fc], (80,))[80][1]
    assert shifted == pytest.approx(3.0777 * np.sqrt(71.25 / 9), rel=1e-3)


def test_ets_variance_factors_by_hand():
    # Hyndman et al. (2008) class 1, ETS(A,Ad,N): v_h = 1 + sum_{j<h} (alpha + beta phi_j)^2, phi_j = phi + ... + phi^j
    # alpha 0.5, beta 0.2, phi 0.9: phi_1 = 0.9, phi_2 = 1.71; c = 0.68, 0.842 -> 1, 1.4624, 1.4624 + 0.708964
    assert ets_variance_factors(0.5, 0.2, 0.9, 3) == pytest.approx([1, 1.4624, 2.171364])


def test_ets_bands_equal_statsmodels_prediction_intervals():
    # independent source: statsmodels' own analytic intervals for the same fitted ETS(A,Ad,N)
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.cumsum(np.random.default_rng(1).normal(1, 2, 30)) + 50  # a trend, not seasonal at lag 12
    fc = stats_models.ets(y, 5, (80,), 12)
    res = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True,
                   initialization_method="heuristic").fit(disp=False)
    ref = res.get_prediction(start=30, end=34).summary_frame(alpha=0.2)
    assert fc.mean == pytest.approx(ref["mean"].to_numpy(), rel=1e-6)
    assert fc.hi[80] == pytest.approx(ref["pi_upper"].to_numpy(), rel=1e-6)
    assert fc.lo[80] == pytest.approx(ref["pi_lower"].to_numpy(), rel=1e-6)


def test_theta_band_growth_is_the_ses_variance():
    # Theta = SES with drift = ARIMA(0,1,1) with drift (Hyndman & Billah 2003): psi weights 1, alpha, alpha, ...
    # so var_h = sigma^2 (1 + (h - 1) alpha^2). (statsmodels' prediction_intervals uses 1 + (alpha - 1)^2 per
    # step instead, which is the MA(1) variance of the differences, not of the h-step sum, so it is not used.)
    y = 100 + 0.5 * np.arange(30) + np.random.default_rng(2).normal(0, 3, 30)
    alpha = stats_models.ses_alpha(y)
    assert 0.1 < alpha < 0.9  # a case where the two formulas differ
    width = stats_models.theta(y, 5, (80,), 12).hi[80] - stats_models.theta(y, 5, (80,), 12).mean
    assert width / width[0] == pytest.approx(np.sqrt(1 + np.arange(5) * alpha**2), rel=1e-6)


def test_calibration_keeps_the_model_band_without_a_measured_spread():
    fc = PointAndBands(np.zeros(4), {80: -np.ones(4)}, {80: np.ones(4)})
    assert calibration([np.zeros(4)], [fc], (80,))[80][0] == "model"  # the backtest never missed
    assert calibration([np.array([np.nan, 1.0, 2.0, 3.0])], [fc], (80,))[80][0] == "model"
    assert calibration([], [], (80,))[80][0] == "model"
