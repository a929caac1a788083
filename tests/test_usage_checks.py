"""The SQL checks of one text cell, run by DuckDB on the cell alone; expectations written by hand from each rule."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from forecast.usage import checks as c


def _run(pair, cell):
    value, why = pair
    return duckdb.sql(f"SELECT {value}, {why} FROM (SELECT {cell} AS x)").fetchall()[0]


@pytest.mark.parametrize("cell, value, ok", [
    ("'12'", 12, True), ("' 12 '", 12, True), ("'012'", 12, True), ("'0'", 0, True),
    ("'+1'", None, False), ("'1.0'", None, False), ("'-0'", None, False), ("'-5'", None, False),
    ("'1e3'", None, False), ("'9223372036854775808'", None, False), ("'\u0663'", None, False), ("'lots'", None, False),
    ("''", 0, True), ("'  '", 0, True), ("NULL", 0, True),
])
def test_a_count_is_digits_and_an_empty_one_counts_as_zero(cell, value, ok):
    got, why = _run(c.whole_number("n", "x", "VARCHAR", required=False), cell)
    assert (why is None) == ok
    if ok:
        assert got == value
    else:
        assert why.endswith("must be a whole number >= 0")


@pytest.mark.parametrize("cell", ["''", "' '", "NULL"])
def test_a_required_count_that_is_empty_is_missing(cell):
    assert _run(c.whole_number("n", "x", "VARCHAR", required=True), cell)[1].endswith(": required")


@pytest.mark.parametrize("cell, sql_type, nonneg, value, ok", [
    ("'1.5'", "DECIMAL(18,10)", True, Decimal("1.5"), True), ("' 1.5 '", "DECIMAL(18,10)", True, Decimal("1.5"), True),
    ("'-0'", "DECIMAL(18,10)", True, Decimal(0), True), ("'0'", "DECIMAL(18,10)", True, Decimal(0), True),
    ("'-0.00000000001'", "DECIMAL(18,10)", True, None, False),  # below 0, though it rounds to 0 at 10 places
    ("'-0.00000000001'", "DECIMAL(18,10)", False, Decimal(0), True),
    ("'-2.25'", "DECIMAL(38,10)", False, Decimal("-2.25"), True), ("'-2.25'", "DECIMAL(38,10)", True, None, False),
    ("'inf'", "DECIMAL(18,10)", True, None, False), ("'NaN'", "DECIMAL(18,10)", False, None, False),
    ("'1e20'", "DECIMAL(18,10)", True, None, False), ("'free'", "DECIMAL(18,10)", True, None, False),
    ("'inf'", "DOUBLE", True, None, False), ("'-inf'", "DOUBLE", False, None, False),
    ("'1e308'", "DOUBLE", True, 1e308, True), ("'-3'", "DOUBLE", True, None, False),
    ("''", "DOUBLE", True, None, True), ("' '", "DECIMAL(18,10)", True, None, True),
    ("NULL", "DOUBLE", True, None, True),
])
def test_a_number_is_finite_and_fits_its_type(cell, sql_type, nonneg, value, ok):
    got, why = _run(c.number("v", "x", "VARCHAR", sql_type, nonneg=nonneg), cell)
    assert (why is None) == ok, why
    if ok:
        assert got == value
