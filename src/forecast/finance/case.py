"""Business cases: YAML in, frozen dataclasses out, validated once at the boundary.

A case references workflow specs by path (relative to the case file) and adds the horizon,
adoption, the cost and benefit lines and the finance settings. Amounts that carry a `Usd`,
`Count` or `Probability` type take a plain number or a distribution, as in workflow specs;
the Monte Carlo draws them (`sensitivity.py`). Rules across fields (horizon longer than the
build phase, one benefit basis per workflow, unique names) are checked here too, so every
error names the case file, the field, the value and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, with_config

from ..core.errors import SpecError
from ..core.results import html_table
from ..core.validation import STRICT, Name, read_yaml, short_repr, unique_by, validate_document
from ..design.distributions import Fixed
from ..design.specs import Count, Probability, Rate, Usd

MAX_HORIZON_MONTHS = 240
Phase = Literal["build", "live", "all"]


def _month_text(value: str) -> str:
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise ValueError("a month is written YYYY-MM, e.g. 2027-01") from None
    return value


def _within(low: float, high: float, rule: str):
    """An annotation: a plain number in [low, high], else `rule` as the error."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(rule)
        return value

    return AfterValidator(check)


# ---------------------------------------------------------------- finance and timeline


@with_config(STRICT)
@dataclass(frozen=True)
class Finance:
    """Discounting, tax and price-trend settings; every rate is a fraction per year (0.10 = 10%)."""

    discount_rate_annual: Annotated[float, _within(0, 1, "an annual discount rate must lie in [0, 1] (0% to 100%)")]
    currency: Literal["USD"] = "USD"  # price data and the engine are in USD; no FX conversion is done
    tax_rate: Annotated[float, _within(0, 0.9, "a tax rate must lie in [0, 0.9] (0% to 90%)")] | None = None
    token_price_decline_per_year: Annotated[float, _within(
        -0.5, 0.95, "a token price decline per year must lie in [-0.5, 0.95] (negative: prices rise)")] = 0.0


@with_config(STRICT)
@dataclass(frozen=True)
class OneTimeCost:
    """A one-time build cost paid at month 0 (before the first month ends)."""

    name: Name
    usd: Usd


@with_config(STRICT)
@dataclass(frozen=True)
class Build:
    """The build phase: `months` with no traffic, and one-time costs at month 0."""

    months: Annotated[int, Field(ge=0, le=MAX_HORIZON_MONTHS)]
    one_time: tuple[OneTimeCost, ...] = ()


# ---------------------------------------------------------------- recurring costs


@with_config(STRICT)
@dataclass(frozen=True)
class Person:
    """People cost per month: fte x loaded_usd_per_year / 12 x allocation, in the months of `during`."""

    role: Name
    fte: Count
    loaded_usd_per_year: Usd
    allocation: Probability
    during: Phase


@with_config(STRICT)
@dataclass(frozen=True)
class Recurring:
    """A fixed monthly cost (platform, infrastructure, tool subscription) in the months of `during`."""

    name: Name
    usd_per_month: Usd
    during: Phase


@with_config(STRICT)
@dataclass(frozen=True)
class Hardware:
    """Purchased hardware: paid in full at the end of `month`, depreciated straight-line afterwards."""

    name: Name
    usd: Usd
    useful_life_months: Annotated[int, Field(ge=1, le=240)]
    month: Annotated[int, Field(ge=0, le=MAX_HORIZON_MONTHS)] = 0


# ---------------------------------------------------------------- workflows


@with_config(STRICT)
@dataclass(frozen=True)
class SCurve:
    """Logistic adoption: ceiling / (1 + exp(-steepness_per_month x (k - midpoint_month))), k = live month 1, 2..."""

    midpoint_month: Annotated[float, Field(ge=0, le=MAX_HORIZON_MONTHS)]
    steepness_per_month: Annotated[float, Field(gt=0, le=10)]
    ceiling: Annotated[float, Field(gt=0, le=1)] = 1.0


