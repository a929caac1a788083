"""The bridge to the unit-economics engine: workflow specs -> per-task drivers of a business case.

Inference and tool cost per task come from `forecast.design.workload` (closed form at the case's price
date; per-scenario parameters for the Monte Carlo), never from a copy of its logic. Drivers are a
flat mapping `name -> value` (a float, or an array over Monte Carlo scenarios) that `cashflows.py`
turns into monthly lines; the tornado moves them one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.errors import ForecastError, SpecError
from ..core.validation import short_repr
from ..design.distributions import Distribution, Fixed
from ..design.prices import PriceBook
from ..design.specs import ModelStep, ToolStep, Workflow, load_workflow
from ..design.workload import (
    DAYS_PER_MONTH,
    Plan,
    background_cost_usd_per_month,
    compile_plan,
    draw_parameters,
    expected_step_totals,
)
from .case import Case, WorkflowUse, spec_path

BOUNDED_DRIVERS = ("success_rate", "review_share")  # probabilities: a tornado never moves them past [0, 1]


@dataclass(frozen=True)
class CaseWorkflow:
    """A workflow of the case with its spec loaded and priced at the case's price date."""

    label: str
    use: WorkflowUse
    workflow: Workflow
    plan: Plan

    @property
    def self_hosted(self):
        return None if self.use.serving == "api" else self.use.serving.self_hosted


@dataclass(frozen=True)
class CompiledCase:
    """A validated case with every workflow spec loaded and priced."""

    case: Case
    workflows: tuple[CaseWorkflow, ...]


def compile_case(case: Case, book: PriceBook) -> CompiledCase:
    """Load and price every referenced workflow spec; a missing or invalid spec names the case field."""
    out = []
    for i, use in enumerate(case.workflows):
        path = spec_path(case.source, use.spec)
        if not path.is_file():
            raise SpecError(f"{case.source}: workflows[{i}].spec: {short_repr(use.spec)}: no such workflow spec "
                            f"file ({path}; paths are relative to the case file)")
        workflow = load_workflow(path)
        if use.benefits.human_cost_usd_per_task == "from_spec" and workflow.outcome.human_cost_usd_per_task is None:
            raise SpecError(f"{case.source}: workflows[{i}].benefits.human_cost_usd_per_task: 'from_spec': the spec "
                            f"{path} has no outcome.human_cost_usd_per_task; give a number instead")
        if use.serving != "api":
            _check_self_hosted(use.serving.self_hosted, f"{case.source}: workflows[{i}].serving.self_hosted")
        label = use.name or workflow.name
        if label in {cw.label for cw in out}:
            raise SpecError(f"{case.source}: workflows[{i}].name: {short_repr(label)}: two workflows share this name; "
                            "give each a distinct name")
        out.append(CaseWorkflow(label, use, workflow, compile_plan(workflow, book, case.price_date)))
    return CompiledCase(case, tuple(out))


def _check_self_hosted(sh, where: str) -> None:
    """The GPU, model, precision and price a self-hosted workflow names must exist in the GPU catalog;
    the problem is reported against the case field, not only in catalog terms."""
    from ..gpu.catalog import load_catalog
    from ..gpu.memory import check_precision

    catalog = load_catalog()
    for field, check in (("model", lambda: catalog.model(sh.model)),
                         ("gpu", lambda: catalog.gpu(sh.gpu)),
                         ("precision", lambda: check_precision(catalog.gpu(sh.gpu), sh.precision)),
                         ("provider" if sh.provider else "pricing",
                          lambda: catalog.prices_of(sh.gpu, sh.pricing, sh.provider))):
        try:
            check()
        except ForecastError as exc:
            value = getattr(sh, field)
            raise SpecError(f"{where}.{field}: {short_repr(value)}: {exc.problems[0]}") from None


def _per_task_split(plan: Plan, params: dict | None) -> dict[str, object]:
    """Per-task model USD, tool USD, and model tokens/calls (closed form, `params` per scenario)."""
    totals = expected_step_totals(plan, params)
    out = {"model_usd": 0.0, "tool_usd": 0.0, "input_tokens": 0.0, "output_tokens": 0.0, "calls": 0.0}
    for ps, routes in zip(plan.steps, totals, strict=True):
        for t in routes:
            if isinstance(ps.step, ToolStep):
                out["tool_usd"] = out["tool_usd"] + t.cost_usd
            elif isinstance(ps.step, ModelStep):
                out["model_usd"] = out["model_usd"] + t.cost_usd
                out["input_tokens"] = out["input_tokens"] + t.input_tokens + t.cached_input_tokens \
                    + t.cache_write_tokens
                out["output_tokens"] = out["output_tokens"] + t.output_tokens
                out["calls"] = out["calls"] + t.calls
    return out


def background_tokens_per_month(plan: Plan, params: dict | None = None):
    """Input + output tokens per month of the spec's always-on background calls (means per call)."""
    total = 0.0
    for i, (b, _) in enumerate(plan.background):
        calls_per_day = params[("background", i, "calls_per_day")] if params else b.calls_per_day.mean()
        total = total + calls_per_day * DAYS_PER_MONTH * (b.input_tokens.mean() + b.output_tokens.mean())
    return total


