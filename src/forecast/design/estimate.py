"""Design-time estimate of a workflow: cost per task, month and successful outcome with ranges.

The result's JSON document (schema "forecast.estimate/1", what `forecast estimate --format json` prints)
is described field by field in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from ..core.months import month_start
from ..core.results import frozen_copy, html_table
from ..core.tokens import TOKEN_FIELDS
from ..core.version import __version__
from .context import context_warnings
from .distributions import MAX_SUPPORT, mass_beyond, rounded_pmf
from .prices import PriceBook, price_book
from .specs import ModelStep, Workflow, load_workflow
from .workload import (
    Plan,
    background_cost_usd_per_month,
    compile_plan,
    draw_parameters,
    expected_step_totals,
    monthly_cost_usd,
    simulate_step_means,
    simulate_task_costs_usd,
    steps_priced_by_drawn_input,
)

SCHEMA = "forecast.estimate/1"
PERCENTILES = (10, 50, 90, 99)


def _pcts(samples: np.ndarray) -> dict[str, float]:
    samples = np.asarray(samples, dtype=float)
    # infinities (no successful outcome) cannot be interpolated: take order statistics then
    method = "linear" if np.isfinite(samples).all() else "inverted_cdf"
    values = np.percentile(samples, PERCENTILES, method=method)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def _float(x) -> float:
    return float(np.asarray(x).reshape(-1)[0]) if np.ndim(x) else float(x)


def _step_rows(plan: Plan, totals) -> list[dict]:
    rows = []
    for ps, per_route in zip(plan.steps, totals, strict=True):
        routes = ps.routes or [None]
        for route, t in zip(routes, per_route, strict=True):
            row = {"step": ps.step.name, "kind": "model" if isinstance(ps.step, ModelStep) else "tool",
                   "loop": ps.loop.name if ps.loop else None,
                   "provider": route.prices.provider if route else None,
                   "model": route.prices.model if route else ps.step.tool,
                   "share_of_calls": route.share if route else 1.0,
                   "calls_per_task": _float(t.calls)}
            row.update({f"{k}_per_task": _float(getattr(t, k)) for k in TOKEN_FIELDS})
            row["usd_per_task"] = _float(t.cost_usd)
            row["cache_write_usd_per_task"] = _float(t.cache_write_usd)
            rows.append(row)
    total = sum(r["usd_per_task"] for r in rows) or 1.0
    for r in rows:
        r["share_of_cost"] = r["usd_per_task"] / total
    return rows


def _model_rows(step_rows: list[dict]) -> list[dict]:
    by_model: dict[tuple, dict] = {}
    for r in step_rows:
        key = (r["kind"], r["provider"], r["model"])
        agg = by_model.setdefault(key, {"kind": r["kind"], "provider": r["provider"], "model": r["model"],
                                        "calls_per_task": 0.0, **{f"{k}_per_task": 0.0 for k in TOKEN_FIELDS},
                                        "usd_per_task": 0.0, "cache_write_usd_per_task": 0.0, "share_of_cost": 0.0})
        for name in ("calls_per_task", *(f"{k}_per_task" for k in TOKEN_FIELDS), "usd_per_task",
                     "cache_write_usd_per_task", "share_of_cost"):
            agg[name] += r[name]
    return sorted(by_model.values(), key=lambda r: -r["usd_per_task"])


def _cost(totals) -> float:
    return sum(_float(t.cost_usd) for routes in totals for t in routes)


def _loop_rows(plan: Plan, capped, uncapped, tasks_per_month: float, warnings: list[str]) -> list[dict]:
    rows = []
    for loop in plan.loops():
        settings = loop.loop
        beyond = mass_beyond(settings.iterations)
        if beyond > 1e-9:
            warnings.append(f"loop {loop.name!r}: without its cap, a task would run more than {MAX_SUPPORT:,} "
                            f"iterations with probability {beyond:.3g}; the uncapped figures count such tasks at "
                            f"{MAX_SUPPORT:,}, so they understate what the cap saves")
        pmf_uncapped = rounded_pmf(settings.iterations)
        k = np.arange(len(pmf_uncapped))
        in_loop = [i for i, ps in enumerate(plan.steps) if ps.loop is loop]
        cost_capped = sum(_float(t.cost_usd) for i in in_loop for t in capped[i])
        cost_uncapped = sum(_float(t.cost_usd) for i in in_loop for t in uncapped[i])
        rows.append({
            "loop": loop.name, "max_steps": settings.max_steps,
            "expected_iterations": float(np.minimum(k, settings.max_steps) @ pmf_uncapped),
            "expected_iterations_uncapped": float(k @ pmf_uncapped),
            "p_hits_cap": float(pmf_uncapped[k > settings.max_steps].sum()),
            "usd_per_task": cost_capped,
            "usd_per_task_uncapped": cost_uncapped,
            "cap_saves_usd_per_task": cost_uncapped - cost_capped,
            "cap_saves_usd_per_month": (cost_uncapped - cost_capped) * tasks_per_month,
        })
    return rows


@dataclass(frozen=True)
class Quantiles:
    """An uncertain amount: its expected value and percentiles (None where undefined, e.g. no success)."""

    expected: float | None
    p10: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, d: dict) -> Quantiles:
        return cls(d.get("expected"), d["p10"], d["p50"], d["p90"], d["p99"])


HEADLINES = (("per task (USD)", "per_task_usd"), ("per month (USD)", "per_month_usd"),
             ("per successful outcome (USD)", "per_successful_outcome_usd"), ("tasks per month", "tasks_per_month"))


@dataclass(frozen=True)
class Estimate:
    """A workflow's estimate at one price date: USD per task, per month (the first projected month) and per
    successful outcome, and tasks per month, each as Quantiles; breakdowns as frames; `to_dict()` is the
    "forecast.estimate/1" document."""

    workflow: str
    price_date: date
    per_task_usd: Quantiles
    per_month_usd: Quantiles
    per_successful_outcome_usd: Quantiles
    tasks_per_month: Quantiles
    warnings: tuple[str, ...]
    _document: dict = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()  # which files a default chose (a price book's note); names priced as another model

    @classmethod
    def of(cls, doc: dict, notes: tuple[str, ...] = ()) -> Estimate:
        return cls(doc["workflow"]["name"], date.fromisoformat(doc["price_date"]),
                   *(Quantiles.of(doc[key]) for _, key in HEADLINES), tuple(doc["warnings"]), frozen_copy(doc), notes)

    def to_dict(self) -> dict:
        """The "forecast.estimate/1" JSON document (a copy)."""
        return frozen_copy(self._document)

    def headline_rows(self) -> list[dict]:
        return [{"": label, **{k: self._document[key].get(k) for k in ("expected", "p10", "p50", "p90", "p99")}}
                for label, key in HEADLINES]

    def to_frame(self):
        """The headline table: one row per amount, columns expected, p10, p50, p90, p99."""
        import pandas as pd

        return pd.DataFrame(self.headline_rows()).set_index("")

    def table(self, section: str):
        """A breakdown of the document as a frame: 'steps', 'models', 'loops', 'projection' or 'prices'."""
        import pandas as pd

        return pd.DataFrame(self._document[section])

    def _repr_html_(self) -> str:
        return html_table(f"{self.workflow}: estimate at prices of {self.price_date}", self.headline_rows(),
                          [*(f"warning: {w}" for w in self.warnings), *(f"note: {n}" for n in self.notes)])


def estimate(workflow: Workflow | str | Path, book: PriceBook | None = None, on: date | None = None,
             samples: int = 100_000, seed: int = 0, scenarios: int = 4_000, months: int = 12) -> Estimate:
    """Cost per task, per month and per successful outcome of a workflow (a Workflow or its spec file) with ranges,
    breakdowns and a projection of `months` months from `on` (default today, UTC; USD at the prices of each
    month's first day, from `book`, default price_book()); Monte Carlo over `samples` tasks and `scenarios`
    monthly scenarios, seeded.

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
    >>> result = estimate(spec, price_book(example("prices/overrides.yaml")), date(2026, 11, 1), samples=1000)
    >>> round(result.per_task_usd.expected, 6)  # 1,000 x $0.35 + 500 x $0.90 per million tokens
    0.0008
    >>> round(result.per_month_usd.expected, 2)  # x 10,000 tasks
    8.0
    """
    workflow = workflow if isinstance(workflow, Workflow) else load_workflow(workflow)
    book = book if book is not None else price_book()
    on = on or datetime.now(UTC).date()
    plan = compile_plan(workflow, book, on)
    per_task_cf = _cost(expected_step_totals(plan))
    warnings: list[str] = [*(w for p in plan.prices() for w in p.warnings), *context_warnings(plan)]
    by_drawn_input = steps_priced_by_drawn_input(plan)
    if by_drawn_input:  # a call's tier depends on its drawn input: average over the Monte Carlo tasks instead
        task_costs, totals = simulate_step_means(plan, samples, seed)
        uncapped = simulate_step_means(plan, samples, seed, uncapped=True)[1] if plan.loops() else totals
        per_task = _cost(totals)
        calibration = per_task / per_task_cf if per_task_cf > 0 else 1.0
        change = f" ({calibration - 1:+.1%})" if per_task_cf > 0 else ""
        warnings.append(
            f"calls of steps {', '.join(map(repr, by_drawn_input))} fall on either side of a long-context price "
            "tier depending on their drawn input size, so the closed form is only approximate there: "
            f"expected per-task, step, model and loop figures are Monte Carlo means over {samples:,} tasks, "
            f"{per_task:.6g} USD/task{change} against {per_task_cf:.6g} at mean inputs; monthly figures are "
            "scaled to match")
    else:  # the closed form is exact
        task_costs = simulate_task_costs_usd(plan, samples, seed)
        totals, uncapped = expected_step_totals(plan), expected_step_totals(plan, uncapped=True)
        per_task, calibration = per_task_cf, 1.0
    mc_mean, mc_sd = float(task_costs.mean()), float(task_costs.std())

    params = draw_parameters(plan, scenarios, seed)
    rng = np.random.default_rng([seed, 2])
    wf = workflow
    tasks_mean = wf.volume.tasks_per_month.mean()
    background_mean = background_cost_usd_per_month(plan)
    projection, first_month = [], None
    for i, start in enumerate([on, *(month_start(on, m) for m in range(1, months))]):
        month_plan = plan if i == 0 else compile_plan(workflow, book, start)
        tasks, usd = monthly_cost_usd(month_plan, params, i, mc_sd, rng)
        background = background_cost_usd_per_month(month_plan, params)
        usd = background + (usd - background) * calibration
        if i == 0:
            first_month = (tasks, usd)
        projection.append({"month": start.strftime("%Y-%m"), "price_date": start.isoformat(),
                           "tasks_expected": float(np.mean(tasks)), "usd_expected": float(np.mean(usd)),
                           **{k: v for k, v in _pcts(usd).items() if k != "p99"}})

    tasks, usd = first_month
    month_expected = tasks_mean * per_task + background_mean
    success_mean = wf.outcome.success_rate.mean()
    outcomes = tasks * params[("outcome", "success_rate")]
    per_outcome = np.divide(usd, outcomes, out=np.full(np.shape(usd), np.inf), where=outcomes > 0)
    step_rows = _step_rows(plan, totals)
    loop_rows = _loop_rows(plan, totals, uncapped, tasks_mean, warnings)
    human = wf.outcome.human_cost_usd_per_task
    doc = {
        "schema": SCHEMA,
        "forecast_version": __version__,
        "workflow": {"name": wf.name, "description": wf.description},
        "price_date": on.isoformat(),
        "price_overrides": {"path": book.overrides_path, "sha256": book.overrides_sha256()},
        "settings": {"samples": samples, "seed": seed, "scenarios": scenarios, "months": months},
        "prices": [p.to_dict() for p in plan.prices()],
        "per_task_usd": {"expected": per_task, "expected_from": "monte_carlo" if by_drawn_input else "closed_form",
                         "monte_carlo_mean": mc_mean, "std": mc_sd, **_pcts(task_costs)},
        "tasks_per_month": {"expected": tasks_mean, **_pcts(tasks)},
        "per_month_usd": {"expected": month_expected, **_pcts(usd)},
        "background_usd_per_month": background_mean,
        "success_rate": success_mean,
        "per_successful_outcome_usd": {
            "expected": month_expected / (tasks_mean * success_mean) if tasks_mean * success_mean > 0 else None,
            **_pcts(per_outcome)},
        "human_cost_usd_per_task": human.mean() if human is not None else None,
        "tokens_per_task": {k: sum(r[f"{k}_per_task"] for r in step_rows if r["kind"] == "model")
                            for k in TOKEN_FIELDS},
        "model_calls_per_task": sum(r["calls_per_task"] for r in step_rows if r["kind"] == "model"),
        "tool_calls_per_task": sum(r["calls_per_task"] for r in step_rows if r["kind"] == "tool"),
        "steps": step_rows,
        "models": _model_rows(step_rows),
        "loops": loop_rows,
        "projection": projection,
        "warnings": warnings,
    }
    if human is not None and human.mean() > 0 and doc["per_successful_outcome_usd"]["expected"] is not None:
        doc["ai_to_human_cost_ratio"] = doc["per_successful_outcome_usd"]["expected"] / human.mean()
    matched = [n for p in plan.prices() if p.requested for n in p.notes if n.startswith(repr(p.requested))]
    return Estimate.of(doc, (*((book.note,) if book.note else ()), *matched))


def compare(a: Estimate | dict, b: Estimate | dict) -> dict:
    """B minus A for the headline figures of two estimates: the "forecast.estimate-compare/1" document."""
    a = a.to_dict() if isinstance(a, Estimate) else a
    b = b.to_dict() if isinstance(b, Estimate) else b

    def diff(section: str) -> dict:
        out = {}
        for key, va in a[section].items():
            vb = b[section].get(key)
            if isinstance(va, int | float) and isinstance(vb, int | float):
                out[key] = {"a": va, "b": vb, "b_minus_a": vb - va,
                            "change": (vb - va) / va if va else None}
        return out

    return {"schema": "forecast.estimate-compare/1", "a": a, "b": b,
            "difference": {s: diff(s) for s in ("per_task_usd", "per_month_usd", "per_successful_outcome_usd")}}

