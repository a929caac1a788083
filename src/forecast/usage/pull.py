"""Pull the providers' usage reports over their admin APIs instead of downloading them, and load them.

OpenAI: `GET /v1/organization/usage/completions` and `/embeddings` (Authorization: Bearer with an admin key),
daily buckets grouped by project_id, api_key_id and model (completions also by batch and service_tier), 31
buckets a page (the maximum for 1d), `page` = `next_page` while `has_more`. Anthropic:
`GET /v1/organizations/usage_report/messages` (x-api-key with an admin key, anthropic-version 2023-06-01),
daily buckets grouped by model, service_tier, context_window, api_key_id and workspace_id, the same paging.
Sources: openai/openai-openapi (UsageResponse), platform.claude.com "Usage and Cost API" and its reference
(checked 2026-12-02).

Only whole UTC days that have ended are pulled, so every bucket is complete; the pages are saved one per line
(the file `forecast ingest` reads again) and loaded. The warehouse's `pulls` table records each source's days
pulled: the next pull starts after the last. Redirects are not followed, and http to this machine bypasses
any proxy, so the key goes only to the address given. A 429 or 5xx answer is retried after its Retry-After (at most
MAX_WAIT_S) or a doubling pause; any other error stops the pull with the API's message. The admin key comes
from the environment, is sent only in its header, and never appears in output, files or the warehouse.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ..core.errors import UsageError

MAX_PAGES = 10_000  # a safety stop for a server whose pages never end
MAX_WAIT_S = 60  # the longest Retry-After honoured; Anthropic's admin endpoints ask for a poll a minute
RETRIES = 5
TIMEOUT_S = 60


@dataclass(frozen=True)
class Api:
    kind: str  # the usage.exports format of the saved pages
    key_env: str
    base_url: str
    paths: dict[str, tuple[str, ...]]  # endpoint -> the group_by values it documents (those asked for)

    def params(self, path: str, start: date, end: date) -> list[tuple[str, str]]:
        """Query parameters of the first page of `path` for whole days [start, end)."""
        if self.kind == "openai-usage":
            return [("start_time", str(_epoch(start))), ("end_time", str(_epoch(end))), ("bucket_width", "1d"),
                    ("limit", "31"), *(("group_by", g) for g in self.paths[path])]
        return [("starting_at", f"{start.isoformat()}T00:00:00Z"), ("ending_at", f"{end.isoformat()}T00:00:00Z"),
                ("bucket_width", "1d"), ("limit", "31"), *(("group_by[]", g) for g in self.paths[path])]

    def headers(self, key: str) -> dict[str, str]:
        if self.kind == "openai-usage":
            return {"Authorization": f"Bearer {key}"}
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}


APIS = {
    "openai": Api("openai-usage", "OPENAI_ADMIN_KEY", "https://api.openai.com", {
        "/v1/organization/usage/completions": ("project_id", "api_key_id", "model", "batch", "service_tier"),
        "/v1/organization/usage/embeddings": ("project_id", "api_key_id", "model")}),
    "anthropic": Api("anthropic-usage", "ANTHROPIC_ADMIN_KEY", "https://api.anthropic.com", {
        "/v1/organizations/usage_report/messages": ("model", "service_tier", "context_window", "api_key_id",
                                                    "workspace_id")}),
}


def _epoch(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def check_base_url(url: str) -> str:
    """An API base URL: https, or http only to this machine (the admin key must not cross a network in clear).

    >>> check_base_url("http://127.0.0.1:8080/")
    'http://127.0.0.1:8080'
    >>> check_base_url("http://example.com")
    Traceback (most recent call last):
    ...
    forecast.core.errors.UsageError: --base-url 'http://example.com': must be https (http only to localhost ...)
    """
    parts = urllib.parse.urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        raise UsageError(f"--base-url {url!r}: must be https (http only to localhost or 127.0.0.1)")
    return url.rstrip("/")


def _message(body: bytes, key: str) -> str:
    """The API's error message (OpenAI {"error": {"message"}}, Anthropic {"error": {"type", "message"}}), the key
    removed wherever it appears."""
    try:
        error = json.loads(body).get("error")
        text = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")[:200]
    return " ".join(str(text).replace(key, "[key]").split())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would send the key's header on to wherever the answer points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise UsageError(f"{urllib.parse.urlsplit(req.full_url).netloc}: HTTP {code}: the API redirected to "
                         f"{urllib.parse.urlsplit(newurl).netloc}: not followed (the key stays with the address given)")


def _opener(url: str) -> urllib.request.OpenerDirector:
    """No redirects; no proxy for http to this machine (a proxy would see the key in clear)."""
    handlers = [_NoRedirect()]
    if urllib.parse.urlsplit(url).scheme == "http":
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def get_page(url: str, headers: dict[str, str], key: str, sleep: Callable[[float], None] = time.sleep) -> dict:
    """One page of JSON, retrying 429 and 5xx answers (Retry-After seconds, else 1, 2, 4, ... s)."""
    opener = _opener(url)
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(url, headers={**headers, "Accept": "application/json",
                                                       "User-Agent": "forecast-pull"})
        try:
            with opener.open(request, timeout=TIMEOUT_S) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            retryable = exc.code == 429 or exc.code >= 500
            if not retryable or attempt == RETRIES:
                where = urllib.parse.urlsplit(url)
                raise UsageError(f"{where.scheme}://{where.netloc}{where.path}: HTTP {exc.code}: "
                                 f"{_message(body, key)}") from None
            wait = exc.headers.get("Retry-After")
            wait_s = float(wait) if wait and wait.strip().replace(".", "", 1).isdigit() else 2.0 ** attempt
            if wait_s > MAX_WAIT_S:
                raise UsageError(f"{urllib.parse.urlsplit(url).netloc}: rate limited: the API asks to retry after "
                                 f"{wait_s:.0f} s; pull again later") from None
            sleep(wait_s)
        except urllib.error.URLError as exc:
            raise UsageError(f"could not reach {urllib.parse.urlsplit(url).netloc}: {exc.reason}") from None
        except ValueError:
            raise UsageError(f"{urllib.parse.urlsplit(url).netloc}: the answer is not JSON") from None
    raise AssertionError("unreachable")


def pages(api: Api, base_url: str, key: str, start: date, end: date,
          sleep: Callable[[float], None] = time.sleep) -> list[dict]:
    """Every page of every endpoint of `api` for the days [start, end)."""
    out = []
    for path in api.paths:
        params, cursor, seen = api.params(path, start, end), None, set()
        while True:
            query = urllib.parse.urlencode(params + ([("page", cursor)] if cursor else []))
            page = get_page(f"{base_url}{path}?{query}", api.headers(key), key, sleep)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise UsageError(f"{base_url}{path}: the answer is not a page of usage buckets")
            out.append(page)
            seen.add(cursor)
            cursor = page.get("next_page")
            if not page.get("has_more") or not cursor:
                break
            if cursor in seen or len(seen) >= MAX_PAGES:
                raise UsageError(f"{base_url}{path}: the pages do not end (next_page {cursor!r} again, or "
                                 f"{MAX_PAGES:,} pages): nothing was loaded")
    return out


@dataclass(frozen=True)
class Pull:
    """One pull: the days asked for ([start, end), UTC), the pages fetched, the file they were saved to and the
    load's accounting (None when there was nothing new to pull)."""

    source: str
    start: date
    end: date
    pages: int
    file: str | None
    load: object | None

    def lines(self) -> list[str]:
        if self.file is None:
            return [f"{self.source}: already pulled through {self.start - timedelta(days=1)}: nothing new "
                    f"(only days that have ended, UTC, are pulled)"]
        days = (self.end - self.start).days
        return [f"{self.source}: pulled {self.start} to {self.end - timedelta(days=1)} ({days} day"
                f"{'s' if days != 1 else ''}, {self.pages} page{'s' if self.pages != 1 else ''}) into {self.file}",
                self.load.line()]


