"""How fast the command line answers: wall time of whole processes, median of N runs each, against the
interpreter's own start-up measured in the same run.

Baselines: `python -c pass` (the floor) and `python -c 'import forecast'` (the package itself). Commands:
`forecast --version`, `forecast --help`, `forecast estimate data/workflows/support_triage.yaml` (the issue's
example). Targets: --version and --help <= 0.3 s, the estimate <= 1.0 s (medians of 5, this 2-core machine).

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORECAST = Path(sys.executable).with_name("forecast")
SPEC = "data/workflows/support_triage.yaml"
CASES = [
    ("python -c pass", [sys.executable, "-c", "pass"], None),
    ("python -c 'import forecast'", [sys.executable, "-c", "import forecast"], None),
    ("forecast --version", [FORECAST, "--version"], 0.3),
    ("forecast --help", [FORECAST, "--help"], 0.3),
    (f"forecast estimate {SPEC}", [FORECAST, "estimate", SPEC], 1.0),
]


def wall_s(cmd: list, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    wall_s(CASES[-1][1], 1)  # warm the file cache once (bytecode, the price database)
    floor = None
    print(f"median of {args.runs} runs (min-max), from {ROOT}")
    for label, cmd, target in CASES:
        times = wall_s(cmd, args.runs)
        median = statistics.median(times)
        floor = floor or median
        verdict = "" if target is None else f"  target <= {target:.1f} s: {'met' if median <= target else 'NOT met'}"
        print(f"{label:60s} {median:6.3f} s ({min(times):.3f}-{max(times):.3f}), {median / floor:5.1f}x python"
              f"{verdict}")


if __name__ == "__main__":
    main()
