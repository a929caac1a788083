"""Variance bridge: split a change in spend into volume, mix, unit-consumption, token-mix and price effects.

Spend is a sum over cells, one per segment s and token kind k (uncached input, cached input, cache write,
output), each a product of five drivers:

    spend_usd[s, k] = tasks_total * task_share[s] * tokens_per_task[s] * kind_share[s, k] * usd_per_token[s, k]

- **volume**: more or fewer tasks in all;
- **mix**: tasks moving between segments (workflows, models);
- **unit consumption**: tokens per task;
- **token mix**: a shift between token kinds, e.g. towards cached input;
- **price**: USD per token of each kind, at fixed token counts. A cheaper blend that comes from reading more of the
  prompt from the cache is token mix, not price.

A change between two states (last month -> this month, or forecast -> actual) is split per cell with the Shapley
value of that product: the average of the sequential-substitution effects over all 5! orders in which the drivers
can be switched (Shapley 1953). Ang, Liu & Chung 2004 (Energy Economics 26(5)) use it for index decomposition and
show it equals the "refined Laspeyres" method. The effects add up to the change exactly, and they do not depend
on an arbitrary order.

**How a segment's logged spend is split by kind:** in proportion to its tokens of each kind times the list
prices given for the segment (the `{kind}_usd_per_mtok` columns; month_bridge takes them from the price book). A
segment whose costs follow its prices has usd_per_token = that price. A month with the same prices has a price
effect of exactly 0: ratios within 1e-9 of 1, which is DECIMAL rounding of the logged costs, count as unchanged.
Without those columns, a segment has one cell of all its tokens at a blended price, and there is no token-mix
effect.

**A cell present in only one state:**
- A new segment takes the other state's tokens per task, kind shares and prices, so its spend is mix (and
  volume), never price.
- A new kind inside a segment takes the other state's price, so it is token mix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import ForecastError
from ..core.tokens import TOKEN_KINDS

EFFECTS = ("volume_usd", "mix_usd", "unit_consumption_usd", "token_mix_usd", "price_usd")
KIND_TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")  # warehouse columns
UNCHANGED = 1e-9  # relative: prices closer than this are the same price (DECIMAL rounding of logged costs)


def shapley_product_effects(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Shapley effects of each factor on a product: before/after (k factors x n items) -> (k x n), in product units.

    The effects of each item add up to prod(after) - prod(before).

    >>> shapley_product_effects([[2.0], [3.0]], [[5.0], [7.0]]).ravel().tolist()  # a: 3 x (3 + 7)/2; b: 4 x 3.5
    [15.0, 14.0]
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


def _check(frame: pd.DataFrame, by: list[str], what: str) -> pd.DataFrame:
    per_kind = all(c in frame.columns for c in KIND_TOKENS)
    need = [*by, "tasks", "spend_usd", *(KIND_TOKENS if per_kind else ("tokens",))]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ForecastError(f"bridge {what}: missing column(s) {', '.join(missing)}")
    if frame.duplicated(by).any():
        raise ForecastError(f"bridge {what}: duplicate segment rows for {by}: aggregate them first")
    out = frame.copy()
    if per_kind:
        out["tokens"] = out["input_tokens"] + out["output_tokens"]
    values = out[["tasks", "tokens", "spend_usd"]].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any():
        raise ForecastError(f"bridge {what}: tasks, tokens and spend_usd must be non-negative numbers")
    bad = out[(out["tokens"] == 0) & (out["spend_usd"] > 0) | (out["tasks"] == 0) & (out["tokens"] > 0)]
    if len(bad):
        row = bad.iloc[0]
        raise ForecastError(f"bridge {what}: segment {tuple(row[by])}: spend without tokens or tokens without "
                            f"tasks cannot be split into drivers")
    return out.set_index(by)


def _cells(state: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens and spend (USD) per segment (rows) and kind (columns), and whether each segment has list prices to
    split its spend by kind; without kind columns, one column of all tokens."""
    if not all(c in state.columns for c in KIND_TOKENS):
        return state[["tokens"]].to_numpy(float), state[["spend_usd"]].to_numpy(float), np.zeros(len(state), bool)
    inp, cached, written, out = (state[c].to_numpy(float) for c in KIND_TOKENS)
    tokens = np.column_stack([inp - cached - written, cached, written, out])
    prices = np.column_stack([state[f"{k}_usd_per_mtok"].to_numpy(float) if f"{k}_usd_per_mtok" in state
                              else np.full(len(state), np.nan) for k in TOKEN_KINDS])
    weight = tokens * prices
    total = weight.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        split = state["spend_usd"].to_numpy(float)[:, None] * weight / total
    return tokens, split, np.isfinite(total[:, 0]) & (total[:, 0] > 0)


def _one_cell(tokens: np.ndarray, spend: np.ndarray, total_usd: np.ndarray, rows: np.ndarray):
    """Segments in `rows` as a single cell of all their tokens at their blended price (no token-mix effect)."""
    tokens, spend = tokens.copy(), spend.copy()
    tokens[rows, 0], spend[rows, 0] = np.nansum(tokens[rows], axis=1), total_usd[rows]
    tokens[rows, 1:], spend[rows, 1:] = 0.0, 0.0
    return tokens, spend


