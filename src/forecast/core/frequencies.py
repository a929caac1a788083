"""The series frequencies forecast supports: a pandas alias, its calendar unit and its season length.

    >>> check_freq("MS"), FREQUENCIES["W"]
    ('MS', Frequency(unit='week', season_length=52))
    >>> check_freq("H")
    Traceback (most recent call last):
    ...
    forecast.core.errors.ForecastError: freq: 'H': unsupported frequency: use one of MS, W, D
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import ForecastError


class Frequency(NamedTuple):
    """unit: the calendar unit a period is (DuckDB's date_trunc name); season_length: periods per year or week."""

    unit: str
    season_length: int


# Periods start on: the first of the month (MS), Monday (W), the UTC day (D).
FREQUENCIES = {"MS": Frequency("month", 12), "W": Frequency("week", 52), "D": Frequency("day", 7)}


def check_freq(freq: str) -> str:
    """The frequency alias itself when supported, else a ForecastError naming the supported ones."""
    if freq not in FREQUENCIES:
        raise ForecastError(f"freq: {freq!r}: unsupported frequency: use one of {', '.join(FREQUENCIES)}")
    return freq
