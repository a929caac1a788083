"""Step times of a transformer on GPUs: a roofline (max of memory time and compute time) with tensor
parallelism, its all-reduce cost and a few calibrated efficiency factors. Times in seconds.

Decode reads every weight the batch's tokens route to once per step plus each sequence's KV cache;
prefill is the same forward pass over all prompt tokens at once (compute-bound except for tiny
prompts). MoE models read only the experts their tokens touch and compute with active parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import Gpu, Model
from .memory import BYTES_PER_PARAM, attended_pairs, attended_tokens, kv_bytes_per_token_per_gpu, params_bytes

ACTIVATION_BYTES = 2.0  # all-reduced activations are bf16


@dataclass(frozen=True)
class Efficiency:
    """Globally calibrated factors (benchmarks/gpu_calibration.py fits them on the reference file).

    memory_bandwidth_utilisation: achieved / datasheet HBM bandwidth while streaming weights and KV.
    compute_utilisation: achieved / datasheet dense tensor throughput in large matrix multiplies.
    step_overhead_ms: fixed time per forward pass (kernel launches, scheduling, sampling).
    allreduce_latency_us: fixed latency of one tensor-parallel all-reduce (two per layer).
    """

    memory_bandwidth_utilisation: float
    compute_utilisation: float
    step_overhead_ms: float
    allreduce_latency_us: float


# Fitted by `python benchmarks/gpu_calibration.py --fit` on all 14 rows of data/gpu/reference_measurements.csv, each
# run with its engine's preset (bandwidth utilisation bounded at 0.9, the most HBM delivers in streaming tests; the
# fit sits on that bound).
CALIBRATED = Efficiency(memory_bandwidth_utilisation=0.90, compute_utilisation=0.508, step_overhead_ms=3.904,
                        allreduce_latency_us=17.651)


def peak_flops_per_s(gpu: Gpu, precision: str) -> float:
    """Dense tensor FLOP/s for the weights' precision (int4 is weight-only: it computes in bf16)."""
    if precision == "fp8":
        return gpu.fp8_dense_tflops * 1e12
    if precision == "int8":
        return gpu.int8_dense_tops * 1e12
    return gpu.bf16_dense_tflops * 1e12


def expert_split_params(model: Model) -> tuple[float, float]:
    """(parameters every token uses, parameters of one routed expert); a dense model has no experts."""
    if model.routed_experts is None:
        return model.total_params_b * 1e9, 0.0
    per_expert = (model.total_params_b - model.active_params_b) / (model.routed_experts - model.experts_per_token)
    return (model.active_params_b - model.experts_per_token * per_expert) * 1e9, per_expert * 1e9


def weight_bytes_read(model: Model, precision: str, tokens):
    """Weight bytes one forward pass over `tokens` tokens reads: the shared weights plus the expected
    number of distinct experts the tokens route to (uniform routing), E x (1 - (1 - k/E)^tokens)."""
    shared, per_expert = expert_split_params(model)
    tokens = np.asarray(tokens, dtype=float)
    if model.routed_experts is None:
        return np.full_like(tokens, params_bytes(model, precision, shared))
    e, k = model.routed_experts, model.experts_per_token
    touched = e * (1 - (1 - k / e) ** tokens)
    return params_bytes(model, precision, shared) + per_expert * touched * BYTES_PER_PARAM[precision]


def attention_flops_per_context_token(model: Model) -> float:
    """FLOPs one new token spends on each earlier token of its context (scores and weighted values)."""
    if model.attention == "mla":  # absorbed MLA attends over the latent: rank + rope for scores, rank for values
        per_layer = 2 * model.attention_heads * (2 * model.kv_lora_rank + model.qk_rope_head_dim)
    else:
        per_layer = 4 * model.attention_heads * model.head_dim
    return float(per_layer * model.layers)


def allreduce_s(model: Model, gpu: Gpu, tp: int, tokens, eff: Efficiency):
    """Tensor-parallel communication of one forward pass over `tokens` tokens: two ring all-reduces
    per layer of tokens x hidden activations, each a fixed latency plus 2(tp-1)/tp of the bytes over the link."""
    if tp == 1:
        return np.zeros_like(np.asarray(tokens, dtype=float))
    message = np.asarray(tokens, dtype=float) * model.hidden_size * ACTIVATION_BYTES
    one = eff.allreduce_latency_us * 1e-6 + 2 * (tp - 1) / tp * message / (gpu.interconnect_gb_per_s * 1e9)
    return 2 * model.layers * one


def decode_step_s(model: Model, gpu: Gpu, precision: str, tp: int, batch, context_tokens, eff: Efficiency,
                  kv_precision: str = "bf16"):
    """Seconds for one decode step of `batch` sequences with `context_tokens` each (mean) on `tp` GPUs."""
    batch = np.asarray(batch, dtype=float)
    context = attended_tokens(model, context_tokens)  # the KV each step reads, and the pairs it scores
    bytes_per_gpu = (weight_bytes_read(model, precision, batch) / tp
                     + batch * context * kv_bytes_per_token_per_gpu(model, tp, kv_precision))
    flops_per_gpu = batch * (2 * model.active_params_b * 1e9
                             + context * attention_flops_per_context_token(model)) / tp
    memory_s = bytes_per_gpu / (gpu.memory_bandwidth_tb_per_s * 1e12 * eff.memory_bandwidth_utilisation)
    compute_s = flops_per_gpu / (peak_flops_per_s(gpu, precision) * eff.compute_utilisation)
    return np.maximum(memory_s, compute_s) + allreduce_s(model, gpu, tp, batch, eff) + eff.step_overhead_ms / 1e3


def prefill_s(model: Model, gpu: Gpu, precision: str, tp: int, prompts, prompt_tokens, eff: Efficiency,
              kv_precision: str = "bf16"):
    """Seconds to prefill `prompts` prompts of `prompt_tokens` tokens each in one forward pass."""
    prompts = np.asarray(prompts, dtype=float)
    length = np.asarray(prompt_tokens, dtype=float)
    tokens = prompts * length
    flops_per_gpu = (2 * model.active_params_b * 1e9 * tokens
                     + prompts * attention_flops_per_context_token(model) * attended_pairs(model, length)) / tp
    bytes_per_gpu = (weight_bytes_read(model, precision, tokens) / tp
                     + tokens * kv_bytes_per_token_per_gpu(model, tp, kv_precision))
    memory_s = bytes_per_gpu / (gpu.memory_bandwidth_tb_per_s * 1e12 * eff.memory_bandwidth_utilisation)
    compute_s = flops_per_gpu / (peak_flops_per_s(gpu, precision) * eff.compute_utilisation)
    return np.maximum(memory_s, compute_s) + allreduce_s(model, gpu, tp, tokens, eff) + eff.step_overhead_ms / 1e3
