"""Driver-based spend: spend_usd = tasks x tokens per task x price per token, each driver forecast or planned.

A driver frame has one row per segment and month (ds = month start): segment, provider, model,
tasks, and tokens per task by kind (input_tokens_per_task counts every input token, cached and
cache-write ones included, as the warehouse does; cached_input_tokens_per_task and
cache_write_tokens_per_task are the parts of it billed at those prices, 0 when absent).

- ``drivers_from_warehouse``: the history of the drivers, from the request log.
- ``forecast_drivers``: tasks and tokens per task forecast per segment by auto.forecast_series.
- ``load_volume_plan`` / ``apply_plan``: planned values (a volume plan, a planned model switch or
  tokens per task) that replace forecast ones from a month on; each row names its source.
- ``priced_drivers``: spend per segment and month at the prices of forecast.design.prices on every day of
  the month (averaged over the days, calls assumed spread evenly), so a scheduled price change in
  the override file (a dated price row or discount) applies from its day on; a segment's batch_share
  of calls at the batch-API price. The base price band is used: long-context tiers need tokens per
  call, which drivers do not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field, with_config

from ..core.errors import ForecastError
from ..core.tokens import TOKEN_FIELDS, TOKEN_KINDS
from ..core.validation import STRICT, read_yaml, validate_document
from ..design.prices import PriceBook

PER_TASK_COLUMNS = tuple(f"{f}_per_task" for f in TOKEN_FIELDS)
REQUIRED = ("segment", "ds", "provider", "model", "tasks", "input_tokens_per_task", "output_tokens_per_task")
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
DISCONTINUED_MONTHS = 3  # a segment with no task in its last 3 months is discontinued: 0 tasks ahead
MIN_FORECAST_MONTHS = 3  # forecast_series needs 3 points a series; a younger segment holds its last month


@with_config(STRICT)
@dataclass(frozen=True)
class PlanRow:
    """Planned drivers of one segment from a month on (until a month, inclusive, when given)."""

    segment: str
    effective_from: date
    source: Annotated[str, Field(min_length=3)]
    effective_until: date | None = None
    tasks: NonNeg | None = None
    input_tokens_per_task: NonNeg | None = None
    cached_input_tokens_per_task: NonNeg | None = None
    cache_write_tokens_per_task: NonNeg | None = None
    output_tokens_per_task: NonNeg | None = None
    provider: str | None = None
    model: str | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class VolumePlan:
    plans: tuple[PlanRow, ...] = ()


def load_volume_plan(path: str | Path) -> VolumePlan:
    """Read and validate a volume plan YAML file (a `plans:` list of PlanRow)."""
    data = read_yaml(path)
    plan = validate_document(VolumePlan, {} if data is None else data, str(path))
    for i, row in enumerate(plan.plans):
        where = f"{path}: plans[{i}]"
        for name in ("effective_from", "effective_until"):
            value = getattr(row, name)
            if value is not None and value.day != 1:
                raise ForecastError(f"{where}.{name}: {value}: must be the first day of a month")
        if row.effective_until is not None and row.effective_until < row.effective_from:
            raise ForecastError(f"{where}.effective_until: {row.effective_until}: before effective_from")
        if (row.provider is None) != (row.model is None):
            raise ForecastError(f"{where}: a planned model switch needs both provider and model")
        planned = [f for f in ("tasks", *PER_TASK_COLUMNS, "model") if getattr(row, f) is not None]
        if not planned:
            raise ForecastError(f"{where}: plans nothing: give tasks, tokens per task or provider and model")
    return plan


def check_drivers(drivers: pd.DataFrame, what: str = "drivers") -> pd.DataFrame:
    """The driver frame with optional token columns filled with 0; one clear error on any bad value."""
    missing = [c for c in REQUIRED if c not in drivers.columns]
    if missing:
        raise ForecastError(f"{what}: missing column(s) {', '.join(missing)}")
    out = drivers.copy()
    for col in PER_TASK_COLUMNS:
        if col not in out.columns:
            out[col] = 0.0
    if "batch_share" not in out.columns:
        out["batch_share"] = 0.0
    share = out["batch_share"].to_numpy(dtype=float)
    if np.isnan(share).any() or (share < 0).any() or (share > 1).any():
        bad = out.loc[np.isnan(share) | (share < 0) | (share > 1)].iloc[0]
        raise ForecastError(f"{what}: batch_share: {float(bad['batch_share'])!r} for segment {bad['segment']!r} at "
                            f"{bad['ds'].date()}: must be a share between 0 and 1")
    out["ds"] = pd.to_datetime(out["ds"])
    if (out["ds"].dt.day != 1).any():
        raise ForecastError(f"{what}: ds: {out.loc[out['ds'].dt.day != 1, 'ds'].iloc[0].date()}: "
                            f"drivers are monthly, ds must be a month start")
    if out.duplicated(["segment", "ds"]).any():
        row = out[out.duplicated(["segment", "ds"])].iloc[0]
        raise ForecastError(f"{what}: duplicate row for segment {row['segment']!r} at {row['ds'].date()}")
    for col in ("tasks", *PER_TASK_COLUMNS):
        values = out[col].to_numpy(dtype=float)
        if np.isnan(values).any() or (values < 0).any():
            bad = out.loc[np.isnan(values) | (values < 0)].iloc[0]
            raise ForecastError(f"{what}: {col}: {float(bad[col])!r} for segment {bad['segment']!r} at "
                                f"{bad['ds'].date()}: must be a non-negative number")
    parts = out["cached_input_tokens_per_task"] + out["cache_write_tokens_per_task"]
    if (parts > out["input_tokens_per_task"] * (1 + 1e-12)).any():
        bad = out[parts > out["input_tokens_per_task"] * (1 + 1e-12)].iloc[0]
        raise ForecastError(f"{what}: segment {bad['segment']!r} at {bad['ds'].date()}: cached + cache-write "
                            f"tokens per task exceed input_tokens_per_task (which includes them)")
    return out


def apply_plan(drivers: pd.DataFrame, plan: VolumePlan) -> pd.DataFrame:
    """Drivers with planned values in place of forecast ones; a column per driver says 'plan' or 'forecast'."""
    out = check_drivers(drivers)
    for col in ("tasks", *PER_TASK_COLUMNS, "model"):
        if f"{col}_source" not in out.columns:
            out[f"{col}_source"] = "forecast"
    segments = set(out["segment"])
    for i, row in enumerate(plan.plans):
        if row.segment not in segments:
            raise ForecastError(f"plans[{i}].segment: {row.segment!r}: no such segment in the drivers "
                                f"(known: {', '.join(sorted(segments)[:8])})")
        sel = (out["segment"] == row.segment) & (out["ds"] >= pd.Timestamp(row.effective_from))
        if row.effective_until is not None:
            sel &= out["ds"] <= pd.Timestamp(row.effective_until)
        for col in ("tasks", *PER_TASK_COLUMNS):
            if getattr(row, col) is not None:
                out.loc[sel, col] = getattr(row, col)
                out.loc[sel, f"{col}_source"] = f"plan: {row.source}"
        if row.model is not None:
            out.loc[sel, "provider"], out.loc[sel, "model"] = row.provider, row.model
            out.loc[sel, "model_source"] = f"plan: {row.source}"
    return check_drivers(out, "drivers after the plan")


def month_prices_usd_per_mtok(book: PriceBook, provider: str, model: str, month: date,
                              batch: bool = False) -> dict[str, float]:
    """Base-band prices (USD per million tokens) of each kind, averaged over the days of `month`; batch: the
    batch-API prices."""
    days = pd.date_range(month, periods=pd.Timestamp(month).days_in_month, freq="D")
    rows = [book.lookup(model, provider, d.date(), batch=batch).base for d in days]
    return {k: float(np.mean([getattr(r, f"{k}_usd_per_mtok") for r in rows])) for k in TOKEN_KINDS}


def priced_drivers(drivers: pd.DataFrame, book: PriceBook) -> pd.DataFrame:
    """Drivers with prices (USD per Mtok, per kind and blended), tokens, and spend_usd per segment and month. A
    segment's batch_share of calls (0 when the column is absent) is priced at the batch-API rate."""
    out = check_drivers(drivers)
    keys = list(zip(out["provider"], out["model"], out["ds"], out["batch_share"], strict=True))
    prices = {}
    for provider, model, ds, share in set(keys):
        std = month_prices_usd_per_mtok(book, provider, model, ds.date())
        bat = month_prices_usd_per_mtok(book, provider, model, ds.date(), batch=True) if share > 0 else std
        prices[(provider, model, ds, share)] = {k: (1 - share) * std[k] + share * bat[k] for k in TOKEN_KINDS}
    uncached = out["input_tokens_per_task"] - out["cached_input_tokens_per_task"] - out["cache_write_tokens_per_task"]
    per_kind = {"input": uncached, "cached_input": out["cached_input_tokens_per_task"],
                "cache_write": out["cache_write_tokens_per_task"], "output": out["output_tokens_per_task"]}
    usd_per_task = np.zeros(len(out))
    for kind in TOKEN_KINDS:
        price = np.array([prices[k][kind] for k in keys])
        out[f"{kind}_usd_per_mtok"] = price
        usd_per_task += per_kind[kind].to_numpy(dtype=float) * price / 1e6
    out["tokens_per_task"] = out["input_tokens_per_task"] + out["output_tokens_per_task"]
    out["tokens"] = out["tasks"] * out["tokens_per_task"]
    out["usd_per_task"] = usd_per_task
    out["spend_usd"] = out["tasks"] * usd_per_task
    with np.errstate(divide="ignore", invalid="ignore"):
        out["usd_per_mtok"] = np.where(out["tokens_per_task"] > 0, usd_per_task / out["tokens_per_task"] * 1e6, 0.0)
    return out


