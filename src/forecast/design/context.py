"""Context windows, and a warning when a modelled call sends more input than its model's window.

A model's window comes from the sourced table data/prices/context_windows.csv (models genai-prices has none
for), else from genai-prices' own `context_window`; a model in neither gets no check (never a guess).
"""

from __future__ import annotations

import csv
import functools
import math

import numpy as np

from ..core.resources import packaged
from . import price_data
from .distributions import Distribution, Fixed, rounded_pmf
from .prices import ModelPrices
from .specs import INPUT_PARTS
from .workload import Plan, PlannedStep

TABLE = ("data", "prices", "context_windows.csv")
P90 = 0.9
TAIL = 0.999  # the "most" of an unbounded (lognormal) number: its 99.9th percentile


@functools.cache
def _table() -> dict[tuple[str, str], tuple[int, str]]:
    with packaged(*TABLE).open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {(r["provider"].strip().lower(), r["model"].strip().lower()):
                (int(r["context_tokens"]), f"{r['source']}, retrieved {r['retrieved']}") for r in rows}


def context_window(provider: str | None, model: str) -> tuple[int, str] | None:
    """(input tokens, source) of a model's context window, or None when neither source knows it.

    >>> context_window("google", "gemini-2.5-pro")[0]
    1048576
    """
    key = ((provider or "").lower(), model.lower())
    if key in _table():
        return _table()[key]
    try:  # the model as pricing finds it (its id or one of the id patterns genai-prices matches)
        p, m = price_data.snapshot().find_provider_model(model, None, provider or None, None)
    except LookupError:
        return None
    if not m.context_window:
        return None
    return m.context_window, f"{price_data.label()}: {p.id}/{m.id} context_window"


def _at(dist: Distribution, q: float) -> float:
    """A number's q-quantile; q=1: its largest value (an unbounded one's TAIL quantile)."""
    if isinstance(dist, Fixed):
        return dist.value
    if q < 1:
        return float(dist.ppf(q))
    hi = dist.support()[1]
    return hi if math.isfinite(hi) else float(dist.ppf(TAIL))


def _last_call_input(ps: PlannedStep, q: float) -> tuple[float, int]:
    """Input tokens of a task's last call, every part at its q-quantile (q=1: its most), and the iterations."""
    step = ps.step
    tokens = sum(_at(getattr(step.input_tokens, p), q) for p in INPUT_PARTS)
    tokens += sum(_at(t.calls_per_run, q) * _at(t.result_tokens_per_call, q) for t in ps.fed_by)
    if ps.loop is None:
        return tokens, 1
    settings = ps.loop.loop
    if q < 1:
        pmf = rounded_pmf(settings.iterations, settings.max_steps)
        runs = int(np.searchsorted(np.cumsum(pmf), q - 1e-12))
    else:
        runs = settings.max_steps
    return tokens + _at(settings.context_growth_tokens, q) * max(runs - 1, 0), runs


def _warning(where: str, prices: ModelPrices, most: float, p90: float, loop_words: str) -> str | None:
    found = context_window(prices.provider, prices.model)
    if found is None or most <= found[0]:
        return None
    window, source = found
    share = "past it too" if p90 > window else "within it"
    tiers = [b.above_input_tokens for b in prices.bands[1:] if b.above_input_tokens >= window]
    longer = (f"; genai-prices prices inputs above {tiers[0]:,} tokens too, so a longer-context mode may exist: "
              "add its window, with its source, to data/prices/context_windows.csv" if tiers else "")
    return (f"{where} on {prices.provider}/{prices.model}: a call's input reaches at most {most:,.0f} tokens"
            f"{loop_words}, past the model's context window of {window:,} tokens ({source}); P90 {p90:,.0f} "
            f"(every input part at its P90), {share}: the provider refuses such calls, so the estimate prices calls "
            f"that cannot be made; cap the loop or trim its history{longer}")


def context_warnings(plan: Plan) -> list[str]:
    """A warning for every model step (and route) and background call whose largest modelled input, loop history
    included, passes the model's context window."""
    out = []
    for ps in plan.steps:
        if not ps.routes:
            continue  # a tool step
        most, runs = _last_call_input(ps, 1.0)
        p90, _ = _last_call_input(ps, P90)
        loop_words = (f" on iteration {runs:,} (the cap of loop {ps.loop.name!r}, history growing up to "
                      f"{_at(ps.loop.loop.context_growth_tokens, 1.0):,.0f} tokens per iteration)" if ps.loop else "")
        for route in ps.routes:
            w = _warning(f"step {ps.step.name!r}", route.prices, most, p90, loop_words)
            if w:
                out.append(w)
    for call, prices in plan.background:
        w = _warning(f"background call {call.name!r}", prices, _at(call.input_tokens, 1.0),
                     _at(call.input_tokens, P90), "")
        if w:
            out.append(w)
    return out
