"""OpenAI organization usage: the pages of `GET /v1/organization/usage/completions` (and `/embeddings`), as the
API returns them or as `forecast pull openai` saves them (one page per line).

Source: OpenAI's OpenAPI spec (openai/openai-openapi, schemas UsageResponse, UsageTimeBucket,
UsageCompletionsResult, UsageEmbeddingsResult; checked 2026-12-02): `input_tokens` includes cached and cache-write
tokens; `num_model_requests` counts the requests; fields named by `group_by` are null unless grouped.

Each result of a bucket is one row of `num_model_requests` requests:
  timestamp <- the bucket's start_time (unix seconds)       request_count <- num_model_requests
  input_tokens <- input_tokens                               cached_input_tokens <- input_cached_tokens
  cache_write_tokens <- input_cache_write_tokens             output_tokens <- output_tokens (0 for embeddings)
  model <- model (the report must be grouped by model)       batch <- batch
  provider openai; no cost: priced at ingest (the Costs API is the invoice side)
  request_id: openai-usage/<kind>/<start>/<end>/<project>/<user>/<api key>/<model>/<batch>/<service tier>, so the same
  bucket loaded again is a duplicate.
Kept in extra: project_id, user_id, api_key_id, service_tier, bucket_end, and the audio and image token counts.
"""

from __future__ import annotations

from .common import RecordError, bucket_results, utc_text

NAME = "openai-usage"
MARKS = ("num_model_requests", "start_time")
KINDS = {"organization.usage.completions.result": "completions", "organization.usage.embeddings.result": "embeddings"}
BY_MODALITY = ("input_text_tokens", "input_audio_tokens", "input_image_tokens", "input_cached_text_tokens",
               "input_cached_audio_tokens", "input_cached_image_tokens", "output_text_tokens", "output_audio_tokens",
               "output_image_tokens")
EXTRA = ("project_id", "user_id", "api_key_id", "service_tier", "bucket_end", *BY_MODALITY)


def split(bucket: dict) -> list[dict]:
    """The results of one time bucket, each with the bucket's start and end."""
    return bucket_results(bucket, "start_time", "end_time", 'an object with object "bucket" and a results list',
                          valid=bucket.get("object") == "bucket")


def row(result: dict) -> dict | None:
    """The request-log row of one completions or embeddings result; None for other usage (images, audio, ...)."""
    kind = KINDS.get(result.get("object"))
    if kind is None:
        return None
    if not result.get("num_model_requests") and not result.get("input_tokens") and not result.get("output_tokens"):
        return None  # an empty group: no request, nothing used
    if result.get("model") in (None, ""):
        raise RecordError("has no model: export or pull the usage grouped by model (group_by=model)")
    key = "/".join(str(result.get(k) if result.get(k) is not None else "-") for k in
                   ("start_time", "end_time", "project_id", "user_id", "api_key_id", "model", "batch", "service_tier"))
    return {
        "timestamp": utc_text(result.get("start_time")), "request_id": f"openai-usage/{kind}/{key}",
        "provider": "openai", "model": result["model"], "input_tokens": result.get("input_tokens"),
        "cached_input_tokens": result.get("input_cached_tokens"),
        "cache_write_tokens": result.get("input_cache_write_tokens"),
        "output_tokens": result.get("output_tokens") if kind == "completions" else 0,
        "request_count": result.get("num_model_requests"), "status": "ok", "batch": result.get("batch"),
        "bucket_end": utc_text(result.get("end_time")),
        **{k: result.get(k) for k in ("project_id", "user_id", "api_key_id", "service_tier", *BY_MODALITY)},
    }
