"""Load 10,000,000 request rows from Parquet into the warehouse and build monthly series.

Prints wall time and peak memory (RSS high-water mark of this process) for:
  generate   the sample generator writing the Parquet file (not part of the target)
  load       Warehouse.load: check every row, dedupe, price rows without cost, insert (one transaction)
  series     monthly cost by team x workflow x model from the warehouse
and, in the same run, pandas doing the same read and group-by on the same file (the baseline).
Target: load + series <= 10 s on a 2-core machine, >= 10x faster than pandas, peak <= 4 GB.

    .venv/bin/python benchmarks/bench_warehouse.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
import sys
import pyarrow.parquet as pq
from forecast.sample import generate_requests
table, _ = generate_requests(int(sys.argv[1]), 24, seed=1)
pq.write_table(table, sys.argv[2], compression="zstd")
"""
BASELINE = """
import sys, time, resource
import pandas as pd
t = time.perf_counter()
df = pd.read_parquet(sys.argv[1], columns=["timestamp", "team_id", "workflow_name", "model", "cost_usd"])
df["month"] = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
out = df.groupby(["team_id", "workflow_name", "model", "month"], dropna=False)["cost_usd"].sum()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(out))
"""


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    import pyarrow.parquet as pq

    from forecast.usage import Warehouse
    from forecast.usage.series import series

    with tempfile.TemporaryDirectory() as tmp:
        parquet, db = Path(tmp) / "requests.parquet", Path(tmp) / "w.duckdb"
        t = time.perf_counter()  # generated in a child process so this process's peak is load + series only
        subprocess.run([sys.executable, "-c", GENERATE, str(args.rows), str(parquet)], check=True)
        gen_s = time.perf_counter() - t
        rows = pq.ParquetFile(parquet).metadata.num_rows
        print(f"generate: {rows:,} rows, {parquet.stat().st_size / 2**20:.0f} MiB Parquet in {gen_s:.1f} s")

        # the pandas baseline runs in its own process so its memory does not mix with ours
        done = subprocess.run([sys.executable, "-c", BASELINE, str(parquet)], capture_output=True, text=True,
                              check=True)
        pandas_s, pandas_mib, groups = done.stdout.split()
        pandas_s, pandas_mib = float(pandas_s), float(pandas_mib)

        before = peak_mib()
        t = time.perf_counter()
        with Warehouse(db) as wh:
            result = wh.load(parquet)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            frame = series(wh, by=["team_id", "workflow_name", "model"], freq="MS")
            series_s = time.perf_counter() - t
            t = time.perf_counter()
            direct = wh.sql(f"""SELECT team_id, workflow_name, model, date_trunc('month', "timestamp"),
                                sum(cost_usd) FROM read_parquet('{parquet}') GROUP BY ALL""").fetchall()
            direct_s = time.perf_counter() - t
        print(result.line())
        print(f"load:   {load_s:6.2f} s   series: {series_s:5.2f} s ({len(frame):,} rows)   "
              f"load + series: {load_s + series_s:6.2f} s (target <= 10 s)")
        print(f"pandas read + group-by: {pandas_s:6.2f} s, peak {pandas_mib:,.0f} MiB ({groups} groups)")
        print(f"DuckDB same read + group-by on the Parquet file: {direct_s:5.2f} s ({len(direct)} groups)")
        print(f"ratios vs pandas: same read + group-by {pandas_s / direct_s:5.1f}x faster; series from the "
              f"warehouse {pandas_s / series_s:5.1f}x; full load + series {pandas_s / (load_s + series_s):5.2f}x")
        print(f"peak RSS: {peak_mib():,.0f} MiB (before load {before:,.0f} MiB; target <= 4096 MiB); "
              f"warehouse file {db.stat().st_size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
