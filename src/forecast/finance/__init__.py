"""Business cases: TCO and ROI over a horizon (cash flows, NPV, IRR, payback, sensitivity, scenarios).

Modules: case (YAML boundary), economics (workflow specs -> drivers via the workload engine),
cashflows (monthly lines), metrics (NPV, IRR, payback, ROI), sensitivity (tornado, Monte Carlo,
break-even volume), scenarios (named variants), report (the JSON document), commands (`forecast roi`).
"""

from .case import Case, parse_case_data
from .cashflows import CashFlows, monthly_cash_flows
from .economics import compile_case, expected_drivers, sampled_drivers
from .metrics import discounted_payback_month, irr_annual, monthly_rate, npv_usd, payback_month, roi
from .report import evaluate, roi_document

__all__ = ["Case", "CashFlows", "compile_case", "discounted_payback_month", "evaluate", "expected_drivers",
           "irr_annual", "monthly_cash_flows", "monthly_rate", "npv_usd", "parse_case_data", "payback_month",
           "roi", "roi_document", "sampled_drivers"]
