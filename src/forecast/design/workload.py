"""Unit economics of a workflow: tokens and USD per task, closed form and Monte Carlo.

One evaluator walks the steps of a compiled plan. What it is fed decides what it computes:
- expected values (closed form): every number at its mean, loops summed over the exact
  distribution of iterations (rounded, capped);
- Monte Carlo: every number drawn per task (vectorized, seeded, chunked);
- monthly scenarios: population parameters (rates, fees, volumes) drawn per scenario,
  per-task quantities at their means.

Semantics (also in the README):
- tokens, output, loop iterations, calls and tool results vary from task to task;
- cache hit rate, retry rate, tool fees, success rate and volumes are population parameters:
  uncertain, but shared by every task of a month;
- a call's input is system + context + user + result tokens of the tools just before it, plus
  `(i - 1) * context_growth_tokens` of history on loop iteration i;
- cache: hits read the cacheable prefix at the cached-input price; misses pay the cache-write
  price where the provider charges one, else the input price;
- retries: `retry_rate` of calls fail and are sent again, each failed attempt billed in full;
- routing: `share` of tasks send this step's calls to the other model;
- long-context tiers: a call whose input exceeds a tier's threshold pays that tier's prices on
  all its tokens (genai-prices' convention).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..core.errors import PriceError
from ..core.validation import short_repr
from .distributions import MAX_SUPPORT, Distribution, Fixed, rounded_pmf
from .prices import ModelPrices, PriceBook
from .specs import INPUT_PARTS, LoopStep, ModelStep, ToolStep, Workflow

PER_MTOK = 1e6
DAYS_PER_MONTH = 365.25 / 12
PARAM_FIELDS = ("cache_hit_rate", "retry_rate", "fee_usd_per_call")  # drawn per scenario, not per task


# ---------------------------------------------------------------- pure model functions


def history_tokens(iterations, context_growth_tokens):
    """Tokens of re-sent history summed over iterations 1..n: growth * n(n-1)/2."""
    return context_growth_tokens * iterations * (iterations - 1) / 2


def iterations_at_or_below(input_tokens, context_growth_tokens, iterations, threshold_tokens):
    """How many of iterations 1..n send at most `threshold_tokens` of input (input + (i-1)*growth)."""
    growth = np.asarray(context_growth_tokens, dtype=float)
    room = threshold_tokens - np.asarray(input_tokens, dtype=float)
    safe = np.where(growth > 0, growth, 1.0)
    count = np.where(growth > 0, np.floor(room / safe) + 1, np.where(room >= 0, np.inf, -np.inf))
    return np.clip(count, 0, iterations)


def cost_usd(input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, band) -> np.ndarray:
    """USD for token counts at one price band (prices are per million tokens)."""
    return (input_tokens * band.input_usd_per_mtok + cached_input_tokens * band.cached_input_usd_per_mtok
            + cache_write_tokens * band.cache_write_usd_per_mtok
            + output_tokens * band.output_usd_per_mtok) / PER_MTOK


@dataclass
class Totals:
    """Per-task totals of one step (arrays or scalars): calls, tokens by kind, USD (and its cache-write part)."""

    calls: object = 0.0
    input_tokens: object = 0.0
    cached_input_tokens: object = 0.0
    cache_write_tokens: object = 0.0
    output_tokens: object = 0.0
    cost_usd: object = 0.0
    cache_write_usd: object = 0.0  # the part of cost_usd paid for cache writes

    def scaled(self, factor) -> Totals:
        return Totals(*(getattr(self, f) * factor for f in self.__dataclass_fields__))

    def plus(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    def weighted_sum(self, weights, k_shape: tuple) -> Totals:
        """Sum over the leading (iterations) axis, of shape `k_shape`, with the given weights."""
        return Totals(*(np.tensordot(weights, np.broadcast_to(v, np.broadcast_shapes(np.shape(v), k_shape)), axes=1)
                        for v in (getattr(self, f) for f in self.__dataclass_fields__)))


def model_call_totals(prices: ModelPrices, *, iterations, input_tokens, prefix_tokens, context_growth_tokens,
                      history_cached: bool, write_premium: bool, cache_hit_rate, retry_rate, output_tokens,
                      calls_per_run) -> Totals:
    """Per-task totals of a model step run `iterations` times; see the module docstring for semantics."""
    bands = prices.bands
    if len(bands) == 1:
        counts, sums = [iterations], [iterations * (iterations - 1) / 2]
    else:  # split the iterations into the price bands their growing input falls in
        at_or_below = [iterations_at_or_below(input_tokens, context_growth_tokens, iterations,
                                              b.above_input_tokens) for b in bands[1:]]
        edges = [0.0, *at_or_below, iterations]
        counts = [hi - lo for lo, hi in itertools.pairwise(edges)]
        sums = [(hi * (hi - 1) - lo * (lo - 1)) / 2 for lo, hi in itertools.pairwise(edges)]
    attempts = calls_per_run * (1 + retry_rate)  # every quantity below is linear in (n, s): scale those two only
    out = None
    for band, n, s in zip(bands, counts, sums, strict=True):
        n, s = n * attempts, s * attempts
        history = context_growth_tokens * s
        prefix = n * prefix_tokens + (history if history_cached else 0.0)
        rest = n * (input_tokens - prefix_tokens) + (0.0 if history_cached else history)
        cached = cache_hit_rate * prefix
        missed = prefix - cached
        written = missed if write_premium else 0.0
        uncached = rest + (0.0 if write_premium else missed)
        outputs = n * output_tokens
        usd = cost_usd(uncached, cached, written, outputs, band)
        if prices.usd_per_call:
            usd = usd + n * prices.usd_per_call
        write_usd = written * band.cache_write_usd_per_mtok / PER_MTOK
        band_totals = Totals(n, uncached, cached, written, outputs, usd, write_usd)
        out = band_totals if out is None else out.plus(band_totals)
    return out


def tool_call_totals(*, iterations, calls_per_run, fee_usd_per_call) -> Totals:
    """Per-task totals of a tool step: calls and fees (its result tokens are billed by the next model call)."""
    calls = iterations * calls_per_run
    return Totals(calls=calls, cost_usd=calls * fee_usd_per_call)


# ---------------------------------------------------------------- compiled plan


@dataclass(frozen=True)
class PlannedRoute:
    prices: ModelPrices
    share: float
    write_premium: bool


@dataclass(frozen=True)
class PlannedStep:
    """A step with its prices resolved; `loop` is the enclosing loop, `fed_by` the tools feeding it."""

    step: ModelStep | ToolStep
    loop: LoopStep | None
    routes: tuple[PlannedRoute, ...] = ()
    fed_by: tuple[ToolStep, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A workflow with every model priced at one date."""

    workflow: Workflow
    on: date
    steps: tuple[PlannedStep, ...]
    background: tuple[tuple[object, ModelPrices], ...]

    def loops(self) -> list[LoopStep]:
        return list(dict.fromkeys(s.loop for s in self.steps if s.loop is not None))

    def prices(self) -> list[ModelPrices]:
        found = {(r.prices.provider, r.prices.model, r.prices.batch, r.prices.requested): r.prices
                 for s in self.steps for r in s.routes}
        found.update({(p.provider, p.model, p.batch, p.requested): p for _, p in self.background})
        return list(found.values())


