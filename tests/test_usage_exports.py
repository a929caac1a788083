"""Gateway, observability and provider-report exports (LiteLLM, Langfuse, Helicone, OpenAI and Anthropic usage) load
into the warehouse with the same accounting as every other source.

The files under tests/data/exports are built from each tool's public documentation and source (see the README
there); costs are worked by hand from the providers' list prices per million tokens (input / cached input /
cache write / output): gpt-4o-2024-08-06 $2.50 / $1.25 / - / $10; gpt-4o-mini $0.15 / $0.075 / - / $0.60;
claude-haiku-4-5 $1 / $0.10 / $1.25 / $5; claude-sonnet-4 and -4-5 $3 / $0.30 / $3.75 / $15, and claude-sonnet-4-5
above 200k input tokens per request $6 / $0.60 / $7.50 / $22.50; text-embedding-3-small $0.02; batch half price.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from forecast.core.errors import UsageError
from forecast.design.prices import price_book
from forecast.usage.warehouse import Warehouse, detect_kind

DATA = Path(__file__).parent / "data" / "exports"


def _load(tmp_path, name, kind=None):
    wh = Warehouse(tmp_path / "w.duckdb")
    result = wh.load(DATA / name, kind=kind, book=price_book())
    return wh, result


def _rows(wh) -> dict[str, dict]:
    cur = wh.sql("SELECT * FROM requests ORDER BY source_line")
    names = [d[0] for d in cur.description]
    return {r["request_id"]: r for r in (dict(zip(names, row, strict=True)) for row in cur.fetchall())}


def _quarantine(wh) -> list[tuple]:
    return wh.sql("SELECT line, reason, raw_text FROM quarantine ORDER BY line").fetchall()


def test_the_format_is_told_from_field_names_not_from_values(tmp_path):
    f = tmp_path / "native.jsonl"  # a native log whose tag values happen to be LiteLLM's field names
    f.write_text('{"timestamp": "2026-11-01T00:00:00Z", "request_id": "a", "model": "gpt-4o-mini", '
                 '"input_tokens": 1, "output_tokens": 1, "feature_id": "spend", "workflow_name": "startTime"}\n')
    assert detect_kind(f) == "native"


@pytest.mark.parametrize(("name", "kind"), [
    ("litellm_spend_logs_v2.json", "litellm"), ("litellm_spend_logs.csv", "litellm"),
    ("langfuse_observations_v1.json", "langfuse"), ("langfuse_observations_v2.jsonl", "langfuse"),
    ("helicone_export.jsonl", "helicone"), ("openai_usage_completions.jsonl", "openai-usage"),
    ("anthropic_usage_messages.json", "anthropic-usage"), ("openai_costs.jsonl", "openai-costs"),
    ("anthropic_cost_report.json", "anthropic-costs"),
])
def test_each_export_is_recognised_from_its_field_names(name, kind):
    assert detect_kind(DATA / name) == kind


def test_litellm_spend_logs_keep_litellm_cost_and_attribution(tmp_path):
    wh, r = _load(tmp_path, "litellm_spend_logs_v2.json")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate, r.logged_unpriced) == (5, 5, 0, 0, 1)
        # LiteLLM's own costs are kept as logged: $0.0041235 + $0.00105; failure, cache hit and the fine-tune: $0
        assert r.cost_usd_accepted == Decimal("0.0051735")
        rows = _rows(wh)
        first = rows["chatcmpl-9f1c2b7e-4a0d-4e7b-9a51-2d3c4e5f6a7b"]
        assert (first["provider"], first["model"], first["input_tokens"], first["cached_input_tokens"],
                first["output_tokens"], first["cost_source"]) == (
            "anthropic", "claude-sonnet-4-5-20250929", 2100, 1800, 245, "log")
        assert (first["team_id"], first["feature_id"], first["environment"], first["latency_ms"]) == (
            "e8d1460f-846c-45d7-9b43-55f3cc52ac32", "summarize", "production", 3476.0)
        extra = json.loads(first["extra"])
        assert (extra["end_user"], extra["key_alias"], extra["team_alias"], extra["session_id"]) == (
            "customer-42", "prod-backend", "search", "4c1f0e2a-7b8d-4c3e-9f10-2a3b4c5d6e7f")
        assert rows["chatcmpl-a1"]["model"] == "gpt-4o-mini"  # "openai/" prefix of the provider dropped
        failed = rows["0b8e6b7e-5f3a-4c1e-9d2a-7a6b5c4d3e2f"]
        assert (failed["status"], failed["cost_usd"], json.loads(failed["extra"])["error_class"]) == (
            "error", Decimal(0), "RateLimitError")
        assert json.loads(rows["chatcmpl-a1_cache_hit1764515000.12"]["extra"])["cache_hit"] == "True"
        assert rows["chatcmpl-ft1"]["feature_id"] == "triage"


def test_a_litellm_table_dump_in_csv_prices_rows_without_spend_and_keeps_bad_lines(tmp_path):
    wh, r = _load(tmp_path, "litellm_spend_logs.csv")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (3, 2, 1, 0)
        rows = _rows(wh)
        # c1 as logged ($0.0006); c2 priced: 2,000 x $0.15 + 500 x $0.60 per Mtok = $0.0006
        assert r.cost_usd_accepted == Decimal("0.0012")
        assert (rows["chatcmpl-c2"]["cost_source"], rows["chatcmpl-c1"]["cached_input_tokens"]) == ("priced", 1000)
        c1 = rows["chatcmpl-c1"]
        assert (c1["timestamp"].isoformat(), c1["latency_ms"], c1["feature_id"]) == (
            "2026-11-29T10:00:00+00:00", 1250.0, "search")  # Postgres' naive UTC time read as UTC
        [(line, reason, raw)] = _quarantine(wh)
        assert (line, reason) == (4, "input_tokens: '-5': must be a whole number >= 0")
        assert raw.startswith("chatcmpl-c3,acompletion,88dc28d0,0.0001,100,-5,105,")  # the line as it was


def test_langfuse_observations_count_every_input_key_once_and_refuse_a_generation_without_usage(tmp_path):
    wh, r = _load(tmp_path, "langfuse_observations_v1.json")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate, r.skipped_records) == (5, 3, 2, 0, 1)
        rows = _rows(wh)
        openai = rows["b7c1e2d3-4f5a-6b7c-8d9e-0f1a2b3c4d5e"]  # usageDetails input 300 excludes the 1,800 cached
        assert (openai["input_tokens"], openai["cached_input_tokens"], openai["output_tokens"]) == (2100, 1800, 245)
        assert (openai["provider"], openai["feature_id"], openai["environment"], openai["latency_ms"]) == (
            "openai", "summarize", "production", 3476.0)
        haiku = rows["obs-anthropic-1"]  # 1,000 + 4,000 read + 2,000 written; no cost from Langfuse: priced
        assert (haiku["input_tokens"], haiku["cached_input_tokens"], haiku["cache_write_tokens"]) == (7000, 4000, 2000)
        # 1,000 x $1 + 4,000 x $0.10 + 2,000 x $1.25 + 500 x $5 per Mtok = $0.0064
        assert (haiku["cost_usd"], haiku["cost_source"]) == (Decimal("0.0064"), "priced")
        assert rows["obs-error-1"]["status"] == "error"
        assert r.cost_usd_accepted == Decimal("0.00545") + Decimal("0.0064") + Decimal("0.00012")
        (l3, why3, raw3), (l6, why6, _) = _quarantine(wh)
        assert (l3, l6) == (3, 6)
        assert why3.startswith("line has no usage") and json.loads(raw3)["id"] == "obs-stream-1"
        assert why6.startswith("model: 'acme-local-7b': unknown model")


def test_langfuse_v2_pages_in_json_lines_find_an_observation_seen_on_an_earlier_page(tmp_path):
    wh, r = _load(tmp_path, "langfuse_observations_v2.jsonl")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (3, 1, 1, 1)
        row = _rows(wh)["v2-1"]
        assert (row["input_tokens"], row["cached_input_tokens"], row["cost_usd"], row["team_id"]) == (
            2000, 1000, Decimal("0.000465"), "support")
        extra = json.loads(row["extra"])
        assert (extra["user_id"], extra["session_id"], extra["trace_id"]) == ("user-1", "sess-1", "t-9")
        [(line, reason, _)] = _quarantine(wh)  # an embedding model two providers sell, with no provider named
        assert line == 2 and "name its provider" in reason


def test_helicone_rows_add_cache_tokens_to_the_uncached_prompt(tmp_path):
    wh, r = _load(tmp_path, "helicone_export.jsonl")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (4, 4, 0, 0)
        rows = _rows(wh)
        chat = rows["b1f3c7a2-6d4e-4f8a-9b0c-1d2e3f4a5b6c"]
        assert (chat["input_tokens"], chat["cached_input_tokens"], chat["cost_usd"], chat["feature_id"]) == (
            2100, 1800, Decimal("0.00545"), "chat")
        assert json.loads(chat["extra"])["session_id"] == "sess_123"
        assert chat["timestamp"].isoformat() == "2026-11-30T14:03:11.512000+00:00"
        assert rows["d3f3c7a2-6d4e-4f8a-9b0c-1d2e3f4a5b6e"]["status"] == "error"  # HTTP 429
        haiku = rows["e4f3c7a2-6d4e-4f8a-9b0c-1d2e3f4a5b6f"]  # priced as the Langfuse haiku row: $0.0064
        assert (haiku["input_tokens"], haiku["cost_usd"]) == (7000, Decimal("0.0064"))
        assert r.cost_usd_accepted == Decimal("0.01185")


def test_openai_usage_buckets_are_rows_of_many_requests_and_load_once(tmp_path):
    wh, r = _load(tmp_path, "openai_usage_completions.jsonl")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate, r.skipped_records) == (4, 3, 1, 0, 1)
        rows = {row["model"]: row for row in _rows(wh).values()}
        # gpt-4o: 3,200 uncached x $2.50 + 1,800 cached x $1.25 + 1,000 x $10 per Mtok = $0.02025
        big = rows["gpt-4o-2024-08-06"]
        assert (big["cost_usd"], big["request_count"], big["timestamp"].isoformat()) == (
            Decimal("0.02025"), 5, "2025-11-30T00:00:00+00:00")
        # batch gpt-4o-mini: (2,000 x $0.15 + 300 x $0.60) / 2 per Mtok = $0.00024; embeddings: 100,000 x $0.02
        assert (rows["gpt-4o-mini-2024-07-18"]["cost_usd"], rows["gpt-4o-mini-2024-07-18"]["batch"]) == (
            Decimal("0.00024"), True)
        assert rows["text-embedding-3-small"]["cost_usd"] == Decimal("0.002")
        assert json.loads(big["extra"])["project_id"] == "proj_abc"
        [(line, reason, _)] = _quarantine(wh)
        assert (line, reason) == (4, "line has no model: export or pull the usage grouped by model (group_by=model)")
        again = wh.load(DATA / "openai_usage_completions.jsonl", book=price_book())
        assert (again.accepted, again.quarantined, again.duplicate) == (0, 0, 4)


def test_anthropic_usage_is_priced_in_the_context_window_band_the_report_names(tmp_path):
    wh, r = _load(tmp_path, "anthropic_usage_messages.json")
    with wh:
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (3, 3, 0, 0)
        rows = sorted(_rows(wh).values(), key=lambda row: row["source_line"])
        # 1,500 x $3 + 1,500 written (500 for 5 min, 1,000 for 1 h) x $3.75 + 200 x $0.30 + 500 x $15 = $0.017685
        assert (rows[0]["input_tokens"], rows[0]["cache_write_tokens"], rows[0]["cost_usd"]) == (
            3200, 1500, Decimal("0.017685"))
        # 200k-1M: 900,000 x $6 + 20,000 x $22.50 = $5.85; batch 0-200k: (900,000 x $3 + 20,000 x $15) / 2 = $1.50
        assert (rows[1]["cost_usd"], rows[1]["request_count"]) == (Decimal("5.85"), 1)
        assert (rows[2]["cost_usd"], rows[2]["request_count"], rows[2]["batch"]) == (Decimal("1.5"), 5, True)
        extra = json.loads(rows[0]["extra"])
        assert (extra["cache_write_1h_tokens"], extra["web_search_requests"], extra["requests_counted"]) == (
            "1000", "10", "false")


def test_cost_reports_load_as_invoice_charges_in_usd(tmp_path):
    wh, r = _load(tmp_path, "openai_costs.jsonl")
    with wh:
        # amount.value in dollars: $0.0202 + $0.01 + $1.50; the EUR line is refused (no exchange rates)
        assert (r.kind, r.rows_read, r.accepted, r.quarantined, r.cost_usd_accepted) == (
            "openai-costs", 4, 3, 1, Decimal("1.5302"))
        first = wh.sql("SELECT ProviderName, ChargeDescription, SubAccountId, ChargePeriodStart, extra FROM charges "
                       "ORDER BY source_line LIMIT 1").fetchall()[0]
        assert first[:3] == ("OpenAI", "gpt-4o-2024-08-06, input", "proj_abc")
        assert first[3].isoformat() == "2025-11-30T00:00:00+00:00"
        assert json.loads(first[4]) == {"x_ApiKeyId": "key_abc", "x_Quantity": "5000", "x_QuantityUnit": "tokens"}
        [(line, reason, raw)] = _quarantine(wh)
        assert (line, reason.split(":")[0], json.loads(raw)["amount"]["currency"]) == (4, "BillingCurrency", "eur")
    with Warehouse(tmp_path / "a.duckdb") as wh:
        r = wh.load(DATA / "anthropic_cost_report.json", book=price_book())
        # cents as decimal strings: 123.78912 -> $1.2378912, 50 -> $0.50; "twelve" is refused
        assert (r.kind, r.accepted, r.quarantined, r.cost_usd_accepted) == (
            "anthropic-costs", 2, 1, Decimal("1.7378912"))
        assert _quarantine(wh)[0][1] == "line has amount 'twelve': must be a decimal string of cents"


def test_a_revised_cost_bucket_is_the_same_charge_and_a_negative_one_is_a_credit(tmp_path):
    def page(value):
        return json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [
            {"object": "bucket", "start_time": 1764460800, "end_time": 1764547200, "results": [
                {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                 "line_item": "gpt-4o, input", "project_id": "p"}]}]})

    (tmp_path / "a.json").write_text(page(1.0))
    (tmp_path / "b.json").write_text(page(1.25))
    (tmp_path / "c.json").write_text(page(-0.5).replace("gpt-4o, input", "credit"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first, revised, credit = (wh.load(tmp_path / f, book=price_book()) for f in ("a.json", "b.json", "c.json"))
        assert (first.accepted, revised.accepted, revised.duplicate, credit.accepted) == (1, 0, 1, 1)  # first stays
        categories = wh.sql("SELECT ChargeCategory, BilledCost FROM charges ORDER BY load_id").fetchall()
        assert categories == [("Usage", Decimal("1")), ("Credit", Decimal("-0.5"))]


def test_a_refused_cost_result_beside_a_valid_one_of_the_same_bucket_is_quarantined_and_the_valid_one_loads(
        tmp_path):
    # the same bucket, line item and project (a cost report's identity): one amount valid, one not a number
    results = [{"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                "line_item": "gpt-4o, input", "project_id": "p"} for value in (5.0, "abc")]
    (tmp_path / "a.json").write_text(json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1764460800, "end_time": 1764547200, "results": results}]}))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(tmp_path / "a.json", book=price_book())
        assert (r.rows_read, r.accepted, r.quarantined, r.duplicate, r.cost_usd_accepted) == (2, 1, 1, 0, Decimal(5))
        assert wh.sql("SELECT BilledCost FROM charges").fetchall() == [(Decimal(5),)]


def test_a_truncated_json_document_is_refused_whole_but_a_broken_json_lines_record_is_quarantined(tmp_path):
    from forecast.core.errors import UsageError

    (tmp_path / "cut.json").write_text('[\n  {"request_id": "a", "spend": 1,\n   "startTime": "2026-11-01T00:00:00Z"},'
                                       '\n  {"request_id": "b", "sp')
    (tmp_path / "part.jsonl").write_text('{"request_id": "a", "spend": 1, "startTime": "2026-11-01T00:00:00Z", '
                                         '"model": "gpt-4o-mini", "prompt_tokens": 1, "completion_tokens": 1}\n'
                                         '{"request_id": "b", "sp\n')
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(UsageError, match=r"cut.json: line 4: not valid JSON .* breaks off"):
            wh.load(tmp_path / "cut.json", kind="litellm")
        part = wh.load(tmp_path / "part.jsonl", book=price_book())
        assert (part.accepted, part.quarantined) == (1, 1)


def test_langfuse_rows_without_a_provider_take_the_one_genai_prices_matches(tmp_path):
    wh, _ = _load(tmp_path, "langfuse_observations_v1.json")
    with wh:
        haiku = _rows(wh)["obs-anthropic-1"]
        assert (haiku["provider"], json.loads(haiku["extra"])["provider_inferred"]) == ("anthropic", "true")
        assert "provider_inferred" not in json.loads(_rows(wh)["b7c1e2d3-4f5a-6b7c-8d9e-0f1a2b3c4d5e"]["extra"])


def test_reconcile_counts_the_export_rows_waiting_in_quarantine(tmp_path):
    from forecast.usage.reconcile import reconcile

    wh, _ = _load(tmp_path, "litellm_spend_logs.csv")  # line 4 (prompt_tokens -5, $0.0001) is quarantined
    with wh:
        [row] = reconcile(wh).frame.itertuples()
        assert (row.month.isoformat(), row.provider, row.quarantined_rows, row.quarantined_usd) == (
            "2026-11-01", "openai", 1, 0.0001)


def test_a_cloud_focus_bill_named_microsoft_reconciles_with_usage_logged_as_azure(tmp_path):
    from forecast.usage.reconcile import reconcile

    (tmp_path / "bill.csv").write_text(  # the FOCUS columns Cost Management writes, provider as it names itself
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
        "ProviderName,PublisherName,ServiceCategory,ServiceName,ChargeDescription\n"
        "2.80,2.80,2.80,USD,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,Usage,Microsoft,Microsoft,"
        "AI and Machine Learning,Azure AI Services,gpt-4o tokens\n")
    (tmp_path / "calls.csv").write_text("timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd\n"
                                        "2026-11-01T10:00:00Z,a,azure,gpt-4o,1000000,100000,2.80\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "bill.csv")
        wh.load(tmp_path / "calls.csv")
        [row] = reconcile(wh).frame.itertuples()
        assert (row.provider, row.logged_usd, row.billed_usd, row.unexplained_usd) == ("azure", 2.8, 2.8, 0)


def test_a_page_holding_only_data_is_a_page(tmp_path):
    (tmp_path / "page.json").write_text(json.dumps({"data": [
        {"request_id": "r", "spend": 0.5, "startTime": "2026-11-01T00:00:00Z", "model": "gpt-4o-mini",
         "prompt_tokens": 1, "completion_tokens": 1}]}))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.load(tmp_path / "page.json").accepted == 1


def test_a_file_named_as_another_format_is_refused_whole(tmp_path):
    from forecast.core.errors import UsageError

    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(UsageError, match=r"openai_costs\.jsonl: not a langfuse export: no traceId, startTime, "
                                             r"usageDetails field"):
            wh.load(DATA / "openai_costs.jsonl", kind="langfuse")
        assert wh.sql("SELECT count(*) FROM quarantine").fetchall()[0][0] == 0
    (tmp_path / "empty.json").write_text("  \n")
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(UsageError, match=r"empty\.json: empty file"):
        wh.load(tmp_path / "empty.json")


def test_an_empty_page_of_a_provider_report_loads_nothing(tmp_path):
    (tmp_path / "oa.json").write_text('{"object": "page", "data": [], "has_more": false, "next_page": null}')
    (tmp_path / "an.json").write_text('{"data": [], "has_more": false, "next_page": null}')
    assert (detect_kind(tmp_path / "oa.json"), detect_kind(tmp_path / "an.json")) == ("openai-usage",
                                                                                      "anthropic-usage")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.load(tmp_path / "oa.json").rows_read == 0


@pytest.mark.parametrize(("kind", "record", "why"), [
    ("litellm", '[{"request_id": "r", "spend": 0, "startTime": "2026-11-01T00:00:00Z", "model": "gpt-4o-mini", '
     '"prompt_tokens": 1, "completion_tokens": 1}, 7]', "line is not a JSON object"),
    ("openai-usage", '{"object": "page", "data": [{"object": "bucket", "results": 5}], "has_more": false, '
     '"next_page": null}',
     "line is not a usage bucket"),
    ("anthropic-costs", '{"data": [{"starting_at": "2025-08-01T00:00:00Z", "results": [7]}], "has_more": false, '
     '"next_page": null}', "line has a result that is not a JSON object"),
    ("anthropic-usage", '{"data": [{"starting_at": "2025-08-01T00:00:00Z", "results": [{"output_tokens": "many",'
     ' "uncached_input_tokens": 1, "model": "m"}]}], "has_more": false}',
     "line has output_tokens 'many': must be a whole number >= 0"),
    ("langfuse", '[{"id": "x", "traceId": "t", "type": "GENERATION", "startTime": "2026-11-30T00:00:00Z", '
     '"usageDetails": 7}]',
     "line has usageDetails that is not a JSON object"),
    ("helicone", '{"request_id": "h", "request_created_at": "2026-13-01 00:00:00", "request_model": "gpt-4o-mini",'
     ' "prompt_tokens": 1, "completion_tokens": 1, "cost": 0.1}', "timestamp: '2026-13-01 00:00:00+00:00'"),
    # counts as text would lose the cache tokens added to them, or be read as 0
    ("helicone", '{"request_id": "h", "request_created_at": "2026-11-01 00:00:00", "request_model": "gpt-4o-mini",'
     ' "prompt_tokens": "1000", "prompt_cache_read_tokens": 500, "completion_tokens": 1}',
     "line has prompt_tokens '1000': must be a whole number >= 0"),
    ("langfuse", '[{"id": "x", "traceId": "t", "type": "GENERATION", "startTime": "2026-11-30T00:00:00Z", '
     '"model": "gpt-4o-mini", "usageDetails": {"input": "1000", "output": 10}}]', "line has usageDetails.input '1000'"),
    ("anthropic-usage", '{"data": [{"starting_at": "2025-08-01T00:00:00Z", "results": [{"output_tokens": 5,'
     ' "uncached_input_tokens": 1, "cache_creation": 500, "model": "m"}]}], "has_more": false}',
     "line has cache_creation 500"),
    ("litellm", '[{"request_id": "r", "startTime": "2026-11-29T10:00:00Z", "endTime": "2026-11-29", "spend": "x",'
     ' "model": "gpt-4o-mini", "prompt_tokens": 1, "completion_tokens": 1}]', "cost_usd: 'x'"),
    ("litellm", '{"request_id": "r", "spend": 0, "startTime": "2026-11-01T00:00:00Z"}\n' + "[" * 100_000,
     "line not valid JSON (nested too deep)"),
])
def test_a_broken_record_is_quarantined_with_its_reason_and_raw_text(tmp_path, kind, record, why):
    """Each ends as a quarantined row with its reason and raw text, never a traceback."""
    f = tmp_path / "odd.json"
    f.write_text(record)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(f, kind=kind, book=price_book())
        assert r.rows_read == r.accepted + r.quarantined + r.duplicate
        reasons = [reason for _, reason, _ in _quarantine(wh)]
        assert any(reason.startswith(why) for reason in reasons), reasons
        assert all(raw for _, _, raw in _quarantine(wh))


def test_forecast_ingest_reads_every_export_in_one_command(tmp_path):
    paths = [str(p) for p in sorted(DATA.glob("*.json*")) + sorted(DATA.glob("*.csv"))]
    done = subprocess.run([sys.executable, "-m", "forecast.cli", "ingest", *paths, "--warehouse",
                           str(tmp_path / "w.duckdb")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    kinds = [line.split("[")[1].split("]")[0] for line in done.stdout.splitlines() if " read " in line]
    assert sorted(kinds) == ["anthropic-costs", "anthropic-usage", "helicone", "langfuse", "langfuse", "litellm",
                             "litellm", "openai-costs", "openai-usage"]


def test_the_warehouse_kinds_name_every_export_format_and_every_cost_report():
    from forecast.usage.exports import FORMATS
    from forecast.usage.schema import CHARGE_KINDS, EXPORT_KINDS

    assert set(EXPORT_KINDS) == set(FORMATS)
    # a cost report's module gives the FOCUS columns its rows fill; the others give request-log rows
    assert set(CHARGE_KINDS) == {"focus", *(k for k, m in FORMATS.items() if hasattr(m, "COLUMNS"))}


@pytest.mark.parametrize("name", ["spend.json", "spend.csv"])
def test_an_export_that_is_not_utf8_is_refused_naming_its_line(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_bytes(b'[{"request_id": "r1", "spend": 0.1,\n "startTime": "2026-11-01T10:00:00Z", '
                         b'"model": "gpt\xff"}]')
    else:
        path.write_bytes(b"request_id,spend,startTime,model\nr1,0.1,2026-11-01T10:00:00Z,gpt\xff\n")
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(UsageError, match=r"line 2: byte 0xff is not UTF-8"):
        wh.load(path, kind="litellm")
