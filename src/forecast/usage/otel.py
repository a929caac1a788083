"""OpenTelemetry GenAI spans (OTLP JSON) staged as request-log records.

Accepts one ExportTraceServiceRequest document (`{"resourceSpans": [...]}`) or the collector
file exporter's JSON Lines (one such document per line). A span is a model call when its
`gen_ai.operation.name` is chat, text_completion, generate_content or embeddings, or, with
no operation name, when it carries a model or token usage; other spans (tools, agents, HTTP)
are counted as skipped, never as rows. `_line` is the span's position in the file (1-based); `_raw` its JSON.

Mapping (span attributes first, then resource attributes):
  timestamp      <- startTimeUnixNano            latency_ms <- end - start
  request_id     <- traceId-spanId               status     <- error when status.code is ERROR or error.type is set
  provider       <- gen_ai.provider.name, else gen_ai.system (OTel names mapped to price-catalog ids)
  model          <- gen_ai.response.model, else gen_ai.request.model
  input_tokens   <- gen_ai.usage.input_tokens (or gen_ai.usage.prompt_tokens)
  output_tokens  <- gen_ai.usage.output_tokens (or gen_ai.usage.completion_tokens); 0 for an embeddings span
                    without it (an embedding call returns vectors, no output tokens)
  cached_input_tokens <- gen_ai.usage.cache_read.input_tokens
  cache_write_tokens  <- gen_ai.usage.cache_creation.input_tokens (both counted inside input_tokens)
  each tag T     <- T, forecast.T or app.T; environment also <- deployment.environment.name / deployment.environment;
                    agent_id also <- gen_ai.agent.id; workflow_name also <- gen_ai.workflow.name
Span name, operation, service.name, response id and conversation id are kept as extra columns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.errors import UsageError
from .schema import CONTEXT, LINE, MALFORMED, RAW, TAGS

MODEL_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings"}
PROVIDERS = {  # OTel gen_ai.provider.name / gen_ai.system -> genai-prices provider id
    "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google", "gemini": "google",
    "vertex_ai": "google", "azure.ai.openai": "azure", "azure.ai.inference": "azure", "az.ai.openai": "azure",
    "aws.bedrock": "aws", "mistral_ai": "mistral", "x_ai": "x-ai", "xai": "x-ai",
}
ALIASES = {
    "environment": ("deployment.environment.name", "deployment.environment"),
    "agent_id": ("gen_ai.agent.id",),
    "workflow_name": ("gen_ai.workflow.name",),
}
EXTRA = {"span_name": None, "operation": "gen_ai.operation.name", "service_name": "service.name",
         "response_id": "gen_ai.response.id", "conversation_id": "gen_ai.conversation.id"}
COLUMNS = ("timestamp", "request_id", "provider", "model", "input_tokens", "cached_input_tokens",
           "cache_write_tokens", "output_tokens", "status", "latency_ms", *TAGS, *CONTEXT, *EXTRA)


def _value(v: dict):
    """An OTLP AnyValue as a Python value (intValue arrives as a string in OTLP JSON)."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:  # a malformed one ("abc", "1e400", null) is kept as it came: the row checks quarantine it
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return v["intValue"]
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: _value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    return None


def _attrs(items) -> dict:
    """Attributes by key; anything that is not a list of {key, value} objects holds none."""
    if not isinstance(items, list):
        return {}
    return {kv["key"]: _value(kv.get("value") if isinstance(kv.get("value"), dict) else {}) for kv in items
            if isinstance(kv, dict) and "key" in kv}


def _first(attrs: tuple[dict, dict], *keys):
    for scope in attrs:
        for key in keys:
            if scope.get(key) not in (None, ""):
                return scope[key]
    return None


