"""Agent-operation guardrails: steps per task, cost per task, and spend per agent identity per UTC day.

A task's steps are its logged calls (rows sharing a task_id); requests without a task_id count only
toward the per-agent-day limit, and rows without an agent_id show as "(untagged)" there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..usage.series import UNTAGGED
from ..usage.warehouse import Warehouse
from .burn import Alert
from .envelopes import Guardrail


@dataclass(frozen=True)
class Exceedance:
    """One guardrail limit exceeded by one task or one agent-day."""

    guardrail: str
    rule: str  # max_steps_per_task | max_usd_per_task | max_usd_per_agent_day
    subject: str  # task_id, or agent_id for the per-day rule
    agent_id: str
    workflow_name: str
    day: date  # the task's first UTC day, or the agent-day
    value: float
    limit: float
    action: str

    def alert(self) -> Alert:
        return Alert(self.guardrail, "guardrail", self.value / self.limit, self.value, self.limit, self.action,
                     f"{self.rule} {self.subject}", self.day)

    def line(self) -> str:
        unit = "steps" if self.rule == "max_steps_per_task" else "USD"
        return (f"{self.guardrail}: {self.rule}: {self.subject} (agent {self.agent_id}, {self.workflow_name}, "
                f"{self.day}): {self.value:,.2f} {unit} > {self.limit:,.2f} -> {self.action}")


def match_sql(match: dict[str, str]) -> tuple[str, list]:
    """A WHERE clause and its parameters for tag equality ("(untagged)" matches a missing tag)."""
    parts, params = ["TRUE"], []
    for col, value in match.items():  # col is one of envelopes.MATCH_KEYS (validated at the boundary)
        if value == UNTAGGED:
            parts.append(f'"{col}" IS NULL')
        else:
            parts.append(f'"{col}" = ?')
            params.append(value)
    return " AND ".join(parts), params


def _window(first: date, last: date) -> tuple[str, list]:
    return '"timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ)', \
        [first.isoformat(), (last + timedelta(days=1)).isoformat()]


def check_guardrail(wh: Warehouse, g: Guardrail, first: date, last: date) -> list[Exceedance]:
    """Tasks (started first..last) and agent-days (first..last) over the guardrail's limits, worst first."""
    where, params = match_sql(g.match)
    window, wparams = _window(first, last)
    out: list[Exceedance] = []
    if g.max_steps_per_task is not None or g.max_usd_per_task is not None:
        rows = wh.sql(f"""
            SELECT task_id, any_value(coalesce(agent_id, '{UNTAGGED}')), any_value(coalesce(workflow_name,
                   '{UNTAGGED}')), CAST(min("timestamp") AS DATE) AS day, sum(request_count) AS steps,
                   CAST(sum(cost_usd) AS DOUBLE) AS usd
            FROM requests WHERE task_id IS NOT NULL AND {where} GROUP BY task_id
            HAVING min("timestamp") >= CAST(? AS TIMESTAMPTZ) AND min("timestamp") < CAST(? AS TIMESTAMPTZ)
            ORDER BY usd DESC, task_id""", params + wparams).fetchall()
        for task, agent, workflow, day, steps, usd in rows:
            if g.max_steps_per_task is not None and steps > g.max_steps_per_task:
                out.append(Exceedance(g.name, "max_steps_per_task", task, agent, workflow, day, float(steps),
                                      float(g.max_steps_per_task), g.action))
            if g.max_usd_per_task is not None and usd > g.max_usd_per_task:
                out.append(Exceedance(g.name, "max_usd_per_task", task, agent, workflow, day, usd,
                                      g.max_usd_per_task, g.action))
    if g.max_usd_per_agent_day is not None:
        rows = wh.sql(f"""
            SELECT coalesce(agent_id, '{UNTAGGED}') AS agent, string_agg(DISTINCT coalesce(workflow_name,
                   '{UNTAGGED}'), ',' ORDER BY coalesce(workflow_name, '{UNTAGGED}')),
                   CAST("timestamp" AS DATE) AS day, CAST(sum(cost_usd) AS DOUBLE) AS usd
            FROM requests WHERE {where} AND {window} GROUP BY agent, day
            HAVING sum(cost_usd) > ? ORDER BY usd DESC, agent, day""",
                      params + wparams + [g.max_usd_per_agent_day]).fetchall()
        out += [Exceedance(g.name, "max_usd_per_agent_day", agent, agent, workflows, day, usd,
                           g.max_usd_per_agent_day, g.action) for agent, workflows, day, usd in rows]
    return out
