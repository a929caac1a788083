"""Workflow specs: YAML in, frozen dataclasses out, validated once at the boundary.

The dataclasses below are what the rest of the package trusts. Pydantic validates a YAML
document against them (unknown keys rejected), and every problem becomes one line that names
the file, the field path, the value and the rule.

Uncertain numbers: any field typed `Tokens`, `Count`, `Probability`, `Usd` or `Rate` takes a
plain number or one of `{triangular: [low, mode, high]}`, `{pert: [low, mode, high]}`,
`{lognormal: {p50: x, p90: y}}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, PlainValidator, Tag, with_config

from ..core.results import html_table
from ..core.validation import STRICT, Name, parse_yaml, read_yaml, unique_by, validate_document
from .distributions import PERT, Distribution, Fixed, LogNormal, Triangular

INPUT_PARTS = ("system", "context", "user")
CACHEABLE_PARTS = (*INPUT_PARTS, "history")
STEP_KINDS = ("model", "tool", "loop")
MAX_LOGNORMAL_SPREAD = 100  # p90 / p50 at most: sigma <= ln(100) / z90 = 3.6 (mean <= 640 x p50)
MAX_MAGNITUDE = 1e15  # any number in a spec: products of such numbers stay far from float overflow


# ---------------------------------------------------------------- uncertain numbers


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        raise ValueError(f"{what} must be finite")
    if abs(number) > MAX_MAGNITUDE:
        raise ValueError(f"{what} must lie between -1e15 and 1e15")
    return number


def _three_points(value: Any, kind: str) -> tuple[float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(f"{kind} takes a list [low, mode, high]")
    low, mode, high = (_finite(v, f"{kind} point") for v in value)
    if not low <= mode <= high:
        raise ValueError(f"{kind} needs low <= mode <= high")
    return low, mode, high


def parse_number(value: Any) -> Distribution:
    """A plain number or a one-key mapping naming a distribution -> a Distribution."""
    if isinstance(value, Fixed | Triangular | PERT | LogNormal):
        return value
    if not isinstance(value, dict):
        return Fixed(_finite(value, "value"))
    if len(value) != 1:
        raise ValueError("a distribution is a mapping with exactly one key: triangular, pert or lognormal")
    ((kind, args),) = value.items()
    if kind in ("triangular", "pert"):
        low, mode, high = _three_points(args, kind)
        if low == high:
            return Fixed(low)
        return Triangular(low, mode, high) if kind == "triangular" else PERT(low, mode, high)
    if kind == "lognormal":
        if not isinstance(args, dict) or set(args) != {"p50", "p90"}:
            raise ValueError("lognormal takes a mapping {p50: x, p90: y}")
        p50, p90 = _finite(args["p50"], "p50"), _finite(args["p90"], "p90")
        if p50 <= 0:
            raise ValueError("lognormal needs p50 > 0")
        if p90 < p50:
            raise ValueError("lognormal needs p90 >= p50")
        if p90 > MAX_LOGNORMAL_SPREAD * p50:
            raise ValueError(f"lognormal needs p90 <= {MAX_LOGNORMAL_SPREAD} x p50 (a wider one has no usable mean)")
        return Fixed(p50) if p90 == p50 else LogNormal(p50, p90)
    raise ValueError(f"unknown distribution {kind!r}: use triangular, pert or lognormal")


def _bounded(low: float, high: float, rule: str):
    def check(value: Any) -> Distribution:
        dist = parse_number(value)
        lo, hi = dist.support()
        if lo < low or hi > high:
            raise ValueError(rule)
        return dist

    return PlainValidator(check, json_schema_input_type=Any)


Tokens = Annotated[Distribution, _bounded(0, math.inf, "tokens must be >= 0")]
Count = Annotated[Distribution, _bounded(0, math.inf, "a count must be >= 0")]
Usd = Annotated[Distribution, _bounded(0, math.inf, "an amount in USD must be >= 0")]
Probability = Annotated[
    Distribution,
    _bounded(0, 1, "a probability must lie in [0, 1] (lognormal is unbounded, use triangular or pert)"),
]
Rate = Annotated[Distribution, _bounded(-0.99, 10, "a monthly growth rate must lie in [-0.99, 10]")]


# ---------------------------------------------------------------- steps


@with_config(STRICT)
@dataclass(frozen=True)
class InputTokens:
    """Input tokens of one model call, by part; the cacheable parts form the prompt-cache prefix."""

    system: Tokens = Fixed(0.0)
    context: Tokens = Fixed(0.0)
    user: Tokens = Fixed(0.0)


def _unique_parts(parts: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(parts)) != len(parts):
        raise ValueError("cacheable lists a part twice; list each part at most once")
    return parts


def _check_shares(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    total = sum(r.share for r in routes)
    if total > 1.0 + 1e-9:
        raise ValueError(f"routing shares add up to {total:g}; they must add up to at most 1")
    return routes


@with_config(STRICT)
@dataclass(frozen=True)
class Route:
    """A share of the step's calls sent to another model (decided once per task)."""

    model: Name
    share: Annotated[float, Field(gt=0, le=1)]
    provider: str | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class ModelStep:
    """One LLM call per run (or `calls_per_run` parallel calls: fan-out)."""

    name: Name
    model: Name
    output_tokens: Tokens
    input_tokens: InputTokens = InputTokens()
    provider: str | None = None
    calls_per_run: Count = Fixed(1.0)
    cache_hit_rate: Probability = Fixed(0.0)
    cacheable: Annotated[tuple[Literal["system", "context", "user", "history"], ...],
                         AfterValidator(_unique_parts)] = ("system",)
    retry_rate: Probability = Fixed(0.0)
    routing: Annotated[tuple[Route, ...], AfterValidator(_check_shares)] = ()
    batch: bool = False


