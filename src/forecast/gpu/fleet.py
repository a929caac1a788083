"""Fleets: replicas for a traffic profile, monthly bill and cost per million tokens at the utilisation
actually achieved (not 100%). Vectorized over tokens_per_month.

Tokens are input + output tokens of a request; tokens_per_month counts both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..core.errors import ForecastError, ParameterError
from .catalog import PRICINGS, Catalog, load_catalog
from .engines import Engine
from .serving import fitting_replicas
from .timing import CALIBRATED, Efficiency

HOURS_PER_MONTH = 730.0  # 8,760 hours a year / 12
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


@dataclass(frozen=True)
class SelfHostedCost:
    """An always-on fleet serving a monthly volume; array fields broadcast to tokens_per_month's shape."""

    model: str
    gpu: str
    precision: str
    kv_precision: str
    pricing: str
    gpus_per_replica: int
    concurrency_per_replica: int
    tokens_per_s_per_replica: float
    output_tokens_per_s_per_replica: float
    ttft_ms: float
    tpot_ms: float
    gpu_usd_per_hour: float
    tokens_per_month: np.ndarray | float
    replicas: np.ndarray | float
    gpu_count: np.ndarray | float
    monthly_usd: np.ndarray | float
    usd_per_mtok: np.ndarray | float
    utilisation: np.ndarray | float
    price_source: str


def _check_traffic(tokens_per_month, peak_to_average, target_utilisation) -> np.ndarray:
    volume = np.asarray(tokens_per_month, dtype=float)
    if not np.all(np.isfinite(volume)) or np.any(volume < 0):
        raise ForecastError("tokens_per_month: must be finite and >= 0")
    if not np.all(np.asarray(peak_to_average) >= 1):
        raise ForecastError(f"peak_to_average: {peak_to_average}: must be >= 1 (peak over average traffic)")
    if not np.all((np.asarray(target_utilisation) > 0) & (np.asarray(target_utilisation) <= 1)):
        raise ForecastError(f"target_utilisation: {target_utilisation}: must lie in (0, 1]")
    return volume


def replicas_needed(tokens_per_month, tokens_per_s_per_replica, peak_to_average=2.0, target_utilisation=0.7):
    """Replicas (>= 1) so the peak (average x peak_to_average) runs each at most at target_utilisation."""
    peak_tokens_per_s = np.asarray(tokens_per_month, dtype=float) / SECONDS_PER_MONTH * peak_to_average
    return np.maximum(np.ceil(peak_tokens_per_s / (tokens_per_s_per_replica * target_utilisation) - 1e-9), 1.0)


def achieved_utilisation(tokens_per_month, replicas, tokens_per_s_per_replica):
    """Average load over fleet capacity."""
    return np.asarray(tokens_per_month, dtype=float) / SECONDS_PER_MONTH / (replicas * tokens_per_s_per_replica)


