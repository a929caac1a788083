"""Coherent forecasts over a tag hierarchy: summing matrix, bottom-up / OLS / WLS / MinT reconciliation.

A hierarchy is given as levels of dimension columns of a bottom-level long frame, e.g. the frame
`usage.series(wh, by=["team_id", "workflow_name"])` returns, with levels `[(), ("team_id",),
("team_id", "workflow_name")]` (total / team / team+workflow). Grouped (crossed) structures work too:
any level whose columns are a subset of the bottom level's columns.

Reconciliation (Wickramasuriya, Athanasopoulos & Hyndman 2019, "Optimal forecast reconciliation for
hierarchical and grouped time series through trace minimization", JASA 114(526)) maps base forecasts
yhat of every node to coherent ones  y~ = S P yhat,  P = (S' W^-1 S)^-1 S' W^-1, where W is

- ``ols``: identity; ``wls_struct``: diag(number of bottom series under each node);
- ``wls_var``: diag of each node's mean squared residual;
- ``mint_shrink``: the residual covariance shrunk toward its diagonal with the Schäfer-Strimmer
  intensity (exactly as R's hts::MinT / shrink.estim);
- ``bottom_up``: P selects the bottom rows.

Intervals: Gaussian reconciliation (Panagiotelis et al. 2023, EJOR 306(2); the "normality" method of
Nixtla's hierarchicalforecast): each node's base forecast sd at each step is read off the upper half of its
base interval, (hi - forecast) / z, as hierarchicalforecast does (the lower half may be floored at 0), the
errors' correlation is the shrunk residual correlation, and the reconciled covariance S P Sigma_h P' S' gives
the reconciled intervals. Bounds are never reconciled one by one. For spend (nonnegative=True, the default)
the reconciled lower bounds are floored at 0 (never above the mean); the means are not touched, so they stay
coherent. A bound is a per-node quantile, so the bounds were never additive and flooring costs no coherence.

Too few residuals (a short history): wls_var and mint_shrink, and the intervals, need residuals of every node
in at least MIN_RESIDUAL_PERIODS common periods. Given `fallback` (bottom_up, ols or wls_struct), reconcile
uses it instead and says so in Reconciled.note; the intervals then take the base errors of all nodes as fully
correlated (correlation 1: a parent's interval is as wide as its children's added up, the widest a sum can
have), the cautious choice when nothing tells how they move together. Without `fallback` it is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..core.errors import ForecastError

METHODS = ("bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink")
TOTAL = "total"  # the unique_id of the empty level, as in usage.series()
FALLBACKS = ("bottom_up", "ols", "wls_struct")  # methods that need no residuals for the means
MIN_RESIDUAL_PERIODS = 2  # common periods the residual covariance needs (shrunk_covariance)
RIDGE = 1e-8  # added to W's diagonal, relative to its mean, so a zero-error series does not make W singular


@dataclass(frozen=True)
class Hierarchy:
    """Every node's series (unique_id, ds, y) and the summing matrix S (rows: all nodes, cols: bottom)."""

    frame: pd.DataFrame
    summing: pd.DataFrame
    levels: dict[str, tuple[str, ...]]  # level name -> its unique_ids, in S's row order

    @property
    def bottom_ids(self) -> list[str]:
        return list(self.summing.columns)


@dataclass(frozen=True)
class Reconciled:
    """Reconciled forecasts (same columns as the base) and what produced them."""

    forecast: pd.DataFrame
    method: str
    shrinkage_lambda: float | None  # Schäfer-Strimmer intensity (1 = diagonal only), when residuals were given
    note: str | None = None  # why `method` is the fallback rather than the method asked for


def _level_name(cols: Sequence[str]) -> str:
    return "/".join(cols) if cols else TOTAL


