"""GPU, GPU-price and model catalogs: validated once when read, frozen dataclasses afterwards.

Files (defaults under data/gpu/): gpus.csv (specs), gpu_prices.csv (USD per GPU-hour by provider
and pricing), models.yaml (architecture facts from published config.json files). Every row names
its source and an as-of date.
"""

from __future__ import annotations

import csv
import difflib
import functools
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, with_config

from ..core.errors import ForecastError, SpecError
from ..core.resources import packaged
from ..core.validation import STRICT, read_yaml, short_repr, validate_document
from .options import PRICINGS

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1, le=1_000_000)]
ContextTokens = Annotated[int, Field(ge=1, le=100_000_000)]  # Llama 4 Scout: 10,485,760
Source = Annotated[str, Field(min_length=3)]
AsOf = Annotated[str, Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")]


@with_config(STRICT)
@dataclass(frozen=True)
class Gpu:
    """One GPU: memory (GB = 1e9 bytes), bandwidth, dense tensor throughput and interconnect."""

    gpu: str
    name: str
    memory_gb: Positive
    memory_bandwidth_tb_per_s: Positive
    bf16_dense_tflops: Positive
    int8_dense_tops: Positive
    interconnect: str
    interconnect_gb_per_s: Positive
    max_gpus_per_node: Count
    source: Source
    as_of: AsOf
    fp8_dense_tflops: Positive | None = None
    aliases: tuple[str, ...] = ()


@with_config(STRICT)
@dataclass(frozen=True)
class GpuPrice:
    """A published hourly price of one GPU (per GPU, instance price divided by its GPU count); gpus_per_instance is
    the smallest number of GPUs the offering rents (8 for an 8-GPU instance or node)."""

    gpu: str
    provider: str
    offering: str
    pricing: Literal["on_demand", "commit_1y", "commit_3y", "spot"]
    usd_per_gpu_hour: Positive
    source: Source
    as_of: AsOf
    gpus_per_instance: Annotated[int, Field(ge=1, le=72)] = 1


@with_config(STRICT)
@dataclass(frozen=True)
class Model:
    """Architecture facts of an open-weight model (from its config.json)."""

    name: str
    attention: Literal["mha", "gqa", "mla"]
    layers: Count
    hidden_size: Count
    attention_heads: Count
    kv_heads: Count
    head_dim: Count
    vocab_size: Count
    total_params_b: Positive
    active_params_b: Positive
    max_context_tokens: ContextTokens
    source: Source
    as_of: AsOf
    aliases: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    routed_experts: Count | None = None
    experts_per_token: Count | None = None
    kv_lora_rank: Count | None = None
    qk_rope_head_dim: Count | None = None
    tied_embeddings: bool = False  # config.json tie_word_embeddings: one table serves as embedding and output head
    # sliding-window or chunked attention: window_layers of the layers attend to at most window_tokens earlier
    # tokens (gpt-oss sliding_window, Llama 4 attention_chunk_size); the others attend to the whole context
    window_tokens: Count | None = None
    window_layers: Count | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class ModelFile:
    models: tuple[Model, ...]


@dataclass(frozen=True)
class Catalog:
    """GPUs, their prices and models, looked up by name or alias (case-insensitive)."""

    gpus: dict[str, Gpu]
    prices: tuple[GpuPrice, ...]
    models: dict[str, Model]

    def gpu(self, name: str) -> Gpu:
        return _find(self.gpus, name, "GPU")

    def model(self, name: str) -> Model:
        return _find(self.models, name, "model")

    def prices_of(self, gpu: str, pricing: str = "on_demand", provider: str | None = None) -> tuple[GpuPrice, ...]:
        """Catalog prices of one GPU at one pricing (and provider); error naming what exists if none."""
        if pricing not in PRICINGS:
            raise ForecastError(f"pricing {pricing!r}: must be one of {', '.join(PRICINGS)}")
        key = self.gpu(gpu).gpu
        rows = tuple(p for p in self.prices if p.gpu == key and p.pricing == pricing
                     and (provider is None or p.provider == provider.lower()))
        if not rows:
            have = sorted({f"{p.provider}:{p.pricing}" for p in self.prices if p.gpu == key})
            who = f" from provider {provider!r}" if provider else ""
            raise ForecastError(f"GPU {key}: no {pricing} price{who} in the GPU price catalog; it has "
                                f"{', '.join(have) or 'none'}")
        return rows

    def gpu_usd_per_hour(self, gpu: str, pricing: str = "on_demand", provider: str | None = None) -> float:
        """USD per GPU-hour: the provider's price, or the median over the catalog's providers."""
        return float(statistics.median(p.usd_per_gpu_hour for p in self.prices_of(gpu, pricing, provider)))


def _find(table: dict, name: str, what: str):
    """The catalog entry named `name` or one of its aliases, ignoring case; a Hugging Face repository id
    (org/Name-Instruct) is also tried without its organisation and then without an -instruct suffix.

    >>> from forecast.gpu.catalog import load_catalog
    >>> _find(load_catalog().models, "meta-llama/Llama-3.3-70B-Instruct", "model").name
    'llama-3.3-70b'
    """
    key = name.strip().lower()
    bare = key.rsplit("/", 1)[-1]
    for candidate in dict.fromkeys((key, bare, bare.removesuffix("-instruct"))):
        for item in table.values():
            if candidate == item_name(item) or candidate in item.aliases:
                return item
    key = bare
    names = {n: item_name(item) for item in table.values() for n in (item_name(item), *item.aliases)}
    near = _family(key, names) or [names[n] for n in difflib.get_close_matches(key, list(names), n=4, cutoff=0.4)]
    near = list(dict.fromkeys(near))
    hint = f"closest known: {', '.join(near)}" if near else f"known: {', '.join(sorted(table))}"
    raise ForecastError(f"unknown {what} {name!r}: {hint}")


def _family(key: str, names: dict[str, str]) -> list[str]:
    """Catalog entries of the same family as `key`: those whose name starts with it, else with it less its last
    dash-separated parts ('llama-4-behemoth' -> llama-4-scout, llama-4-maverick), at least two parts kept.

    >>> _family("llama-4", {"llama-4-scout": "llama-4-scout", "llama-2-7b": "llama-2-7b"})
    ['llama-4-scout']
    """
    parts = key.split("-")
    for cut in range(len(parts), 1, -1):
        prefix = "-".join(parts[:cut])
        found = sorted({v for n, v in names.items() if n.startswith(prefix)})
        if found:
            return found[:4]
    return []


def item_name(item: Gpu | Model) -> str:
    return item.gpu if isinstance(item, Gpu) else item.name


def _csv_rows(path: Path) -> list[tuple[int, dict]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    out = []
    for i, row in enumerate(rows):
        if None in row:  # csv puts cells beyond the header under the key None
            raise SpecError(f"{path}: line {i + 2}: {short_repr(row[None])}: more cells than the header has columns")
        out.append((i + 2, {k: (None if v in ("", None) else v.strip()) for k, v in row.items()}))
    return out


def load_gpus(path: str | Path) -> dict[str, Gpu]:
    """Read and validate a GPU spec CSV; errors name the file, line, field and rule."""
    gpus: dict[str, Gpu] = {}
    for line, row in _csv_rows(Path(path)):
        row = {k: v for k, v in row.items() if v is not None}
        row["aliases"] = tuple(a.strip().lower() for a in row.get("aliases", "").split(";") if a.strip())
        row["gpu"] = row.get("gpu", "").lower()
        gpu = validate_document(Gpu, row, f"{path}: line {line}")
        if gpu.gpu in gpus:
            raise SpecError(f"{path}: line {line}: gpu: {gpu.gpu!r}: listed twice")
        gpus[gpu.gpu] = gpu
    return gpus


def load_prices(path: str | Path, gpus: dict[str, Gpu]) -> tuple[GpuPrice, ...]:
    """Read and validate a GPU price CSV; every row must name a GPU of the spec catalog."""
    prices, seen = [], {}
    for line, row in _csv_rows(Path(path)):
        row = {k: v for k, v in row.items() if v is not None}
        row["gpu"], row["provider"] = row.get("gpu", "").lower(), row.get("provider", "").lower()
        price = validate_document(GpuPrice, row, f"{path}: line {line}")
        if price.gpu not in gpus:
            raise SpecError(f"{path}: line {line}: gpu: {price.gpu!r}: not in the GPU catalog "
                            f"({', '.join(sorted(gpus))})")
        key = (price.gpu, price.provider, price.pricing)
        if key in seen:
            raise SpecError(f"{path}: line {line}: {price.gpu},{price.provider},{price.pricing}: listed twice "
                            f"(first at line {seen[key]}); the median over providers would count it twice")
        seen[key] = line
        prices.append(price)
    return tuple(prices)


def load_models(path: str | Path) -> dict[str, Model]:
    """Read and validate a models YAML file (architecture facts)."""
    data = read_yaml(path)
    models = validate_document(ModelFile, {} if data is None else data, str(path)).models
    out: dict[str, Model] = {}
    for i, m in enumerate(models):
        where = f"{path}: models[{i}]"
        if m.name.lower() in out:
            raise SpecError(f"{where}.name: {m.name!r}: listed twice")
        if m.active_params_b > m.total_params_b:
            raise SpecError(f"{where}.active_params_b: {m.active_params_b}: must not exceed total_params_b")
        if m.attention_heads % m.kv_heads:
            raise SpecError(f"{where}.kv_heads: {m.kv_heads}: must divide attention_heads {m.attention_heads}")
        if m.attention == "mla" and (m.kv_lora_rank is None or m.qk_rope_head_dim is None):
            raise SpecError(f"{where}.attention: 'mla' needs kv_lora_rank and qk_rope_head_dim")
        if (m.window_tokens is None) != (m.window_layers is None):
            raise SpecError(f"{where}: window_tokens and window_layers go together (sliding or chunked attention) "
                            "or not at all")
        if m.window_layers is not None and m.window_layers > m.layers:
            raise SpecError(f"{where}.window_layers: {m.window_layers}: must not exceed layers ({m.layers})")
        if (m.routed_experts is None) != (m.experts_per_token is None):
            raise SpecError(f"{where}: routed_experts and experts_per_token go together (MoE) or not at all")
        if m.routed_experts is not None and not m.experts_per_token < m.routed_experts:
            raise SpecError(f"{where}.experts_per_token: {m.experts_per_token}: must be fewer than routed_experts "
                            f"({m.routed_experts})")
        if m.routed_experts is not None and m.active_params_b >= m.total_params_b:
            raise SpecError(f"{where}.active_params_b: {m.active_params_b}: an MoE model uses fewer parameters per "
                            f"token than it stores ({m.total_params_b})")
        for j, r in enumerate(m.replaces):
            if ":" not in r:
                raise SpecError(f"{where}.replaces[{j}]: {r!r}: must be provider:model")
        object.__setattr__(m, "aliases", tuple(a.lower() for a in m.aliases))
        out[m.name.lower()] = m
    return out


@functools.cache
def _load(gpus_path: str, prices_path: str, models_path: str) -> Catalog:
    gpus = load_gpus(gpus_path)
    return Catalog(gpus, load_prices(prices_path, gpus), load_models(models_path))


def load_catalog(directory: str | Path | None = None) -> Catalog:
    """The catalog in `directory` (default: the packaged data/gpu/), read once per process."""
    d = Path(directory) if directory is not None else packaged("data", "gpu")
    return _load(str(d / "gpus.csv"), str(d / "gpu_prices.csv"), str(d / "models.yaml"))
