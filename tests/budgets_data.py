"""Hand-made request logs for the budget tests: one row per (day, identity) with a chosen cost."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

HEADER = ("timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id,workflow_name,"
          "environment,agent_id,task_id,tool_calls\n")


def days(first: date, last: date):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def row(n: int, day: date, usd: float, team: str = "A", workflow: str = "wf", env: str = "production",
        agent: str = "a-1", task: str = "", model: str = "m-small", hour: int = 12, tokens: int = 1000,
        tool_calls: str = "") -> str:
    return (f"{day.isoformat()}T{hour:02d}:00:00Z,r{n},lab,{model},{tokens},{tokens // 10},{usd},{team},{workflow},"
            f"{env},{agent},{task},{tool_calls}")


def write_log(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path
