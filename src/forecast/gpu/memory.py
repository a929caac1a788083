"""GPU memory: weight bytes by precision, KV-cache bytes per token (GQA, MHA, MLA), and how many
sequences fit. Sizes in bytes (GB = 1e9 bytes, as GPU datasheets count)."""

from __future__ import annotations

import numpy as np

from ..core.errors import ForecastError
from .catalog import Gpu, Model
from .engines import Engine
from .engines import engine as preset
from .options import KV_PRECISIONS, PRECISIONS

# Bytes per weight. int4 is weight-only (AWQ/GPTQ style): 4 bits plus one fp16 scale per group of
# 128 weights = 4.125 bits. int8 per-channel scales are negligible (one per output row).
BYTES_PER_PARAM = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": (4 + 16 / 128) / 8}
BYTES_PER_KV_VALUE = {"bf16": 2.0, "fp8": 1.0}


def check_precision(gpu: Gpu, precision: str, kv_precision: str = "bf16") -> None:
    """Raise ForecastError when the GPU cannot run the weight or KV-cache precision."""
    if precision not in PRECISIONS:
        raise ForecastError(f"precision {precision!r}: must be one of {', '.join(PRECISIONS)}")
    if kv_precision not in KV_PRECISIONS:
        raise ForecastError(f"KV-cache precision {kv_precision!r}: must be one of {', '.join(KV_PRECISIONS)}")
    if "fp8" in (precision, kv_precision) and gpu.fp8_dense_tflops is None:
        raise ForecastError(f"GPU {gpu.gpu} has no FP8 tensor cores: use bf16, int8 or int4 weights and a bf16 "
                            "KV cache, or an FP8 GPU (h100, h200, h200-nvl, l40s, l4, b200, mi300x)")


def embedding_params(model: Model) -> float:
    """Parameters of the token embedding and the output head (one table when they are tied)."""
    return float(model.vocab_size * model.hidden_size * (1 if model.tied_embeddings else 2))


def params_bytes(model: Model, precision: str, params) -> float:
    """Bytes of `params` parameters that include the embedding and output head: those stay 16-bit when the
    rest is quantized (vLLM FP8, AWQ/GPTQ and SmoothQuant leave them unquantized)."""
    embed = embedding_params(model)
    return (np.asarray(params, dtype=float) - embed) * BYTES_PER_PARAM[precision] + embed * BYTES_PER_PARAM["bf16"]


def weight_bytes(model: Model, precision: str) -> float:
    """Bytes of all stored weights at `precision` (embedding and output head at 16 bits)."""
    return float(params_bytes(model, precision, model.total_params_b * 1e9))


def kv_values_per_token(model: Model) -> int:
    """Values cached per token over all layers: 2 x KV heads x head dim (K and V), or for MLA one
    compressed latent of kv_lora_rank + qk_rope_head_dim."""
    if model.attention == "mla":
        return model.layers * (model.kv_lora_rank + model.qk_rope_head_dim)
    return 2 * model.layers * model.kv_heads * model.head_dim


def kv_bytes_per_token(model: Model, kv_precision: str = "bf16") -> float:
    """KV-cache bytes of one token of context (whole model, one copy)."""
    return kv_values_per_token(model) * BYTES_PER_KV_VALUE[kv_precision]


def kv_bytes_per_token_per_gpu(model: Model, tp: int, kv_precision: str = "bf16") -> float:
    """KV bytes one GPU holds per token under tensor parallelism `tp`: KV heads are split across GPUs,
    replicated when there are fewer KV heads than GPUs; an MLA latent is replicated on every GPU."""
    if model.attention == "mla":
        return kv_bytes_per_token(model, kv_precision)
    heads_per_gpu = -(-model.kv_heads // tp)  # ceil
    return 2 * model.layers * heads_per_gpu * model.head_dim * BYTES_PER_KV_VALUE[kv_precision]


def attended_tokens(model: Model, context_tokens):
    """Earlier tokens one token attends to, averaged over the layers: the whole context, or at most the window in
    layers with sliding or chunked attention (whose KV cache holds only that much). With a 128-token window on
    half of 36 layers, a 1,000-token context averages (18 x 1000 + 18 x 128) / 36 = 564.

    >>> from forecast.gpu.catalog import load_catalog
    >>> float(attended_tokens(load_catalog().model("gpt-oss-120b"), 1000))
    564.0
    """
    context = np.asarray(context_tokens, dtype=float)
    if model.window_tokens is None:
        return context
    full = model.layers - model.window_layers
    return (full * context + model.window_layers * np.minimum(context, model.window_tokens)) / model.layers


def attended_pairs(model: Model, length):
    """Sum over a prompt's `length` positions of the tokens each attends to (itself included), averaged over the
    layers: length (length + 1) / 2 for full attention; a window of w caps each position at w.

    >>> from forecast.gpu.catalog import load_catalog
    >>> float(attended_pairs(load_catalog().model("llama-3.1-8b"), 4))  # 1 + 2 + 3 + 4
    10.0
    """
    n = np.asarray(length, dtype=float)
    full_pairs = n * (n + 1) / 2
    if model.window_tokens is None:
        return full_pairs
    w = float(model.window_tokens)
    capped = np.where(n <= w, full_pairs, w * (w + 1) / 2 + (n - w) * w)
    full = model.layers - model.window_layers
    return (full * full_pairs + model.window_layers * capped) / model.layers


def kv_capacity_tokens(model: Model, gpu: Gpu, precision: str, tp: int, kv_precision: str = "bf16",
                       engine: Engine | None = None) -> float:
    """Tokens of KV cache one replica of `tp` GPUs can hold after weights and the engine's reserve (<= 0: no fit),
    counted as tokens cached in every layer; `engine`: a gpu.engines preset (None: the generic one, 90% of
    memory less 2 GB)."""
    free_gb_per_gpu = (engine or preset(None)).kv_free_gb(gpu, weight_bytes(model, precision) / tp / 1e9)
    return free_gb_per_gpu * 1e9 / kv_bytes_per_token_per_gpu(model, tp, kv_precision)


def max_concurrent_sequences(model: Model, gpu: Gpu, precision: str, tp: int, input_tokens, output_tokens,
                             kv_precision: str = "bf16", engine: Engine | None = None):
    """Sequences of input + output tokens whose full KV cache fits in one replica at once (floor, >= 0); a
    sliding or chunked window keeps at most the window's tokens in its layers."""
    tokens = np.asarray(input_tokens, dtype=float) + np.asarray(output_tokens, dtype=float)
    capacity = kv_capacity_tokens(model, gpu, precision, tp, kv_precision, engine)
    return np.maximum(np.floor(capacity / attended_tokens(model, tokens)), 0.0)

