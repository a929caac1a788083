"""Published measurements as model scenarios: predict each row, score the errors, fit the few global efficiency
factors on data/gpu/reference_measurements.csv, leave one source out, and check the held-out rows of
data/gpu/engine_measurements.csv (never fitted on).

Each row runs with its engine's preset (gpu.engines: the sequence cap, KV-cache memory and precision), told from
the row's engine text by `engine_preset`. Some rows leave facts blank; the assumptions that fill them are listed
in ROW_ASSUMPTIONS and printed with every result, never hidden in a factor.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from ..core.errors import ForecastError
from ..core.resources import packaged
from .catalog import Catalog, load_catalog
from .engines import engine
from .serving import TP_DEGREES, _valid_tp, replica_performance
from .timing import CALIBRATED, Efficiency

# Published serving measurements (MLPerf, vendor pages, engineering blogs; source per row), copied from the
# project's shared/reference/gpu_measurements.csv on 2026-11-25 so a checkout is self-contained.
METRICS = ("output_tokens_per_s", "ttft_ms", "decode_ms_per_token")

# Facts a row leaves blank, with where they come from. MLPerf closed-division limits are published in
# the MLPerf Inference rules (llama2-70b server: TTFT <= 2 s, TPOT <= 200 ms at p99).
MLPERF_LLAMA2 = {"input_tokens": 294.0, "output_tokens": 290.0}
MLPERF_MIXTRAL = {"input_tokens": 400.0, "output_tokens": 200.0}
MLPERF_MAX_BATCH = 1024  # NVIDIA's MLPerf llama2-70b H100 config: GPU batch size 1024
ROW_ASSUMPTIONS = (
    "MLPerf llama2-70b (OpenOrca): mean input 294 tokens assumed (the row gives output ~290 only)",
    "MLPerf mixtral-8x7b (OpenOrca + GSM8K + MBXP): mean input 400 / output 200 tokens assumed (row gives neither)",
    "MLPerf rows: FP8 weights and FP8 KV cache, batch up to 1024 (NVIDIA's submission config); "
    "tensor parallelism chosen by the model for the most tokens/s per GPU",
    "each row runs with its engine's preset (TensorRT-LLM, NIM and MLPerf rows: trtllm; vLLM: vllm; SGLang: "
    "sglang; other engines: generic); a concurrency above what the preset's memory and sequence cap hold runs "
    "at that limit and the rest queue (TTFT adds the wait); an inter-token latency at concurrency c is a request's "
    "cycle less its own prefill, per output token",
    "MLPerf server row: highest throughput meeting TPOT <= 200 ms and TTFT <= 2,000 ms (MLPerf v4.1 server limits)",
    "fp16 rows run at bf16 figures (same bytes and tensor throughput)",
)


@dataclass(frozen=True)
class Row:
    """One reference measurement, normalized."""

    line: int
    model: str
    gpu: str
    precision: str
    kv_precision: str
    n_gpus: int
    tp: int | None
    input_tokens: float
    output_tokens: float
    concurrency: str
    metric: str
    measured: float
    source: str
    assumed: bool
    engine: str = "generic"  # the gpu.engines preset the row runs with
    mlperf: bool = False


def engine_preset(text: str) -> str:
    """The gpu.engines preset for a row's engine column: vLLM is vllm and SGLang sglang (whoever submits), TensorRT-LLM
    and NVIDIA NIM (which runs it) trtllm, anything else the generic planning default.

    >>> [engine_preset(t) for t in ("TensorRT-LLM (MLPerf Inference v4.1 Offline)", "NVIDIA NIM for LLMs 1.8.0",
    ...                             "vLLM 0.11", "SGLang (MLPerf v5.1 open)", "vLLM (MLPerf v5.0, AMD MI300X)",
    ...                             "vLLM 0.6 (minimum latency config)", "TRT-LLM", "FasterTransformer")]
    ['trtllm', 'trtllm', 'vllm', 'sglang', 'vllm', 'vllm', 'trtllm', 'generic']
    """
    low = text.lower()
    for name, pattern in (("vllm", r"\bvllm\b"), ("sglang", r"\bsglang\b"),
                          ("trtllm", r"\b(tensorrt-llm|trt-llm|trtllm|nim)\b")):
        if re.search(pattern, low):
            return name
    return "generic"


def _number(text: str) -> float | None:
    found = re.search(r"\d+(\.\d+)?", text or "")
    return float(found.group()) if found else None


def load_reference(path: str | Path | None = None) -> list[Row]:
    """Read a measurements file (default: the packaged data/gpu/reference_measurements.csv, which the factors are
    fitted on; `held_out()` reads the other); `same` in the source column means the previous row's source."""
    path = path if path is not None else packaged("data", "gpu", "reference_measurements.csv")
    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            raw = list(csv.DictReader(f))
    except OSError as exc:
        raise ForecastError(f"{path}: cannot read the reference measurements: {exc.strerror}") from None
    rows, last_source = [], ""
    for i, r in enumerate(raw, start=2):
        source = r["source"].strip()
        source = last_source if source.startswith("same") else source
        last_source = source
        mlperf = "mlperf" in r["engine"].lower()
        defaults = MLPERF_MIXTRAL if "mixtral" in r["model"] else MLPERF_LLAMA2
        inp, out = _number(r["input_tokens"]), _number(r["output_tokens"])
        assumed = inp is None or (out is None and r["metric"] == "output_tokens_per_s")
        fp8 = r["precision"].startswith("fp8")
        preset = engine(engine_preset(r["engine"]))
        precision = "fp8" if fp8 else "bf16"
        tp = _number(r["tensor_parallel"])
        rows.append(Row(
            i, r["model"].strip(), r["gpu"].strip(), precision, preset.kv_precision(precision),
            int(r["n_gpus"]), int(tp) if tp else None,
            inp if inp is not None else defaults["input_tokens"],
            out if out is not None else (defaults["output_tokens"] if mlperf else 1.0),
            r["concurrency"].strip(), r["metric"].strip(), float(r["value"]), source, assumed, preset.name, mlperf))
    return rows