@with_config(STRICT)
@dataclass(frozen=True)
class ToolStep:
    """A tool or API call: a fee per call, and result tokens added to the next model call's input."""

    name: Name
    tool: Name
    fee_usd_per_call: Usd = Fixed(0.0)
    calls_per_run: Count = Fixed(1.0)
    result_tokens_per_call: Tokens = Fixed(0.0)


@with_config(STRICT)
@dataclass(frozen=True)
class LoopSettings:
    """Agent loop: iterations per task (rounded to whole numbers), a hard cap, and history growth."""

    iterations: Count
    max_steps: Annotated[int, Field(ge=1, le=10_000)]
    context_growth_tokens: Tokens = Fixed(0.0)


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kinds = [k for k in STEP_KINDS if k in value]
        return kinds[0] if len(kinds) == 1 else None
    for kind, cls in (("model", ModelStep), ("tool", ToolStep), ("loop", LoopStep)):
        if isinstance(value, cls):
            return kind
    return None


def _check_tool_feeds_model(steps: tuple) -> tuple:
    if not steps:
        raise ValueError("at least one step is needed")
    for i, step in enumerate(steps):
        later_model = any(isinstance(s, ModelStep) or any(isinstance(t, ModelStep) for t in getattr(s, "steps", ()))
                          for s in steps[i + 1 :])
        if isinstance(step, ToolStep) and step.result_tokens_per_call != Fixed(0.0) and not later_model:
            raise ValueError(
                f"tool step {step.name!r} adds result tokens but no model step follows it in the same list"
            )
    return steps


InnerStep = Annotated[
    Annotated[ModelStep, Tag("model")] | Annotated[ToolStep, Tag("tool")],
    Discriminator(_step_kind, custom_error_type="step_kind",
                  custom_error_message="a step inside a loop needs exactly one of 'model' or 'tool'"),
]


@with_config(STRICT)
@dataclass(frozen=True)
class LoopStep:
    """A group of steps repeated per task: each iteration re-sends the growing history."""

    name: Name
    loop: LoopSettings
    steps: Annotated[tuple[InnerStep, ...], AfterValidator(_check_tool_feeds_model)]


