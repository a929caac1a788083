"""Auto mode: output contract, selection record, special series, backtest windows, parallel and Dask fan-out."""

import numpy as np
import pandas as pd
import pytest

from forecast.timeseries import stats_models
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.auto_ets import autoets
from forecast.timeseries.backtest import cross_validation, cutoffs, default_step
from forecast.timeseries.fast_backtest import autoets_windows, ets_windows, hw_windows, theta_windows
from forecast.timeseries.models import AUTO_MODELS, MODELS
from forecast.timeseries.select import STATS_MARGIN


def seasonal_series(uid: str, n: int, seed: int, start="2018-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 * (1 + 0.01 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.03, n)
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=n, freq="MS"), "y": y})


def one(uid, values, start="2024-01-01"):
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(values), freq="MS"),
                         "y": np.asarray(values, dtype=float)})


@pytest.fixture(scope="module")
def mixed():
    frames = [seasonal_series("seasonal", 60, 0), one("flat", [7.0] * 30), one("zero", [0.0] * 30),
              one("launch", [1.0, 3, 4, 6, 9]),
              one("sparse", [0, 0, 5, 0, 0, 0, 4, 0, 0, 6, 0, 0, 0, 5, 0, 0, 4, 0, 0, 0, 6, 0, 0, 5, 0, 0, 0, 4])]
    df = pd.concat(frames, ignore_index=True)
    return df, forecast_series(df, 6, "MS", (80, 95), scheduler="serial")


def test_output_contract(mixed):
    df, res = mixed
    assert list(res.forecast.columns) == ["unique_id", "ds", "forecast", "forecast-lo-80", "forecast-hi-80",
                                          "forecast-lo-95", "forecast-hi-95", "model"]
    assert len(res.forecast) == 5 * 6 and res.selection["unique_id"].tolist() == sorted(df.unique_id.unique())
    for uid, g in res.forecast.groupby("unique_id"):
        last = df.loc[df.unique_id == uid, "ds"].max()
        assert g["ds"].tolist() == list(pd.date_range(last, periods=7, freq="MS")[1:])
    f = res.forecast
    assert (f["forecast-lo-95"] <= f["forecast-lo-80"]).all() and (f["forecast-lo-80"] <= f["forecast"]).all()
    assert (f["forecast"] <= f["forecast-hi-80"]).all() and (f["forecast-hi-80"] <= f["forecast-hi-95"]).all()
    assert (f["forecast-lo-95"] >= 0).all()  # spend is never negative


def test_flags_for_flat_zero_short_and_intermittent(mixed):
    _, res = mixed
    sel = res.selection.set_index("unique_id")
    fc = res.forecast.set_index("unique_id")
    assert sel.loc["flat", "constant"] and not sel.loc["flat", "all_zero"]
    assert fc.loc["flat", "forecast"].tolist() == [7.0] * 6 and fc.loc["flat", "forecast-hi-95"].tolist() == [7.0] * 6
    assert sel.loc["zero", "all_zero"] and fc.loc["zero", "forecast-hi-95"].tolist() == [0.0] * 6
    assert sel.loc["launch", "short_history"] and sel.loc["launch", "model"] in ("naive", "drift")
    # short histories never get bands narrower than the naive random walk with Student-t spread:
    # diffs 2, 1, 2, 3 -> sigma = sqrt(18/4); t(0.975, 4) = 2.776 (table); h = 1 half-width >= 2.776 x 2.121
    launch = fc.loc["launch"]
    assert (launch["forecast-hi-95"].iloc[0] - launch["forecast-lo-95"].iloc[0]) / 2 >= 2.776 * np.sqrt(18 / 4) - 1e-6
    assert sel.loc["sparse", "intermittent"] and sel.loc["sparse", "model"] in ("croston", "naive", "seasonal_naive")
    assert not sel.loc["seasonal", ["short_history", "constant", "intermittent"]].any()


