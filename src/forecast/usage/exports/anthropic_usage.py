"""Anthropic usage report: the pages of the Admin API's `GET /v1/organizations/usage_report/messages`, as it
returns them or as `forecast pull anthropic` saves them (one page per line).

Source: Anthropic, "Usage and Cost API" guide and "Get Messages Usage Report" reference
(platform.claude.com/docs/en/manage-claude/usage-cost-api, .../api/admin/usage_report/retrieve_messages; checked
2026-12-02): buckets `starting_at`/`ending_at` (RFC 3339) with `results`; the token fields are disjoint; the
dimensions are null unless the report is grouped by them; there is no request count.

Each result is one row:
  timestamp <- the bucket's starting_at              model <- model (the report must be grouped by model)
  input_tokens <- uncached_input_tokens + cache_creation.ephemeral_5m_input_tokens
                  + cache_creation.ephemeral_1h_input_tokens + cache_read_input_tokens
  cached_input_tokens <- cache_read_input_tokens      cache_write_tokens <- both cache_creation counts
  output_tokens <- output_tokens                      batch <- service_tier is "batch"
  provider anthropic; no cost: priced at ingest (the cost report is the invoice side)
  request_count: the report has none. The row holds the fewest requests its context window allows (one for
  "200k-1M"; input_tokens / 200,000 rounded up otherwise), so that pricing takes the band the report names; it
  is a lower bound, not a count of requests.
  request_id: anthropic-usage/<starting_at>/<ending_at>/<each dimension>, so the same bucket loaded again is a
  duplicate.
Kept in extra: api_key_id, workspace_id, service_tier, context_window, inference_geo, account_id,
service_account_id, bucket_end, cache_write_1h_tokens, web_search_requests and requests_counted (false).
Not priced: web searches ($ per search) and the 1-hour cache writes' higher rate (both priced as 5-minute writes).
"""

from __future__ import annotations

from .common import RecordError, bucket_results, count, get, utc_text

NAME = "anthropic-usage"
MARKS = ("uncached_input_tokens", "starting_at")
DIMENSIONS = ("api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "speed",
              "account_id", "service_account_id")
LONG_CONTEXT_TOKENS = 200_000  # the boundary of the report's context_window values "0-200k" and "200k-1M"
EXTRA = ("api_key_id", "workspace_id", "service_tier", "context_window", "inference_geo", "speed", "account_id",
         "service_account_id", "bucket_end", "cache_write_1h_tokens", "web_search_requests", "requests_counted")


def split(bucket: dict) -> list[dict]:
    """The results of one time bucket, each with the bucket's start and end."""
    return bucket_results(bucket, "starting_at", "ending_at", "an object with starting_at and a results list")


def row(result: dict) -> dict | None:
    """The request-log row of one result; None for an empty one (nothing used)."""
    for nested in ("cache_creation", "server_tool_use"):
        if result.get(nested) is not None and not isinstance(result[nested], dict):
            raise RecordError(f"has {nested} {result[nested]!r}: must be a JSON object")
    counts = {k: count(get(result, k), k) or 0 for k in (
        "uncached_input_tokens", "cache_creation.ephemeral_5m_input_tokens", "cache_creation.ephemeral_1h_input_tokens",
        "cache_read_input_tokens", "output_tokens")}
    if not any(counts.values()):
        return None
    if result.get("model") in (None, ""):
        raise RecordError("has no model: export or pull the usage grouped by model (group_by[]=model)")
    inputs = sum(v for k, v in counts.items() if k != "output_tokens")
    written = counts["cache_creation.ephemeral_5m_input_tokens"] + counts["cache_creation.ephemeral_1h_input_tokens"]
    long_context = result.get("context_window") == "200k-1M"
    fewest = 1 if long_context else max(1, -(-inputs // LONG_CONTEXT_TOKENS))
    key = "/".join(str(result.get(k)) if result.get(k) is not None else "-"
                   for k in ("starting_at", "ending_at", *DIMENSIONS))
    return {
        "timestamp": utc_text(result.get("starting_at")), "request_id": f"anthropic-usage/{key}",
        "provider": "anthropic", "model": result["model"], "input_tokens": inputs,
        "cached_input_tokens": counts["cache_read_input_tokens"], "cache_write_tokens": written,
        "output_tokens": counts["output_tokens"], "request_count": fewest, "status": "ok",
        "batch": result.get("service_tier") == "batch",
        **{k: result.get(k) for k in DIMENSIONS if k != "model"},
        "bucket_end": utc_text(result.get("ending_at")),
        "cache_write_1h_tokens": counts["cache_creation.ephemeral_1h_input_tokens"],
        "web_search_requests": get(result, "server_tool_use.web_search_requests"), "requests_counted": False,
    }
