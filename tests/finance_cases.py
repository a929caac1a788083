"""A 3-month business case small enough to check on paper (shared by the finance tests).

Prices (tests/conftest.py): lab/m-small costs 1 USD per million input tokens and 2 per million
output tokens, so one task (1,000 input + 500 output tokens) costs 0.001 + 0.001 = 0.002 USD.
"""

from pathlib import Path

import yaml

SPEC = """
name: tiny
volume: {tasks_per_month: 1000}
steps:
  - {name: answer, model: m-small, provider: lab, input_tokens: {user: 1000}, output_tokens: 500}
outcome: {success_rate: 1.0, human_cost_usd_per_task: 3}
"""

# monthly rate 1% exactly: annual = 1.01^12 - 1
ANNUAL_FOR_1PCT_MONTHLY = 1.01**12 - 1


def tiny_case(**changes) -> dict:
    """Month 0: build 1,000. Month 1 (build): one engineer, 1,000. Months 2-3 live at 50% then 100%
    adoption of 1,000 tasks: platform 100/month, inference 0.002/task, review 1 USD/task
    (1 minute at 60 USD/hour), benefit 3 USD per task (all tasks succeed)."""
    case = {
        "name": "tiny-case",
        "start_month": "2027-01",
        "price_date": "2026-11-25",
        "horizon_months": 3,
        "finance": {"discount_rate_annual": ANNUAL_FOR_1PCT_MONTHLY},
        "build": {"months": 1, "one_time": [{"name": "build", "usd": 1000}]},
        "workflows": [{
            "spec": "tiny.yaml",
            "adoption": {"plan": [0.5, 1.0]},
            "review": {"share_of_tasks": 1.0, "minutes_per_task": 1, "usd_per_hour": 60},
            "benefits": {"human_cost_usd_per_task": "from_spec"},
        }],
        "people": [{"role": "engineer", "fte": 1, "loaded_usd_per_year": 12000, "allocation": 1.0, "during": "build"}],
        "platform": [{"name": "gateway", "usd_per_month": 100, "during": "live"}],
    }
    for key, value in changes.items():
        case[key] = value
    return case


def write_case(folder: Path, case: dict, name: str = "case.yaml") -> Path:
    (folder / "tiny.yaml").write_text(SPEC)
    path = folder / name
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    return path
