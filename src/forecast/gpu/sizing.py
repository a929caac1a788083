"""Sizing a self-hosted fleet for a workload: memory fit, throughput, replicas, monthly bill by pricing and
break-even against API models."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..core.errors import ForecastError, ParameterError
from ..core.formatting import usd
from ..core.results import frozen_copy, html_table
from ..design.prices import price_book
from .breakeven import break_even_over, cost_curve, floor_usd_per_mtok
from .catalog import load_catalog
from .engines import engine as engine_preset
from .fleet import (
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    autoscaled_monthly_usd,
    fewest_gpus,
    layout_fleets,
    self_hosted_cost,
)
from .memory import weight_bytes
from .options import PRICINGS
from .serving import best_replica_per_precision, candidate_replicas, no_fit_message

# benchmarks/gpu_calibration.py, the 52 held-out mixture-of-experts rows: median predicted / measured 1.46, 0.75-2.81
MOE_WARNING = ("mixture of experts: the throughput here is likely too high, so the GPUs and costs are likely too "
               "low: on 52 published TensorRT-LLM runs of Llama 4 and Qwen3-235B, each with the trtllm preset, the "
               "model came out a median 46% high (from 25% low to 2.8x high); see docs/self-hosting.md, Measured "
               "accuracy")
UNMEASURED_MAKER = ("{gpu}: the timing model's factors were fitted on NVIDIA GPUs and no {maker} measurement checks "
                    "them yet: read its throughput as an estimate")

@dataclass(frozen=True)
class FleetSizing:
    """A self-hosted fleet sized for a workload: the chosen replica and fleet (GPUs, utilisation, USD per month
    always-on and autoscaled, USD per million tokens), the monthly bill at each pricing, and break-even volumes
    (tokens per month, input + output) against API models. `to_dict()` is what `forecast gpu --format json`
    prints."""

    model: str
    gpu: str
    precision: str
    gpu_count: float
    monthly_usd: float
    usd_per_mtok: float
    utilisation: float
    _document: dict = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()  # warnings about the model's accuracy, then which files a default chose

    def to_dict(self) -> dict:
        return frozen_copy(self._document)

    def to_frame(self):
        """One row per tensor-parallel layout: GPUs per replica, KV capacity, throughput and latency."""
        import pandas as pd

        return pd.DataFrame(self._document["tensor_parallel_options"])

    def break_even_frame(self):
        """One row per API model compared: its USD per Mtok and monthly bill, and the break-even volumes."""
        import pandas as pd

        return pd.DataFrame(self._document["break_even"])

    def cost_curve_frame(self, volumes) -> object:
        """USD per million tokens at each monthly volume (tokens), self-hosted (always-on, whole replicas of the
        layout cheapest at that volume) and each API compared: columns tokens_per_month, option, usd_per_mtok."""
        import numpy as np
        import pandas as pd

        volumes = np.asarray(volumes, dtype=float)
        f = self._document["fleet"]
        self_hosted = np.min([cost_curve(volumes, lay["replica_usd_per_month"], lay["tokens_per_month_per_replica"])
                              for lay in self._document["layouts"]], axis=0)  # the cheapest layout at each volume
        frames = [pd.DataFrame({"tokens_per_month": volumes, "option": f"self-hosted {self.gpu} ({f['pricing']})",
                                "usd_per_mtok": self_hosted})]
        frames += [pd.DataFrame({"tokens_per_month": volumes, "option": b["api"],
                                 "usd_per_mtok": b["api_usd_per_mtok"]}) for b in self._document["break_even"]]
        return pd.concat(frames, ignore_index=True)

    def _repr_html_(self) -> str:
        f = self._document["fleet"]
        rows = [{"": "GPUs", "value": f["gpu_count"]}, {"": "replicas", "value": f["replicas"]},
                {"": "GPUs per replica", "value": f["gpus_per_replica"]},
                {"": "USD per month (always on)", "value": f["monthly_usd"]},
                {"": "USD per month (autoscaled)", "value": self._document["autoscaled_monthly_usd"]},
                {"": "USD per million tokens", "value": f["usd_per_mtok"]},
                {"": "achieved utilisation", "value": f["utilisation"]}]
        return html_table(f"{self.model} on {self.gpu} at {self.precision}", rows,
                          [f"GPU price: {f['price_source']}", *(f"note: {n}" for n in self.notes)])


def instance_warning(catalog, gpu: str, pricing: str, provider: str | None, gpu_count: float) -> str | None:
    """A warning when some of the prices behind the fleet's come from offerings that rent several GPUs at a time
    (an 8-GPU instance) and the fleet's GPU count is not a whole number of them: there it pays for whole instances.

    >>> # lambda 8 x $3.79 x 730 h = $22,134 and aws 8 x $7.91 x 730 h = $46,194 (data/gpu/gpu_prices.csv)
    >>> print(instance_warning(load_catalog(), "h200", "on_demand", None, 2))  # doctest: +NORMALIZE_WHITESPACE
    aws, coreweave and lambda rent h200s 8 at a time: a fleet of 2 pays for 8 there, $22,134 to $46,194 a month at
    their on_demand prices (the price above is per GPU, as if rented one at a time; runpod rents them singly)
    """
    rows = catalog.prices_of(gpu, pricing, provider)
    whole = [r for r in rows if gpu_count % r.gpus_per_instance]
    if not whole:
        return None
    sizes = sorted({r.gpus_per_instance for r in whole})
    bills = [-(-gpu_count // r.gpus_per_instance) * r.gpus_per_instance * r.usd_per_gpu_hour * HOURS_PER_MONTH
             for r in whole]
    billed = -(-gpu_count // sizes[0]) * sizes[0]
    names = sorted({r.provider for r in whole})
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    single = sorted({r.provider for r in rows if r.gpus_per_instance == 1})
    span = f"${usd(min(bills))}" if min(bills) == max(bills) else f"${usd(min(bills))} to ${usd(max(bills))}"
    return (f"{who} rent{'s' if len(names) == 1 else ''} {gpu}s {'/'.join(map(str, sizes))} at a time: a fleet of "
            f"{gpu_count:,.0f} pays for {billed:,.0f} there, {span} a month at {'its' if len(names) == 1 else 'their'} "
            f"{pricing} prices (the price above is per GPU, as if rented one at a time"
            + (f"; {', '.join(single)} rent{'s' if len(single) == 1 else ''} them singly)" if single else ")"))


def size_fleet(model: str, gpu: str, *, precision: str = "bf16", kv_precision: str | None = None,
               input_tokens: float = 1000.0, output_tokens: float = 300.0, tokens_per_month: float = 1e9,
               peak_to_average: float = 2.0, utilisation: float = 0.7, pricing: str = "on_demand",
               provider: str | None = None, ttft_ms: float | None = None, tpot_ms: float | None = None,
               max_batch: int | None = None, vs_api: list[str] | None = None, book=None,
               on: date | None = None, engine: str | None = None, gpus_per_replica: int | None = None) -> FleetSizing:
    """Size a fleet of `gpu` serving open `model` for requests of `input_tokens` + `output_tokens` tokens at
    `tokens_per_month` (input + output), peaking at `peak_to_average` x the average, each replica run at most
    at `utilisation` at the peak; GPU prices from the catalog (`pricing`, `provider`: median of providers when
    None); break-even against `vs_api` (PROVIDER:MODEL; default: the APIs the model replaces) at API prices of
    `on` (default today, UTC) from `book` (default: price_book()). precision 'best': the one with the lowest cost
    per token at scale (the most tokens/s per GPU).
    `engine` ('vllm', 'sglang', 'trtllm'; None: 'generic') sets the serving engine's defaults: the memory its KV
    cache gets, and `max_batch` and `kv_precision` when they are None (see data/gpu/engines.yaml). Replicas have
    `gpus_per_replica` GPUs, else as many as make the fleet need the fewest GPUs at `tokens_per_month` (smaller
    replicas among equals); break-even takes, at each volume, whichever layout is cheapest there.

    >>> sizing = size_fleet("llama-3.3-70b", "h100", precision="fp8", tokens_per_month=5e9, vs_api=[])
    >>> fleet = sizing.to_dict()["fleet"]
    >>> sizing.gpu_count == fleet["replicas"] * fleet["gpus_per_replica"]
    True
    >>> round(sizing.monthly_usd / (sizing.gpu_count * fleet["gpu_usd_per_hour"]))  # always on: 730 hours a month
    730
    """
    catalog = load_catalog()
    open_model, card = catalog.model(model), catalog.gpu(gpu)
    if not 0 < utilisation <= 1:
        raise ParameterError("utilisation", f"{utilisation:g}", "must be above 0 and at most 1")
    if peak_to_average < 1:
        raise ParameterError("peak_to_average", f"{peak_to_average:g}", "must be >= 1")
    if max_batch is not None and max_batch < 1:
        raise ParameterError("max_batch", max_batch, "must be >= 1")
    if not tokens_per_month > 0:
        raise ParameterError("tokens_per_month", f"{tokens_per_month:g}", "must be above 0")
    for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if not value >= 1:
            raise ParameterError(name, f"{value:g}", "must be at least 1 token per request")
    if input_tokens + output_tokens > open_model.max_context_tokens:
        raise ParameterError("input_tokens", f"{input_tokens:,.0f}", f"plus {{output_tokens}} {output_tokens:,.0f} is "
                             f"{input_tokens + output_tokens:,.0f} tokens: {open_model.name} reads at most "
                             f"{open_model.max_context_tokens:,} a request", mentions=("output_tokens",))
    preset = engine_preset(engine)
    preset.check_gpu(card)
    kwargs = {"max_batch": max_batch, "ttft_target_ms": ttft_ms, "tpot_target_ms": tpot_ms,
              "kv_precision": kv_precision, "engine": preset}
    by_precision = best_replica_per_precision(open_model, card, input_tokens, output_tokens, **kwargs)
    chosen_best = precision == "best"
    if chosen_best and not by_precision:
        message = no_fit_message(catalog, open_model, card, "bf16", input_tokens, output_tokens, **kwargs)
        raise ForecastError(message.replace(" at bf16 on ", " at any precision on ", 1))
    if chosen_best:  # the precision with the most tokens/s per GPU: the lowest cost per token at scale
        precision = by_precision[0].precision
    common = dict(tokens_per_month=tokens_per_month, input_tokens_per_request=input_tokens,
                  output_tokens_per_request=output_tokens, precision=precision, peak_to_average=peak_to_average,
                  target_utilisation=utilisation, pricing=pricing, provider=provider, **kwargs)
    if gpus_per_replica is not None:
        layouts = [self_hosted_cost(open_model.name, card.gpu, gpus_per_replica=gpus_per_replica, **common)]
    else:  # every layout that fits; the fleet is the one needing the fewest GPUs
        layouts = layout_fleets(open_model.name, card.gpu, **common)
    cost = fewest_gpus(layouts)
    options = candidate_replicas(open_model, card, precision, input_tokens, output_tokens, **kwargs)
    auto = autoscaled_monthly_usd(tokens_per_month, cost.tokens_per_s_per_replica, cost.gpus_per_replica,
                                  cost.gpu_usd_per_hour, peak_to_average=peak_to_average,
                                  target_utilisation=utilisation)
    bills = monthly_bills(catalog, card.gpu, provider, cost.gpu_count, auto / cost.gpu_usd_per_hour)
    on = on or datetime.now(UTC).date()
    apis = list(open_model.replaces) if vs_api is None else vs_api
    if apis:
        book = book if book is not None else price_book()
    versus, skipped = [], []
    for api in apis:
        try:
            be = break_even_over(layouts, book, api, on, input_tokens, output_tokens, peak_to_average, utilisation)
        except ForecastError as exc:
            if vs_api:
                raise
            skipped.append(f"{api}: {exc.problems[0]}")
            continue
        versus.append({**be.__dict__, "api_monthly_usd": be.api_usd_per_mtok * tokens_per_month / 1e6})
    doc = {
        "model": open_model.name, "gpu": card.gpu, "precision": precision, "kv_precision": cost.kv_precision,
        "engine": {"name": preset.name, "version": preset.version, "max_batch": max_batch or preset.max_batch(card),
                   "max_batch_given": max_batch is not None, "kv_precision_given": kv_precision is not None,
                   "source": preset.source},
        "workload": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                     "tokens_per_month": tokens_per_month, "peak_to_average": peak_to_average,
                     "target_utilisation": utilisation},
        "memory": {"weights_gb": weight_bytes(open_model, precision) / 1e9, "gpu_memory_gb": card.memory_gb},
        "mixture_of_experts": open_model.routed_experts is not None,
        "warnings": [*([MOE_WARNING] if open_model.routed_experts is not None else []),
                     *([UNMEASURED_MAKER.format(gpu=card.name, maker=card.name.split()[0])]
                       if card.name.split()[0] != "NVIDIA" else []),
                     *filter(None, [instance_warning(catalog, card.gpu, pricing, provider, float(cost.gpu_count))])],
        "tensor_parallel_options": [o.__dict__ for o in options],
        "precision_chosen": "cheapest" if chosen_best else "given",
        "gpus_per_replica_given": gpus_per_replica is not None,
        "layouts": [{"gpus_per_replica": c.gpus_per_replica,
                     "replica_usd_per_month": c.gpus_per_replica * c.gpu_usd_per_hour * HOURS_PER_MONTH,
                     "tokens_per_month_per_replica": c.tokens_per_s_per_replica * utilisation * SECONDS_PER_MONTH
                     / peak_to_average} for c in layouts],
        "precision_options": [{"precision": o.precision, "gpus_per_replica": o.gpus_per_replica,
                               "tokens_per_s": o.tokens_per_s,
                               "tokens_per_s_per_gpu": o.tokens_per_s / o.gpus_per_replica,
                               "usd_per_mtok_at_target_utilisation": floor_usd_per_mtok(
                                   o.gpus_per_replica * cost.gpu_usd_per_hour, o.tokens_per_s, utilisation,
                                   peak_to_average)} for o in by_precision],
        "fleet": {k: v for k, v in cost.__dict__.items() if k not in ("model", "gpu")},
        "autoscaled_monthly_usd": auto,
        "monthly_usd_by_pricing": bills, "provider": provider,
        "break_even": versus, "break_even_skipped": skipped, "price_date": on.isoformat(),
        "sources": {"gpu": card.source, "model": open_model.source},
    }
    notes = (*doc["warnings"], *((book.note,) if book is not None and book.note else ()))
    return FleetSizing(open_model.name, card.gpu, precision, cost.gpu_count, cost.monthly_usd, cost.usd_per_mtok,
                       cost.utilisation, frozen_copy(doc), notes)


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
        providers = sorted({r.provider for r in rows})
        # medians compare only over the same providers: this pricing and on-demand where a provider quotes both
        on_demand = {p.provider: p.usd_per_gpu_hour for p in catalog.prices
                     if p.gpu == catalog.gpu(gpu).gpu and p.pricing == "on_demand"}
        both = sorted(set(providers) & set(on_demand))
        this = statistics.median(r.usd_per_gpu_hour for r in rows if r.provider in both) if both else None
        same = statistics.median(on_demand[p] for p in both) if both else None
        out.append({"pricing": pricing, "gpu_usd_per_hour": usd_per_hour, "providers": providers,
                    "compared_providers": both, "on_demand_same_providers_usd_per_hour": same,
                    "change_vs_on_demand_same_providers": this / same - 1 if both else None,
                    "always_on_usd": gpu_count * usd_per_hour * HOURS_PER_MONTH,
                    "autoscaled_usd": (autoscaled_gpu_hours * usd_per_hour if pricing in ("on_demand", "spot")
                                       else None)})
    return out