@with_config(STRICT)
@dataclass(frozen=True)
class Adoption:
    """Share of the workflow's volume handled by the AI in each live month: an S-curve or an explicit plan.

    `plan` lists the share for live months 1, 2, ...; months after its end keep its last value.
    """

    s_curve: SCurve | None = None
    plan: tuple[Annotated[float, Field(ge=0, le=1)], ...] | None = None

    def __post_init__(self):
        if (self.s_curve is None) == (self.plan is None):
            raise ValueError("adoption takes exactly one of s_curve or plan")
        if self.plan is not None and not self.plan:
            raise ValueError("an adoption plan lists at least one monthly share")


@with_config(STRICT)
@dataclass(frozen=True)
class SelfHosted:
    """Serve every model call of the workflow on an open model on rented GPUs (forecast.gpu)."""

    model: Name
    gpu: Name
    precision: Name = "bf16"
    peak_to_average: Annotated[float, Field(ge=1, le=20)] = 2.0
    target_utilisation: Annotated[float, Field(gt=0, le=1)] = 0.7
    pricing: Literal["on_demand", "commit_1y", "commit_3y", "spot"] = "on_demand"
    provider: Name | None = None  # a GPU provider in data/gpu/gpu_prices.csv; default: the median price


@with_config(STRICT)
@dataclass(frozen=True)
class Serving:
    """`api` (default): models billed per token at the spec's prices; or `self_hosted` on GPUs."""

    self_hosted: SelfHosted | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class Review:
    """Human-in-the-loop review: share_of_tasks x minutes_per_task / 60 x usd_per_hour, per task."""

    share_of_tasks: Probability
    minutes_per_task: Count
    usd_per_hour: Usd


@with_config(STRICT)
@dataclass(frozen=True)
class Labour:
    """Value of a successful task: minutes_saved_per_task / 60 x usd_per_hour (loaded cost)."""

    minutes_saved_per_task: Count
    usd_per_hour: Usd


@with_config(STRICT)
@dataclass(frozen=True)
class Benefits:
    """Benefits of one workflow. `labour` and `human_cost_usd_per_task` value the same avoided work: give one.

    `human_cost_usd_per_task: from_spec` takes the workflow spec's outcome.human_cost_usd_per_task.
    Revenue uplift is USD per month at full adoption, scaled by the month's adoption share.
    """

    labour: Labour | None = None
    human_cost_usd_per_task: Usd | Literal["from_spec"] | None = None
    revenue_uplift_usd_per_month: Usd = Fixed(0.0)

    def __post_init__(self):
        if self.labour is not None and self.human_cost_usd_per_task is not None:
            raise ValueError("give one of labour or human_cost_usd_per_task: both value the same avoided human work")


@with_config(STRICT)
@dataclass(frozen=True)
class WorkflowUse:
    """One workflow spec in the case: its adoption, serving, review and benefits.

    tasks_per_month and monthly_growth default to the spec's volume; give them to override it.
    """

    spec: Name
    adoption: Adoption
    benefits: Benefits
    name: Name | None = None
    tasks_per_month: Count | None = None
    monthly_growth: Rate | None = None
    serving: Literal["api"] | Serving = "api"
    review: Review | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class Scenario:
    """A named variant of the case: `set` maps field paths (e.g. workflows[0].serving) to new values."""

    name: Name
    set: dict[str, Any]
    description: str = ""


