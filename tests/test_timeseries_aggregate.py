"""Monthly totals of daily forecasts: interval widths checked against closed-form variances of sums."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.core.errors import ForecastError
from forecast.timeseries.aggregate import monthly_totals, totals_from_paths

DAYS = pd.date_range("2027-01-01", "2027-02-28", freq="D")  # January 31 days, February 28
Z80, Z95 = norm.ppf(0.9), norm.ppf(0.975)


def _forecast(point_usd_per_day: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": "s", "ds": DAYS, "forecast": point_usd_per_day})


def _residuals(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": "s", "ds": pd.date_range("1970-01-01", periods=len(values), freq="D"),
                         "residual": values})


def _half_widths(out: pd.DataFrame, lv: int) -> np.ndarray:
    return ((out[f"forecast-hi-{lv}"] - out[f"forecast-lo-{lv}"]) / 2).to_numpy()


def test_iid_daily_errors_give_sqrt_n_times_daily_sd():
    rng = np.random.default_rng(1)
    sd = 10.0
    out = monthly_totals(_forecast(), _residuals(rng.normal(0, sd, 40_000)), n_paths=8000, seed=2)
    assert out["forecast"].tolist() == [3100.0, 2800.0]  # 31 x 100 and 28 x 100 USD
    assert out["days_forecast"].tolist() == [31, 28]
    # by hand: the month's sum of n iid N(0, sd) errors has sd sqrt(n) * sd
    expected = np.sqrt([31, 28]) * sd
    np.testing.assert_allclose(_half_widths(out, 80), Z80 * expected, rtol=0.05)
    np.testing.assert_allclose(_half_widths(out, 95), Z95 * expected, rtol=0.05)
    # summing daily 80% bounds would give n * z * sd: 31 x 12.8 = 397 USD instead of about 71
    assert (_half_widths(out, 80) < 0.25 * Z80 * sd * np.array([31, 28])).all()


def test_ar1_daily_errors_match_the_closed_form_variance_of_the_sum():
    phi, sd_u, n_days = 0.8, 5.0, 40_000
    rng = np.random.default_rng(4)
    u = rng.normal(0, sd_u, n_days)
    e = np.empty(n_days)
    e[0] = u[0] / np.sqrt(1 - phi**2)
    for t in range(1, n_days):
        e[t] = phi * e[t - 1] + u[t]
    out = monthly_totals(_forecast(), _residuals(e), n_paths=8000, seed=5)
    # Var(sum of n AR(1) terms) = sd_u^2 / (1 - phi^2) * (n + 2 * sum_{k=1}^{n-1} (n - k) phi^k)
    expected = [np.sqrt(sd_u**2 / (1 - phi**2) * (n + 2 * sum((n - k) * phi**k for k in range(1, n))))
                for n in (31, 28)]
    np.testing.assert_allclose(_half_widths(out, 80), Z80 * np.array(expected), rtol=0.08)
    iid = np.sqrt([31, 28]) * sd_u / np.sqrt(1 - phi**2)  # what ignoring the autocorrelation would give
    assert (_half_widths(out, 80) > 2 * Z80 * iid).all()


def test_perfectly_correlated_paths_give_n_times_daily_sd():
    rng = np.random.default_rng(6)
    sd = 10.0
    z = rng.standard_normal((20_000, 1))
    paths = 100.0 + sd * z * np.ones((1, len(DAYS)))  # every day's error is the same draw
    out = totals_from_paths(paths, DAYS, level=(80,), point=np.full(len(DAYS), 100.0))
    # by hand: the month's error is n * sd * z, so its 80% half-width is n * sd * 1.2816
    np.testing.assert_allclose(_half_widths(out, 80), Z80 * sd * np.array([31, 28]), rtol=0.03)
    np.testing.assert_allclose(out["forecast"], [3100.0, 2800.0])


def test_partial_first_month_adds_known_actuals_and_flags_incomplete_months():
    fc = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2027-01-21", "2027-02-10", freq="D"),
                       "forecast": 10.0})
    hist = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2026-12-01", "2027-01-20", freq="D"), "y": 1.0})
    res = _residuals(np.zeros(62))
    out = monthly_totals(fc, res, history=hist, level=(80,), n_paths=100)
    # January: 20 known days at 1 USD + 11 forecast days at 10 USD = 130; February: 10 forecast days only
    assert out["forecast"].tolist() == [130.0, 100.0]
    assert out["days_actual"].tolist() == [20, 0]
    assert out["complete"].tolist() == [True, False]
    assert out["forecast-lo-80"].tolist() == [130.0, 100.0]  # zero residuals: no uncertainty


def test_bad_input_is_named():
    res = _residuals(np.zeros(40))
    with pytest.raises(ForecastError, match="need at least 31"):
        monthly_totals(_forecast(), _residuals(np.zeros(20)))
    gap = _forecast().drop(index=5)
    with pytest.raises(ForecastError, match="series 's': dates are not consecutive days at 2027-01-07"):
        monthly_totals(gap, res)
    with pytest.raises(ForecastError, match="residuals: no rows for series 't'"):
        monthly_totals(_forecast().assign(unique_id="t"), res)
    with pytest.raises(ForecastError, match="level: 100"):
        monthly_totals(_forecast(), res, level=(100,))
