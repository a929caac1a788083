"""The panel's API-vs-self-hosted toggle: the options it lists and the monthly GPU bill of a choice.

Self-hosted cost comes from `forecast.gpu.layout_fleets`: an always-on fleet, in the tensor-parallel layout
that needs the fewest GPUs at each volume, sized for the
month's tokens (input + output of the workflow's model calls plus its background calls), at the
GPU catalog's median on-demand price, with its defaults (peak/average 2, target utilisation 0.7).
Tool fees are added per task as with API serving. P10/P50/P90 move with the volume only (tokens
per task at their means), as the fleet is billed per GPU-hour whatever the load.
"""

from __future__ import annotations

import functools
from datetime import date

import numpy as np

from ..design.prices import PriceBook
from ..design.specs import Workflow
from ..design.workload import compile_plan
from ..finance.case import SelfHosted
from ..finance.economics import background_tokens_per_month
from .controls import SERVING_API


def serving_key(sh: SelfHosted | None) -> str:
    """'api' or 'self_hosted:MODEL:GPU:PRECISION:PRICING'."""
    if sh is None:
        return SERVING_API
    return f"self_hosted:{sh.model}:{sh.gpu}:{sh.precision}:{sh.pricing}"


def serving_label(sh: SelfHosted | None) -> str:
    if sh is None:
        return "API (per-token prices)"
    return f"self-hosted: {sh.model} on {sh.gpu} ({sh.precision}, {sh.pricing.replace('_', '-')})"


@functools.cache
def catalog_serving_options() -> dict[str, SelfHosted]:
    """Every catalog model on every GPU with an on-demand price (fp8 where the GPU has FP8 tensor cores)."""
    from ..gpu.catalog import load_catalog

    catalog = load_catalog()
    priced = {p.gpu for p in catalog.prices if p.pricing == "on_demand"}
    out = {}
    for model in catalog.models.values():
        for gpu in catalog.gpus.values():
            if gpu.gpu in priced:
                sh = SelfHosted(model=model.name, gpu=gpu.gpu, precision="fp8" if gpu.fp8_dense_tflops else "bf16")
                out[serving_key(sh)] = sh
    return out


def serving_options_of_case(data: dict, case, index: int) -> dict[str, SelfHosted | None]:
    """API, the case's own serving of workflow `index`, and every scenario's serving of it, then the catalog's."""
    from ..finance.scenarios import case_variant

    found = [case.workflows[index].serving]
    for scenario in case.scenarios:
        if any(path.startswith(f"workflows[{index}].serving") for path in scenario.set):
            found.append(case_variant(data, case, scenario.name).workflows[index].serving)
    out: dict[str, SelfHosted | None] = {SERVING_API: None}
    for serving in found:
        if serving != "api" and serving.self_hosted is not None:
            out[serving_key(serving.self_hosted)] = serving.self_hosted
    return {**out, **{k: v for k, v in catalog_serving_options().items() if k not in out}}


def self_hosted_month_usd(workflow: Workflow, doc: dict, book: PriceBook, on: date, sh: SelfHosted) -> dict:
    """Monthly USD (expected at mean volume, P10/P50/P90 over volume) of serving the workflow on `sh`."""
    from ..gpu.fleet import cheapest_monthly_usd, fewest_gpus, layout_fleets

    tokens = doc["tokens_per_task"]
    input_per_task = tokens["input_tokens"] + tokens["cached_input_tokens"] + tokens["cache_write_tokens"]
    output_per_task = tokens["output_tokens"]
    calls = doc["model_calls_per_task"] or 1.0
    tool_usd_per_task = sum(r["usd_per_task"] for r in doc["steps"] if r["kind"] == "tool")
    tasks = doc["tasks_per_month"]
    volumes = np.array([tasks["expected"], tasks["p10"], tasks["p50"], tasks["p90"]])
    background = float(background_tokens_per_month(compile_plan(workflow, book, on)))
    tokens_per_month = volumes * (input_per_task + output_per_task) + background
    fleets = layout_fleets(sh.model, sh.gpu, tokens_per_month=tokens_per_month,
                           input_tokens_per_request=input_per_task / calls,
                           output_tokens_per_request=output_per_task / calls, precision=sh.precision,
                           peak_to_average=sh.peak_to_average, target_utilisation=sh.target_utilisation,
                           pricing=sh.pricing)
    month = cheapest_monthly_usd(fleets) + volumes * tool_usd_per_task  # the fewest GPUs at each volume
    cost = fewest_gpus(fleets)  # the fleet at the expected volume, the first
    expected, p10, p50, p90 = (float(x) for x in month)
    success = doc["success_rate"]
    return {
        "serving": "self_hosted", "serving_label": serving_label(sh),
        "month_usd_expected": expected, "month_usd_p10": p10, "month_usd_p50": p50, "month_usd_p90": p90,
        "task_usd_expected": expected / tasks["expected"] if tasks["expected"] > 0 else None,
        "task_usd_p10": None, "task_usd_p90": None,  # a fleet's cost per task depends on the month's volume
        "outcome_usd_expected": expected / (tasks["expected"] * success) if tasks["expected"] * success > 0 else None,
        "gpu_count": float(np.asarray(cost.gpu_count).reshape(-1)[0]),
        "gpu_usd_per_hour": cost.gpu_usd_per_hour,
        "gpu_price_source": cost.price_source,
    }