Draw = Callable[[str, Distribution], object]


def _workflow_drivers(cw: CaseWorkflow, draw: Draw, params: dict | None) -> dict[str, object]:
    use, wf, w = cw.use, cw.workflow, cw.label
    split = _per_task_split(cw.plan, params)
    p = params or {}
    d: dict[str, object] = {
        f"{w}.tasks_per_month": draw(f"{w}.tasks_per_month", use.tasks_per_month) if use.tasks_per_month is not None
        else p.get(("volume", "tasks_per_month"), wf.volume.tasks_per_month.mean()),
        f"{w}.monthly_growth": draw(f"{w}.monthly_growth", use.monthly_growth) if use.monthly_growth is not None
        else p.get(("volume", "monthly_growth"), wf.volume.monthly_growth.mean()),
        f"{w}.success_rate": p.get(("outcome", "success_rate"), wf.outcome.success_rate.mean()),
        f"{w}.tool_usd_per_task": split["tool_usd"],
    }
    if cw.self_hosted is None:
        d[f"{w}.inference_usd_per_task"] = split["model_usd"]
        d[f"{w}.background_usd_per_month"] = background_cost_usd_per_month(cw.plan, params)
    else:  # token counts per task at their means: the GPU model sizes capacity from them
        d[f"{w}.input_tokens_per_task"] = split["input_tokens"]
        d[f"{w}.output_tokens_per_task"] = split["output_tokens"]
        d[f"{w}.model_calls_per_task"] = split["calls"]
        d[f"{w}.background_tokens_per_month"] = background_tokens_per_month(cw.plan, params)
    if use.review is not None:
        d[f"{w}.review_share"] = draw(f"{w}.review_share", use.review.share_of_tasks)
        d[f"{w}.review_minutes_per_task"] = draw(f"{w}.review_minutes_per_task", use.review.minutes_per_task)
        d[f"{w}.review_usd_per_hour"] = draw(f"{w}.review_usd_per_hour", use.review.usd_per_hour)
    b = use.benefits
    if b.labour is not None:
        d[f"{w}.minutes_saved_per_task"] = draw(f"{w}.minutes_saved_per_task", b.labour.minutes_saved_per_task)
        d[f"{w}.labour_usd_per_hour"] = draw(f"{w}.labour_usd_per_hour", b.labour.usd_per_hour)
    elif b.human_cost_usd_per_task is not None:
        dist = wf.outcome.human_cost_usd_per_task if b.human_cost_usd_per_task == "from_spec" \
            else b.human_cost_usd_per_task
        d[f"{w}.human_cost_usd_per_task"] = draw(f"{w}.human_cost_usd_per_task", dist)
    if b.revenue_uplift_usd_per_month != Fixed(0.0):
        d[f"{w}.revenue_uplift_usd_per_month"] = draw(f"{w}.revenue_uplift_usd_per_month",
                                                      b.revenue_uplift_usd_per_month)
    return d


def _drivers(cc: CompiledCase, draw: Draw, params_of: Callable[[CaseWorkflow], dict | None]) -> dict[str, object]:
    case = cc.case
    d: dict[str, object] = {"finance.token_price_decline_per_year": case.finance.token_price_decline_per_year}
    for item in case.build.one_time:
        d[f"build.one_time[{item.name}].usd"] = draw(f"build.one_time[{item.name}].usd", item.usd)
    for p in case.people:
        key = f"people[{p.role}].usd_per_month"
        d[key] = draw(key + ":fte", p.fte) * draw(key + ":loaded", p.loaded_usd_per_year) / 12.0 \
            * draw(key + ":allocation", p.allocation)
    for group in ("platform", "tool_fees"):
        for r in getattr(case, group):
            d[f"{group}[{r.name}].usd_per_month"] = draw(f"{group}[{r.name}].usd_per_month", r.usd_per_month)
    for h in case.hardware:
        d[f"hardware[{h.name}].usd"] = draw(f"hardware[{h.name}].usd", h.usd)
    for cw in cc.workflows:
        d.update(_workflow_drivers(cw, draw, params_of(cw)))
    return d


def expected_drivers(cc: CompiledCase) -> dict[str, float]:
    """Every driver at its mean (per-task costs from the engine's closed form)."""
    return {k: float(v) for k, v in _drivers(cc, lambda key, dist: dist.mean(), lambda cw: None).items()}


def sampled_drivers(cc: CompiledCase, n_scenarios: int, seed: int) -> dict[str, np.ndarray]:
    """Every driver drawn once per scenario: case numbers here, the specs' population parameters
    (volume, growth, success rate, cache hit and retry rates, tool fees) through `workload.draw_parameters`."""
    rng = np.random.default_rng([seed, 6])

    def draw(key: str, dist: Distribution):
        return np.broadcast_to(dist.sample(rng, n_scenarios), (n_scenarios,))

    def params_of(cw: CaseWorkflow) -> dict:
        return draw_parameters(cw.plan, n_scenarios, seed + 1 + cc.workflows.index(cw))

    return {k: np.broadcast_to(np.asarray(v, dtype=float), (n_scenarios,))
            for k, v in _drivers(cc, draw, params_of).items()}
