"""The panel's controls as plain values, and how they change a workflow spec.

A control left at the value the spec gives (within half a widget step) leaves the spec exactly as
written. A control that moves changes the spec like this:

- scale quantities (tasks per month, loop iterations, input tokens, human cost per task): the
  spec's distribution is scaled so its mean is the new value, keeping its shape and relative spread
  (a triangular [32000, 40000, 52000] set to 80,000 tasks becomes [64000, 80000, 104000]);
- rates and probabilities (growth, cache hit rate, retry rate, success rate): the distribution is
  shifted so its mean is the new value, keeping its width; where the shifted range would leave the
  field's bounds the value becomes a fixed number;
- cache hit rate and retry rate show the first model step's rate and move every model step's rate by
  the same amount (each kept within [0, 1]), so steps that differ keep their difference and lowering the
  control never raises a step's rate; the loop controls apply to every loop (the value shown is the first
  loop's); the model sends every model call to one model (routing goes);
  the routed share rescales every routed step's shares so they add up to the new value (0: no routing).

The result is validated by the same boundary as a YAML spec (`scenario.validated`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from ..design.alternatives import map_model_steps, model_steps, on_model
from ..design.distributions import PERT, Distribution, Fixed, LogNormal, Triangular
from ..design.specs import MAX_MAGNITUDE, InputTokens, LoopStep, ModelStep, Workflow

AS_SPECIFIED = "(as specified)"
SERVING_API = "api"
MAX_LOOP_STEPS = 10_000

# widget steps; a control within half a step of the spec's value counts as untouched
STEP = {"tasks_per_month": 1.0, "monthly_growth": 0.001, "loop_iterations": 0.1, "loop_max_steps": 1.0,
        "input_tokens_factor": 0.05, "cache_hit_rate": 0.01, "retry_rate": 0.01, "routed_share": 0.01,
        "success_rate": 0.01, "human_cost_usd_per_task": 0.01}
TOLERANCE = {name: step / 2 for name, step in STEP.items()}


@dataclass(frozen=True)
class Controls:
    """Values of the panel's controls; None where the spec has nothing to control (no loop, no routing)."""

    tasks_per_month: float
    monthly_growth: float
    loop_iterations: float | None
    loop_max_steps: int | None
    input_tokens_factor: float
    cache_hit_rate: float
    retry_rate: float
    model: str
    routed_share: float | None
    success_rate: float
    human_cost_usd_per_task: float | None
    serving: str = SERVING_API


def loops(workflow: Workflow) -> list[LoopStep]:
    return [s for s in workflow.steps if isinstance(s, LoopStep)]


def controls_of(workflow: Workflow, serving: str = SERVING_API) -> Controls:
    """The controls showing a spec as written: means of its distributions (first model step / loop)."""
    steps, loop_list = model_steps(workflow), loops(workflow)
    first = steps[0] if steps else None
    routed = [sum(r.share for r in s.routing) for s in steps if s.routing]
    human = workflow.outcome.human_cost_usd_per_task
    return Controls(
        tasks_per_month=workflow.volume.tasks_per_month.mean(),
        monthly_growth=workflow.volume.monthly_growth.mean(),
        loop_iterations=loop_list[0].loop.iterations.mean() if loop_list else None,
        loop_max_steps=loop_list[0].loop.max_steps if loop_list else None,
        input_tokens_factor=1.0,
        cache_hit_rate=first.cache_hit_rate.mean() if first else 0.0,
        retry_rate=first.retry_rate.mean() if first else 0.0,
        model=AS_SPECIFIED,
        routed_share=routed[0] if routed else None,
        success_rate=workflow.outcome.success_rate.mean(),
        human_cost_usd_per_task=human.mean() if human is not None else None,
        serving=serving,
    )


# ---------------------------------------------------------------- checks, one message per control


def _number_problem(value, low: float, high: float, what: str) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return f"{what}: enter a number"
    if not low <= value <= high:
        rule = f"must be >= {low:g}" if high >= MAX_MAGNITUDE else f"must lie between {low:g} and {high:g}"
        return f"{what}: {value:g}: {rule}"
    return None


