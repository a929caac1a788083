import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.core.errors import SpecError
from forecast.design.distributions import LogNormal, Triangular
from forecast.design.specs import load_workflow, parse_workflow

VALID = """
name: t
volume: {tasks_per_month: 1000}
steps:
  - name: a
    model: gpt-4o
    input_tokens: {system: 100, user: {triangular: [1, 2, 3]}}
    output_tokens: {lognormal: {p50: 100, p90: 300}}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_workflow(text, "spec.yaml")
    return err.value.problems


def test_valid_spec_builds_frozen_dataclasses():
    wf = parse_workflow(VALID)
    step = wf.steps[0]
    assert step.input_tokens.user == Triangular(1, 2, 3)
    assert step.output_tokens == LogNormal(100, 300)
    with pytest.raises(AttributeError):
        step.model = "other"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("volume: {tasks_per_month: -5}", "spec.yaml: volume.tasks_per_month: -5: a count must be >= 0"),
        ("volume: {tasks_per_month: 5, extra: 1}", "spec.yaml: volume.extra: unknown field (check the spelling)"),
        ("volume: {}", "spec.yaml: volume.tasks_per_month: missing: this field is required"),
        ("volume: {tasks_per_month: {triangular: [5, 2, 3]}}",
         "spec.yaml: volume.tasks_per_month: {'triangular': [5, 2, 3]}: triangular needs low <= mode <= high"),
        ("volume: {tasks_per_month: {lognormal: {p50: 100, p90: 30}}}",
         "spec.yaml: volume.tasks_per_month: {'lognormal': {'p50': 100, 'p90': 30}}: lognormal needs p90 >= p50"),
        ("volume: {tasks_per_month: {normal: [1, 2]}}",
         "spec.yaml: volume.tasks_per_month: {'normal': [1, 2]}: unknown distribution 'normal': use triangular, "
         "pert or lognormal"),
        ("volume: {tasks_per_month: .nan}", "spec.yaml: volume.tasks_per_month: nan: value must be finite"),
        ("volume: {tasks_per_month: .inf}", "spec.yaml: volume.tasks_per_month: inf: value must lie between -1e15 and "
         "1e15"),
        ("volume: {tasks_per_month: {pert: [0, 1, 2.0e+15]}}",
         "spec.yaml: volume.tasks_per_month: {'pert': [0, 1, 2000000000000000.0]}: pert point must lie between -1e15 "
         "and 1e15"),
        ("volume: {tasks_per_month: lots}", "spec.yaml: volume.tasks_per_month: 'lots': value must be a number"),
        ("volume: {tasks_per_month: 1}\noutcome: {success_rate: 1.5}",
         "spec.yaml: outcome.success_rate: 1.5: a probability must lie in [0, 1] (lognormal is unbounded, use "
         "triangular or pert)"),
        ("volume: {tasks_per_month: 1}\noutcome: {success_rate: {lognormal: {p50: 0.5, p90: 0.7}}}",
         "spec.yaml: outcome.success_rate: {'lognormal': {'p50': 0.5, 'p90': 0.7}}: a probability must lie in "
         "[0, 1] (lognormal is unbounded, use triangular or pert)"),
        ("volume: {tasks_per_month: 1" + "0" * 400 + "}",  # shown as its first 38 and last 39 digits
         "spec.yaml: volume.tasks_per_month: 1" + "0" * 37 + "..." + "0" * 39
         + ": value must lie between -1e15 and 1e15"),
        ("volume: {tasks_per_month: {lognormal: {p50: 1, p90: 100.5}}}",
         "spec.yaml: volume.tasks_per_month: {'lognormal': {'p50': 1, 'p90': 100.5}}: lognormal needs p90 <= 100 x "
         "p50 (a wider one has no usable mean)"),
        ("volume:\n  tasks_per_month: 1\n  background: [{name: m, model: x, calls_per_day: 1, input_tokens: 1, "
         "output_tokens: 1}, {name: m, model: y, calls_per_day: 2, input_tokens: 1, output_tokens: 1}]",
         "spec.yaml: volume.background: [{'name': 'm', 'model': 'x', 'calls_per_day': 1, 'input_tokens': 1, "
         "'output_t...: background name 'm' is used twice; background names must be unique"),
    ],
)
def test_volume_and_outcome_errors(change, expected):
    text = VALID.replace("volume: {tasks_per_month: 1000}", change)
    assert errors_of(text) == [expected]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("{name: b, model: x, output_tokens: -1}", "spec.yaml: steps[1].output_tokens: -1: tokens must be >= 0"),
        ("{name: b, model: x, output_tokens: 1, cache_hit_rate: 2}",
         "spec.yaml: steps[1].cache_hit_rate: 2: a probability must lie in [0, 1] (lognormal is unbounded, use "
         "triangular or pert)"),
        ("{name: b, model: x, output_tokens: 1, routing: [{model: y, share: 0.7}, {model: z, share: 0.5}]}",
         "spec.yaml: steps[1].routing: [{'model': 'y', 'share': 0.7}, {'model': 'z', 'share': 0.5}]: routing shares "
         "add up to 1.2; they must add up to at most 1"),
        ("{name: b}", "spec.yaml: steps[1]: {'name': 'b'}: a step needs exactly one of 'model', 'tool' or 'loop'"),
        ("{name: b, model: x, output_tokens: 1, cacheable: [footer]}",
         "spec.yaml: steps[1].cacheable[0]: 'footer': Input should be 'system', 'context', 'user' or 'history'"),
        ("{name: b, loop: {iterations: 3, max_steps: 0}, steps: [{name: c, model: x, output_tokens: 1}]}",
         "spec.yaml: steps[1].loop.max_steps: 0: Input should be greater than or equal to 1"),
        ("{name: b, loop: {iterations: 3, max_steps: 2}, steps: [{name: c, loop: 1}]}",
         "spec.yaml: steps[1].steps[0]: {'name': 'c', 'loop': 1}: a step inside a loop needs exactly one of "
         "'model' or 'tool'"),
        ("{name: a, model: x, output_tokens: 1}",
         "spec.yaml: steps: [{'name': 'a', 'model': 'gpt-4o', 'input_tokens': {'system': 100, 'user': {'t...: step "
         "name 'a' is used twice; step names must be unique"),
        ("{name: b, tool: search, result_tokens_per_call: 100}",
         "spec.yaml: steps: [{'name': 'a', 'model': 'gpt-4o', 'input_tokens': {'system': 100, 'user': {'t...: tool "
         "step 'b' adds result tokens but no model step follows it in the same list"),
        ("{name: b, tool: search, result_tokens_per_call: 100}\n  - {name: l, loop: {iterations: 2, max_steps: 2}, "
         "steps: [{name: p, tool: ping}]}",
         "spec.yaml: steps: [{'name': 'a', 'model': 'gpt-4o', 'input_tokens': {'system': 100, 'user': {'t...: tool "
         "step 'b' adds result tokens but no model step follows it in the same list"),
        ("{name: b, model: x, output_tokens: 1, cacheable: [system, system]}",
         "spec.yaml: steps[1].cacheable: ['system', 'system']: cacheable lists a part twice; list each part at most "
         "once"),
    ],
)
def test_step_errors_name_file_field_value_rule(step, expected):
    assert errors_of(VALID + f"  - {step}\n") == [expected]


def test_every_problem_gets_its_own_line():
    text = VALID.replace("tasks_per_month: 1000", "tasks_per_month: -1, growth: 2") + "  - {name: b}\n"
    assert len(errors_of(text)) == 3


def test_yaml_syntax_error_names_line_and_column():
    assert errors_of("name: t\nsteps: [\n") == [
        "spec.yaml: line 3, column 1: invalid YAML: expected the node content, but found '<stream end>'"]


def test_duplicate_key_names_line_and_key():
    text = VALID + "    output_tokens: 5\n"
    assert errors_of(text) == ["spec.yaml: line 9, column 5: invalid YAML: duplicate key 'output_tokens' (first at "
                               "line 8)"]
    # a merge key (<<) may be overridden: not a duplicate
    merged = "base: &b {p50: 1, p90: 2}\n" + VALID.replace("{lognormal: {p50: 100, p90: 300}}",
                                                             "{lognormal: {<<: *b, p90: 3}}")
    assert errors_of(merged) == ["spec.yaml: base: unknown field (check the spelling)"]


def test_alias_bomb_error_is_short_and_fast():
    """10 levels of 10 aliases: 10^10 numbers if expanded; the message must not expand them."""
    levels = ["  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    levels += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "x:\n" + "\n".join(levels) + "\n" + VALID.replace("tasks_per_month: 1000", "tasks_per_month: *a9")
    started = time.perf_counter()
    problems = errors_of(text)
    assert time.perf_counter() - started < 2.0
    assert problems[0].startswith("spec.yaml: volume.tasks_per_month: [[[[[...], [...], [...]")
    assert problems[0].endswith(": value must be a number") and all(len(p) < 200 for p in problems)


def test_not_a_mapping_and_missing_file(tmp_path):
    assert errors_of("- 1\n- 2\n") == ["spec.yaml: (top level): [1, 2]: expected a mapping of fields"]
    with pytest.raises(SpecError, match=r"nope\.yaml: cannot read"):
        load_workflow(tmp_path / "nope.yaml")


def test_examples_load(examples):
    for path in examples:
        assert load_workflow(path).steps


# ---------------------------------------------------------------- fuzzing: no input may escape as a crash

KEYS = ["name", "volume", "steps", "outcome", "tasks_per_month", "monthly_growth", "background", "model", "tool",
        "loop", "iterations", "max_steps", "context_growth_tokens", "input_tokens", "system", "user", "context",
        "output_tokens", "cache_hit_rate", "cacheable", "retry_rate", "routing", "share", "batch", "calls_per_run",
        "fee_usd_per_call", "result_tokens_per_call", "success_rate", "human_cost_usd_per_task", "triangular",
        "pert", "lognormal", "p50", "p90", "provider", "calls_per_day"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from(["gpt-4o", "history", "system", "x"]), st.dates())
TREES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), kids, max_size=6),
                     max_leaves=40)


def _survives(data) -> None:
    try:
        text = yaml.safe_dump(data)
    except yaml.YAMLError:
        return
    try:
        parse_workflow(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems and all(line.startswith("fuzz.yaml: ") and "\n" not in line for line in exc.problems)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_fuzz_structured_documents(data):
    _survives(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_raw_text(text):
    try:
        parse_workflow(text, "fuzz.yaml")
    except SpecError as exc:
        assert all(line.startswith("fuzz.yaml: ") for line in exc.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_valid_spec(data):
    """Replace one node of a valid spec by a random value."""
    doc = yaml.safe_load(VALID + "  - {name: l, loop: {iterations: {pert: [1, 3, 9]}, max_steps: 5}, "
                                 "steps: [{name: b, model: gpt-4o, output_tokens: 10}]}\n")
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(doc, ())
    path = data.draw(st.sampled_from(paths[1:]))
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = data.draw(TREES)
    _survives(doc)