def _route(prices: ModelPrices, share: float, caching: bool) -> PlannedRoute:
    premium = caching and any(b.cache_write_usd_per_mtok != b.input_usd_per_mtok for b in prices.bands)
    return PlannedRoute(prices, share, premium)


def compile_plan(workflow: Workflow, book: PriceBook, on: date) -> Plan:
    """Resolve every model's prices at `on` and note which tools feed which model step.

    A price problem becomes 'SPEC: FIELD: MODEL: PROBLEM', e.g. `steps[2].routing[0].model`.
    """
    planned: list[PlannedStep] = []

    def lookup(model: str, provider: str | None, batch: bool, where: str) -> ModelPrices:
        try:
            return book.lookup(model, provider, on, batch)
        except PriceError as exc:
            raise PriceError([f"{workflow.source}: {where}: {short_repr(model)}: {p}" for p in exc.problems]) from None

    def walk(steps, loop, pending: list[ToolStep], path: str) -> list[ToolStep]:
        """Plan `steps`; return the tools whose result tokens no model step has consumed yet."""
        for i, step in enumerate(steps):
            where = f"{path}[{i}]"
            if isinstance(step, LoopStep):
                pending = walk(step.steps, step, pending, f"{where}.steps")  # they feed its first model step
            elif isinstance(step, ToolStep):
                planned.append(PlannedStep(step, loop))
                if step.result_tokens_per_call != Fixed(0.0):
                    pending = [*pending, step]
            else:
                caching = step.cache_hit_rate != Fixed(0.0)
                others = [_route(lookup(r.model, r.provider, step.batch, f"{where}.routing[{j}].model"), r.share,
                                 caching) for j, r in enumerate(step.routing)]
                main_share = 1.0 - sum(r.share for r in others)
                main = _route(lookup(step.model, step.provider, step.batch, f"{where}.model"), main_share, caching)
                routes = tuple(r for r in [main, *others] if r.share > 1e-12)
                planned.append(PlannedStep(step, loop, routes, tuple(pending)))
                pending = []
        return pending

    walk(workflow.steps, None, [], "steps")
    background = tuple((b, lookup(b.model, b.provider, b.batch, f"volume.background[{i}].model"))
                       for i, b in enumerate(workflow.volume.background))
    return Plan(workflow, on, tuple(planned), background)