def bridge(before: pd.DataFrame, after: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per segment (`by` columns) and in total: spend before/after (USD), change and its five effects (USD).

    before/after: one row per segment with tasks, spend_usd and the warehouse's token columns (input_tokens,
    counting cached and written ones too, cached_input_tokens, cache_write_tokens, output_tokens) with their list
    prices (input/cached_input/cache_write/output_usd_per_mtok); or just `tokens`. The effects of every row add
    up to its change_usd; the "(total)" row sums the segments.

    >>> row = dict(segment="a", tasks=100, input_tokens=100_000, cached_input_tokens=0, cache_write_tokens=0,
    ...            output_tokens=50_000, input_usd_per_mtok=2.0, cached_input_usd_per_mtok=0.5,
    ...            cache_write_usd_per_mtok=2.0, output_usd_per_mtok=10.0)
    >>> before = pd.DataFrame([{**row, "spend_usd": 0.70}])  # 100,000 x $2 + 50,000 x $10 per Mtok
    >>> after = pd.DataFrame([{**row, "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 5.0, "spend_usd": 0.35}])
    >>> total = bridge(before, after, ["segment"]).iloc[-1]
    >>> round(float(total.price_usd), 6), round(float(total.volume_usd + total.token_mix_usd), 6)  # halved prices
    (-0.35, 0.0)
    """
    by = list(by)
    if not by:
        raise ForecastError("bridge: by: give at least one segment column (e.g. workflow_name, model)")
    b, a = _check(before, by, "before"), _check(after, by, "after")
    index = b.index.union(a.index)
    if index.empty:
        raise ForecastError("bridge: no segments in either state")
    b, a = b.reindex(index), a.reindex(index)
    zeros = dict.fromkeys(("tasks", "tokens", "spend_usd", *KIND_TOKENS), 0)
    (tok0, usd0, priced0), (tok1, usd1, priced1) = _cells(b.fillna(zeros)), _cells(a.fillna(zeros))
    present0, present1 = b["tasks"].notna().to_numpy(), a["tasks"].notna().to_numpy()
    blended = (present0 & ~priced0) | (present1 & ~priced1)  # no list price on a side it is on: one cell
    tok0, usd0 = _one_cell(tok0, usd0, b["spend_usd"].fillna(0).to_numpy(float), blended)
    tok1, usd1 = _one_cell(tok1, usd1, a["spend_usd"].fillna(0).to_numpy(float), blended)
    tok0, usd0, tok1, usd1 = (np.nan_to_num(x) for x in (tok0, usd0, tok1, usd1))
    n_seg, n_kind = tok0.shape
    drivers = {}
    for side, tok, usd, frame in (("0", tok0, usd0, b), ("1", tok1, usd1, a)):
        tasks = np.nan_to_num(frame["tasks"].to_numpy(float))
        total = tasks.sum()
        if total == 0:
            raise ForecastError(f"bridge {'before' if side == '0' else 'after'}: no tasks in any segment")
        seg_tokens = tok.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            drivers[side] = [np.full((n_seg, n_kind), total), np.repeat((tasks / total)[:, None], n_kind, 1),
                             np.repeat(np.where(tasks > 0, seg_tokens / tasks, np.nan)[:, None], n_kind, 1),
                             np.where(seg_tokens[:, None] > 0, tok / seg_tokens[:, None], np.nan),
                             np.where(tok > 0, usd / tok, np.nan)]
    for j in (2, 3):  # a segment absent (or tokenless) on one side takes the other side's value
        d0, d1 = drivers["0"][j], drivers["1"][j]
        drivers["0"][j], drivers["1"][j] = np.nan_to_num(np.where(np.isnan(d0), d1, d0)), \
            np.nan_to_num(np.where(np.isnan(d1), d0, d1))
    p0, p1 = drivers["0"][4], drivers["1"][4]  # a kind absent on one side takes the other side's price
    p0, p1 = np.where(np.isnan(p0), p1, p0), np.where(np.isnan(p1), p0, p1)
    same = np.isfinite(p0) & np.isfinite(p1) & (np.abs(p1 - p0) <= UNCHANGED * np.abs(p0))
    drivers["0"][4], drivers["1"][4] = np.nan_to_num(p0), np.nan_to_num(np.where(same, p0, p1))
    effects = shapley_product_effects(np.array([d.ravel() for d in drivers["0"]]),
                                      np.array([d.ravel() for d in drivers["1"]])).reshape(5, n_seg, n_kind).sum(2)
    out = pd.DataFrame(index=index).reset_index()[by]
    out["spend_before_usd"] = usd0.sum(axis=1)
    out["spend_after_usd"] = usd1.sum(axis=1)
    out["change_usd"] = out["spend_after_usd"] - out["spend_before_usd"]
    for name, row in zip(EFFECTS, effects, strict=True):
        out[name] = row
    for side, label, tok, usd in (("0", "before", tok0, usd0), ("1", "after", tok1, usd1)):
        tasks = drivers[side][0][:, 0] * drivers[side][1][:, 0]
        out[f"tasks_{label}"] = tasks
        out[f"tokens_per_task_{label}"] = drivers[side][2][:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            blended = np.where(tok.sum(axis=1) > 0, usd.sum(axis=1) / tok.sum(axis=1), np.nan)
        out[f"usd_per_mtok_{label}"] = blended * 1e6
    before, after = out["usd_per_mtok_before"], out["usd_per_mtok_after"]  # absent on a side: the other's price
    out["usd_per_mtok_before"], out["usd_per_mtok_after"] = before.fillna(after), after.fillna(before)
    total = {c: out[c].sum() for c in ("spend_before_usd", "spend_after_usd", "change_usd", *EFFECTS,
                                       "tasks_before", "tasks_after")}
    total.update({c: "(total)" for c in by})
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
