"""What-if panel update latency: 200 updates with 20,000 Monte Carlo tasks each.

Each update moves one control (volume, cache hit rate, retry rate, success rate, routed share, in
turn) and runs what the panel runs: `WhatIf.update` (apply the controls, re-validate the spec,
`estimate` with 20,000 tasks and 2,000 monthly scenarios over 12 months, the headline figures)
and, separately timed, the two charts as SVG. Baseline measured in the same run: a bare
`estimate()` call on the unchanged spec with the same settings. Target: p95 <= 150 ms per update
(figures); the chart render is reported beside it.

    .venv/bin/python benchmarks/bench_whatif.py [--spec SPEC] [--updates N] [--charts]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from forecast.design.estimate import estimate
from forecast.design.prices import PriceBook
from forecast.whatif.state import load_what_if

ROOT = Path(__file__).resolve().parents[1]


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "data/workflows/support_triage.yaml"))
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--charts", action="store_true", help="also time the two SVG charts of each update")
    args = ap.parse_args()
    book = PriceBook.from_file(ROOT / "data/prices/overrides.yaml")
    state = load_what_if(args.spec, book)
    c0 = state.initial_controls
    state.update(c0)  # warm caches (price lookups, imports)

    baseline = []
    for _ in range(args.updates):
        t = time.perf_counter()
        estimate(state.workflow, book, state.on, state.samples, state.seed, state.scenarios, state.months).to_dict()
        baseline.append(time.perf_counter() - t)

    rng = np.random.default_rng(0)
    updates, chart_times = [], []
    for i in range(args.updates):
        k = i % 5
        c = c0
        if k == 0:
            c = replace(c0, tasks_per_month=float(rng.integers(1_000, 200_000)))
        elif k == 1:
            c = replace(c0, cache_hit_rate=round(float(rng.uniform(0, 1)), 2))
        elif k == 2:
            c = replace(c0, retry_rate=round(float(rng.uniform(0, 0.3)), 2))
        elif k == 3:
            c = replace(c0, success_rate=round(float(rng.uniform(0.3, 1)), 2))
        elif c0.routed_share is not None:
            c = replace(c0, routed_share=round(float(rng.uniform(0, 1)), 2))
        t = time.perf_counter()
        result = state.update(c)
        updates.append(time.perf_counter() - t)
        assert not state.problems, state.problems
        if args.charts:
            from forecast.whatif.views import charts_svg

            t = time.perf_counter()
            charts_svg(result)
            chart_times.append(time.perf_counter() - t)

    print(f"spec: {args.spec}; {args.updates} updates, {state.samples:,} Monte Carlo tasks, "
          f"{state.scenarios:,} monthly scenarios, {state.months} months")
    print(f"baseline bare estimate(): p50 {_p(baseline, 50):.1f} ms  p95 {_p(baseline, 95):.1f} ms")
    print(f"panel update (figures):   p50 {_p(updates, 50):.1f} ms  p95 {_p(updates, 95):.1f} ms  "
          f"(target p95 <= 150 ms: {'met' if _p(updates, 95) <= 150 else 'NOT met'})")
    print(f"ratio update / baseline:  p50 {_p(updates, 50) / _p(baseline, 50):.2f}x  "
          f"p95 {_p(updates, 95) / _p(baseline, 95):.2f}x")
    if chart_times:
        print(f"charts (2 SVG, vl-convert): p50 {_p(chart_times, 50):.1f} ms  p95 {_p(chart_times, 95):.1f} ms  "
              "(drawn after the figures are shown)")


if __name__ == "__main__":
    main()