def predict(row: Row, eff: Efficiency = CALIBRATED, catalog: Catalog | None = None) -> float:
    """The model's figure for one reference row, in the row's unit."""
    catalog = catalog or load_catalog()
    model, gpu = catalog.model(row.model), catalog.gpu(row.gpu)
    tps = [row.tp] if row.tp else [t for t in TP_DEGREES if t <= row.n_gpus and _valid_tp(model, gpu, t)]
    nvidia_mlperf = row.mlperf and row.engine == "trtllm"  # NVIDIA's submissions set their batch size
    setup = dict(max_batch=MLPERF_MAX_BATCH if nvidia_mlperf else None, eff=eff, kv_precision=row.kv_precision,
                 engine=engine(row.engine))
    if row.metric not in METRICS:
        raise ForecastError(f"reference line {row.line}: metric {row.metric!r}: not one of {', '.join(METRICS)}")
    if row.concurrency.isdigit() or row.metric != "output_tokens_per_s":
        perf = replica_performance(model, gpu, row.precision, tps[0], row.input_tokens, row.output_tokens,
                                   concurrency=int(row.concurrency) if row.concurrency.isdigit() else 1, **setup)
        if row.metric == "output_tokens_per_s":
            return perf.output_tokens_per_s * row.n_gpus / tps[0]
        return perf.ttft_ms if row.metric == "ttft_ms" else perf.itl_ms
    targets = {"tpot_target_ms": 200.0, "ttft_target_ms": 2000.0} if row.concurrency == "server" else {}
    best = 0.0
    for tp in tps:
        try:
            perf = replica_performance(model, gpu, row.precision, tp, row.input_tokens, row.output_tokens,
                                       **setup, **targets)
        except ForecastError:
            continue
        best = max(best, perf.output_tokens_per_s * (row.n_gpus // tp))
    return best


@dataclass(frozen=True)
class Score:
    """Errors of the model on a set of rows."""

    predicted: tuple[float, ...]
    ratio: tuple[float, ...]  # predicted / measured
    mape: float
    mape_by_metric: dict[str, float]
    max_ratio: float  # max over rows of max(ratio, 1/ratio)


def score(rows: list[Row], eff: Efficiency = CALIBRATED, catalog: Catalog | None = None) -> Score:
    """Predicted values, ratios, MAPE overall and per metric, and the worst ratio either way."""
    predicted = np.array([predict(r, eff, catalog) for r in rows])
    measured = np.array([r.measured for r in rows])
    ratio = predicted / measured
    ape = np.abs(ratio - 1)
    metrics = [r.metric for r in rows]
    by_metric = {m: float(ape[[x == m for x in metrics]].mean()) for m in METRICS if m in metrics}
    worst = float(np.max(np.maximum(ratio, 1 / np.maximum(ratio, 1e-12))))
    return Score(tuple(predicted), tuple(ratio), float(ape.mean()), by_metric, worst)


FIT_BOUNDS = ((0.3, 0.9), (0.2, 1.0), (0.0, 30.0), (0.0, 100.0))  # bandwidth <= 90%: HBM streaming limit


def fit(rows: list[Row], start: Efficiency = CALIBRATED, catalog: Catalog | None = None) -> Efficiency:
    """Global efficiency factors minimizing the mean squared log error over `rows` (bounded to physical ranges)."""
    catalog = catalog or load_catalog()

    def loss(x: np.ndarray) -> float:
        eff = Efficiency(*x)
        logs = [np.log(max(predict(r, eff, catalog), 1e-9) / r.measured) for r in rows]
        return float(np.mean(np.square(logs)))

    x0 = np.array([start.memory_bandwidth_utilisation, start.compute_utilisation, start.step_overhead_ms,
                   start.allreduce_latency_us])
    best = minimize(loss, x0, method="Powell", bounds=FIT_BOUNDS, options={"xtol": 1e-3, "ftol": 1e-6})
    return Efficiency(*(round(float(v), 3) for v in best.x))


def held_out() -> list[Row]:
    """The rows of data/gpu/engine_measurements.csv: TensorRT-LLM 1.0's published throughput tables and NVIDIA
    NIM's latency-throughput table and NVIDIA's MLPerf v5.0 llama2-70b results, never used to fit the factors.

    >>> rows = held_out()
    >>> sorted({r.engine for r in rows}), sorted({source_group(r).split("/")[0] for r in rows})
    (['trtllm'], ['NVIDIA', 'docs.nvidia.com', 'mlcommons'])
    """
    return load_reference(packaged("data", "gpu", "engine_measurements.csv"))


def is_moe(row: Row, catalog: Catalog | None = None) -> bool:
    """True when the row's model is a mixture of experts (scored apart: the dense roofline over-predicts them).

    >>> moe = {r.model: is_moe(r) for r in held_out()}
    >>> moe["llama-4-scout"], moe["llama-3.3-70b"]
    (True, False)
    """
    return (catalog or load_catalog()).model(row.model).routed_experts is not None


def ttft_under_load(row: Row) -> bool:
    """True for a time to first token measured with more than one request in flight (scored apart: the model adds
    the queue wait above the replica's limit but not the contention of other requests' prefills below it).

    >>> sorted({int(r.concurrency) for r in held_out() if ttft_under_load(r)})   # NIM's clients beyond one
    [5, 25, 50, 100, 150, 200, 250]
    """
    return row.metric == "ttft_ms" and row.concurrency.isdigit() and int(row.concurrency) > 1


def source_group(row: Row) -> str:
    """The publisher of a row: the first word of its source (all MLPerf rows share one)."""
    return row.source.split()[0]


def leave_one_source_out(rows: list[Row], catalog: Catalog | None = None) -> list[tuple[str, Efficiency, Score]]:
    """For each publisher: fit on the other publishers' rows, score the held-out rows."""
    out = []
    for source in dict.fromkeys(source_group(r) for r in rows):
        train = [r for r in rows if source_group(r) != source]
        test = [r for r in rows if source_group(r) == source]
        eff = fit(train, catalog=catalog)
        out.append((source, eff, score(test, eff, catalog)))
    return out

