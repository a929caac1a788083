"""The what-if panel's state without a browser: controls in, library figures out, last good result kept.

`WhatIf.update(controls)` applies the controls to the spec (`controls.apply_controls`), re-validates
it through the YAML boundary, prices it with `forecast.design.estimate.estimate` (Monte Carlo, 20,000 tasks
by default), and, for a business case, recomputes the case's cash flows, NPV and payback with
`forecast.finance`. Self-hosted serving prices the workflow's tokens on a GPU fleet with
`forecast.gpu.self_hosted_cost`. Bad input never raises out of `update`: it comes back as one line
per control and the previous good result stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from ..core.errors import ForecastError
from ..design.estimate import estimate
from ..design.prices import PriceBook
from ..design.specs import Workflow, load_workflow
from .controls import AS_SPECIFIED, SERVING_API, Controls, apply_controls, control_problems, controls_of
from .scenario import validated
from .serving_options import self_hosted_month_usd, serving_key, serving_label, serving_options_of_case

SAMPLES, SCENARIOS, MONTHS = 20_000, 2_000, 12


@dataclass(frozen=True)
class CaseContext:
    """A business case whose workflow `index` the panel controls (its other workflows stay as written)."""

    case: object  # forecast.finance.Case
    index: int
    serving_options: dict[str, object]  # key -> SelfHosted (or None for the API)


@dataclass
class Result:
    """One good update: the controls, the changed spec, its estimate document and the headline figures."""

    controls: Controls
    workflow: Workflow
    doc: dict
    figures: dict
    finance: dict | None = None


@dataclass
class WhatIf:
    """Panel state: the spec as loaded, the price book and date, the last good result and the problems."""

    workflow: Workflow
    book: PriceBook
    on: date
    case: CaseContext | None = None
    samples: int = SAMPLES
    scenarios: int = SCENARIOS
    months: int = MONTHS
    seed: int = 0
    last: Result | None = None
    problems: dict[str, str] = field(default_factory=dict)
    pinned: Result | None = None

    @property
    def initial_controls(self) -> Controls:
        return controls_of(self.workflow, self._initial_serving())

    def serving_options(self) -> dict[str, str]:
        """serving key -> label for the serving control."""
        if self.case is not None:
            return {k: serving_label(v) for k, v in self.case.serving_options.items()}
        from .serving_options import catalog_serving_options

        return {SERVING_API: serving_label(None), **{k: serving_label(v) for k, v in catalog_serving_options().items()}}

    def _initial_serving(self) -> str:
        if self.case is None:
            return SERVING_API
        use = self.case.case.workflows[self.case.index]
        return SERVING_API if use.serving == "api" else serving_key(use.serving.self_hosted)

    def update(self, controls: Controls) -> Result | None:
        """Recompute for `controls`; on bad input set `problems` (control -> message) and keep `last`."""
        problems = control_problems(controls, frozenset(self.book.known_models()) if controls.model != AS_SPECIFIED
                                    else None)
        if controls.serving not in self.serving_options():
            problems["serving"] = f"serving: {controls.serving!r} is not one of the listed options"
        if not problems:
            try:
                self.last = self._compute(controls)
            except ForecastError as exc:
                problems[_control_of(exc, controls)] = " ".join(exc.problems)
            except Exception as exc:  # an engine bug must not reach the page as a traceback
                problems["general"] = f"could not compute this input ({type(exc).__name__}: {exc})"
        self.problems = problems
        return self.last

    def _compute(self, controls: Controls) -> Result:
        wf = validated(apply_controls(self.workflow, controls), f"what-if of {self.workflow.source}")
        object.__setattr__(wf, "source", self.workflow.source)
        return self._result(wf, controls)

    def evaluate(self, workflow: Workflow, serving: str | None = None) -> Result:
        """The figures of another workflow, such as a saved scenario, with this state's prices, date and Monte Carlo
        settings, served by `serving` (a serving_options key; default: as the spec or case has it), and, for a
        case, its cash flows with `workflow` in place of the one the panel controls. Raises ForecastError when the
        workflow cannot be priced."""
        return self._result(workflow, controls_of(workflow, serving or self._initial_serving()))

    def _result(self, wf: Workflow, controls: Controls) -> Result:
        doc = estimate(wf, self.book, self.on, self.samples, self.seed, self.scenarios, self.months).to_dict()
        sh = self._self_hosted(controls.serving)
        figures = headline_figures(doc)
        if sh is not None:
            figures.update(self_hosted_month_usd(wf, doc, self.book, self.on, sh))
            human, outcome = figures["human_usd_per_task"], figures["outcome_usd_expected"]
            figures["ai_to_human_cost_ratio"] = outcome / human if human and outcome is not None else None
        finance = self._finance(wf, controls) if self.case is not None else None
        return Result(controls, wf, doc, figures, finance)

    def _self_hosted(self, key: str):
        if key == SERVING_API:
            return None
        if self.case is not None:
            return self.case.serving_options[key]
        from .serving_options import catalog_serving_options

        return catalog_serving_options()[key]

    def _finance(self, wf: Workflow, controls: Controls) -> dict:
        from ..design.workload import compile_plan
        from ..finance.case import Serving
        from ..finance.cashflows import monthly_cash_flows
        from ..finance.economics import CaseWorkflow, CompiledCase, compile_case, expected_drivers
        from ..finance.metrics import npv_usd, payback_month
        from ..finance.report import month_labels

        case, i = replace(self.case.case, price_date=self.on), self.case.index  # one price date for every figure
        sh = self._self_hosted(controls.serving)
        use = replace(case.workflows[i], tasks_per_month=None, monthly_growth=None,
                      serving="api" if sh is None else Serving(self_hosted=sh))
        others = compile_case(case, self.book).workflows if len(case.workflows) > 1 else ()
        label = use.name or wf.name
        mine = CaseWorkflow(label, use, wf, compile_plan(wf, self.book, case.price_date))
        cc = CompiledCase(case, tuple(mine if j == i else cw for j, cw in enumerate(others or (mine,))))
        flows = monthly_cash_flows(cc, expected_drivers(cc))
        net = flows.net_usd
        payback = payback_month(net)
        labels = month_labels(case.start_month, case.horizon_months)
        return {
            "npv_usd": npv_usd(case.finance.discount_rate_annual, net),
            "payback_month": payback,
            "payback_label": labels[payback] if payback is not None else None,
            "discount_rate_annual": case.finance.discount_rate_annual,
            "horizon_months": case.horizon_months,
            "monthly": [{"month": m, "label": labels[m], "cost_usd": float(flows.total_cost_usd[m]),
                         "benefit_usd": float(flows.total_benefit_usd[m]), "net_usd": float(net[m]),
                         "cumulative_usd": float(np.cumsum(net)[m])} for m in range(len(labels))],
        }

    def pin(self) -> None:
        """Keep the current result as scenario A for `comparison`."""
        self.pinned = self.last


def _control_of(exc: ForecastError, controls: Controls) -> str:
    """The control a library error belongs to: prices -> model, GPU serving -> serving, else general."""
    text = " ".join(exc.problems)
    if controls.serving != SERVING_API and any(w in text for w in ("gpu", "GPU", "replica", "memory", "precision")):
        return "serving"
    if controls.model != AS_SPECIFIED and ("price" in text or "model" in text):
        return "model"
    return "general"


def headline_figures(doc: dict) -> dict:
    """The figures the panel shows, in USD, read from an estimate document."""
    month, task, outcome = doc["per_month_usd"], doc["per_task_usd"], doc["per_successful_outcome_usd"]
    human = doc["human_cost_usd_per_task"]
    return {
        "month_usd_expected": month["expected"], "month_usd_p10": month["p10"], "month_usd_p50": month["p50"],
        "month_usd_p90": month["p90"],
        "task_usd_expected": task["expected"], "task_usd_p10": task["p10"], "task_usd_p90": task["p90"],
        "outcome_usd_expected": outcome["expected"],
        "tasks_per_month_expected": doc["tasks_per_month"]["expected"],
        "human_usd_per_task": human,
        "ai_to_human_cost_ratio": doc.get("ai_to_human_cost_ratio"),
        "human_usd_per_month": None if human is None else human * doc["tasks_per_month"]["expected"]
        * doc["success_rate"],
        "serving": "api",
    }


SCENARIO_FIGURES = (("cost per task (USD)", "task_usd_expected"),
                    ("monthly cost, expected (USD)", "month_usd_expected"),
                    ("monthly cost, P10 (USD)", "month_usd_p10"), ("monthly cost, P90 (USD)", "month_usd_p90"),
                    ("cost per successful outcome (USD)", "outcome_usd_expected"))


def scenario_rows(results: list[Result]) -> list[dict]:
    """Scenarios side by side: for each figure its value in every result and each result minus the first (None
    where a figure is missing); NPV (USD) and payback (month) when every result has a case's cash flows."""
    rows = [{"figure": label, "values": [r.figures.get(key) for r in results]} for label, key in SCENARIO_FIGURES]
    if results and all(r.finance for r in results):
        rows.append({"figure": "NPV (USD)", "values": [r.finance["npv_usd"] for r in results]})
        rows.append({"figure": "payback (month)", "values": [r.finance["payback_month"] for r in results]})
    for row in rows:
        first = row["values"][0]
        row["minus_first"] = [None if first is None or v is None else v - first for v in row["values"]]
    return rows