Step = Annotated[
    Annotated[ModelStep, Tag("model")] | Annotated[ToolStep, Tag("tool")] | Annotated[LoopStep, Tag("loop")],
    Discriminator(_step_kind, custom_error_type="step_kind",
                  custom_error_message="a step needs exactly one of 'model', 'tool' or 'loop'"),
]


# ---------------------------------------------------------------- volume, outcome, workflow


@with_config(STRICT)
@dataclass(frozen=True)
class BackgroundCall:
    """Always-on calls that run whether or not users do anything (monitors, health checks)."""

    name: Name
    model: Name
    calls_per_day: Count
    input_tokens: Tokens
    output_tokens: Tokens
    provider: str | None = None
    batch: bool = False


@with_config(STRICT)
@dataclass(frozen=True)
class Volume:
    tasks_per_month: Count
    monthly_growth: Rate = Fixed(0.0)
    background: Annotated[tuple[BackgroundCall, ...], unique_by("background name")] = ()


@with_config(STRICT)
@dataclass(frozen=True)
class Outcome:
    success_rate: Probability = Fixed(1.0)
    human_cost_usd_per_task: Usd | None = None


def _check_unique_names(steps: tuple) -> tuple:
    seen: set[str] = set()
    for step in steps:
        for name in [step.name, *(s.name for s in getattr(step, "steps", ()))]:
            if name in seen:
                raise ValueError(f"step name {name!r} is used twice; step names must be unique")
            seen.add(name)
    return steps


@with_config(STRICT)
@dataclass(frozen=True)
class Workflow:
    """A planned AI workflow: volume, ordered steps, outcome."""

    name: Name
    volume: Volume
    steps: Annotated[
        tuple[Step, ...],
        AfterValidator(_check_tool_feeds_model),
        AfterValidator(_check_unique_names),
    ]
    outcome: Outcome = field(default_factory=Outcome)
    description: str = ""
    source: str = field(default="<spec>", init=False, repr=False, compare=False)  # the file it was read from

    def to_dict(self) -> dict:
        """The spec document (what load_workflow reads back to an equal Workflow), defaults left out."""
        from .spec_data import workflow_data

        return workflow_data(self)

    def _repr_html_(self) -> str:
        rows = [{"step": s.name, "loop": loop, "kind": type(s).__name__.removesuffix("Step").lower(),
                 "model or tool": getattr(s, "model", None) or getattr(s, "tool", ""),
                 "provider": getattr(s, "provider", None) or ""}
                for top in self.steps for loop, s in ([(top.name, x) for x in top.steps] if isinstance(top, LoopStep)
                                                      else [("", top)])]
        return html_table(f"{self.name}: {self.volume.tasks_per_month.mean():,.0f} tasks a month (mean)", rows,
                          [self.description] if self.description else [])


# ---------------------------------------------------------------- loading


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow spec YAML file; every problem is one line naming the file, field, value, rule.

    >>> from forecast.core.resources import example
    >>> spec = load_workflow(example("workflows/support_triage.yaml"))
    >>> spec.name, [s.name for s in spec.steps][:2]
    ('support-triage-agent', ['classify', 'order-lookup'])
    """
    return parse_workflow_data(read_yaml(path), str(path))


def parse_workflow(text: str, source: str = "<spec>") -> Workflow:
    """Validate a workflow spec given as YAML text (`source` names it in error messages).

    >>> parse_workflow("name: x\\nvolume: {tasks_per_month: -1}\\nsteps: []", "x.yaml")
    Traceback (most recent call last):
    ...
    forecast.core.errors.SpecError: x.yaml: volume.tasks_per_month: -1: a count must be >= 0
    x.yaml: steps: []: at least one step is needed
    """
    return parse_workflow_data(parse_yaml(text, source), source)


def parse_workflow_data(data: Any, source: str) -> Workflow:
    """Validate parsed YAML as a workflow; the result remembers `source` for later messages (prices)."""
    workflow = validate_document(Workflow, data, source, {"steps": STEP_KINDS})
    object.__setattr__(workflow, "source", source)  # provenance, not part of the spec (frozen dataclass)
    return workflow
