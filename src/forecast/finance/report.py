"""A business case evaluated: the ROI document (schema "forecast.roi/1") that `forecast roi` prints, one result per
scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import months
from ..core.errors import ParameterError
from ..core.results import frozen_copy, html_table
from ..core.version import __version__
from ..design.prices import PriceBook, price_book
from ..design.workload import steps_priced_by_drawn_input
from .case import Case, load_case_document, parse_case_data
from .cashflows import CashFlows, fleet_detail, monthly_cash_flows
from .economics import CompiledCase, compile_case, expected_drivers
from .metrics import discounted_payback_month, irr_annual, npv_usd, payback_month, roi
from .scenarios import BASE, case_variant, scenario_names
from .sensitivity import break_even_volume_factor, monte_carlo, tornado

SCHEMA = "forecast.roi/1"
CONVENTIONS = (
    "month 0 holds one-time build costs and month-0 hardware; every other cash flow falls at its month's end",
    "monthly discount rate = (1 + annual)^(1/12) - 1; month m is discounted by (1 + monthly)^m",
    "API token prices fall by token_price_decline_per_year, compounded monthly: month m pays "
    "(1 - decline)^((m - 1) / 12) of the price-date prices",
    "hardware is paid at the end of its purchase month and depreciated straight-line from the next month; "
    "depreciation only enters through the tax shield, and only when a tax rate is given",
    "tax = tax rate x (benefits - operating costs - depreciation) per month; a negative tax is relief",
    "payback month: first month from which cumulative net cash stays >= 0 to the end of the horizon",
    "ROI = (benefits - costs) / costs over the horizon, undiscounted, before tax",
)


def month_labels(start_month: str, horizon_months: int) -> list[str]:
    """'start' for month 0, then YYYY-MM of months 1..H."""
    return ["start", *months.month_labels(months.parse_month(start_month), horizon_months)]


def _outcomes(cc: CompiledCase, flows: CashFlows, drivers: dict[str, float]) -> dict:
    successes = sum(float(np.sum(s)) for s in flows.successes.values())
    total_cost = float(np.sum(flows.total_cost_usd))
    human_value = 0.0
    for cw in cc.workflows:
        w = cw.label
        if f"{w}.minutes_saved_per_task" in drivers:
            per = drivers[f"{w}.minutes_saved_per_task"] / 60.0 * drivers[f"{w}.labour_usd_per_hour"]
        else:
            per = drivers.get(f"{w}.human_cost_usd_per_task", 0.0)
        human_value += per * float(np.sum(flows.successes[w]))
    last_successes = sum(float(s[-1]) for s in flows.successes.values())
    out = {"successful_outcomes": successes,
           "cost_per_successful_outcome_usd": total_cost / successes if successes > 0 else None,
           "run_rate_cost_per_successful_outcome_usd":
               float(flows.total_cost_usd[-1]) / last_successes if last_successes > 0 else None,
           "human_cost_per_outcome_usd": human_value / successes if successes > 0 and human_value > 0 else None}
    if out["cost_per_successful_outcome_usd"] is not None and out["human_cost_per_outcome_usd"]:
        out["ai_to_human_cost_ratio"] = out["cost_per_successful_outcome_usd"] / out["human_cost_per_outcome_usd"]
    return out


def _monthly_rows(case: Case, flows: CashFlows) -> list[dict]:
    labels = month_labels(case.start_month, case.horizon_months)
    net = flows.net_usd
    cumulative = np.cumsum(net)
    rows = []
    for m, label in enumerate(labels):
        row = {"month": m, "label": label,
               "tasks": float(sum(t[m] for t in flows.tasks.values())),
               "successful_outcomes": float(sum(s[m] for s in flows.successes.values()))}
        row.update({f"cost:{k}": float(v[m]) for k, v in flows.costs.items()})
        row.update({f"benefit:{k}": float(v[m]) for k, v in flows.benefits.items()})
        row["depreciation_usd"] = float(flows.depreciation_usd[m])
        if flows.tax_usd is not None:
            row["tax_usd"] = float(flows.tax_usd[m])
        row["net_usd"], row["cumulative_usd"] = float(net[m]), float(cumulative[m])
        rows.append(row)
    return rows


def evaluate(case: Case, book: PriceBook, name: str = BASE, samples: int = 2_000, seed: int = 0,
             tornado_change: float = 0.2) -> dict:
    """Cash flows, metrics, tornado and Monte Carlo of one case (or scenario variant)."""
    cc = compile_case(case, book)
    drivers = expected_drivers(cc)
    flows = monthly_cash_flows(cc, drivers)
    rate = case.finance.discount_rate_annual
    net = flows.net_usd
    total_cost, total_benefit = float(np.sum(flows.total_cost_usd)), float(np.sum(flows.total_benefit_usd))
    factor = break_even_volume_factor(cc, drivers)
    summary = {
        "npv_usd": npv_usd(rate, net),
        "irr_annual": irr_annual(net),
        "payback_month": payback_month(net),
        "discounted_payback_month": discounted_payback_month(rate, net),
        "roi": roi(total_benefit, total_cost),
        "total_cost_usd": total_cost,
        "total_benefit_usd": total_benefit,
        "total_tax_usd": float(np.sum(flows.tax_usd)) if flows.tax_usd is not None else None,
        "net_cash_usd": float(np.sum(net)),
        **_outcomes(cc, flows, drivers),
        "break_even": {
            "volume_factor": factor,
            "tasks_per_month": {cw.label: (None if factor is None else factor * drivers[f"{cw.label}.tasks_per_month"])
                                for cw in cc.workflows},
        },
    }
    warnings = [f"workflow {cw.label!r}: steps {', '.join(steps_priced_by_drawn_input(cw.plan))} cross a "
                "long-context price tier depending on input size; the case uses the closed-form cost at mean inputs"
                for cw in cc.workflows if steps_priced_by_drawn_input(cw.plan)]
    scenario = next((s for s in case.scenarios if s.name == name), None)
    return {
        "scenario": name,
        "description": scenario.description if scenario else case.description,
        "workflows": [{"name": cw.label, "spec": cw.use.spec,
                       "serving": "api" if cw.self_hosted is None else
                       {"self_hosted": fleet_detail(cw, drivers, flows)}} for cw in cc.workflows],
        "summary": summary,
        "drivers": drivers,
        "monthly": _monthly_rows(case, flows),
        "tornado": {"change": tornado_change, "rows": tornado(cc, drivers, tornado_change)},
        "monte_carlo": monte_carlo(cc, samples, seed) if samples > 0 else None,
        "warnings": warnings,
    }


def _difference(a: dict, b: dict) -> dict:
    def sub(x, y):
        return None if x is None or y is None else y - x

    sa, sb = a["summary"], b["summary"]
    return {"a": a["scenario"], "b": b["scenario"],
            **{f"{k}_b_minus_a": sub(sa[k], sb[k]) for k in ("npv_usd", "payback_month", "discounted_payback_month",
                                                              "total_cost_usd", "cost_per_successful_outcome_usd")}}


@dataclass(frozen=True)
class CaseEvaluation:
    """A business case evaluated per scenario: cash flows by line (USD per month), NPV, IRR, payback, ROI, cost per
    successful outcome, tornado, Monte Carlo; `to_dict()` is the "forecast.roi/1" document `forecast roi` prints."""

    name: str
    scenarios: tuple[str, ...]
    npv_usd: float  # of the first scenario
    payback_month: int | None  # of the first scenario; None: not within the horizon
    _document: dict = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()  # which files a default chose (a price book's note)

    def to_dict(self) -> dict:
        return frozen_copy(self._document)

    def result(self, scenario: str | None = None) -> dict:
        """One scenario's result (default: the first)."""
        results = self._document["results"]
        found = results[0] if scenario is None else next((r for r in results if r["scenario"] == scenario), None)
        if found is None:
            raise ParameterError("scenario", repr(scenario), f"not evaluated; evaluated: {', '.join(self.scenarios)}")
        return frozen_copy(found)

    def to_frame(self):
        """One row per scenario: NPV and its difference from the first (USD), payback month, ROI, USD per
        successful outcome, P(NPV > 0) when Monte Carlo ran."""
        import pandas as pd

        rows = [{"scenario": r["scenario"], "npv_usd": r["summary"]["npv_usd"],
                 "npv_vs_first_usd": r["summary"]["npv_usd"] - self.npv_usd,
                 "payback_month": r["summary"]["payback_month"], "roi": r["summary"]["roi"],
                 "usd_per_successful_outcome": r["summary"]["cost_per_successful_outcome_usd"],
                 "p_npv_positive": (r.get("monte_carlo") or {}).get("p_npv_positive")}
                for r in self._document["results"]]
        return pd.DataFrame(rows)

    def cash_flow_frame(self, scenario: str | None = None, monthly: bool = False):
        """USD by line (rows: '- cost', '+ benefit', '- tax', 'net', 'cumulative') and period (columns: month 0,
        then months 1-12, 13-24, ... or every month when `monthly`)."""
        import pandas as pd

        rows_in = self.result(scenario)["monthly"]
        keys = [k for k in rows_in[0] if k.startswith(("cost:", "benefit:"))] + \
            [k for k in ("tax_usd",) if k in rows_in[0]] + ["net_usd"]
        if monthly:
            periods = [(r["label"], [r]) for r in rows_in]
        else:
            periods = [("month 0", rows_in[:1])]
            for start in range(1, len(rows_in), 12):
                chunk = rows_in[start:start + 12]
                periods.append((f"months {chunk[0]['month']}-{chunk[-1]['month']}", chunk))
        label = {"tax_usd": "- tax", "net_usd": "net"}
        frame = pd.DataFrame({name: {label.get(k, k.replace("cost:", "- ").replace("benefit:", "+ ")):
                                     sum(r[k] for r in chunk) for k in keys} for name, chunk in periods})
        frame.loc["cumulative"] = [chunk[-1]["cumulative_usd"] for _, chunk in periods]
        return frame

    def _repr_html_(self) -> str:
        return html_table(f"{self.name}: business case", self.to_frame().to_dict("records"),
                          [f"note: {n}" for n in self.notes])


