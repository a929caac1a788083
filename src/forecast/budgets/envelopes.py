"""The budget file: envelopes (caps on a slice of spend) and guardrails (per-task and per-agent limits).

YAML in, frozen dataclasses out, validated once here (unknown keys rejected; every problem is
one line naming the file, the field path, the value and the rule). See data/budgets.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, with_config

from ..core.errors import SpecError
from ..core.validation import STRICT, Name, read_yaml, unique_by, validate_document

DEFAULT_THRESHOLDS = (0.8, 1.0)
# P(month-end >= monthly cap) that raises a projected_breach alert: a one-in-five chance, i.e. the month-end's
# P80 has reached the cap. The file's alert_breach_probability replaces it, an envelope's own overrides that.
DEFAULT_ALERT_BREACH_PROBABILITY = 0.2

Action = Literal["warn", "downgrade_model", "require_approval", "hard_stop"]
MatchKey = Literal["team_id", "cost_center", "feature_id", "workflow_name", "environment", "intent", "agent_id",
                   "provider", "model"]
MATCH_KEYS: tuple[str, ...] = get_args(MatchKey)  # the warehouse's tags plus agent_id, provider and model
Usd = Annotated[float, Field(gt=0, le=1e12)]
Probability = Annotated[float, Field(gt=0, le=1)]


def _check_thresholds(values: tuple[float, ...]) -> tuple[float, ...]:
    if not values:
        raise ValueError("give at least one threshold (a share of the cap, e.g. 0.8)")
    if list(values) != sorted(set(values)):
        raise ValueError("thresholds must be distinct and in ascending order")
    return values


Thresholds = Annotated[tuple[Annotated[float, Field(gt=0, le=5)], ...], AfterValidator(_check_thresholds)]
Match = dict[MatchKey, Annotated[str, Field(min_length=1, max_length=200)]]


@with_config(STRICT)
@dataclass(frozen=True)
class Envelope:
    """A cap on the spend matching `match` (all tags must equal; "(untagged)" matches a missing tag).

    production: a monthly cap (and optionally a daily cap) on the whole slice.
    exploration: a credit per identity (`per`, default agent_id) that resets every Monday 00:00 UTC,
    with an optional monthly cap on the slice as well.
    """

    name: Name
    owner: Name
    match: Match
    type: Literal["production", "exploration"] = "production"
    monthly_cap_usd: Usd | None = None
    daily_cap_usd: Usd | None = None
    credit_usd_per_week: Usd | None = None
    per: MatchKey | None = None  # exploration: the identity a credit belongs to (default agent_id)
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    action: Action = "warn"
    alert_breach_probability: Probability | None = None  # None: the file's (a monthly cap only)

    def __post_init__(self) -> None:
        if self.type == "production" and self.monthly_cap_usd is None:
            raise ValueError("a production envelope needs monthly_cap_usd")
        if self.type == "exploration" and self.credit_usd_per_week is None:
            raise ValueError("an exploration envelope needs credit_usd_per_week (per identity, reset weekly)")
        if self.type == "production" and (self.credit_usd_per_week is not None or self.per is not None):
            raise ValueError("credit_usd_per_week and per apply to type: exploration only")
        if self.alert_breach_probability is not None and self.monthly_cap_usd is None:
            raise ValueError("alert_breach_probability applies to a monthly cap: set monthly_cap_usd or remove it")

    @property
    def credit_identity(self) -> str:
        """The tag a weekly credit is kept per (exploration envelopes)."""
        return self.per or "agent_id"


@with_config(STRICT)
@dataclass(frozen=True)
class Guardrail:
    """Limits for agent operations on the requests matching `match`; at least one limit is required."""

    name: Name
    match: Match
    max_steps_per_task: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_usd_per_task: Usd | None = None
    max_usd_per_agent_day: Usd | None = None
    action: Action = "warn"

    def __post_init__(self) -> None:
        if (self.max_steps_per_task, self.max_usd_per_task, self.max_usd_per_agent_day) == (None, None, None):
            raise ValueError("set at least one of max_steps_per_task, max_usd_per_task, max_usd_per_agent_day")


@with_config(STRICT)
@dataclass(frozen=True)
class BudgetFile:
    budgets: Annotated[tuple[Envelope, ...], unique_by("name")]
    guardrails: Annotated[tuple[Guardrail, ...], unique_by("name")] = ()
    description: str = ""
    alert_breach_probability: Probability = DEFAULT_ALERT_BREACH_PROBABILITY  # envelopes without their own


def parse_budgets_data(data: Any, source: str) -> BudgetFile:
    """Validate parsed YAML as a budget file."""
    doc = validate_document(BudgetFile, data, source)
    if not doc.budgets and not doc.guardrails:
        raise SpecError(f"{source}: budgets: []: give at least one envelope or guardrail")
    return doc


def load_budgets(path: str | Path) -> BudgetFile:
    """Read and validate a budget YAML file."""
    return parse_budgets_data(read_yaml(path), str(path))
