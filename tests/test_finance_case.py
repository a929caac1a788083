"""Business-case validation, scenarios and the `forecast roi` command."""

import json

import pytest

from forecast.cli.main import main, run
from forecast.core.errors import PriceError, SpecError
from forecast.core.validation import read_yaml
from forecast.finance.case import parse_case_data
from forecast.finance.economics import compile_case
from forecast.finance.report import evaluate, evaluate_case
from forecast.finance.scenarios import path_segments
from tests.conftest import ROOT
from tests.finance_cases import tiny_case, write_case

NPV_1PCT = -1000 - 1000 / 1.01 + 899 / 1.01**2 + 1898 / 1.01**3  # see test_finance_metrics.py


def _problems(tmp_path, book, **changes) -> str:
    path = write_case(tmp_path, tiny_case(**changes))
    with pytest.raises(SpecError) as info:
        compile_case(parse_case_data(read_yaml(path), str(path)), book)
    return str(info.value)


def test_horizon_shorter_than_build_phase(tmp_path, book):
    msg = _problems(tmp_path, book, horizon_months=2, build={"months": 2})
    assert "case.yaml: horizon_months: 2: must be longer than build.months (2)" in msg


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("discount_rate_annual", 1.5, "an annual discount rate must lie in [0, 1]"),
    ("discount_rate_annual", -0.1, "an annual discount rate must lie in [0, 1]"),
    ("tax_rate", 0.95, "a tax rate must lie in [0, 0.9]"),
    ("token_price_decline_per_year", 1.0, "a token price decline per year must lie in [-0.5, 0.95]"),
])
def test_rates_outside_sensible_bounds(tmp_path, book, field, value, rule):
    msg = _problems(tmp_path, book, finance={"discount_rate_annual": 0.1, field: value})
    assert f"case.yaml: finance.{field}: {value}: {rule}" in msg


def test_unknown_workflow_spec_reference(tmp_path, book):
    case = tiny_case()
    case["workflows"][0]["spec"] = "missing.yaml"
    msg = _problems(tmp_path, book, workflows=case["workflows"])
    assert "case.yaml: workflows[0].spec: 'missing.yaml': no such workflow spec file" in msg


def test_unknown_model_in_referenced_spec_names_the_spec(tmp_path, book):
    path = write_case(tmp_path, tiny_case())
    (tmp_path / "tiny.yaml").write_text((tmp_path / "tiny.yaml").read_text().replace("m-small", "m-nope"))
    with pytest.raises(PriceError, match=r"tiny.yaml: steps\[0\].model: 'm-nope'"):
        compile_case(parse_case_data(read_yaml(path), str(path)), book)


def test_other_inconsistencies_are_one_line_each(tmp_path, book):
    wf = tiny_case()["workflows"]
    wf[0]["benefits"] = {"human_cost_usd_per_task": 3, "labour": {"minutes_saved_per_task": 5, "usd_per_hour": 50}}
    wf[0]["adoption"] = {"plan": [0.5], "s_curve": {"midpoint_month": 3, "steepness_per_month": 1}}
    msg = _problems(tmp_path, book, workflows=wf, people=[], unknown_field=1)
    assert "give one of labour or human_cost_usd_per_task" in msg
    assert "adoption takes exactly one of s_curve or plan" in msg
    assert "case.yaml: unknown_field: unknown field (check the spelling)" in msg
    assert "case.yaml: scenarios[0].name: 'base': reserved" in _problems(
        tmp_path, book, scenarios=[{"name": "base", "set": {}}])
    assert "hardware[0].month: 9: must lie within the horizon" in _problems(
        tmp_path, book, hardware=[{"name": "x", "usd": 1, "useful_life_months": 3, "month": 9}])


def test_scenario_changes_are_validated_and_applied(tmp_path, book):
    scenarios = [{"name": "no-discount", "set": {"finance.discount_rate_annual": 0.0}},
                 {"name": "bad-rate", "set": {"finance.discount_rate_annual": 3}},
                 {"name": "bad-path", "set": {"workflows[4].adoption": {"plan": [1]}}}]
    path = write_case(tmp_path, tiny_case(scenarios=scenarios))
    doc = evaluate_case(path, book, ["base", "no-discount"], samples=0).to_dict()
    base, flat = doc["results"]
    assert base["summary"]["npv_usd"] == pytest.approx(NPV_1PCT, rel=1e-12)
    assert flat["summary"]["npv_usd"] == pytest.approx(-1000 - 1000 + 899 + 1898)
    assert doc["comparison"][0]["npv_usd_b_minus_a"] == pytest.approx(797 - NPV_1PCT)
    with pytest.raises(SpecError, match=r"case.yaml \(scenario bad-rate\): finance.discount_rate_annual: 3:"):
        evaluate_case(path, book, ["bad-rate"], samples=0).to_dict()
    with pytest.raises(SpecError, match=r"scenarios\[2\].set: 'workflows\[4\].adoption': the case has no "):
        evaluate_case(path, book, ["bad-path"], samples=0).to_dict()
    with pytest.raises(SpecError, match="scenario 'nope': unknown; the case has base, no-discount, bad-rate, bad-path"):
        evaluate_case(path, book, ["nope"], samples=0).to_dict()


