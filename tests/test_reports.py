"""Notebook reports: parameters checked against the notebooks, papermill runs, offline HTML."""

import hashlib
import json
import re
from datetime import date
from importlib.metadata import version

import pytest
from openpyxl import load_workbook

from forecast.cli.main import main
from forecast.cli.report import POSITIONAL, kind_parser
from forecast.core.errors import ForecastError
from forecast.reporting.runner import NOTEBOOKS, TYPES, check_parameters, notebook_parameters, notebook_path, run_report

from .browser import open_offline
from .conftest import ROOT
from .report_scan import report_problems

SPEC = """
name: report-test
volume: {tasks_per_month: 2000}
steps:
  - {name: a, model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 500}
outcome: {success_rate: 0.8, human_cost_usd_per_task: 4.0}
"""
PRESENT = [k for k, name in NOTEBOOKS.items() if (ROOT / "notebooks" / name).exists()]


@pytest.mark.parametrize("kind", PRESENT)
def test_every_notebook_parameter_is_a_typed_documented_cli_option(kind):
    params = notebook_parameters(notebook_path(kind))
    parser = kind_parser(kind)
    options = {a.dest: a for a in parser._actions}
    for name, info in params.items():
        assert info["inferred_type_name"] in TYPES and info["help"], f"{kind}: {name} needs a type and a help text"
        assert name in options, f"{kind}: parameter {name} has no CLI option"
        assert (options[name].option_strings == []) == (POSITIONAL.get(kind) == name)
    extra = {d for d in options if not d.startswith("_") and d != "help"} - set(params)
    assert not extra, f"{kind}: CLI options without a notebook parameter: {extra}"


def test_unknown_and_mistyped_parameters_are_rejected():
    notebook = notebook_path("estimate")
    with pytest.raises(ForecastError) as err:
        check_parameters(notebook, {"spec": "x.yaml", "sample": 10, "seed": "zero"})
    assert err.value.problems == [
        "estimate.ipynb: parameter 'sample' is unknown; known: " + ", ".join(notebook_parameters(notebook)),
        "estimate.ipynb: parameter 'seed' = 'zero' must be a int",
    ]
    assert check_parameters(notebook, {"samples": 10}) == {"samples": 10}


