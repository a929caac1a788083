"""Request logs of a workflow spec, drawn by the estimate's own semantics: the known truth calibration is tested on.

`spec_logs(workflow, book, month, tasks, seed)` draws one month of a workflow's model calls in the native log
schema, one row per call and per failed attempt, tagged with `workflow_name`, `task_id` and `step`:
- per task, as the engine draws them: each step's input parts, output tokens and calls per run, the tools'
  calls and result tokens that feed the next model call, each loop's iterations (rounded, capped at
  `max_steps`) and context growth, and the model each routed step sends its calls to;
- per month, once (the engine's population parameters): every cache hit rate, retry rate and the success
  rate; `truth` returns the values drawn;
- per call: a cache hit (the cacheable prefix is read from the cache; on a miss it is written, where the
  model's price list charges a cache write, else billed as input), a failed attempt (a `retry` row, billed in
  full, then the call again), the history of a loop iteration (`(i - 1) x growth`, part of the prefix when
  `history` is cacheable);
- the task's outcome (success at the success rate) on its last row.

Calls per run are drawn as the engine draws them and rounded at random (floor, plus one with the fractional
part's probability), so their mean is kept. Tool calls are not model requests and have no rows. Costs are left
empty: ingest prices the rows, as it does any log without a cost.

    >>> from forecast.design.prices import price_book
    >>> from forecast.design.specs import parse_workflow
    >>> wf = parse_workflow("name: w\\nvolume: {tasks_per_month: 10}\\nsteps:\\n"
    ...                     "  - {name: a, model: gpt-4o-mini, provider: openai, input_tokens: {user: 100},"
    ...                     " output_tokens: 20}")
    >>> logs, truth = spec_logs(wf, price_book("none"), date(2026, 10, 1), tasks=10, seed=1)
    >>> len(logs), sorted(set(logs["step"])), int(logs["input_tokens"].iloc[0])
    (10, ['a'], 100)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..core.months import month_start, utc_midnight
from ..design.prices import PriceBook
from ..design.specs import INPUT_PARTS, ModelStep, Workflow
from ..design.workload import compile_plan

SECONDS_BETWEEN_CALLS = 2.0  # calls of one task follow each other this far apart


@dataclass(frozen=True)
class SpecTruth:
    """The population parameters one month of spec_logs was drawn with, and its per-task draws' counts."""

    tasks: int
    success_rate: float
    cache_hit_rate: dict[str, float] = field(default_factory=dict)  # step -> rate
    retry_rate: dict[str, float] = field(default_factory=dict)  # step -> rate
    iterations: dict[str, np.ndarray] = field(default_factory=dict)  # loop -> iterations per task


