"""Monthly cash-flow lines of a business case, from its drivers (floats, or arrays over scenarios).

Conventions (also in the README):
- months run 0..H: month 0 is the start (one-time build costs, hardware bought at month 0);
  month m >= 1 is the m-th month of the horizon and its cash flows fall at its end;
- months 1..B are the build phase (no traffic); months B+1..H are live; live month k = m - B;
- tasks(m) = tasks_per_month x (1 + monthly_growth)^(m - 1) x adoption(k): the addressable volume
  grows from month 1 whether or not the workflow is live; adoption is the share the AI handles;
- API inference and background calls pay the price-date prices times
  (1 - token_price_decline_per_year)^((m - 1) / 12): the yearly decline compounded monthly;
- self-hosted inference is the monthly GPU bill of `forecast.gpu.layout_fleets` for the month's tokens, in
  the tensor-parallel layout that needs the fewest GPUs that month (no token price decline: GPU rental
  prices are the model's own input);
- hardware is paid in full at the end of its purchase month and depreciated straight-line over
  its useful life from the next month; depreciation only matters through the tax shield;
- with a tax rate: tax(m) = rate x (benefits - operating costs - depreciation) (a negative tax is the
  relief a profitable company gets from the loss); without one, no tax line and no shield.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import ForecastError
from .economics import CaseWorkflow, CompiledCase

PHASES = ("build", "live", "all")


@dataclass(frozen=True)
class CashFlows:
    """Monthly lines (USD, positive numbers; arrays of shape (..., H + 1)), net cash and volumes."""

    costs: dict[str, np.ndarray]
    benefits: dict[str, np.ndarray]
    depreciation_usd: np.ndarray
    tax_usd: np.ndarray | None
    tasks: dict[str, np.ndarray]
    successes: dict[str, np.ndarray]

    @property
    def total_cost_usd(self) -> np.ndarray:
        return sum(self.costs.values())

    @property
    def total_benefit_usd(self) -> np.ndarray:
        return sum(self.benefits.values())

    @property
    def net_usd(self) -> np.ndarray:
        """Net cash flow per month: benefits - costs - tax."""
        net = self.total_benefit_usd - self.total_cost_usd
        return net if self.tax_usd is None else net - self.tax_usd


def adoption_share(use, live_months: np.ndarray) -> np.ndarray:
    """Share of volume on the AI in live month k = 1, 2, ... (0 where k < 1)."""
    k = np.asarray(live_months, dtype=float)
    if use.adoption.s_curve is not None:
        s = use.adoption.s_curve
        share = s.ceiling / (1.0 + np.exp(-s.steepness_per_month * (k - s.midpoint_month)))
    else:
        plan = np.asarray(use.adoption.plan, dtype=float)
        share = plan[np.clip(k.astype(int), 1, len(plan)) - 1]
    return np.where(k >= 1, share, 0.0)


def phase_mask(during: str, build_months: int, horizon_months: int) -> np.ndarray:
    """1.0 in the months (0..H) of a phase: build = 1..B, live = B+1..H, all = 1..H; month 0 is never in one."""
    m = np.arange(horizon_months + 1)
    inside = {"build": (m >= 1) & (m <= build_months), "live": m > build_months, "all": m >= 1}[during]
    return inside.astype(float)


def price_decline_factor(decline_per_year, months: np.ndarray):
    """(1 - decline_per_year)^((m - 1) / 12): month 1 pays the price-date prices."""
    d = np.asarray(decline_per_year, dtype=float)[..., None]
    return (1.0 - d) ** ((np.maximum(months, 1) - 1) / 12.0)


def straight_line_depreciation_usd(cost_usd, purchase_month: int, useful_life_months: int,
                                   horizon_months: int) -> np.ndarray:
    """cost / life in each month purchase+1 .. purchase+life that lies within 0..H."""
    m = np.arange(horizon_months + 1)
    inside = ((m > purchase_month) & (m <= purchase_month + useful_life_months)).astype(float)
    return np.asarray(cost_usd, dtype=float)[..., None] / useful_life_months * inside


def _col(value) -> np.ndarray:
    """A driver (scalar or (n,)) as a column that broadcasts against months."""
    return np.asarray(value, dtype=float)[..., None]


def _self_hosted_usd(cw: CaseWorkflow, d: dict, tasks: np.ndarray, live: np.ndarray) -> np.ndarray:
    try:
        from ..gpu.fleet import cheapest_monthly_usd, layout_fleets
    except ImportError as exc:
        raise ForecastError(f"workflow {cw.label!r}: self-hosted serving needs forecast.gpu.layout_fleets, "
                            f"which cannot be imported ({exc})") from None
    w, sh = cw.label, cw.self_hosted
    calls = _col(d[f"{w}.model_calls_per_task"])
    tokens = tasks * (_col(d[f"{w}.input_tokens_per_task"]) + _col(d[f"{w}.output_tokens_per_task"])) \
        + _col(d[f"{w}.background_tokens_per_month"]) * live
    safe_calls = np.where(calls > 0, calls, 1.0)
    in_per_req = np.broadcast_to(_col(d[f"{w}.input_tokens_per_task"]) / safe_calls, tokens.shape)
    out_per_req = np.broadcast_to(_col(d[f"{w}.output_tokens_per_task"]) / safe_calls, tokens.shape)
    usd = np.zeros(tokens.shape)
    on = (live > 0) & (tokens > 0) & np.broadcast_to(True, tokens.shape)
    # one call per distinct request shape: the shapes are shared by every month of a scenario
    for tokens_in, tokens_out in np.unique(np.stack([in_per_req[on], out_per_req[on]], axis=1), axis=0):
        sel = on & (in_per_req == tokens_in) & (out_per_req == tokens_out)
        try:
            fleets = layout_fleets(sh.model, sh.gpu, tokens_per_month=tokens[sel],
                                   input_tokens_per_request=float(tokens_in),
                                   output_tokens_per_request=float(tokens_out), precision=sh.precision,
                                   peak_to_average=sh.peak_to_average, target_utilisation=sh.target_utilisation,
                                   pricing=sh.pricing, provider=sh.provider)
        except ForecastError as exc:
            raise ForecastError(f"workflow {w!r}: self-hosted {sh.model} on {sh.gpu} at {sh.precision}, requests of "
                                f"{tokens_in:,.0f} in + {tokens_out:,.0f} out tokens: {exc.problems[0]}") from None
        usd[sel] = np.broadcast_to(cheapest_monthly_usd(fleets), (int(sel.sum()),))  # fewest GPUs each month
    return usd


def monthly_cash_flows(cc: CompiledCase, drivers: dict, volume_factor=1.0) -> CashFlows:
    """Cash-flow lines for months 0..H from `drivers`; `volume_factor` scales every workflow's volume."""
    case, d = cc.case, drivers
    horizon, build = case.horizon_months, case.build.months
    m = np.arange(horizon + 1)
    live = phase_mask("live", build, horizon)
    month0 = (m == 0).astype(float)
    decline = price_decline_factor(d["finance.token_price_decline_per_year"], m)
    costs: dict[str, np.ndarray] = {}
    benefits: dict[str, np.ndarray] = {}

    def add(lines: dict, name: str, value) -> None:
        lines[name] = lines.get(name, 0.0) + value

    add(costs, "build (one-time)", sum((_col(d[f"build.one_time[{i.name}].usd"]) for i in case.build.one_time),
                                       0.0) * month0)
    for p in case.people:
        add(costs, "people", _col(d[f"people[{p.role}].usd_per_month"]) * phase_mask(p.during, build, horizon))
    for group, line in (("platform", "platform"), ("tool_fees", "tool fees")):
        for r in getattr(case, group):
            add(costs, line, _col(d[f"{group}[{r.name}].usd_per_month"]) * phase_mask(r.during, build, horizon))
    depreciation = 0.0
    for h in case.hardware:
        usd = d[f"hardware[{h.name}].usd"]
        add(costs, "hardware (purchase)", _col(usd) * (m == h.month))
        depreciation = depreciation + straight_line_depreciation_usd(usd, h.month, h.useful_life_months, horizon)

    tasks_by, successes_by = {}, {}
    for cw in cc.workflows:
        w, use = cw.label, cw.use
        growth = (1.0 + _col(d[f"{w}.monthly_growth"])) ** np.maximum(m - 1, 0)
        tasks = _col(d[f"{w}.tasks_per_month"]) * np.asarray(volume_factor)[..., None] * growth \
            * adoption_share(use, m - build)
        successes = tasks * _col(d[f"{w}.success_rate"])
        tasks_by[w], successes_by[w] = tasks, successes
        if cw.self_hosted is None:
            add(costs, "inference (API)", (tasks * _col(d[f"{w}.inference_usd_per_task"])
                                           + _col(d[f"{w}.background_usd_per_month"]) * live) * decline)
        else:
            add(costs, "inference (self-hosted GPUs)", _self_hosted_usd(cw, d, tasks, live))
        add(costs, "tool fees", tasks * _col(d[f"{w}.tool_usd_per_task"]))
        if use.review is not None:
            add(costs, "human review", tasks * _col(d[f"{w}.review_share"]) * _col(d[f"{w}.review_minutes_per_task"])
                / 60.0 * _col(d[f"{w}.review_usd_per_hour"]))
        if f"{w}.minutes_saved_per_task" in d:
            add(benefits, "labour saved", successes * _col(d[f"{w}.minutes_saved_per_task"]) / 60.0
                * _col(d[f"{w}.labour_usd_per_hour"]))
        if f"{w}.human_cost_usd_per_task" in d:
            add(benefits, "human cost avoided", successes * _col(d[f"{w}.human_cost_usd_per_task"]))
        if f"{w}.revenue_uplift_usd_per_month" in d:
            add(benefits, "revenue uplift",
                _col(d[f"{w}.revenue_uplift_usd_per_month"]) * adoption_share(use, m - build))

    shape = np.broadcast_shapes(*(np.shape(v) for v in [*costs.values(), *benefits.values()]), (horizon + 1,))
    costs = {k: np.broadcast_to(v, shape).astype(float) for k, v in costs.items()}
    benefits = {k: np.broadcast_to(v, shape).astype(float) for k, v in benefits.items()}
    depreciation = np.broadcast_to(depreciation, shape).astype(float)
    tax = None
    if case.finance.tax_rate is not None:
        opex = sum((v for k, v in costs.items() if k != "hardware (purchase)"), np.zeros(shape))
        tax = case.finance.tax_rate * (sum(benefits.values(), np.zeros(shape)) - opex - depreciation)
    return CashFlows(costs, benefits, depreciation, tax, tasks_by, successes_by)


