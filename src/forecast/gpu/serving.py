"""Serving one replica (throughput, latency, best tensor-parallel degree) at a workload.

A replica of `tp` GPUs keeps `concurrency` requests in flight (continuous batching). Each request
is prefilled once and then decoded one token per step with the others, so a "cycle" in which every
in-flight request is served once takes prefill(concurrency prompts) + output_tokens decode steps at
the mean context (input + output/2). Throughput = concurrency x tokens / cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import ForecastError
from .catalog import Catalog, Gpu, Model
from .engines import Engine
from .engines import engine as preset
from .memory import PRECISIONS, check_precision, kv_capacity_tokens, max_concurrent_sequences
from .timing import CALIBRATED, Efficiency, decode_step_s, prefill_s

TP_DEGREES = (1, 2, 4, 8)


@dataclass(frozen=True)
class ReplicaPerformance:
    """One replica at one workload: throughput in tokens/s (input + output), latency in ms. `concurrency` requests
    run at once; `queued` more wait for a slot (a concurrency asked above `max_concurrency`), `queue_ms` on
    average, which `ttft_ms` includes. `tpot_ms` is a request's time from admission to its last token per output
    token (the prefills of the requests in flight included); `itl_ms` the gap between its output tokens once it
    has started (its own prefill left out)."""

    model: str
    gpu: str
    precision: str
    kv_precision: str
    gpus_per_replica: int
    concurrency: int
    max_concurrency: int
    kv_capacity_tokens: float
    requests_per_s: float
    output_tokens_per_s: float
    tokens_per_s: float
    ttft_ms: float
    tpot_ms: float
    itl_ms: float
    queued: int = 0
    queue_ms: float = 0.0


def cycle_s(model: Model, gpu: Gpu, precision: str, tp: int, concurrency, input_tokens, output_tokens,
            eff: Efficiency = CALIBRATED, kv_precision: str = "bf16"):
    """Seconds in which `concurrency` requests are each prefilled and decoded once (vectorized)."""
    context = np.asarray(input_tokens, dtype=float) + np.asarray(output_tokens, dtype=float) / 2
    prefill = prefill_s(model, gpu, precision, tp, concurrency, input_tokens, eff, kv_precision)
    decode = decode_step_s(model, gpu, precision, tp, concurrency, context, eff, kv_precision)
    return prefill + np.asarray(output_tokens, dtype=float) * decode


def output_tokens_per_s(model: Model, gpu: Gpu, precision: str, tp: int, concurrency, input_tokens, output_tokens,
                        eff: Efficiency = CALIBRATED, kv_precision: str = "bf16"):
    """Output tokens per second of one replica at `concurrency` requests in flight."""
    cycle = cycle_s(model, gpu, precision, tp, concurrency, input_tokens, output_tokens, eff, kv_precision)
    return np.asarray(concurrency, dtype=float) * np.asarray(output_tokens, dtype=float) / cycle


def ttft_ms(model: Model, gpu: Gpu, precision: str, tp: int, input_tokens, eff: Efficiency = CALIBRATED,
            kv_precision: str = "bf16"):
    """Time to first token of one request on an idle replica (its prefill), in ms."""
    return 1e3 * prefill_s(model, gpu, precision, tp, 1, input_tokens, eff, kv_precision)


def _valid_tp(model: Model, gpu: Gpu, tp: int) -> bool:
    return tp <= gpu.max_gpus_per_node and model.attention_heads % tp == 0


def replica_performance(model: Model, gpu: Gpu, precision: str, tp: int, input_tokens: float, output_tokens: float,
                        *, concurrency: int | None = None, max_batch: int | None = None,
                        ttft_target_ms: float | None = None, tpot_target_ms: float | None = None,
                        eff: Efficiency = CALIBRATED, kv_precision: str | None = None,
                        engine: Engine | None = None) -> ReplicaPerformance:
    """Throughput and latency of one replica. Without `concurrency` it runs as many requests as memory
    and `max_batch` allow, fewer if needed to meet the TTFT / TPOT targets (ms); a `concurrency` above that limit
    runs at the limit and the rest wait in the engine's queue: as many clients each sending its next request when
    the last ends wait (queued / running) x a request's service time (Little's law), added to TTFT. `engine` (a
    gpu.engines preset; None: the generic one) gives the memory the KV cache gets and, when they are None,
    `max_batch` and `kv_precision`. Raises ForecastError when the model does not fit or a target is unreachable
    even at concurrency 1.

    >>> from forecast.gpu.catalog import load_catalog
    >>> cat = load_catalog()   # Llama 3.1 8B on one H100 holds 256 sequences of 1,000 + 100 tokens
    >>> m, h100 = cat.model("llama-3.1-8b"), cat.gpu("h100")
    >>> asked = replica_performance(m, h100, "bf16", 1, 1000, 100, concurrency=1000)
    >>> full = replica_performance(m, h100, "bf16", 1, 1000, 100, concurrency=256)
    >>> asked.concurrency, asked.queued, asked.output_tokens_per_s == full.output_tokens_per_s
    (256, 744, True)
    >>> asked.ttft_ms == full.ttft_ms + asked.queue_ms and asked.queue_ms > 2 * 100 * full.itl_ms  # ~3 requests' time
    True
    """
    engine = engine or preset(None)
    max_batch = max_batch or engine.max_batch(gpu)
    kv_precision = kv_precision or engine.kv_precision(precision)
    check_precision(gpu, precision, kv_precision)
    if input_tokens < 1 or output_tokens < 1:
        raise ForecastError(f"input and output tokens per request must be >= 1, got {input_tokens:g} and "
                            f"{output_tokens:g}")
    limit = int(min(max_concurrent_sequences(model, gpu, precision, tp, input_tokens, output_tokens, kv_precision,
                                             engine), max_batch))
    if limit < 1:
        raise ForecastError(f"{model.name} at {precision} does not fit on {tp} x {gpu.gpu} with a "
                            f"{input_tokens + output_tokens:,.0f}-token sequence")
    if concurrency is not None:
        if concurrency < 1:
            raise ForecastError(f"concurrency {concurrency}: must be at least 1")
        chosen = min(concurrency, limit)  # the engine runs what its memory and sequence cap hold; the rest queue
    else:
        batches = np.arange(1, limit + 1, dtype=float)
        ok = np.ones_like(batches, dtype=bool)
        cyc = cycle_s(model, gpu, precision, tp, batches, input_tokens, output_tokens, eff, kv_precision)
        if tpot_target_ms is not None:
            ok &= 1e3 * cyc / output_tokens <= tpot_target_ms
        first = float(ttft_ms(model, gpu, precision, tp, input_tokens, eff, kv_precision))
        if ttft_target_ms is not None and first > ttft_target_ms:
            ok[:] = False
        if not ok.any():
            best_tpot = 1e3 * float(cyc[0]) / output_tokens
            raise ForecastError(f"latency target unreachable for {model.name} on {tp} x {gpu.gpu} at {precision}: "
                                f"best TTFT {first:,.0f} ms, best TPOT {best_tpot:,.1f} ms at concurrency 1; "
                                "relax the target, use more GPUs per replica, a lower precision or a faster GPU")
        chosen = int(batches[ok][-1])
    cyc = float(cycle_s(model, gpu, precision, tp, chosen, input_tokens, output_tokens, eff, kv_precision))
    out_tps = chosen * output_tokens / cyc
    first = float(ttft_ms(model, gpu, precision, tp, input_tokens, eff, kv_precision))
    queued = max(0, (concurrency or chosen) - chosen)
    queue_ms = 1e3 * cyc * queued / chosen  # a cycle is one request's service time
    return ReplicaPerformance(
        model.name, gpu.gpu, precision, kv_precision, tp, chosen, limit,
        float(kv_capacity_tokens(model, gpu, precision, tp, kv_precision, engine)), chosen / cyc, out_tps,
        chosen * (input_tokens + output_tokens) / cyc, first + queue_ms, 1e3 * cyc / output_tokens,
        (1e3 * cyc - first) / output_tokens, queued, queue_ms)


def candidate_replicas(model: Model, gpu: Gpu, precision: str, input_tokens: float, output_tokens: float,
                       **kwargs) -> list[ReplicaPerformance]:
    """Performance at every tensor-parallel degree that fits and meets the targets (may be empty)."""
    out = []
    for tp in TP_DEGREES:
        if not _valid_tp(model, gpu, tp):
            continue
        try:
            out.append(replica_performance(model, gpu, precision, tp, input_tokens, output_tokens, **kwargs))
        except ForecastError:
            continue
    return out


def _cheapest(found: list[ReplicaPerformance]) -> ReplicaPerformance:
    return max(found, key=lambda r: (r.tokens_per_s / r.gpus_per_replica, -r.gpus_per_replica))


def fitting_replicas(catalog: Catalog, model: Model, gpu: Gpu, precision: str, input_tokens: float,
                     output_tokens: float, **kwargs) -> list[ReplicaPerformance]:
    """candidate_replicas, or a ForecastError saying which GPU / precision / degree would fit when none does."""
    check_precision(gpu, precision, kwargs.get("kv_precision") or "bf16")
    found = candidate_replicas(model, gpu, precision, input_tokens, output_tokens, **kwargs)
    if found:
        return found
    raise ForecastError(no_fit_message(catalog, model, gpu, precision, input_tokens, output_tokens, **kwargs))


def best_replica(catalog: Catalog, model: Model, gpu: Gpu, precision: str, input_tokens: float,
                 output_tokens: float, **kwargs) -> ReplicaPerformance:
    """The tensor-parallel degree with the most tokens/s per GPU (lowest GPU cost per token); fewer GPUs
    win ties. Raises ForecastError saying which GPU / precision / degree would fit when none does."""
    return _cheapest(fitting_replicas(catalog, model, gpu, precision, input_tokens, output_tokens, **kwargs))


def best_replica_per_precision(model: Model, gpu: Gpu, input_tokens: float, output_tokens: float,
                               precisions: tuple[str, ...] = PRECISIONS, **kwargs) -> list[ReplicaPerformance]:
    """For each weight precision the GPU runs, its best tensor-parallel replica (see `best_replica`); sorted by
    tokens/s per GPU, most first (the lowest GPU cost per token). Precisions that do not fit are left out.
    Lower precisions can cost quality: this compares cost only."""
    kv = kwargs.get("kv_precision") or "bf16"
    out = []
    for p in precisions:
        if "fp8" in (p, kv) and gpu.fp8_dense_tflops is None:
            continue
        found = candidate_replicas(model, gpu, p, input_tokens, output_tokens, **kwargs)
        if found:
            out.append(_cheapest(found))
    return sorted(out, key=lambda r: -r.tokens_per_s / r.gpus_per_replica)


def no_fit_message(catalog: Catalog, model: Model, gpu: Gpu, precision: str, input_tokens: float,
                   output_tokens: float, **kwargs) -> str:
    """A one-line explanation of why nothing fits, with the configurations that would."""
    kv = kwargs.get("kv_precision") or "bf16"
    alternatives = []
    for p in PRECISIONS:
        for g in catalog.gpus.values():
            if (g.gpu == gpu.gpu and p == precision) or ("fp8" in (p, kv) and g.fp8_dense_tflops is None):
                continue
            found = candidate_replicas(model, g, p, input_tokens, output_tokens, **kwargs)
            if found:
                alternatives.append((min(r.gpus_per_replica for r in found), g.gpu, p))
    alternatives.sort(key=lambda a: (a[0], a[1] != gpu.gpu, a[2] != precision))
    hint = ", ".join(f"{n} x {g} at {p}" for n, g, p in alternatives[:5]) or "nothing in the GPU catalog"
    targets = [f"{k.removesuffix('_target_ms').upper()} <= {v:g} ms" for k, v in kwargs.items()
               if k.endswith("_target_ms") and v is not None]
    what = f"{model.name} ({model.total_params_b:g}B parameters) at {precision} on {gpu.gpu}"
    why = (f"does not meet {' and '.join(targets)} or does not fit" if targets
           else f"does not fit in up to {min(gpu.max_gpus_per_node, 8)} GPUs ({gpu.memory_gb:g} GB each)")
    return (f"{what} {why} with {input_tokens + output_tokens:,.0f}-token sequences; would fit: {hint}")
