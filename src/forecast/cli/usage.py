"""The usage-data subcommands of `forecast`: ingest, coverage, export-focus, sample-data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ..core.errors import ForecastError, UsageError
from ..core.formatting import usd
from ..usage.schema import TAGS
from ..usage.series import COVERAGE_TARGET
from ..usage.warehouse import DEFAULT_WAREHOUSE, KINDS, Warehouse
from .argtypes import day as _day
from .argtypes import month as _month
from .tables import table

COMMANDS = ("ingest", "coverage", "export-focus", "sample-data")


def add_parsers(sub, overrides_option: Callable) -> None:
    """Register the usage subcommands on an argparse subparsers object."""
    w = {"default": str(DEFAULT_WAREHOUSE), "help": f"DuckDB warehouse file (default {DEFAULT_WAREHOUSE})"}
    p = sub.add_parser("ingest", help="load request logs, OTel spans or FOCUS billing into the warehouse")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--warehouse", **w)
    p.add_argument("--format", choices=KINDS, default=None, help="default: from the file (.json = otel, "
                   "BilledCost column = focus, else native)")
    p.add_argument("--timezone", default=None, help="IANA zone for timestamps without a UTC offset")
    p.add_argument("--focus-version", choices=("1.0", "1.1", "1.2", "1.3"), default=None,
                   help="FOCUS version of the file (default: detected from its columns)")
    overrides_option(p)

    p = sub.add_parser("coverage", help="tag coverage of requests and spend, by environment and team")
    p.add_argument("--warehouse", **w)
    p.add_argument("--required", default=",".join(TAGS), help=f"comma-separated tags (default {','.join(TAGS)})")
    p.add_argument("--since", type=_day, default=None, help="first day YYYY-MM-DD")
    p.add_argument("--until", type=_day, default=None, help="day after the last YYYY-MM-DD")

    p = sub.add_parser("export-focus", help="write a month of spend as FOCUS cost and usage rows")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.add_argument("--warehouse", **w)
    p.add_argument("--focus-version", choices=("1.0", "1.1", "1.2", "1.3"), default="1.0")
    p.add_argument("--out", default=None, help="CSV or .parquet path (default reports/focus/focus-<month>-<v>.csv)")

    p = sub.add_parser("sample-data", help="generate a deterministic synthetic company's usage and billing files")
    p.add_argument("--out", required=True)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--rows", type=int, default=100_000, help="request-log rows, about (default 100000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")


def ingest(args, book) -> tuple[str, int]:
    """Load each file in its own transaction; a bad file is reported and the others still load."""
    lines, failed = [], 0
    with Warehouse(args.warehouse) as wh:
        for path in args.paths:
            try:
                result = wh.load(path, args.format, args.timezone, book, args.focus_version)
            except UsageError as exc:
                failed += 1
                for problem in exc.problems:
                    print(f"error: {problem}", file=sys.stderr)
                continue
            lines.append(result.line())
            if result.quarantined:
                top = wh.sql("SELECT regexp_replace(reason, '''[^'']*''', '…', 'g') AS rule, count(*), min(line) "
                             "FROM quarantine WHERE load_id = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
                             [result.load_id]).fetchall()
                lines += [f"  quarantined {n} × {rule} (first at line {first})" for rule, n, first in top]
    return "\n".join(lines) + "\n", 2 if failed else 0


def coverage_text(args) -> str:
    from ..usage.series import coverage, untagged_spend

    required = [t.strip() for t in args.required.split(",") if t.strip()]
    with Warehouse(args.warehouse, read_only=True) as wh:
        env = coverage(wh, required, "environment", args.since, args.until)
        team = coverage(wh, required, "team_id", args.since, args.until)
        untagged = untagged_spend(wh, required, "production", args.since, args.until)
    out = [f"tag coverage (required: {', '.join(required)})", ""]
    rows = [[r.environment, f"{r.requests:,}", f"{r.request_coverage:.1%}", usd(r.cost_usd),
             "n/a" if r.spend_coverage != r.spend_coverage else f"{r.spend_coverage:.1%}"] for r in env.itertuples()]
    out += table(["environment", "requests", "tagged requests", "spend USD", "tagged spend"], rows)
    rows = [[r.team_id, f"{r.requests:,}", usd(r.cost_usd), f"{r.spend_coverage:.1%}",
             "FIX TAGGING" if r.spend_coverage < COVERAGE_TARGET else ""] for r in team.itertuples()]
    out += ["", f"by team (under {COVERAGE_TARGET:.0%} of spend tagged: fix tagging before anything else)"]
    out += table(["team_id", "requests", "spend USD", "tagged spend", ""], rows)
    total = untagged.cost_usd.sum() if len(untagged) else 0.0
    out += ["", f"untagged production spend: ${total:,.2f} in {len(untagged)} model-days; largest:"]
    rows = [[f"{r.day:%Y-%m-%d}", f"{r.provider}/{r.model}", f"{r.requests:,}", usd(r.cost_usd)]
            for r in untagged.head(10).itertuples()]
    out += table(["day", "model", "requests", "spend USD"], rows)
    return "\n".join(out) + "\n"


def export_text(args) -> str:
    from ..usage.focus import export_focus

    out = Path(args.out or f"reports/focus/focus-{args.month:%Y-%m}-v{args.focus_version}.csv")
    if out.exists():
        raise ForecastError(f"{out}: exists: exports are never overwritten; choose another --out or remove it")
    with Warehouse(args.warehouse, read_only=True) as wh:
        rows, total = export_focus(wh.con, args.month, out, args.focus_version)
    if rows == 0:
        out.unlink()
        raise ForecastError(f"--month {args.month:%Y-%m}: no requests in the warehouse for that month")
    return f"{out}: {rows} FOCUS {args.focus_version} rows, BilledCost total ${total:,.2f}\n"


def sample_text(args) -> str:
    from ..usage.sample import write_sample

    if args.rows < 1000 or args.months < 1:
        raise ForecastError("--rows must be >= 1000 and --months >= 1")
    paths = write_sample(Path(args.out), args.rows, args.months, args.seed, args.format)
    return "".join(f"{p}\n" for p in paths.values())


def run(args, book) -> tuple[str, int]:
    """Dispatch a usage subcommand; returns (output, exit status)."""
    if args.command == "ingest":
        return ingest(args, book)
    if args.command == "coverage":
        return coverage_text(args), 0
    if args.command == "export-focus":
        return export_text(args), 0
    return sample_text(args), 0