def test_path_segments():
    assert path_segments("workflows[0].benefits.labour") == ["workflows", 0, "benefits", "labour"]
    for bad in ("", "[0]", "a..b", "a.[0]", "a b"):
        with pytest.raises(ValueError):
            path_segments(bad)


def test_monte_carlo_is_seeded_and_brackets_the_expected_npv(tmp_path, book):
    case = tiny_case()
    case["workflows"][0]["tasks_per_month"] = {"triangular": [500, 1000, 1500]}
    path = write_case(tmp_path, case)
    parsed = parse_case_data(read_yaml(path), str(path))
    a, b = evaluate(parsed, book, samples=500, seed=3), evaluate(parsed, book, samples=500, seed=3)
    assert a["monte_carlo"] == b["monte_carlo"]
    mc = a["monte_carlo"]
    assert 0 < mc["p_npv_positive"] < 1  # at 500 tasks/month the case loses money (break-even ~ 1,000 x 0.71)
    assert mc["npv_usd"]["p10"] < a["summary"]["npv_usd"] < mc["npv_usd"]["p90"]


def test_tornado_moves_one_driver_at_a_time(tmp_path, book):
    path = write_case(tmp_path, tiny_case())
    result = evaluate(parse_case_data(read_yaml(path), str(path)), book, samples=0, tornado_change=0.1)
    rows = {r["driver"]: r for r in result["tornado"]["rows"]}
    # human cost 3 -> 2.7 / 3.3 moves benefits by 0.3 x (500 in m2, 1000 in m3)
    delta = 0.3 * (500 / 1.01**2 + 1000 / 1.01**3)
    assert rows["tiny.human_cost_usd_per_task"]["npv_high_usd"] == pytest.approx(NPV_1PCT + delta)
    assert rows["tiny.human_cost_usd_per_task"]["npv_low_usd"] == pytest.approx(NPV_1PCT - delta)
    assert rows["tiny.success_rate"]["high_value"] == 1.0  # a probability is never moved past 1


