"""LiteLLM proxy spend logs: rows of its LiteLLM_SpendLogs table, as `GET /spend/logs/v2` (a page: `data`,
`total`, `page`, `total_pages`) or `GET /spend/logs?summarize=false` (a list) return them, or a CSV dump of the
table.

Sources (BerriAI/litellm, checked 2026-12-02): schema.prisma (model LiteLLM_SpendLogs), proxy/_types.py
(SpendLogsMetadata), proxy/spend_tracking/spend_tracking_utils.py (get_logging_payload); docs "Spend Tracking"
(`spend` is USD). `prompt_tokens` include cache reads and writes (LiteLLM's Anthropic usage adds both to
input_tokens); times are UTC.

Mapping:
  timestamp <- startTime (no offset = UTC)          latency_ms <- request_duration_ms, else endTime - startTime
  request_id <- request_id                          status <- error when status is "failure", else ok
  provider <- custom_llm_provider                   model <- model (a "provider/" prefix dropped), else model_group
  input_tokens <- prompt_tokens                      output_tokens <- completion_tokens
  cached_input_tokens <- metadata.usage_object.prompt_tokens_details.cached_tokens, .cache_read_input_tokens
                         (or the same in metadata.additional_usage_values)
  cache_write_tokens <- metadata.usage_object.cache_creation_input_tokens (or additional_usage_values)
  cost_usd <- spend (LiteLLM's own cost: kept as logged, not priced again)
  team_id <- team_id, else metadata.user_api_key_team_id; agent_id <- agent_id
  each tag (feature_id, environment, ...) <- request_tags "key:value", or metadata.spend_logs_metadata
Kept in extra: user, end_user, api_key (LiteLLM's hash, not the key), key_alias, team_alias, organization_id,
session_id, call_type, model_group, model_id, cache_hit, request_tags, error_class and error_message.
A cache hit (LiteLLM answered from its own cache) is a row of $0, as logged.
"""

from __future__ import annotations

from .common import elapsed_ms, first, get, provider_id, tag_values, utc_text

NAME = "litellm"
MARKS = ("spend", "startTime", "request_id")
EXTRA = ("user", "end_user", "api_key", "key_alias", "team_alias", "organization_id", "session_id", "call_type",
         "model_group", "model_id", "cache_hit", "request_tags", "error_class", "error_message")
USAGE = ("metadata.usage_object", "metadata.additional_usage_values")


def _latency_ms(record: dict):
    if record.get("request_duration_ms") not in (None, ""):
        return record["request_duration_ms"]
    return elapsed_ms(record.get("startTime"), record.get("endTime"))


def _model(record: dict):
    model, provider = record.get("model") or record.get("model_group"), record.get("custom_llm_provider")
    if isinstance(model, str) and provider and model.startswith(f"{provider}/"):
        return model[len(provider) + 1:]
    return model


def row(record: dict) -> dict:
    """The request-log row of one spend-log row."""
    tags = tag_values(get(record, "metadata.spend_logs_metadata")) | tag_values(record.get("request_tags"))
    return {
        "timestamp": utc_text(record.get("startTime")), "request_id": record.get("request_id"),
        "provider": provider_id(record.get("custom_llm_provider")), "model": _model(record),
        "input_tokens": record.get("prompt_tokens"), "output_tokens": record.get("completion_tokens"),
        "cached_input_tokens": first(record, *(f"{u}.{k}" for u in USAGE for k in (
            "prompt_tokens_details.cached_tokens", "cache_read_input_tokens"))),
        "cache_write_tokens": first(record, *(f"{u}.cache_creation_input_tokens" for u in USAGE)),
        "cost_usd": record.get("spend"), "latency_ms": _latency_ms(record),
        "status": "error" if str(record.get("status")).lower() == "failure" else "ok",
        **tags,
        "team_id": first(record, "team_id", "metadata.user_api_key_team_id") or tags.get("team_id"),
        "agent_id": record.get("agent_id") or tags.get("agent_id"),
        "user": first(record, "user", "metadata.user_api_key_user_id"), "end_user": record.get("end_user"),
        "api_key": record.get("api_key"), "key_alias": get(record, "metadata.user_api_key_alias"),
        "team_alias": get(record, "metadata.user_api_key_team_alias"),
        "organization_id": first(record, "organization_id", "metadata.user_api_key_org_id"),
        **{k: record.get(k) for k in ("session_id", "call_type", "model_group", "model_id", "cache_hit",
                                      "request_tags")},
        "error_class": get(record, "metadata.error_information.error_class"),
        "error_message": get(record, "metadata.error_information.error_message"),
    }