def _node_ids(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    if not cols:
        return pd.Series(TOTAL, index=frame.index)
    return frame[list(cols)].astype(str).agg("/".join, axis=1)


def hierarchy(df: pd.DataFrame, levels: Sequence[Sequence[str]], value: str = "y") -> Hierarchy:
    """Aggregate a bottom-level frame (unique_id, ds, `value`, dimension columns) to every level and build S.

    The level with the most columns is the bottom; every other level's columns must be a subset of it.
    Node ids join the dimension values with "/" ("total" for the empty level), as usage.series() does.
    Periods where a bottom series has no row count as 0 in its parents (series() starts a series at
    its first non-empty period).
    """
    levels = [tuple(lv) for lv in levels]
    if not levels:
        raise ForecastError("levels: empty: give at least the bottom level, e.g. [(), ('team_id',)]")
    bottom = max(levels, key=len)
    missing = [c for c in (*bottom, "ds", value) if c not in df.columns]
    if missing:
        raise ForecastError(f"hierarchy frame: missing column(s) {', '.join(missing)}: pass the frame "
                            f"usage.series(by={list(bottom)}) returns")
    for lv in levels:
        if not set(lv) <= set(bottom):
            raise ForecastError(f"levels: {list(lv)}: not a subset of the bottom level {list(bottom)}")
    if len(set(levels)) != len(levels):
        raise ForecastError(f"levels: {[list(lv) for lv in levels]}: a level appears twice")
    if df[value].isna().any():
        raise ForecastError(f"hierarchy frame: column {value!r} has NaN: fill or drop those periods first")
    frame = df.copy()
    frame["_bottom"] = _node_ids(frame, bottom)
    dup = frame.duplicated(["_bottom", "ds"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise ForecastError(f"hierarchy frame: duplicate row for series {row['_bottom']!r} at {row['ds']}: "
                            f"one row per series and period")
    keys = frame.drop_duplicates("_bottom").sort_values("_bottom")
    bottom_ids = list(keys["_bottom"])
    ids, blocks, names = [], [], {}
    for lv in sorted(levels, key=len):
        parent = _node_ids(keys, lv).to_numpy()
        nodes = sorted(set(parent))
        names[_level_name(lv)] = tuple(nodes)
        ids += nodes
        blocks.append((parent[None, :] == np.array(nodes, dtype=object)[:, None]).astype(float))
    if len(set(ids)) != len(ids):
        clash = sorted({i for i in ids if ids.count(i) > 1})
        raise ForecastError(f"levels: node id(s) {', '.join(map(repr, clash))} occur at two levels: "
                            f"rename those tag values")
    summing = pd.DataFrame(np.vstack(blocks), index=ids, columns=bottom_ids)
    wide = frame.pivot(index="ds", columns="_bottom", values=value).reindex(columns=bottom_ids)
    present = wide.notna().to_numpy()
    totals = wide.fillna(0.0).to_numpy() @ summing.to_numpy().T
    has_rows = present.astype(float) @ summing.to_numpy().T > 0
    long = pd.DataFrame(totals, index=wide.index, columns=ids).where(has_rows)
    out = long.melt(ignore_index=False, var_name="unique_id", value_name=value).dropna().reset_index()
    out["unique_id"] = pd.Categorical(out["unique_id"], categories=ids)
    out = out.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    out["unique_id"] = out["unique_id"].astype(str)
    return Hierarchy(out[["unique_id", "ds", value]], summing, names)


def _wide(frame: pd.DataFrame, column: str, ids: list[str], what: str) -> pd.DataFrame:
    missing = [c for c in ("unique_id", "ds", column) if c not in frame.columns]
    if missing:
        raise ForecastError(f"{what}: missing column(s) {', '.join(missing)}")
    if frame.duplicated(["unique_id", "ds"]).any():
        raise ForecastError(f"{what}: duplicate (unique_id, ds) rows")
    wide = frame.pivot(index="ds", columns="unique_id", values=column)
    absent = [i for i in ids if i not in wide.columns]
    if absent:
        raise ForecastError(f"{what}: no rows for node(s) {', '.join(absent[:5])}"
                            f"{' ...' if len(absent) > 5 else ''}: every node of the hierarchy needs them")
    return wide[ids]


def shrunk_covariance(residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Schäfer-Strimmer shrinkage of the (uncentred) covariance of residuals (T x n) toward its diagonal.

    Returns (W, lambda), lambda in [0, 1]. Rows with any NaN are dropped. The covariance is centred
    and divided by T, as hierarchicalforecast's MinTrace(mint_shrink) does (R's hts::shrink.estim does
    not centre; the two agree for unbiased residuals).
    """
    x = residuals[~np.isnan(residuals).any(axis=1)]
    t = x.shape[0]
    if t < 2:
        raise ForecastError(f"residuals: {t} period(s) where every node has a residual: need at least 2 "
                            f"(give in-sample or backtest residuals over common dates)")
    x = x - x.mean(axis=0)
    cov = x.T @ x / t
    sd = np.sqrt(np.diag(cov))
    safe = np.where(sd > 0, sd, 1.0)
    corr = cov / np.outer(safe, safe)
    xs = x / safe
    v = (xs**2).T @ (xs**2) - (xs.T @ xs) ** 2 / t
    v *= 1 / (t * (t - 1))
    np.fill_diagonal(v, 0.0)
    d = corr**2
    np.fill_diagonal(d, 0.0)
    lam = 1.0 if d.sum() == 0 else float(min(max(v.sum() / d.sum(), 0.0), 1.0))
    return lam * np.diag(np.diag(cov)) + (1 - lam) * cov, lam


def projection(summing: np.ndarray, method: str, residual_cov: np.ndarray | None = None,
               residual_var: np.ndarray | None = None) -> np.ndarray:
    """P (bottom x nodes) such that S P yhat is coherent, for one of METHODS.

    residual_cov (nodes x nodes) is W for mint_shrink; residual_var (nodes) is W's diagonal for wls_var.
    """
    n, m = summing.shape
    if method == "bottom_up":
        p = np.zeros((m, n))
        for j in range(m):
            rows = np.flatnonzero((summing == np.eye(m)[j]).all(axis=1))
            if rows.size == 0:
                raise ForecastError(f"summing matrix: bottom series {j} has no row of its own")
            p[j, rows[-1]] = 1.0
        return p
    if method == "ols":
        w = np.ones(n)
    elif method == "wls_struct":
        w = summing.sum(axis=1)
    elif method in ("wls_var", "mint_shrink"):
        w = residual_cov if method == "mint_shrink" else residual_var
        if w is None:
            raise ForecastError(f"method {method!r}: needs residuals (in-sample or backtest errors per node)")
    else:
        raise ForecastError(f"method: {method!r}: must be one of {', '.join(METHODS)}")
    w = np.diag(w) if w.ndim == 1 else w
    if method in ("wls_var", "mint_shrink"):
        w = w + np.eye(n) * RIDGE * max(float(np.mean(np.diag(w))), 1e-300)
    winv_s = np.linalg.solve(w, summing)
    return np.linalg.solve(summing.T @ winv_s, winv_s.T)


def _levels_in(frame: pd.DataFrame, column: str) -> list[int]:
    prefix = f"{column}-lo-"
    return sorted(int(c[len(prefix):]) for c in frame.columns if c.startswith(prefix))


def _residual_moments(residuals: pd.DataFrame, ids: list[str]) -> tuple[np.ndarray, float, np.ndarray]:
    """(shrunk covariance over common periods, lambda, each node's mean squared residual over all its periods)."""
    wide = _wide(residuals, "residual", ids, "residuals").to_numpy(dtype=float)
    cov, lam = shrunk_covariance(wide)
    return cov, lam, np.nanmean(wide**2, axis=0)


def residual_periods(residuals: pd.DataFrame | None, ids: Sequence[str]) -> int:
    """Periods in which every node of `ids` has a (non-NaN) residual; 0 for None, no rows or a node without any.

    >>> r = pd.DataFrame({"unique_id": ["a", "b", "a"], "ds": [1, 1, 2], "residual": [0.5, -0.5, 1.0]})
    >>> residual_periods(r, ["a", "b"]), residual_periods(r, ["a"]), residual_periods(None, ["a"])
    (1, 2, 0)
    """
    if residuals is None or residuals.empty or not {"unique_id", "ds", "residual"} <= set(residuals.columns):
        return 0
    wide = residuals.pivot_table(index="ds", columns="unique_id", values="residual", aggfunc="first")
    if any(i not in wide.columns for i in ids):
        return 0
    return int(wide[list(ids)].notna().all(axis=1).sum())


def reconcile(forecasts: pd.DataFrame, summing: pd.DataFrame, method: str = "mint_shrink",
              residuals: pd.DataFrame | None = None, column: str = "forecast", nonnegative: bool = True,
              fallback: str | None = None) -> Reconciled:
    """Coherent forecasts of every node of `summing` (S from `hierarchy`), with Gaussian-reconciled intervals.

    forecasts: unique_id, ds, `column` and optional `column`-lo-L / -hi-L for every node (all levels).
    residuals: unique_id, ds, residual (actual minus fitted, in-sample or backtest) for every node;
    required by wls_var and mint_shrink, and whenever forecasts carry intervals. nonnegative (spend): a bottom
    series reconciled below 0 is set to 0 and its ancestors summed up again (the set-negatives-to-zero heuristic
    of Wickramasuriya, Turlach & Hyndman 2020, which keeps the forecasts coherent), and lower bounds are floored
    at 0; pass False for series that can go below 0. fallback: a method of FALLBACKS used instead when the
    residuals are too few (fewer than MIN_RESIDUAL_PERIODS common periods; see the module docstring), with
    Reconciled.note saying so; None (default) makes that an error.
    """
    ids = list(summing.index)
    note = None
    if fallback is not None:
        if fallback not in FALLBACKS:
            raise ForecastError(f"fallback: {fallback!r}: must be one of {', '.join(FALLBACKS)} (they need no "
                                "residuals)")
        periods = residual_periods(residuals, ids)
        needs = method in ("wls_var", "mint_shrink") or bool(_levels_in(forecasts, column))
        if needs and periods < MIN_RESIDUAL_PERIODS:
            note = (f"{fallback} instead of {method}: the residuals cover {periods} period(s) in which every node "
                    f"has one, {method} needs at least {MIN_RESIDUAL_PERIODS}; intervals take the nodes' errors as "
                    "fully correlated (the widest a sum can have)")
            method, residuals = fallback, None
    s = summing.to_numpy(dtype=float)
    yhat = _wide(forecasts, column, ids, "forecasts")
    if yhat.isna().any().any():
        raise ForecastError(f"forecasts: {column!r} is NaN or missing for some node and period: "
                            f"every node needs a forecast at every ds")
    cov, lam, var = _residual_moments(residuals, ids) if residuals is not None else (None, None, None)
    p = projection(s, method, cov, var)
    sp = s @ p
    bottom = yhat.to_numpy() @ p.T
    rec = (np.maximum(bottom, 0) if nonnegative else bottom) @ s.T
    out = pd.DataFrame(rec, index=yhat.index, columns=ids).melt(ignore_index=False, var_name="unique_id",
                                                                 value_name=column).reset_index()
    levels = _levels_in(forecasts, column)
    if levels:
        if cov is None and note is None:
            raise ForecastError("residuals: needed to reconcile intervals (the base errors' correlation "
                                "across nodes): pass in-sample or backtest residuals per node")
        if cov is None:  # the fallback: errors taken as fully correlated
            corr = np.ones((len(ids), len(ids)))
        else:
            sd = np.sqrt(np.diag(cov))
            corr = cov / np.outer(np.where(sd > 0, sd, 1), np.where(sd > 0, sd, 1))
            np.fill_diagonal(corr, 1.0)
        base_sd = np.zeros_like(rec)
        for lv in levels:
            hi = _wide(forecasts, f"{column}-hi-{lv}", ids, "forecasts").to_numpy()
            base_sd += (hi - yhat.to_numpy()) / norm.ppf(0.5 + lv / 200) / len(levels)
        if np.isnan(base_sd).any() or (base_sd < 0).any():
            raise ForecastError(f"forecasts: {column}-hi bound missing or below {column!r} for some node and period")
        rec_sd = np.empty_like(rec)
        for t in range(rec.shape[0]):
            sigma = corr * np.outer(base_sd[t], base_sd[t])
            rec_sd[t] = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", sp, sigma, sp), 0, None))
        sd_long = pd.DataFrame(rec_sd, index=yhat.index, columns=ids).melt(ignore_index=False)["value"].to_numpy()
        for lv in levels:
            z = norm.ppf(0.5 + lv / 200)
            lo = out[column].to_numpy() - z * sd_long
            out[f"{column}-lo-{lv}"] = np.maximum(lo, np.minimum(out[column].to_numpy(), 0)) if nonnegative else lo
            out[f"{column}-hi-{lv}"] = out[column].to_numpy() + z * sd_long
    out["unique_id"] = pd.Categorical(out["unique_id"], categories=ids)
    out = out.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    out["unique_id"] = out["unique_id"].astype(str)
    return Reconciled(out, method, lam, note)
