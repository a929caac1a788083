"""The usage-data subcommands of `forecast`: ingest, pull, quarantine, coverage, reconcile, export-focus and
sample-data."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import ForecastError
from ..core.formatting import to_json, usd
from ..usage.schema import FOCUS_VERSIONS, KINDS, TAGS
from .argtypes import day as _day
from .argtypes import month as _month
from .argtypes import number, whole
from .options import add_prices_option, add_warehouse_option, price_book, read_warehouse
from .tables import table

COMMANDS = ("ingest", "pull", "quarantine", "coverage", "reconcile", "export-focus", "sample-data")
SHOWN_RAW_CHARS = 70  # raw text in the table view; csv and json carry all of it


def add_parsers(sub) -> None:
    """Register the usage subcommands on an argparse subparsers object."""
    p = sub.add_parser("ingest", help="load request logs, OTel spans, gateway and provider usage exports or "
                       "FOCUS billing into the warehouse")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_warehouse_option(p)
    p.add_argument("--format", choices=KINDS, default=None, help="default: from the file's field names (LiteLLM, "
                   "Langfuse, Helicone, OpenAI or Anthropic usage exports; .json OTLP spans = otel; BilledCost column "
                   "= focus; else native); see docs/connectors.md")
    p.add_argument("--timezone", metavar="ZONE", default=None, help="IANA zone for timestamps without a UTC offset")
    p.add_argument("--focus-version", choices=FOCUS_VERSIONS, default=None,
                   help="FOCUS version of the file (default: detected from its columns)")
    add_prices_option(p)

    p = sub.add_parser("pull", help="pull OpenAI or Anthropic usage and cost reports over the admin API and load "
                       "them", description="Fetch the provider's daily usage and cost buckets (whole UTC days that "
                       "have ended) with the admin key from OPENAI_ADMIN_KEY or ANTHROPIC_ADMIN_KEY, save the pages "
                       "and load them: usage as request rows, costs as invoice charges. A second pull starts after "
                       "the last day pulled. See docs/connectors.md.")
    p.add_argument("source", choices=("openai", "anthropic"))
    p.add_argument("--since", type=_day, required=True, help="first day YYYY-MM-DD (UTC)")
    add_warehouse_option(p)
    p.add_argument("--save-dir", metavar="DIR", default="pulls", help="folder for the pages pulled (default pulls/)")
    p.add_argument("--base-url", metavar="URL", default=None,
                   help="API address (default the provider's; https, or http to 127.0.0.1 only)")
    add_prices_option(p)
    p = sub.add_parser("quarantine", help="list the rows ingest refused, with their reason and raw text",
                       description="Rows refused by `forecast ingest` and not accepted since, oldest load first: "
                                   "the file, line, reason and the row as it was in the file.")
    add_warehouse_option(p)
    p.add_argument("--load", type=whole(1, 2**62), default=None, metavar="ID",
                   help="rows of one load (its id, as the load column of this listing shows)")
    p.add_argument("--reason", metavar="TEXT", default=None, help="reasons containing TEXT (any case)")
    p.add_argument("--resolved", action="store_true", help="also rows a later load accepted")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("coverage", help="tag coverage of requests and spend, by environment and team")
    add_warehouse_option(p)
    p.add_argument("--required", metavar="TAGS", default=",".join(TAGS),
                   help=f"comma-separated tags (default {','.join(TAGS)})")
    p.add_argument("--since", type=_day, default=None, help="first day YYYY-MM-DD")
    p.add_argument("--until", type=_day, default=None, help="day after the last YYYY-MM-DD")

    p = sub.add_parser("reconcile", help="the request logs against the FOCUS invoice: discounts, credits, the gap",
                       description="Per month and provider: logged cost against the invoice's usage at list price, "
                                   "with discounts, credits, adjustments and tax apart. Exits 1 when an "
                                   "unexplained gap exceeds the threshold.")
    p.add_argument("--month", type=_month, default=None, help="YYYY-MM (default: every month)")
    add_warehouse_option(p)
    p.add_argument("--threshold", metavar="SHARE",
                   type=number(lambda v: 0 < v < 1, "must be above 0 and below 1 (0.02 flags gaps over 2%)"),
                   default=0.02, help="flag an unexplained gap above this share of the logged cost (default 0.02)")
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = sub.add_parser("export-focus", help="write a month of spend as FOCUS cost and usage rows")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    add_warehouse_option(p)
    p.add_argument("--focus-version", choices=FOCUS_VERSIONS, default="1.0")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="CSV or .parquet path (default reports/focus/focus-<month>-<v>.csv)")

    p = sub.add_parser("sample-data", help="generate a deterministic synthetic company's usage and billing files")
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write the files into")
    p.add_argument("--months", type=whole(1, 120), default=24, help="months of data (default 24)")
    p.add_argument("--rows", type=whole(1000, 100_000_000), default=60_000,
                   help="usage-export rows, about (default 60000); the agent workflows add a row per task")
    p.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="random seed (default 0)")
    p.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    p.add_argument("--spec", metavar="SPEC", default=None,
                   help="instead of the company, one workflow's calls drawn from its spec (usage.spec_logs): "
                        "the known truth `forecast calibrate` is tested on")
    p.add_argument("--tasks", type=whole(1, 10_000_000), default=10_000, help="with --spec: tasks (default 10000)")
    p.add_argument("--month", metavar="YYYY-MM", default=None,
                   help="with --spec: the month (default: the last complete month, UTC)", type=_month)
    add_prices_option(p)


def ingest(args) -> tuple[str, int]:
    """Load each file in its own transaction; a bad file is reported and the others still load."""
    from ..usage.ingest import ingest as load

    result = load(args.paths, args.warehouse, args.format, args.timezone, price_book(args), args.focus_version)
    for _, problems in result.failed:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
    refused = [r for r in result.loads if r.quarantined and not r.accepted]
    for r in refused:
        print(f"warning: {r.source_file}: every row read was quarantined: see `forecast quarantine --load "
              f"{r.load_id}`", file=sys.stderr)
    return "\n".join(result.lines()) + "\n", 2 if result.failed else 1 if refused else 0


def pull_text(args) -> str:
    """Pull one provider's usage and cost reports into the warehouse; the accounting line of each report's load."""
    from ..usage.pull import credentials, pull
    from ..usage.warehouse import Warehouse

    credentials(args.source, args.base_url)  # a pull that cannot run stops before it creates a warehouse
    with Warehouse(args.warehouse) as wh:
        done = pull(args.source, args.since, wh, Path(args.save_dir), base_url=args.base_url, book=price_book(args))
    return "\n".join(done.lines()) + "\n"


def quarantine_text(args) -> str:
    """The quarantined rows as a table (raw text shortened), CSV (cells neutralised) or JSON."""
    import csv
    import io

    from ..core.csvsafe import csv_safe
    from ..usage.quarantine import LISTED, quarantined_rows

    with read_warehouse(args.warehouse) as wh:
        rows = quarantined_rows(wh.con, args.load, args.reason, args.resolved)
    if args.format == "json":
        return to_json(rows) + "\n"
    if args.format == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(LISTED)
        writer.writerows([[csv_safe(v) for v in r.values()] for r in rows])
        return buf.getvalue()
    if not rows:
        return "no quarantined rows" + (" match" if args.load or args.reason else "") + "\n"

    def short(text: str | None) -> str:
        text = (text or "").replace("\n", "\\n")
        return text if len(text) <= SHOWN_RAW_CHARS else text[:SHOWN_RAW_CHARS - 1] + "…"

    body = [[str(r["load_id"]), str(r["line"]), r["source_file"], r["reason"], short(r["raw_text"])] for r in rows]
    header = ["load", "line", "file", "reason", "raw text"]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i < 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths,
             strict=True))).rstrip() for row in [header, *body]]
    return "\n".join(lines) + f"\n{len(rows):,} row{'s' if len(rows) != 1 else ''}\n"


def coverage_text(args) -> str:
    from ..usage.series import COVERAGE_TARGET, coverage, untagged_spend

    required = [t.strip() for t in args.required.split(",") if t.strip()]
    with read_warehouse(args.warehouse) as wh:
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


def reconcile_text(args) -> tuple[str, int]:
    from ..usage.reconcile import reconcile

    with read_warehouse(args.warehouse) as wh:
        rec = reconcile(wh, args.month, args.threshold)
    status = 1 if len(rec.flagged) else 0
    if args.format == "json":
        return to_json(rec.to_dict()) + "\n", status
    if rec.frame.empty:
        return "no request logs or invoice rows" + (f" in {args.month:%Y-%m}" if args.month else "") + "\n", 0
    def cents(x: float) -> str:  # sums of DOUBLE amounts carry sub-cent noise: under half a cent is 0
        return usd(0.0 if abs(x) < 0.005 else x)

    rows = [[f"{r.month:%Y-%m}", r.provider, cents(r.logged_usd), cents(r.list_usd), cents(r.discount_usd),
             cents(r.credits_usd), cents(r.adjustments_usd + r.tax_usd + r.other_usd), cents(r.billed_usd),
             cents(r.unexplained_usd),
             "n/a" if r.unexplained_pct != r.unexplained_pct else f"{r.unexplained_pct:+.1%}",
             f"{r.quarantined_rows:,}", ("GAP" if r.flagged else "") if r.charges else "no invoice"]
            for r in rec.frame.itertuples()]
    out = ["the request logs against the invoice (USD): billed = usage at list - discount + credits + adjustments, "
           "tax and other; quarantined: log rows of the month held back by ingest",
           "", *table(["month", "provider", "logged", "usage at list", "discount", "credits", "adjust/tax/other",
                       "billed", "unexplained", "of logged", "quarantined", ""], rows, left=2)]
    out += ["", *(f"gap: {line}" for line in rec.lines())] if rec.lines() else \
        ["", f"no unexplained gap above {args.threshold:.1%} of the logged cost"]
    return "\n".join(out) + "\n", status


def export_text(args) -> str:
    from ..usage.focus import export_focus

    out = Path(args.out or f"reports/focus/focus-{args.month:%Y-%m}-v{args.focus_version}.csv")
    if out.exists():
        raise ForecastError(f"{out}: exists: exports are never overwritten; choose another --out or remove it")
    with read_warehouse(args.warehouse) as wh:
        rows, total = export_focus(wh.con, args.month, out, args.focus_version)
    if rows == 0:
        out.unlink()
        raise ForecastError(f"--month {args.month:%Y-%m}: no requests in the warehouse for that month")
    return f"{out}: {rows} FOCUS {args.focus_version} rows, BilledCost total ${total:,.2f}\n"


def sample_text(args) -> str:
    if args.spec:
        return spec_sample_text(args)
    from ..usage.sample import write_sample

    paths = write_sample(Path(args.out), args.rows, args.months, args.seed, args.format)
    return "".join(f"{p}\n" for p in paths.values())


def spec_sample_text(args) -> str:
    """One workflow's month of calls drawn from its spec, written as requests.<format> under --out."""
    from datetime import UTC, datetime

    from ..core.months import month_start
    from ..design.specs import load_workflow
    from ..usage.spec_logs import spec_logs

    workflow = load_workflow(args.spec)
    month = args.month or month_start(datetime.now(UTC).date(), -1)
    out = Path(args.out) / f"requests.{args.format}"
    if out.exists():
        raise ForecastError(f"{out}: exists: sample files are never overwritten; choose another --out")
    logs, truth = spec_logs(workflow, price_book(args), month, args.tasks, args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(logs, preserve_index=False), out)
    elif args.format == "csv":
        logs.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        logs.to_json(out, orient="records", lines=True, date_format="iso")
    rates = ", ".join(f"{step} cache {truth.cache_hit_rate[step]:.3f} retry {truth.retry_rate[step]:.3f}"
                      for step in truth.cache_hit_rate)
    return (f"{out}: {len(logs):,} calls of {args.tasks:,} tasks of {workflow.name} in {month:%Y-%m} "
            f"(seed {args.seed})\ntruth drawn for the month: success {truth.success_rate:.3f}; {rates}\n")


def run(args) -> tuple[str, int]:
    """Dispatch a usage subcommand; returns (output, exit status)."""
    if args.command == "ingest":
        return ingest(args)
    if args.command == "pull":
        return pull_text(args), 0
    if args.command == "quarantine":
        return quarantine_text(args), 0
    if args.command == "coverage":
        return coverage_text(args), 0
    if args.command == "reconcile":
        return reconcile_text(args)
    if args.command == "export-focus":
        return export_text(args), 0
    return sample_text(args), 0
