"""Design against production for one month: which designed numbers the logs contradict, and what each cost.

`drift(workflow, con, month, book)` measures the month (usage.calibration), calibrates the spec on it
(usage.calibrate) and returns:
- per parameter: designed and observed, flagged when the observed value lies outside the design's P10-P90
  (a fixed design: more than 5% away, or 0.02 for a rate);
- the model calls' cost per task and per month: designed (the spec's expected value), with the observed
  parameters (the calibrated spec's), and actual (the month's logged cost); tool fees are not logged and are
  left out of all three;
- the gap from designed to observed, attributed to parameter groups by their Shapley values: each group's
  average change of the expected cost when its observed values replace the designed ones, over every order of
  replacing the groups. The shares add up exactly to the gap; the rest, actual less observed, is what the
  parameters do not explain (sampling, prices, and anything the spec cannot hold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations

import duckdb

from ..core.months import month_start, utc_midnight
from ..design.prices import PriceBook
from ..design.specs import LoopStep, ModelStep, Workflow
from ..design.workload import compile_plan, expected_step_totals
from .calibrate import Fitted, calibrate
from .calibration import observe

# parameter groups: the fields each one swaps (model steps' fields, loops' settings, the volume)
STEP_GROUPS = {"input tokens": ("input_tokens",), "output tokens": ("output_tokens",),
               "cache hit rate": ("cache_hit_rate",), "retry rate": ("retry_rate",), "routing": ("routing",),
               "calls per run": ("calls_per_run",)}
LOOP_GROUPS = {"loop iterations": ("iterations",), "context growth": ("context_growth_tokens",)}
VOLUME = "tasks per month"
GROUPS = (*STEP_GROUPS, *LOOP_GROUPS)


@dataclass(frozen=True)
class Drifted:
    """One parameter: designed and observed, and whether the observation falls outside the design's range."""

    parameter: str
    designed: str
    observed: str
    n: int
    outside: bool
    used: bool


@dataclass(frozen=True)
class Drift:
    workflow: str
    month: str
    tasks: int
    parameters: list[Drifted]
    cost_per_task: dict[str, float]  # designed, observed, actual (model calls, USD)
    cost_per_month: dict[str, float]
    per_task_shares: dict[str, float]  # group -> USD per task, adding up to observed - designed
    per_month_shares: dict[str, float]  # group (and tasks per month) -> USD per month
    notes: list[str]

    def to_dict(self) -> dict:
        return {"schema": "forecast.drift/1", "workflow": self.workflow, "month": self.month, "tasks": self.tasks,
                "parameters": [p.__dict__ for p in self.parameters], "cost_per_task_usd": self.cost_per_task,
                "cost_per_month_usd": self.cost_per_month, "gap_per_task_usd": self.per_task_shares,
                "gap_per_month_usd": self.per_month_shares, "notes": self.notes}


def _mixed(design: Workflow, observed: Workflow, groups: frozenset[str]) -> Workflow:
    """The design with the observed values of `groups` (the two workflows have the same shape)."""
    def steps(a_steps, b_steps):
        out = []
        for a, b in zip(a_steps, b_steps, strict=True):
            if isinstance(a, LoopStep):
                fields = {f: getattr(b.loop, f) for g, fs in LOOP_GROUPS.items() if g in groups for f in fs}
                out.append(replace(a, loop=replace(a.loop, **fields), steps=steps(a.steps, b.steps)))
            elif isinstance(a, ModelStep):
                out.append(replace(a, **{f: getattr(b, f) for g, fs in STEP_GROUPS.items() if g in groups for f in fs}))
            else:
                out.append(a)
        return tuple(out)

    volume = design.volume
    if VOLUME in groups:
        volume = replace(volume, tasks_per_month=observed.volume.tasks_per_month)
    return replace(design, steps=steps(design.steps, observed.steps), volume=volume)


