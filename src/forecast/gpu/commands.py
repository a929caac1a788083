"""`forecast gpu`: memory fit, throughput, replicas, utilisation, cost per million tokens, monthly bill
(always-on and autoscaled) and break-even against the API models the open model replaces."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import UTC, date, datetime

from ..argtypes import day as _date
from ..argtypes import number
from ..errors import ForecastError
from ..render import _table, _usd, to_json
from .breakeven import break_even, floor_usd_per_mtok
from .catalog import PRICINGS, load_catalog
from .fleet import HOURS_PER_MONTH, autoscaled_monthly_usd, self_hosted_cost
from .memory import KV_PRECISIONS, PRECISIONS, weight_bytes
from .serving import DEFAULT_MAX_BATCH, best_replica_per_precision, candidate_replicas, no_fit_message

COMMANDS = ("gpu",)
_positive = number(lambda v: v > 0, "must be a number > 0")


def add_parsers(sub, overrides_option: Callable) -> None:
    """Register `forecast gpu`."""
    p = sub.add_parser("gpu", help="self-hosted serving: memory, throughput, replicas, $/Mtok, break-even vs APIs")
    p.add_argument("--model", required=True, help="open model from data/gpu/models.yaml, e.g. llama-3.1-70b")
    p.add_argument("--gpu", required=True, help="GPU from data/gpu/gpus.csv, e.g. h100")
    p.add_argument("--precision", choices=[*PRECISIONS, "best"], default="bf16",
                   help="weight precision (default bf16); best: the one with the lowest GPU cost per token")
    p.add_argument("--kv-precision", choices=KV_PRECISIONS, default="bf16", help="KV-cache precision (default bf16)")
    p.add_argument("--input", type=_positive, default=1000.0, help="input tokens per request (default 1000)")
    p.add_argument("--output", type=_positive, default=300.0, help="output tokens per request (default 300)")
    p.add_argument("--tokens-per-month", type=_positive, default=1e9, help="input + output tokens (default 1e9)")
    p.add_argument("--peak-to-average", type=_positive, default=2.0, help="peak over average traffic (default 2)")
    p.add_argument("--utilisation", type=_positive, default=0.7, help="target utilisation at peak (default 0.7)")
    p.add_argument("--pricing", choices=PRICINGS, default="on_demand")
    p.add_argument("--provider", default=None, help="GPU price of one provider (default: median of the catalog)")
    p.add_argument("--ttft-ms", type=_positive, default=None, help="time-to-first-token target")
    p.add_argument("--tpot-ms", type=_positive, default=None, help="time-per-output-token target")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="engine's max concurrent sequences")
    p.add_argument("--vs-api", action="append", metavar="PROVIDER:MODEL", default=None,
                   help="API model to break even against (repeatable; default: the model's `replaces` list)")
    p.add_argument("--date", type=_date, default=None, help="API price date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    overrides_option(p)


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


def _volume(x: float) -> str:
    return "never" if not math.isfinite(x) else f"{x:,.3g} tokens/month"


def gpu_table(doc: dict) -> str:
    f, w = doc["fleet"], doc["workload"]
    how = ", the cheapest precision" if doc["precision_chosen"] == "cheapest" else ""
    out = [f"{doc['model']} on {doc['gpu']} at {doc['precision']}{how} (KV cache {doc['kv_precision']}); requests of "
           f"{w['input_tokens']:,.0f} in + {w['output_tokens']:,.0f} out tokens", "",
           f"weights {doc['memory']['weights_gb']:,.1f} GB; each GPU has {doc['memory']['gpu_memory_gb']:g} GB", ""]
    rows = [[f"{o['gpus_per_replica']} x {doc['gpu']}", f"{o['kv_capacity_tokens']:,.0f}", str(o["concurrency"]),
             f"{o['output_tokens_per_s']:,.0f}", f"{o['tokens_per_s'] / o['gpus_per_replica']:,.0f}",
             f"{o['ttft_ms']:,.0f}", f"{o['tpot_ms']:,.1f}"] for o in doc["tensor_parallel_options"]]
    out += _table(["replica", "KV tokens", "concurrency", "output tok/s", "tok/s per GPU", "TTFT ms", "TPOT ms"], rows)
    out += ["", f"chosen: {f['gpus_per_replica']} GPUs per replica (most tokens/s per GPU), "
                f"{f['tokens_per_s_per_replica']:,.0f} tok/s per replica (input + output)",
            f"fleet for {w['tokens_per_month']:,.3g} tokens/month at peak {w['peak_to_average']:g}x average, "
            f"target utilisation {w['target_utilisation']:.0%}:",
            f"  replicas {f['replicas']:,.0f} = {f['gpu_count']:,.0f} GPUs at ${f['gpu_usd_per_hour']:.4g}/GPU-hour "
            f"({f['pricing']})",
            f"  achieved utilisation {f['utilisation']:.1%}",
            f"  monthly ${_usd(f['monthly_usd'])} always-on; ${_usd(doc['autoscaled_monthly_usd'])} autoscaled "
            f"to the daily load",
            f"  ${_usd(f['usd_per_mtok'])} per million tokens (always-on, at the achieved utilisation)",
            f"  GPU price: {f['price_source']}", ""]
    rows = [[b["pricing"], f"{b['gpu_usd_per_hour']:.4g}", _usd(b["always_on_usd"]),
             "-" if b["autoscaled_usd"] is None else _usd(b["autoscaled_usd"]), ", ".join(b["providers"])]
            for b in doc["monthly_usd_by_pricing"]]
    who = f"provider {doc['provider']}" if doc.get("provider") else "median over the providers listed; compare " \
        "pricings within one provider with --provider"
    out += [f"monthly bill by pricing ({who}; a commitment is paid whether used or not, so it is not autoscaled):"]
    out += [*_table(["pricing", "USD/GPU-hour", "always-on USD", "autoscaled USD", "providers"], rows), ""]
    if len(doc["precision_options"]) > 1:
        rows = [[o["precision"], f"{o['gpus_per_replica']} x {doc['gpu']}", f"{o['tokens_per_s_per_gpu']:,.0f}",
                 f"{o['usd_per_mtok_at_target_utilisation']:.4g}"] for o in doc["precision_options"]]
        out += ["weight precisions compared (each at its best replica; lower precision can cost quality, check your "
                "evals):"]
        out += _table(["precision", "replica", "tok/s per GPU", "USD/Mtok at planned utilisation"], rows)
        out += [""]
    if doc["break_even"]:
        rows = [[b["api"], f"{b['api_usd_per_mtok']:.4g}", _usd(b["api_monthly_usd"]),
                 _volume(b["break_even_tokens_per_month"]), _volume(b["always_cheaper_from_tokens_per_month"])]
                for b in doc["break_even"]]
        out += [f"break-even (API prices on {doc['price_date']}; self-hosted floor "
                f"${doc['break_even'][0]['self_hosted_floor_usd_per_mtok']:.4g}/Mtok at full planned utilisation)"]
        out += _table(["API", "USD/Mtok", "API monthly USD", "self-hosting cheaper from", "always cheaper from"],
                      rows)
    out += [f"skipped {s}" for s in doc["break_even_skipped"]]
    return "\n".join(out) + "\n"


def run(args, book) -> tuple[str, int]:
    """Run `forecast gpu`; returns (output, exit status)."""
    doc = serving_document(book, args.model, args.gpu, precision=args.precision, kv_precision=args.kv_precision,
                           input_tokens=args.input, output_tokens=args.output,
                           tokens_per_month=args.tokens_per_month, peak_to_average=args.peak_to_average,
                           utilisation=args.utilisation, pricing=args.pricing, provider=args.provider,
                           ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, max_batch=args.max_batch,
                           vs_api=args.vs_api, on=args.date)
    return (to_json(doc) + "\n" if args.format == "json" else gpu_table(doc)), 0