def evaluate_case(path: str | Path | Case, book: PriceBook | None = None, scenarios: list[str] | None = None,
                  samples: int = 2_000, seed: int = 0, tornado_change: float = 0.2) -> CaseEvaluation:
    """Evaluate the business case file at `path` (or a Case loaded from one): the selected scenarios ('base' by
    default, the case as written; ['all'] for every one), each in full, with B minus A of each against the first.
    API prices from `book` (default: price_book()); `samples` Monte Carlo scenarios (0 skips it); the tornado
    moves each driver by +/- `tornado_change`.

    >>> from forecast.core.resources import example
    >>> evaluation = evaluate_case(example("cases/support_triage.yaml"), samples=0)
    >>> evaluation.scenarios, evaluation.to_dict()["schema"]
    (('base',), 'forecast.roi/1')
    >>> flows = evaluation.cash_flow_frame()
    >>> bool(abs(flows.loc["net"].sum() - flows.loc["cumulative"].iloc[-1]) < 1e-6)  # cumulative = sum of net
    True
    """
    book = book if book is not None else price_book()
    if isinstance(path, Case):  # its document as written, its specs found beside the file it came from
        data, path = path.to_dict(), path.source
    else:
        data = load_case_document(path)
    base = parse_case_data(data, str(path))
    names = scenario_names(base) if scenarios == ["all"] else list(dict.fromkeys(scenarios or [BASE]))
    results = [evaluate(case_variant(data, base, n), book, n, samples, seed, tornado_change) for n in names]
    doc = {
        "schema": SCHEMA,
        "forecast_version": __version__,
        "case": {"name": base.name, "path": str(path), "description": base.description,
                 "start_month": base.start_month, "price_date": base.price_date.isoformat(),
                 "horizon_months": base.horizon_months, "build_months": base.build.months,
                 "discount_rate_annual": base.finance.discount_rate_annual, "tax_rate": base.finance.tax_rate,
                 "currency": base.finance.currency, "scenarios_available": scenario_names(base)},
        "price_overrides": {"path": book.overrides_path, "sha256": book.overrides_sha256()},
        "conventions": list(CONVENTIONS),
        "results": results,
        "comparison": [_difference(results[0], r) for r in results[1:]],
    }
    first = results[0]["summary"]
    return CaseEvaluation(base.name, tuple(names), first["npv_usd"], first["payback_month"], frozen_copy(doc),
                          (book.note,) if book.note else ())


def load_case(path: str | Path) -> Case:
    """Read and validate a business case YAML file (its scenarios are applied by evaluate_case).

    >>> from forecast.core.resources import example
    >>> case = load_case(example("cases/support_triage.yaml"))
    >>> case.horizon_months, case.to_dict()["price_date"], evaluate_case(case, samples=0).name
    (36, '2026-11-25', 'support-triage-roi')
    """
    return parse_case_data(load_case_document(path), str(path))
