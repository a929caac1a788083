"""Reconciliation: summing matrix, hand-worked OLS/bottom-up, hierarchicalforecast reference, coherence, backtest."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from forecast.core.errors import ForecastError
from forecast.timeseries.reconcile import METHODS, hierarchy, projection, reconcile, shrunk_covariance

IDS = ["total", "A", "B", "A/x", "A/y", "B/x", "B/y"]
S7 = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
              float)
SUMMING = pd.DataFrame(S7, index=IDS, columns=IDS[3:])
Z80 = norm.ppf(0.9)


def _long(matrix, ids, ds, name):
    return pd.DataFrame([{"unique_id": u, "ds": d, name: matrix[k, j]} for k, u in enumerate(ids)
                         for j, d in enumerate(ds)])


def test_hierarchy_sums_children_and_builds_s():
    df = pd.DataFrame({
        "ds": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01", "2026-02-01"]),
        "team_id": ["A", "A", "A", "A", "B"], "workflow_name": ["x", "x", "y", "y", "x"],
        "y": [1.0, 2.0, 4.0, 8.0, 16.0]})
    df["unique_id"] = df["team_id"] + "/" + df["workflow_name"]
    h = hierarchy(df, [(), ("team_id",), ("team_id", "workflow_name")])
    assert list(h.summing.index) == ["total", "A", "B", "A/x", "A/y", "B/x"]
    assert h.summing.to_numpy().tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    got = {(r.unique_id, r.ds.month): r.y for r in h.frame.itertuples()}
    # by hand: total Jan = 1 + 4, Feb = 2 + 8 + 16; B starts in Feb (no January row)
    assert got == {("total", 1): 5.0, ("total", 2): 26.0, ("A", 1): 5.0, ("A", 2): 10.0, ("B", 2): 16.0,
                   ("A/x", 1): 1.0, ("A/x", 2): 2.0, ("A/y", 1): 4.0, ("A/y", 2): 8.0, ("B/x", 2): 16.0}
    assert h.levels["team_id"] == ("A", "B")


def test_ols_splits_the_incoherence_equally():
    # total = a + b. OLS: P = (S'S)^-1 S' = 1/3 [[1, 2, -1], [1, -1, 2]], so a~ = (t + 2a - b)/3: each of the
    # three nodes moves by d = (t - a - b)/3. Here t = 12, a = 5, b = 4 -> d = 1: a~ = 6, b~ = 5, t~ = 11.
    s = pd.DataFrame([[1, 1], [1, 0], [0, 1]], index=["total", "a", "b"], columns=["a", "b"], dtype=float)
    fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": pd.Timestamp("2027-01-01"),
                       "forecast": [12.0, 5.0, 4.0]})
    got = reconcile(fc, s, "ols").forecast.set_index("unique_id")["forecast"]
    assert got.to_dict() == pytest.approx({"total": 11.0, "a": 6.0, "b": 5.0}, abs=1e-12)
    # wls_struct: W = diag(2, 1, 1): P = (S'W^-1S)^-1 S'W^-1; S'W^-1S = [[1.5, .5], [.5, 1.5]], inverse
    # 1/2 [[1.5, -.5], [-.5, 1.5]]; a~ = a + (t - a - b)/4 = 5.75, b~ = 4.75, t~ = 10.5
    got = reconcile(fc, s, "wls_struct").forecast.set_index("unique_id")["forecast"]
    assert got.to_dict() == pytest.approx({"total": 10.5, "a": 5.75, "b": 4.75}, abs=1e-12)
    got = reconcile(fc, s, "bottom_up").forecast.set_index("unique_id")["forecast"]
    assert got.to_dict() == pytest.approx({"total": 9.0, "a": 5.0, "b": 4.0}, abs=1e-12)


def test_a_bottom_series_reconciled_below_zero_is_set_to_zero_and_summed_up_again():
    # OLS with t = 5, a = 20, b = 0: each node moves by d = (t - a - b)/3 = -5, so a~ = 15, b~ = -5 (negative
    # spend) and t~ = 10. Set-negatives-to-zero: b = 0, a stays 15, and the total is their sum, 15
    s = pd.DataFrame([[1, 1], [1, 0], [0, 1]], index=["total", "a", "b"], columns=["a", "b"], dtype=float)
    fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": pd.Timestamp("2027-01-01"),
                       "forecast": [5.0, 20.0, 0.0]})
    got = reconcile(fc, s, "ols").forecast.set_index("unique_id")["forecast"]
    assert got.to_dict() == pytest.approx({"total": 15.0, "a": 15.0, "b": 0.0}, abs=1e-12)
    raw = reconcile(fc, s, "ols", nonnegative=False).forecast.set_index("unique_id")["forecast"]
    assert raw.to_dict() == pytest.approx({"total": 10.0, "a": 15.0, "b": -5.0}, abs=1e-12)


def _reference_case():
    """A deterministic case also run through hierarchicalforecast 1.5.3 (numbers below came from it)."""
    t = np.arange(30)[:, None]
    i = np.arange(7)[None, :]
    res = (np.sin(1.3 * t + i) + 0.5 * np.cos(0.7 * t * (i + 1)) + 0.4 * np.sin(2.1 * t)).T  # (nodes, T)
    yhat = (10 + 3 * np.cos(np.arange(7)[:, None] * 1.7 + np.arange(2)[None, :])) * S7.sum(1)[:, None]
    sigmah = (1 + 0.1 * np.arange(7)[:, None]) * np.array([[1.0, 1.5]])
    ds = pd.date_range("2027-01-01", periods=2, freq="MS")
    fc = _long(yhat, IDS, ds, "forecast")
    sd = _long(sigmah, IDS, ds, "sd")["sd"]
    fc["forecast-lo-80"] = fc["forecast"] - Z80 * sd
    fc["forecast-hi-80"] = fc["forecast"] + Z80 * sd
    resid = _long(res, IDS, pd.date_range("2024-01-01", periods=30, freq="MS"), "residual")
    return S7, yhat, res, sigmah, fc, resid


# hierarchicalforecast 1.5.3: MinTrace(method="mint_shrink").fit_predict(S, y_hat, y_insample=res,
# y_hat_insample=0, sigmah, level=[80], intervals_method="normality") -> "mean" and "sigmah" (script in the
# README section). It centres the residual covariance and adds a 2e-8 ridge, hence the 1e-6 tolerance.
HF_MINT_MEAN = [[50.2530090901, 46.8057205742], [27.7108682646, 22.4063637636], [22.5421408255, 24.3993568106],
                [14.7414714182, 13.7571475855], [12.9693968465, 8.6492161781], [11.1325204092, 9.6928126568],
                [11.4096204163, 14.7065441538]]
HF_MINT_SIGMAH = [[0.7180963619, 1.0771445429], [0.5332349265, 0.7998523898], [0.5135925186, 0.7703887778],
                  [0.4929746345, 0.7394619517], [0.4491492525, 0.6737238788], [0.7891751315, 1.1837626973],
                  [0.7464733402, 1.1197100103]]


def test_mint_shrink_matches_hierarchicalforecast_mean_and_normal_intervals():
    *_, fc, resid = _reference_case()
    out = reconcile(fc, SUMMING, "mint_shrink", resid).forecast
    wide = out.pivot(index="unique_id", columns="ds", values="forecast").loc[IDS].to_numpy()
    np.testing.assert_allclose(wide, HF_MINT_MEAN, atol=1e-6)
    sd = ((out["forecast-hi-80"] - out["forecast-lo-80"]) / (2 * Z80)).to_numpy()
    sd = out.assign(sd=sd).pivot(index="unique_id", columns="ds", values="sd").loc[IDS].to_numpy()
    np.testing.assert_allclose(sd, HF_MINT_SIGMAH, atol=1e-6)


def test_live_hierarchicalforecast_agrees_on_every_point_method():
    methods = pytest.importorskip("hierarchicalforecast.methods")
    s, yhat, res, *_ = _reference_case()
    cov, _ = shrunk_covariance(res.T)
    var = np.mean(res.T**2, axis=0)
    for name in ("ols", "wls_struct", "wls_var", "mint_shrink"):
        ref = methods.MinTrace(method=name).fit_predict(S=s, y_hat=yhat, y_insample=res,
                                                        y_hat_insample=np.zeros_like(res))["mean"]
        np.testing.assert_allclose(s @ projection(s, name, cov, var) @ yhat, ref, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(METHODS), seed=st.integers(0, 2**31), scale=st.floats(1e-3, 1e6))
def test_reconciled_forecasts_are_coherent(method, seed, scale):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2027-01-01", periods=3, freq="MS")
    fc = _long(rng.gamma(2.0, scale, size=(7, 3)) * S7.sum(1)[:, None], IDS, ds, "forecast")
    resid = _long(rng.normal(0, scale, size=(7, 12)), IDS, pd.date_range("2025-01-01", periods=12, freq="MS"),
                  "residual")
    out = reconcile(fc, SUMMING, method, resid).forecast.pivot(index="unique_id", columns="ds",
                                                               values="forecast").loc[IDS].to_numpy()
    bottom = out[3:]
    np.testing.assert_allclose(out, S7 @ bottom, rtol=0, atol=1e-9 * max(1.0, np.abs(out).max()))
    assert abs(out[0] - out[1] - out[2]).max() <= 1e-9 * max(1.0, np.abs(out).max())


def _synthetic(n_months: int, seed: int) -> pd.DataFrame:
    """4 bottom series (2 teams x 2 workflows): trend, yearly season, AR(1) noise with a team-level shock."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_months)
    rows = []
    team_shock = {k: np.convolve(rng.normal(0, 6, n_months), [1, 0.6, 0.3])[:n_months] for k in "AB"}
    for k, (team, wf) in enumerate([("A", "x"), ("A", "y"), ("B", "x"), ("B", "y")]):
        noise = np.zeros(n_months)
        e = rng.normal(0, 5 + 2 * k, n_months)
        for i in range(1, n_months):
            noise[i] = 0.5 * noise[i - 1] + e[i]
        y = 100 + 25 * k + (0.8 + 0.3 * k) * t + (10 + 3 * k) * np.sin(2 * np.pi * t / 12 + k) + noise
        y += team_shock[team]
        rows.append(pd.DataFrame({"team_id": team, "workflow_name": wf, "ds": pd.date_range(
            "2020-01-01", periods=n_months, freq="MS"), "y": y}))
    df = pd.concat(rows, ignore_index=True)
    df["unique_id"] = df["team_id"] + "/" + df["workflow_name"]
    return df


