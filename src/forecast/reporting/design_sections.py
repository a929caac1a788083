"""The tables of the estimate, ROI and self-hosting reports, for people: labels with units, no index column, the
project's one number style (core.formatting). Each returns a pandas Styler for the notebook to show; the
report's workbook stores the same cells as numbers (reporting.workbook)."""

from __future__ import annotations

import pandas as pd

from ..core.formatting import dollars, md_text, money, number, pct, people_table, signed_pct
from ..core.tokens import TOKEN_KINDS

TOKEN_LABELS = {"input": "input", "cached_input": "cached input", "cache_write": "cache write", "output": "output"}


def _table(frame: pd.DataFrame, names: dict[str, str], formats: dict[str, object], na_rep: str = "n/a"):
    return people_table(frame, names, formats, na_rep)


def cost_summary(result):
    """Expected cost and its percentiles per task, per month and per successful outcome.

    >>> import forecast as fc
    >>> from datetime import date
    >>> r = fc.estimate(fc.load_spec(fc.example("workflows/support_triage.yaml")), fc.price_book("none"),
    ...                 date(2026, 11, 25), 500, 0, 50, 2)
    >>> list(cost_summary(r).data.columns)
    ['cost', 'expected', 'P10', 'P50', 'P90', 'P99']
    """
    frame = result.to_frame().drop(index="tasks per month")
    frame = frame.rename(index=lambda s: s.removesuffix(" (USD)")).rename_axis("cost").reset_index()
    frame.columns = [str(c) for c in frame.columns]
    names = {"cost": "cost", "expected": "expected", "p10": "P10", "p50": "P50", "p90": "P90", "p99": "P99"}
    return _table(frame, names, {c: money for c in names if c != "cost"})


def estimate_models(result):
    """Expected calls, tokens (uncached input, cache reads, cache writes, output) and cost per task by model and
    tool, with the part of the cost paid for cache writes."""
    names = {"kind": "kind", "provider": "provider", "model": "model or tool", "calls_per_task": "calls per task",
             "input_tokens_per_task": "uncached input tokens per task",
             "cached_input_tokens_per_task": "cache-read tokens per task",
             "cache_write_tokens_per_task": "cache-write tokens per task",
             "output_tokens_per_task": "output tokens per task", "usd_per_task": "cost per task",
             "cache_write_usd_per_task": "of which cache writes (USD)", "share_of_cost": "share of cost"}
    frame = result.table("models").fillna({"provider": ""})
    return _table(frame, names, {"calls_per_task": lambda v: number(v, decimals=2), "input_tokens_per_task": number,
                                 "cached_input_tokens_per_task": number, "cache_write_tokens_per_task": number,
                                 "output_tokens_per_task": number, "usd_per_task": money,
                                 "cache_write_usd_per_task": money, "share_of_cost": pct})


def loops(result):
    """Each agent loop: its cap, expected iterations with and without it, how often tasks hit it and what it saves.

    >>> import forecast as fc
    >>> from datetime import date
    >>> r = fc.estimate(fc.load_spec(fc.example("workflows/research_agent.yaml")), fc.price_book("none"),
    ...                 date(2026, 11, 25), 500, 0, 50, 2)
    >>> list(loops(r).data.columns)[:3]
    ['loop', 'cap (max steps)', 'iterations per task']
    """
    names = {"loop": "loop", "max_steps": "cap (max steps)", "expected_iterations": "iterations per task",
             "expected_iterations_uncapped": "iterations uncapped", "p_hits_cap": "tasks hitting the cap",
             "usd_per_task": "cost per task", "usd_per_task_uncapped": "cost per task uncapped",
             "cap_saves_usd_per_task": "cap saves per task", "cap_saves_usd_per_month": "cap saves per month"}
    return _table(result.table("loops"), names, {
        "max_steps": number, "expected_iterations": lambda v: number(v, decimals=2),
        "expected_iterations_uncapped": lambda v: number(v, decimals=2), "p_hits_cap": pct, "usd_per_task": money,
        "usd_per_task_uncapped": money, "cap_saves_usd_per_task": money, "cap_saves_usd_per_month": money})


def price_sheet(result):
    """The prices the estimate used, per model: USD per million tokens by kind, per-call fee, date and source."""
    rows = []
    for p in result.to_dict()["prices"]:
        row = {"provider": p["provider"], "model": p["model"], "date": p["date"],
               "batch": "yes" if p["batch"] else "no"}
        row |= {f"{k}_usd_per_mtok": p[f"{k}_usd_per_mtok"] for k in TOKEN_KINDS}
        tiers = [f"input above {t['above_input_tokens']:,}: "
                 + ", ".join(f"{TOKEN_LABELS[k]} {money(t[f'{k}_usd_per_mtok'])}" for k in TOKEN_KINDS)
                 for t in p["tiers"]]
        row |= {"usd_per_call": p["usd_per_call"], "tiers": "; ".join(tiers) or "none", "source": p["source"]}
        rows.append(row)
    names = {"provider": "provider", "model": "model", "date": "price date", "batch": "batch",
             **{f"{k}_usd_per_mtok": f"{TOKEN_LABELS[k]} per million tokens" for k in TOKEN_KINDS},
             "usd_per_call": "per call", "tiers": "long-context tiers", "source": "source"}
    return _table(pd.DataFrame(rows, columns=list(names)), names,
                  {c: money for c in names if c.endswith("_usd_per_mtok") or c == "usd_per_call"})


def alternatives(variants):
    """Each variant's cost per task, month (with P10-P90) and outcome, and its change against the spec."""
    names = {"variant": "variant", "usd_per_task": "per task", "usd_per_month": "per month",
             "usd_per_month_p10": "per month P10", "usd_per_month_p90": "per month P90",
             "usd_per_successful_outcome": "per successful outcome", "change_vs_spec": "change against the spec"}
    return _table(variants.to_frame(), names, {**{c: money for c in names if c.startswith("usd")},
                                               "change_vs_spec": signed_pct})


