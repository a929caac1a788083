"""What the export formats share: reading nested fields, times, provider names and tags."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from ..otel import PROVIDERS
from ..schema import CONTEXT, TAGS

ATTRIBUTED = (*TAGS, *CONTEXT)
TAG_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*[:=]\s*(\S.*?)\s*")  # "feature_id:search"
NAIVE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")  # a date-time with no UTC offset


class RecordError(ValueError):
    """A record that cannot be read as its format says (the message reads after "line N ")."""


def get(record: dict, path: str):
    """The value at a dotted `path` of nested objects, else None; a JSON object held as text is read too.

    >>> get({"metadata": '{"usage_object": {"prompt_tokens": 5}}'}, "metadata.usage_object.prompt_tokens")
    5
    """
    value = record
    for key in path.split("."):
        if isinstance(value, str) and value.startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def first(record: dict, *paths: str):
    """The first of `paths` that holds a value (not None, not empty text)."""
    for path in paths:
        value = get(record, path)
        if value not in (None, ""):
            return value
    return None


def utc_text(value) -> str | None:
    """A time as ISO 8601 text with its offset: unix seconds (a number) and a date-time without an offset (which
    these tools write in UTC) get +00:00; anything else is kept as it came, for the row checks to judge.

    >>> utc_text(1730419200), utc_text("2024-11-01 00:00:00.5"), utc_text("2024-11-01T00:00:00Z")
    ('2024-11-01T00:00:00+00:00', '2024-11-01 00:00:00.5+00:00', '2024-11-01T00:00:00Z')
    """
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)
    text = str(value).strip()
    return text + "+00:00" if NAIVE_ISO.fullmatch(text) else text


def elapsed_ms(start, end) -> float | None:
    """Milliseconds from `start` to `end` (times as utc_text reads them), None when either is missing or unreadable.

    >>> elapsed_ms("2026-11-30T14:03:11.512Z", "2026-11-30T14:03:14.988Z")
    3476.0
    """
    try:
        return (datetime.fromisoformat(utc_text(end)) - datetime.fromisoformat(utc_text(start))).total_seconds() * 1e3
    except (TypeError, ValueError):  # missing, unreadable, or a date alone against a time with an offset
        return None


def bucket_results(bucket: dict, start: str, end: str, shape: str, valid: bool = True) -> list:
    """The results of one time bucket of a provider report, each object given the bucket's `start` and `end`
    fields (a result that is not an object is kept as it is, for staging to refuse); RecordError when the record
    is not a bucket (`shape` says what one is)."""
    results = bucket.get("results")
    if not valid or start not in bucket or not isinstance(results, list):
        raise RecordError(f"is not a usage bucket ({shape})")
    times = {start: bucket.get(start), end: bucket.get(end)}
    return [times | r if isinstance(r, dict) else r for r in results]


# LiteLLM's provider names that otel.PROVIDERS (the OTel gen_ai.system values) does not already map
GATEWAY_PROVIDERS = {"bedrock": "aws", "bedrock_converse": "aws", "vertex_ai_beta": "google",
                     "vertex_ai-anthropic_models": "google", "azure_ai": "azure", "text-completion-openai": "openai"}


def provider_id(name) -> str | None:
    """A provider name as the price catalogue knows it (openai, anthropic, google, azure, aws, ...).

    >>> [provider_id(n) for n in ("bedrock", "vertex_ai", "OpenAI", "xai", None)]
    ['aws', 'google', 'openai', 'x-ai', None]
    """
    if name in (None, ""):
        return None
    low = str(name).lower()
    return GATEWAY_PROVIDERS.get(low) or PROVIDERS.get(low, low)


def count(value, field: str) -> int | None:
    """A token or request count as given (None when absent), or RecordError unless it is a whole number >= 0.

    >>> count(12, "input_tokens"), count(None, "input_tokens")
    (12, None)
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise RecordError(f"has {field} {value!r}: must be a whole number >= 0")


def tag_values(tags) -> dict[str, str]:
    """The attribution tags (team_id, feature_id, environment, ...) named in a list of "key:value" or
    "key=value" strings, or in an object.

    >>> tag_values(["feature_id:search", "prod", "environment=production"])
    {'feature_id': 'search', 'environment': 'production'}
    """
    if isinstance(tags, str) and tags[:1] in "[{":
        try:
            tags = json.loads(tags)
        except ValueError:
            return {}
    if isinstance(tags, dict):
        return {k: str(v) for k, v in tags.items() if k in ATTRIBUTED and v not in (None, "")}
    out = {}
    for tag in tags if isinstance(tags, list) else ():
        pair = TAG_PAIR.fullmatch(str(tag))
        if pair and pair[1] in ATTRIBUTED:
            out[pair[1]] = pair[2]
    return out
