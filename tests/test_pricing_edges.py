"""Pricing edges: $0 logged for an unpriced model, names matched to another model by a pattern, embeddings."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import genai_prices
import pytest
from genai_prices import Usage

from forecast.cli.estimate import prices_table
from forecast.design.estimate import estimate
from forecast.design.prices import PriceBook
from forecast.design.specs import parse_workflow
from forecast.usage.warehouse import Warehouse

DAY = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 9, tzinfo=UTC)
HEADER = "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd\n"


def _load(tmp_path, text, name="calls.csv", book=None):
    path = tmp_path / name
    path.write_text(text)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        result = wh.load(path, book=book or PriceBook())
        rows = wh.sql("SELECT request_id, cost_usd, cost_source FROM requests ORDER BY request_id").fetchall()
    return result, rows


# ---------------------------------------------------------------- 1. $0 logged for a model with no price


def test_zero_cost_for_unknown_model_is_flagged_and_counted(tmp_path):
    result, rows = _load(tmp_path, HEADER
                         + "2026-11-25T09:00:00Z,a,acme,made-up-model-x,1000,500,0\n"     # no price anywhere: flag
                         + "2026-11-25T09:01:00Z,b,acme,made-up-model-x,1000,500,0.0\n"   # same, written 0.0
                         + "2026-11-25T09:02:00Z,c,acme,made-up-model-x,1000,500,0.25\n"  # a real logged cost
                         + "2026-11-25T09:03:00Z,d,openai,gpt-4o-mini,1000,500,0\n")      # priced model: the log
    assert (result.accepted, result.quarantined, result.logged_unpriced) == (4, 0, 2)
    assert [(r, s) for r, _, s in rows] == [("a", "logged_unpriced"), ("b", "logged_unpriced"), ("c", "log"),
                                            ("d", "log")]
    assert [c for _, c, _ in rows] == [Decimal(0), Decimal(0), Decimal("0.25"), Decimal(0)]
    assert result.line().endswith("accepted cost $0.25; 2 rows logged $0 for a model with no price")
    assert result.to_dict()["logged_unpriced"] == 2


def test_no_flag_when_every_zero_cost_model_has_a_price(tmp_path):
    result, rows = _load(tmp_path, HEADER + "2026-11-25T09:00:00Z,a,openai,gpt-4o-mini,1000,500,0\n")
    assert result.logged_unpriced == 0 and rows[0][2] == "log"
    assert result.line().endswith("accepted cost $0.00")


# ---------------------------------------------------------------- 2. a name matched to another model by a pattern


def test_future_dated_name_says_which_price_it_took_and_warns():
    p = PriceBook().lookup("claude-sonnet-4-5-20990101", "anthropic", DAY)
    ref = genai_prices.calc_price(Usage(input_tokens=10**6), "claude-sonnet-4-5-20990101", provider_id="anthropic")
    assert ref.model.id == "claude-sonnet-4-5" and p.model == "claude-sonnet-4-5"  # genai-prices' own match
    assert any("'claude-sonnet-4-5-20990101'" in n and "anthropic/claude-sonnet-4-5" in n for n in p.notes)
    (warning,) = p.warnings
    assert "2099-01-01" in warning and "after today" in warning
    text = prices_table(p)
    assert "priced as anthropic/claude-sonnet-4-5" in text and "warning: " in text
    assert p.to_dict()["requested_model"] == "claude-sonnet-4-5-20990101"


def test_real_dated_id_does_not_warn():
    # genai-prices matches this release by the prefix 'claude-sonnet-4-5' (it has no row of its own): say so,
    # but it is a real release (2025-09-29), so no warning
    p = PriceBook().lookup("claude-sonnet-4-5-20250929", "anthropic", DAY)
    assert p.warnings == ()
    assert any("claude-sonnet-4-5-20250929" in n for n in p.notes)
    assert "warning" not in prices_table(p)


def test_exactly_listed_names_carry_no_match_note():
    for model, provider in (("claude-sonnet-4-5", "anthropic"), ("gpt-4o-2024-08-06", "openai")):
        p = PriceBook().lookup(model, provider, DAY)
        assert p.warnings == () and not any("priced as" in n for n in p.notes)
        assert p.to_dict()["requested_model"] is None


def _spec(model: str):
    return parse_workflow(f"""
name: dated
volume: {{tasks_per_month: 1000}}
steps:
  - {{name: llm, model: {model}, provider: anthropic, input_tokens: {{user: 1000}}, output_tokens: 100}}
""")


def test_estimate_notes_and_warns_for_an_invented_dated_name():
    result = estimate(_spec("claude-sonnet-4-5-20990101"), PriceBook(), DAY, samples=200, scenarios=20, months=1)
    assert any("2099-01-01" in w for w in result.warnings)
    assert any("priced as anthropic/claude-sonnet-4-5" in n for n in result.notes)
    real = estimate(_spec("claude-sonnet-4-5-20250929"), PriceBook(), DAY, samples=200, scenarios=20, months=1)
    assert real.warnings == ()
    assert real.per_task_usd.expected == pytest.approx(result.per_task_usd.expected)


# ---------------------------------------------------------------- 3. embeddings


def _embedding_span(tokens: int) -> dict:
    attrs = {"gen_ai.operation.name": {"stringValue": "embeddings"}, "gen_ai.provider.name": {"stringValue": "openai"},
             "gen_ai.request.model": {"stringValue": "text-embedding-3-small"},
             "gen_ai.usage.input_tokens": {"intValue": str(tokens)}}
    start = int(AT.timestamp()) * 10**9
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{
        "traceId": "t1", "spanId": "s1", "name": "embeddings text-embedding-3-small",
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**8),
        "attributes": [{"key": k, "value": v} for k, v in attrs.items()]}]}]}]}


def _genai_prices_usd(tokens: int) -> Decimal:
    return genai_prices.calc_price(Usage(input_tokens=tokens), "text-embedding-3-small", provider_id="openai",
                                   genai_request_timestamp=AT).total_price


def test_embedding_span_is_priced_at_genai_prices(tmp_path):
    result, rows = _load(tmp_path, json.dumps(_embedding_span(250_000)), name="spans.json")
    assert (result.accepted, result.quarantined) == (1, 0)
    ((_, cost, source),) = rows
    assert source == "priced" and cost == _genai_prices_usd(250_000) and cost > 0


def test_embedding_log_row_is_priced_at_genai_prices(tmp_path):
    text = ("timestamp,request_id,provider,model,input_tokens,output_tokens\n"
            "2026-11-25T09:00:00Z,e1,openai,text-embedding-3-small,1234567,0\n")
    result, rows = _load(tmp_path, text)
    assert (result.accepted, result.quarantined) == (1, 0)
    assert rows[0][1] == _genai_prices_usd(1_234_567) and rows[0][2] == "priced"


def test_embedding_prices_input_only():
    p = PriceBook().lookup("text-embedding-3-small", "openai", DAY)
    assert p.base.input_usd_per_mtok == pytest.approx(float(_genai_prices_usd(10**6)))
    assert p.base.output_usd_per_mtok == 0 and any("embedding" in n for n in p.notes)
