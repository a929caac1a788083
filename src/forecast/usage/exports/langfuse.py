"""Langfuse observations: as `GET /api/public/observations` (v1: `data` and `meta` with page counts) or
`GET /api/public/v2/observations` (`data` and `meta.cursor`; ask for fields=basic,time,model,usage) return them, or
as the observations table's batch export (CSV, JSON or JSON Lines).

Sources (langfuse/langfuse, checked 2026-12-02): fern/apis/server/definition commons.yml (Observation,
ObservationsView, ObservationV2: usageDetails tokens, costDetails USD), legacy/observations-v1.yml,
packages/shared/src/features/batchExport; docs "Token and cost tracking". Langfuse takes cached tokens out of
`usageDetails.input` and keeps them under their own keys (input_cached_tokens, cache_read_input_tokens, ...).

Only generations and embeddings are model calls; other observations (spans, events, tools, agents) are
skipped. Mapping:
  timestamp <- startTime                            latency_ms <- endTime - startTime, else latency (s) x 1000
  request_id <- id                                  status <- error when level is ERROR, else ok
  model <- model, else providedModelName            provider <- metadata.ls_provider, when a client set it,
                                                    else the provider genai-prices matches to the model name
                                                    (extra.provider_inferred; Azure-hosted OpenAI models then
                                                    count as openai)
  input_tokens <- the sum of the usageDetails keys that name input (input, input_cached_tokens,
                  cache_read_input_tokens, input_cache_creation, ...); output_tokens <- those that name output
  cached_input_tokens <- the input keys that name a cache read; cache_write_tokens <- those that name a write
  (a record with no usageDetails falls back to usage.input / usage.output, Langfuse's older totals)
  cost_usd <- costDetails.total, else totalCost, else calculatedTotalCost (Langfuse's or the sender's cost)
  environment <- environment; each tag (feature_id, team_id, ...) <- tags or traceTags "key:value", or metadata
A generation with no usage at all (a streamed response whose usage was not captured) is quarantined: its
tokens are unknown. Kept in extra: trace_id, observation_name, session_id, user_id, trace_name, prompt_name,
tags, status_message, usage_details and cost_details.
"""

from __future__ import annotations

import json

from .common import RecordError, elapsed_ms, first, get, provider_id, tag_values, utc_text

NAME = "langfuse"
MARKS = ("traceId", "startTime", "usageDetails")
MODEL_CALLS = ("GENERATION", "EMBEDDING")
EXTRA = ("trace_id", "observation_name", "session_id", "user_id", "trace_name", "prompt_name", "tags",
         "status_message", "usage_details", "cost_details", "provider_inferred")


def _provider(record: dict, model) -> tuple[str | None, bool]:
    """The provider a client recorded, else the one genai-prices matches to the model name: (id, inferred)."""
    named = provider_id(get(record, "metadata.ls_provider"))
    if named or not isinstance(model, str):
        return named, False
    from ...design.price_data import snapshot

    try:
        return snapshot().find_provider(model, None, None).id, True
    except LookupError:
        return None, False


def _details(record: dict, key: str) -> dict:
    value = record.get(key)
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise RecordError(f"has {key} that is not a JSON object") from None
    if value is not None and not isinstance(value, dict):
        raise RecordError(f"has {key} that is not a JSON object")
    return value or {}


def _tokens(usage: dict) -> dict:
    """Native token counts from usageDetails: every key naming input (or output) counts once."""
    odd = {k: v for k, v in usage.items() if k != "total" and (isinstance(v, bool) or not isinstance(v, int))}
    if odd:
        key, value = next(iter(odd.items()))
        raise RecordError(f"has usageDetails.{key} {value!r}: must be a whole number of tokens")

    def total(keys):
        return sum(usage[k] for k in keys)

    parts = [k for k in usage if k.endswith(("_5m", "_1h"))]  # input_cache_creation_5m / _1h, if sent
    whole = {p[:-3] for p in parts} & set(usage)  # their sum under the bare name, if sent as well
    inputs = [k for k in usage if "input" in k and k not in whole]
    outputs = [k for k in usage if "output" in k]
    reads = [k for k in inputs if "cache_read" in k or "cached" in k]
    writes = [k for k in inputs if "cache_creation" in k or "cache_write" in k]
    return {"input_tokens": total(inputs) if inputs else None, "output_tokens": total(outputs) if outputs else None,
            "cached_input_tokens": total(reads), "cache_write_tokens": total(writes)}


def _latency_ms(record: dict):
    ms = elapsed_ms(record.get("startTime"), record.get("endTime"))
    latency = record.get("latency")
    return ms if ms is not None or not isinstance(latency, int | float) else latency * 1000


def row(record: dict) -> dict | None:
    """The request-log row of one observation; None when it is not a model call."""
    if str(record.get("type", "GENERATION")).upper() not in MODEL_CALLS:
        return None
    usage, costs = _details(record, "usageDetails"), _details(record, "costDetails")
    tokens = _tokens(usage) if any(k != "total" for k in usage) else {
        "input_tokens": first(record, "usage.input", "inputUsage", "promptTokens"),
        "output_tokens": first(record, "usage.output", "outputUsage", "completionTokens")}
    if tokens["input_tokens"] is None and tokens["output_tokens"] is None:
        raise RecordError("has no usage (usageDetails is empty: a streamed response whose usage was not captured?): "
                          "its tokens and cost are unknown")
    if tokens["output_tokens"] is None and str(record.get("type")).upper() == "EMBEDDING":
        tokens["output_tokens"] = 0
    tags = record.get("tags") or record.get("traceTags")
    attributed = tag_values(record.get("metadata")) | tag_values(tags)
    model = first(record, "model", "providedModelName")
    provider, inferred = _provider(record, model)
    return {
        "timestamp": utc_text(record.get("startTime")), "request_id": record.get("id"), "provider": provider,
        "provider_inferred": inferred or None, "model": model, **tokens,
        "cost_usd": costs.get("total") if costs.get("total") is not None else first(
            record, "totalCost", "calculatedTotalCost"),
        "latency_ms": _latency_ms(record),
        "status": "error" if str(record.get("level")).upper() == "ERROR" else "ok",
        **attributed, "environment": record.get("environment") or attributed.get("environment"),
        "trace_id": record.get("traceId"), "observation_name": record.get("name"),
        "session_id": record.get("sessionId"), "user_id": record.get("userId"), "trace_name": record.get("traceName"),
        "prompt_name": record.get("promptName"), "tags": tags, "status_message": record.get("statusMessage"),
        "usage_details": usage or None, "cost_details": costs or None,
    }
