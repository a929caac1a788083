"""Workflow specs: YAML in, frozen dataclasses out, validated once at the boundary.

The dataclasses below are what the rest of the package trusts. Pydantic validates a YAML
document against them (unknown keys rejected), and every problem becomes one line that names
the file, the field path, the value and the rule.

Uncertain numbers: any field typed `Tokens`, `Count`, `Probability`, `Usd` or `Rate` takes a
plain number or one of `{triangular: [low, mode, high]}`, `{pert: [low, mode, high]}`,
`{lognormal: {p50: x, p90: y}}`.
"""

from __future__ import annotations

import functools
import itertools
import math
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    TypeAdapter,
    ValidationError,
    with_config,
)

from .distributions import PERT, Distribution, Fixed, LogNormal, Triangular
from .errors import SpecError

STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
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
Name = Annotated[str, Field(min_length=1, max_length=120)]


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


def unique_by(what: str, attr: str = "name") -> AfterValidator:
    """A validator for a tuple field: no two items share `attr` ("<what> 'x' is used twice; ...")."""

    def check(items: tuple) -> tuple:
        seen: set[str] = set()
        for item in items:
            key = getattr(item, attr)
            if key in seen:
                raise ValueError(f"{what} {key!r} is used twice; {what}s must be unique")
            seen.add(key)
        return items

    return AfterValidator(check)


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


# ---------------------------------------------------------------- loading and errors


def format_location(loc: tuple) -> str:
    """('steps', 2, 'input_tokens', 'user') -> 'steps[2].input_tokens.user' (union tags dropped)."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i >= 2 and loc[i - 2] == "steps" and isinstance(loc[i - 1], int) and part in STEP_KINDS:
            continue  # the union tag pydantic inserts after a step's index
        elif not str(part).replace("-", "_").isidentifier():
            out += f"[{str(part)!r}]"  # an odd key (spaces, newlines) stays on one line, quoted
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _BoundedRepr(reprlib.Repr):
    """reprlib with the document's key order (reprlib sorts dict keys)."""

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}"
                 for k, v in itertools.islice(x.items(), self.maxdict)]
        return "{" + ", ".join(items + ["..."] * (len(x) > self.maxdict)) + "}"


_REPR = _BoundedRepr()  # bounded: an alias bomb expands to billions of items, its repr must not
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 80, 80, 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def short_repr(value: Any) -> str:
    """repr() for one-line messages: at most 80 characters, cheap on huge or deeply nested values."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validation_problems(source: str, error: ValidationError) -> list[str]:
    """One line per pydantic problem: 'FILE: FIELD: VALUE: RULE'."""
    lines = []
    for err in error.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing" or err["type"] == "missing_argument":
            lines.append(f"{source}: {format_location(err['loc'])}: missing: this field is required")
        elif err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"{source}: {format_location(err['loc'])}: unknown field (check the spelling)")
        else:
            msg = " ".join(msg.split())
            lines.append(f"{source}: {format_location(err['loc'])}: {short_repr(err.get('input'))}: {msg}")
    return lines


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; syntax errors become a SpecError naming the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, str(path))


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (plain YAML keeps the last one)."""

    def construct_document(self, node):
        self._reject_duplicate_keys(node)
        return super().construct_document(node)

    def _reject_duplicate_keys(self, root) -> None:
        visited, stack = set(), [root]
        while stack:  # iterative, and each node once: deep nesting and alias bombs stay cheap
            node = stack.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                first: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    stack.append(value_node)
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    if key in first:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {short_repr(key)} (first at line {first[key].line + 1})",
                            key_node.start_mark)
                    first[key] = key_node.start_mark


def parse_yaml(text: str, source: str) -> Any:
    """YAML text -> Python objects; errors name the source, line and column (a repeated key is an error)."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise SpecError(f"{source}: {where}: invalid YAML: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise SpecError(f"{source}: invalid YAML: {type(exc).__name__}: {exc}") from None


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def validate_document(cls: type, data: Any, source: str):
    """Validate parsed YAML against dataclass `cls`; raise SpecError listing every problem."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: (top level): {short_repr(data)}: expected a mapping of fields")
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise SpecError(validation_problems(source, exc)) from None
    except RecursionError:
        raise SpecError(f"{source}: (top level): document nests too deeply") from None


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow spec YAML file."""
    return parse_workflow_data(read_yaml(path), str(path))


def parse_workflow(text: str, source: str = "<spec>") -> Workflow:
    """Validate a workflow spec given as YAML text."""
    return parse_workflow_data(parse_yaml(text, source), source)


def parse_workflow_data(data: Any, source: str) -> Workflow:
    """Validate parsed YAML as a workflow; the result remembers `source` for later messages (prices)."""
    workflow = validate_document(Workflow, data, source)
    object.__setattr__(workflow, "source", source)  # provenance, not part of the spec (frozen dataclass)
    return workflow
