"""`forecast whatif [SPEC]`: the what-if panel as a Voila web app on 127.0.0.1 (elsewhere only if asked)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ..core.errors import ForecastError

COMMANDS = ("whatif",)
DEFAULT_SPEC = "data/workflows/support_triage.yaml"
DEFAULT_PORT = 8866


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} must be a port number from 0 (any free port) to 65535")
    return value


def add_parsers(sub, add_overrides_option) -> None:
    p = sub.add_parser("whatif", help="serve the what-if panel (Voila) for a workflow spec or business case")
    p.add_argument("spec", nargs="?", default=DEFAULT_SPEC,
                   help=f"workflow spec or business case YAML (default {DEFAULT_SPEC})")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host: anyone who reaches it can use the panel (no login)")
    p.add_argument("--date", default="", help="price date YYYY-MM-DD (default: today, UTC; a case: its price_date)")
    p.add_argument("--samples", type=int, default=20_000, help="Monte Carlo tasks per update (default 20000)")
    p.add_argument("--save-dir", default=".", help="where 'Save scenario' writes (default: current directory)")
    add_overrides_option(p)


def run(args, book) -> tuple[str, int]:
    """Check the inputs (errors exit 2 before any server starts), then serve until interrupted."""
    from ..whatif.app import check_host, serve
    from ..whatif.state import load_what_if

    check_host(args.host, args.allow_remote)
    if args.date:
        try:
            date.fromisoformat(args.date)
        except ValueError:
            raise ForecastError(f"--date {args.date!r}: not a date; use YYYY-MM-DD") from None
    if not 1_000 <= args.samples <= 1_000_000:
        raise ForecastError(f"--samples {args.samples}: must lie between 1,000 and 1,000,000")
    spec = Path(args.spec)
    if not spec.is_file():
        raise ForecastError(f"{spec}: no such workflow spec or business case file")
    on = date.fromisoformat(args.date) if args.date else None
    load_what_if(spec, book, on)  # validates the file and its prices up front
    prices = args.prices or ("data/prices/overrides.yaml" if Path("data/prices/overrides.yaml").exists() else "none")
    env = {"FORECAST_WHATIF_SPEC": str(spec.resolve()),
           "FORECAST_WHATIF_PRICES": prices if prices == "none" else str(Path(prices).resolve()),
           "FORECAST_WHATIF_PRICE_DATE": args.date, "FORECAST_WHATIF_SAVE_DIR": str(Path(args.save_dir).resolve()),
           "FORECAST_WHATIF_SAMPLES": str(args.samples)}
    return "", serve(str(spec), args.host, args.port, env, sys.stdout)

