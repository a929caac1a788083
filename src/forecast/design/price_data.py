"""Which genai-prices data prices come from: the data packaged with the installed genai-prices release, or a newer
copy that `forecast prices --refresh` fetched into the working folder (prices/genai-prices.json), which then wins.

The copy is fetched the way genai-prices updates itself: its published data file
(genai_prices.update_prices.DEFAULT_UPDATE_URL, the file its UpdatePrices task downloads) read with the same
parser (genai_prices.types._providers_from_raw), then checked further: every model has a price, no price is
negative, every name pattern compiles. A model the copy lacks keeps its packaged price, so a partial copy (a
mirror with a few models) changes those models only. The copy is stored with its source, fetch time and
SHA-256, and every price's source names it, as reports' provenance does.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from genai_prices.data_snapshot import DataSnapshot, get_snapshot

from ..core.errors import ForecastError
from ..core.workfolder import PRICE_DATA

FORMAT = "forecast.genai-prices-data/1"
TIMEOUT_S = 20
MAX_BYTES = 64 << 20  # the published file is about 2 MB
_loaded: dict[tuple, tuple[DataSnapshot, str]] = {}


def _models(snapshot: DataSnapshot) -> dict[str, tuple]:
    """'provider/model' -> what prices it: its prices, batch and other variants, and context window."""
    return {f"{p.id}/{m.id}": (m.prices, m.price_variants, m.context_window) for p in snapshot.providers
            for m in p.models}


def _negative(value, seen: set[int]) -> Decimal | None:
    """The first negative number inside a price object (prices, tiers, variants), else None."""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(value) if value < 0 else None
    if id(value) in seen or isinstance(value, str | bytes | type(None)):
        return None
    seen.add(id(value))
    inner = value if isinstance(value, list | tuple) else vars(value).values() if hasattr(value, "__dict__") else ()
    return next((n for n in (_negative(v, seen) for v in inner) if n is not None), None)


def _check_models(parsed: list, source: str) -> None:
    """Every model has a price, none negative, and every name pattern compiles (genai-prices runs them on look-up)."""
    import re

    for provider in parsed:
        for model in provider.models:
            name = f"{provider.id}/{model.id}"
            if model.prices is None or model.prices == []:
                raise ForecastError(f"{source}: model {name} has no price")
            found = _negative((model.prices, model.price_variants), set())
            if found is not None:
                raise ForecastError(f"{source}: model {name} has a negative price ({found})")
            try:
                model.is_match("forecast-probe")
            except (re.error, TypeError, ValueError) as exc:
                raise ForecastError(f"{source}: model {name} has a name pattern that does not work ({exc})") from None
        for rule in (provider.model_match, provider.provider_match):
            try:
                rule is not None and rule.is_match("forecast-probe")
            except (re.error, TypeError, ValueError) as exc:
                raise ForecastError(f"{source}: provider {provider.id} has a name pattern that does not work "
                                    f"({exc})") from None


def _merged(fresh: list, packaged: list) -> list:
    """The fetched providers, each with the packaged models it lacks after its own; packaged providers it lacks."""
    by_id = {p.id: p for p in fresh}
    out = []
    for old in packaged:
        new = by_id.pop(old.id, None)
        if new is None:
            out.append(old)
            continue
        have = {m.id for m in new.models}
        out.append(dataclasses.replace(new, models=[*new.models, *(m for m in old.models if m.id not in have)]))
    return [*out, *by_id.values()]


def _parse(providers, source: str) -> tuple[DataSnapshot, int]:
    """Checked genai-prices data (a provider list) merged over the packaged data, and how many models the data
    itself holds; an error naming `source` and the first problem otherwise."""
    from genai_prices.types import _providers_from_raw

    if not isinstance(providers, list) or not providers:
        raise ForecastError(f"{source}: not genai-prices data: expected a non-empty list of providers")
    try:
        parsed = _providers_from_raw(providers)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ForecastError(f"{source}: not valid genai-prices data ({str(exc).splitlines()[0]})") from None
    if not any(p.models for p in parsed):
        raise ForecastError(f"{source}: genai-prices data with no models")
    _check_models(parsed, source)
    packaged = get_snapshot().providers
    return DataSnapshot(_merged(parsed, packaged), from_auto_update=False), sum(len(p.models) for p in parsed)


def snapshot() -> DataSnapshot:
    """The price data in use: the working folder's refreshed copy when there is one, else the packaged data."""
    return _active()[0]