def _holt_winters(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Additive Holt-Winters (period 12), smoothing weights picked per series from a small grid by in-sample
    one-step squared error: a base forecaster written here, independent of the package, and nonlinear in y
    (so base forecasts of parents differ from the sums of their children's). Returns (forecast, residuals)."""
    best = None
    for alpha in (0.1, 0.3, 0.6):
        for beta in (0.01, 0.1):
            for gamma in (0.05, 0.3):
                level, trend = y[:12].mean(), (y[12:24].mean() - y[:12].mean()) / 12
                season = list(y[:12] - level)
                resid = []
                for t in range(12, len(y)):
                    fit = level + trend + season[t - 12]
                    resid.append(y[t] - fit)
                    new_level = alpha * (y[t] - season[t - 12]) + (1 - alpha) * (level + trend)
                    trend = beta * (new_level - level) + (1 - beta) * trend
                    season.append(gamma * (y[t] - new_level) + (1 - gamma) * season[t - 12])
                    level = new_level
                sse = float(np.sum(np.square(resid)))
                if best is None or sse < best[0]:
                    steps = np.arange(1, h + 1)
                    fc = level + trend * steps + np.array(season[len(y) - 12:])[(steps - 1) % 12]
                    best = (sse, fc, np.array(resid))
    return best[1], best[2]


def test_reconciled_backtest_not_worse_than_base_and_intervals_cover():
    df = _synthetic(72, seed=3)
    h = hierarchy(df, [(), ("team_id",), ("team_id", "workflow_name")])
    wide = h.frame.pivot(index="ds", columns="unique_id", values="y")[IDS]
    horizon, errors, covered = 3, {m: [] for m in ("base", *METHODS)}, []
    for origin in range(48, 72 - horizon + 1, 2):  # 11 rolling origins
        train, test = wide.iloc[:origin], wide.iloc[origin:origin + horizon]
        fcs, res = {}, {}
        for uid in IDS:
            fcs[uid], res[uid] = _holt_winters(train[uid].to_numpy(), horizon)
        fc = _long(np.array([fcs[u] for u in IDS]), IDS, test.index, "forecast")
        sd = {u: np.std(res[u]) * np.sqrt(1 + np.arange(horizon) / 12) for u in IDS}
        fc["forecast-lo-80"] = fc["forecast"] - Z80 * np.concatenate([sd[u] for u in IDS])
        fc["forecast-hi-80"] = fc["forecast"] + Z80 * np.concatenate([sd[u] for u in IDS])
        resid = _long(np.array([res[u] for u in IDS]), IDS, train.index[12:], "residual")
        errors["base"].append(np.array([fcs[u] for u in IDS]).T - test.to_numpy())
        for m in METHODS:
            out = reconcile(fc, SUMMING, m, resid).forecast
            got = out.pivot(index="ds", columns="unique_id", values="forecast")[IDS]
            errors[m].append(got.to_numpy() - test.to_numpy())
            if m == "mint_shrink":
                lo = out.pivot(index="ds", columns="unique_id", values="forecast-lo-80")[IDS].to_numpy()
                hi = out.pivot(index="ds", columns="unique_id", values="forecast-hi-80")[IDS].to_numpy()
                covered.append((lo <= test.to_numpy()) & (test.to_numpy() <= hi))
    scale = wide.iloc[:48].std().to_numpy()
    rmse = {m: float(np.mean(np.sqrt(np.mean(np.concatenate(e) ** 2, axis=0)) / scale)) for m, e in errors.items()}
    assert rmse["mint_shrink"] <= rmse["base"], rmse
    assert rmse["wls_struct"] <= rmse["base"], rmse
    assert 0.6 <= np.mean(covered) <= 0.97, np.mean(covered)


def test_spend_lower_bounds_floor_at_zero_and_floored_base_bounds_do_not_shrink_the_spread():
    # total = a + b; base means 1.0, 0.5, 0.5 with sd 1 each, base lower bounds already floored at 0 (as the
    # forecaster does). Residuals a = [1, -1, 1, -1], b = [1, 1, -1, -1] are uncorrelated (a.b = 0), so bottom-up
    # gives the total sd sqrt(1 + 1): hi = 1 + 1.2816 x 1.4142 = 2.8124, lo = 1 - 1.8124 < 0 -> 0. Reading the sd
    # off the floored width (hi - lo) / 2z would have given (0.5 + 1.2816) / 2.5631 = 0.695 instead of 1.
    s = pd.DataFrame([[1, 1], [1, 0], [0, 1]], index=["total", "a", "b"], columns=["a", "b"], dtype=float)
    mean = np.array([1.0, 0.5, 0.5])
    fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": pd.Timestamp("2027-01-01"), "forecast": mean,
                       "forecast-lo-80": 0.0, "forecast-hi-80": mean + Z80})
    a, b = np.array([1.0, -1, 1, -1]), np.array([1.0, 1, -1, -1])
    resid = _long(np.array([a + b, a, b]), ["total", "a", "b"], pd.date_range("2026-01-01", periods=4, freq="MS"),
                  "residual")
    got = reconcile(fc, s, "bottom_up", resid).forecast.set_index("unique_id")
    assert got["forecast"].to_dict() == pytest.approx({"total": 1.0, "a": 0.5, "b": 0.5})
    assert got["forecast-hi-80"].to_dict() == pytest.approx({"total": 1 + Z80 * np.sqrt(2), "a": 0.5 + Z80,
                                                            "b": 0.5 + Z80})
    assert got["forecast-lo-80"].tolist() == [0.0, 0.0, 0.0]
    raw = reconcile(fc, s, "bottom_up", resid, nonnegative=False).forecast.set_index("unique_id")
    assert raw.loc["total", "forecast-lo-80"] == pytest.approx(1 - Z80 * np.sqrt(2))


