"""Spend anomalies: daily cost above k x the trailing median (with what changed), runaway tasks, weekly top agents.

All days are UTC. Tool calls come from a `tool_calls` column in the request log (kept in the
warehouse's `extra` JSON); when no row logs it, tool calls show as None ("not logged").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..usage.series import UNTAGGED, series
from ..usage.warehouse import Warehouse
from .envelopes import MATCH_KEYS
from .thresholds import SPIKE_FACTOR, SPIKE_MIN_EXCESS_USD, SPIKE_WINDOW_DAYS

CHANGE_PCT_MIN_BASE_USD = 1.0  # a week-over-week % on a base of cents (+5000%) says nothing: shown as n/a
CHANGE_RATIO = 1.5  # a per-task metric moving by this factor (either way) is reported as a change
TOOL_CALLS = "TRY_CAST(json_extract_string(extra, '$.tool_calls') AS DOUBLE)"


@dataclass(frozen=True)
class Context:
    """Per-task figures of one period (a day, or the baseline days before it)."""

    tasks: int
    steps_per_task: float | None
    tokens_per_task: float | None
    tool_calls_per_task: float | None
    usd_per_task: float | None
    models: tuple[tuple[str, float], ...]  # (model, share of cost), largest first


@dataclass(frozen=True)
class Spike:
    dimension: str
    entity: str
    day: date
    cost_usd: float
    median_usd: float
    day_context: Context
    baseline_context: Context
    changes: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.cost_usd / self.median_usd if self.median_usd > 0 else float("inf")

    def line(self) -> str:
        ratio = f"{self.ratio:.1f}x" if self.median_usd > 0 else "median $0"
        changed = "; ".join(self.changes) or "no per-task change: more tasks"
        return (f"{self.day} {self.dimension}={self.entity}: ${self.cost_usd:,.2f} vs 7-day median "
                f"${self.median_usd:,.2f} ({ratio}): {changed}")


def daily_cost_wide(wh: Warehouse, by: str, first: date, last: date) -> pd.DataFrame:
    """Daily USD per value of `by` (columns), first..last; NaN before an entity's first spend ever, 0 after it
    (an identity quiet for a while has a median of 0 then, rather than no median at all)."""
    s = series(wh, by=[by], freq="D", start=first, end=last + timedelta(days=1))
    wide = s.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
    wide = wide.reindex(pd.date_range(first, last, freq="D"))
    since = dict(wh.sql(f"""SELECT coalesce("{by}", '{UNTAGGED}'), CAST(min("timestamp") AS DATE) FROM requests
                            WHERE "timestamp" < CAST(? AS TIMESTAMPTZ) GROUP BY 1""",
                        [(last + timedelta(days=1)).isoformat()]).fetchall())
    for entity in wide.columns:
        started = wide.index >= pd.Timestamp(since[entity])
        wide.loc[started, entity] = wide.loc[started, entity].fillna(0.0)
    return wide


def spike_days(wide: pd.DataFrame, factor: float = SPIKE_FACTOR, window_days: int = SPIKE_WINDOW_DAYS,
               min_excess_usd: float = SPIKE_MIN_EXCESS_USD) -> pd.DataFrame:
    """(day, entity, cost_usd, median_usd) where cost > factor x median of the previous window_days days
    and cost - median >= min_excess_usd; entities need a full window of history first."""
    median = wide.rolling(window_days, min_periods=window_days).median().shift(1)
    hit = (wide > factor * median) & (wide - median >= min_excess_usd)
    rows = [(ts.date(), entity, float(wide.at[ts, entity]), float(median.at[ts, entity]))
            for ts, entity in zip(*np.nonzero(hit.to_numpy()), strict=True)
            for ts, entity in [(wide.index[ts], wide.columns[entity])]]
    return pd.DataFrame(rows, columns=["day", "entity", "cost_usd", "median_usd"])


def period_context(wh: Warehouse, by: str, entity: str, first: date, last: date) -> Context:
    """Tasks, steps/tokens/tool calls/USD per task and model cost shares of one entity over first..last."""
    cond = f'"{by}" IS NULL' if entity == UNTAGGED else f'"{by}" = ?'
    params = ([] if entity == UNTAGGED else [entity]) + [first.isoformat(), (last + timedelta(days=1)).isoformat()]
    window = f'{cond} AND "timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ)'
    tasks, calls, tokens, tools, tool_rows, usd = wh.sql(f"""
        SELECT count(DISTINCT task_id), sum(CASE WHEN task_id IS NOT NULL THEN request_count END),
               sum(CASE WHEN task_id IS NOT NULL
               THEN input_tokens + output_tokens END), sum(CASE WHEN task_id IS NOT NULL THEN {TOOL_CALLS} END),
               count({TOOL_CALLS}), CAST(sum(CASE WHEN task_id IS NOT NULL THEN cost_usd END) AS DOUBLE)
        FROM requests WHERE {window}""", params).fetchall()[0]
    models = wh.sql(f"""SELECT model, CAST(sum(cost_usd) / nullif(sum(sum(cost_usd)) OVER (), 0) AS DOUBLE) AS share
        FROM requests WHERE {window} GROUP BY model ORDER BY share DESC NULLS LAST, model""", params).fetchall()

    def per_task(x):
        return float(x) / tasks if tasks and x is not None else None

    return Context(int(tasks), per_task(calls), per_task(tokens), per_task(tools) if tool_rows else None,
                   per_task(usd), tuple((m, float(s or 0.0)) for m, s in models))


def what_changed(day: Context, base: Context, ratio: float = CHANGE_RATIO) -> tuple[str, ...]:
    """Plain-language differences between a day and its baseline: models, per-task figures, task count."""
    out = []
    main = {m for m, s in day.models if s >= 0.1}
    before = {m for m, s in base.models if s >= 0.1}
    if main - before:
        out.append(f"model {', '.join(sorted(before)) or 'none'} -> {', '.join(sorted(main))}")
    for label, a, b in (("steps/task", day.steps_per_task, base.steps_per_task),
                        ("tokens/task", day.tokens_per_task, base.tokens_per_task),
                        ("tool calls/task", day.tool_calls_per_task, base.tool_calls_per_task),
                        ("USD/task", day.usd_per_task, base.usd_per_task)):
        if a is not None and b and (a / b >= ratio or a / b <= 1 / ratio):
            out.append(f"{label} {b:,.4g} -> {a:,.4g} ({a / b:.1f}x)")
    return tuple(out)


def spikes(wh: Warehouse, by: str, first: date, last: date, factor: float = SPIKE_FACTOR,
           window_days: int = SPIKE_WINDOW_DAYS, min_excess_usd: float = SPIKE_MIN_EXCESS_USD) -> list[Spike]:
    """Days first..last on which an agent identity (or workflow, ...) spent more than factor x its median."""
    if by not in MATCH_KEYS:
        raise ValueError(f"by: {by!r}: use one of {', '.join(MATCH_KEYS)}")
    wide = daily_cost_wide(wh, by, first - timedelta(days=window_days), last)
    hits = spike_days(wide, factor, window_days, min_excess_usd)
    out = []
    for r in hits[hits.day >= first].itertuples():
        day_ctx = period_context(wh, by, r.entity, r.day, r.day)
        base_ctx = period_context(wh, by, r.entity, r.day - timedelta(days=window_days), r.day - timedelta(days=1))
        out.append(Spike(by, r.entity, r.day, r.cost_usd, r.median_usd, day_ctx, base_ctx,
                         what_changed(day_ctx, base_ctx)))
    return sorted(out, key=lambda s: (s.day, -s.cost_usd, s.entity))


@dataclass(frozen=True)
class RunawayTask:
    task_id: str
    agent_id: str
    workflow_name: str
    day: date
    steps: int
    cost_usd: float
    norm_steps: float  # median of the workflow's tasks
    norm_usd: float

    def line(self) -> str:
        return f"runaway task {self.task_id} ({self.agent_id}): {self.steps} steps"


def runaway_tasks(wh: Warehouse, first: date, last: date, steps_factor: float = 5.0, usd_factor: float = 10.0,
                  min_steps: int = 10, baseline_days: int = 28) -> list[RunawayTask]:
    """Tasks started first..last whose steps (>= min_steps) or cost is far above their workflow's median task,
    the median taken over tasks started from baseline_days before `first` to `last`."""
    rows = wh.sql(f"""
        WITH t AS (
            SELECT task_id, any_value(coalesce(agent_id, '{UNTAGGED}')) AS agent,
                   coalesce(any_value(workflow_name), '{UNTAGGED}') AS workflow,
                   min("timestamp") AS started, sum(request_count) AS steps, CAST(sum(cost_usd) AS DOUBLE) AS usd
            FROM requests WHERE task_id IS NOT NULL
              AND "timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ)
            GROUP BY task_id),
        norm AS (SELECT workflow, median(steps) AS norm_steps, median(usd) AS norm_usd FROM t GROUP BY workflow)
        SELECT task_id, agent, workflow, CAST(started AS DATE), steps, usd, norm_steps, norm_usd
        FROM t JOIN norm USING (workflow)
        WHERE started >= CAST(? AS TIMESTAMPTZ)
          AND ((steps >= ? * norm_steps AND steps >= ?) OR usd >= ? * norm_usd)
        ORDER BY usd DESC, task_id""",
                  [(first - timedelta(days=baseline_days)).isoformat(), (last + timedelta(days=2)).isoformat(),
                   first.isoformat(), steps_factor, min_steps, usd_factor]).fetchall()
    return [RunawayTask(str(t), a, w, d, int(s), float(u), float(ns), float(nu))
            for t, a, w, d, s, u, ns, nu in rows if d <= last]


def last_complete_week(day: date) -> date:
    """The Monday of the last full week (Monday to Sunday) that ends on or before `day`.

    >>> [str(last_complete_week(date(2026, 10, d))) for d in (24, 25, 26)]  # a Saturday, a Sunday, a Monday
    ['2026-10-12', '2026-10-19', '2026-10-19']
    """
    return day - timedelta(days=(day.weekday() + 1) % 7 + 6)


def weekly_top_agents(wh: Warehouse, week: date, n: int = 10) -> pd.DataFrame:
    """The n agent identities with the highest cost in the week (Monday start, UTC) containing `week`,
    with the previous week's cost and the change (change_pct is NaN when last week's cost was under
    CHANGE_PCT_MIN_BASE_USD)."""
    start = week - timedelta(days=week.weekday())
    prev, end = start - timedelta(days=7), start + timedelta(days=7)
    frame = wh.sql(f"""
        SELECT coalesce(agent_id, '{UNTAGGED}') AS agent_id,
               string_agg(DISTINCT coalesce(workflow_name, '{UNTAGGED}'), ',') AS workflows,
               CAST(sum(CASE WHEN "timestamp" >= CAST(? AS TIMESTAMPTZ) THEN cost_usd ELSE 0 END) AS DOUBLE)
                   AS cost_usd,
               CAST(sum(CASE WHEN "timestamp" < CAST(? AS TIMESTAMPTZ) THEN cost_usd ELSE 0 END) AS DOUBLE)
                   AS prev_cost_usd
        FROM requests WHERE "timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ)
        GROUP BY 1 HAVING sum(CASE WHEN "timestamp" >= CAST(? AS TIMESTAMPTZ) THEN cost_usd ELSE 0 END) > 0
        ORDER BY cost_usd DESC, agent_id LIMIT ?""",
                   [start.isoformat(), start.isoformat(), prev.isoformat(), end.isoformat(), start.isoformat(),
                    n]).df()
    frame["change_usd"] = frame.cost_usd - frame.prev_cost_usd
    base = frame.prev_cost_usd.where(frame.prev_cost_usd >= CHANGE_PCT_MIN_BASE_USD)
    frame["change_pct"] = frame.change_usd / base
    frame.insert(0, "week_start", start)
    return frame