def fleet_detail(cw: CaseWorkflow, drivers: dict, flows: CashFlows) -> dict:
    """The self-hosted fleet in the busiest month (from forecast.gpu): replica shape, GPUs, price and source."""
    from ..gpu.fleet import fewest_gpus, layout_fleets

    sh, w, d = cw.self_hosted, cw.label, drivers
    month = int(np.argmax(flows.tasks[w]))
    calls = d[f"{w}.model_calls_per_task"] or 1.0
    tokens = flows.tasks[w][month] * (d[f"{w}.input_tokens_per_task"] + d[f"{w}.output_tokens_per_task"]) \
        + d[f"{w}.background_tokens_per_month"]
    c = fewest_gpus(layout_fleets(sh.model, sh.gpu, tokens_per_month=tokens,
                                  input_tokens_per_request=d[f"{w}.input_tokens_per_task"] / calls,
                                  output_tokens_per_request=d[f"{w}.output_tokens_per_task"] / calls,
                                  precision=sh.precision, peak_to_average=sh.peak_to_average,
                                  target_utilisation=sh.target_utilisation, pricing=sh.pricing, provider=sh.provider))
    return {"model": sh.model, "gpu": c.gpu, "precision": c.precision, "pricing": c.pricing,
            "busiest_month": month, "tokens_per_month": float(tokens), "gpus_per_replica": c.gpus_per_replica,
            "replicas": float(c.replicas), "gpu_count": float(c.gpu_count), "gpu_usd_per_hour": c.gpu_usd_per_hour,
            "monthly_usd": float(c.monthly_usd), "usd_per_mtok": float(c.usd_per_mtok),
            "utilisation": float(c.utilisation), "gpu_price_source": c.price_source}
