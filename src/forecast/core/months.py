"""Calendar months: the one place month arithmetic is written (UTC dates, months as their first day).

    >>> month_start(date(2026, 11, 25), 2)
    datetime.date(2027, 1, 1)
    >>> month_bounds(date(2028, 2, 10))
    (datetime.date(2028, 2, 1), datetime.date(2028, 2, 29))
    >>> month_labels(date(2026, 11, 1), 3)
    ['2026-11', '2026-12', '2027-01']
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def month_start(day: date, months: int = 0) -> date:
    """First day of the month `months` after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def utc_midnight(day: date) -> datetime:
    """The first moment of `day` in UTC.

    >>> utc_midnight(date(2026, 10, 1))
    datetime.datetime(2026, 10, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    return datetime.combine(day, datetime.min.time(), UTC)


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the month containing `day`."""
    first = day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_labels(first: date, months: int) -> list[str]:
    """'YYYY-MM' of `months` consecutive months from the month of `first`."""
    return [f"{month_start(first, m):%Y-%m}" for m in range(months)]


def parse_month(text: str) -> date:
    """'YYYY-MM' (or a YYYY-MM-DD date) -> the first day of that month; ValueError otherwise.

    >>> parse_month("2026-10")
    datetime.date(2026, 10, 1)
    """
    return date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
