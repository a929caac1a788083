"""The budget file: the example loads, and every rule gives a one-line error naming file, field, value and rule."""

from pathlib import Path

import pytest

from forecast.budgets.envelopes import (
    DEFAULT_ALERT_BREACH_PROBABILITY,
    DEFAULT_THRESHOLDS,
    MATCH_KEYS,
    load_budgets,
    parse_budgets_data,
)
from forecast.core.errors import SpecError
from forecast.core.validation import parse_yaml
from forecast.usage.schema import TAGS

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "budgets.yaml"


def parse(text: str):
    return parse_budgets_data(parse_yaml(text, "b.yaml"), "b.yaml")


def test_example_file_loads():
    doc = load_budgets(EXAMPLE)
    names = [e.name for e in doc.budgets]
    assert "research-agents" in names and {e.type for e in doc.budgets} == {"production", "exploration"}
    research = doc.budgets[names.index("research-agents")]
    assert research.action == "hard_stop" and research.thresholds == DEFAULT_THRESHOLDS
    assert research.match == {"team_id": "research"}
    assert doc.guardrails[0].max_steps_per_task == 50
    assert doc.alert_breach_probability == DEFAULT_ALERT_BREACH_PROBABILITY == 0.2  # set, and documented, there
    assert research.alert_breach_probability is None  # the file's level


def test_alert_breach_probability_has_a_file_default_and_an_envelope_override():
    doc = parse("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5}")
    assert doc.alert_breach_probability == 0.2 and doc.budgets[0].alert_breach_probability is None
    doc = parse("alert_breach_probability: 0.5\nbudgets:\n"
                "  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, alert_breach_probability: 0.05}")
    assert (doc.alert_breach_probability, doc.budgets[0].alert_breach_probability) == (0.5, 0.05)


def test_match_keys_are_the_warehouse_tags_and_identities():
    assert set(MATCH_KEYS) == {*TAGS, "agent_id", "provider", "model"}  # a new warehouse tag must be matchable


@pytest.mark.parametrize(("text", "message"), [
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: -1}",
     "b.yaml: budgets[0].monthly_cap_usd: -1: Input should be greater than 0"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, thresholds: [1.0, 0.8]}",
     "b.yaml: budgets[0].thresholds: [1.0, 0.8]: thresholds must be distinct and in ascending order"),
    ("budgets:\n  - {name: a, owner: o, match: {}}", "a production envelope needs monthly_cap_usd"),
    ("budgets:\n  - {name: a, owner: o, match: {}, type: exploration}", "needs credit_usd_per_week"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, per: team_id}",
     "'per': 'team_id'}: credit_usd_per_week and per apply to type: exploration only"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, action: explode}",
     "b.yaml: budgets[0].action: 'explode': Input should be 'warn'"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, cap: 3}",
     "b.yaml: budgets[0].cap: unknown field"),
    ("budgets:\n  - {name: a, owner: o, match: {colour: red}, monthly_cap_usd: 5}", "b.yaml: budgets[0].match.colour"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5}\n  - {name: a, owner: p, match: {}, "
     "monthly_cap_usd: 6}", "name 'a' is used twice"),
    ("budgets: []\nguardrails:\n  - {name: g, match: {}}", "set at least one of max_steps_per_task"),
    ("budgets: []", "b.yaml: budgets: []: give at least one envelope or guardrail"),
    ("- 1", "b.yaml: (top level): [1]: expected a mapping"),
    ("alert_breach_probability: 0\nbudgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5}",
     "b.yaml: alert_breach_probability: 0: Input should be greater than 0"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, alert_breach_probability: 1.5}",
     "b.yaml: budgets[0].alert_breach_probability: 1.5: Input should be less than or equal to 1"),
    ("budgets:\n  - {name: a, owner: o, match: {}, monthly_cap_usd: 5, alert_breach_probabilty: 0.1}",
     "b.yaml: budgets[0].alert_breach_probabilty: unknown field"),
    ("budgets:\n  - {name: a, owner: o, match: {}, type: exploration, credit_usd_per_week: 1, "
     "alert_breach_probability: 0.1}", "alert_breach_probability applies to a monthly cap: set monthly_cap_usd"),
])
def test_bad_files_give_one_line_errors(text, message):
    with pytest.raises(SpecError) as err:
        parse(text)
    assert any(message in p for p in err.value.problems), err.value.problems
    assert all("\n" not in p for p in err.value.problems)