def label() -> str:
    """What snapshot() holds, as price sources and reports name it.

    >>> label().startswith("genai-prices ")
    True
    """
    return _active()[1]


@functools.cache
def _packaged() -> tuple[DataSnapshot, str]:
    """The data packaged with the installed genai-prices, and its label."""
    return get_snapshot(), f"genai-prices {version('genai-prices')}"


def _active() -> tuple[DataSnapshot, str]:
    path = Path(PRICE_DATA)
    if not path.is_file():
        return _packaged()
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _loaded:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ForecastError(f"{path}: not readable price data ({exc}): run `forecast prices --refresh` "
                                "again, or delete the file to use the packaged prices") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ForecastError(f"{path}: not a file `forecast prices --refresh` wrote (format {FORMAT}): "
                                "delete it to use the packaged prices")
        fetched = str(doc.get("fetched_at", ""))[:16].replace("T", " ")
        sha = str(doc.get("sha256", ""))[:8]
        _loaded[key] = (_parse(doc.get("providers"), str(path))[0],
                        f"genai-prices data fetched {fetched} UTC, sha256 {sha} ({path})")
    return _loaded[key]


@dataclass(frozen=True)
class Refreshed:
    """A refresh: the file written, where from, when, how many models it holds, and against the data used before,
    the models whose prices, variants or context window differ (up to five named) and the models it adds."""

    path: str
    url: str
    fetched_at: str
    models: int
    changed: tuple[str, ...]
    added: tuple[str, ...]
    kept: int  # models in use before that the fetched data lacks: they keep their earlier prices
    before: str

    def lines(self) -> list[str]:
        def some(names):
            return f" (e.g. {', '.join(names[:5])})" if names else ""

        out = [f"{self.path}: genai-prices data fetched {self.fetched_at} from {self.url}: {self.models:,} models",
               f"against {self.before}: {len(self.changed)} model{'s' if len(self.changed) != 1 else ''} priced "
               f"differently{some(self.changed)}, {len(self.added)} new{some(self.added)}"
               + (f"; {self.kept:,} not in the fetched data keep their earlier prices" if self.kept else "")]
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
        before_snapshot, before = _packaged()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "forecast"}),
                                    timeout=TIMEOUT_S) as answer:
            body, url = answer.read(MAX_BYTES + 1), answer.geturl()  # the address it came from, after redirects
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ForecastError(f"could not fetch genai-prices data from {url} ({reason}): prices stay on {before}") \
            from None
    if len(body) > MAX_BYTES:
        raise ForecastError(f"{url}: larger than {MAX_BYTES >> 20} MB: not the genai-prices data file; prices stay "
                            f"on {before}")
    try:
        providers = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ForecastError(f"{url}: not JSON: prices stay on {before}") from None
    try:
        fresh, count = _parse(providers, url)
    except ForecastError as exc:
        raise ForecastError(f"{exc.problems[0]}: prices stay on {before}") from None
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    old, new = _models(before_snapshot), _models(fresh)
    own = {f"{p['id']}/{m['id']}" for p in providers if isinstance(p, dict) for m in p.get("models") or ()
           if isinstance(m, dict) and "id" in m}
    changed = tuple(sorted(k for k in own if k in old and new.get(k) != old[k]))
    added = tuple(sorted(k for k in own if k not in old))
    out = Path(PRICE_DATA)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "source_url": url, "fetched_at": now, "sha256": hashlib.sha256(body).hexdigest(),
           "genai_prices_release": version("genai-prices"), "providers": providers}
    temp = out.with_suffix(".part")
    temp.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    temp.replace(out)
    _loaded.clear()
    return Refreshed(str(out), url, now, count, changed, added, len(set(old) - own), before)
