"""Which genai-prices data prices come from: the data packaged with the installed genai-prices release, or a newer
copy that `forecast prices --refresh` fetched into the working folder (prices/genai-prices.json), which then wins.

The copy is fetched the way genai-prices updates itself: its published data file
(genai_prices.update_prices.DEFAULT_UPDATE_URL, the file its UpdatePrices task downloads) read with the same
validation (genai_prices.types._providers_from_raw). It is stored with its source and the time it was fetched,
and every price's source names it, as reports' provenance does.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from genai_prices.data_snapshot import DataSnapshot, get_snapshot

from ..core.errors import ForecastError
from ..core.workfolder import PRICE_DATA

FORMAT = "forecast.genai-prices-data/1"
TIMEOUT_S = 20
_loaded: dict[tuple[Path, float], tuple[DataSnapshot, str]] = {}


def _models(snapshot: DataSnapshot) -> dict[str, object]:
    return {f"{p.id}/{m.id}": m.prices for p in snapshot.providers for m in p.models}


def _parse(providers, source: str) -> DataSnapshot:
    """Validated genai-prices data (a provider list), or an error naming `source` and the first problem."""
    from genai_prices.types import _providers_from_raw

    if not isinstance(providers, list) or not providers:
        raise ForecastError(f"{source}: not genai-prices data: expected a non-empty list of providers")
    try:
        parsed = _providers_from_raw(providers)
    except (ValueError, TypeError) as exc:
        raise ForecastError(f"{source}: not valid genai-prices data ({str(exc).splitlines()[0]})") from None
    if not any(p.models for p in parsed):
        raise ForecastError(f"{source}: genai-prices data with no models")
    return DataSnapshot(parsed, from_auto_update=False)


def snapshot() -> DataSnapshot:
    """The price data in use: the working folder's refreshed copy when there is one, else the packaged data."""
    return _active()[0]


def label() -> str:
    """What snapshot() holds, as price sources and reports name it.

    >>> label().startswith("genai-prices ")
    True
    """
    return _active()[1]


def _active() -> tuple[DataSnapshot, str]:
    path = Path(PRICE_DATA)
    if not path.is_file():
        return get_snapshot(), f"genai-prices {version('genai-prices')}"
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _loaded:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ForecastError(f"{path}: not readable price data ({exc}): run `forecast prices --refresh` "
                                "again, or delete the file to use the packaged prices") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ForecastError(f"{path}: not a file `forecast prices --refresh` wrote (format {FORMAT}): "
                                "delete it to use the packaged prices")
        fetched = str(doc.get("fetched_at", ""))[:10]
        _loaded[key] = (_parse(doc.get("providers"), str(path)), f"genai-prices data fetched {fetched} ({path})")
    return _loaded[key]


@dataclass(frozen=True)
class Refreshed:
    """A refresh: the file written, where from, when, how many providers and models, and the models whose prices
    differ from the data used before (up to five named)."""

    path: str
    url: str
    fetched_at: str
    providers: int
    models: int
    changed: int
    changed_examples: tuple[str, ...]
    before: str

    def lines(self) -> list[str]:
        out = [f"{self.path}: genai-prices data fetched {self.fetched_at} from {self.url}: {self.providers} "
               f"providers, {self.models} models",
               f"prices changed for {self.changed} model{'s' if self.changed != 1 else ''} since {self.before}"
               + (f" (e.g. {', '.join(self.changed_examples)})" if self.changed_examples else "")]
        return [*out, "every estimate, ingest and report run in this folder now uses it (delete the file to go "
                      "back to the packaged prices)"]


def refresh(url: str | None = None) -> Refreshed:
    """Fetch the current genai-prices data from `url` (default: the file genai-prices' own updater reads), validate
    it and store it as the working folder's prices/genai-prices.json; raise ForecastError (nothing written, the
    prices in use unchanged) when it cannot."""
    from genai_prices.update_prices import DEFAULT_UPDATE_URL

    url = url or DEFAULT_UPDATE_URL
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("https", "http"):
        raise ForecastError(f"--url {url!r}: must be an http(s) address")
    try:
        before_snapshot, before = _active()
    except ForecastError:  # the stored copy is unreadable: a refresh replaces it
        before_snapshot, before = get_snapshot(), f"genai-prices {version('genai-prices')}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "forecast"}),
                                    timeout=TIMEOUT_S) as answer:
            body = answer.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ForecastError(f"could not fetch genai-prices data from {url} ({reason}): prices stay on {before}") \
            from None
    try:
        providers = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ForecastError(f"{url}: not JSON: prices stay on {before}") from None
    fresh = _parse(providers, url)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    old, new = _models(before_snapshot), _models(fresh)
    changed = sorted(k for k in new if k in old and repr(new[k]) != repr(old[k]))
    out = Path(PRICE_DATA)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "source_url": url, "fetched_at": now, "sha256": hashlib.sha256(body).hexdigest(),
           "genai_prices_release": version("genai-prices"), "providers": providers}
    temp = out.with_suffix(".part")
    temp.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    temp.replace(out)
    return Refreshed(str(out), url, now, len(fresh.providers), len(new), len(changed), tuple(changed[:5]), before)
