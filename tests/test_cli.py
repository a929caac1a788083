import csv
import io
import json
import subprocess
import sys

import pytest

from forecast.cli import main
from forecast.prices import PriceBook
from forecast.reports import write_estimates

from .conftest import DAY, ROOT

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


def test_report_runs_never_overwrite(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(SPEC)
    first = write_estimates(specs, tmp_path / "reports", PriceBook(), DAY, samples=500)
    second = write_estimates(specs, tmp_path / "reports", PriceBook(), DAY, samples=500)
    assert first != second
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["outputs"] == ["a.txt", "a.json"] and str(specs / "a.yaml") in manifest["inputs"]
    assert json.loads((first / "a.json").read_text())["per_task_usd"]["expected"] == pytest.approx(450e-6)


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