def cash_flows(evaluation, scenario: str):
    """The scenario's cash flows by line and period (costs negative), whole dollars."""
    frame = evaluation.cash_flow_frame(scenario)
    frame = frame.rename_axis("line").reset_index()
    names = {c: str(c) for c in frame.columns}
    return _table(frame, names, {c: dollars for c in frame.columns if c != "line"})


def scenarios(table: pd.DataFrame):
    """Scenarios side by side: NPV and its difference to the first, payback, ROI, cost per outcome, P(NPV > 0)."""
    names = {"scenario": "scenario", "npv_usd": "NPV", "npv_vs_first_usd": "NPV against the first",
             "payback_month": "payback month", "roi": "ROI", "usd_per_successful_outcome": "AI cost per outcome",
             "p_npv_positive": "P(NPV > 0)"}
    frame = table.assign(payback_month=pd.to_numeric(table["payback_month"]).astype(float).fillna(float("inf")))
    return _table(frame, names, {"npv_usd": dollars, "npv_vs_first_usd": lambda v: money(v, cents=False, sign=True),
                                 "payback_month": lambda m: "never" if m == float("inf") else f"month {m:.0f}",
                                 "roi": pct, "usd_per_successful_outcome": money, "p_npv_positive": pct})


def fleet(sizing):
    """Per replica count considered: GPUs, KV cache, concurrency, throughput and latency."""
    names = {"gpus_per_replica": "GPUs per replica", "kv_capacity_tokens": "KV cache (tokens)",
             "concurrency": "concurrent requests", "tokens_per_s": "tokens/s (input + output)",
             "output_tokens_per_s": "output tokens/s", "ttft_ms": "time to first token, idle (ms)",
             "tpot_ms": "time per output token (ms)", "itl_ms": "time between output tokens (ms)"}
    return _table(sizing.to_frame(), names, {c: number for c in names})


def gpu_prices(sizing):
    """The catalog's hourly prices of the fleet's GPU, every provider and pricing, with offering, date and source
    (the fleet is priced at the median of its pricing's rows, or at one provider's)."""
    from ..gpu.catalog import load_catalog

    catalog = load_catalog()
    key = catalog.gpu(sizing.gpu).gpu
    rows = [{"provider": p.provider, "offering": p.offering, "pricing": p.pricing.replace("_", " "),
             "usd_per_gpu_hour": p.usd_per_gpu_hour, "as_of": str(p.as_of), "source": str(p.source)}
            for p in sorted(catalog.prices, key=lambda p: (p.pricing, p.provider)) if p.gpu == key]
    names = {"provider": "provider", "offering": "offering", "pricing": "pricing", "usd_per_gpu_hour": "per GPU-hour",
             "as_of": "as of", "source": "source"}
    return _table(pd.DataFrame(rows, columns=list(names)), names, {"usd_per_gpu_hour": money})


def api_prices(sizing):
    """The API prices the break-even compares with: USD per million tokens at this request shape, and the row each
    came from."""
    rows = [{"api": b["api"], "usd_per_mtok": b["api_usd_per_mtok"], "source": b["api_price_source"]}
            for b in sizing.to_dict()["break_even"]]
    names = {"api": "API", "usd_per_mtok": "per million tokens (this request shape)", "source": "price row"}
    return _table(pd.DataFrame(rows, columns=list(names)), names, {"usd_per_mtok": money})


def calibrated_beside(workflow, result, warehouse: str, book, on, samples: int, seed: int, scenarios: int,
                      months: int) -> list:
    """The workflow calibrated on its logs in `warehouse` (usage.calibrate), estimated as the design was: a
    sentence, the designed and calibrated expected cost per task, month and successful outcome, and the notes
    on what the logs could not show (Markdown and a table, for sections.show)."""
    from ..design.estimate import estimate
    from ..usage.calibrate import calibrate
    from ..usage.calibration import observe
    from ..usage.warehouse import Warehouse

    with Warehouse(warehouse, read_only=True) as wh:
        observed = observe(wh.con, workflow)
    if not observed.tasks:
        return [f"No task of workflow {md_text(workflow.name)} is logged in {md_text(warehouse)} (its "
                "`workflow_name`): nothing to calibrate."]
    calibrated, records, notes = calibrate(workflow, observed)
    cal = estimate(calibrated, book, on, samples, seed, scenarios, months).to_dict()
    doc = result.to_dict()
    def change(a, b):
        return b / a - 1 if a and b is not None else None  # no success logged: no cost per outcome

    rows = [{"cost": label, "designed": doc[key]["expected"], "calibrated": cal[key]["expected"],
             "change": change(doc[key]["expected"], cal[key]["expected"])}
            for label, key in (("per task", "per_task_usd"), ("per month", "per_month_usd"),
                               ("per successful outcome", "per_successful_outcome_usd"))]
    fitted = sum(r.used for r in records)
    text = (f"Calibrated on {observed.tasks:,} logged tasks ({md_text(', '.join(observed.months))}) in "
            f"{md_text(warehouse)}: {fitted} of {len(records)} designed numbers fitted to the logs, the rest kept "
            "(`forecast calibrate` writes the calibrated spec with each number's designed and observed value).")
    table = _table(pd.DataFrame(rows), {"cost": "cost", "designed": "designed", "calibrated": "calibrated",
                                        "change": "change"},
                   {"designed": money, "calibrated": money, "change": signed_pct})
    return [text, table, *(["\n\n".join(f"> {md_text(n)}" for n in notes)] if notes else [])]
