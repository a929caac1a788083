"""Break-even between a self-hosted fleet and the API serving the same model: the monthly volume
from which self-hosting is cheaper, and the cost-per-million-tokens curve against volume.

The fleet costs C per replica-month and one replica carries K tokens a month at the target
utilisation and peak ratio (K = tokens/s x utilisation x seconds per month / peak_to_average). The
API costs a per token. With n replicas the fleet serves up to nK for nC, so it first matches the
API at V = C / a (when C / a <= K; otherwise it never does); just after each added replica the API
can be cheaper again, until V = n* C / a with n* = ceil(K / (K - C / a)) - 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..core.errors import ParameterError
from ..design.prices import PriceBook
from .fleet import HOURS_PER_MONTH, SECONDS_PER_MONTH, SelfHostedCost


@dataclass(frozen=True)
class BreakEven:
    """Volumes in tokens per month (input + output); inf when self-hosting never matches the API."""

    api: str
    api_usd_per_mtok: float
    api_price_source: str
    replica_usd_per_month: float
    tokens_per_month_per_replica: float
    self_hosted_floor_usd_per_mtok: float
    break_even_tokens_per_month: float
    always_cheaper_from_tokens_per_month: float


def api_usd_per_mtok(input_usd_per_mtok: float, output_usd_per_mtok: float, input_tokens: float,
                     output_tokens: float) -> float:
    """API price per million tokens (input + output) for requests of the given shape."""
    return (input_tokens * input_usd_per_mtok + output_tokens * output_usd_per_mtok) / (input_tokens + output_tokens)


def floor_usd_per_mtok(replica_usd_per_hour: float, tokens_per_s_per_replica: float, target_utilisation: float,
                       peak_to_average: float) -> float:
    """USD per million tokens of a fleet with no spare replica: each runs at target_utilisation at the peak,
    so on average at target_utilisation / peak_to_average of its tokens/s (the cheapest a sized fleet gets)."""
    average_tokens_per_hour = tokens_per_s_per_replica * 3600 * target_utilisation / peak_to_average
    return replica_usd_per_hour / average_tokens_per_hour * 1e6


def break_even_volumes(replica_usd_per_month: float, tokens_per_month_per_replica: float,
                       api_price_usd_per_mtok: float) -> tuple[float, float]:
    """(first volume where the fleet is no dearer than the API, volume from which it always is)."""
    if api_price_usd_per_mtok <= 0:
        return math.inf, math.inf
    c_over_a = replica_usd_per_month / (api_price_usd_per_mtok / 1e6)  # tokens the API sells for one replica-month
    k = tokens_per_month_per_replica
    if c_over_a > k * (1 + 1e-12):
        return math.inf, math.inf
    if c_over_a >= k:
        return c_over_a, math.inf
    n_star = max(math.ceil(k / (k - c_over_a)) - 1, 1)
    return c_over_a, n_star * c_over_a


def api_price(book: PriceBook, api: str, on: date) -> tuple[float, float, str]:
    """(input, output USD per Mtok, source) of a provider:model API name."""
    if ":" not in api:
        raise ParameterError("vs_api", repr(api), "must be PROVIDER:MODEL, e.g. groq:llama-3.3-70b-versatile")
    provider, model = api.split(":", 1)
    prices = book.lookup(model, provider, on)
    return prices.base.input_usd_per_mtok, prices.base.output_usd_per_mtok, prices.source


def break_even(cost: SelfHostedCost, book: PriceBook, api: str, on: date, input_tokens: float,
               output_tokens: float, peak_to_average: float, target_utilisation: float) -> BreakEven:
    """Break-even of the fleet in `cost` against `api` (provider:model) at prices of `on`."""
    inp, out, source = api_price(book, api, on)
    price = api_usd_per_mtok(inp, out, input_tokens, output_tokens)
    replica_usd = cost.gpus_per_replica * cost.gpu_usd_per_hour * HOURS_PER_MONTH
    per_replica = cost.tokens_per_s_per_replica * target_utilisation * SECONDS_PER_MONTH / peak_to_average
    first, always = break_even_volumes(replica_usd, per_replica, price)
    floor = floor_usd_per_mtok(cost.gpus_per_replica * cost.gpu_usd_per_hour, cost.tokens_per_s_per_replica,
                               target_utilisation, peak_to_average)
    return BreakEven(api, price, source, replica_usd, per_replica, floor, first, always)


def break_even_over(costs: list[SelfHostedCost], book: PriceBook, api: str, on: date, input_tokens: float,
                    output_tokens: float, peak_to_average: float, target_utilisation: float) -> BreakEven:
    """Break-even against `api` of a fleet free to use whichever of the layouts in `costs` (one fleet each, e.g.
    every tensor-parallel degree) costs least at each volume: it first matches the API at the earliest of their
    first matches, is always cheaper from the earliest volume from which one of them always is, and its floor
    is the lowest; the replica figures are the layout with that floor (the one cheapest at scale).

    >>> from forecast.design.prices import price_book
    >>> from forecast.gpu.fleet import self_hosted_cost
    >>> args = dict(tokens_per_month=1e9, input_tokens_per_request=1000, output_tokens_per_request=300,
    ...             precision="fp8")
    >>> costs = [self_hosted_cost("llama-3.1-70b", "h100", gpus_per_replica=n, **args) for n in (2, 4)]
    >>> book, on, api = price_book("none"), date(2026, 11, 25), "groq:llama-3.3-70b-versatile"
    >>> each = [break_even(c, book, api, on, 1000, 300, 2.0, 0.7) for c in costs]
    >>> both = break_even_over(costs, book, api, on, 1000, 300, 2.0, 0.7)
    >>> both.self_hosted_floor_usd_per_mtok == min(b.self_hosted_floor_usd_per_mtok for b in each)
    True
    """
    each = [break_even(c, book, api, on, input_tokens, output_tokens, peak_to_average, target_utilisation)
            for c in costs]
    best = min(each, key=lambda b: b.self_hosted_floor_usd_per_mtok)
    return BreakEven(api, best.api_usd_per_mtok, best.api_price_source, best.replica_usd_per_month,
                     best.tokens_per_month_per_replica, best.self_hosted_floor_usd_per_mtok,
                     min(b.break_even_tokens_per_month for b in each),
                     min(b.always_cheaper_from_tokens_per_month for b in each))


def cost_curve(volumes, replica_usd_per_month: float, tokens_per_month_per_replica: float):
    """Self-hosted USD per million tokens at each monthly volume (always-on fleet, >= 1 replica)."""
    v = np.asarray(volumes, dtype=float)
    replicas = np.maximum(np.ceil(v / tokens_per_month_per_replica - 1e-9), 1.0)
    with np.errstate(divide="ignore"):
        return np.where(v > 0, replicas * replica_usd_per_month / (v / 1e6), np.inf)
