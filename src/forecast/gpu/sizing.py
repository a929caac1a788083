"""Sizing a self-hosted fleet for a workload: memory fit, throughput, replicas, monthly bill by pricing and
break-even against API models, as the JSON-ready document `forecast gpu --format json` prints."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from ..core.errors import ForecastError
from .breakeven import break_even, floor_usd_per_mtok
from .catalog import PRICINGS, load_catalog
from .fleet import HOURS_PER_MONTH, autoscaled_monthly_usd, self_hosted_cost
from .memory import weight_bytes
from .serving import DEFAULT_MAX_BATCH, best_replica_per_precision, candidate_replicas, no_fit_message


def serving_document(book, model: str, gpu: str, *, precision: str = "bf16", kv_precision: str = "bf16",
                     input_tokens: float = 1000.0, output_tokens: float = 300.0, tokens_per_month: float = 1e9,
                     peak_to_average: float = 2.0, utilisation: float = 0.7, pricing: str = "on_demand",
                     provider: str | None = None, ttft_ms: float | None = None, tpot_ms: float | None = None,
                     max_batch: int = DEFAULT_MAX_BATCH, vs_api: list[str] | None = None,
                     on: date | None = None) -> dict:
    """Everything `forecast gpu` prints, as a JSON-ready dict (token counts per request, tokens per month
    input + output; `vs_api` defaults to the API models the open model replaces; `on` to today, UTC)."""
    args = argparse.Namespace(model=model, gpu=gpu, precision=precision, kv_precision=kv_precision,
                              input=input_tokens, output=output_tokens, tokens_per_month=tokens_per_month,
                              peak_to_average=peak_to_average, utilisation=utilisation, pricing=pricing,
                              provider=provider, ttft_ms=ttft_ms, tpot_ms=tpot_ms, max_batch=max_batch,
                              vs_api=vs_api, date=on)
    catalog = load_catalog()
    model, gpu = catalog.model(args.model), catalog.gpu(args.gpu)
    if args.utilisation > 1:
        raise ForecastError(f"--utilisation {args.utilisation:g}: must be at most 1")
    if args.peak_to_average < 1:
        raise ForecastError(f"--peak-to-average {args.peak_to_average:g}: must be >= 1")
    if args.max_batch < 1:
        raise ForecastError(f"--max-batch {args.max_batch}: must be >= 1")
    kwargs = {"max_batch": args.max_batch, "ttft_target_ms": args.ttft_ms, "tpot_target_ms": args.tpot_ms,
              "kv_precision": args.kv_precision}
    by_precision = best_replica_per_precision(model, gpu, args.input, args.output, **kwargs)
    chosen_best = args.precision == "best"
    if chosen_best and not by_precision:
        message = no_fit_message(catalog, model, gpu, "bf16", args.input, args.output, **kwargs)
        raise ForecastError(message.replace(" at bf16 on ", " at any precision on ", 1))
    if chosen_best:
        args.precision = by_precision[0].precision
    cost = self_hosted_cost(model.name, gpu.gpu, tokens_per_month=args.tokens_per_month,
                            input_tokens_per_request=args.input, output_tokens_per_request=args.output,
                            precision=args.precision, peak_to_average=args.peak_to_average,
                            target_utilisation=args.utilisation, pricing=args.pricing, provider=args.provider,
                            **kwargs)
    options = candidate_replicas(model, gpu, args.precision, args.input, args.output, **kwargs)
    auto = autoscaled_monthly_usd(args.tokens_per_month, cost.tokens_per_s_per_replica, cost.gpus_per_replica,
                                  cost.gpu_usd_per_hour, peak_to_average=args.peak_to_average,
                                  target_utilisation=args.utilisation)
    bills = monthly_bills(catalog, gpu.gpu, args.provider, cost.gpu_count, auto / cost.gpu_usd_per_hour)
    on = args.date or datetime.now(UTC).date()
    apis = args.vs_api or list(model.replaces)
    versus, skipped = [], []
    for api in apis:
        try:
            be = break_even(cost, book, api, on, args.input, args.output, args.peak_to_average, args.utilisation)
        except ForecastError as exc:
            if args.vs_api:
                raise
            skipped.append(f"{api}: {exc.problems[0]}")
            continue
        versus.append({**be.__dict__, "api_monthly_usd": be.api_usd_per_mtok * args.tokens_per_month / 1e6})
    return {
        "model": model.name, "gpu": gpu.gpu, "precision": args.precision, "kv_precision": args.kv_precision,
        "workload": {"input_tokens": args.input, "output_tokens": args.output,
                     "tokens_per_month": args.tokens_per_month, "peak_to_average": args.peak_to_average,
                     "target_utilisation": args.utilisation},
        "memory": {"weights_gb": weight_bytes(model, args.precision) / 1e9, "gpu_memory_gb": gpu.memory_gb},
        "tensor_parallel_options": [o.__dict__ for o in options],
        "precision_chosen": "cheapest" if chosen_best else "given",
        "precision_options": [{"precision": o.precision, "gpus_per_replica": o.gpus_per_replica,
                               "tokens_per_s": o.tokens_per_s,
                               "tokens_per_s_per_gpu": o.tokens_per_s / o.gpus_per_replica,
                               "usd_per_mtok_at_target_utilisation": floor_usd_per_mtok(
                                   o.gpus_per_replica * cost.gpu_usd_per_hour, o.tokens_per_s, args.utilisation,
                                   args.peak_to_average)} for o in by_precision],
        "fleet": {k: v for k, v in cost.__dict__.items() if k not in ("model", "gpu")},
        "autoscaled_monthly_usd": auto,
        "monthly_usd_by_pricing": bills, "provider": args.provider,
        "break_even": versus, "break_even_skipped": skipped, "price_date": on.isoformat(),
        "sources": {"gpu": gpu.source, "model": model.source},
    }


def monthly_bills(catalog, gpu: str, provider: str | None, gpu_count: float, autoscaled_gpu_hours: float) -> list[dict]:
    """The fleet's monthly USD at every pricing the catalog lists for the GPU: always-on at any pricing,
    autoscaled only where capacity is billed by the hour (on_demand, spot; a commitment is paid whether used or not)."""
    out = []
    for pricing in PRICINGS:
        try:
            rows = catalog.prices_of(gpu, pricing, provider)
        except ForecastError:
            continue  # the catalog has no such price: the row is left out, not priced at zero
        usd_per_hour = catalog.gpu_usd_per_hour(gpu, pricing, provider)
        out.append({"pricing": pricing, "gpu_usd_per_hour": usd_per_hour,
                    "providers": sorted({r.provider for r in rows}),
                    "always_on_usd": gpu_count * usd_per_hour * HOURS_PER_MONTH,
                    "autoscaled_usd": (autoscaled_gpu_hours * usd_per_hour if pricing in ("on_demand", "spot")
                                       else None)})
    return out