RULES = {  # control -> (low, high, label)
    "tasks_per_month": (0.0, MAX_MAGNITUDE, "tasks per month"),
    "monthly_growth": (-0.99, 10.0, "monthly growth"),
    "loop_iterations": (0.0, float(MAX_LOOP_STEPS), "loop iterations"),
    "loop_max_steps": (1.0, float(MAX_LOOP_STEPS), "loop cap"),
    "input_tokens_factor": (0.0, 1000.0, "input tokens factor"),
    "cache_hit_rate": (0.0, 1.0, "cache hit rate"),
    "retry_rate": (0.0, 1.0, "retry rate"),
    "routed_share": (0.0, 1.0, "routed share"),
    "success_rate": (0.0, 1.0, "success rate"),
    "human_cost_usd_per_task": (0.0, MAX_MAGNITUDE, "human cost per task (USD)"),
}


def control_problems(controls: Controls, models: frozenset[str] | None = None) -> dict[str, str]:
    """control name -> one-line message, for every control whose value breaks its rule."""
    problems = {}
    for name, (low, high, label) in RULES.items():
        value = getattr(controls, name)
        if value is None and name in ("loop_iterations", "loop_max_steps", "routed_share", "human_cost_usd_per_task"):
            continue
        message = _number_problem(value, low, high, label)
        if message:
            problems[name] = message
    if controls.loop_max_steps is not None and "loop_max_steps" not in problems \
            and controls.loop_max_steps != int(controls.loop_max_steps):
        problems["loop_max_steps"] = f"loop cap: {controls.loop_max_steps:g} must be a whole number of steps"
    if controls.model != AS_SPECIFIED and ((models is not None and controls.model not in models)
                                           or "/" not in controls.model):
        problems["model"] = f"model: {controls.model!r} is not in the price catalog (pick provider/model from the list)"
    return problems


# ---------------------------------------------------------------- distributions


def scaled(dist: Distribution, mean: float) -> Distribution:
    """`dist` scaled so its mean is `mean` (shape and relative spread kept); Fixed(mean) if its mean is 0."""
    old = dist.mean()
    if old <= 0 or isinstance(dist, Fixed):
        return Fixed(float(mean))
    f = mean / old
    if f == 0:
        return Fixed(0.0)
    if isinstance(dist, Triangular | PERT):
        return type(dist)(dist.low * f, dist.mode * f, dist.high * f)
    return LogNormal(dist.p50 * f, dist.p90 * f)


def shifted(dist: Distribution, mean: float, low: float, high: float) -> Distribution:
    """`dist` shifted so its mean is `mean` (width kept); Fixed(mean) if the range would leave [low, high]."""
    if isinstance(dist, Triangular | PERT):
        d = mean - dist.mean()
        if low <= dist.low + d and dist.high + d <= high:
            return type(dist)(dist.low + d, dist.mode + d, dist.high + d)
    return Fixed(float(mean))


def _moved(controls: Controls, base: Controls, name: str) -> bool:
    new, old = getattr(controls, name), getattr(base, name)
    if new is None or old is None:
        return new is not old
    return abs(new - old) > TOLERANCE[name]


def changed_controls(base: Controls, now: Controls) -> list[tuple[str, object, object]]:
    """(control, spec's value, new value) for every control of `now` that differs from `base`: a number by more
    than half its widget step, a model or serving choice by any change; a control the spec lacks never differs.

    >>> spec = Controls(40666.67, 0.03, None, None, 1.0, 0.78, 0.01, AS_SPECIFIED, 0.35, 0.75, 5.5)
    >>> changed_controls(spec, replace(spec, tasks_per_month=40667.0, success_rate=0.6))
    [('success_rate', 0.75, 0.6)]
    """
    out = []
    for f in fields(Controls):
        old, new = getattr(base, f.name), getattr(now, f.name)
        if old is None:
            continue
        if (f.name in ("model", "serving") and new != old) or (f.name in TOLERANCE and _moved(now, base, f.name)):
            out.append((f.name, old, new))
    return out


