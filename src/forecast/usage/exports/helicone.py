"""Helicone requests: the rows of `POST /v1/request/query-clickhouse` (`{"data": [...], "error": null}`), as the
API returns them or as Helicone's export CLI (`npx @helicone/export --format jsonl|json`) writes them.

Sources (checked 2026-12-02): docs.helicone.ai/rest/request/post-v1requestquery-clickhouse (HeliconeRequest);
Helicone/helicone packages/llm-mapper/types.ts and packages/cost (cost is USD; the prompt cost adds
prompt_tokens, prompt_cache_read_tokens and prompt_cache_write_tokens at their own prices, so prompt_tokens are
the uncached ones, and total_tokens = prompt + completion + reasoning). The export CLI's CSV is not read: its
fixed columns (model, latency, cost) are not the API's keys, so they arrive empty, and it has no cache tokens.

Mapping:
  timestamp <- request_created_at (no offset = UTC)     latency_ms <- delay_ms
  request_id <- request_id                              status <- error when response_status is not 100-399
  provider <- provider (OPENAI -> openai)               model <- request_model, else model, else response_model
  input_tokens <- prompt_tokens + prompt_cache_read_tokens + prompt_cache_write_tokens
  cached_input_tokens <- prompt_cache_read_tokens       cache_write_tokens <- prompt_cache_write_tokens
  output_tokens <- completion_tokens + reasoning_tokens cost_usd <- cost (Helicone's own cost), else cost_usd
  each tag (feature_id, environment, ...) <- the request property of that name
Kept in extra: user_id (request_user_id), session_id (property Helicone-Session-Id), properties, http_status,
request_path, cache_enabled, prompt_id. A Helicone cache hit is a row of $0, as logged.
"""

from __future__ import annotations

from .common import count, first, provider_id, tag_values, utc_text

NAME = "helicone"
MARKS = ("request_created_at", "request_id")
EXTRA = ("user_id", "session_id", "properties", "http_status", "request_path", "cache_enabled", "prompt_id")


def _sum(record: dict, *fields: str) -> int | None:
    """The sum of the counts given (None when none is)."""
    given = [v for v in (count(record.get(f), f) for f in fields) if v is not None]
    return sum(given) if given else None


def row(record: dict) -> dict:
    """The request-log row of one Helicone request."""
    properties = first(record, "request_properties", "properties")
    status = record.get("response_status")
    status = int(status) if isinstance(status, str) and status.strip().lstrip("-").isdigit() else status
    failed = status is not None and not (isinstance(status, int) and 100 <= status < 400)
    return {
        "timestamp": utc_text(record.get("request_created_at")), "request_id": record.get("request_id"),
        "provider": provider_id(record.get("provider")),
        "model": first(record, "request_model", "model", "response_model"),
        "input_tokens": _sum(record, "prompt_tokens", "prompt_cache_read_tokens", "prompt_cache_write_tokens"),
        "cached_input_tokens": count(record.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens"),
        "cache_write_tokens": count(record.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens"),
        "output_tokens": _sum(record, "completion_tokens", "reasoning_tokens"),
        "cost_usd": first(record, "cost", "cost_usd"), "latency_ms": record.get("delay_ms"),
        "status": "error" if failed else "ok",
        **tag_values(properties),
        "user_id": record.get("request_user_id"), "session_id": first(record, "request_properties.Helicone-Session-Id",
                                                                       "properties.Helicone-Session-Id"),
        "properties": properties, "http_status": status, "request_path": record.get("request_path"),
        "cache_enabled": record.get("cache_enabled"), "prompt_id": record.get("prompt_id"),
    }
