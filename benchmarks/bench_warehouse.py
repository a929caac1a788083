"""Load 10,000,000 request rows from Parquet into the warehouse and build monthly series, against pandas.

Measured, each --repeat times (best and range printed; wall time, and CPU time of all threads):
  load       Warehouse.load: check every row, dedupe, price rows without cost, insert (one transaction)
  series     monthly cost by team x workflow x model from the warehouse
Baselines on the same file in the same run, each in its own process so memory does not mix:
  pandas read + group-by    the issue's baseline: read 5 columns, group by team, workflow, model, month
  pandas same load work     read every column, the loader's row checks, dedupe by request_id, price rows
                            without cost with the same forecast.design.prices lookups (merge on provider, model, UTC
                            day and token band), group-by; then, timed apart, write the accepted rows to
                            Parquet (pandas's counterpart of the warehouse write). Its accounting is printed
                            next to the load's, to show the work is the same.
  DuckDB copy, no checks    CREATE TABLE AS SELECT * FROM the Parquet file into a fresh DuckDB file: the
                            floor for storing these rows in DuckDB on this machine
Target: load + series <= 10 s on a 2-core machine, >= 10x faster than pandas, peak <= 4 GB (issue 16: <= 1 GB).

    .venv/bin/python benchmarks/bench_warehouse.py [--rows 10000000] [--repeat 2] [--parquet FILE]

--parquet reuses a file written by an earlier run (`--keep FILE` saves the generated one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

GENERATE = """
import sys
import pyarrow.parquet as pq
from forecast.usage.sample import generate_requests
table, _ = generate_requests(int(sys.argv[1]), 24, seed=1)
pq.write_table(table, sys.argv[2], compression="zstd")
"""
GROUP = ["team_id", "workflow_name", "model"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def pandas_group_by(parquet: str) -> dict:
    """The issue's baseline: read the columns the series needs and group by team, workflow, model, month."""
    import pandas as pd

    t = time.perf_counter()
    df = pd.read_parquet(parquet, columns=["timestamp", *GROUP, "cost_usd"])
    df["month"] = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    out = df.groupby([*GROUP, "month"], dropna=False)["cost_usd"].sum()
    return {"s": time.perf_counter() - t, "groups": len(out)}


def pandas_load(parquet: str, now_iso: str, out: str) -> dict:
    """The load's work in pandas: read, the same row checks, dedupe, pricing join, group-by (+ write, apart)."""
    import numpy as np
    import pandas as pd

    from forecast.design.prices import PriceBook
    from forecast.usage.pricing import price_tables

    parts, t = {}, time.perf_counter()

    def lap(name):
        nonlocal t
        parts[name] = time.perf_counter() - t
        t = time.perf_counter()

    df = pd.read_parquet(parquet)
    lap("read")

    def text(col):  # trimmed, empty as missing (as the loader's text())
        s = df[col].str.strip()
        return s.mask(s == "")

    for col in ("request_id", "team_id", "cost_center", "feature_id", "workflow_name", "environment", "intent",
                "agent_id", "task_id"):
        df[col] = text(col)
    for col in ("provider", "model", "status", "outcome"):
        df[col] = text(col).str.lower()
    cached = df["cached_input_tokens"].fillna(0)
    cost, latency = df["cost_usd"], df["latency_ms"]
    bad = (df["timestamp"].isna() | (df["timestamp"] > pd.Timestamp(now_iso)) | df["request_id"].isna()
           | df["model"].isna() | df["input_tokens"].isna() | (df["input_tokens"] < 0)
           | (df["cached_input_tokens"] < 0) | df["output_tokens"].isna() | (df["output_tokens"] < 0)
           | (cached > df["input_tokens"]) | (cost.notna() & ~(np.isfinite(cost) & (cost >= 0)))
           | ~df["status"].isin(["ok", "error", "retry"])
           | (latency.notna() & ~(np.isfinite(latency) & (latency >= 0)))
           | (df["outcome"].notna() & ~df["outcome"].isin(["success", "failure"])))
    valid = ~bad
    dup = pd.Series(False, index=df.index)
    dup[valid] = df.loc[valid, "request_id"].duplicated()  # file order is line order: the first valid one stays
    keep = valid & ~dup
    lap("checks + dedupe")

    df["day"] = df["timestamp"].dt.floor("D").dt.date
    need = df[keep & df["cost_usd"].isna()]
    keys = need[["provider", "model", "day"]].drop_duplicates()
    bands, _misses = price_tables([(p, m, d, False) for p, m, d in keys.itertuples(index=False)], PriceBook())
    bands = bands.to_pandas()
    priced = need[["provider", "model", "day", "input_tokens", "cached_input_tokens", "output_tokens"]].reset_index() \
        .merge(bands, on=["provider", "model", "day"])
    inside = (priced["input_tokens"] > priced["above_input_tokens"]) | (priced["above_input_tokens"] == 0)
    inside &= priced["upto_input_tokens"].isna() | (priced["input_tokens"] <= priced["upto_input_tokens"])
    priced = priced[inside]
    c = priced["cached_input_tokens"].fillna(0)
    usd = ((priced["input_tokens"] - c) * priced["input_usd_per_mtok"] + c * priced["cached_input_usd_per_mtok"]
           + priced["output_tokens"] * priced["output_usd_per_mtok"]) / 1e6 + priced["usd_per_call"]
    df.loc[priced["index"].to_numpy(), "cost_usd"] = usd.round(10).to_numpy()
    accepted = keep & df["cost_usd"].notna()
    lap("pricing")

    df["month"] = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    groups = df[accepted].groupby([*GROUP, "month"], dropna=False)["cost_usd"].sum()
    lap("group-by")
    df[accepted].drop(columns=["day", "month"]).to_parquet(out, compression="zstd")
    lap("write")
    return {"parts": parts, "groups": len(groups), "accepted": int(accepted.sum()),
            "quarantined": int((bad | (keep & ~accepted)).sum()), "duplicate": int(dup.sum()),
            "cost_usd": float(df.loc[accepted, "cost_usd"].sum())}


