"""`forecast whatif [SPEC]`: the what-if panel as a Voila web app on 127.0.0.1 (elsewhere only if asked)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from ..core.errors import ForecastError
from ..core.resources import example
from ..whatif.app import IDLE_TIMEOUT_S
from .argtypes import day, whole
from .options import add_prices_option, flush_notes, note, price_book

COMMANDS = ("whatif",)
EXAMPLE_SPEC = "workflows/support_triage.yaml"
DEFAULT_PORT = 8866


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} must be a port number from 0 (any free port) to 65535")
    return value


def add_parsers(sub) -> None:
    p = sub.add_parser("whatif", help="serve the what-if panel (Voila) for a workflow spec or business case")
    p.add_argument("spec", metavar="SPEC", nargs="?", default=None,
                   help=f"workflow spec or business case YAML (default: the packaged example {EXAMPLE_SPEC})")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host: anyone who reaches it can use the panel (no login)")
    p.add_argument("--date", type=day, default=None,
                   help="price date YYYY-MM-DD (default: today, UTC; a case: its price_date)")
    p.add_argument("--samples", type=whole(1_000, 1_000_000), default=20_000,
                   help="Monte Carlo tasks per update (default 20000)")
    p.add_argument("--save-dir", metavar="DIR", default="scenarios",
                   help="the folder 'Save scenario' writes into, by plain file name, and the saved scenarios the "
                        "panel compares are read from (default: scenarios/ in the current folder, created on the "
                        "first save)")
    p.add_argument("--idle-timeout", metavar="SECONDS", type=whole(5, 86_400), default=IDLE_TIMEOUT_S,
                   help="shut a page's kernel down once no page has been connected to it for this long (default "
                        f"{IDLE_TIMEOUT_S}; a page that closes normally frees its kernel at once)")
    add_prices_option(p)


def check_host(host: str, allow_remote: bool) -> None:
    """Loopback addresses only, unless the user asked to bind elsewhere."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise ForecastError(f"--host {host!r}: not an IP address (use 127.0.0.1, or an interface address)") from None
    if not loopback and not allow_remote:
        raise ForecastError(f"--host {host}: binding a non-loopback address exposes the panel (no login) to the "
                            "network; add --allow-remote to do it anyway")


def run(args) -> tuple[str, int]:
    """Check the inputs (errors exit 2 before any server starts), then serve until interrupted."""
    from ..whatif.app import serve
    from ..whatif.state import load_what_if

    check_host(args.host, args.allow_remote)
    if args.spec is None:
        spec = example(EXAMPLE_SPEC)
        note(f"spec: none given, so the packaged example {EXAMPLE_SPEC} is used")
    else:
        spec = Path(args.spec)
    if not spec.is_file():
        raise ForecastError(f"{spec}: no such workflow spec or business case file")
    book = price_book(args)
    load_what_if(spec, book, args.date)  # validates the file and its prices up front
    env = {"FORECAST_WHATIF_SPEC": str(spec.resolve()),
           "FORECAST_WHATIF_PRICES": str(Path(book.overrides_path).resolve()) if book.overrides_path else "none",
           "FORECAST_WHATIF_PRICE_DATE": args.date.isoformat() if args.date else "",
           "FORECAST_WHATIF_SAVE_DIR": str(Path(args.save_dir).resolve()),
           "FORECAST_WHATIF_SAMPLES": str(args.samples)}
    flush_notes()
    return "", serve(str(spec), args.host, args.port, env, sys.stdout, args.idle_timeout)
