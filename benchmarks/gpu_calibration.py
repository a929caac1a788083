"""Predicted vs measured for every row of data/gpu/reference_measurements.csv (the project's published
measurements, copied from shared/reference/), MAPE overall and per metric, the worst ratio, and a
leave-one-publisher-out check (fit on the others, score the held-out rows).

    .venv/bin/python benchmarks/gpu_calibration.py          # score the committed factors
    .venv/bin/python benchmarks/gpu_calibration.py --fit    # refit the four global factors first
"""

from __future__ import annotations

import sys

from forecast.gpu.calibration import ROW_ASSUMPTIONS, fit, leave_one_source_out, load_reference, score
from forecast.gpu.timing import CALIBRATED


def main(argv: list[str]) -> int:
    rows = load_reference()
    eff = fit(rows) if "--fit" in argv else CALIBRATED
    print(f"efficiency factors ({'refitted' if '--fit' in argv else 'committed'}): {eff}")
    s = score(rows, eff)
    print(f"\n{'line':>4}  {'model':<13} {'gpu':<15} {'n':>2} {'metric':<20} {'load':<8} {'measured':>10} "
          f"{'predicted':>10} {'error':>7}  assumed")
    for r, p, q in zip(rows, s.predicted, s.ratio, strict=True):
        print(f"{r.line:>4}  {r.model:<13} {r.gpu:<15} {r.n_gpus:>2} {r.metric:<20} {r.concurrency:<8} "
              f"{r.measured:>10,.1f} {p:>10,.1f} {q - 1:>+7.1%}  {'yes' if r.assumed else ''}")
    print(f"\nMAPE overall {s.mape:.1%}; " + "; ".join(f"{m} {v:.1%}" for m, v in s.mape_by_metric.items()))
    print(f"worst ratio (either way) {s.max_ratio:.2f}x; target MAPE <= 20% and no row off by > 2x: "
          f"{'met' if s.mape <= 0.20 and s.max_ratio <= 2 else 'NOT met'}")
    print("\nassumptions for facts the rows leave blank:")
    for a in ROW_ASSUMPTIONS:
        print(f"  - {a}")
    print("\nleave one publisher out (fit on the other publishers, score the held-out rows):")
    held = []
    for source, e, sc in leave_one_source_out(rows):
        held += [abs(q - 1) for q in sc.ratio]
        print(f"  {source:<36} held-out MAPE {sc.mape:6.1%}  worst {sc.max_ratio:.2f}x  "
              f"(bw {e.memory_bandwidth_utilisation:.2f}, compute {e.compute_utilisation:.2f}, "
              f"overhead {e.step_overhead_ms:.1f} ms, all-reduce {e.allreduce_latency_us:.0f} us)")
    print(f"  all held-out rows: MAPE {sum(held) / len(held):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