def usd_per_mtok(monthly_usd, tokens_per_month):
    """Cost per million tokens (inf at zero volume)."""
    volume = np.asarray(tokens_per_month, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volume > 0, np.asarray(monthly_usd, dtype=float) / (volume / 1e6), np.inf)


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def layout_fleets(model: str, gpu: str, *, tokens_per_month, input_tokens_per_request: float,
                  output_tokens_per_request: float, precision: str = "bf16", peak_to_average=2.0,
                  target_utilisation=0.7, pricing: str = "on_demand", provider: str | None = None,
                  kv_precision: str | None = None, max_batch: int | None = None,
                  ttft_target_ms: float | None = None, tpot_target_ms: float | None = None,
                  efficiency: Efficiency = CALIBRATED, catalog: Catalog | None = None,
                  engine: Engine | None = None) -> list[SelfHostedCost]:
    """Monthly USD and USD per million tokens of an always-on fleet sized for the peak at the target utilisation,
    one for every tensor-parallel layout that fits and meets the latency targets, fewest GPUs per replica first
    (see `fewest_gpus` and `cheapest_monthly_usd`). GPU price: the provider's, else the median catalog price at
    `pricing` (on_demand, commit_1y, commit_3y, spot). `engine`: a gpu.engines preset (its defaults fill
    `kv_precision` and `max_batch` when they are None). Raises ForecastError naming what would fit when none does.

    >>> fleets = layout_fleets("llama-3.1-8b", "h100", tokens_per_month=[1e8, 1e11], input_tokens_per_request=1000,
    ...                        output_tokens_per_request=300)
    >>> [f.gpus_per_replica for f in fleets]
    [1, 2, 4, 8]
    >>> cheapest = cheapest_monthly_usd(fleets)   # per volume
    >>> bool(cheapest[0] == fleets[0].monthly_usd[0])   # 1e8 tokens a month: one GPU
    True
    """
    catalog = catalog or load_catalog()
    if pricing not in PRICINGS:
        raise ForecastError(f"pricing {pricing!r}: must be one of {', '.join(PRICINGS)}")
    m, g = catalog.model(model), catalog.gpu(gpu)
    volume = _check_traffic(tokens_per_month, peak_to_average, target_utilisation)
    rows = catalog.prices_of(g.gpu, pricing, provider)
    usd_per_hour = catalog.gpu_usd_per_hour(g.gpu, pricing, provider)
    found = fitting_replicas(catalog, m, g, precision, input_tokens_per_request, output_tokens_per_request,
                             max_batch=max_batch, ttft_target_ms=ttft_target_ms, tpot_target_ms=tpot_target_ms,
                             eff=efficiency, kv_precision=kv_precision, engine=engine)
    if len(rows) == 1:
        source = f"{rows[0].provider} {rows[0].offering}: {rows[0].source} ({rows[0].as_of})"
    else:
        quotes = "; ".join(f"{r.provider} ${r.usd_per_gpu_hour:g} ({r.as_of})" for r in rows)
        source = f"median of {len(rows)} {pricing} prices: {quotes}"
    fleets = []
    for replica in found:
        replicas = replicas_needed(volume, replica.tokens_per_s, peak_to_average, target_utilisation)
        gpu_count = replicas * replica.gpus_per_replica
        monthly = gpu_count * usd_per_hour * HOURS_PER_MONTH
        fleets.append(SelfHostedCost(
            m.name, g.gpu, precision, replica.kv_precision, pricing, replica.gpus_per_replica, replica.concurrency,
            replica.tokens_per_s, replica.output_tokens_per_s, replica.ttft_ms, replica.tpot_ms, usd_per_hour,
            _out(volume), _out(replicas), _out(gpu_count), _out(monthly), _out(usd_per_mtok(monthly, volume)),
            _out(achieved_utilisation(volume, replicas, replica.tokens_per_s)), source))
    return fleets


def self_hosted_cost(model: str, gpu: str, *, gpus_per_replica: int | None = None, **kwargs) -> SelfHostedCost:
    """The fleet of layout_fleets(model, gpu, **kwargs) whose replicas have `gpus_per_replica` GPUs (None: the
    tensor-parallel degree with the most tokens/s per GPU, the cheapest at scale; fewer GPUs among equals).

    >>> args = dict(tokens_per_month=1e8, input_tokens_per_request=1000, output_tokens_per_request=300)
    >>> one, two = (self_hosted_cost("llama-3.1-8b", "h100", gpus_per_replica=n, **args) for n in (1, 2))
    >>> one.gpu_count, two.gpu_count, two.monthly_usd / one.monthly_usd   # one replica carries 1e8 tokens a month
    (1.0, 2.0, 2.0)
    """
    fleets = layout_fleets(model, gpu, **kwargs)
    if gpus_per_replica is None:
        return max(fleets, key=lambda f: (f.tokens_per_s_per_replica / f.gpus_per_replica, -f.gpus_per_replica))
    chosen = [f for f in fleets if f.gpus_per_replica == gpus_per_replica]
    if not chosen:
        targeted = kwargs.get("ttft_target_ms") or kwargs.get("tpot_target_ms")
        targets = " and meet the latency targets" if targeted else ""
        raise ParameterError("gpus_per_replica", gpus_per_replica, f"must be one of "
                             f"{', '.join(str(f.gpus_per_replica) for f in fleets)} for {fleets[0].model} at "
                             f"{fleets[0].precision} on {fleets[0].gpu} (the layouts that fit{targets})")
    return chosen[0]


