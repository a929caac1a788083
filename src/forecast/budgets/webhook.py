"""Alert delivery as a Slack-compatible JSON webhook: retries with exponential backoff and a timeout.

The webhook URL is a secret (Slack puts the token in its path): logs and errors show only the
scheme and host. Retried: connection errors, timeouts, HTTP 429 and 5xx. Not retried: other 4xx.
A URL is checked (check_url) before anything is sent: http(s), printable ASCII only (percent-encode
anything else, or give an international host in its xn-- form), a host, and a port 1-65535 if any.
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
from urllib.parse import unquote, urlsplit, urlunsplit

from ..core.errors import ForecastError

log = logging.getLogger(__name__)
MAX_LINES = 40  # Slack truncates long messages; the rest is summarised as a count


@dataclass(frozen=True)
class Delivery:
    attempts: int
    status: int  # HTTP status of the accepted attempt


def redact(url: str) -> str:
    """scheme://host[:port]/… : the path and query of a webhook URL carry its token (and user:password@ is
    dropped); a URL too broken to split shows its scheme alone.

    >>> redact("https://hooks.slack.com/services/T0/B0/s3cr3t"), redact("http://[::1/s3cr3t")
    ('https://hooks.slack.com/…', 'http://…')
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme}://…" if scheme.isascii() and scheme.isalpha() else "…"
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host if host.isprintable() else '…'}/…"


def check_url(url: str, field: str = "webhook URL") -> str:
    """`url` when it is a webhook URL that can be sent to; else a ForecastError naming `field` and the rule,
    showing the URL redacted (never its path, query or user:password).

    >>> check_url("https://hooks.slack.com/services/T0/B0/s3cr3t")
    'https://hooks.slack.com/services/T0/B0/s3cr3t'
    >>> check_url("https://hooks.slack.com/services/T0/B0/s3cr3t-é", "FORECAST_WEBHOOK_URL")
    Traceback (most recent call last):
    ...
    forecast.core.errors.ForecastError: FORECAST_WEBHOOK_URL https://hooks.slack.com/…: has a non-ASCII character: ...
    """
    where = f"{field} {redact(url)}"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):  # else http.client's error would quote the whole URL
        raise ForecastError(f"{where}: contains a space or control character")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. http://[::1/ ; the error's own text may quote the host and user:password
        raise ForecastError(f"{where}: cannot be split into scheme, host and path (an IPv6 host needs both "
                            "brackets, as in http://[::1]:8080/PATH)") from None
    if parts.scheme not in ("http", "https"):
        raise ForecastError(f"{where}: must start with https:// (or http:// for a local test)")
    if not url.isascii():
        raise ForecastError(f"{where}: has a non-ASCII character: percent-encode it (an international host: "
                            "its xn-- form)")
    if not parts.hostname:
        raise ForecastError(f"{where}: has no host: it must look like https://HOST/PATH")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ForecastError(f"{where}: the port must be a whole number from 1 to 65535")
    return url


def slack_payload(title: str, lines: list[str], pages: bool) -> dict:
    """A message Slack incoming webhooks accept: `text` (fallback) plus one header and one section block."""
    shown = lines[:MAX_LINES] + ([f"… and {len(lines) - MAX_LINES} more"] if len(lines) > MAX_LINES else [])
    head = f"{':rotating_light: ' if pages else ''}{title}"
    body = "\n".join(f"• {line}" for line in shown) or "no alerts"
    return {"text": f"{head}\n{body}",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}}]}


def _basic_auth(url: str) -> tuple[str, dict]:
    """user:password in a URL as an Authorization header (urllib would take it for part of the host name).

    >>> _basic_auth("http://u:p@127.0.0.1:8080/hook")
    ('http://127.0.0.1:8080/hook', {'Authorization': 'Basic dTpw'})
    """
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    import base64

    user = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host)), {"Authorization": "Basic " + base64.b64encode(user).decode()}


def post_json(url: str, payload: dict, timeout_s: float = 5.0, retries: int = 3, backoff_s: float = 0.5,
              sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST payload as JSON; retry up to `retries` times after the first try, waiting backoff_s x 2^n."""
    check_url(url)
    data = json.dumps(payload).encode("utf-8")
    where = redact(url)
    url, headers = _basic_auth(url)
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
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
