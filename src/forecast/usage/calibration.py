"""What a workflow's production logs say about the numbers its spec designed: per step, loop and workflow.

`observe(con, workflow, since, until)` reads the warehouse's `requests` rows whose `workflow_name` is the spec's
name (tasks by `task_id`, steps by `step`) from `since` up to (not including) `until`, and measures:
- per model step: input tokens per call on a task's first iteration (the designed parts plus the tools'
  results), output tokens per call, calls per run, the cache hit rate (calls that read a cached prefix, of
  all attempts), the retry rate (failed attempts, rows with status `retry`, per call) and the share of tasks
  sending the step's calls to each model;
- per loop: iterations per task (calls of its first model step per task over that step's calls per run),
  how often tasks stop at `max_steps`, and the context growth per iteration (the first model step's input
  from one iteration to the next, per task, the median over tasks);
- per workflow: tasks, the months they fall in, and the success rate (outcome of the tasks that log one).

Token counts are summarised by their p10, p50, p90 and n. Retry rows count as attempts, not calls. Calls
without a `task_id` or a `step`, steps in the spec that no row logs, and logged steps the spec does not have
are listed by name and count.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb

from ..core.months import month_start, parse_month, utc_midnight
from ..design.specs import LoopStep, ModelStep, Workflow


@dataclass(frozen=True)
class Summary:
    """A quantity's p10, p50, p90 and mean over n observations."""

    n: int
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class StepObserved:
    step: str
    tasks: int  # tasks that called the step
    calls: int  # successful calls (status not retry)
    attempts: int  # calls plus failed attempts
    input_tokens_first: Summary  # per call on a task's first iteration
    output_tokens: Summary
    calls_per_run: Summary  # per task: calls / iterations
    cache_hit_rate: float | None
    retry_rate: float | None
    model_shares: dict[tuple[str | None, str], float]  # (provider, model) -> share of the step's calls per task


@dataclass(frozen=True)
class LoopObserved:
    loop: str
    tasks: int
    iterations: Summary
    cap_hit_rate: float | None
    context_growth_tokens: Summary


@dataclass(frozen=True)
class Observed:
    workflow: str
    tasks: int
    months: dict[str, int]  # YYYY-MM -> tasks that started in it
    success_rate: float | None
    outcomes: int  # tasks that logged an outcome
    steps: dict[str, StepObserved] = field(default_factory=dict)
    loops: dict[str, LoopObserved] = field(default_factory=dict)
    untagged_calls: int = 0  # calls of the workflow without task_id or step
    spec_steps_not_logged: tuple[str, ...] = ()
    logged_steps_not_in_spec: tuple[tuple[str, int], ...] = ()  # (step, calls)
    model_changes: tuple[tuple[str, str], ...] = ()  # (step, "step: model A until DAY, then B ...") switches
    complete_months: tuple[str, ...] = ()  # YYYY-MM of the months the logs cover from first to last day