def _practical_range(dist: Distribution) -> tuple[float, float]:
    """Where a drawn number lies: its support, or its 1e-9 and 1 - 1e-9 quantiles when unbounded (lognormal)."""
    lo, hi = dist.support()
    return (lo, hi) if math.isfinite(hi) else (float(dist.ppf(1e-9)), float(dist.ppf(1 - 1e-9)))


def steps_priced_by_drawn_input(plan: Plan) -> list[str]:
    """Model steps whose calls may fall on either side of a long-context tier threshold depending on their drawn
    input size: there the closed form (every number at its mean) is only an approximation."""
    names = []
    for ps in plan.steps:
        thresholds = {b.above_input_tokens for r in ps.routes for b in r.prices.bands[1:]}
        if not thresholds:
            continue
        parts = [getattr(ps.step.input_tokens, p) for p in INPUT_PARTS]
        fed = [(t.calls_per_run, t.result_tokens_per_call) for t in ps.fed_by]
        growth = ps.loop.loop.context_growth_tokens if ps.loop else Fixed(0.0)
        later_calls = ps.loop.loop.max_steps - 1 if ps.loop else 0
        if all(isinstance(d, Fixed) for d in [*parts, *itertools.chain(*fed), growth]):
            continue  # input sizes known: the closed form splits the calls between the bands exactly
        ranges = [_practical_range(d) for d in parts]
        ranges += [tuple(a * b for a, b in zip(_practical_range(c), _practical_range(r), strict=True)) for c, r in fed]
        low = sum(lo for lo, _ in ranges)
        high = sum(hi for _, hi in ranges) + _practical_range(growth)[1] * later_calls
        if any(low <= t < high for t in thresholds):
            names.append(ps.step.name)
    return names


# ---------------------------------------------------------------- the evaluator

# draw(key, dist) -> value: a scalar, or an array over tasks / scenarios.
Draw = Callable[[tuple, Distribution], object]


def _step_totals(ps: PlannedStep, draw: Draw, iterations, growth) -> list[Totals]:
    """Per-route totals of one planned step (a tool step has one entry)."""
    step, name = ps.step, ps.step.name
    calls = draw((name, "calls_per_run"), step.calls_per_run)
    if isinstance(step, ToolStep):
        fee = draw((name, "fee_usd_per_call"), step.fee_usd_per_call)
        return [tool_call_totals(iterations=iterations, calls_per_run=calls, fee_usd_per_call=fee)]
    parts = {p: draw((name, p), getattr(step.input_tokens, p)) for p in INPUT_PARTS}
    fed = sum((draw((t.name, "calls_per_run"), t.calls_per_run)
               * draw((t.name, "result_tokens_per_call"), t.result_tokens_per_call) for t in ps.fed_by), 0.0)
    common = dict(
        iterations=iterations,
        input_tokens=parts["system"] + parts["context"] + parts["user"] + fed,
        prefix_tokens=sum((parts[p] for p in step.cacheable if p in parts), 0.0),
        context_growth_tokens=growth,
        history_cached="history" in step.cacheable,
        cache_hit_rate=draw((name, "cache_hit_rate"), step.cache_hit_rate),
        retry_rate=draw((name, "retry_rate"), step.retry_rate),
        output_tokens=draw((name, "output_tokens"), step.output_tokens),
        calls_per_run=calls,
    )
    return [model_call_totals(r.prices, write_premium=r.write_premium, **common) for r in ps.routes]


