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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from .distributions import Distribution, Fixed, rounded_pmf
from .prices import ModelPrices, PriceBook
from .specs import INPUT_PARTS, LoopStep, ModelStep, ToolStep, Workflow

PER_MTOK = 1e6
DAYS_PER_MONTH = 365.25 / 12
TOKEN_KINDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
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
    """Per-task totals of one step (arrays or scalars): calls, tokens by kind, USD."""

    calls: object = 0.0
    input_tokens: object = 0.0
    cached_input_tokens: object = 0.0
    cache_write_tokens: object = 0.0
    output_tokens: object = 0.0
    cost_usd: object = 0.0

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
    attempts = calls_per_run * (1 + retry_rate)
    out = None
    for band, n, s in zip(bands, counts, sums, strict=True):
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
        band_totals = Totals(n, uncached, cached, written, outputs, usd)
        out = band_totals if out is None else out.plus(band_totals)
    return out.scaled(attempts)


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
        found = {(r.prices.provider, r.prices.model, r.prices.batch): r.prices
                 for s in self.steps for r in s.routes}
        found.update({(p.provider, p.model, p.batch): p for _, p in self.background})
        return list(found.values())


def _route(book: PriceBook, model: str, provider: str | None, share: float, on: date, batch: bool,
           caching: bool) -> PlannedRoute:
    prices = book.lookup(model, provider, on, batch)
    premium = caching and any(b.cache_write_usd_per_mtok != b.input_usd_per_mtok for b in prices.bands)
    return PlannedRoute(prices, share, premium)


def compile_plan(workflow: Workflow, book: PriceBook, on: date) -> Plan:
    """Resolve every model's prices at `on` and note which tools feed which model step."""
    planned: list[PlannedStep] = []

    def walk(steps, loop, pending: list[ToolStep]):
        for step in steps:
            if isinstance(step, LoopStep):
                walk(step.steps, step, pending)  # tools before a loop feed its first model step
                pending = []
            elif isinstance(step, ToolStep):
                planned.append(PlannedStep(step, loop))
                if step.result_tokens_per_call != Fixed(0.0):
                    pending.append(step)
            else:
                caching = step.cache_hit_rate != Fixed(0.0)
                others = [_route(book, r.model, r.provider, r.share, on, step.batch, caching) for r in step.routing]
                main_share = 1.0 - sum(r.share for r in others)
                main = _route(book, step.model, step.provider, main_share, on, step.batch, caching)
                routes = tuple(r for r in [main, *others] if r.share > 1e-12)
                planned.append(PlannedStep(step, loop, routes, tuple(pending)))
                pending = []

    walk(workflow.steps, None, [])
    background = tuple((b, book.lookup(b.model, b.provider, on, b.batch)) for b in workflow.volume.background)
    return Plan(workflow, on, tuple(planned), background)


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


def expected_task_cost_usd(plan: Plan, params: dict[tuple, object] | None = None, uncapped: bool = False):
    """Expected USD per task (closed form); an array over scenarios when `params` holds arrays."""
    return sum((t.cost_usd for routes in expected_step_totals(plan, params, uncapped) for t in routes), 0.0)


def _draw_per_task(rng: np.random.Generator, n: int) -> Draw:
    """Draw each (step, field) once per task, so a tool's calls are the same for its fee and its tokens."""
    drawn: dict[tuple, object] = {}

    def draw(key, dist):
        if key not in drawn:
            drawn[key] = dist.sample(rng, n)
        return drawn[key]

    return draw


def _chunk_task_costs(plan: Plan, rng: np.random.Generator, n: int) -> np.ndarray:
    draw = _draw_per_task(rng, n)
    total = np.zeros(n)
    loop_state: dict[str, tuple] = {}
    for ps in plan.steps:
        if ps.loop is None:
            iterations, growth = 1.0, 0.0
        else:
            if ps.loop.name not in loop_state:
                settings = ps.loop.loop
                x = settings.iterations.sample(rng, n)
                k = np.clip(np.rint(x), 0, settings.max_steps)
                loop_state[ps.loop.name] = (k, settings.context_growth_tokens.sample(rng, n))
            iterations, growth = loop_state[ps.loop.name]
        per_route = [t.cost_usd for t in _step_totals(ps, draw, iterations, growth)]
        if len(per_route) == 1:
            total += per_route[0]
        else:  # route chosen once per task and step
            u = rng.random(n)
            edges = np.cumsum([r.share for r in ps.routes])[:-1]
            total += np.choose(np.searchsorted(edges, u, side="right"),
                               [np.broadcast_to(c, (n,)) for c in per_route])
    return total


def simulate_task_costs_usd(plan: Plan, n_tasks: int, seed: int = 0, chunk_tasks: int = 1 << 16) -> np.ndarray:
    """Monte Carlo USD per task (n_tasks samples), drawn in chunks so memory stays bounded."""
    rng = np.random.default_rng(seed)
    out = np.empty(n_tasks)
    for start in range(0, n_tasks, chunk_tasks):
        n = min(chunk_tasks, n_tasks - start)
        out[start:start + n] = _chunk_task_costs(plan, rng, n)
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
    params[("volume", "tasks_per_month")] = wf.volume.tasks_per_month.sample(rng, n_scenarios)
    params[("volume", "monthly_growth")] = wf.volume.monthly_growth.sample(rng, n_scenarios)
    params[("outcome", "success_rate")] = wf.outcome.success_rate.sample(rng, n_scenarios)
    for b in wf.volume.background:
        params[(b.name, "calls_per_day")] = b.calls_per_day.sample(rng, n_scenarios)
    return params


def scenario_draw(params: dict[tuple, object]) -> Draw:
    """Parameters from `params`, everything else at its mean."""
    return lambda key, dist: params[key] if key in params else dist.mean()


def background_cost_usd_per_month(plan: Plan, params: dict[tuple, object] | None = None):
    """USD per month of always-on background calls (calls/day x 365.25/12 days x cost per call)."""
    total = 0.0
    for b, prices in plan.background:
        calls_per_day = params[(b.name, "calls_per_day")] if params else b.calls_per_day.mean()
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
