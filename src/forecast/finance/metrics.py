"""Investment metrics over monthly net cash flows (index 0 = month 0, then month ends).

- NPV: sum of net(m) / (1 + r_m)^m with r_m = (1 + annual)^(1/12) - 1; month 0 is not discounted
  (numpy-financial's `npv` convention).
- IRR: numpy-financial's monthly `irr`, annualised as (1 + irr_m)^12 - 1.
- Payback month: the first month from which cumulative net cash stays >= 0 to the end of the
  horizon (None if it ends negative); discounted payback does the same on discounted cash.
- ROI: (total benefits - total costs) / total costs over the horizon, undiscounted and before tax
  (costs include one-time build costs and hardware purchases, not depreciation).
"""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf


def monthly_rate(annual_rate):
    """Monthly rate equivalent to an annual one: (1 + annual)^(1/12) - 1 (scalar or array)."""
    return (1.0 + np.asarray(annual_rate, dtype=float)) ** (1.0 / 12.0) - 1.0


def discount_factors(annual_rate, months: int) -> np.ndarray:
    """1 / (1 + r_m)^m for m = 0..months-1 (cash at each month end)."""
    return (1.0 + monthly_rate(annual_rate)) ** -np.arange(months, dtype=float)


def npv_usd(annual_rate: float, net_usd) -> np.ndarray | float:
    """Net present value at month 0 of monthly net cash (USD); rows of a 2-D array are scenarios."""
    net = np.asarray(net_usd, dtype=float)
    if net.ndim == 1:
        return float(npf.npv(float(monthly_rate(annual_rate)), net))
    return net @ discount_factors(annual_rate, net.shape[-1])


def irr_annual(net_usd) -> float | None:
    """Annualised internal rate of return of monthly net cash; None where numpy-financial finds none."""
    monthly = npf.irr(np.asarray(net_usd, dtype=float))
    if monthly is None or not math.isfinite(monthly):
        return None
    return float((1.0 + monthly) ** 12 - 1.0)


def payback_month(net_usd) -> np.ndarray | int | None:
    """First month from which cumulative net cash stays >= 0 to the horizon's end; None (or -1 in a
    2-D result) where it ends below 0."""
    cumulative = np.cumsum(np.asarray(net_usd, dtype=float), axis=-1)
    months = cumulative.shape[-1]
    negative = cumulative < 0
    # index of the last negative month, + 1; 0 when none is negative
    last_negative = np.where(negative.any(axis=-1), months - np.argmax(negative[..., ::-1], axis=-1), 0)
    result = np.where(negative[..., -1], -1, last_negative)
    if np.ndim(result) == 0:
        return None if result < 0 else int(result)
    return result


def discounted_payback_month(annual_rate: float, net_usd):
    """Payback month of discounted cash flows (see `payback_month`)."""
    net = np.asarray(net_usd, dtype=float)
    return payback_month(net * discount_factors(annual_rate, net.shape[-1]))


def roi(total_benefit_usd, total_cost_usd):
    """(benefits - costs) / costs; None when there is no cost."""
    if total_cost_usd <= 0:
        return None
    return float((total_benefit_usd - total_cost_usd) / total_cost_usd)
