"""What-if variants of a workflow spec: the same workflow on another model, or without routing.

Each returns a new frozen Workflow; the engine prices it like any spec, so an alternative's cost
comes from the same functions as the original's. dataclasses.replace() skips the spec's
validation and resets `Workflow.source`, so the changed values are checked here and the source kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..core.errors import SpecError
from ..core.results import html_table
from .specs import LoopStep, ModelStep, Workflow

MAX_NAME_CHARS = 120  # specs.Name's rule


def map_model_steps(workflow: Workflow, change) -> Workflow:
    """The workflow with `change(step)` applied to every model step, loop members included (source kept)."""
    def one(step):
        if isinstance(step, ModelStep):
            return change(step)
        if isinstance(step, LoopStep):
            return replace(step, steps=tuple(one(s) for s in step.steps))
        return step

    out = replace(workflow, steps=tuple(one(s) for s in workflow.steps))
    object.__setattr__(out, "source", workflow.source)  # replace() resets an init=False field to its default
    return out


def model_steps(workflow: Workflow) -> list[ModelStep]:
    """Every model step, loop members included, in spec order."""
    out: list[ModelStep] = []
    for step in workflow.steps:
        out += [s for s in getattr(step, "steps", (step,)) if isinstance(s, ModelStep)]
    return out


def _checked_name(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
        raise SpecError(f"alternative {what}: {value!r}: must be a non-empty name of at most {MAX_NAME_CHARS} "
                        "characters")
    return value.strip()


def on_model(workflow: Workflow, model: str, provider: str | None = None) -> Workflow:
    """Every model call (routes included) sent to `model`; background calls keep their model."""
    model = _checked_name(model, "model")
    provider = None if provider is None else _checked_name(provider, "provider")
    return map_model_steps(workflow, lambda s: replace(s, model=model, provider=provider, routing=()))


def without_routing(workflow: Workflow) -> Workflow:
    """Every model step's calls sent to its own model: what routing saves (or costs)."""
    return map_model_steps(workflow, lambda s: replace(s, routing=()))


def parse_model_list(text: str) -> list[tuple[str | None, str]]:
    """'openai:gpt-4o-mini, claude-haiku-4-5' -> [('openai', 'gpt-4o-mini'), (None, 'claude-haiku-4-5')]."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            provider, _, model = item.rpartition(":")
            out.append((provider or None, model))
    return out


@dataclass(frozen=True)
class Alternatives:
    """The spec as written, without routing, and on other models: one row each with its expected USD per task,
    per month (P10, P90 too) and per successful outcome, and the change in monthly cost against the spec."""

    rows: tuple[Mapping[str, object], ...]  # read-only

    def to_dict(self) -> dict:
        return {"alternatives": [dict(r) for r in self.rows]}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.rows])

    def cheapest(self) -> dict:
        """The row with the lowest expected monthly cost."""
        return dict(min(self.rows, key=lambda r: r["usd_per_month"]))

    def _repr_html_(self) -> str:
        return html_table("Model and routing alternatives", [dict(r) for r in self.rows])


def alternatives(workflow: Workflow, book, on, models: str | list[tuple[str | None, str]], samples: int = 20_000,
                 seed: int = 0) -> Alternatives:
    """Headline figures (USD per task, month, successful outcome) of the spec as written, without routing, and
    on each of `models` ('provider:model, ...' or (provider, model) pairs).

    >>> from datetime import date
    >>> from forecast.core.resources import example
    >>> from forecast.design.prices import price_book
    >>> from forecast.design.specs import parse_workflow
    >>> spec = parse_workflow('''
    ... name: summarise
    ... volume: {tasks_per_month: 10000}
    ... steps:
    ...   - {name: llm, model: llama-3.3-70b-vllm, provider: self-hosted,
    ...      input_tokens: {user: 1000}, output_tokens: 500}
    ... ''')
    >>> book = price_book(example("prices/overrides.yaml"))
    >>> rows = alternatives(spec, book, date(2026, 11, 1), "openai:gpt-4o-mini").rows
    >>> [(r["variant"], round(r["usd_per_month"], 2)) for r in rows]  # gpt-4o-mini: $0.15 in, $0.60 out per Mtok
    [('as specified', 8.0), ('every model step on openai:gpt-4o-mini', 4.5)]
    """
    from .estimate import estimate

    models = parse_model_list(models) if isinstance(models, str) else models

    variants = [("as specified", workflow)]
    if any(s.routing for s in model_steps(workflow)):
        variants.append(("without routing", without_routing(workflow)))
    variants += [(f"every model step on {p + ':' if p else ''}{m}", on_model(workflow, m, p)) for p, m in models]
    rows = []
    for label, wf in variants:
        doc = estimate(wf, book, on, samples, seed, scenarios=1_000, months=1).to_dict()
        month = doc["per_month_usd"]
        rows.append({"variant": label, "usd_per_task": doc["per_task_usd"]["expected"],
                     "usd_per_month": month["expected"], "usd_per_month_p10": month["p10"],
                     "usd_per_month_p90": month["p90"],
                     "usd_per_successful_outcome": doc["per_successful_outcome_usd"]["expected"]})
    base = rows[0]["usd_per_month"]
    for r in rows:
        r["change_vs_spec"] = r["usd_per_month"] / base - 1 if base else None
    return Alternatives(tuple(MappingProxyType(r) for r in rows))

