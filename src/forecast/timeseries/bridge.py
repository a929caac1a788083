"""Variance bridge: split a change in spend into volume, mix, unit-consumption and price effects.

Each segment's spend is a product of four drivers,

    spend_usd[s] = tasks_total * task_share[s] * tokens_per_task[s] * usd_per_token[s],

so a change between two states (last month -> this month, or forecast -> actual) is split per
segment with the Shapley value of that product (the average of the sequential-substitution effects
over all 4! orders in which the drivers can be switched; Shapley 1953, used for index decomposition
by Ang, Liu & Chung 2004, Energy Economics 26(5), where it is shown to equal the "refined Laspeyres"
method). The four effects add up to the total change exactly and do not depend on an arbitrary
order. usd_per_token is blended (spend / tokens), so a shift between input and output tokens or a
model change inside a segment shows as price; put provider and model in the segment to see it as mix.

A segment present in only one state has no tokens per task or price in the other: it takes the
other state's values there, so its whole spend is a mix (and volume) effect, never a price effect.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import ForecastError

EFFECTS = ("volume_usd", "mix_usd", "unit_consumption_usd", "price_usd")


def shapley_product_effects(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Shapley effects of each factor on a product: before/after (k factors x n items) -> (k x n), in product units.

    The effects of each item add up to prod(after) - prod(before).
    """
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    k = before.shape[0]
    effects = np.zeros_like(before)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for size in range(k):
            weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for switched in itertools.combinations(others, size):
                rest = np.ones(before.shape[1])
                for j in others:
                    rest = rest * (after[j] if j in switched else before[j])
                effects[i] += weight * (after[i] - before[i]) * rest
    return effects


def _state(frame: pd.DataFrame, by: list[str], what: str) -> pd.DataFrame:
    cols = [*by, "tasks", "tokens", "spend_usd"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ForecastError(f"bridge {what}: missing column(s) {', '.join(missing)}")
    if frame.duplicated(by).any():
        raise ForecastError(f"bridge {what}: duplicate segment rows for {by}: aggregate them first")
    values = frame[["tasks", "tokens", "spend_usd"]].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any():
        raise ForecastError(f"bridge {what}: tasks, tokens and spend_usd must be non-negative numbers")
    bad = frame[(frame["tokens"] == 0) & (frame["spend_usd"] > 0) | (frame["tasks"] == 0) & (frame["tokens"] > 0)]
    if len(bad):
        row = bad.iloc[0]
        raise ForecastError(f"bridge {what}: segment {tuple(row[by])}: spend without tokens or tokens without "
                            f"tasks cannot be split into drivers")
    return frame[cols].set_index(by)


def bridge(before: pd.DataFrame, after: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per segment (`by` columns) and in total: spend before/after (USD), change and its four effects (USD).

    before/after: one row per segment with tasks, tokens (all kinds) and spend_usd. The effects of
    every row add up to its change_usd; the "(total)" row sums the segments.
    """
    by = list(by)
    if not by:
        raise ForecastError("bridge: by: give at least one segment column (e.g. workflow_name, model)")
    b, a = _state(before, by, "before"), _state(after, by, "after")
    both = b.add_suffix("_0").join(a.add_suffix("_1"), how="outer").fillna(0.0)
    if both.empty:
        raise ForecastError("bridge: no segments in either state")
    drivers = {}
    for side in ("0", "1"):
        tasks, tokens, spend = (both[f"{c}_{side}"].to_numpy() for c in ("tasks", "tokens", "spend_usd"))
        total = tasks.sum()
        if total == 0:
            raise ForecastError(f"bridge {'before' if side == '0' else 'after'}: no tasks in any segment")
        with np.errstate(divide="ignore", invalid="ignore"):
            drivers[side] = [np.full(len(tasks), total), tasks / total,
                             np.where(tasks > 0, tokens / tasks, np.nan), np.where(tokens > 0, spend / tokens, np.nan)]
    for j in (2, 3):  # a segment absent (or tokenless) on one side takes the other side's value
        d0, d1 = drivers["0"][j], drivers["1"][j]
        drivers["0"][j], drivers["1"][j] = np.where(np.isnan(d0), d1, d0), np.where(np.isnan(d1), d0, d1)
        drivers["0"][j], drivers["1"][j] = np.nan_to_num(drivers["0"][j]), np.nan_to_num(drivers["1"][j])
    effects = shapley_product_effects(np.array(drivers["0"]), np.array(drivers["1"]))
    out = both.reset_index()[by].copy()
    out["spend_before_usd"] = both["spend_usd_0"].to_numpy()
    out["spend_after_usd"] = both["spend_usd_1"].to_numpy()
    out["change_usd"] = out["spend_after_usd"] - out["spend_before_usd"]
    for name, row in zip(EFFECTS, effects, strict=True):
        out[name] = row
    for side, label in (("0", "before"), ("1", "after")):
        out[f"tasks_{label}"] = both[f"tasks_{side}"].to_numpy()
        out[f"tokens_per_task_{label}"] = drivers[side][2]
        out[f"usd_per_mtok_{label}"] = drivers[side][3] * 1e6
    total = {c: out[c].sum() for c in ("spend_before_usd", "spend_after_usd", "change_usd", *EFFECTS,
                                       "tasks_before", "tasks_after")}
    total.update({c: "(total)" for c in by})
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
