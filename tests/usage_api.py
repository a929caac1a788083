"""A local HTTP server on 127.0.0.1 that answers as OpenAI's organization Usage API and Anthropic's usage report
do, by their documentation (openai/openai-openapi UsageResponse; platform.claude.com "Get Messages Usage
Report"): the admin key in its header (401 with the provider's error body otherwise), daily buckets for the
asked days, pages with has_more and an opaque next_page token, and a 429 with Retry-After where a test asks."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = "sk-admin-test-0123456789abcdef"
GROUP_BY = {  # the group_by values each endpoint documents
    "/v1/organization/usage/completions": {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"},
    "/v1/organization/usage/embeddings": {"project_id", "user_id", "api_key_id", "model"},
    "/v1/organization/costs": {"project_id", "line_item", "api_key_id"},
    "/v1/organizations/cost_report": {"workspace_id", "description"},
    "/v1/organizations/usage_report/messages": {"api_key_id", "workspace_id", "model", "service_tier",
                                                "context_window", "inference_geo", "speed", "account_id",
                                                "service_account_id"},
}
PAGE_BUCKETS = 2  # fewer than the 31 asked for, as the APIs may return: the client must follow next_page


def openai_results(day: date, path: str) -> list[dict]:
    """One day's usage: 10 gpt-4o-mini calls (1M in, 100k out) or 20 embeddings calls (1M in); its costs at list
    price: $0.15 + $0.06 + $0.02."""
    if path.endswith("/costs"):
        return [{"object": "organization.costs.result", "amount": {"value": v, "currency": "usd"}, "line_item": item,
                 "project_id": "proj_1"} for item, v in (("gpt-4o-mini, input", 0.15), ("gpt-4o-mini, output", 0.06),
                                                         ("text-embedding-3-small", 0.02))]
    if path.endswith("/embeddings"):
        return [{"object": "organization.usage.embeddings.result", "input_tokens": 1_000_000,
                 "num_model_requests": 20, "project_id": "proj_1", "user_id": None, "api_key_id": "key_1",
                 "model": "text-embedding-3-small"}]
    return [{"object": "organization.usage.completions.result", "input_tokens": 1_000_000, "input_cached_tokens": 0,
             "output_tokens": 100_000, "num_model_requests": 10, "project_id": "proj_1", "user_id": None,
             "api_key_id": "key_1", "model": "gpt-4o-mini", "batch": False, "service_tier": "default"}]


def anthropic_results(day: date, path: str) -> list[dict]:
    """One day's usage: claude-haiku-4-5, 1M uncached input and 100k output tokens; its costs at list price in
    cents: 100 + 50."""
    if path.endswith("/cost_report"):
        return [{"amount": cents, "currency": "USD", "cost_type": "tokens", "token_type": kind, "description": text,
                 "model": "claude-haiku-4-5", "service_tier": "standard", "workspace_id": None}
                for cents, kind, text in (("100", "uncached_input_tokens", "Claude Haiku 4.5 Usage - Input Tokens"),
                                          ("50", "output_tokens", "Claude Haiku 4.5 Usage - Output Tokens"))]
    return [{"uncached_input_tokens": 1_000_000, "cache_creation": {"ephemeral_1h_input_tokens": 0,
             "ephemeral_5m_input_tokens": 0}, "cache_read_input_tokens": 0, "output_tokens": 100_000,
             "server_tool_use": {"web_search_requests": 0}, "api_key_id": "apikey_1", "workspace_id": None,
             "model": "claude-haiku-4-5", "service_tier": "standard", "context_window": "0-200k"}]


class UsageApi(ThreadingHTTPServer):
    """The server: `requests` records (path, query) of each request; `throttle` answers that many requests
    with 429 and Retry-After `retry_after` first; `redirect` answers every request with a 302 there; `stuck`
    gives the same next_page on every page."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict]] = []
        self.throttle, self.retry_after, self.redirect, self.stuck = 0, "1", None, False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: UsageApi

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        self.server.requests.append((parts.path, query))
        anthropic = parts.path.startswith("/v1/organizations/")
        if anthropic:
            ok = self.headers.get("x-api-key") == KEY and self.headers.get("anthropic-version") == "2023-06-01"
            denied = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                      "request_id": "req_1"}
        else:
            ok = self.headers.get("Authorization") == f"Bearer {KEY}"
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            denied = {"error": {"message": f"Incorrect API key provided: {given}.", "type": "invalid_request_error",
                                "param": None, "code": "invalid_api_key"}}
        if self.server.redirect:
            return self._send(302, {}, {"Location": self.server.redirect})
        if not ok:
            return self._send(401, denied)
        asked = set(query.get("group_by[]" if anthropic else "group_by", []))
        if asked - GROUP_BY[parts.path]:
            return self._send(400, {"error": {"message": f"Invalid group_by: {sorted(asked - GROUP_BY[parts.path])}",
                                              "type": "invalid_request_error"}})
        if self.server.throttle:
            self.server.throttle -= 1
            return self._send(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                              {"Retry-After": self.server.retry_after})
        if anthropic:
            start = datetime.fromisoformat(query["starting_at"][0]).date()
            end = datetime.fromisoformat(query["ending_at"][0]).date()
        else:
            start = datetime.fromtimestamp(int(query["start_time"][0]), UTC).date()
            end = datetime.fromtimestamp(int(query["end_time"][0]), UTC).date()
        paged = "page" in query and not self.server.stuck
        first = date.fromisoformat(base64.b64decode(query["page"][0]).decode()) if paged else start
        days = [first + timedelta(days=i) for i in range((end - first).days)]
        shown, rest = days[:PAGE_BUCKETS], days[PAGE_BUCKETS:]
        cursor = base64.b64encode(rest[0].isoformat().encode()).decode() if rest else None
        if self.server.stuck:
            rest, cursor = True, "same-page"
        if anthropic:
            data = [{"starting_at": f"{d}T00:00:00Z", "ending_at": f"{d + timedelta(days=1)}T00:00:00Z",
                     "results": anthropic_results(d, parts.path)} for d in shown]
            return self._send(200, {"data": data, "has_more": bool(rest), "next_page": cursor})
        midnight = [int(datetime.combine(d, datetime.min.time(), UTC).timestamp()) for d in shown]
        data = [{"object": "bucket", "start_time": t, "end_time": t + 86400, "results": openai_results(d, parts.path)}
                for t, d in zip(midnight, shown, strict=True)]
        return self._send(200, {"object": "page", "data": data, "has_more": bool(rest), "next_page": cursor})


@contextmanager
def usage_api():
    server = UsageApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