def _iso(nanos) -> str | None:
    try:
        n = int(nanos)
    except (TypeError, ValueError):
        return None if nanos in (None, "") else str(nanos)
    try:
        moment = datetime.fromtimestamp(n // 1_000_000_000, UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a date holds: the row checks refuse it as it came
        return str(nanos)
    return moment.replace(microsecond=(n % 1_000_000_000) // 1000).isoformat()


def _text(v) -> str | None:
    if v is None:
        return None
    return json.dumps(v) if isinstance(v, list | dict) else str(v)


def span_record(span: dict, resource: dict) -> dict | None:
    """The request-log fields of one span, or None when the span is not a model call."""
    attrs = (_attrs(span.get("attributes")), resource)
    op = _first(attrs, "gen_ai.operation.name")
    usage_keys = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
                  "gen_ai.usage.completion_tokens", "gen_ai.request.model", "gen_ai.response.model")
    if op not in MODEL_OPERATIONS and (op is not None or _first(attrs, *usage_keys) is None):
        return None
    provider = _first(attrs, "gen_ai.provider.name", "gen_ai.system")
    status = span.get("status") or {}
    failed = status.get("code") in (2, "STATUS_CODE_ERROR") or _first(attrs, "error.type") is not None
    start, end = span.get("startTimeUnixNano"), span.get("endTimeUnixNano")
    try:
        latency = (int(end) - int(start)) / 1e6
    except (TypeError, ValueError):
        latency = None
    rec = {
        "timestamp": _iso(start),
        "request_id": f"{span.get('traceId', '')}-{span.get('spanId', '')}",
        "provider": PROVIDERS.get(str(provider).lower(), provider) if provider else None,
        "model": _first(attrs, "gen_ai.response.model", "gen_ai.request.model"),
        "input_tokens": _first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "cached_input_tokens": _first(attrs, "gen_ai.usage.cache_read.input_tokens"),
        "cache_write_tokens": _first(attrs, "gen_ai.usage.cache_creation.input_tokens"),
        "output_tokens": _first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "status": "error" if failed else "ok",
        "latency_ms": latency,
        "span_name": span.get("name"),
    }
    if op == "embeddings" and rec["output_tokens"] is None:
        rec["output_tokens"] = 0
    for tag in (*TAGS, *CONTEXT):
        rec[tag] = _first(attrs, tag, f"forecast.{tag}", f"app.{tag}", *ALIASES.get(tag, ()))
    for col, key in EXTRA.items():
        if key:
            rec[col] = _first(attrs, key)
    return rec


def _documents(path: Path):
    text = path.read_text(encoding="utf-8")
    try:
        yield 1, json.loads(text)
        return
    except ValueError:
        pass
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}: line {n}: not valid OTLP JSON ({exc.args[0].split(':')[0]})") from None


def stage_otel(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> int:
    """Stage the model-call spans of an OTLP JSON file as `table`; returns how many other spans were skipped."""
    rows, raws, skipped = [], [], 0
    for line, doc in _documents(path):
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
            raise UsageError(f"{path}: line {line}: not an OTLP trace export: expected an object with resourceSpans")
        for i, rs in enumerate(doc["resourceSpans"]):
            scopes = rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or [] if isinstance(rs, dict) \
                else None
            if not isinstance(scopes, list) or not all(isinstance(ss, dict) for ss in scopes):
                raise UsageError(f"{path}: line {line}: resourceSpans[{i}]: not an OTLP ResourceSpans object "
                                 "(expected an object with a scopeSpans list of objects)")
            resource = rs.get("resource")
            resource = _attrs(resource.get("attributes")) if isinstance(resource, dict) else {}
            for ss in scopes:
                spans = ss.get("spans") or []
                for span in spans if isinstance(spans, list) else []:
                    rec = span_record(span, resource) if isinstance(span, dict) else None
                    if rec is None:
                        skipped += 1
                    else:
                        rows.append(rec)
                        raws.append(json.dumps(span, ensure_ascii=False))
    columns = {c: [_text(r.get(c)) for r in rows] for c in COLUMNS}
    columns[LINE] = list(range(1, len(rows) + 1))
    columns[MALFORMED] = [None] * len(rows)
    columns[RAW] = raws  # a span's raw text: the span object as it came
    types = [pa.string()] * len(COLUMNS) + [pa.int64(), pa.string(), pa.string()]
    arrow = pa.table([pa.array(v, type=t) for v, t in zip(columns.values(), types, strict=True)], names=list(columns))
    con.register("_otel", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _otel")
    con.unregister("_otel")
    return skipped
