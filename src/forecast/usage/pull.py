"""Pull the providers' usage and cost reports over their admin APIs instead of downloading them, and load them.

OpenAI (Authorization: Bearer with an admin key): `GET /v1/organization/usage/completions` and `/embeddings`,
daily buckets grouped by project_id, api_key_id and model (completions also by batch and service_tier), and
`GET /v1/organization/costs` grouped by project_id and line_item. Anthropic (x-api-key with an admin key,
anthropic-version 2023-06-01): `GET /v1/organizations/usage_report/messages` grouped by model, service_tier,
context_window, api_key_id and workspace_id, and `GET /v1/organizations/cost_report` grouped by workspace_id
and description. 31 daily buckets a page (the most every one of them allows), `page` = `next_page` while
`has_more`. Sources: openai/openai-openapi (UsageResponse, CostsResult), platform.claude.com "Usage and Cost
API" and its reference (checked 2026-12-02).

Only whole UTC days that have ended are pulled, so every bucket is complete; each report's pages are saved one
per line (the file `forecast ingest` reads again) and loaded. The warehouse's `pulls` table records each
source's days pulled: the next pull starts after the last. Redirects are not followed, and http to this machine
bypasses any proxy, so the key goes only to the address given. A 429 or 5xx answer is retried after its
Retry-After (at most MAX_WAIT_S) or a doubling pause; any other error stops the pull with the API's message.
The admin key comes from the environment, is sent only in its header, and never appears in output, files or
the warehouse.
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
from ..core.months import utc_midnight

MAX_PAGES = 10_000  # a safety stop for a server whose pages never end
MAX_WAIT_S = 60  # the longest Retry-After honoured; Anthropic's admin endpoints ask for a poll a minute
RETRIES = 5
TIMEOUT_S = 60


@dataclass(frozen=True)
class Api:
    style: str  # "openai" or "anthropic": how the API names its parameters and takes its key
    key_env: str
    base_url: str
    reports: dict[str, dict[str, tuple[str, ...]]]  # usage.exports format -> endpoint -> the group_by values asked

    def params(self, group_by: tuple[str, ...], start: date, end: date) -> list[tuple[str, str]]:
        """Query parameters of an endpoint's first page for whole days [start, end)."""
        if self.style == "openai":
            return [("start_time", str(_epoch(start))), ("end_time", str(_epoch(end))), ("bucket_width", "1d"),
                    ("limit", "31"), *(("group_by", g) for g in group_by)]
        return [("starting_at", f"{start.isoformat()}T00:00:00Z"), ("ending_at", f"{end.isoformat()}T00:00:00Z"),
                ("bucket_width", "1d"), ("limit", "31"), *(("group_by[]", g) for g in group_by)]

    def headers(self, key: str) -> dict[str, str]:
        if self.style == "openai":
            return {"Authorization": f"Bearer {key}"}
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}


APIS = {  # the group_by values each endpoint documents, all asked for except OpenAI's user_id
    "openai": Api("openai", "OPENAI_ADMIN_KEY", "https://api.openai.com", {
        "openai-usage": {
            "/v1/organization/usage/completions": ("project_id", "api_key_id", "model", "batch", "service_tier"),
            "/v1/organization/usage/embeddings": ("project_id", "api_key_id", "model")},
        "openai-costs": {"/v1/organization/costs": ("project_id", "line_item")}}),
    "anthropic": Api("anthropic", "ANTHROPIC_ADMIN_KEY", "https://api.anthropic.com", {
        "anthropic-usage": {"/v1/organizations/usage_report/messages": (
            "model", "service_tier", "context_window", "api_key_id", "workspace_id")},
        "anthropic-costs": {"/v1/organizations/cost_report": ("workspace_id", "description")}}),
}


def _epoch(day: date) -> int:
    return int(utc_midnight(day).timestamp())


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


