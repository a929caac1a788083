"""`forecast gpu`: memory fit, throughput, replicas, utilisation, cost per million tokens, monthly bill
(always-on and autoscaled) and break-even against the API models the open model replaces."""

from __future__ import annotations

import math

from ..core.formatting import number as quantity
from ..core.formatting import signed_pct, to_json, usd
from ..gpu.options import ENGINES, KV_PRECISIONS, PRECISIONS, PRICINGS
from .argtypes import day as _date
from .argtypes import number, whole
from .options import add_prices_option, price_book
from .tables import table

COMMANDS = ("gpu",)
OPTIONS = {"input_tokens": "--input", "output_tokens": "--output"}  # size_fleet's parameters named otherwise here
_positive = number(lambda v: v > 0, "must be a number > 0")
_tokens = number(lambda v: v >= 1, "must be at least 1 token")


def add_parsers(sub) -> None:
    """Register `forecast gpu`."""
    p = sub.add_parser("gpu", help="self-hosted serving: memory, throughput, replicas, $/Mtok, break-even vs APIs")
    p.add_argument("--model", required=True, help="open model (packaged data/gpu/models.yaml), e.g. llama-3.1-70b")
    p.add_argument("--gpu", required=True, help="GPU (packaged data/gpu/gpus.csv), e.g. h100")
    p.add_argument("--precision", choices=[*PRECISIONS, "best"], default="bf16",
                   help="weight precision (default bf16); best: the one with the lowest GPU cost per token at scale")
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="serving engine whose defaults to assume: its sequence cap, the memory its KV cache gets, its "
                        "KV precision (default generic: 256 sequences, 90%% of memory, bf16 KV; data/gpu/engines.yaml)")
    p.add_argument("--kv-precision", choices=KV_PRECISIONS, default=None,
                   help="KV-cache precision (default: the engine's for the weight precision)")
    p.add_argument("--input", type=_tokens, default=1000.0, help="input tokens per request (default 1000)")
    p.add_argument("--output", type=_tokens, default=300.0, help="output tokens per request (default 300)")
    p.add_argument("--tokens-per-month", type=_positive, default=1e9, help="input + output tokens (default 1e9)")
    p.add_argument("--peak-to-average", type=_positive, default=2.0, help="peak over average traffic (default 2)")
    p.add_argument("--utilisation", type=_positive, default=0.7, help="target utilisation at peak (default 0.7)")
    p.add_argument("--pricing", choices=PRICINGS, default="on_demand")
    p.add_argument("--provider", default=None, help="GPU price of one provider (default: median of the catalog)")
    p.add_argument("--ttft-ms", metavar="MS", type=_positive, default=None,
                   help="time-to-first-token target (on an idle replica: its prefill)")
    p.add_argument("--tpot-ms", metavar="MS", type=_positive, default=None,
                   help="time-per-output-token target (a request's time from admission to its last token per output "
                        "token, the prefills of the requests in flight included)")
    p.add_argument("--gpus-per-replica", metavar="N", type=whole(1, 8), default=None,
                   help="tensor-parallel GPUs per replica (default: the layout that needs the fewest GPUs at this "
                        "volume)")
    p.add_argument("--max-batch", metavar="N", type=whole(1, 1_000_000), default=None,
                   help="max concurrent sequences (default: the engine's on this GPU)")
    p.add_argument("--vs-api", action="append", metavar="PROVIDER:MODEL", default=None,
                   help="API model to break even against (repeatable; default: the model's `replaces` list)")
    p.add_argument("--date", type=_date, default=None, help="API price date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    add_prices_option(p)


def _volume(x: float) -> str:
    return "never" if not math.isfinite(x) else f"{quantity(x)} tokens/month"


def _engine_line(doc: dict) -> str:
    e = doc["engine"]
    batch = f"max {e['max_batch']:,} sequences" + (" (--max-batch)" if e["max_batch_given"] else "")
    kv = f"KV cache {doc['kv_precision']}" + (" (--kv-precision)" if e["kv_precision_given"] else "")
    hint = "; --engine vllm|sglang|trtllm sets an engine's defaults" if e["name"] == "generic" else ""
    return f"engine preset: {e['name']} ({e['version']}): {batch}, {kv}{hint}"


def gpu_table(doc: dict) -> str:
    f, w = doc["fleet"], doc["workload"]
    how = ", the cheapest precision" if doc["precision_chosen"] == "cheapest" else ""
    out = [f"{doc['model']} on {doc['gpu']} at {doc['precision']}{how} (KV cache {doc['kv_precision']}); requests of "
           f"{w['input_tokens']:,.0f} in + {w['output_tokens']:,.0f} out tokens", "",
           f"weights {doc['memory']['weights_gb']:,.1f} GB; each GPU has {doc['memory']['gpu_memory_gb']:g} GB",
           _engine_line(doc)]
    out += [f"warning: {w}" for w in doc["warnings"]]
    out.append("")
    rows = [[f"{o['gpus_per_replica']} x {doc['gpu']}", f"{o['kv_capacity_tokens']:,.0f}", str(o["concurrency"]),
             f"{o['output_tokens_per_s']:,.0f}", f"{o['tokens_per_s'] / o['gpus_per_replica']:,.0f}",
             f"{o['ttft_ms']:,.0f}", f"{o['tpot_ms']:,.1f}"] for o in doc["tensor_parallel_options"]]
    out += table(["replica", "KV tokens", "concurrency", "output tok/s", "in+out tok/s per GPU",
                  "idle TTFT ms", "TPOT ms"], rows)
    gpus = f"{f['gpus_per_replica']} GPU{'s' if f['gpus_per_replica'] != 1 else ''}"
    why = "--gpus-per-replica" if doc["gpus_per_replica_given"] else "the fewest GPUs for this volume"
    out += ["", f"chosen: {gpus} per replica ({why}), "
                f"{f['tokens_per_s_per_replica']:,.0f} tok/s per replica (input + output)",
            f"fleet for {quantity(w['tokens_per_month'])} tokens/month at peak {w['peak_to_average']:g}x average, "
            f"target utilisation {w['target_utilisation']:.0%}:",
            f"  replicas {f['replicas']:,.0f} = {f['gpu_count']:,.0f} GPU{'s' if f['gpu_count'] != 1 else ''} at "
            f"${usd(f['gpu_usd_per_hour'])}/GPU-hour ({f['pricing']})",
            f"  achieved utilisation {f['utilisation']:.1%}",
            f"  monthly ${usd(f['monthly_usd'])} always-on; ${usd(doc['autoscaled_monthly_usd'])} autoscaled "
            f"to the daily load",
            f"  ${usd(f['usd_per_mtok'])} per million tokens (always-on, at the achieved utilisation)",
            f"  GPU price: {f['price_source']}", ""]
    rows = [[b["pricing"], usd(b["gpu_usd_per_hour"]), signed_pct(b["change_vs_on_demand_same_providers"]),
             usd(b["always_on_usd"]), "-" if b["autoscaled_usd"] is None else usd(b["autoscaled_usd"]),
             ", ".join(b["providers"])] for b in doc["monthly_usd_by_pricing"]]
    who = f"provider {doc['provider']}" if doc.get("provider") else "median over the providers listed; compare " \
        "pricings within one provider with --provider"
    out += [f"monthly bill by pricing ({who}; a commitment is paid whether used or not, so it is not autoscaled):"]
    out += [*table(["pricing", "USD/GPU-hour", "vs on-demand, same providers", "always-on USD", "autoscaled USD",
                    "providers"], rows), ""]
    if len(doc["precision_options"]) > 1:
        rows = [[o["precision"], f"{o['gpus_per_replica']} x {doc['gpu']}", f"{o['tokens_per_s_per_gpu']:,.0f}",
                 usd(o["usd_per_mtok_at_target_utilisation"])] for o in doc["precision_options"]]
        out += ["weight precisions compared (each at its best replica; lower precision can cost quality, check your "
                "evals):"]
        out += table(["precision", "replica", "in+out tok/s per GPU", "USD/Mtok at planned utilisation"], rows)
        out += [""]
    if doc["break_even"]:
        rows = [[b["api"], usd(b["api_usd_per_mtok"]), usd(b["api_monthly_usd"]),
                 _volume(b["break_even_tokens_per_month"]), _volume(b["always_cheaper_from_tokens_per_month"])]
                for b in doc["break_even"]]
        out += [f"break-even (API prices on {doc['price_date']}; self-hosted floor "
                f"${usd(doc['break_even'][0]['self_hosted_floor_usd_per_mtok'])}/Mtok at full planned utilisation)"]
        out += table(["API", "USD/Mtok", "API monthly USD", "self-hosting cheaper from", "always cheaper from"],
                      rows)
    out += [f"skipped {s}" for s in doc["break_even_skipped"]]
    return "\n".join(out) + "\n"


def run(args) -> tuple[str, int]:
    """Run `forecast gpu`; returns (output, exit status)."""
    from ..gpu.sizing import size_fleet

    book = price_book(args) if args.vs_api != [] else None
    sizing = size_fleet(args.model, args.gpu, precision=args.precision, kv_precision=args.kv_precision,
                        input_tokens=args.input, output_tokens=args.output, tokens_per_month=args.tokens_per_month,
                        peak_to_average=args.peak_to_average, utilisation=args.utilisation, pricing=args.pricing,
                        provider=args.provider, ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, max_batch=args.max_batch,
                        vs_api=args.vs_api, book=book, on=args.date, engine=args.engine,
                        gpus_per_replica=args.gpus_per_replica)
    doc = sizing.to_dict()
    return (to_json(doc) + "\n" if args.format == "json" else gpu_table(doc)), 0