def test_cli_rejects_a_parameter_the_notebook_does_not_declare(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "estimate", "spec.yaml", "--bogus", "1"])
    assert exit_.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_estimate_report_runs_offline_and_is_never_overwritten(tmp_path, capsys):
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC)
    argv = ["report", "estimate", str(spec), "--price-date", "2026-11-25", "--prices", "none", "--samples", "2000",
            "--scenarios", "200", "--months", "3", "--alternatives", "openai:gpt-4.1-nano",
            "--reports-dir", str(tmp_path / "reports")]
    assert main(argv) == 0
    first = tmp_path / "reports" / "estimate" / "small"
    assert f"report written to {first}/" in capsys.readouterr().out
    assert main(argv) == 0
    second = tmp_path / "reports" / "estimate" / "small-v2"
    assert second.is_dir() and sorted(p.name for p in first.iterdir()) == [
        "estimate.html", "estimate.ipynb", "manifest.json", "small.xlsx"]

    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["parameters"]["samples"] == 2000 and manifest["kind"] == "estimate"
    assert set(manifest["inputs"]) == {str(spec)}

    html = (first / "estimate.html").read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"https?:", html), "reports must not load scripts"
    page = open_offline(first / "estimate.html", tmp_path / "estimate.png")
    assert page["blocked"] == []
    assert len(page["charts"]) >= 2 and all(c["width"] > 100 and c["height"] > 50 for c in page["charts"])
    assert (tmp_path / "estimate.png").stat().st_size > 20_000
    text = page["text"]
    assert "def " not in text and "import " not in text, "code cells are left out"
    # gpt-4o-mini (genai-prices): $0.15 / $0.60 per Mtok: 1000 x 0.15e-6 + 500 x 0.60e-6 = $0.00045 a task;
    # 2,000 tasks: $0.90 a month; success 0.8: $0.0005625 per outcome; vs $4.00 human: 0.0140625%
    assert "one task costs $0.00045 on average" in text
    assert "the first month costs $0.90 " in text
    assert "each successful outcome costs $0.0005625" in text
    # gpt-4.1-nano (genai-prices): $0.10 / $0.40 per Mtok: 1000 x 0.10e-6 + 500 x 0.40e-6 = $0.0003 a task
    assert "every model step on openai:gpt-4.1-nano at $0.60 a month (-33% against the spec as written)" in text
    assert report_problems(first) == []

    # the provenance footer: when, on what, with which tool and price data, the input's own SHA-256
    digest = hashlib.sha256(spec.read_bytes()).hexdigest()
    assert "Provenance" in text and f"{spec} (SHA-256 {digest})" in text
    assert "prices as of 2026-11-25" in text and f"genai-prices {version('genai-prices')}" in text
    assert re.search(r"Generated at\s+20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)

    # the workbook holds the same figures as numbers, formatted as the report shows them
    book = load_workbook(first / "small.xlsx")
    summary = book["report-test"]  # the sheet of the table under the spec's name, the report's first section
    assert [c.value for c in summary[1]] == ["cost", "expected", "P10", "P50", "P90", "P99"]
    per_task = {r[0].value: r for r in summary.iter_rows(min_row=2)}["per task"]
    assert per_task[1].value == pytest.approx(0.00045) and per_task[1].number_format.startswith("$")
    prices = book["Prices used"]
    header = [c.value for c in prices[1]]
    row = [c.value for c in prices[2]]
    assert row[header.index("model")] == "gpt-4o-mini"
    assert row[header.index("input per million tokens")] == pytest.approx(0.15)  # genai-prices gpt-4o-mini
    assert row[header.index("output per million tokens")] == pytest.approx(0.60)
    variants = {r[0].value: r for r in book["Model and routing alternatives"].iter_rows(min_row=2)}
    assert variants["every model step on openai:gpt-4.1-nano"][1].value == pytest.approx(0.0003)
    facts = {r[0].value: r[1].value for r in book["Provenance"].iter_rows()}
    assert facts["Input 1"] == f"{spec} (SHA-256 {digest})" and facts["Parameter samples"] == "2000"


def test_a_failing_cell_fails_the_run_and_keeps_the_notebook_aside(tmp_path):
    with pytest.raises(ForecastError) as err:
        run_report("estimate", "broken", {"spec": str(tmp_path / "missing.yaml"), "prices": "none"}, [],
                   tmp_path / "reports")
    assert "failed: SpecError" in str(err.value)
    assert not (tmp_path / "reports" / "estimate" / "broken").exists()
    kept = tmp_path / "reports" / "estimate" / "failed-broken" / "estimate.ipynb"
    assert kept.exists() and str(err.value).endswith(f"(executed notebook kept at {kept})")


def test_a_bad_spec_is_refused_before_a_kernel_starts(tmp_path, capsys):
    bad = tmp_path / "typo.yaml"
    bad.write_text(SPEC.replace("output_tokens: 500", "outptu_tokens: 500"))
    assert main(["report", "estimate", str(bad), "--reports-dir", str(tmp_path / "reports")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {bad}: steps[0].output_tokens: missing: this field is required",
        f"error: {bad}: steps[0].outptu_tokens: unknown field (check the spelling)"]
    assert not (tmp_path / "reports").exists()


def _report_text(tmp_path, kind: str, argv: list[str]) -> str:
    """Run `forecast report KIND ...` into tmp_path and return the HTML report's visible text, after checking the
    report and its workbook show nothing a reader must not see (report_scan)."""
    assert main(["report", kind, *argv, "--reports-dir", str(tmp_path / "reports")]) == 0
    (folder,) = (tmp_path / "reports" / kind).iterdir()
    (html,) = folder.glob("*.html")
    assert report_problems(folder) == []
    return open_offline(html, tmp_path / f"{kind}.png")["text"]


def test_roi_report_on_a_case_done_on_paper(tmp_path, book):
    from .finance_cases import tiny_case, write_case

    case = write_case(tmp_path, tiny_case())
    text = _report_text(tmp_path, "roi", [str(case), "--prices", book.overrides_path, "--samples", "0",
                                          "--scenarios", "base"])
    # net cash by month (tests/finance_cases.py): -1000 (build), -1000 (engineer), 899, 1898; at 1% a month
    npv = -1000 - 1000 / 1.01 + 899 / 1.01**2 + 1898 / 1.01**3
    assert round(npv) == 733
    assert "has an NPV of $733, " in text and "pays back in month 3." in text
    # benefits 1500 + 3000 = 4500; costs 1000 + 1000 + (500 + 1 + 100) + (1000 + 2 + 100) = 3703
    assert "Benefits of $4,500 against costs of $3,703: an ROI of 21.5% before tax." in text


def test_self_hosting_report_prices_the_api_by_hand_and_prints_to_pdf(tmp_path):
    from pypdf import PdfReader

    text = _report_text(tmp_path, "self-hosting", [
        "--model", "llama-3.3-70b", "--gpu", "h100", "--precision", "fp8", "--tokens-per-month", "5e9",
        "--vs-api", "groq:llama-3.3-70b-versatile", "--price-date", "2026-11-25", "--prices", "none", "--pdf"])
    # Llama 3.3 70B (Hugging Face config.json): 70.6e9 parameters, of which the input embedding and the untied
    # output head are 128,256 x 8,192 = 1.0507e9 each and stay at 16 bits under fp8 serving engines:
    # 70.6e9 x 1 byte + 2 x 1.0507e9 x 1 extra byte = 72.7 GB
    assert "The weights take 72.7 GB; one h100 has 80 GB." in text
    # groq llama-3.3-70b-versatile (genai-prices): $0.59 in, $0.79 out per Mtok; requests of 1000 in + 300 out:
    # (1000 x 0.59 + 300 x 0.79) / 1300 = $0.6362 per Mtok; x 5,000 Mtok = $3,181 a month
    assert "Against groq:llama-3.3-70b-versatile ($0.6362 per million tokens, $3,181 a month at this volume)" in text
    # the summary at the top compares with the cheapest API too (here the only one)
    assert ("Against the cheapest API compared, groq:llama-3.3-70b-versatile at $3,181 a month for the same requests "
            "($0.6362 per million tokens): self-hosting is ") in text
    # --pdf: the same page printed by Chromium, read back (page count and text)
    (folder,) = (tmp_path / "reports" / "self-hosting").iterdir()
    pdf = PdfReader(folder / "self_hosting.pdf")
    printed = " ".join(page.extract_text() for page in pdf.pages)
    assert 1 <= len(pdf.pages) <= 6
    assert "Self-hosting: GPU sizing and break-even" in printed and "Provenance" in printed
    assert "The weights take 72.7 GB" in printed
    assert "self_hosting.pdf" in json.loads((folder / "manifest.json").read_text())["outputs"]


def test_an_estimate_with_an_agent_loop_reads_cleanly_and_shows_its_calibration(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forecast.design.prices import price_book
    from forecast.design.specs import load_workflow
    from forecast.usage.spec_logs import spec_logs
    from forecast.usage.warehouse import Warehouse

    spec = ROOT / "data" / "workflows" / "research_agent.yaml"
    logs, _ = spec_logs(load_workflow(spec), price_book("none"), date(2026, 10, 1), 300, seed=2)
    pq.write_table(pa.Table.from_pandas(logs, preserve_index=False), tmp_path / "logs.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "logs.parquet", book=price_book("none"))
    assert main(["report", "estimate", str(spec), "--price-date", "2026-11-25", "--prices", "none", "--samples",
                 "2000", "--scenarios", "100", "--months", "2", "--production", str(tmp_path / "w.duckdb"),
                 "--reports-dir", str(tmp_path / "reports")]) == 0
    folder = tmp_path / "reports" / "estimate" / "research_agent"
    assert report_problems(folder) == []
    text = open_offline(folder / "estimate.html", tmp_path / "estimate.png")["text"]
    assert "Calibrated on 300 logged tasks (2026-10)" in text
    assert str(tmp_path / "w.duckdb") in json.loads((folder / "manifest.json").read_text())["inputs"]
    rows = {r[0].value: r for r in load_workbook(folder / "research_agent.xlsx")["Designed and calibrated"]
            .iter_rows(min_row=2)}
    assert rows["per task"][1].value != rows["per task"][2].value  # designed and calibrated, side by side
    sheet = load_workbook(folder / "research_agent.xlsx")["Agent loops and their caps"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["loop", "cap (max steps)", "iterations per task"]
    share = sheet.cell(row=2, column=header.index("tasks hitting the cap") + 1)
    assert 0 <= share.value <= 1 and share.number_format.endswith("%")


def test_monthly_report_on_a_generated_company(tmp_path):
    import numpy as np
    import pyarrow.parquet as pq

    from forecast.usage.sample import generate_requests

    table, truth = generate_requests(6_000, 9, seed=3, corrupt_share=0.0)
    log = tmp_path / "requests.parquet"
    pq.write_table(table, log)
    warehouse = tmp_path / "w.duckdb"
    assert main(["ingest", str(log), "--warehouse", str(warehouse), "--prices", "none"]) == 0
    text = _report_text(tmp_path, "monthly", ["--warehouse", str(warehouse), "--budgets", "none", "--horizon", "6"])
    # the generator's own per-row true cost (the warehouse prices rows without a cost the same way), summed by
    # UTC month: October 2026 is the last complete month, September the month before
    month = truth["ts"].astype("datetime64[M]")
    oct_usd = truth["true_cost_usd"][month == np.datetime64("2026-10")].sum()
    sep_usd = truth["true_cost_usd"][month == np.datetime64("2026-09")].sum()
    def money(x):  # the reports' rounding: whole dollars from $100, cents from $1
        return ("-" if x < 0 else "") + (f"${abs(x):,.0f}" if abs(x) >= 100 else f"${abs(x):,.2f}")

    assert f"AI inference spend was {money(oct_usd)} in October 2026, {oct_usd / sep_usd - 1:+.1%} against " \
           f"{money(sep_usd)} in September (logged cost, at list price" in text
    assert f"Spend moved by {'+' if oct_usd > sep_usd else ''}{money(oct_usd - sep_usd)};" in text
    assert "Last month's forecast (no run was saved before the month, so it was made afterwards from the data " \
           "before it; run " in text
    assert "Tag coverage" in text and "What changed since the month before" in text
    # --horizon 6: the per-node table covers 6 months and gives the interval of the 6-month total itself
    assert "Next 6 months per node" in text and "6-month forecast (USD)" in text
    assert "80% low" in text and "95% high" in text and "not sums of monthly bounds" in text
    assert "sum of monthly P10s" not in text
    # the report saved its forecast run and the backfilled one
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute("SELECT count(*), count(*) FILTER (WHERE parameters LIKE '%backfill%') "
                           "FROM forecast_runs").fetchone()
    assert runs == (2, 1)
    # run again: the backfill the first report saved is found, and still said to be one
    again = _report_text(tmp_path / "again", "monthly", ["--warehouse", str(warehouse), "--budgets", "none",
                                                          "--horizon", "6"])
    assert "Last month's forecast (no run was saved before the month, so it was made afterwards" in again


def test_monthly_report_on_six_months_says_there_is_no_backtest_yet_and_compares_a_design(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forecast.design.prices import price_book
    from forecast.design.specs import parse_workflow
    from forecast.usage.drift import drift
    from forecast.usage.sample import generate_requests
    from forecast.usage.spec_logs import spec_logs
    from forecast.usage.warehouse import Warehouse

    from .test_calibration import SPEC, TRUE_SPEC

    table, _ = generate_requests(3_000, 6, seed=5, corrupt_share=0.0)  # May to October 2026
    pq.write_table(table, tmp_path / "requests.parquet")
    # and one agent workflow logged call by call in October, drawn from a truth its design in workflows/ missed
    logs, _ = spec_logs(parse_workflow(TRUE_SPEC), price_book("none"), date(2026, 10, 1), 400, seed=3)
    pq.write_table(pa.Table.from_pandas(logs, preserve_index=False), tmp_path / "agent.parquet")
    warehouse = tmp_path / "w.duckdb"
    assert main(["ingest", str(tmp_path / "requests.parquet"), str(tmp_path / "agent.parquet"),
                 "--warehouse", str(warehouse), "--prices", "none"]) == 0
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "cal-test.yaml").write_text(SPEC.replace("HIT", "0.8"))
    monkeypatch.chdir(tmp_path)
    text = _report_text(tmp_path, "monthly", ["--warehouse", str(warehouse), "--budgets", "none"])
    assert "No series is long enough for a backtest yet" in text and "Median backtest MASE" not in text
    # the design section states the same figures forecast drift computes on the same warehouse
    with Warehouse(warehouse, read_only=True) as wh:
        # the report prices with the working folder's default book (here the packaged example's overrides)
        found = drift(parse_workflow(SPEC.replace("HIT", "0.8")), wh.con, date(2026, 10, 1), price_book())
    c = found.cost_per_task
    assert "Design against production" in text and "400 logged tasks." in text
    assert f"The design prices a task's model calls at ${c['designed']:.4g}" in text
    assert f"the logs show ${c['actual']:.4g}" in text


ROUTED_SPEC = """
name: routed
volume: {tasks_per_month: 2000}
steps:
  - {name: a, model: claude-haiku-4-5, input_tokens: {user: 1000}, output_tokens: 500,
     routing: [{model: gpt-4o, provider: openai, share: 0.3}]}
"""


def test_on_model_prices_every_call_on_the_new_model_and_keeps_the_source():
    from datetime import date

    from forecast.design.alternatives import on_model
    from forecast.design.estimate import estimate
    from forecast.design.prices import PriceBook
    from forecast.design.specs import parse_workflow

    wf = on_model(parse_workflow(ROUTED_SPEC, "routed.yaml"), "gpt-4o-mini", "openai")
    assert wf.source == "routed.yaml"  # price errors name the spec file, not '<spec>'
    doc = estimate(wf, PriceBook(), date(2026, 11, 1), samples=1_000, scenarios=10, months=1).to_dict()
    # by hand: OpenAI's list price for gpt-4o-mini is $0.15 input / $0.60 output per million tokens;
    # 1,000 * 0.15e-6 + 500 * 0.60e-6 = $0.00045 per task, routing gone, times 2,000 tasks a month
    assert doc["per_task_usd"]["expected"] == pytest.approx(0.00045, rel=1e-9)
    assert doc["per_month_usd"]["expected"] == pytest.approx(0.9, rel=1e-9)


@pytest.mark.parametrize("model, provider", [("", None), ("   ", None), ("x" * 121, None), ("gpt-4o-mini", "")])
def test_on_model_rejects_names_the_spec_would_reject(model, provider):
    # dataclasses.replace() skips the spec's validation, so on_model checks the names itself
    from forecast.design.alternatives import on_model, parse_model_list
    from forecast.design.specs import parse_workflow

    with pytest.raises(ForecastError, match=r"alternative (model|provider)"):
        on_model(parse_workflow(ROUTED_SPEC, "routed.yaml"), model, provider)
    assert parse_model_list("openai:") == [("openai", "")]  # and so 'openai:' in --alternatives fails clearly


def test_the_self_hosting_report_and_forecast_gpu_share_one_traffic_profile():
    """The report's defaults, the CLI's and the library's are the same numbers, so their figures agree."""
    import argparse
    import ast
    import inspect

    from forecast.cli.gpu import add_parsers
    from forecast.gpu.sizing import size_fleet

    library = inspect.signature(size_fleet).parameters
    report = {k: ast.literal_eval(v["default"]) for k, v in notebook_parameters(notebook_path("self-hosting")).items()}
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    cli = vars(parser.parse_args(["gpu", "--model", "x", "--gpu", "y"]))
    for name, cli_name in (("input_tokens", "input"), ("output_tokens", "output"), ("tokens_per_month", None),
                           ("peak_to_average", None), ("utilisation", None), ("pricing", None)):
        assert report[name] == library[name].default == cli[cli_name or name], name


def test_an_irr_above_100_percent_is_explained_beside_its_payback(book):
    import forecast as fc
    from forecast.reporting.prose import roi_summary

    evaluation = fc.evaluate_case(fc.example("cases/support_triage.yaml"), book, ["base"], 0, 0, 0.2)
    s = evaluation.result()["summary"]
    assert s["irr_annual"] > 1  # the packaged example: a small build against large labour savings
    text = roi_summary(evaluation)
    assert (f"An IRR above 100% a year means the money at risk before the case pays back is small against what it "
            f"returns, and comes back fast (payback in month {s['payback_month']})") in text
