"""Options several commands share, and the notes a command prints when a default chose a file for the user."""

from __future__ import annotations

import argparse
import sys

from ..core.workfolder import BUDGETS, PRICES, WAREHOUSE

NOTES: list[str] = []  # said on stderr once the command's output is written (stdout stays the output, JSON too)


def note(text: str | None) -> None:
    """Record which file a default picked, to say after the output (a failed command says only its error)."""
    if text and text not in NOTES:
        NOTES.append(text)


def flush_notes() -> None:
    for text in NOTES:
        print(f"note: {text}", file=sys.stderr)
    NOTES.clear()


def add_prices_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", metavar="FILE", default=None,
                   help=f"price override YAML (default: ./{PRICES} when present, else the packaged example; "
                        "'none': genai-prices alone)")


def add_warehouse_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", metavar="FILE", default=WAREHOUSE,
                   help=f"DuckDB warehouse file (default: ./{WAREHOUSE})")


def add_budgets_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budgets", metavar="FILE", default=None, help=f"budget YAML (default: ./{BUDGETS})")


def price_book(args: argparse.Namespace):
    """The price book of --prices, with a note when the default chose the packaged example."""
    from ..design.prices import price_book as book_of

    book = book_of(args.prices)
    note(book.note)
    return book


def read_warehouse(path: str):
    """An existing warehouse opened read-only; a missing file is an error, never created by reading."""
    from ..usage.warehouse import Warehouse

    return Warehouse(path, read_only=True)
