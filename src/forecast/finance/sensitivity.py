"""Sensitivity of a business case: tornado (one driver at a time), Monte Carlo, break-even volume."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .cashflows import monthly_cash_flows
from .economics import BOUNDED_DRIVERS, CompiledCase, sampled_drivers
from .metrics import npv_usd, payback_month

NOT_IN_TORNADO = ("model_calls_per_task",)  # a count that only splits tokens into requests
PERCENTILES = (10, 50, 90)
MAX_VOLUME_FACTOR = 1e6


def case_npv_usd(cc: CompiledCase, drivers: dict, annual_rate: float | None = None, volume_factor=1.0):
    """NPV (USD) of the case with these drivers (an array over scenarios when drivers are arrays)."""
    rate = cc.case.finance.discount_rate_annual if annual_rate is None else annual_rate
    return npv_usd(rate, monthly_cash_flows(cc, drivers, volume_factor).net_usd)


def _moved(key: str, value: float, factor: float) -> float:
    moved = value * factor
    return min(max(moved, 0.0), 1.0) if key.rsplit(".", 1)[-1] in BOUNDED_DRIVERS else moved


def tornado(cc: CompiledCase, drivers: dict[str, float], change: float) -> list[dict]:
    """NPV with each driver (and the discount rate) at (1 - change) and (1 + change) x its value, others at
    their expected values; rows sorted by swing |NPV high - NPV low|, largest first."""
    rate = cc.case.finance.discount_rate_annual
    base = case_npv_usd(cc, drivers)
    rows = []
    for key, value in drivers.items():
        if key.rsplit(".", 1)[-1] in NOT_IN_TORNADO:
            continue
        low, high = _moved(key, value, 1 - change), _moved(key, value, 1 + change)
        npv_low = case_npv_usd(cc, {**drivers, key: low})
        npv_high = case_npv_usd(cc, {**drivers, key: high})
        rows.append({"driver": key, "value": value, "low_value": low, "high_value": high,
                     "npv_low_usd": npv_low, "npv_high_usd": npv_high, "swing_usd": abs(npv_high - npv_low)})
    low, high = rate * (1 - change), min(rate * (1 + change), 1.0)
    npv_low, npv_high = case_npv_usd(cc, drivers, low), case_npv_usd(cc, drivers, high)
    rows.append({"driver": "finance.discount_rate_annual", "value": rate, "low_value": low, "high_value": high,
                 "npv_low_usd": npv_low, "npv_high_usd": npv_high, "swing_usd": abs(npv_high - npv_low)})
    for r in rows:
        r["npv_base_usd"] = base
    return sorted(rows, key=lambda r: -r["swing_usd"])


def _pcts(values: np.ndarray) -> dict[str, float | None]:
    method = "linear" if np.isfinite(values).all() else "inverted_cdf"
    out = np.percentile(values, PERCENTILES, method=method)
    return {f"p{p}": (float(v) if np.isfinite(v) else None) for p, v in zip(PERCENTILES, out, strict=True)}


def monte_carlo(cc: CompiledCase, n_scenarios: int, seed: int) -> dict:
    """NPV and payback over scenarios that draw every uncertain driver once each (case numbers and the
    workflow specs' population parameters): P(NPV > 0) and P10/P50/P90. A payback past the horizon
    counts as later than any month (its percentile is None when it falls there)."""
    flows = monthly_cash_flows(cc, sampled_drivers(cc, n_scenarios, seed))
    net = np.broadcast_to(flows.net_usd, (n_scenarios, cc.case.horizon_months + 1))
    npv = npv_usd(cc.case.finance.discount_rate_annual, net)
    payback = payback_month(net).astype(float)
    payback[payback < 0] = np.inf
    return {"scenarios": n_scenarios, "seed": seed,
            "p_npv_positive": float(np.mean(npv > 0)),
            "npv_usd": {"mean": float(npv.mean()), **_pcts(npv)},
            "payback_month": _pcts(payback),
            "p_payback_within_horizon": float(np.mean(np.isfinite(payback)))}


def break_even_volume_factor(cc: CompiledCase, drivers: dict[str, float]) -> float | None:
    """The multiple of every workflow's tasks_per_month at which NPV is zero, others unchanged.

    0 when NPV is already >= 0 with no volume; None when even MAX_VOLUME_FACTOR x the volume loses money.
    """
    def f(k: float) -> float:
        return float(case_npv_usd(cc, drivers, volume_factor=k))

    if f(0.0) >= 0:
        return 0.0
    high = 1.0
    while f(high) < 0:
        if high >= MAX_VOLUME_FACTOR:
            return None
        high *= 4.0
    low = 0.0 if high == 1.0 else high / 4.0
    return float(brentq(f, low, high, xtol=1e-9, rtol=1e-12))
