"""Out-of-sample accuracy of the monthly report's forecasts on the packaged sample company.

The report forecasts every node of its hierarchy (total, teams, team/workflow) and reconciles them
(reporting.monthly.reconciled_forecast). Here that function runs from rolling origins on the sample's history
with the months after each origin held out, and each node's forecast is scored against what happened:

    .venv/bin/python benchmarks/bench_sample_forecasts.py [--horizon 3] [--origins 4]

Printed: per origin and overall, mean and median MASE over the nodes (scaled by the training history's naive
MAE, m = 1: most nodes have under two years) and the share of actuals inside the 80% and 95% bands. Every origin
has under 24 months, so the short-history rule (naive or drift) forecasts all of them; the report's forecast
from the whole history is then scored on its own backtest (forecast_series' selection: mean MASE of the chosen
model over its windows, m = 12), the only score a forecast past the data can have. To compare
code versions, run it from a checkout of each (e.g. `git worktree add /tmp/before <commit>` and
`PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/bench_sample_forecasts.py`).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from forecast.reporting.monthly import BY, LEVELS, forecastable, reconciled_forecast
from forecast.timeseries import metrics
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.reconcile import hierarchy
from forecast.usage.sample import sample_warehouse
from forecast.usage.series import series


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--horizon", type=int, default=3)
    ap.add_argument("--origins", type=int, default=4, help="origins, --horizon months apart, the last one "
                    "--horizon months before the newest month")
    args = ap.parse_args()
    h = args.horizon
    with sample_warehouse() as wh:
        history = series(wh, by=BY, freq="MS")
    months = sorted(history["ds"].unique())
    nodes = hierarchy(history, LEVELS).frame
    rows = []
    for k in range(args.origins, 0, -1):
        cut = months[len(months) - k * h]
        train = history[history["ds"] < cut]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, forecast, _ = reconciled_forecast(train, h)
        for uid, fc in forecast.groupby("unique_id"):
            past = nodes[(nodes["unique_id"] == uid) & (nodes["ds"] < cut)]["y"].to_numpy()
            actual = nodes[(nodes["unique_id"] == uid) & (nodes["ds"] >= cut)].set_index("ds")["y"]
            fc = fc.set_index("ds").reindex(actual.index[:h])
            if len(fc) < h or len(past) < 2:
                continue
            y = actual.iloc[:h].to_numpy()
            rows.append({"origin": pd.Timestamp(cut).strftime("%Y-%m"), "node": uid,
                         "mase": metrics.mase(y, fc["forecast"].to_numpy(), past, 1),
                         **{f"cover{lv}": metrics.coverage(y, fc[f"forecast-lo-{lv}"], fc[f"forecast-hi-{lv}"])
                            for lv in (80, 95)}})
    frame = pd.DataFrame(rows)
    frame = frame[np.isfinite(frame["mase"])]
    print(f"sample company: {frame['node'].nunique()} nodes, h = {h}, {args.origins} origins")
    print(f"{'origin':8} {'nodes':>5} {'mean MASE':>10} {'median':>7} {'80% cover':>10} {'95% cover':>10}")
    for origin, g in [*frame.groupby("origin"), ("all", frame)]:
        print(f"{origin:8} {len(g):5d} {g['mase'].mean():10.3f} {g['mase'].median():7.3f} "
              f"{g['cover80'].mean():10.1%} {g['cover95'].mean():10.1%}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chosen = forecast_series(forecastable(nodes, 12)[0], h=12, freq="MS", progress=False).selection
    print(f"whole history ({len(months)} months), h = 12: backtest MASE of the chosen model, mean "
          f"{chosen['mase'].mean():.3f}, median {chosen['mase'].median():.3f}; models: "
          + ", ".join(f"{m} {n}" for m, n in chosen["model"].value_counts().items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