def test_the_chosen_model_is_the_best_backtest_score(mixed):
    _, res = mixed
    row = res.selection.set_index("unique_id").loc["seasonal"]
    cand = {c[5:]: row[c] for c in row.index if c.startswith("mase_") and pd.notna(row[c])}
    assert set(AUTO_MODELS) <= set(cand)
    chosen = "combo" if row["model"].startswith("combo(") else row["model"]
    best_single = min(v for k, v in cand.items() if k != "combo")
    assert cand[chosen] == row["mase"]
    keep = 1 - STATS_MARGIN  # the mean of ETS and both Thetas is kept unless a single model beats it by the margin
    assert row["model"] in ("combo(autoets+dotm+theta+hw)", *AUTO_MODELS)  # seasonal: Holt-Winters joins the three
    if chosen == "combo":
        assert best_single >= keep * cand["combo"]
    else:
        assert cand[chosen] == best_single < keep * cand["combo"]
    assert row["windows"] == 3 and 0 <= row["coverage-80"] <= 1


def test_windows_and_cutoffs():
    assert default_step(18, 3) == 18 and default_step(1, 3) == 1
    assert cutoffs(100, 18, 3, 6, 24) == [70, 76, 82]
    assert cutoffs(40, 18, 3, 6, 20) == [22]  # 10 and 16 leave too little training data
    cv = cross_validation(one("a", np.arange(1.0, 21)), {"naive": MODELS["naive"]}, 2, "MS", 2, 3, (80,))
    # n = 20, h = 2, step 3: training lengths 15 and 18; cutoffs are the 15th and 18th dates
    assert cv["cutoff"].drop_duplicates().tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-06-01")]
    assert cv["naive"].tolist() == [15.0, 15.0, 18.0, 18.0] and cv["y"].tolist() == [16.0, 17.0, 19.0, 20.0]


def test_fast_backtest_equals_a_full_refit_at_the_first_cutoff():
    y = seasonal_series("s", 84, 3)["y"].to_numpy()
    for fast, full in ((ets_windows, stats_models.ets), (theta_windows, stats_models.theta),
                       (hw_windows, stats_models.holt_winters), (autoets_windows, autoets)):
        w = fast(y, 12, (80, 95), 12, [48, 60, 72])
        ref = full(y[:48], 12, (80, 95), 12)
        assert [x.cutoff for x in w] == [48, 60, 72] and w[2].actual.tolist() == y[72:84].tolist()
        np.testing.assert_allclose(w[0].forecast.mean, ref.mean, rtol=1e-9)
        np.testing.assert_allclose(w[0].forecast.hi[95], ref.hi[95], rtol=1e-9)


def test_ets_bands_match_statsmodels_own_prediction_intervals():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    rng = np.random.default_rng(5)
    y = 50 + np.cumsum(rng.normal(0.5, 2, 40))  # not seasonal: no adjustment step
    res = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True,
                   initialization_method="heuristic").fit(disp=False)
    ref = res.get_prediction(start=40, end=45).summary_frame(alpha=0.05)
    ours = stats_models.ets(y, 6, (95,), 12)
    np.testing.assert_allclose(ours.mean, ref["mean"], rtol=1e-9)
    np.testing.assert_allclose(ours.lo[95], ref["pi_lower"], rtol=1e-6)


