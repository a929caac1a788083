"""The `forecast` command. User errors print one line per problem and exit with status 2."""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ..core.errors import ForecastError
from ..core.formatting import to_json
from ..core.version import __version__
from ..design.estimate import compare, estimate
from ..design.prices import PriceBook
from ..design.specs import load_workflow
from . import budgets as budget_commands
from . import gpu as gpu_commands
from . import predict as predict_commands
from . import report as report_commands
from . import roi as finance_commands
from . import usage as usage_commands
from . import whatif as whatif_commands
from .argtypes import whole
from .estimate import compare_table, estimate_csv, estimate_table, prices_table

# Subcommand modules: each has COMMANDS (names), add_parsers(sub, add_overrides_option) and
# run(args, book) -> (output, exit status); book is a PriceBook when the command has --prices, else None.
COMMAND_MODULES = (usage_commands, report_commands, budget_commands, finance_commands, gpu_commands,
                   whatif_commands, predict_commands)

DEFAULT_OVERRIDES = Path("data/prices/overrides.yaml")
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2199, 12, 31)  # 120 months on, still a valid date


def _date(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise argparse.ArgumentTypeError(f"{text!r} must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


_samples = whole(1, 10_000_000)  # 80 MB of per-task costs
_scenarios = whole(1, 100_000)
_months = whole(1, 120)
_seed = whole(0, 2**32 - 1)


def _book(path: str | None) -> PriceBook:
    if path is None:
        return PriceBook.from_file(DEFAULT_OVERRIDES if DEFAULT_OVERRIDES.exists() else None)
    return PriceBook.from_file(None if path == "none" else path)


def _add_price_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", type=_date, default=None, help="price date YYYY-MM-DD (default: today, UTC)")
    _add_overrides_option(p)


def _add_overrides_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", metavar="FILE", default=None,
                   help=f"price override YAML (default: {DEFAULT_OVERRIDES} if present; 'none' for none)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="forecast", description="Predictable AI inference spend.")
    top.add_argument("--version", action="version", version=f"forecast {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prices", help="show the resolved prices of a model and their source")
    p.add_argument("model")
    p.add_argument("--provider", default=None)
    p.add_argument("--batch", action="store_true", help="batch-API prices")
    p.add_argument("--format", choices=["table", "json"], default="table")
    _add_price_options(p)

    e = sub.add_parser("estimate", help="cost per task, month and successful outcome of a workflow spec")
    e.add_argument("spec")
    e.add_argument("--compare", metavar="SPEC", default=None, help="show B minus A for a second spec")
    e.add_argument("--samples", type=_samples, default=100_000, help="Monte Carlo tasks (default 100000)")
    e.add_argument("--scenarios", type=_scenarios, default=4_000, help="monthly scenarios (default 4000)")
    e.add_argument("--months", type=_months, default=12, help="projection months (default 12, at most 120)")
    e.add_argument("--seed", type=_seed, default=0)
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    _add_price_options(e)
    for module in COMMAND_MODULES:
        module.add_parsers(sub, _add_overrides_option)
    return top


def _estimate_doc(path: str, args, book: PriceBook, on: date) -> dict:
    doc = estimate(load_workflow(path), book, on, args.samples, args.seed, args.scenarios, args.months)
    doc["spec"] = {"path": path, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    return doc


def run(argv: list[str]) -> tuple[str, int]:
    """Run a command and return its output and exit status; raises ForecastError on bad input."""
    args = parser().parse_args(argv)
    book = _book(args.prices) if hasattr(args, "prices") else None
    for module in COMMAND_MODULES:
        if args.command in module.COMMANDS:
            return module.run(args, book)
    return _estimate_or_prices(args, book), 0


def _estimate_or_prices(args, book: PriceBook) -> str:
    on = args.date or datetime.now(UTC).date()
    if args.command == "prices":
        p = book.lookup(args.model, args.provider, on, args.batch)
        return to_json(p.as_dict()) + "\n" if args.format == "json" else prices_table(p)
    doc = _estimate_doc(args.spec, args, book, on)
    if args.compare:
        cmp = compare(doc, _estimate_doc(args.compare, args, book, on))
        if args.format == "json":
            return to_json(cmp) + "\n"
        if args.format == "csv":
            return estimate_csv(cmp["a"]) + estimate_csv(cmp["b"]).split("\n", 1)[1]
        return compare_table(cmp)
    if args.format == "json":
        return to_json(doc) + "\n"
    return estimate_csv(doc) if args.format == "csv" else estimate_table(doc)


def main(argv: list[str] | None = None) -> int:
    try:
        out, status = run(sys.argv[1:] if argv is None else argv)
    except ForecastError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    sys.stdout.write(out)
    return status


if __name__ == "__main__":
    sys.exit(main())