def drivers_from_warehouse(wh, by: tuple[str, ...] = ("workflow_name",), start: date | None = None,
                           end: date | None = None) -> pd.DataFrame:
    """Monthly driver history per segment, from the requests: one row per segment and month.

    A segment is a combination of the `by` tags and provider and model; its name joins their values
    with "/". A request without task_id counts as a task of its own; a task that calls two models
    counts once in each model's segment. spend_usd is the logged cost (DECIMAL summed, then float);
    batch_share is the share of its calls sent to the batch API.
    """
    from ..usage.checks import lit, q
    from ..usage.series import TASKS, UNTAGGED, _dims, _where

    dims = list(dict.fromkeys([*_dims(by), "provider", "model"]))
    segment = " || '/' || ".join(f"coalesce({q(d)}, {lit(UNTAGGED)})" for d in dims)
    frame = wh.sql(f"""
        SELECT {segment} AS segment, CAST(date_trunc('month', "timestamp") AS DATE) AS ds,
               coalesce(provider, {lit(UNTAGGED)}) AS provider, model,
               CAST({TASKS} AS DOUBLE) AS tasks,
               CAST(sum(input_tokens) AS DOUBLE) AS input_tokens,
               CAST(sum(cached_input_tokens) AS DOUBLE) AS cached_input_tokens,
               CAST(sum(cache_write_tokens) AS DOUBLE) AS cache_write_tokens,
               CAST(sum(output_tokens) AS DOUBLE) AS output_tokens,
               CAST(sum(cost_usd) AS DOUBLE) AS spend_usd, sum(request_count) AS requests,
               CAST(coalesce(sum(request_count) FILTER (WHERE batch), 0) AS DOUBLE) / sum(request_count)
                   AS batch_share
        FROM requests WHERE {_where(start, end, None)} GROUP BY ALL ORDER BY segment, ds""").df()
    frame["ds"] = pd.to_datetime(frame["ds"])
    for kind in TOKEN_KINDS:
        frame[f"{kind}_tokens_per_task"] = frame[f"{kind}_tokens"] / frame["tasks"]
    frame["tokens"] = frame["input_tokens"] + frame["output_tokens"]
    return frame


