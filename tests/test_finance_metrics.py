"""Hand-computed metrics of the 3-month case (tests/finance_cases.py), worked on paper below."""

import numpy as np
import numpy_financial as npf
import pytest

from forecast.core.validation import read_yaml
from forecast.finance.case import SCurve, parse_case_data
from forecast.finance.cashflows import adoption_share, monthly_cash_flows, straight_line_depreciation_usd
from forecast.finance.economics import compile_case, expected_drivers
from forecast.finance.metrics import discounted_payback_month, irr_annual, monthly_rate, npv_usd, payback_month, roi
from forecast.finance.report import evaluate
from forecast.finance.sensitivity import break_even_volume_factor
from tests.finance_cases import ANNUAL_FOR_1PCT_MONTHLY, tiny_case, write_case

# On paper (USD), months 0..3:
#   m0: -1,000 build
#   m1: -1,000 engineer (12,000 / 12 x 1 FTE x 100%)
#   m2: 500 tasks: +1,500 benefit - 100 platform - 1.00 inference - 500 review = 899
#   m3: 1,000 tasks: +3,000 - 100 - 2.00 - 1,000 = 1,898
NET = [-1000.0, -1000.0, 899.0, 1898.0]
# cumulative: -1,000, -2,000, -1,101, +797 -> payback in month 3
NPV_1PCT = -1000 - 1000 / 1.01 + 899 / 1.01**2 + 1898 / 1.01**3  # = 733.37...
COSTS = 1000 + 1000 + 200 + 3 + 1500  # 3,703 over the horizon; benefits 4,500


def _case(tmp_path, **changes):
    path = write_case(tmp_path, tiny_case(**changes))
    return parse_case_data(read_yaml(path), str(path))