def shapley(players: list[str], value) -> dict[str, float]:
    """Exact Shapley values of `players` for the set function value(frozenset) -> float; they add up to
    value(all) - value(none).

    >>> shares = shapley(["a", "b"], lambda s: 10 * ("a" in s) + 4 * ("b" in s) + 2 * ("a" in s and "b" in s))
    >>> shares, sum(shares.values())
    ({'a': 11.0, 'b': 5.0}, 16.0)
    """
    n = len(players)
    cache: dict[frozenset, float] = {}

    def v(s: frozenset) -> float:
        if s not in cache:
            cache[s] = value(s)
        return cache[s]

    out = {}
    for p in players:
        others = [q for q in players if q != p]
        total = 0.0
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            total += weight * sum(v(frozenset(c) | {p}) - v(frozenset(c)) for c in combinations(others, k))
        out[p] = total
    return out


def _range_check(designed, observed_value: float | None, rate: bool) -> bool:
    """True when the observed central value lies outside the design's P10-P90 (a fixed design: 5%, or 0.02)."""
    if observed_value is None:
        return False
    lo, hi = float(designed.ppf(0.1)), float(designed.ppf(0.9))
    if hi - lo < 1e-12:
        return abs(observed_value - lo) > (0.02 if rate else 0.05 * max(abs(lo), 1e-9))
    return not lo <= observed_value <= hi


def drift(workflow: Workflow, con: duckdb.DuckDBPyConnection, month: date, book: PriceBook) -> Drift:
    """The month's drift of `workflow` from its design (see the module docstring)."""
    start, end = month_start(month), month_start(month, 1)
    observed = observe(con, workflow, start, end)
    calibrated, records, notes = calibrate(workflow, observed)
    plan_cost = {}

    def cost(groups: frozenset) -> float:
        if groups not in plan_cost:
            mixed = _mixed(workflow, calibrated, groups)
            plan_cost[groups] = model_cost_per_task(mixed, book, start)
        return plan_cost[groups]

    def monthly(groups: frozenset) -> float:
        tasks = (calibrated if VOLUME in groups else workflow).volume.tasks_per_month.mean()
        return tasks * cost(groups - {VOLUME})

    per_task = shapley(list(GROUPS), cost)
    per_month = shapley([*GROUPS, VOLUME], monthly)
    actual_usd = con.execute("""SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE workflow_name = ?
        AND "timestamp" >= ? AND "timestamp" < ? AND task_id IS NOT NULL""",
                             [workflow.name, utc_midnight(start), utc_midnight(end)]).fetchall()[0][0]
    tasks = observed.tasks
    everything = frozenset(GROUPS)
    cost_per_task = {"designed": cost(frozenset()), "observed": cost(everything),
                     "actual": float(actual_usd) / tasks if tasks else float("nan")}
    cost_per_month = {"designed": monthly(frozenset()), "observed": monthly(everything | {VOLUME}),
                      "actual": float(actual_usd)}
    parameters = [Drifted(r.label(), r.designed, r.observed, r.n, _flag(r, workflow), r.used) for r in records]
    notes.append("tool fees are not logged: the costs above are the model calls' only")
    return Drift(workflow.name, f"{start:%Y-%m}", tasks, parameters, cost_per_task, cost_per_month, per_task,
                 per_month, notes)


def model_cost_per_task(workflow: Workflow, book: PriceBook, on: date) -> float:
    """Expected USD per task of `workflow`'s model calls at prices of `on` (closed form; tool fees left out:
    the logs do not carry them)."""
    plan = compile_plan(workflow, book, on)
    return float(sum(sum(float(t.cost_usd) for t in routes)
                     for ps, routes in zip(plan.steps, expected_step_totals(plan), strict=True)
                     if isinstance(ps.step, ModelStep)))


def _flag(record: Fitted, workflow: Workflow) -> bool:
    """Whether a fitted number's p50 lies outside its design's P10-P90."""
    designed = _designed_at(workflow, record.path)
    if designed is None or not hasattr(designed, "ppf") or record.value is None:
        return False
    rate = record.path[-1] in ("cache_hit_rate", "retry_rate", "success_rate", "monthly_growth")
    return _range_check(designed, record.value, rate)


def _designed_at(workflow: Workflow, path: tuple):
    node = workflow
    for key in path:
        if isinstance(key, int):
            node = node[key]
        elif key == "steps" and hasattr(node, "steps"):
            node = node.steps
        else:
            node = getattr(node, key, None)
        if node is None:
            return None
    return node