def duckdb_copy(parquet: str, db: str) -> dict:
    """Floor: store the file's rows in a fresh DuckDB file, nothing checked."""
    import duckdb

    con = duckdb.connect(db)
    con.execute("SET preserve_insertion_order = false")
    t, c = time.perf_counter(), cpu_s()
    con.execute(f"CREATE TABLE copy AS SELECT * FROM read_parquet('{parquet}')")
    con.close()
    return {"s": time.perf_counter() - t, "cpu_s": cpu_s() - c}


def child(name: str, *args: str) -> dict:
    """Run one of the functions above in a fresh process; returns its result and the process's peak RSS."""
    done = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} s" + (f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--parquet", type=Path, help="reuse this request-log Parquet file instead of generating one")
    ap.add_argument("--keep", type=Path, help="save the generated Parquet file here")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, *rest = args.child
        result = {"group-by": pandas_group_by, "load": pandas_load, "copy": duckdb_copy}[name](*rest)
        print(json.dumps({**result, "peak_mib": peak_mib()}))
        return
    import pyarrow.parquet as pq

    from forecast.usage.series import series
    from forecast.usage.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        parquet = args.parquet or Path(tmp) / "requests.parquet"
        if not args.parquet:
            t = time.perf_counter()  # in a child process, so this process's peak is load + series only
            subprocess.run([sys.executable, "-c", GENERATE, str(args.rows), str(parquet)], check=True)
            print(f"generate: {time.perf_counter() - t:.1f} s (not part of any figure below)")
            if args.keep:
                shutil.copyfile(parquet, args.keep)
        rows = pq.ParquetFile(parquet).metadata.num_rows
        print(f"file: {rows:,} rows, {parquet.stat().st_size / 2**20:.0f} MiB Parquet; {args.repeat} run(s): "
              f"best time (range over runs); cpu = CPU seconds of all threads (= wall x 2 when both cores are ours)")
        now = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        runs: dict[str, list] = {k: [] for k in ("load", "load_cpu", "series", "total", "direct", "copy", "copy_cpu",
                                                 "gb", "pl", "plw")}
        before = peak_mib()
        for i in range(args.repeat):
            db = Path(tmp) / f"w{i}.duckdb"
            t, c = time.perf_counter(), cpu_s()
            with Warehouse(db) as wh:
                result = wh.load(parquet)
                runs["load"].append(time.perf_counter() - t)
                runs["load_cpu"].append(cpu_s() - c)
                t = time.perf_counter()
                frame = series(wh, by=GROUP, freq="MS")
                runs["series"].append(time.perf_counter() - t)
                runs["total"].append(runs["load"][-1] + runs["series"][-1])
                t = time.perf_counter()
                direct = wh.sql(f"""SELECT team_id, workflow_name, model, date_trunc('month', "timestamp"),
                                    sum(cost_usd) FROM read_parquet('{parquet}') GROUP BY ALL""").fetchall()
                runs["direct"].append(time.perf_counter() - t)
            peak, size = peak_mib(), db.stat().st_size
            db.unlink()
            gb = child("group-by", str(parquet))
            runs["gb"].append(gb["s"])
            pl = child("load", str(parquet), now, str(Path(tmp) / "accepted.parquet"))
            runs["pl"].append(sum(v for k, v in pl["parts"].items() if k != "write"))
            runs["plw"].append(sum(pl["parts"].values()))
            cp = child("copy", str(parquet), str(Path(tmp) / "copy.duckdb"))
            (Path(tmp) / "copy.duckdb").unlink()
            runs["copy"].append(cp["s"])
            runs["copy_cpu"].append(cp["cpu_s"])
        best = {k: min(v) for k, v in runs.items()}
        print(result.line())
        print(f"load:          {spread(runs['load'])}, cpu {spread(runs['load_cpu'])}")
        print(f"series:        {spread(runs['series'])} ({len(frame):,} rows)")
        print(f"load + series: {spread(runs['total'])}   target <= 10 s")
        print(f"DuckDB copy of the Parquet file into a table, nothing checked (the floor): {spread(runs['copy'])}, "
              f"cpu {spread(runs['copy_cpu'])}")
        print(f"pandas read + group-by (the issue's baseline): {spread(runs['gb'])}, peak {gb['peak_mib']:,.0f} MiB "
              f"({gb['groups']} groups)")
        print(f"  DuckDB same read + group-by on the Parquet file: {spread(runs['direct'])} ({len(direct)} groups)")
        parts = ", ".join(f"{k} {v:.2f}" for k, v in pl["parts"].items())
        print(f"pandas same load work: {spread(runs['pl'])} without its write, {spread(runs['plw'])} with it "
              f"[last run, s: {parts}], peak {pl['peak_mib']:,.0f} MiB")
        print(f"  pandas accounting: accepted {pl['accepted']} + quarantined {pl['quarantined']} + duplicate "
              f"{pl['duplicate']}; cost ${pl['cost_usd']:,.2f}")
        print(f"ratios (pandas / DuckDB, best runs): read + group-by vs load + series {best['gb'] / best['total']:.2f}x"
              f"; the same read + group-by {best['gb'] / best['direct']:.1f}x; same load work vs load + series "
              f"{best['pl'] / best['total']:.1f}x ({best['plw'] / best['total']:.1f}x with pandas's write)")
        print(f"peak RSS: {peak:,.0f} MiB (before the first load {before:,.0f} MiB; target <= 4096 MiB); "
              f"warehouse file {size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