def _moved_rate(dist: Distribution, move: float) -> Distribution:
    """A rate of one step moved by `move` (its mean kept within [0, 1]), so that every step moves as the control."""
    return shifted(dist, min(1.0, max(0.0, dist.mean() + move)), 0.0, 1.0)


def _scaled_input(tokens: InputTokens, factor: float) -> InputTokens:
    return InputTokens(**{f.name: scaled(getattr(tokens, f.name), getattr(tokens, f.name).mean() * factor)
                          for f in fields(InputTokens)})


def _rescaled_routes(step: ModelStep, share: float) -> ModelStep:
    if not step.routing:
        return step
    if share <= 0:
        return replace(step, routing=())
    total = sum(r.share for r in step.routing)
    return replace(step, routing=tuple(replace(r, share=r.share * share / total) for r in step.routing))


def apply_controls(workflow: Workflow, controls: Controls) -> Workflow:
    """The spec with every moved control applied (see the module docstring); not yet validated."""
    base = controls_of(workflow)
    wf, c = workflow, controls
    moved = {name for name, _, _ in changed_controls(base, c)} - {"model", "serving"}
    volume = wf.volume
    if "tasks_per_month" in moved:
        volume = replace(volume, tasks_per_month=scaled(volume.tasks_per_month, c.tasks_per_month))
    if "monthly_growth" in moved:
        volume = replace(volume, monthly_growth=shifted(volume.monthly_growth, c.monthly_growth, -0.99, 10.0))
    outcome = wf.outcome
    if "success_rate" in moved:
        outcome = replace(outcome, success_rate=shifted(outcome.success_rate, c.success_rate, 0.0, 1.0))
    if "human_cost_usd_per_task" in moved:
        human = outcome.human_cost_usd_per_task
        outcome = replace(outcome, human_cost_usd_per_task=None if c.human_cost_usd_per_task is None else
                          scaled(human or Fixed(0.0), c.human_cost_usd_per_task))
    wf = replace(wf, volume=volume, outcome=outcome)
    if {"loop_iterations", "loop_max_steps", "input_tokens_factor"} & moved:
        factor_iter = c.loop_iterations / base.loop_iterations if base.loop_iterations else 1.0
        factor_tokens = c.input_tokens_factor / base.input_tokens_factor

        def loop_change(step):
            if not isinstance(step, LoopStep):
                return step
            settings = step.loop
            if "loop_iterations" in moved:
                settings = replace(settings, iterations=scaled(settings.iterations,
                                                               settings.iterations.mean() * factor_iter))
            if "loop_max_steps" in moved:
                settings = replace(settings, max_steps=int(c.loop_max_steps))
            if "input_tokens_factor" in moved:
                growth = settings.context_growth_tokens
                settings = replace(settings, context_growth_tokens=scaled(growth, growth.mean() * factor_tokens))
            return replace(step, loop=settings)

        wf = replace(wf, steps=tuple(loop_change(s) for s in wf.steps))
        if "input_tokens_factor" in moved:
            wf = map_model_steps(wf, lambda s: replace(s, input_tokens=_scaled_input(s.input_tokens, factor_tokens)))
    if "cache_hit_rate" in moved:
        move = c.cache_hit_rate - base.cache_hit_rate
        wf = map_model_steps(wf, lambda s: replace(s, cache_hit_rate=_moved_rate(s.cache_hit_rate, move)))
    if "retry_rate" in moved:
        move = c.retry_rate - base.retry_rate
        wf = map_model_steps(wf, lambda s: replace(s, retry_rate=_moved_rate(s.retry_rate, move)))
    if "routed_share" in moved and c.routed_share is not None:
        wf = map_model_steps(wf, lambda s: _rescaled_routes(s, c.routed_share))
    if c.model != AS_SPECIFIED:
        provider, _, model = c.model.partition("/")
        wf = on_model(wf, model, provider)
    return wf