def pull(source: str, since: date, warehouse, folder: Path, *, base_url: str | None = None, book=None,
         today: date | None = None, sleep: Callable[[float], None] = time.sleep) -> Pull:
    """Pull `source` ("openai" or "anthropic") usage through yesterday (UTC) from `since`, or from the day after
    the last pull when `since` is not before the first one (an earlier `since` pulls everything again: the days
    loaded already come back as duplicates); save the pages under `folder` and load them into `warehouse` (an
    open Warehouse). The days pulled are recorded per source, not per organisation: pull a second organisation
    into another warehouse."""
    if source not in APIS:
        raise UsageError(f"source {source!r}: must be one of {', '.join(APIS)}")
    api = APIS[source]
    key = os.environ.get(api.key_env, "").strip()
    if not key:
        raise UsageError(f"{api.key_env} is not set: export your {source} admin key in that variable")
    base = check_base_url(base_url or api.base_url)
    end = today or datetime.now(UTC).date()
    if since >= end:
        raise UsageError(f"--since {since}: only days that have ended (UTC) are pulled: the last is "
                         f"{end - timedelta(days=1)}")
    first, done = warehouse.sql("SELECT min(since), max(until) FROM pulls WHERE source = ?", [source]).fetchall()[0]
    start = since if first is None or since < first else max(since, done)  # before the first pull: all of it again
    if start >= end:
        return Pull(source, start, end, 0, None, None)
    fetched = pages(api, base, key, start, end, sleep)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{api.kind}-{start:%Y%m%d}-{end:%Y%m%d}.jsonl"
    temp = out.with_suffix(".part")
    temp.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in fetched), encoding="utf-8")
    temp.replace(out)
    load = warehouse.load(out, kind=api.kind, book=book)
    warehouse.sql("INSERT INTO pulls VALUES (?, ?, ?, now(), ?, ?)", [source, start, end, str(out), load.load_id])
    return Pull(source, start, end, len(fetched), str(out), load)