def test_holt_winters_bands_match_statsmodels_own_prediction_intervals():
    """ETS(A,Ad,A) is linear (class 1): statsmodels gives exact intervals, the reference for our variance."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    rng = np.random.default_rng(7)
    t = np.arange(72)
    y = 0.2 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.5, 72)  # crosses zero: additive season
    assert stats_models.is_seasonal(y, 12) and y.min() < 0
    res = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12,
                   initialization_method="heuristic").fit(disp=False)
    ref = res.get_prediction(start=72, end=89).summary_frame(alpha=0.05)
    ours = stats_models.holt_winters(y, 18, (95,), 12)
    np.testing.assert_allclose(ours.mean, ref["mean"], rtol=1e-9)
    np.testing.assert_allclose(ours.hi[95], ref["pi_upper"], rtol=1e-6)
    np.testing.assert_allclose(ours.lo[95], ref["pi_lower"], rtol=1e-6)


def test_holt_winters_runs_only_where_the_series_is_seasonal(mixed):
    _, res = mixed
    sel = res.selection.set_index("unique_id")
    assert sel.loc["seasonal", "model"] in ("combo(autoets+dotm+theta+hw)", *AUTO_MODELS)
    assert pd.notna(sel.loc["seasonal", "mase_hw"])
    trend = np.linspace(10, 40, 60) + np.random.default_rng(3).normal(0, 1, 60)  # no season: hw would copy ets
    assert not stats_models.is_seasonal(trend, 12)
    plain = forecast_series(pd.DataFrame({"unique_id": "t", "ds": pd.date_range("2020-01-01", periods=60, freq="MS"),
                                          "y": trend}), 6, "MS", (80,))
    assert "mase_hw" not in plain.selection or plain.selection["mase_hw"].isna().all()
    assert plain.selection["model"].iloc[0] in ("combo(autoets+dotm+theta)", *AUTO_MODELS)
    np.testing.assert_allclose(stats_models.holt_winters(trend, 6, (80,), 12).mean,
                               stats_models.ets(trend, 6, (80,), 12).mean)


def test_holt_winters_is_plain_ets_where_the_season_is_too_long_or_not_yet_seen():
    from forecast.timeseries.select import forecast_one

    t = np.arange(200)
    weekly = 100 + 30 * np.sin(2 * np.pi * t / 52) + np.random.default_rng(1).normal(0, 2, 200)
    assert stats_models.is_seasonal(weekly, 52) and not stats_models.has_season_state(weekly, 52)  # 52 > 24
    np.testing.assert_allclose(stats_models.holt_winters(weekly, 8, (80,), 52).mean,
                               stats_models.ets(weekly, 8, (80,), 52).mean)
    _, rec = forecast_one(weekly, 8, (80,), 52, AUTO_MODELS, 3, 8)
    assert "mase_hw" not in rec
    # seasonal over 60 months, but the earliest window trains on 42, too few for the seasonality test: that window
    # is the damped ETS's (as holt_winters would be there), the later ones Holt-Winters fitted at 48
    monthly = 50 + 10 * np.sin(2 * np.pi * np.arange(60) / 12) + np.random.default_rng(2).normal(0, 1, 60)
    assert not stats_models.is_seasonal(monthly[:42], 12) and stats_models.is_seasonal(monthly[:48], 12)
    windows = hw_windows(monthly, 6, (80,), 12, [42, 48, 54])
    assert [w.cutoff for w in windows] == [42, 48, 54]
    np.testing.assert_allclose(windows[0].forecast.mean, ets_windows(monthly, 6, (80,), 12, [42])[0].forecast.mean)
    np.testing.assert_allclose(windows[1].forecast.mean, stats_models.holt_winters(monthly[:48], 6, (80,), 12).mean)
    assert not np.allclose(windows[1].forecast.mean, stats_models.ets(monthly[:48], 6, (80,), 12).mean)


def test_holt_winters_refuses_a_forecast_that_is_not_finite():
    from types import SimpleNamespace

    res = SimpleNamespace(params=np.array([0.5, 0.1, 0.1, 0.9]), resid=np.ones(24),
                          forecast=lambda h: np.full(h, np.inf))
    with pytest.raises(ArithmeticError):
        stats_models.holt_winters_forecast(res, 3, (80,), 12)


def test_local_processes_give_the_same_result_as_serial():
    df = pd.concat([seasonal_series(f"s{i}", 40, i) for i in range(16)], ignore_index=True)
    serial = forecast_series(df, 3, "MS", (80,), models="naive,seasonal_naive,drift", scheduler="serial")
    local = forecast_series(df, 3, "MS", (80,), models="naive,seasonal_naive,drift", scheduler="local")
    pd.testing.assert_frame_equal(serial.forecast, local.forecast)
    pd.testing.assert_frame_equal(serial.selection, local.selection)


def test_dask_local_cluster_gives_the_same_result_as_serial():
    distributed = pytest.importorskip("distributed")
    df = pd.concat([seasonal_series(f"s{i}", 40, i) for i in range(6)], ignore_index=True)
    serial = forecast_series(df, 3, "MS", (80,), models="seasonal_naive,ets", scheduler="serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = forecast_series(df, 3, "MS", (80,), models="seasonal_naive,ets", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial.forecast, on_dask.forecast)
    pd.testing.assert_frame_equal(serial.selection, on_dask.selection)


def test_unreachable_dask_scheduler_is_a_clear_error(monkeypatch):
    from forecast.core.errors import ForecastError
    from forecast.timeseries import parallel

    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    df = pd.concat([seasonal_series(f"s{i}", 30, i) for i in range(2)], ignore_index=True)
    with pytest.raises(ForecastError, match="cannot connect to a Dask scheduler"):
        forecast_series(df, 3, "MS", (80,), models="naive", scheduler="tcp://127.0.0.1:9")


def test_progress_bar_counts_series_on_stderr(capsys):
    df = pd.concat([one("a", [1.0, 2, 3, 4]), one("b", [4.0, 3, 2, 1])], ignore_index=True)
    forecast_series(df, 2, "MS", (80,), models="naive", scheduler="serial", progress=True)
    assert "2/2" in capsys.readouterr().err
    forecast_series(df, 2, "MS", (80,), models="naive", scheduler="serial", progress=False)
    assert capsys.readouterr().err == ""


def test_a_failing_fit_is_recorded_but_a_bug_propagates(monkeypatch):
    from forecast.timeseries import models, select

    y = 100 + np.arange(36, dtype=float)

    def fails(*a, **k):
        raise ValueError("no convergence")
    monkeypatch.setattr(select, "FAST_WINDOWS", {})
    monkeypatch.setitem(models.MODELS, "theta", fails)
    _, rec = select.forecast_one(y, 3, (80,), 12, ["drift", "theta"], 3, 3)
    assert "theta (ValueError)" in rec["failed_models"] and rec["model"] == "drift"

    def buggy(*a, **k):
        raise TypeError("a bug")
    monkeypatch.setitem(models.MODELS, "theta", buggy)
    with pytest.raises(TypeError, match="a bug"):
        select.forecast_one(y, 3, (80,), 12, ["drift", "theta"], 3, 3)


def test_a_short_history_does_not_repeat_last_years_one_off_spike():
    # 18 months at $10 with a one-off $100 month (a runaway loop) 9 months in: with under two seasons of
    # history no seasonal model is a candidate, so month 22 (12 after the spike) is not forecast at ~$100
    y = np.full(18, 10.0)
    y[9] = 100.0
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2025-01-01", periods=18, freq="MS"), "y": y})
    res = forecast_series(df, 12, "MS", (80,), scheduler="serial")
    assert res.selection.loc[0, "short_history"]
    assert "seasonal" not in res.selection.loc[0, "model"]
    assert pd.isna(res.selection.loc[0].get("smape_seasonal_naive")), "seasonal naive must not even be a candidate"
    assert res.forecast["forecast"].max() < 30


def _with_spikes(n_series: int) -> pd.DataFrame:
    df = pd.concat([seasonal_series(f"s{i}", 40, i) for i in range(n_series)], ignore_index=True)
    for i in range(0, n_series, 2):  # every other series: a one-off 5x month at position 10 + i
        row = df.index[df.unique_id == f"s{i}"][10 + i]
        df.loc[row, "y"] *= 5
    return df


def test_spike_adjustments_come_back_from_local_processes_and_dask():
    df = _with_spikes(16)
    serial = forecast_series(df, 3, "MS", (80,), models="naive,seasonal_naive,drift", scheduler="serial")
    assert set(serial.adjustments["unique_id"]) >= {f"s{i}" for i in range(0, 16, 2)}
    local = forecast_series(df, 3, "MS", (80,), models="naive,seasonal_naive,drift", scheduler="local")
    pd.testing.assert_frame_equal(serial.adjustments, local.adjustments)
    pd.testing.assert_frame_equal(serial.selection, local.selection)
    distributed = pytest.importorskip("distributed")
    small = df[df.unique_id.isin(["s0", "s1", "s2"])]
    serial = forecast_series(small, 3, "MS", (80,), models="seasonal_naive,ets", scheduler="serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = forecast_series(small, 3, "MS", (80,), models="seasonal_naive,ets",
                                  scheduler=cluster.scheduler_address)
    assert len(serial.adjustments) >= 2
    pd.testing.assert_frame_equal(serial.adjustments, on_dask.adjustments)
    pd.testing.assert_frame_equal(serial.forecast, on_dask.forecast)


def test_under_three_seasons_the_backtest_chooses_among_two_best():
    # 30 months (under 3 x 12): no fixed combination of ETS and both Thetas; the 2 best by backtest, or a single one
    res = forecast_series(seasonal_series("s30", 30, 4), 6, "MS", (80,), scheduler="serial")
    model = res.selection["model"].iloc[0]
    assert model in AUTO_MODELS or (model.startswith("combo(") and model.count("+") == 1)
