"""Load native CSV, JSON Lines and Parquet request logs and a FOCUS CSV into the warehouse, against DuckDB's
bare read + insert of the same file in the same run.

For each format, in fresh processes (so memory does not mix), best of --repeat:
  floor   CREATE TABLE AS SELECT * FROM read_csv / read_json / read_parquet (DuckDB's own type detection,
          rejects stored for CSV; read_json with sample_size = -1, since keys that first appear after its
          default 20,480-row sample make it refuse the file) into a fresh DuckDB file: nothing checked, nothing
          priced
  load    Warehouse.load: every row checked, deduplicated, priced where it has no cost, quarantined with
          its reason and raw text, inserted, in one transaction (the file's SHA-256 and line count included)
Printed: seconds, peak RSS (MiB) and load / floor. Targets (issue 16): load <= 2x floor for every format at
1M and 10M rows, peak <= 1 GB at 10M.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--repeat 2] [--formats csv,jsonl,parquet,focus]
                                                [--folder DIR]

Files come from `forecast sample-data --rows N --months 6 --format F` (about 5% of rows corrupted, as the
sample is); the FOCUS file is the sample's invoice repeated with a copy number in ChargeDescription until it
has --rows rows (distinct rows: nothing is a duplicate).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READERS = {"csv": "read_csv('{f}', store_rejects = true)",
           "jsonl": "read_json('{f}', format = 'newline_delimited', sample_size = -1)",
           "parquet": "read_parquet('{f}')", "focus": "read_csv('{f}', store_rejects = true)"}


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(path: str, fmt: str, db: str) -> dict:
    import duckdb

    con = duckdb.connect(db)
    t = time.perf_counter()
    con.execute(f"CREATE TABLE copy AS SELECT * FROM {READERS[fmt].format(f=path)}")
    rows = con.execute("SELECT count(*) FROM copy").fetchall()[0][0]
    con.close()
    return {"s": time.perf_counter() - t, "rows": rows}


def load(path: str, fmt: str, db: str) -> dict:
    from forecast.usage.warehouse import Warehouse

    with Warehouse(db) as wh:
        t = time.perf_counter()
        r = wh.load(path, kind="focus" if fmt == "focus" else "native")
        s = time.perf_counter() - t
    return {"s": s, "rows": r.rows_read, "line": r.line()}


def child(name: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_files(rows: int, formats: list[str], folder: Path) -> dict[str, Path]:
    """The sample files for each format under `folder` (generated when missing, reused otherwise)."""
    files = {}
    for fmt in {"csv" if f == "focus" else f for f in formats}:
        out = folder / fmt
        if not (out / "MANIFEST.json").exists():
            subprocess.run([sys.executable, "-m", "forecast.cli", "sample-data", "--rows", str(rows), "--months", "6",
                            "--format", fmt, "--out", str(out)], check=True, capture_output=True)
        files[fmt] = out / f"requests.{fmt}"
        files["_invoice"] = out / "focus_billing.csv"
    files["focus"] = folder / "focus.csv"
    if "focus" in formats and not files["focus"].exists():
        import duckdb

        src = files["_invoice"]
        con = duckdb.connect()
        n = con.execute(f"SELECT count(*) FROM read_csv('{src}')").fetchall()[0][0]
        copies = -(-rows // n)
        con.execute(f"""COPY (SELECT * REPLACE (ChargeDescription || ' #' || k AS ChargeDescription)
            FROM read_csv('{src}', all_varchar = true), range({copies}) r(k) LIMIT {rows})
            TO '{files["focus"]}' (HEADER, DELIMITER ',')""")
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--formats", default="csv,jsonl,parquet,focus")
    ap.add_argument("--folder", type=Path, default=None,
                    help="keep the generated files here and reuse them on the next run (default: a temporary folder)")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        name, path, fmt, db = args.child
        result = {"floor": floor, "load": load}[name](path, fmt, db)
        result["peak_mib"] = peak_mib()
        print(json.dumps(result))
        return
    formats = args.formats.split(",")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files = make_files(args.rows, formats, folder)
        print(f"{args.rows:,} rows requested; best of {args.repeat}; fresh process and DuckDB file per run")
        print(f"{'format':8} {'MB':>7} {'rows':>11} {'floor s':>8} {'MiB':>6} {'load s':>7} {'MiB':>6} {'ratio':>6}")
        for fmt in formats:
            path = files[fmt]
            best = {}
            for name in ("floor", "load"):
                runs = []
                for _ in range(args.repeat):
                    db = folder / f"{name}.duckdb"
                    db.unlink(missing_ok=True)
                    shutil.rmtree(folder / f"{name}.duckdb.tmp", ignore_errors=True)
                    runs.append(child(name, str(path), fmt, str(db)))
                best[name] = min(runs, key=lambda r: r["s"])
                best[name]["peak_mib"] = max(r["peak_mib"] for r in runs)
            f, ld = best["floor"], best["load"]
            print(f"{fmt:8} {path.stat().st_size / 1e6:7.0f} {ld['rows']:11,} {f['s']:8.2f} {f['peak_mib']:6.0f} "
                  f"{ld['s']:7.2f} {ld['peak_mib']:6.0f} {ld['s'] / f['s']:5.2f}x")
            print(f"         {ld['line']}")
    finally:
        for name in ("floor.duckdb", "load.duckdb", "floor.duckdb.tmp", "load.duckdb.tmp"):
            shutil.rmtree(folder / name, ignore_errors=True) if (folder / name).is_dir() else \
                (folder / name).unlink(missing_ok=True)
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