def _rounded(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Non-negative integers with the same mean as x: floor, plus one with the fractional part's probability."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    low = np.floor(x)
    return (low + (rng.random(x.shape) < x - low)).astype(np.int64)


def _per_task(dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(dist.sample(rng, n), dtype=float), (n,)).copy()


def _per_month(dist, rng: np.random.Generator) -> float:
    return float(np.asarray(dist.sample(rng, 1)).reshape(-1)[0])


def spec_logs(workflow: Workflow, book: PriceBook, month: date, tasks: int, seed: int = 0,
              team_id: str | None = None) -> tuple[pd.DataFrame, SpecTruth]:
    """One month of `workflow`'s model calls for `tasks` tasks (native log columns, timestamps in UTC), and the
    truth they were drawn with; see the module docstring."""
    rng = np.random.default_rng(seed)
    start = utc_midnight(month_start(month))
    seconds = (utc_midnight(month_start(month, 1)) - start).total_seconds()
    plan = compile_plan(workflow, book, month_start(month))
    success_rate = _per_month(workflow.outcome.success_rate, rng)
    task_start = rng.random(tasks) * (seconds - 3600.0)  # an hour before the month ends at the latest
    truth = SpecTruth(tasks, success_rate)
    loops: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    tool_draws: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    parts: list[pd.DataFrame] = []
    order = 0  # steps in spec order: a task's calls are timed in that order
    for ps in plan.steps:
        step = ps.step
        if ps.loop is None:
            iterations, growth = np.ones(tasks, dtype=np.int64), np.zeros(tasks)
        else:
            name = ps.loop.name
            if name not in loops:
                settings = ps.loop.loop
                k = np.clip(np.rint(_per_task(settings.iterations, rng, tasks)), 0, settings.max_steps)
                loops[name] = (k.astype(np.int64), _per_task(settings.context_growth_tokens, rng, tasks))
                truth.iterations[name] = loops[name][0]
            iterations, growth = loops[name]
        if not isinstance(step, ModelStep):
            tool_draws[step.name] = (_per_task(step.calls_per_run, rng, tasks),
                                     _per_task(step.result_tokens_per_call, rng, tasks))
            continue
        drawn = {p: _per_task(getattr(step.input_tokens, p), rng, tasks) for p in INPUT_PARTS}
        fed = sum((tool_draws[t.name][0] * tool_draws[t.name][1] for t in ps.fed_by if t.name in tool_draws),
                  np.zeros(tasks))
        output = _per_task(step.output_tokens, rng, tasks)
        per_run = _rounded(rng, _per_task(step.calls_per_run, rng, tasks))
        hit_rate = _per_month(step.cache_hit_rate, rng)
        retry_rate = _per_month(step.retry_rate, rng)
        truth.cache_hit_rate[step.name], truth.retry_rate[step.name] = hit_rate, retry_rate
        edges = np.cumsum([r.share for r in ps.routes])[:-1]
        route = np.searchsorted(edges, rng.random(tasks), side="right")  # once per task and step
        calls = iterations * per_run
        task = np.repeat(np.arange(tasks), calls)
        first = np.repeat(np.cumsum(calls) - calls, calls)
        iteration = (np.arange(len(task)) - first) // np.maximum(per_run[task], 1)  # 0 for the first iteration
        history = iteration * growth[task]
        base = drawn["system"] + drawn["context"] + drawn["user"] + fed
        prefix = sum((drawn[p] for p in step.cacheable if p in drawn), np.zeros(tasks))[task]
        prefix = prefix + (history if "history" in step.cacheable else 0.0)
        total = np.rint(base[task] + history)
        prefix = np.minimum(np.rint(prefix), total)
        hit = rng.random(len(task)) < hit_rate
        premium = np.array([r.write_premium for r in ps.routes])[route[task]]
        cached = np.where(hit, prefix, 0.0)
        written = np.where(~hit & premium, prefix, 0.0)
        rows = pd.DataFrame({
            "task": task, "order": order, "call": np.arange(len(task)) - first,
            "provider": np.array([r.prices.provider for r in ps.routes], dtype=object)[route[task]],
            "model": np.array([r.prices.model for r in ps.routes], dtype=object)[route[task]],
            "input_tokens": total.astype(np.int64), "cached_input_tokens": cached.astype(np.int64),
            "cache_write_tokens": written.astype(np.int64),
            "output_tokens": np.rint(output[task]).astype(np.int64), "step": step.name})
        failed = rng.random(len(rows)) < retry_rate  # a failed attempt is billed in full, then sent again
        retries = rows[failed].assign(status="retry", attempt=0)
        parts.append(pd.concat([retries, rows.assign(status="ok", attempt=1)], ignore_index=True))
        order += 1
    columns = ["timestamp", "request_id", "provider", "model", "input_tokens", "cached_input_tokens",
               "cache_write_tokens", "output_tokens", "status", "team_id", "workflow_name", "environment",
               "task_id", "step", "outcome"]
    if not parts:
        return pd.DataFrame(columns=columns), truth
    logs = pd.concat(parts, ignore_index=True).sort_values(["task", "order", "call", "attempt"], kind="stable")
    sequence = logs.groupby("task").cumcount().to_numpy()
    moment = task_start[logs["task"].to_numpy()] + sequence * SECONDS_BETWEEN_CALLS
    logs["timestamp"] = [start + timedelta(seconds=float(s)) for s in moment]
    logs["request_id"] = [f"{workflow.name}-{seed}-{i:09d}" for i in range(len(logs))]
    logs["task_id"] = [f"{workflow.name}-task-{seed}-{t:07d}" for t in logs["task"]]
    succeeded = rng.random(tasks) < success_rate
    last = ~logs["task"].duplicated(keep="last")
    logs["outcome"] = np.where(last, np.where(succeeded[logs["task"]], "success", "failure"), None)
    logs["workflow_name"], logs["environment"], logs["team_id"] = workflow.name, "production", team_id
    return logs[columns].reset_index(drop=True), truth
