"""Alert delivery as a Slack-compatible JSON webhook: retries with exponential backoff and a timeout.

The webhook URL is a secret (Slack puts the token in its path): logs and errors show only the
scheme and host. Retried: connection errors, timeouts, HTTP 429 and 5xx. Not retried: other 4xx.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.errors import ForecastError

log = logging.getLogger(__name__)
MAX_LINES = 40  # Slack truncates long messages; the rest is summarised as a count


@dataclass(frozen=True)
class Delivery:
    attempts: int
    status: int  # HTTP status of the accepted attempt


def redact(url: str) -> str:
    """scheme://host[:port]/… : the path and query of a webhook URL carry its token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…"


def slack_payload(title: str, lines: list[str], pages: bool) -> dict:
    """A message Slack incoming webhooks accept: `text` (fallback) plus one header and one section block."""
    shown = lines[:MAX_LINES] + ([f"… and {len(lines) - MAX_LINES} more"] if len(lines) > MAX_LINES else [])
    head = f"{':rotating_light: ' if pages else ''}{title}"
    body = "\n".join(f"• {line}" for line in shown) or "no alerts"
    return {"text": f"{head}\n{body}",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}}]}


def post_json(url: str, payload: dict, timeout_s: float = 5.0, retries: int = 3, backoff_s: float = 0.5,
              sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST payload as JSON; retry up to `retries` times after the first try, waiting backoff_s x 2^n."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ForecastError(f"webhook URL {redact(url)}: must start with https:// (or http:// for a local test)")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):  # else http.client's error would quote the whole URL
        raise ForecastError(f"webhook URL {redact(url)}: contains a space or control character")
    data = json.dumps(payload).encode("utf-8")
    where = redact(url)
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return Delivery(attempt, response.status)
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                raise ForecastError(f"webhook {where}: HTTP {exc.code}: rejected (not retried)") from None
            problem = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"{type(reason).__name__}" + (" (timeout)" if isinstance(reason, TimeoutError) else "")
        if attempt <= retries:
            wait = backoff_s * 2 ** (attempt - 1)
            log.warning("webhook %s: attempt %d failed (%s); retrying in %.2fs", where, attempt, problem, wait)
            sleep(wait)
    raise ForecastError(f"webhook {where}: gave up after {retries + 1} attempts (last: {problem})")