def is_case_data(data) -> bool:
    """Whether a YAML document is a business case (a mapping with `workflows` and `horizon_months`), not a spec."""
    return isinstance(data, dict) and "workflows" in data and "horizon_months" in data


def load_what_if(path: str | Path, book: PriceBook, on: date | None = None, **settings) -> WhatIf:
    """A WhatIf over a workflow spec or a business case file (a mapping with `workflows` and `horizon_months`);
    the price date `on` defaults to today (UTC) for a spec and to the case's price_date for a case."""
    from ..core.validation import read_yaml

    data = read_yaml(path)
    if is_case_data(data):
        from ..finance.case import parse_case_data, spec_path

        case = parse_case_data(data, str(path))
        use = case.workflows[0]
        wf = load_workflow(spec_path(case.source, use.spec))
        volume = wf.volume
        if use.tasks_per_month is not None:
            volume = replace(volume, tasks_per_month=use.tasks_per_month)
        if use.monthly_growth is not None:
            volume = replace(volume, monthly_growth=use.monthly_growth)
        source = wf.source
        wf = replace(wf, volume=volume)
        object.__setattr__(wf, "source", source)
        context = CaseContext(case, 0, serving_options_of_case(data, case, 0))
        return WhatIf(wf, book, on or case.price_date, context, **settings)
    from ..design.specs import parse_workflow_data

    return WhatIf(parse_workflow_data(data, str(path)), book, on or datetime.now(UTC).date(), **settings)
