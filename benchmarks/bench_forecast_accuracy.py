"""Accuracy of auto mode on real public monthly series shipped inside PyPI packages (no network).

Series: statsmodels (co2 as monthly means, elec_equip, elnino), pmdarima (wineind, airpassengers,
sunspots: last 240 months), sktime (shampoo_sales, PBS_dataset), vega_datasets (us_employment: 22
sectors, stocks: 5 tickers). Packages that are not installed are skipped (and said so).

Protocol: h = 12; each series is cut at two origins (12 and 24 months before its end) when at least
24 months of training remain; every method forecasts from the same cut. Scores on the held-out 12
months: MASE (scaled by the training data's seasonal-naive MAE, m = 12), sMAPE, and the share of
actuals inside the 80% and 95% intervals. Averages are over series-origins.

    bash benchmarks/setup_bench_env.sh
    .venv-bench/bin/python benchmarks/bench_forecast_accuracy.py [--with-prophet]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

from forecast.timeseries import metrics
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.models import AUTO_MODELS, MODELS

H, M, LEVELS = 12, 12, (80, 95)


def _monthly(name: str, values, start) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    ds = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), periods=len(values), freq="MS")
    return pd.DataFrame({"unique_id": name, "ds": ds, "y": values})


def _statsmodels() -> list[pd.DataFrame]:
    from statsmodels.datasets import co2 as co2_data
    from statsmodels.datasets import elec_equip, elnino

    co2 = co2_data.load_pandas().data["co2"].resample("MS").mean().interpolate()
    elec = elec_equip.load().data.iloc[:, 0]
    nino = elnino.load_pandas().data.set_index("YEAR")
    return [_monthly("statsmodels/co2", co2.to_numpy(), co2.index[0]),
            _monthly("statsmodels/elec_equip", elec.to_numpy(), elec.index[0]),
            _monthly("statsmodels/elnino", nino.to_numpy().ravel(), f"{int(nino.index[0])}-01-01")]


def _pmdarima() -> list[pd.DataFrame]:
    import pmdarima.datasets as d

    sun = d.load_sunspots(as_series=True).to_numpy()[-240:]
    return [_monthly("pmdarima/wineind", d.load_wineind(), "1980-01-01"),
            _monthly("pmdarima/airpassengers", d.load_airpassengers(), "1949-01-01"),
            _monthly("pmdarima/sunspots_last240", sun, "1964-01-01")]


def _sktime() -> list[pd.DataFrame]:
    from sktime import datasets as d

    out = []
    for name, s in (("sktime/shampoo_sales", d.load_shampoo_sales()), ("sktime/PBS", d.load_PBS_dataset())):
        out.append(_monthly(name, s.to_numpy(), s.index[0].to_timestamp()))
    return out


def _vega() -> list[pd.DataFrame]:
    from vega_datasets import local_data

    emp = local_data.us_employment()
    out = [_monthly(f"vega/us_employment/{c}", emp[c], emp["month"].iloc[0])
           for c in emp.columns if c not in ("month", "nonfarm_change")]
    stocks = local_data.stocks()
    for sym, g in stocks.groupby("symbol"):
        out.append(_monthly(f"vega/stocks/{sym}", g["price"], g["date"].iloc[0]))
    return out


def bundled_monthly_series() -> pd.DataFrame:
    """All bundled monthly series as one long frame (unique_id names the package and dataset)."""
    frames = []
    for loader in (_statsmodels, _pmdarima, _sktime, _vega):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frames += loader()
        except ImportError as exc:
            print(f"skipped {loader.__name__[1:]}: {exc.name} is not installed")
    return pd.concat(frames, ignore_index=True)


def cuts_of(df: pd.DataFrame) -> list[tuple[int, pd.DataFrame, pd.DataFrame]]:
    """(origin, training frame, held-out frame) for origins 12 and 24 months before each series' end."""
    out = []
    for back in (H, 2 * H):
        train, test = [], []
        for _, g in df.groupby("unique_id", sort=False):
            if len(g) - back >= 24:
                train.append(g.iloc[: len(g) - back])
                test.append(g.iloc[len(g) - back: len(g) - back + H])
        out.append((back, pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)))
    return out


def score(fc: pd.DataFrame, col: str, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Per series: MASE, sMAPE and 80/95% coverage of forecast column `col` on the held-out months."""
    rows = []
    merged = test.merge(fc, on=["unique_id", "ds"], how="left")
    for uid, g in merged.groupby("unique_id", sort=False):
        ins = train.loc[train.unique_id == uid, "y"].to_numpy()
        row = {"unique_id": uid, "mase": metrics.mase(g.y, g[col], ins, M), "smape": metrics.smape(g.y, g[col])}
        for lv in LEVELS:
            row[f"cov{lv}"] = metrics.coverage(g.y, g[f"{col}-lo-{lv}"], g[f"{col}-hi-{lv}"])
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--with-prophet", action="store_true", help="also score Prophet alone and auto + Prophet")
    args = ap.parse_args()
    df = bundled_monthly_series()
    print(f"{df.unique_id.nunique()} bundled monthly series, {len(df):,} points")
    methods: dict[str, str | tuple[str, ...]] = {f"{m} (alone)": m for m in (*AUTO_MODELS, "arima")}
    methods["auto"] = "auto"
    methods["auto + arima"] = (*AUTO_MODELS, "arima")
    if args.with_prophet:
        methods["prophet (alone)"] = "prophet"
        methods["auto + prophet"] = (*AUTO_MODELS, "prophet")
    results: dict[str, list[pd.DataFrame]] = {k: [] for k in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for _, train, test in cuts_of(df):
        for label, models in methods.items():
            start = time.perf_counter()
            res = forecast_series(train, H, "MS", LEVELS, models=models, progress=False)
            seconds[label] += time.perf_counter() - start
            results[label].append(score(res.forecast, "forecast", train, test))
    table = []
    for label in methods:
        s = pd.concat(results[label], ignore_index=True)
        table.append({"method": label, "MASE": s.mase.mean(), "median MASE": s.mase.median(), "sMAPE %": s.smape.mean(),
                      "cover 80%": s.cov80.mean(), "cover 95%": s.cov95.mean(), "n": len(s), "seconds": seconds[label]})
    out = pd.DataFrame(table).set_index("method")
    print("(single models also run through forecast_series: same backtest-calibrated intervals, no choice)")
    print(out.to_string(float_format=lambda x: f"{x:.3f}"))
    singles = out.loc[[f"{m} (alone)" for m in MODELS if f"{m} (alone)" in out.index]]
    auto, snaive, best = out.loc["auto", "MASE"], out.loc["seasonal_naive (alone)", "MASE"], singles["MASE"].min()
    print(f"auto MASE / seasonal naive MASE: {auto / snaive:.3f}; auto / best single ({singles['MASE'].idxmin()}): "
          f"{auto / best:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
