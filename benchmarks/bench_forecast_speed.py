"""Speed of auto mode (backtest-based selection + calibrated intervals) vs statsforecast's AutoETS.

Forecasts N synthetic monthly series (48 to 126 points, trend x seasonality x noise, seeded) h=18
periods ahead with 80/95% intervals, prints wall time and peak memory, then runs statsforecast's
AutoETS (season 12, same levels, same cores) on the same frame in the same run and prints the ratio.
With --dask it runs the same workload on a local Dask cluster (one single-thread worker per core)
and prints throughput in series per second per core.

    bash benchmarks/setup_bench_env.sh            # .venv-bench: the package + statsforecast
    .venv-bench/bin/python benchmarks/bench_forecast_speed.py --series 1000
    .venv-bench/bin/python benchmarks/bench_forecast_speed.py --series 10000 --dask --no-baseline
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from forecast.timeseries.auto import forecast_series

H, LEVELS = 18, (80, 95)


def monthly_panel(n_series: int, seed: int = 0) -> pd.DataFrame:
    """n_series monthly series of 48-126 points: level x (1 + trend) x seasonal factor x lognormal noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        n = int(rng.integers(48, 127))
        t = np.arange(n)
        level = rng.lognormal(6, 1.5)
        trend = 1 + rng.normal(0.01, 0.01) * t
        season = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
        y = level * np.clip(trend, 0.05, None) * season * rng.lognormal(0, rng.uniform(0.02, 0.15), n)
        parts.append(pd.DataFrame({"unique_id": f"s{i:05d}", "ds": pd.date_range("2014-01-01", periods=n, freq="MS"),
                                   "y": y}))
    return pd.concat(parts, ignore_index=True)


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, MiB (Linux ru_maxrss is KiB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def run_ours(df: pd.DataFrame, scheduler: str | None) -> float:
    start = time.perf_counter()
    result = forecast_series(df, H, "MS", LEVELS, scheduler=scheduler, progress=False)
    wall = time.perf_counter() - start
    sel = result.selection
    chosen = sel["model"].str.replace(r"\(.*", "", regex=True).value_counts().to_dict()
    print(f"  models chosen: {chosen}")
    print(f"  backtest: mean MASE {sel['mase'].mean():.3f}, 80% coverage {sel['coverage-80'].mean():.3f}, "
          f"95% coverage {sel['coverage-95'].mean():.3f}, bands rebuilt from the backtest on "
          f"{(sel['calibration-80'].fillna('model') != 'model').mean():.1%}")
    return wall


def run_autoets(df: pd.DataFrame, cores: int) -> float:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    sf = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=cores)
    sf.forecast(df=df[df.unique_id.isin(df.unique_id.unique()[:cores * 2])], h=H, level=list(LEVELS))  # numba JIT
    start = time.perf_counter()
    sf.forecast(df=df, h=H, level=list(LEVELS))
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--dask", action="store_true", help="run on a local Dask cluster (LocalCluster)")
    ap.add_argument("--no-baseline", action="store_true", help="skip statsforecast AutoETS")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    df = monthly_panel(args.series)
    print(f"{args.series:,} monthly series, {len(df):,} rows, h={H}, levels {LEVELS}, {cores} cores")
    cluster = None
    if args.dask:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None)
        scheduler = cluster.scheduler_address
    else:
        scheduler = "local"
    ours = run_ours(df, scheduler)
    if cluster is not None:
        cluster.close()  # workers must have exited for their peak memory to be counted
    self_mib, child_mib = peak_rss_mib()
    where = "Dask LocalCluster" if args.dask else "local processes"
    print(f"forecast auto ({where}): {ours:.1f} s wall, {args.series / ours:.1f} series/s, "
          f"{args.series / ours / cores:.2f} series/s/core; peak RSS {self_mib:.0f} MiB (parent), "
          f"{child_mib:.0f} MiB (largest worker)")
    if args.no_baseline:
        return 0
    try:
        base = run_autoets(df, cores)
    except ImportError:
        print("statsforecast is not installed here: run in .venv-bench (bash benchmarks/setup_bench_env.sh)")
        return 1
    print(f"statsforecast AutoETS (n_jobs={cores}, after JIT warm-up): {base:.1f} s wall")
    print(f"ratio forecast auto / AutoETS: {ours / base:.2f} (target <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