def test_cli_roi_json_and_table(tmp_path, book, capsys):
    path = write_case(tmp_path, tiny_case(scenarios=[{"name": "flat", "set": {"finance.discount_rate_annual": 0}}]))
    out, status = run(["roi", str(path), "--format", "json", "--samples", "50", "--prices", book.overrides_path])
    doc = json.loads(out)
    assert status == 0 and doc["schema"] == "forecast.roi/1"
    assert doc["results"][0]["summary"]["npv_usd"] == pytest.approx(NPV_1PCT, rel=1e-12)
    out, _ = run(["roi", str(path), "--scenario", "base", "--scenario", "flat", "--samples", "0",
                  "--prices", book.overrides_path])
    assert "Scenarios side by side" in out and "payback" in out and "month 3" in out
    assert main(["roi", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["support_triage.yaml", "support_triage_self_hosted.yaml", "rag_help_chat.yaml"])
def test_example_cases_evaluate(name):
    from forecast.design.prices import PriceBook

    book = PriceBook.from_file(ROOT / "data" / "prices" / "overrides.yaml")
    doc = evaluate_case(ROOT / "data" / "cases" / name, book, ["base"], samples=200).to_dict()
    s = doc["results"][0]["summary"]
    assert s["npv_usd"] > 0 and s["payback_month"] is not None


def test_self_hosted_serving_bills_the_gpu_fleet_for_the_months_tokens(tmp_path, book):
    from forecast.finance.cashflows import monthly_cash_flows
    from forecast.finance.economics import expected_drivers
    from forecast.gpu.fleet import self_hosted_cost

    wf = tiny_case()["workflows"]
    wf[0]["serving"] = {"self_hosted": {"model": "llama-3.1-8b", "gpu": "l4", "pricing": "on_demand"}}
    path = write_case(tmp_path, tiny_case(workflows=wf))
    cc = compile_case(parse_case_data(read_yaml(path), str(path)), book)
    flows = monthly_cash_flows(cc, expected_drivers(cc))
    # one call per task of 1,000 input + 500 output tokens: 500 tasks in month 2, 1,000 in month 3; a few
    # thousand tokens a month fit one replica of one L4, the fewest GPUs (the layout with the most tokens/s per
    # GPU takes more)
    fleet = [self_hosted_cost("llama-3.1-8b", "l4", tokens_per_month=n * 1500.0, input_tokens_per_request=1000.0,
                              output_tokens_per_request=500.0, gpus_per_replica=1) for n in (500, 1000)]
    assert [f.gpu_count for f in fleet] == [1, 1] and fleet[0].monthly_usd > 0
    assert flows.costs["inference (self-hosted GPUs)"].tolist() == [0.0, 0.0, *(f.monthly_usd for f in fleet)]
    assert "inference (API)" not in flows.costs


@pytest.mark.parametrize(("self_hosted", "line"), [
    ({"model": "llama-3.1-8b", "gpu": "h100", "provider": "gpc"},
     "case.yaml: workflows[0].serving.self_hosted.provider: 'gpc': GPU h100: no on_demand price from provider 'gpc'"),
    ({"model": "llama-3.1-8b", "gpu": "h100", "precision": "fp4"},
     "case.yaml: workflows[0].serving.self_hosted.precision: 'fp4': precision 'fp4': must be one of"),
    ({"model": "llama-3.1-8b", "gpu": "a100-80gb", "precision": "fp8"},
     "case.yaml: workflows[0].serving.self_hosted.precision: 'fp8': GPU a100-80gb has no FP8 tensor cores"),
    ({"model": "llama-9", "gpu": "h100"},
     "case.yaml: workflows[0].serving.self_hosted.model: 'llama-9': unknown model"),
    ({"model": "llama-3.1-8b", "gpu": "h200", "pricing": "commit_3y"},
     "case.yaml: workflows[0].serving.self_hosted.pricing: 'commit_3y': GPU h200: no commit_3y price"),
    ({"model": "llama-3.1-8b", "gpu": "h100", "peak_to_average": 0.5},
     "case.yaml: workflows[0].serving.self_hosted.peak_to_average: 0.5: Input should be greater than or equal to 1"),
])
def test_self_hosted_references_are_checked_against_the_gpu_catalog(tmp_path, book, self_hosted, line):
    # Each bad self-hosted setting is one line naming the case file and field (not only the catalog's words),
    # and a bad mapping is not also reported as "Input should be 'api'" by the other member of the union.
    wf = tiny_case()["workflows"]
    wf[0]["serving"] = {"self_hosted": self_hosted}
    msg = _problems(tmp_path, book, workflows=wf)
    assert line in msg and len(msg.splitlines()) == 1, msg


def test_serving_that_is_neither_api_nor_a_mapping(tmp_path, book):
    wf = tiny_case()["workflows"]
    wf[0]["serving"] = "gpu"
    assert _problems(tmp_path, book, workflows=wf) == (
        f"{tmp_path / 'case.yaml'}: workflows[0].serving: 'gpu': must be 'api' or a mapping "
        "{self_hosted: {model, gpu, ...}}")


def test_rag_help_chat_case_lines_by_hand():
    # data/cases/rag_help_chat.yaml: build months 1-2, live month k = m - 2, adoption plan 0.3, 0.6, 0.85, 1.
    from forecast.design.prices import PriceBook
    from forecast.finance.cashflows import monthly_cash_flows
    from forecast.finance.economics import expected_drivers

    book = PriceBook.from_file(ROOT / "data" / "prices" / "overrides.yaml")
    path = ROOT / "data" / "cases" / "rag_help_chat.yaml"
    cc = compile_case(parse_case_data(read_yaml(path), str(path)), book)
    flows = monthly_cash_flows(cc, expected_drivers(cc))
    # server: triangular mean (20,000 + 25,000 + 32,000) / 3 = 25,666.67 paid in month 1; depreciated / 36 from
    # month 2 to the horizon's end (35 of its 36 months fall inside)
    server = (20_000 + 25_000 + 32_000) / 3
    assert flows.costs["hardware (purchase)"][1] == pytest.approx(server)
    assert flows.depreciation_usd.sum() == pytest.approx(server * 35 / 36)
    # revenue uplift 8,000 x the adoption share: year 1 = 8,000 x (0.3 + 0.6 + 0.85 + 7 x 1) = 70,000
    assert flows.benefits["revenue uplift"][1:13].sum() == pytest.approx(70_000)
    # people in year 1: 2 build months x (240,000 / 12 + 200,000 / 12 x 0.5) + 10 live months x
    # (240,000 / 12 x 0.2 + 150,000 / 12 x 0.1) = 56,666.67 + 52,500 = 109,166.67
    assert flows.costs["people"][1:13].sum() == pytest.approx(2 * (20_000 + 200_000 / 24) + 10 * (4_000 + 1_250))
    # tax in month 0: 25% of the one-time build costs expensed there, (40,000 + 30,000 + 60,000) / 3 + 8,000
    assert flows.tax_usd[0] == pytest.approx(-0.25 * ((30_000 + 40_000 + 60_000) / 3 + 8_000))
