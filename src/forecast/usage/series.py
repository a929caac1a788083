"""Series, tag coverage and unit metrics read from the warehouse (usage/reconcile.py sets logs against the invoice).

All functions take a `Warehouse` and return pandas frames; money comes back as float64 USD
(sums are taken in DECIMAL first, so totals match the warehouse to the cent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from ..core.errors import ParameterError, UsageError
from ..core.frequencies import FREQUENCIES, check_freq
from .checks import lit, q, utc_day
from .schema import CONTEXT, TAGS
from .warehouse import Warehouse

# tasks for driver arithmetic: distinct task ids, and every request of a row without one as a task of its own
TASKS = "count(DISTINCT task_id) + sum(CASE WHEN task_id IS NULL THEN request_count ELSE 0 END)"
DIMENSIONS = (*TAGS, *CONTEXT, "provider", "model", "status")
METRICS = {
    "cost_usd": "CAST(sum(cost_usd) AS DOUBLE)",
    "input_tokens": "CAST(sum(input_tokens) AS DOUBLE)",
    "output_tokens": "CAST(sum(output_tokens) AS DOUBLE)",
    "cached_input_tokens": "CAST(sum(cached_input_tokens) AS DOUBLE)",
    "requests": "CAST(sum(request_count) AS DOUBLE)",
    "tasks": "CAST(count(DISTINCT task_id) AS DOUBLE)",  # requests with a task_id
}
UNTAGGED = "(untagged)"
COVERAGE_TARGET = 0.90  # share of spend a team must tag before its numbers can be attributed


def _dims(by: Sequence[str]) -> list[str]:
    bad = [b for b in by if b not in DIMENSIONS]
    if bad:
        raise UsageError(f"by: {', '.join(bad)}: unknown dimension: use any of {', '.join(DIMENSIONS)}")
    return list(by)


def _day(name: str, value) -> date | None:
    """A bound given as a date (or datetime) or 'YYYY-MM-DD'; one clear error otherwise."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ParameterError(name, value, "must be a date or YYYY-MM-DD") from None


def _where(start: date | None, end: date | None, where: dict[str, str] | None) -> str:
    start, end = _day("start", start), _day("end", end)
    parts = ["TRUE"]
    if start:
        parts.append(f"\"timestamp\" >= TIMESTAMPTZ {lit(start.isoformat())}")
    if end:
        parts.append(f"\"timestamp\" < TIMESTAMPTZ {lit(end.isoformat())}")
    for col, value in (where or {}).items():
        _dims([col])
        parts.append(f"{q(col)} IS NULL" if value == UNTAGGED else f"{q(col)} = {lit(value)}")
    return " AND ".join(parts)


def series(wh: Warehouse, by: Sequence[str] = (), freq: str = "MS", metric: str = "cost_usd",
           start: date | None = None, end: date | None = None, where: dict[str, str] | None = None) -> pd.DataFrame:
    """Long frame unique_id, ds, y (+ the `by` columns): one row per series and period, gaps filled with 0.

    Periods: D = UTC day, W = week starting Monday, MS = calendar month (ds is the period start).
    Each series runs from its first non-empty period to the last period in the data. Missing tags
    show as "(untagged)". unique_id joins the dimension values with "/" ("total" when by is empty).
    metric: cost_usd (USD, the default), input_tokens, output_tokens, cached_input_tokens, requests or tasks;
    start and end bound the UTC days (end excluded); where: tag -> value filters.

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text(
    ...     "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id\\n"
    ...     "2026-09-03T09:00:00Z,a,openai,gpt-4o-mini,1000,500,1.50,research\\n"
    ...     "2026-09-20T09:00:00Z,b,openai,gpt-4o-mini,1000,500,2.50,research\\n"
    ...     "2026-11-02T09:00:00Z,c,openai,gpt-4o-mini,1000,500,1.00,research\\n")
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     _ = wh.load(folder / "calls.csv")
    ...     monthly = series(wh, by=["team_id"])
    >>> [(f"{d:%Y-%m}", y) for d, y in zip(monthly["ds"], monthly["y"])]  # October: no spend, so 0
    [('2026-09', 4.0), ('2026-10', 0.0), ('2026-11', 1.0)]
    >>> shutil.rmtree(folder)
    """
    dims = _dims(by)
    if metric not in METRICS:
        raise UsageError(f"metric: {metric!r}: must be one of {', '.join(METRICS)}")
    unit = FREQUENCIES[check_freq(freq)].unit
    period = f"CAST(date_trunc('{unit}', {utc_day(q('timestamp'))}) AS DATE)"  # the UTC period start
    keys = [f"coalesce({q(d)}, {lit(UNTAGGED)}) AS {q(d)}" for d in dims]
    uid = " || '/' || ".join(q(d) for d in dims) if dims else "'total'"
    select_keys = "".join(f"{k}, " for k in keys)
    group = "".join(f"{q(d)}, " for d in dims)
    query = f"""
        WITH agg AS (
            SELECT {select_keys}{period} AS ds, {METRICS[metric]} AS y
            FROM requests WHERE {_where(start, end, where)} GROUP BY ALL),
        ids AS (SELECT {group}{uid} AS unique_id, min(ds) AS first_ds FROM agg GROUP BY ALL),
        periods AS (SELECT CAST(unnest(generate_series(min(ds), max(ds), INTERVAL 1 {unit})) AS DATE) AS ds FROM agg)
        SELECT i.unique_id, p.ds, coalesce(a.y, 0.0) AS y{"".join(f", i.{q(d)}" for d in dims)}
        FROM ids i JOIN periods p ON p.ds >= i.first_ds
        LEFT JOIN agg a ON a.ds = p.ds {"".join(f" AND a.{q(d)} = i.{q(d)}" for d in dims)}
        ORDER BY i.unique_id, p.ds"""
    frame = wh.sql(query).df()
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame


def coverage(wh: Warehouse, required: Sequence[str] = TAGS, by: str = "environment",
             start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Share of requests and of spend carrying every required tag, per `by` value, plus missing share per tag."""
    req = _dims(required)
    _dims([by])
    complete = " AND ".join(f"{q(t)} IS NOT NULL" for t in req) or "TRUE"
    per_tag = "".join(f", 1 - avg(CASE WHEN {q(t)} IS NULL THEN 0 ELSE 1 END) AS {q('missing_' + t)}" for t in req)
    return wh.sql(f"""
        SELECT coalesce({q(by)}, {lit(UNTAGGED)}) AS {q(by)}, sum(request_count) AS requests,
               CAST(sum(CASE WHEN {complete} THEN request_count ELSE 0 END) AS DOUBLE) / sum(request_count)
                   AS request_coverage,
               CAST(sum(cost_usd) AS DOUBLE) AS cost_usd,
               CAST(sum(CASE WHEN {complete} THEN cost_usd ELSE 0 END) AS DOUBLE) AS tagged_cost_usd,
               CAST(sum(CASE WHEN {complete} THEN cost_usd ELSE 0 END) / nullif(sum(cost_usd), 0) AS DOUBLE)
                   AS spend_coverage{per_tag}
        FROM requests WHERE {_where(start, end, None)} GROUP BY 1 ORDER BY cost_usd DESC""").df()


def untagged_spend(wh: Warehouse, required: Sequence[str] = TAGS, environment: str = "production",
                   start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Spend missing any required tag in one environment, by model and UTC day (largest first)."""
    incomplete = " OR ".join(f"{q(t)} IS NULL" for t in _dims(required)) or "FALSE"
    return wh.sql(f"""
        SELECT CAST("timestamp" AS DATE) AS day, provider, model, sum(request_count) AS requests,
               CAST(sum(cost_usd) AS DOUBLE) AS cost_usd
        FROM requests WHERE environment = ? AND ({incomplete}) AND {_where(start, end, None)}
        GROUP BY ALL ORDER BY cost_usd DESC, day""", [environment]).df()


def unit_metrics(wh: Warehouse, by: str = "workflow_name", start: date | None = None,
                 end: date | None = None) -> pd.DataFrame:
    """Per `by` value and month: tasks, calls/tokens/cost per task, and cost per successful outcome.

    Only requests with a task_id count toward per-task figures. A task succeeded when any of its
    calls has outcome 'success'; cost_per_success_usd is NaN when no outcome was logged.
    """
    _dims([by])
    return wh.sql(f"""
        WITH tasks AS (
            SELECT coalesce({q(by)}, {lit(UNTAGGED)}) AS {q(by)}, task_id,
                   CAST(date_trunc('month', min("timestamp")) AS DATE) AS month,
                   sum(request_count) AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   sum(cost_usd) AS cost_usd, bool_or(outcome = 'success') AS succeeded,
                   count(outcome) > 0 AS has_outcome
            FROM requests WHERE task_id IS NOT NULL AND {_where(start, end, None)} GROUP BY ALL)
        SELECT {q(by)}, month, count(*) AS tasks, avg(calls) AS calls_per_task,
               avg(input_tokens) AS input_tokens_per_task, avg(output_tokens) AS output_tokens_per_task,
               CAST(sum(cost_usd) / count(*) AS DOUBLE) AS cost_per_task_usd,
               sum(CASE WHEN succeeded THEN 1 ELSE 0 END) AS successful_tasks,
               CASE WHEN bool_or(has_outcome) THEN
                   CAST(sum(cost_usd) / nullif(sum(CASE WHEN succeeded THEN 1 ELSE 0 END), 0) AS DOUBLE)
               END AS cost_per_success_usd
        FROM tasks GROUP BY ALL ORDER BY {q(by)}, month""").df()
