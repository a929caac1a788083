"""argparse value types shared by the subcommand modules: one wording for the same mistake everywhere."""

from __future__ import annotations

import argparse
import math
from datetime import date

from ..core.months import parse_month
from ..core.names import name_problem


class OneLineErrors(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block) and exit status 2, like every other
    user error; `--help` still shows the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def month(text: str) -> date:
    """'YYYY-MM' (or a date) -> the first day of that month."""
    try:
        return parse_month(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: use YYYY-MM") from None


def day(text: str) -> date:
    """'YYYY-MM-DD' -> that date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def whole(low: int, high: int):
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be a whole number from {low:,} to {high:,}")
        return value

    return parse


def number(ok, rule: str):
    """A finite number for which ok(value) holds; otherwise the error "'<text>' <rule>"."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number: it {rule}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r} {rule}")
        return value

    return parse


def plain_name(text: str) -> str:
    """A file or folder name: one path component (see name_problem)."""
    problem = name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def folder(text: str) -> str:
    """A folder path: not empty (an empty one would quietly mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is empty: give a folder, e.g. reports")
    return text