def test_three_month_case_cash_flows_npv_payback_roi(tmp_path, book):
    case = _case(tmp_path)
    cc = compile_case(case, book)
    drivers = expected_drivers(cc)
    assert drivers["tiny.inference_usd_per_task"] == pytest.approx(0.002, rel=1e-12)
    flows = monthly_cash_flows(cc, drivers)
    np.testing.assert_allclose(flows.net_usd, NET, rtol=1e-12)
    np.testing.assert_allclose(flows.costs["inference (API)"], [0, 0, 1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(flows.costs["human review"], [0, 0, 500, 1000], rtol=1e-12)
    np.testing.assert_allclose(flows.tasks["tiny"], [0, 0, 500, 1000])
    assert npv_usd(ANNUAL_FOR_1PCT_MONTHLY, flows.net_usd) == pytest.approx(NPV_1PCT, rel=1e-12)
    assert payback_month(flows.net_usd) == 3
    # discounted cumulative: -1000, -1990.10, -1108.81, +733.37 -> also month 3
    assert discounted_payback_month(ANNUAL_FOR_1PCT_MONTHLY, flows.net_usd) == 3
    assert roi(4500.0, COSTS) == pytest.approx((4500 - 3703) / 3703)

    result = evaluate(case, book, samples=0)
    s = result["summary"]
    assert s["npv_usd"] == pytest.approx(NPV_1PCT, rel=1e-12)
    assert s["payback_month"] == 3
    assert s["roi"] == pytest.approx(797 / 3703)
    assert s["cost_per_successful_outcome_usd"] == pytest.approx(3703 / 1500)
    assert s["human_cost_per_outcome_usd"] == pytest.approx(3.0)
    assert s["run_rate_cost_per_successful_outcome_usd"] == pytest.approx((100 + 2 + 1000) / 1000)
    # IRR: the monthly rate where NPV is zero, by definition; annualised (1 + m)^12 - 1
    monthly = (1 + s["irr_annual"]) ** (1 / 12) - 1
    assert sum(cf / (1 + monthly) ** m for m, cf in enumerate(NET)) == pytest.approx(0, abs=1e-6)
    assert [r["label"] for r in result["monthly"]] == ["start", "2027-01", "2027-02", "2027-03"]


def test_break_even_volume_is_where_npv_crosses_zero(tmp_path, book):
    cc = compile_case(_case(tmp_path), book)
    # NPV is linear in the volume multiple k: fixed part + k x (contribution per planned volume)
    fixed = -1000 - 1000 / 1.01 - 100 / 1.01**2 - 100 / 1.01**3
    per_k = 500 * (3 - 0.002 - 1) / 1.01**2 + 1000 * (3 - 0.002 - 1) / 1.01**3
    assert break_even_volume_factor(cc, expected_drivers(cc)) == pytest.approx(-fixed / per_k, rel=1e-9)


def test_tax_and_depreciation_on_paper(tmp_path, book):
    # Hardware 1,200 at month 0, life 12 months -> depreciation 100 in months 1, 2, 3. Tax 25% of
    # (benefits - operating costs - depreciation):
    #   m0: 0.25 x (0 - 1000 - 0) = -250     net = -1000 - 1200 + 250 = -1950
    #   m1: 0.25 x (0 - 1000 - 100) = -275   net = -1000 + 275 = -725
    #   m2: 0.25 x (1500 - 601 - 100) = 199.75   net = 899 - 199.75 = 699.25
    #   m3: 0.25 x (3000 - 1102 - 100) = 449.5   net = 1898 - 449.5 = 1448.5
    case = _case(tmp_path, finance={"discount_rate_annual": 0.0, "tax_rate": 0.25},
                 hardware=[{"name": "server", "usd": 1200, "useful_life_months": 12}])
    cc = compile_case(case, book)
    flows = monthly_cash_flows(cc, expected_drivers(cc))
    np.testing.assert_allclose(flows.depreciation_usd, [0, 100, 100, 100])
    np.testing.assert_allclose(flows.tax_usd, [-250, -275, 199.75, 449.5])
    np.testing.assert_allclose(flows.net_usd, [-1950, -725, 699.25, 1448.5])
    assert npv_usd(0.0, flows.net_usd) == pytest.approx(-1950 - 725 + 699.25 + 1448.5)
    assert payback_month(flows.net_usd) is None  # cumulative ends at -527.25


def test_no_tax_rate_means_no_tax_line_and_no_shield(tmp_path, book):
    case = _case(tmp_path, hardware=[{"name": "server", "usd": 1200, "useful_life_months": 12}])
    cc = compile_case(case, book)
    flows = monthly_cash_flows(cc, expected_drivers(cc))
    assert flows.tax_usd is None
    np.testing.assert_allclose(flows.net_usd, np.add(NET, [-1200, 0, 0, 0]))


def test_token_price_decline_compounds_monthly(tmp_path, book):
    # 19% a year: month m pays 0.81^((m - 1) / 12) of the price-date price
    case = _case(tmp_path, finance={"discount_rate_annual": 0.1, "token_price_decline_per_year": 0.19})
    cc = compile_case(case, book)
    flows = monthly_cash_flows(cc, expected_drivers(cc))
    np.testing.assert_allclose(flows.costs["inference (API)"], [0, 0, 1.0 * 0.81 ** (1 / 12), 2.0 * 0.81 ** (2 / 12)])


def test_s_curve_adoption_by_hand(tmp_path):
    # ceiling / (1 + exp(-s (k - mid))): with s = ln 3 and mid = 2, k = 2 -> 1/2, k = 3 -> 1/(1 + 1/3) = 3/4
    case = _case(tmp_path)
    use = case.workflows[0]
    curve = type(use.adoption)(s_curve=SCurve(midpoint_month=2, steepness_per_month=float(np.log(3)), ceiling=0.8))
    use = type(use)(**{**use.__dict__, "adoption": curve})
    np.testing.assert_allclose(adoption_share(use, np.array([0, 2, 3])), [0, 0.4, 0.6])


def test_explicit_plan_holds_its_last_share(tmp_path):
    use = _case(tmp_path).workflows[0]
    np.testing.assert_allclose(adoption_share(use, np.array([-1, 0, 1, 2, 3, 9])), [0, 0, 0.5, 1, 1, 1])


def test_depreciation_stops_at_the_horizon_and_after_useful_life():
    np.testing.assert_allclose(straight_line_depreciation_usd(300.0, 1, 3, 6), [0, 0, 100, 100, 100, 0, 0])
    np.testing.assert_allclose(straight_line_depreciation_usd(300.0, 2, 3, 3), [0, 0, 0, 100])


def test_monthly_rate_and_npv_agree_with_numpy_financial():
    assert monthly_rate(ANNUAL_FOR_1PCT_MONTHLY) == pytest.approx(0.01, rel=1e-12)
    assert monthly_rate(0.12) == pytest.approx(1.12 ** (1 / 12) - 1)
    rows = np.array([[-100.0, 30, 40, 50], [-10.0, 0, 0, 20]])
    np.testing.assert_allclose(npv_usd(0.1, rows), [npf.npv(monthly_rate(0.1), r) for r in rows], rtol=1e-12)


def test_payback_edge_cases():
    assert payback_month([5.0, 1.0]) == 0  # never negative: paid back from the start
    assert payback_month([-100.0, 50, 60, -20, -10]) is None  # dips back below zero and ends there
    assert payback_month([-100.0, 150, -60, 20]) == 3  # cumulative -100, 50, -10, 10: stays >= 0 from month 3
    np.testing.assert_array_equal(payback_month(np.array([[-1.0, 2], [-1.0, 0]])), [1, -1])
    assert irr_annual([-100.0, -1, -1]) is None  # all outflows: no rate makes NPV zero