def _driver_history(history: pd.DataFrame) -> pd.DataFrame:
    """Monthly driver rows without gaps, every segment up to the history's last month (as usage.series does):
    a month with no row has 0 tasks and the previous tokens per task, so a discontinued segment forecasts ~0."""
    out = []
    checked = check_drivers(history, "driver history")
    last = checked["ds"].max()
    for seg, g in checked.groupby("segment", sort=True):
        months = pd.date_range(g["ds"].min(), last, freq="MS")
        g = g.set_index("ds").reindex(months)
        g["tasks"] = g["tasks"].fillna(0.0)
        g[list(PER_TASK_COLUMNS)] = g[list(PER_TASK_COLUMNS)].ffill()
        g[["provider", "model", "batch_share"]] = g[["provider", "model", "batch_share"]].ffill()
        out.append(g.assign(segment=seg).rename_axis("ds").reset_index())
    return pd.concat(out, ignore_index=True)


def forecast_drivers(history: pd.DataFrame, h: int, models: str | tuple[str, ...] = "auto", n_windows: int = 3,
                     level: tuple[float, ...] = (80,), **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Future monthly drivers per segment, h months on: (driver frame, selection per driver series).

    Each segment's tasks and tokens per task (each kind) are forecast as their own series with
    auto.forecast_series (model chosen by backtest); provider and model stay those of its last month.
    Forecasts and bounds are never below 0 (forecast_series floors them). The tasks intervals are kept
    (tasks-lo-<L> / tasks-hi-<L>). kwargs go to forecast_series (scheduler, progress, step).
    Two kinds of segment are not forecast, and their `_source` columns say so: a discontinued one (no task
    in its last DISCONTINUED_MONTHS months) has 0 tasks ahead, and one with fewer months than a forecast
    needs holds its last month's drivers (tasks bounds NaN: their spread is not known).
    """
    from .auto import forecast_series

    hist = _driver_history(history)
    recent = hist.sort_values("ds").groupby("segment").tail(DISCONTINUED_MONTHS)
    gone = set(recent.groupby("segment")["tasks"].sum().loc[lambda t: t == 0].index)
    gone &= set(hist.groupby("segment").size().loc[lambda n: n > DISCONTINUED_MONTHS].index)
    young = set(hist.groupby("segment").size().loc[lambda n: n < MIN_FORECAST_MONTHS].index) - gone
    held = _held_drivers(hist, gone, young, h, level)
    hist = hist[~hist["segment"].isin(gone | young)]
    if hist.empty:
        return held, pd.DataFrame(columns=["unique_id", "model"])
    long = hist.melt(id_vars=["segment", "ds"], value_vars=["tasks", *PER_TASK_COLUMNS], var_name="driver",
                     value_name="y")
    long["unique_id"] = long["segment"] + "::" + long["driver"]
    result = forecast_series(long[["unique_id", "ds", "y"]], h=h, freq="MS", level=level, models=models,
                             n_windows=n_windows, **kwargs)
    fc = result.forecast.copy()
    fc[["segment", "driver"]] = fc["unique_id"].str.rsplit("::", n=1, expand=True)
    out = fc.pivot(index=["segment", "ds"], columns="driver", values="forecast").reset_index()
    tasks = fc[fc["driver"] == "tasks"].set_index(["segment", "ds"])
    for col in [c for c in fc.columns if c.startswith("forecast-")]:
        out[col.replace("forecast", "tasks", 1)] = tasks[col].reindex(
            pd.MultiIndex.from_frame(out[["segment", "ds"]])).to_numpy()
    sel = result.selection.set_index("unique_id")["model"]
    for col in ("tasks", *PER_TASK_COLUMNS):
        out[f"{col}_source"] = [f"forecast: {sel[f'{s}::{col}']}" for s in out["segment"]]
    last = hist.sort_values("ds").groupby("segment").tail(1).set_index("segment")
    out["provider"] = out["segment"].map(last["provider"])
    out["model"] = out["segment"].map(last["model"])
    out["batch_share"] = out["segment"].map(last["batch_share"])
    # tokens per task of every kind are forecast separately: keep the parts within the input total
    parts = out["cached_input_tokens_per_task"] + out["cache_write_tokens_per_task"]
    out["input_tokens_per_task"] = np.maximum(out["input_tokens_per_task"], parts)
    if len(held):
        out = pd.concat([out, held[out.columns]], ignore_index=True).sort_values(["segment", "ds"], ignore_index=True)
    return out, result.selection


def _held_drivers(hist: pd.DataFrame, gone: set, young: set, h: int, level) -> pd.DataFrame:
    """The segments not forecast: discontinued ones at 0 tasks (bounds 0), too new ones at their last month's
    drivers (bounds unknown: NaN), for the h months after the history's last month; sources say which rule held."""
    from .base import level_name

    last = hist.sort_values("ds").groupby("segment").tail(1).set_index("segment")
    months = pd.date_range(hist["ds"].max(), periods=h + 1, freq="MS")[1:]
    rows = []
    for seg in sorted(gone | young):
        row = last.loc[seg]
        tasks = 0.0 if seg in gone else float(row["tasks"])
        source = (f"discontinued: no tasks in the last {DISCONTINUED_MONTHS} months" if seg in gone else
                  f"held at the last month: {int((hist['segment'] == seg).sum())} month(s) of history, a forecast "
                  f"needs {MIN_FORECAST_MONTHS}")
        for ds in months:
            r = {"segment": seg, "ds": ds, "tasks": tasks, "provider": row["provider"], "model": row["model"],
                 "batch_share": float(row["batch_share"]),
                 **{c: float(row[c]) for c in PER_TASK_COLUMNS}}
            bound = tasks if seg in gone else float("nan")  # a new segment's spread is not known
            r.update({f"tasks-{side}-{level_name(lv)}": bound for lv in level for side in ("lo", "hi")})
            r.update({f"{c}_source": source for c in ("tasks", *PER_TASK_COLUMNS)})
            rows.append(r)
    return pd.DataFrame(rows)
