"""Monte Carlo throughput: 1,000,000 tasks of a 10-step agent workflow on one core.

Prints the simulation's time and peak memory, and the ratio of its time to the time numpy
needs just to draw the same number of random variates (uniform doubles, same chunk size), both
measured in this run. Target: <= 0.5 s and <= 1 GB peak for 1,000,000 tasks.

    .venv/bin/python benchmarks/bench_montecarlo.py [--tasks N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from datetime import date
from pathlib import Path

os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

import numpy as np  # noqa: E402

from forecast.design import workload  # noqa: E402
from forecast.design.prices import PriceBook  # noqa: E402
from forecast.design.specs import load_workflow  # noqa: E402

SPEC = Path(__file__).with_name("agent_10_steps.yaml")
CHUNK = 1 << 16


class CountingRng:
    """Wraps a Generator and counts the variates drawn (the `size` of every call)."""

    def __init__(self, rng):
        self.rng, self.count, self.calls = rng, 0, []

    def __getattr__(self, name):
        method = getattr(self.rng, name)

        def counted(*args, **kwargs):
            out = method(*args, **kwargs)
            self.count += np.size(out)
            self.calls.append((name, args, kwargs))
            return out

        return counted


def sampling_calls(plan) -> tuple[float, list]:
    """Variates drawn per task, and the Generator calls one chunk of CHUNK tasks makes."""
    counter = CountingRng(np.random.default_rng(0))
    workload._chunk_task_costs(plan, counter, CHUNK)
    return counter.count / CHUNK, counter.calls


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    workflow = load_workflow(SPEC)
    steps = sum(len(s.steps) if hasattr(s, "steps") else 1 for s in workflow.steps)
    plan = workload.compile_plan(workflow, PriceBook(), date(2026, 11, 25))
    per_task, calls = sampling_calls(plan)
    n_variates = round(per_task * args.tasks)

    def simulate():
        return workload.simulate_task_costs_usd(plan, args.tasks, seed=1, chunk_tasks=CHUNK)

    def draw_only():
        rng = np.random.default_rng(1)
        for start in range(0, n_variates, CHUNK):
            rng.random(min(CHUNK, n_variates - start))

    def draw_same_distributions():
        rng = np.random.default_rng(1)
        for _ in range(0, args.tasks, CHUNK):  # the engine's own sampling calls, replayed
            for name, a, kw in calls:
                getattr(rng, name)(*a, **kw)

    simulate()  # warm up (imports, price lookups, scipy)
    t_sim = best_time(simulate, args.repeat)
    t_draw = best_time(draw_only, args.repeat)
    t_same = best_time(draw_same_distributions, args.repeat)

    tracemalloc.start()
    costs = simulate()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"workflow: {workflow.name} ({steps} steps), {args.tasks:,} tasks, 1 core, best of {args.repeat}")
    print(f"random variates drawn: {n_variates:,} ({n_variates / args.tasks:.1f} per task)")
    print(f"simulate:      {t_sim:.3f} s  ({args.tasks / t_sim / 1e6:.2f} M tasks/s)")
    print(f"numpy draws:   {t_draw:.3f} s  (same number of uniform variates)")
    print(f"ratio:         {t_sim / t_draw:.2f}x the time to draw the variates alone")
    print(f"same draws:    {t_same:.3f} s  (the engine's own triangular/beta/lognormal draws, replayed)")
    print(f"ratio:         {t_sim / t_same:.2f}x the time of the engine's sampling alone")
    print(f"peak memory:   {peak / 2**20:.1f} MiB (tracemalloc, during one simulation)")
    print(f"mean cost:     {costs.mean():.5f} USD/task (closed form {workload.expected_task_cost_usd(plan):.5f})")
    print(f"target:        <= 0.5 s and <= 1024 MiB -> {'met' if t_sim <= 0.5 and peak <= 2**30 else 'NOT met'}")


if __name__ == "__main__":
    main()
