"""Invariants of the finance metrics and cash flows (hypothesis)."""

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.finance.metrics import monthly_rate, npv_usd, payback_month

money = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def conventional_flows(draw):
    """Outflow at month 0, then non-negative inflows, at least one of them positive (after month 0)."""
    outflow = draw(st.floats(min_value=1.0, max_value=1e6))
    inflows = draw(st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=1, max_size=48))
    position = draw(st.integers(min_value=0, max_value=len(inflows) - 1))
    inflows[position] = max(inflows[position], 1.0)
    return [-outflow, *inflows]


@settings(max_examples=200, deadline=None)
@given(conventional_flows(), rates, rates)
def test_npv_decreases_as_the_discount_rate_rises(flows, r1, r2):
    low, high = sorted((r1, r2))
    if monthly_rate(high) - monthly_rate(low) < 1e-9:
        return
    assert npv_usd(high, flows) < npv_usd(low, flows)


@settings(max_examples=300, deadline=None)
@given(st.lists(money, min_size=1, max_size=60))
def test_payback_month_definition(flows):
    cumulative = np.cumsum(flows)
    month = payback_month(flows)
    if cumulative[-1] < 0:
        assert month is None
        return
    assert month is not None
    assert (cumulative[month:] >= 0).all()
    assert month == 0 or cumulative[month - 1] < 0
    # never earlier than the first month whose cumulative cash is >= 0 (> 0 when month 0 is an outflow)
    assert month >= int(np.argmax(cumulative >= 0))
    if flows[0] < 0:
        assert month >= int(np.argmax(cumulative > 0)) or not (cumulative > 0).any()


@settings(max_examples=100, deadline=None)
@given(st.lists(money, min_size=1, max_size=40), rates)
def test_npv_of_each_row_matches_numpy_financial(flows, rate):
    rows = np.array([flows, [2 * f for f in flows]])
    expected = [npf.npv(monthly_rate(rate), r) for r in rows]
    np.testing.assert_allclose(npv_usd(rate, rows), expected, rtol=1e-9, atol=1e-6)
    assert npv_usd(rate, flows) == pytest.approx(expected[0], rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(money, min_size=2, max_size=40))
def test_vectorised_payback_matches_row_by_row(flows):
    rows = np.array([flows, flows[::-1]])
    got = payback_month(rows)
    for row, month in zip(rows, got, strict=True):
        one = payback_month(row)
        assert (one is None and month == -1) or one == month
