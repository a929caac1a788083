"""argparse value types shared by the subcommand modules: one wording for the same mistake everywhere."""

from __future__ import annotations

import argparse
from datetime import date


def month(text: str) -> date:
    """'YYYY-MM' (or a date) -> the first day of that month."""
    try:
        return date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: use YYYY-MM") from None


def day(text: str) -> date:
    """'YYYY-MM-DD' -> that date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
