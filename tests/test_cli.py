import contextlib
import copy
import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.cli.main import main

from .conftest import ROOT

SPEC = """
name: cli-test
volume: {tasks_per_month: 2000}
steps:
  - {name: a, model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 500}
outcome: {success_rate: 0.8, human_cost_usd_per_task: 4.0}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_json_is_stable_and_by_hand(capsys, spec):
    code, out, _ = run(capsys, "estimate", str(spec), "--format", "json", "--samples", "2000", "--date",
                       "2026-11-25", "--prices", "none")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "forecast.estimate/1"
    assert set(doc) >= {"workflow", "price_date", "prices", "per_task_usd", "per_month_usd",
                        "per_successful_outcome_usd", "tokens_per_task", "steps", "models", "loops", "projection",
                        "warnings", "spec", "settings", "price_overrides"}
    # gpt-4o-mini (genai-prices): $0.15 in, $0.60 out per million: 1000 x 0.15 + 500 x 0.60 = 450 per 1e6
    assert doc["per_task_usd"]["expected"] == pytest.approx(450e-6)
    assert doc["per_month_usd"]["expected"] == pytest.approx(2000 * 450e-6)
    assert doc["per_successful_outcome_usd"]["expected"] == pytest.approx(450e-6 / 0.8)
    assert doc["steps"][0]["input_tokens_per_task"] == 1000


def test_estimate_table_and_csv(capsys, spec):
    code, out, _ = run(capsys, "estimate", str(spec), "--samples", "2000", "--prices", "none")
    assert code == 0 and "per task" in out and "openai/gpt-4o-mini" in out and "Projection" in out
    code, out, _ = run(capsys, "estimate", str(spec), "--samples", "2000", "--prices", "none", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    month = next(r for r in rows if r["section"] == "per_month_usd" and r["metric"] == "expected")
    assert float(month["value"]) == pytest.approx(0.9)


def test_compare_shows_difference(capsys, spec, tmp_path):
    other = tmp_path / "b.yaml"
    other.write_text(SPEC.replace("tasks_per_month: 2000", "tasks_per_month: 3000"))
    code, out, _ = run(capsys, "estimate", str(spec), "--compare", str(other), "--format", "json",
                       "--samples", "1000", "--prices", "none")
    diff = json.loads(out)["difference"]["per_month_usd"]["expected"]
    assert diff["b_minus_a"] == pytest.approx(1000 * 450e-6) and diff["change"] == pytest.approx(0.5)
    code, out, _ = run(capsys, "estimate", str(spec), "--compare", str(other), "--samples", "1000",
                       "--prices", "none")
    assert code == 0 and "+50.0%" in out


def test_compare_several_specs_side_by_side_and_their_payback_in_a_case(capsys, spec, tmp_path):
    double, triple = tmp_path / "double.yaml", tmp_path / "triple.yaml"
    double.write_text(SPEC.replace("tasks_per_month: 2000", "tasks_per_month: 4000"))
    triple.write_text("# What-if scenario of spec.yaml\n"
                      "# controls changed from the spec: tasks per month 2,000 -> 6,000"
                      + SPEC.replace("tasks_per_month: 2000", "tasks_per_month: 6000"))
    code, out, _ = run(capsys, "estimate", str(spec), "--compare", str(double), "--compare", str(triple),
                       "--samples", "1000", "--prices", "none")
    # by hand: a task costs 1,000 x $0.15 + 500 x $0.60 per million tokens = $0.00045 (gpt-4o-mini list prices)
    row = next(line.split() for line in out.splitlines() if line.startswith("per month expected"))
    assert row[3:] == ["0.90", "1.80", "2.70", "0.90", "1.80", "+100.0%", "+200.0%"]
    assert out.splitlines()[:3] == [f"A = cli-test  {spec}", f"B = cli-test  {double}", f"C = cli-test  {triple}  "
                                    "(controls changed from the spec: tasks per month 2,000 -> 6,000)"]
    code, out, _ = run(capsys, "estimate", "--compare", str(double), "--compare", str(triple), str(spec),
                       "--samples", "1000", "--prices", "none", "--format", "json")  # SPEC may come last
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "forecast.estimate-comparison/1" and len(doc["scenarios"]) == 3
    assert doc["difference_from_first"][1]["per_month_usd"]["expected"]["b_minus_a"] == pytest.approx(1.8)

    # in the packaged case, the spec it names reproduces `forecast roi`'s NPV and payback
    case = ROOT / "data" / "cases" / "support_triage.yaml"
    triage = ROOT / "data" / "workflows" / "support_triage.yaml"
    code, out, _ = run(capsys, "roi", str(case), "--prices", "none", "--format", "json", "--samples", "0")
    assert code == 0
    roi = json.loads(out)["results"][0]["summary"]
    code, out, _ = run(capsys, "estimate", str(triage), "--compare", str(triage), "--case", str(case),
                       "--samples", "2000", "--prices", "none", "--format", "json")
    assert code == 0
    finance = json.loads(out)["case"]["finance"]
    assert finance[0]["npv_usd"] == pytest.approx(roi["npv_usd"], rel=1e-9)
    assert finance[0]["payback_month"] == finance[1]["payback_month"] == roi["payback_month"]
    assert main(["estimate", str(spec), "--case", str(case)]) == 2
    assert "--case needs --compare" in capsys.readouterr().err
    code, out, _ = run(capsys, "estimate", str(triage), "--compare", str(triage), "--case", str(case),
                       "--samples", "2000", "--prices", "none", "--format", "csv")
    npv = [r for r in csv.DictReader(io.StringIO(out)) if r["section"] == "case" and r["metric"] == "npv_usd"]
    assert [float(r["value"]) for r in npv] == pytest.approx([roi["npv_usd"]] * 2, rel=1e-9)
    assert main(["estimate", str(spec), "--compare", str(spec), "--case", str(spec)]) == 2
    assert "a workflow spec, not a business case" in capsys.readouterr().err
    assert main(["estimate", str(spec), "--compare", str(case)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {case}: a business case, not a workflow spec: give it "
                                                    "with --case (or run forecast roi on it)"]


def test_bad_spec_exits_2_with_one_line_per_problem(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("tasks_per_month: 2000", "tasks_per_month: -2").replace("output_tokens: 500",
                                                                                         "output_tokens: x"))
    code, out, err = run(capsys, "estimate", str(bad))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: {bad}: volume.tasks_per_month: -2: a count must be >= 0",
        f"error: {bad}: steps[0].output_tokens: 'x': value must be a number",
    ]


def test_unknown_model_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("gpt-4o-mini", "gpt-4o-mni"))
    code, _, err = run(capsys, "estimate", str(bad), "--prices", "none")
    assert code == 2 and "unknown model 'gpt-4o-mni'" in err and "openai/gpt-4o-mini" in err
    assert len(err.splitlines()) == 1


def test_prices_command(capsys):
    code, out, _ = run(capsys, "prices", "claude-sonnet-4-5", "--provider", "anthropic", "--date", "2026-11-25",
                       "--format", "json", "--prices", "none")
    doc = json.loads(out)
    assert code == 0 and doc["input_usd_per_mtok"] == 3.0 and doc["tiers"][0]["above_input_tokens"] == 200_000
    assert doc["source"].startswith("genai-prices")


def test_console_script_runs_as_a_real_process(spec):
    exe = ROOT / ".venv" / "bin" / "forecast"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "forecast.cli"]
    done = subprocess.run([*cmd, "estimate", str(spec), "--samples", "500", "--prices", "/nonexistent.yaml"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: /nonexistent.yaml: cannot read")


def test_output_does_not_depend_on_the_process_hash_seed():
    """Same seed, same document, whatever PYTHONHASHSEED a process gets (set order must not leak in)."""
    import os

    spec = ROOT / "data" / "workflows" / "code_review_bot.yaml"
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-m", "forecast.cli", "estimate", str(spec), "--format", "json",
                               "--samples", "2000", "--scenarios", "500", "--date", "2026-11-25"],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--seed", "-1"], "argument --seed: '-1' must be a whole number from 0 to 4,294,967,295"),
        (["--months", "100000"], "argument --months: '100000' must be a whole number from 1 to 120"),
        (["--date", "9999-12-01", "--months", "2"], "argument --date: '9999-12-01' must lie between 1970-01-01 and "
                                                    "2199-12-31"),
        (["--samples", "10000000000"], "argument --samples: '10000000000' must be a whole number from 1 to "
                                       "10,000,000"),
        (["--scenarios", "0"], "argument --scenarios: '0' must be a whole number from 1 to 100,000"),
    ],
)
def test_option_bounds_exit_2_with_a_clear_message(capsys, spec, option, message):
    with pytest.raises(SystemExit) as exit_:
        main(["estimate", str(spec), "--prices", "none", *option])
    assert exit_.value.code == 2
    # one line, no usage block
    assert capsys.readouterr().err.splitlines() == [f"error: forecast estimate: {message} "
                                                    "(see forecast estimate --help)"]


def test_largest_allowed_options_run(capsys, spec):
    code, out, _ = run(capsys, "estimate", str(spec), "--prices", "none", "--seed", "4294967295", "--months", "120",
                       "--date", "2199-12-31", "--samples", "10", "--scenarios", "5", "--format", "json")
    assert code == 0 and json.loads(out)["projection"][-1]["month"] == "2209-11"  # 119 months after 2199-12


# ---------------------------------------------------------------- fuzzing the whole command

ODD_NUMBERS = st.one_of(
    st.sampled_from([0, 0.0, -1, 1e-300, 0.5, 1, 3, 10**12, 10**20, 1e300, 1.7e308, 10**400, float("inf"),
                     float("nan")]),
    st.integers(min_value=-10**6, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False))
ODD_VALUES = st.one_of(
    ODD_NUMBERS,
    st.lists(ODD_NUMBERS, min_size=3, max_size=3).map(lambda xs: {"triangular": sorted(xs)}),
    st.lists(ODD_NUMBERS, min_size=3, max_size=3).map(lambda xs: {"pert": sorted(xs)}),
    st.tuples(ODD_NUMBERS, ODD_NUMBERS).map(lambda p: {"lognormal": {"p50": p[0], "p90": p[1]}}),
    st.sampled_from(["x", None, True, [], {}]))


def _number_paths(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _number_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _number_paths(value, (*path, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path


EXAMPLE_DOCS = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "data" / "workflows").glob("*.yaml"))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_estimate_on_mutated_examples(data):
    """Example specs with 1-3 numbers replaced by wide or odd values: exit 0 or 2, never a traceback."""
    doc = copy.deepcopy(data.draw(st.sampled_from(EXAMPLE_DOCS)))
    paths = list(_number_paths(doc))
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = data.draw(ODD_VALUES)
    fmt = data.draw(st.sampled_from(["table", "json", "csv"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(yaml.safe_dump(doc))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["estimate", str(path), "--samples", "50", "--scenarios", "20", "--months", "2",
                         "--date", "2026-11-25", "--format", fmt])
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue() and all(line.startswith(f"error: {path}: ") for line in err.getvalue().splitlines())
    else:
        assert out.getvalue()


@pytest.mark.parametrize(("argv", "message"), [
    (["gpu", "--model", "llama-3.1-8b", "--gpu", "h100", "--input", "-5"],
     "argument --input: '-5' must be at least 1 token"),
    (["gpu", "--model", "llama-3.1-8b", "--gpu", "h100", "--input", "nan"],
     "argument --input: 'nan' is not a finite number: it must be at least 1 token"),
    (["predict", "s.csv", "--horizon", "3", "--level", "100"],
     "argument --level: '100' must be a percentage between 0 and 100, e.g. 80"),
    (["roi", "case.yaml", "--tornado", "1.5"], "argument --tornado: '1.5' must be a fraction between 0 and 1"),
    (["budgets", "--month", "2026-13"], "argument --month: '2026-13' is not a month: use YYYY-MM"),
])
def test_bad_option_values_name_the_option_value_and_rule(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_bug_exits_3_with_its_traceback_apart_from_a_breach_and_bad_input(monkeypatch, capsys):
    from forecast.cli import estimate

    def broken(args):
        raise ZeroDivisionError("a bug in a command")

    monkeypatch.setattr(estimate, "run", broken)
    assert main(["estimate", "spec.yaml"]) == 3
    err = capsys.readouterr().err
    assert "ZeroDivisionError: a bug in a command" in err and "internal error (exit 3): this is a bug" in err


def test_a_path_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    series = tmp_path / "s.csv"
    series.write_text("unique_id,ds,y\n" + "".join(f"a,2026-{m:02d}-01,{m}\n" for m in range(1, 9)))
    for argv in (["report", "self-hosting", "--name", "z", "--reports-dir", str(blocker)],
                 ["predict", str(series), "--horizon", "2", "--scheduler", "serial", "--out", str(blocker / "f.csv")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {blocker}") and err.count("\n") == 1 and "Traceback" not in err


def test_a_malformed_dask_address_is_refused_before_any_work(tmp_path, capsys):
    series = tmp_path / "s.csv"
    series.write_text("unique_id,ds,y\n" + "".join(f"a,2026-{m:02d}-01,{m}\n" for m in range(1, 9)))
    for address in ("bogus", "tcp://[::1", "tcp://host-without-port"):
        assert main(["predict", str(series), "--horizon", "2", "--scheduler", address]) == 2
        assert "must be local, serial or a Dask address like tcp://HOST:PORT" in capsys.readouterr().err