def test_bad_input_is_named():
    fc = pd.DataFrame({"unique_id": IDS[:-1], "ds": pd.Timestamp("2027-01-01"), "forecast": 1.0})
    with pytest.raises(ForecastError, match=r"forecasts: no rows for node\(s\) B/y"):
        reconcile(fc, SUMMING, "ols")
    fc = pd.DataFrame({"unique_id": IDS, "ds": pd.Timestamp("2027-01-01"), "forecast": 1.0})
    with pytest.raises(ForecastError, match="method: 'mint': must be one of"):
        reconcile(fc, SUMMING, "mint")
    with pytest.raises(ForecastError, match="method 'mint_shrink': needs residuals"):
        reconcile(fc, SUMMING, "mint_shrink")
    fc["forecast-lo-80"], fc["forecast-hi-80"] = 0.0, 2.0
    with pytest.raises(ForecastError, match="residuals: needed to reconcile intervals"):
        reconcile(fc, SUMMING, "bottom_up")
    df = _synthetic(24, 0)
    with pytest.raises(ForecastError, match=r"levels: \['model'\]: not a subset of the bottom level"):
        hierarchy(df, [("model",), ("team_id", "workflow_name")])
    with pytest.raises(ForecastError, match="duplicate row for series 'A/x'"):
        hierarchy(pd.concat([df, df.iloc[:1]]), [(), ("team_id", "workflow_name")])