def pages(api: Api, endpoints: dict[str, tuple[str, ...]], base_url: str, key: str, start: date, end: date,
          sleep: Callable[[float], None] = time.sleep) -> list[dict]:
    """Every page of each of `endpoints` (path -> group_by) for the days [start, end)."""
    out = []
    for path, group_by in endpoints.items():
        params, cursor, seen = api.params(group_by, start, end), None, set()
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
    """One pull: the days asked for ([start, end), UTC) and, per report (usage, costs), the pages fetched, the file
    they were saved to and the load's accounting (none when there was nothing new to pull)."""

    source: str
    start: date
    end: date
    reports: tuple[tuple[str, int, str, object], ...] = ()  # (format, pages, file, LoadResult)

    def load(self, kind: str):
        """The LoadResult of one report ("openai-usage", "anthropic-costs", ...)."""
        return next(load for k, _, _, load in self.reports if k == kind)

    def page_count(self, kind: str) -> int:
        return next(n for k, n, _, _ in self.reports if k == kind)

    def lines(self) -> list[str]:
        if not self.reports:
            return [f"{self.source}: already pulled through {self.start - timedelta(days=1)}: nothing new "
                    f"(only days that have ended, UTC, are pulled)"]
        days = (self.end - self.start).days
        out = [f"{self.source}: pulled {self.start} to {self.end - timedelta(days=1)} ({days} day"
               f"{'s' if days != 1 else ''})"]
        for kind, n, file, load in self.reports:
            out += [f"  {kind}: {n} page{'s' if n != 1 else ''} into {file}", f"  {load.line()}"]
        return out


def credentials(source: str, base_url: str | None = None) -> tuple[Api, str, str]:
    """The API of `source`, its admin key from the environment and the checked base URL, or a clear error (checked
    before a warehouse is opened, so a pull that cannot run leaves nothing behind)."""
    if source not in APIS:
        raise UsageError(f"source {source!r}: must be one of {', '.join(APIS)}")
    api = APIS[source]
    key = os.environ.get(api.key_env, "").strip()
    if not key:
        raise UsageError(f"{api.key_env} is not set: export your {source} admin key in that variable")
    return api, key, check_base_url(base_url or api.base_url)


def _start(warehouse, source: str, kind: str, since: date) -> date:
    """The first day to pull of one report: `since`, or the day after its last pull when `since` is not before its
    first (rows recorded before reports had a kind are usage)."""
    first, done = warehouse.sql("SELECT min(since), max(until) FROM pulls WHERE source = ? AND "
                                "coalesce(kind, ?) = ?", [source, f"{source}-usage", kind]).fetchall()[0]
    return since if first is None or since < first else max(since, done)


def pull(source: str, since: date, warehouse, folder: Path, *, base_url: str | None = None, book=None,
         today: date | None = None, sleep: Callable[[float], None] = time.sleep) -> Pull:
    """Pull `source` ("openai" or "anthropic") usage and costs through yesterday (UTC) from `since`, or from the
    day after the last pull when `since` is not before the first one (an earlier `since` pulls everything again:
    the days loaded already come back as duplicates); save each report's pages under `folder` and load them into
    `warehouse` (an open Warehouse): usage as request rows, costs as invoice charges. Every page is fetched
    before anything loads. The days pulled are recorded per source, not per organisation: pull a second
    organisation into another warehouse."""
    api, key, base = credentials(source, base_url)
    end = today or datetime.now(UTC).date()
    if since >= end:
        raise UsageError(f"--since {since}: only days that have ended (UTC) are pulled: the last is "
                         f"{end - timedelta(days=1)}")
    starts = {kind: _start(warehouse, source, kind, since) for kind in api.reports}
    start = min(starts.values())
    if start >= end:
        return Pull(source, start, end)
    fetched = {kind: pages(api, api.reports[kind], base, key, day, end, sleep)
               for kind, day in starts.items() if day < end}
    folder.mkdir(parents=True, exist_ok=True)
    reports = []
    for kind, got in fetched.items():
        out = folder / f"{kind}-{starts[kind]:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}.jsonl"  # the days it holds
        temp = out.with_suffix(".part")
        temp.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in got), encoding="utf-8")
        temp.replace(out)
        load = warehouse.load(out, kind=kind, book=book)
        warehouse.sql("INSERT INTO pulls (source, kind, since, until, pulled_at, file, load_id) "
                      "VALUES (?, ?, ?, ?, now(), ?, ?)", [source, kind, starts[kind], end, str(out), load.load_id])
        reports.append((kind, len(got), str(out), load))
    return Pull(source, start, end, tuple(reports))