def fewest_gpus(fleets: list[SelfHostedCost]) -> SelfHostedCost:
    """Of fleets sized for the same volumes, the one needing the fewest GPUs at the first (the cheapest there: all
    pay the same GPU-hour price), the smaller replicas among equals.

    >>> fleets = layout_fleets("llama-3.1-8b", "h100", tokens_per_month=1e8, input_tokens_per_request=1000,
    ...                        output_tokens_per_request=300)
    >>> fewest_gpus(fleets).gpu_count, fewest_gpus(fleets).gpus_per_replica
    (1.0, 1)
    """
    return min(fleets, key=lambda f: (float(np.asarray(f.gpu_count).reshape(-1)[0]), f.gpus_per_replica))


def cheapest_monthly_usd(fleets: list[SelfHostedCost]) -> np.ndarray:
    """The lowest monthly USD at each volume over fleets sized for the same volumes (one per layout)."""
    return np.min([np.asarray(f.monthly_usd, dtype=float) for f in fleets], axis=0)


# ---------------------------------------------------------------- autoscaled fleets


def diurnal_shape(peak_to_average: float, hours: int = 24, peak_hour: float = 14.0) -> np.ndarray:
    """Hourly load over a day, mean 1 and maximum `peak_to_average`: proportional to
    exp(b cos(2 pi (h - peak_hour) / hours)), with b solved so the peak ratio matches."""
    if peak_to_average < 1:
        raise ForecastError(f"peak_to_average: {peak_to_average}: must be >= 1")
    angle = np.cos(2 * np.pi * (np.arange(hours) - peak_hour) / hours)

    def ratio(b: float) -> float:
        w = np.exp(b * angle)
        return float(w.max() / w.mean())

    if peak_to_average == 1:
        return np.ones(hours)
    top = ratio(50.0)
    if peak_to_average >= top:
        raise ForecastError(f"peak_to_average: {peak_to_average}: a one-peak daily shape over {hours} hours "
                            f"reaches at most {top:.1f}")
    b = brentq(lambda x: ratio(x) - peak_to_average, 0.0, 50.0)
    w = np.exp(b * angle)
    return w / w.mean()


def autoscaled_monthly_usd(tokens_per_month, tokens_per_s_per_replica: float, gpus_per_replica: int,
                           gpu_usd_per_hour: float, hourly_shape=None, peak_to_average=2.0,
                           target_utilisation=0.7, min_replicas: int = 1):
    """Monthly USD of a fleet that follows the daily load hour by hour (billed per GPU-hour), never below
    `min_replicas`. `hourly_shape`: load per hour of a day, mean 1 (default diurnal_shape(peak_to_average))."""
    volume = _check_traffic(tokens_per_month, peak_to_average, target_utilisation)
    shape = diurnal_shape(peak_to_average) if hourly_shape is None else np.asarray(hourly_shape, dtype=float)
    if shape.ndim != 1 or np.any(shape < 0) or not np.isclose(shape.mean(), 1.0):
        raise ForecastError("hourly_shape: must be a list of non-negative hourly loads with mean 1")
    load = volume[..., None] / SECONDS_PER_MONTH * shape  # tokens/s in each hour of the day
    replicas = np.maximum(np.ceil(load / (tokens_per_s_per_replica * target_utilisation) - 1e-9), min_replicas)
    gpu_hours = replicas.mean(axis=-1) * gpus_per_replica * HOURS_PER_MONTH
    return _out(gpu_hours * gpu_usd_per_hour)