def expected_step_totals(plan: Plan, params: dict[tuple, object] | None = None,
                         uncapped: bool = False) -> list[list[Totals]]:
    """Expected per-task totals for every planned step and route (share-weighted), closed form.

    Every number is at its mean, except the parameters in `params` (arrays over scenarios).
    With `uncapped`, loops run as if they had no `max_steps`.
    """
    draw = scenario_draw(params or {})
    results = []
    for ps in plan.steps:
        if ps.loop is None:
            per_route = _step_totals(ps, draw, 1.0, 0.0)
        else:
            settings = ps.loop.loop
            pmf = rounded_pmf(settings.iterations, None if uncapped else settings.max_steps)
            k_shape = (len(pmf), 1) if params else (len(pmf),)
            k = np.arange(len(pmf), dtype=float).reshape(k_shape)
            growth = draw((ps.loop.name, "context_growth_tokens"), settings.context_growth_tokens)
            per_route = [t.weighted_sum(pmf, k_shape) for t in _step_totals(ps, draw, k, growth)]
        shares = [r.share for r in ps.routes] or [1.0]
        results.append([t.scaled(s) for t, s in zip(per_route, shares, strict=True)])
    return results


def expected_task_cost_usd(plan: Plan, params: dict[tuple, object] | None = None, uncapped: bool = False,
                           max_cells: int = 1 << 20):
    """Expected USD per task (closed form); an array over scenarios when `params` holds arrays.

    Scenarios are taken in chunks so that (loop iterations x scenarios) stays within `max_cells`.
    """
    def cost(part):
        return sum((t.cost_usd for routes in expected_step_totals(plan, part, uncapped) for t in routes), 0.0)

    n = max((np.size(v) for v in (params or {}).values() if np.ndim(v)), default=0)
    longest = max((ps.loop.loop.max_steps + 1 for ps in plan.steps if ps.loop), default=1)
    chunk = max(1, max_cells // longest)
    if n <= chunk:
        return cost(params)
    out = np.empty(n)
    for start in range(0, n, chunk):
        out[start:start + chunk] = cost({k: v[start:start + chunk] if np.ndim(v) else v for k, v in params.items()})
    return out


def _draw_per_task(rng: np.random.Generator, n: int) -> Draw:
    """Draw each (step, field) once per task, so a tool's calls are the same for its fee and its tokens."""
    drawn: dict[tuple, object] = {}

    def draw(key, dist):
        if key not in drawn:
            drawn[key] = dist.sample(rng, n)
        return drawn[key]

    return draw


def _summed_over_tasks(t: Totals, n: int, mask=None) -> Totals:
    """Totals summed over the n tasks of a chunk (only those in `mask`, when given)."""
    fields = (np.broadcast_to(getattr(t, f), (n,)) for f in t.__dataclass_fields__)
    return Totals(*(float(v.sum() if mask is None else v[mask].sum()) for v in fields))


def _chunk_task_costs(plan: Plan, rng: np.random.Generator, n: int, uncapped: bool = False,
                      sums: list[list[Totals]] | None = None) -> np.ndarray:
    """USD of n tasks; with `sums`, also adds every step's and route's totals over these tasks into it."""
    draw = _draw_per_task(rng, n)
    total = np.zeros(n)
    loop_state: dict[str, tuple] = {}
    for i, ps in enumerate(plan.steps):
        if ps.loop is None:
            iterations, growth = 1.0, 0.0
        else:
            if ps.loop.name not in loop_state:
                settings = ps.loop.loop
                x = settings.iterations.sample(rng, n)
                k = np.clip(np.rint(x), 0, MAX_SUPPORT if uncapped else settings.max_steps)
                loop_state[ps.loop.name] = (k, settings.context_growth_tokens.sample(rng, n))
            iterations, growth = loop_state[ps.loop.name]
        per_route = _step_totals(ps, draw, iterations, growth)
        chosen = None
        if len(per_route) == 1:
            total += per_route[0].cost_usd
        else:  # route chosen once per task and step
            u = rng.random(n)
            edges = np.cumsum([r.share for r in ps.routes])[:-1]
            chosen = np.searchsorted(edges, u, side="right")
            total += np.choose(chosen, [np.broadcast_to(t.cost_usd, (n,)) for t in per_route])
        if sums is not None:
            sums[i] = [s.plus(_summed_over_tasks(t, n, None if chosen is None else chosen == j))
                       for j, (s, t) in enumerate(zip(sums[i], per_route, strict=True))]
    return total


def simulate_task_costs_usd(plan: Plan, n_tasks: int, seed: int = 0, chunk_tasks: int = 1 << 16) -> np.ndarray:
    """Monte Carlo USD per task (n_tasks samples), drawn in chunks so memory stays bounded."""
    return _simulate(plan, n_tasks, seed, chunk_tasks)


def simulate_step_means(plan: Plan, n_tasks: int, seed: int = 0, chunk_tasks: int = 1 << 16,
                        uncapped: bool = False) -> tuple[np.ndarray, list[list[Totals]]]:
    """Monte Carlo USD per task (the same draws as `simulate_task_costs_usd`) and, per step and route, its
    mean totals per task (a route counts the tasks routed to it), so they add up to the mean cost per task.

    With `uncapped`, loops run as if they had no `max_steps` (up to MAX_SUPPORT iterations), same draws.
    """
    sums = [[Totals() for _ in (ps.routes or [None])] for ps in plan.steps]
    costs = _simulate(plan, n_tasks, seed, chunk_tasks, uncapped, sums)
    return costs, [[t.scaled(1.0 / n_tasks) for t in routes] for routes in sums]


def _simulate(plan: Plan, n_tasks: int, seed: int, chunk_tasks: int, uncapped: bool = False,
              sums: list[list[Totals]] | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(n_tasks)
    for start in range(0, n_tasks, chunk_tasks):
        n = min(chunk_tasks, n_tasks - start)
        out[start:start + n] = _chunk_task_costs(plan, rng, n, uncapped, sums)
    return out


# ---------------------------------------------------------------- monthly scenarios


def draw_parameters(plan: Plan, n_scenarios: int, seed: int) -> dict[tuple, object]:
    """Population parameters drawn once per scenario (shared by all months of a projection)."""
    rng = np.random.default_rng([seed, 1])
    wf = plan.workflow
    params: dict[tuple, object] = {}
    for ps in plan.steps:
        for field in PARAM_FIELDS:
            dist = getattr(ps.step, field, None)
            if dist is not None:
                params[(ps.step.name, field)] = dist.sample(rng, n_scenarios)
    # an array even when fixed: each scenario draws its own task-to-task noise (see monthly_cost_usd)
    params[("volume", "tasks_per_month")] = np.broadcast_to(wf.volume.tasks_per_month.sample(rng, n_scenarios),
                                                            (n_scenarios,))
    params[("volume", "monthly_growth")] = wf.volume.monthly_growth.sample(rng, n_scenarios)
    params[("outcome", "success_rate")] = wf.outcome.success_rate.sample(rng, n_scenarios)
    for i, b in enumerate(wf.volume.background):
        params[("background", i, "calls_per_day")] = b.calls_per_day.sample(rng, n_scenarios)
    return params


def scenario_draw(params: dict[tuple, object]) -> Draw:
    """Parameters from `params`, everything else at its mean."""
    return lambda key, dist: params[key] if key in params else dist.mean()


def background_cost_usd_per_month(plan: Plan, params: dict[tuple, object] | None = None):
    """USD per month of always-on background calls (calls/day x 365.25/12 days x cost per call)."""
    total = 0.0
    for i, (b, prices) in enumerate(plan.background):
        calls_per_day = params[("background", i, "calls_per_day")] if params else b.calls_per_day.mean()
        per_call = cost_usd(b.input_tokens.mean(), 0.0, 0.0, b.output_tokens.mean(), prices.base)
        total = total + calls_per_day * DAYS_PER_MONTH * (per_call + prices.usd_per_call)
    return total


def monthly_cost_usd(plan: Plan, params: dict[tuple, object], month_index: int, task_sd_usd: float,
                     rng: np.random.Generator):
    """USD per month for each scenario: tasks x expected cost per task + background, plus the
    task-to-task noise of a month's sum (normal, sd = sqrt(tasks) x per-task sd)."""
    tasks = params[("volume", "tasks_per_month")] * (1 + params[("volume", "monthly_growth")]) ** month_index
    per_task = expected_task_cost_usd(plan, params)
    noise = rng.standard_normal(np.shape(tasks)) * np.sqrt(tasks) * task_sd_usd
    return tasks, np.maximum(tasks * per_task + noise, 0.0) + background_cost_usd_per_month(plan, params)
