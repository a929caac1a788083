"""ets_fit.mle_params against statsmodels' own ETSModel.fit: the same parameters, bit for bit, on every form auto
mode fits (the reference is statsmodels itself, so a change in its optimiser or in scipy's fails here)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from forecast.timeseries.auto_ets import ets_forms, ets_model, initial_states
from forecast.timeseries.ets_fit import mle_fit, mle_params
from forecast.timeseries.stats_models import holt_winters_model


def _series(kind: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(60)
    if kind == "seasonal":  # positive, trending, a season that grows with the level
        return (200 + 3 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.05, 60)
    if kind == "around zero":  # values <= 0: additive forms only
        return 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 60)
    return 50 + np.cumsum(rng.normal(0, 1, 60))  # a random walk: no season to speak of


def _on_a_series(model):
    """The same ETS model (form, known initial states) built on a pandas Series, as statsmodels' get_prediction
    needs."""
    return ETSModel(pd.Series(model.endog), error=model.error, trend=model.trend, damped_trend=model.damped_trend,
                    seasonal=model.seasonal, seasonal_periods=model.seasonal_periods, initialization_method="known",
                    initial_level=model.initial_level, initial_trend=model.initial_trend if model.trend else None,
                    initial_seasonal=model.initial_seasonal if model.seasonal else None)


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.mark.parametrize("kind", ["seasonal", "around zero", "walk"])
def test_every_auto_ets_form_gets_statsmodels_parameters_exactly(kind):
    y = _series(kind)
    forms = ets_forms(y, 12)
    states = initial_states(y, forms, 12)
    assert len(forms) == {"seasonal": 15, "around zero": 6, "walk": 15}[kind]
    for form in forms:
        model = ets_model(y, form, 12, states[form.season])
        expected = _quiet(lambda model=model: model.fit(disp=False, return_params=True))
        assert np.array_equal(_quiet(lambda model=model: mle_params(model)), expected), form.name


@pytest.mark.parametrize("scale", [1.0, 1e9])
def test_estimated_initial_states_and_holt_winters_match_too(scale):
    """Under 10 values statsmodels estimates the initial states with the parameters (more free parameters, some
    bounded; at 1e9 a step of 1e-8 does not move the initial level, and scipy's relative step takes over);
    Holt-Winters has four smoothing parameters and a seasonal state."""
    short = ETSModel(scale * np.array([5.0, 7, 6, 8, 9, 8, 10, 11]), error="add", trend="add", damped_trend=True,
                     initialization_method="estimated")
    hw = holt_winters_model(scale * _series("seasonal"), 12)
    for model in (short, hw):
        expected = _quiet(lambda model=model: model.fit(disp=False))
        got = _quiet(lambda model=model: mle_fit(model))
        assert np.array_equal(np.asarray(got.params), np.asarray(expected.params))
        assert np.array_equal(np.asarray(got.fittedvalues), np.asarray(expected.fittedvalues))


def _sse(y, alpha):
    level, total = y[0], 0.0
    for value in y[1:]:
        total += (value - level) ** 2
        level += alpha * (value - level)
    return total


def test_the_theta_method_forecasts_as_statsmodels_theta_model():
    """ses_alpha maximises the likelihood statsmodels' ThetaModel does (SES started at y[0]): never a worse optimum
    than ThetaModel's own fit beyond rounding, and forecasts within 0.1% of ThetaModel's on random walks with
    drift; theta_mean at ThetaModel's weight is ThetaModel's forecast."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    from forecast.timeseries.stats_models import ses_alpha, theta_mean

    rng = np.random.default_rng(23)
    for _ in range(20):
        y = 300 + np.cumsum(rng.normal(1.0, 8, 72))
        res = _quiet(lambda y=y: ThetaModel(y, period=1, deseasonalize=False).fit())
        alpha = ses_alpha(y)
        assert _sse(y, alpha) <= _sse(y, float(res.params.iloc[1])) * (1 + 1e-6)
        theirs = np.asarray(res.forecast(12))
        assert np.max(np.abs(theta_mean(y, alpha, 12) / theirs - 1)) < 1e-3
        # at ThetaModel's own weight, its forecast formula exactly (to rounding)
        assert np.max(np.abs(theta_mean(y, float(res.params.iloc[1]), 12) / theirs - 1)) < 1e-12


@pytest.mark.parametrize("kind", ["seasonal", "around zero"])
def test_results_without_the_covariance_forecast_the_same_numbers(kind):
    """Every form's point forecast and 80% band, exact or from 1,000 seeded sample paths, as statsmodels' smooth
    gives them."""
    from forecast.timeseries.ets_fit import smoothed

    y = _series(kind)
    forms = ets_forms(y, 12)
    states = initial_states(y, forms, 12)
    for form in forms:
        model = _on_a_series(ets_model(y, form, 12, states[form.season]))
        params = _quiet(lambda model=model: mle_params(model))
        reference = _quiet(lambda model=model, params=params: model.smooth(params))
        ours, theirs = (_quiet(lambda res=res: res.get_prediction(start=60, end=71, simulate_repetitions=1000,
                                                                 rng=np.random.default_rng(0)))
                        for res in (smoothed(model, params), reference))
        assert np.array_equal(ours.predicted_mean, theirs.predicted_mean), form.name
        assert np.array_equal(ours.pred_int(alpha=0.2), theirs.pred_int(alpha=0.2)), form.name


def test_ets_forecast_gives_statsmodels_prediction_bands_exactly():
    """ets_forecast of a bare-array model's results gives what get_prediction and pred_int give for the same model
    on a pandas Series, for every level and form: simulated (seeded) where statsmodels simulates, exact where it
    has exact bands."""
    from forecast.timeseries.auto_ets import SIMULATIONS, ets_forecast
    from forecast.timeseries.ets_fit import smoothed

    y = _series("seasonal")
    forms = ets_forms(y, 12)
    states = initial_states(y, forms, 12)
    simulated = 0
    for form in forms:
        model = ets_model(y, form, 12, states[form.season])  # a bare array: get_prediction cannot forecast it
        params = _quiet(lambda model=model: mle_params(model))
        reference = _quiet(lambda model=model, params=params: _on_a_series(model).smooth(params))
        pred = _quiet(lambda res=reference: res.get_prediction(start=60, end=77, simulate_repetitions=SIMULATIONS,
                                                               rng=np.random.default_rng(0)))
        simulated += pred.method == "simulated"
        fc = ets_forecast(smoothed(model, params), 18, (80, 95))
        assert np.array_equal(fc.mean, np.asarray(pred.predicted_mean)), form.name
        for lv in (80, 95):
            band = np.asarray(_quiet(lambda lv=lv, pred=pred: pred.pred_int(alpha=1 - lv / 100)))
            assert np.array_equal(fc.lo[lv], band[:, 0]) and np.array_equal(fc.hi[lv], band[:, 1]), form.name
    assert simulated == 9  # the multiplicative-error forms


@pytest.mark.parametrize("change", ["other arguments", "another answer"])
def test_the_l_bfgs_b_loop_runs_here_and_falls_back_to_scipy_when_its_routine_changes(monkeypatch, change):
    """The loop drives scipy's routine on the scipy installed (CI notices if that stops); where the loop fails (the
    routine takes other arguments) or answers otherwise than fmin_l_bfgs_b, every fit goes to fmin_l_bfgs_b and
    still gets statsmodels' parameters."""
    from forecast.timeseries import lbfgsb

    assert lbfgsb.driver_works()
    y = _series("seasonal")
    forms = ets_forms(y, 12)
    states = initial_states(y, forms, 12)
    models = [ets_model(y, f, 12, states[f.season]) for f in forms]
    expected = [_quiet(lambda m=m: m.fit(disp=False, return_params=True)) for m in models]

    def changed(fg, x0, bounds, maxiter):
        if change == "other arguments":
            raise TypeError("setulb() takes 15 positional arguments")
        return np.asarray(x0, dtype=float)

    monkeypatch.setattr(lbfgsb, "_driven", changed)
    lbfgsb.driver_works.cache_clear()
    try:
        assert not lbfgsb.driver_works()
        for model, params in zip(models, expected, strict=True):
            assert np.array_equal(_quiet(lambda m=model: mle_params(m)), params)
    finally:
        lbfgsb.driver_works.cache_clear()


@pytest.mark.parametrize("path", ["loop", "fmin_l_bfgs_b"])
def test_a_fit_that_runs_out_of_evaluations_stops_where_statsmodels_does(monkeypatch, path):
    """58 free parameters (a 52-week season with its initial states estimated): statsmodels' L-BFGS-B stops at its
    15,000 evaluations, each call's 58 finite differences counted, after about 240 iterations."""
    from forecast.timeseries import lbfgsb

    rng = np.random.default_rng(0)
    y = 50 + np.cumsum(rng.normal(0, 1, 160)) + 5 * np.sin(np.arange(160) * 2 * np.pi / 52)
    model = ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=52,
                     initialization_method="estimated")
    res = _quiet(lambda: model.fit(disp=False))
    assert res.mle_retvals["warnflag"] == 1 and res.mle_retvals["fcalls"] > 15000  # the limit, not convergence
    if path == "fmin_l_bfgs_b":
        monkeypatch.setattr(lbfgsb, "driver_works", lambda: False)
    assert np.array_equal(_quiet(lambda: mle_params(model)), np.asarray(res.params))


def test_results_without_the_covariance_pickle():
    import pickle

    from forecast.timeseries.ets_fit import mle_fit

    res = _quiet(lambda: mle_fit(holt_winters_model(_series("seasonal"), 12)))
    back = pickle.loads(pickle.dumps(res))
    assert np.array_equal(np.asarray(back.params), np.asarray(res.params))
    assert np.array_equal(np.asarray(back.forecast(6)), np.asarray(res.forecast(6)))
