"""`import forecast as fc`: the entry points a notebook needs, each documented with a worked example, returning
typed, frozen results whose to_dict() is the JSON document the CLI prints."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import forecast as fc
from forecast.cli.main import run

ROOT = Path(__file__).resolve().parents[1]
ON = date(2026, 11, 25)


def test_import_forecast_loads_nothing_heavy_and_lists_the_api():
    code = ("import sys, forecast as fc; "
            "print(sorted(m for m in ('numpy', 'pandas', 'pydantic', 'duckdb') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
    assert set(dir(fc)) >= set(fc.__all__)
    for name in fc.__all__:
        assert getattr(fc, name) is not None, name


@pytest.mark.parametrize("name", [n for n in fc.__all__ if n not in ("__version__", "ForecastError")])
def test_every_entry_point_has_a_worked_example(name):
    doc = inspect.getdoc(getattr(fc, name)) or ""
    assert ">>> " in doc, f"fc.{name} has no doctest example"


def test_results_are_frozen_and_their_documents_are_the_cli_json(tmp_path):
    spec = ROOT / "data" / "workflows" / "support_triage.yaml"
    book = fc.price_book("none")
    result = fc.estimate(fc.load_spec(spec), book, ON, samples=2000, scenarios=200, months=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.per_task_usd = None
    out, _ = run(["estimate", str(spec), "--prices", "none", "--date", ON.isoformat(), "--samples", "2000",
                  "--scenarios", "200", "--months", "2", "--format", "json"])
    cli = json.loads(out)
    cli.pop("spec")
    assert json.loads(json.dumps(result.to_dict())) == cli
    changed = result.to_dict()
    changed["per_task_usd"]["expected"] = -1.0
    assert result.to_dict()["per_task_usd"]["expected"] == result.per_task_usd.expected > 0  # a copy each time
    assert "support-triage-agent" in result._repr_html_() and list(result.to_frame().columns)[:2] == ["expected", "p10"]
    assert not [f for f in dataclasses.fields(result) if not f.name.startswith("_") and isinstance(
        getattr(result, f.name), dict | list)], "a frozen result hands out nothing mutable"
    variants = fc.alternatives(fc.load_spec(spec), book, ON, "openai:gpt-4o-mini", samples=500)
    with pytest.raises(TypeError):
        variants.rows[0]["usd_per_month"] = 0.0

    sizing = fc.size_fleet("llama-3.3-70b", "h100", precision="fp8", vs_api=[], on=ON)
    out, _ = run(["gpu", "--model", "llama-3.3-70b", "--gpu", "h100", "--precision", "fp8", "--vs-api",
                  "groq:llama-3.3-70b-versatile", "--date", ON.isoformat(), "--format", "json", "--prices", "none"])
    assert json.loads(out)["fleet"] == json.loads(json.dumps(sizing.to_dict()["fleet"]))

    case = ROOT / "data" / "cases" / "support_triage.yaml"
    evaluation = fc.evaluate_case(case, book, samples=0)
    out, _ = run(["roi", str(case), "--samples", "0", "--format", "json", "--prices", "none"])
    assert json.loads(out)["results"] == json.loads(json.dumps(evaluation.to_dict()["results"]))
    assert "<table>" in evaluation._repr_html_() and len(evaluation.to_frame()) == 1


def test_html_escapes_what_the_user_typed():
    spec = fc.parse_spec("name: <script>alert(1)</script>\nvolume: {tasks_per_month: 10}\n"
                         "steps: [{name: s, model: llama-3.3-70b-vllm, provider: self-hosted, output_tokens: 5}]")
    result = fc.estimate(spec, fc.price_book(fc.example("prices/overrides.yaml")), ON, samples=100, scenarios=20,
                         months=1)
    assert "<script>" not in result._repr_html_() and "&lt;script&gt;" in result._repr_html_()
    assert "<script>" not in spec._repr_html_()


def test_library_errors_name_parameters_and_the_cli_names_options(capsys):
    with pytest.raises(fc.ForecastError, match=r"^utilisation 1.5: must be above 0 and at most 1$"):
        fc.size_fleet("llama-3.3-70b", "h100", utilisation=1.5, vs_api=[])
    from forecast.cli.main import main

    assert main(["gpu", "--model", "llama-3.3-70b", "--gpu", "h100", "--utilisation", "1.5"]) == 2
    assert capsys.readouterr().err.strip() == "error: --utilisation 1.5: must be above 0 and at most 1"
    assert main(["gpu", "--model", "llama-3.3-70b", "--gpu", "h100", "--vs-api", "llama"]) == 2
    assert "error: --vs-api 'llama': must be PROVIDER:MODEL" in capsys.readouterr().err


def test_reading_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(fc.ForecastError, match=r"missing\.duckdb: no warehouse here"):
        fc.monthly_report(missing)
    from forecast.cli.main import main

    for argv in (["coverage", "--warehouse", str(missing)], ["anomalies", "--warehouse", str(missing)],
                 ["budgets", "--month", "2026-10", "--budgets", str(ROOT / "data" / "budgets.yaml"),
                  "--warehouse", str(missing)]):
        assert main(argv) == 2
        assert f"{missing}: no warehouse here" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