def _summary(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> Summary:
    n, p10, p50, p90, mean = con.execute(
        f"SELECT count(v), quantile_cont(v, 0.1), quantile_cont(v, 0.5), quantile_cont(v, 0.9), avg(v) "
        f"FROM ({sql}) t(v)", params).fetchall()[0]
    return Summary(int(n), *(None if x is None else float(x) for x in (p10, p50, p90, mean)))


def _model_steps(steps, loop: LoopStep | None = None):
    for step in steps:
        if isinstance(step, LoopStep):
            yield from _model_steps(step.steps, step)
        elif isinstance(step, ModelStep):
            yield step, loop


def observe(con: duckdb.DuckDBPyConnection, workflow: Workflow, since: date | None = None,
            until: date | None = None) -> Observed:
    """Measure `workflow`'s logged calls in the warehouse opened as `con` (see the module docstring)."""
    lo, hi = utc_midnight(since or date(1970, 1, 1)), utc_midnight(until or date(2200, 1, 1))
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _wf AS SELECT * FROM requests
        WHERE workflow_name = {_lit(workflow.name)} AND "timestamp" >= TIMESTAMPTZ {_lit(lo.isoformat())}
          AND "timestamp" < TIMESTAMPTZ {_lit(hi.isoformat())}""")
    untagged = con.execute("SELECT count(*) FROM _wf WHERE task_id IS NULL OR step IS NULL").fetchall()[0][0]
    con.execute("""CREATE OR REPLACE TEMP VIEW _calls AS SELECT *, status = 'retry' AS failed,
        row_number() OVER (PARTITION BY task_id, step, status = 'retry' ORDER BY "timestamp", source_line)
            AS nth
        FROM _wf WHERE task_id IS NOT NULL AND step IS NOT NULL""")
    tasks = con.execute("SELECT count(DISTINCT task_id) FROM _calls").fetchall()[0][0]
    months = dict(con.execute("""SELECT strftime(first, '%Y-%m'), count(*) FROM
        (SELECT task_id, min("timestamp") AS first FROM _calls GROUP BY task_id) GROUP BY 1 ORDER BY 1""").fetchall())
    span = con.execute('SELECT min("timestamp"), max("timestamp") FROM _calls').fetchall()[0]
    complete = tuple(m for m in months if _complete(m, *span))
    ok, outcomes = con.execute("""SELECT count(*) FILTER (WHERE o = 'success'), count(o) FROM
        (SELECT task_id, max(outcome) AS o FROM _calls GROUP BY task_id)""").fetchall()[0]
    logged = dict(con.execute("SELECT step, count(*) FROM _calls WHERE NOT failed GROUP BY step").fetchall())
    spec_steps = {step.name: (step, loop) for step, loop in _model_steps(workflow.steps)}
    loops: dict[str, LoopObserved] = {}
    steps: dict[str, StepObserved] = {}
    for step, loop in spec_steps.values():
        if step.name not in logged:
            continue
        name = [step.name]
        per_run = step.calls_per_run.mean()
        first_calls = max(1, round(per_run))  # a task's first iteration: its first calls_per_run calls
        calls, attempts, step_tasks, failed = con.execute("""SELECT count(*) FILTER (WHERE NOT failed), count(*),
            count(DISTINCT task_id), count(*) FILTER (WHERE failed) FROM _calls WHERE step = ?""", name).fetchall()[0]
        hits, could_hit = con.execute(f"""SELECT count(*) FILTER (WHERE cached_input_tokens > 0), count(*)
            FROM _calls WHERE step = ? AND {_could_hit(con, step, first_calls)}""", name).fetchall()[0]
        # a task's calls to each model as a share of its calls, averaged over the step's tasks
        shares = {(p, m): v for p, m, v in con.execute("""SELECT provider, model, sum(n / total) / ? FROM (
            SELECT task_id, provider, model, count(*) AS n, sum(count(*)) OVER (PARTITION BY task_id) AS total
            FROM _calls WHERE step = ? AND NOT failed GROUP BY task_id, provider, model) GROUP BY 1, 2""",
                                                        [step_tasks, step.name]).fetchall()}
        steps[step.name] = StepObserved(
            step=step.name, tasks=step_tasks, calls=calls, attempts=attempts,
            input_tokens_first=_summary(con, "SELECT input_tokens FROM _calls WHERE step = ? AND NOT failed "
                                             "AND nth <= ?", [step.name, first_calls]),
            output_tokens=_summary(con, "SELECT output_tokens FROM _calls WHERE step = ? AND NOT failed", name),
            calls_per_run=_calls_per_run(con, step, loop, spec_steps),
            cache_hit_rate=hits / could_hit if could_hit else None,
            retry_rate=failed / calls if calls else None,
            model_shares=dict(sorted(shares.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))))
        if loop is not None and loop.name not in loops and step is _first_model_step(loop):
            loops[loop.name] = _observe_loop(con, loop, step, tasks)
    missing = tuple(s for s in spec_steps if s not in logged)
    changes = tuple(_model_changes(con, [s for s in spec_steps if s in logged]))
    extra = tuple(sorted((s, n) for s, n in logged.items() if s not in spec_steps))
    return Observed(workflow.name, tasks, months, ok / outcomes if outcomes else None, outcomes, steps, loops,
                    untagged, missing, extra, changes, complete)


def _complete(month: str, first: datetime | None, last: datetime | None) -> bool:
    """Whether the logs cover `month` (YYYY-MM) from its first to its last day."""
    if first is None or last is None:
        return False
    day = parse_month(month)
    start, end = utc_midnight(day), utc_midnight(month_start(day, 1))
    return first < start + timedelta(days=1) and last >= end - timedelta(days=1)


def _model_changes(con: duckdb.DuckDBPyConnection, steps: list[str]):
    """Steps whose calls went to one model and then, from a day on, to another (their time ranges do not
    overlap): a switch, not a routing share."""
    for step in steps:
        spans = con.execute("""SELECT coalesce(provider || '/', '') || model, min("timestamp"), max("timestamp"),
            count(*) FROM _calls WHERE step = ? AND NOT failed GROUP BY 1 ORDER BY 2""", [step]).fetchall()
        for (a, _, a_last, a_n), (b, b_first, _, b_n) in itertools.pairwise(spans):
            if a_last < b_first:
                yield step, (f"{step}: {a} until {a_last:%Y-%m-%d} ({a_n:,} calls), then {b} from "
                             f"{b_first:%Y-%m-%d} ({b_n:,} calls): its routing is kept as designed; calibrate "
                             "--since the switch for the new model alone")


def _could_hit(con: duckdb.DuckDBPyConnection, step: ModelStep, first_calls: int) -> str:
    """SQL condition of the step's attempts that had a prefix to read from the cache: with cache writes in the
    logs, those that read or wrote one; else every attempt when a fixed part is cacheable, else (only the history
    is) the attempts after the first iteration, which have a history. FALSE when nothing is cacheable."""
    writes = con.execute("SELECT count(*) FROM _calls WHERE step = ? AND cache_write_tokens > 0",
                         [step.name]).fetchall()[0][0]
    if writes:
        return "(cached_input_tokens > 0 OR cache_write_tokens > 0)"
    static = sum(getattr(step.input_tokens, p).mean() for p in step.cacheable if p != "history")
    if static > 0:
        return "true"
    return f"nth > {first_calls}" if "history" in step.cacheable else "false"


def _first_model_step(loop: LoopStep) -> ModelStep:
    return next(step for step, _ in _model_steps(loop.steps))


def _iterations_sql(loop: LoopStep) -> str:
    """Per task of the workflow: iterations of `loop`, its first model step's calls over that step's designed
    calls per run (the logs mark no iteration, so that step is taken to run as designed)."""
    first = _first_model_step(loop)
    per_run = max(first.calls_per_run.mean(), 1e-9)
    return f"""SELECT t.task_id, coalesce(c.n, 0) / {per_run!r} AS k FROM (SELECT DISTINCT task_id FROM _calls) t
        LEFT JOIN (SELECT task_id, count(*) AS n FROM _calls WHERE step = {_lit(first.name)} AND NOT failed
                   GROUP BY task_id) c USING (task_id)"""


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _calls_per_run(con: duckdb.DuckDBPyConnection, step: ModelStep, loop: LoopStep | None, spec_steps) -> Summary:
    """Per task of the workflow: its calls of the step (0 when it skipped it), over the loop's iterations when it
    sits in a loop."""
    calls = (f"SELECT t.task_id, coalesce(c.n, 0) AS n FROM (SELECT DISTINCT task_id FROM _calls) t LEFT JOIN "
             f"(SELECT task_id, count(*) AS n FROM _calls WHERE step = {_lit(step.name)} AND NOT failed GROUP BY 1) c "
             "USING (task_id)")
    if loop is None:  # every task of the workflow: one that skipped the step made 0 calls
        return _summary(con, f"SELECT n FROM ({calls})", [])
    return _summary(con, f"SELECT c.n / i.k FROM ({calls}) c JOIN ({_iterations_sql(loop)}) i USING (task_id) "
                         "WHERE i.k > 0", [])


def _observe_loop(con: duckdb.DuckDBPyConnection, loop: LoopStep, first: ModelStep, tasks: int) -> LoopObserved:
    """A loop measured by its first model step: every task of the workflow runs the loop, so a task without
    that step's calls ran 0 iterations."""
    counts = _iterations_sql(loop)
    iterations = _summary(con, f"SELECT k FROM ({counts})", [])
    capped = con.execute(f"SELECT avg(CAST(round(k) >= {loop.loop.max_steps} AS DOUBLE)) FROM ({counts})"
                         ).fetchall()[0][0]
    per_run = max(1, round(first.calls_per_run.mean()))
    growth = _summary(con, f"""SELECT median((input_tokens - first_input) / ((nth - 1) // {per_run})) FROM (
            SELECT task_id, nth, input_tokens, first_value(input_tokens) OVER (PARTITION BY task_id ORDER BY nth)
                AS first_input FROM _calls WHERE step = ? AND NOT failed)
        WHERE (nth - 1) // {per_run} > 0 GROUP BY task_id""", [first.name])
    return LoopObserved(loop.name, tasks, iterations, capped, growth)
