"""Serving-engine presets (data/gpu/engines.yaml): each engine's default sequence cap, KV-cache memory share and
KV-cache precision, which change how many requests a replica serves at once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal

from pydantic import Field, with_config

from ..core.errors import ForecastError, ParameterError
from ..core.resources import packaged
from ..core.validation import STRICT, read_yaml, validate_document
from .catalog import Gpu

Fraction = Annotated[float, Field(gt=0, le=1)]
Gb = Annotated[float, Field(ge=0, le=1000)]
Sequences = Annotated[int, Field(ge=1, le=1_000_000)]


@with_config(STRICT)
@dataclass(frozen=True)
class Engine:
    """One engine's defaults (see the file's header for each field)."""

    name: str
    version: str
    max_sequences: Sequences
    memory: Literal["total", "free_after_weights", "reserve"]
    fp8_kv_with_fp8_weights: bool
    source: str
    small_gpu_max_sequences: Sequences | None = None
    small_gpu_below_gb: Gb | None = None
    small_gpus: tuple[str, ...] = ()
    memory_fraction: Fraction | None = None
    runtime_gb: Gb = 0.0
    reserve_gb: Gb | None = None
    reserve_gb_large: Gb | None = None
    large_gpu_gb: Gb | None = None
    gpu_vendors: tuple[str, ...] = ()  # the GPU makers the engine runs on (empty: any)

    def check_gpu(self, gpu: Gpu) -> None:
        """Raise ParameterError when the engine does not run on `gpu`'s maker (the first word of its name).

        >>> from forecast.gpu.catalog import load_catalog
        >>> engine("trtllm").check_gpu(load_catalog().gpu("mi300x"))
        Traceback (most recent call last):
        ...
        forecast.core.errors.ParameterError: engine trtllm: runs on NVIDIA GPUs only, not on AMD Instinct MI300X ...
        """
        vendor = gpu.name.split()[0]
        if self.gpu_vendors and vendor not in self.gpu_vendors:
            others = [e for e, p in engines().items()
                      if e != "generic" and (not p.gpu_vendors or vendor in p.gpu_vendors)]
            raise ParameterError("engine", self.name, f"runs on {', '.join(self.gpu_vendors)} GPUs only, not on "
                                 f"{gpu.name}: use {' or '.join(others)}")

    def max_batch(self, gpu: Gpu) -> int:
        """The most sequences the engine runs at once on `gpu` by default.

        >>> from forecast.gpu.catalog import load_catalog
        >>> vllm, cat = engine("vllm"), load_catalog()
        >>> vllm.max_batch(cat.gpu("h100")), vllm.max_batch(cat.gpu("a100-80gb")), vllm.max_batch(cat.gpu("l40s"))
        (1024, 256, 256)
        """
        small = gpu.gpu in self.small_gpus or (self.small_gpu_below_gb is not None
                                                and gpu.memory_gb < self.small_gpu_below_gb)
        return self.small_gpu_max_sequences if small and self.small_gpu_max_sequences else self.max_sequences

    def kv_precision(self, precision: str) -> str:
        """The KV-cache precision the engine uses with weights at `precision`."""
        return "fp8" if precision == "fp8" and self.fp8_kv_with_fp8_weights else "bf16"

    def kv_free_gb(self, gpu: Gpu, weights_gb_per_gpu):
        """GB per GPU left for the KV cache once the engine has placed the weights (<= 0: no fit).

        >>> from forecast.gpu.catalog import load_catalog
        >>> h100 = load_catalog().gpu("h100")   # 80 GB, 60 GB of weights per GPU
        >>> [round(engine(e).kv_free_gb(h100, 60), 2) for e in ("vllm", "trtllm", "sglang")]
        [10.0, 16.2, 6.56]
        """
        if self.memory == "total":
            return gpu.memory_gb * self.memory_fraction - self.runtime_gb - weights_gb_per_gpu
        if self.memory == "free_after_weights":
            return (gpu.memory_gb - self.runtime_gb - weights_gb_per_gpu) * self.memory_fraction
        large = self.large_gpu_gb is not None and gpu.memory_gb >= self.large_gpu_gb
        return gpu.memory_gb - (self.reserve_gb_large if large else self.reserve_gb) - weights_gb_per_gpu


@with_config(STRICT)
@dataclass(frozen=True)
class EngineFile:
    engines: tuple[Engine, ...]


@cache
def engines() -> dict[str, Engine]:
    """The packaged presets by name."""
    path = packaged("data", "gpu") / "engines.yaml"
    return {e.name: e for e in validate_document(EngineFile, read_yaml(path), str(path)).engines}


def engine(name: str | None) -> Engine:
    """The preset `name` (None: 'generic', the planning default), or an error listing the presets."""
    found = engines().get((name or "generic").strip().lower())
    if found is None:
        raise ForecastError(f"engine {name!r}: must be one of {', '.join(engines())}")
    return found
