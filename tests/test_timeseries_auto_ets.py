"""autoets: ETS with its form chosen by AICc. The expectations come from the data-generating processes (a
flat level has no trend or season; a season that grows with the level is multiplicative), from the class 1
variance formula of Hyndman et al. (2008, table 6.1) worked by hand, and from R's rules for which forms the
data allow."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from forecast.timeseries.auto import forecast_series
from forecast.timeseries.auto_ets import EtsForm, autoets, best_ets, ets_forecast, ets_forms, fit_form, heuristic_states
from forecast.timeseries.fast_backtest import autoets_windows
from forecast.timeseries.models import AUTO_MODELS
from forecast.timeseries.select import forecast_one

T = np.arange(96)


def test_the_forms_are_the_ones_the_data_allow():
    positive = ets_forms(100 + np.random.default_rng(1).normal(0, 1, 48), 12)
    assert len(positive) == 15 and not any(f.error == "add" and f.season == "mul" for f in positive)
    assert {f.name for f in positive} >= {"ETS(A,Ad,A)", "ETS(M,Ad,M)", "ETS(M,N,N)", "ETS(A,A,N)"}
    signed = ets_forms(np.sin(T / 3)[:48], 12)  # values <= 0: no multiplicative part
    assert [f.name for f in signed] == ["ETS(A,N,N)", "ETS(A,N,A)", "ETS(A,A,N)", "ETS(A,A,A)", "ETS(A,Ad,N)",
                                        "ETS(A,Ad,A)"]
    assert all(f.season is None for f in ets_forms(np.arange(1.0, 22), 12))  # under 10 + 2 * 6 values
    assert all(f.season is None for f in ets_forms(np.arange(1.0, 300), 52))  # weekly: 52 states are too many


@pytest.mark.parametrize("m", [2, 4, 12])
@pytest.mark.parametrize("season", [None, "add", "mul"])
def test_heuristic_states_are_the_ones_statsmodels_gives_its_models(season, m):
    """At every length from 2 cycles (at least 12 values) to 90 (the heuristic's prefix grows to 5 cycles, or to the
    10 + 2 (m // 2) values it needs when that is more, then stays), with the prefixes shared through the cache."""
    t = np.arange(90.0)
    y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / m)) + np.random.default_rng(3).normal(0, 2, 90)
    for n in range(max(2 * m, 10 + 2 * (m // 2)), 91):
        model = ETSModel(y[:n], trend="add", seasonal=season, seasonal_periods=m if season else None,
                         initialization_method="heuristic")
        level, slope, seasonal = heuristic_states(y[:n], season, m)
        assert (level, slope) == (model.initial_level, model.initial_trend), n
        if season:
            assert np.array_equal(seasonal, model.initial_seasonal), n


def test_aicc_counts_the_initial_states_as_parameters():
    """ETS(A,A,A) on 60 monthly values: alpha, beta, gamma, the variance, the level, the slope and 11 seasonal
    indices are 17 parameters; AICc = -2 loglik + 2k + 2k(k + 1) / (n - k - 1), by hand."""
    y = 50 + 0.3 * T[:60] + 5 * np.sin(2 * np.pi * T[:60] / 12) + np.random.default_rng(2).normal(0, 1, 60)
    model, params, score = fit_form(y, EtsForm("add", "add", False, "add"), 12)
    res = model.smooth(params)
    k = 3 + 1 + 1 + 1 + 11
    assert score == pytest.approx(-2 * res.llf + 2 * k + 2 * k * (k + 1) / (60 - k - 1), rel=1e-12)


def test_a_flat_level_gets_no_trend_and_no_season():
    y = 200 + np.random.default_rng(3).normal(0, 5, 60)
    _, form = best_ets(y, 12)
    assert form.trend is None and form.season is None


def test_a_season_that_grows_with_the_level_is_multiplicative_and_trended():
    y = (100 + 3 * T) * (1 + 0.4 * np.sin(2 * np.pi * T / 12)) * np.exp(np.random.default_rng(4).normal(0, 0.02, 96))
    _, form = best_ets(y, 12)
    assert form.season == "mul" and form.trend == "add"


def test_a_season_of_fixed_size_around_zero_is_additive():
    y = 8 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(5).normal(0, 1, 96)  # crosses zero: only additive forms
    _, form = best_ets(y, 12)
    assert form.season == "add"


def test_simple_exponential_smoothing_bands_match_the_class_1_variance_by_hand():
    """ETS(A,N,N): the forecast is the last level, flat; its variance at step j is sigma^2 (1 + (j - 1) alpha^2)
    (Hyndman et al. 2008, table 6.1), sigma^2 the mean squared one-step error."""
    rng = np.random.default_rng(4)
    y = np.cumsum(rng.normal(0, 0.5, 50)) + rng.normal(0, 1, 50)  # a local level around 0: additive forms only
    res, form = best_ets(y, 12)
    assert form.name == "ETS(A,N,N)"
    alpha = float(np.asarray(res.params)[0])
    sigma2 = float(np.mean(np.asarray(res.resid) ** 2))
    steps = np.arange(1, 7)
    sd = np.sqrt(sigma2 * (1 + (steps - 1) * alpha**2))
    fc = autoets(y, 6, (80, 95), 12)
    np.testing.assert_allclose(fc.mean, np.full(6, np.asarray(res.level)[-1]), rtol=1e-9)
    for lv in (80, 95):
        np.testing.assert_allclose(fc.hi[lv] - fc.mean, norm.ppf(0.5 + lv / 200) * sd, rtol=1e-6)
        np.testing.assert_allclose(fc.mean - fc.lo[lv], norm.ppf(0.5 + lv / 200) * sd, rtol=1e-6)


def test_multiplicative_bands_are_seeded_and_nest():
    noise = np.exp(np.random.default_rng(6).normal(0, 0.03, 60))
    y = (100 + T[:60]) * (1 + 0.3 * np.sin(2 * np.pi * T[:60] / 12)) * noise
    a, b = autoets(y, 12, (80, 95), 12), autoets(y, 12, (80, 95), 12)
    np.testing.assert_array_equal(a.hi[95], b.hi[95])
    assert np.all(a.lo[95] <= a.lo[80]) and np.all(a.lo[80] < a.hi[80]) and np.all(a.hi[80] <= a.hi[95])


def test_autoets_by_name_forecasts_a_long_frame_and_is_scored():
    months = pd.date_range("2020-01-01", periods=48, freq="MS")
    y = (100 + 2 * T[:48]) * (1 + 0.2 * np.sin(2 * np.pi * T[:48] / 12))
    frame = pd.DataFrame({"unique_id": "api", "ds": months, "y": y})
    res = forecast_series(frame, h=6, models="autoets", scheduler="serial")
    assert res.selection["model"].iloc[0] == "autoets" and np.isfinite(res.selection["mase"].iloc[0])
    truth = (100 + 2 * T[48:54]) * (1 + 0.2 * np.sin(2 * np.pi * T[48:54] / 12))
    np.testing.assert_allclose(res.forecast["forecast"], truth, rtol=0.02)  # the noiseless pattern goes on


def test_a_history_too_short_for_any_form_is_a_fit_error():
    with pytest.raises(ValueError, match="no ETS form could be fitted"):
        best_ets(np.array([3.0, 4.0, 5.0]), 12)


def test_autoets_takes_the_damped_ets_place_in_the_mean_of_the_statistical_models():
    """Named with the two Thetas (and Holt-Winters) on 3+ seasons of history, autoets is the mean's ETS member."""
    noise = np.exp(np.random.default_rng(7).normal(0, 0.05, 60))
    y = (100 + T[:60]) * (1 + 0.2 * np.sin(2 * np.pi * T[:60] / 12)) * noise
    _, record = forecast_one(y, 12, (80,), 12, ("naive", "autoets", "dotm", "theta", "hw"), 3, 12)
    assert record["model"] == "combo(autoets+dotm+theta+hw)"
    _, record = forecast_one(y, 12, (80,), 12, ("naive", "ets", "dotm", "theta", "hw"), 3, 12)
    assert record["model"] == "combo(ets+dotm+theta+hw)"


def test_a_cutoff_that_allows_a_season_the_first_did_not_gets_its_own_selection():
    """40 months of a growing season, cutoffs at 22, 28 and 34: 22 months are under two cycles, so no seasonal form
    can be fitted and the first window is flat; from 28 a season can be, and it wins, as in a full refit there."""
    y = (100 + T[:40]) * (1 + 0.2 * np.sin(2 * np.pi * T[:40] / 12))
    windows = autoets_windows(y, 6, (80,), 12, [22, 28, 34])
    assert np.ptp(windows[0].forecast.mean) < 1e-6
    for w in windows[1:]:
        assert best_ets(y[: w.cutoff], 12)[1].season == "mul"
        assert np.mean(np.abs(w.forecast.mean - w.actual)) < 0.05 * np.mean(w.actual)


def _refit_false_reference(y: np.ndarray, first: int, cut: int, h: int) -> np.ndarray:
    """The point forecast at `cut` built from statsmodels alone: every form fitted on y[:first] with the heuristic
    initial states, each re-run over y[:cut] with those parameters (heuristic states of y[:cut]), the lowest AICc
    (k = smoothing parameters + variance + level + slope + 11 seasonal states, counted by hand) forecasting."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    best = None
    for error in ("add", "mul"):
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            for season in (None, "add", "mul"):
                if error == "add" and season == "mul":
                    continue
                kw = {"error": error, "trend": trend, "damped_trend": damped, "seasonal": season,
                      "seasonal_periods": 12 if season else None, "initialization_method": "heuristic"}
                params = ETSModel(pd.Series(y[:first]), **kw).fit(disp=False).params.to_numpy()
                res = ETSModel(pd.Series(y[:cut]), **kw).smooth(params)
                k = len(params) + 1 + 1 + (trend is not None) + (11 if season else 0)
                score = -2 * res.llf + 2 * k + 2 * k * (k + 1) / (cut - k - 1)
                if best is None or score < best[0]:
                    best = (score, res)
    return np.asarray(best[1].forecast(h))


def test_later_windows_re_run_the_earliest_fits_and_see_nothing_after_their_cutoff():
    y = (100 + T[:84]) * (1 + 0.2 * np.sin(2 * np.pi * T[:84] / 12)) * np.exp(
        np.random.default_rng(9).normal(0, 0.04, 84))
    windows = autoets_windows(y, 12, (80,), 12, [48, 60, 72])
    for w in windows[1:]:
        np.testing.assert_allclose(w.forecast.mean, _refit_false_reference(y, 48, w.cutoff, 12), rtol=1e-9)
    assert not np.allclose(windows[1].forecast.mean, windows[2].forecast.mean)
    for i, c in enumerate((48, 60, 72)):
        changed = np.concatenate([y[:c], 3 * y[c:]])  # everything after the cutoff tripled
        np.testing.assert_array_equal(autoets_windows(changed, 12, (80,), 12, [48, 60, 72])[i].forecast.hi[80],
                                      windows[i].forecast.hi[80])


def test_autoets_named_without_ets_runs_on_short_histories_too():
    t = np.arange(30)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(10).normal(0, 1, 30)
    _, record = forecast_one(y, 6, (80,), 12, ("autoets", "dotm", "theta"), 3, 6)
    assert np.isfinite(record["mase_autoets"])


@pytest.mark.parametrize("form", ["ANN", "MAM"])
def test_a_forecast_that_is_not_finite_is_refused(form):
    class Results:  # exact bands from the mean squared error (ANN), simulated paths otherwise (MAM)
        nobs, mse = 10, 1.0
        model = SimpleNamespace(short_name=form)

        def _relative_forecast_variance(self, steps):
            return np.ones(len(steps))

        def predict(self, **kwargs):
            return np.array([1.0, np.inf])

        def simulate(self, h, **kwargs):
            return np.full((h, 5), np.inf)

    with pytest.raises(ArithmeticError, match="not finite"):
        ets_forecast(Results(), 2, (80,))


def test_auto_mode_runs_autoets_only_where_the_mean_of_the_statistical_models_can_use_it():
    """Under 3 seasons there is no mean of the statistical models: auto mode keeps the damped ETS alone there (the
    sample company's 24-month nodes keep their models); from 3 seasons on autoets is the mean's ETS member."""
    t = np.arange(36)
    y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * np.exp(np.random.default_rng(8).normal(0, 0.05, 36))
    _, short = forecast_one(y[:30], 6, (80,), 12, AUTO_MODELS, 3, 6)
    assert "mase_autoets" not in short and np.isfinite(short["mase_ets"])
    _, long = forecast_one(y, 6, (80,), 12, AUTO_MODELS, 3, 6)
    assert np.isfinite(long["mase_autoets"]) and long["model"] in ("combo(autoets+dotm+theta+hw)", *AUTO_MODELS)