@with_config(STRICT)
@dataclass(frozen=True)
class Case:
    """A business case over `horizon_months` months after month 0, starting in `start_month`."""

    name: Name
    start_month: Annotated[str, AfterValidator(_month_text)]
    price_date: date
    horizon_months: Annotated[int, Field(ge=1, le=MAX_HORIZON_MONTHS)]
    finance: Finance
    build: Build
    workflows: tuple[WorkflowUse, ...]
    people: Annotated[tuple[Person, ...], unique_by("people role", "role")] = ()
    platform: Annotated[tuple[Recurring, ...], unique_by("platform name", "name")] = ()
    tool_fees: Annotated[tuple[Recurring, ...], unique_by("tool fee name", "name")] = ()
    hardware: Annotated[tuple[Hardware, ...], unique_by("hardware name", "name")] = ()
    scenarios: Annotated[tuple[Scenario, ...], unique_by("scenario name", "name")] = ()
    description: str = ""
    source: str = field(default="<case>", init=False, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The case document as written (fields at their defaults left out; dates as YYYY-MM-DD)."""
        from ..design.spec_data import document_data

        return document_data(self)

    def _repr_html_(self) -> str:
        rows = [{"workflow": w.name or w.spec, "spec": w.spec} for w in self.workflows]
        return html_table(f"{self.name}: {self.horizon_months} months from {self.start_month}, prices of "
                          f"{self.price_date}", rows, [f"scenarios: {', '.join(s.name for s in self.scenarios)}"]
                          if self.scenarios else [])


def _cross_field_problems(case: Case, source: str) -> list[str]:
    problems = []
    if not case.workflows:
        problems.append(f"{source}: workflows: []: list at least one workflow spec")
    if case.horizon_months <= case.build.months:
        problems.append(f"{source}: horizon_months: {case.horizon_months}: must be longer than build.months "
                        f"({case.build.months}), or no month is live")
    for i, hw in enumerate(case.hardware):
        if hw.month > case.horizon_months:
            problems.append(f"{source}: hardware[{i}].month: {hw.month}: must lie within the horizon "
                            f"(0 to {case.horizon_months})")
    for i, use in enumerate(case.workflows):
        if use.benefits.labour is None and use.benefits.human_cost_usd_per_task is None \
                and use.benefits.revenue_uplift_usd_per_month == Fixed(0.0):
            problems.append(f"{source}: workflows[{i}].benefits: no benefit given: set labour, "
                            "human_cost_usd_per_task or revenue_uplift_usd_per_month")
    for i, scenario in enumerate(case.scenarios):
        if scenario.name == "base":
            problems.append(f"{source}: scenarios[{i}].name: 'base': reserved for the case as written; rename it")
    names = [use.name or use.spec for use in case.workflows]
    for i, n in enumerate(names):
        if n in names[:i]:
            problems.append(f"{source}: workflows[{i}].name: {short_repr(n)}: used twice; give each workflow a name")
    return problems


_SERVING_API_BRANCH = re.compile(r"^(.*\.serving)\[\"literal\['api'\]\"\]: (.*): Input should be 'api'$")


def _without_union_noise(problems: list[str]) -> list[str]:
    """pydantic reports a bad `serving` against both members of `'api' | Serving`: one line instead of two
    (the mapping's own problem for a mapping; 'must be api or self_hosted' for anything else)."""
    out = []
    for p in problems:
        api = _SERVING_API_BRANCH.match(p)
        if api is None:
            if ".serving.Serving: " not in p:
                out.append(p.replace(".serving.Serving.", ".serving."))
            continue
        if not any(q.startswith(f"{api.group(1)}.Serving.") for q in problems):
            out.append(f"{api.group(1)}: {api.group(2)}: must be 'api' or a mapping "
                       "{self_hosted: {model, gpu, ...}}")
    return out


def parse_case_data(data: Any, source: str) -> Case:
    """Validate parsed YAML as a business case (scenarios are applied later, by `scenarios.case_variant`)."""
    try:
        case = validate_document(Case, data, source)
    except SpecError as exc:
        raise SpecError(_without_union_noise(exc.problems)) from None
    problems = _cross_field_problems(case, source)
    if problems:
        raise SpecError(problems)
    object.__setattr__(case, "source", source)
    return case


def load_case_document(path: str | Path) -> Any:
    """The case file's parsed YAML (a mapping), before validation."""
    return read_yaml(path)


def spec_path(case_source: str, spec: str) -> Path:
    """A workflow spec path as written in the case, resolved against the case file's folder."""
    path = Path(spec)
    return path if path.is_absolute() else Path(case_source).parent / path

