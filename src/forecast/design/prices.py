"""LLM prices at a date: genai-prices' dated rows, plus a validated override file.

The override file (YAML) adds what the public database cannot know: negotiated discounts,
batch-API discounts for providers whose batch price is not in the database, private or
self-hosted models, and dated price changes expected in the future. An unknown model is an
error naming the closest known models; nothing is ever priced at $0 by default.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

from genai_prices import types as gp
from pydantic import Field, with_config

from ..core import workfolder
from ..core.errors import PriceError
from ..core.results import html_table
from ..core.tokens import TOKEN_KINDS
from ..core.validation import STRICT, read_yaml, validate_document
from . import price_data

NonNegUsd = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Source = Annotated[str, Field(min_length=3)]
EARLIEST = date(1970, 1, 1)
_GP_KEYS = {"input": "input_mtok", "cached_input": "cache_read_mtok", "cache_write": "cache_write_mtok",
            "output": "output_mtok"}


# ---------------------------------------------------------------- resolved prices


@dataclass(frozen=True)
class PriceBand:
    """Prices per million tokens for calls whose total input tokens exceed `above_input_tokens`."""

    above_input_tokens: int
    input_usd_per_mtok: float
    cached_input_usd_per_mtok: float
    cache_write_usd_per_mtok: float
    output_usd_per_mtok: float

    def scaled(self, factor: float) -> PriceBand:
        return PriceBand(self.above_input_tokens, *(getattr(self, f"{k}_usd_per_mtok") * factor for k in TOKEN_KINDS))


@dataclass(frozen=True)
class ModelPrices:
    """Resolved prices of one model at one date. `bands[0]` applies from 0 input tokens; later bands
    (long-context tiers) apply to every token of a call whose input exceeds their threshold."""

    provider: str
    model: str
    on: date
    bands: tuple[PriceBand, ...]
    source: str
    usd_per_call: float = 0.0
    batch: bool = False
    notes: tuple[str, ...] = ()
    requested: str | None = None  # the name asked for, when genai-prices matched it to `model` by a pattern
    warnings: tuple[str, ...] = ()  # e.g. a date in the requested name that lies after today

    @property
    def base(self) -> PriceBand:
        return self.bands[0]

    def scaled(self, factor: float, note: str) -> ModelPrices:
        return replace(self, bands=tuple(b.scaled(factor) for b in self.bands),
                       usd_per_call=self.usd_per_call * factor, notes=(*self.notes, note))

    def to_dict(self) -> dict:
        """JSON-ready prices (USD per million tokens) with their source (what `forecast prices --format json`
        prints)."""
        out = {"provider": self.provider, "model": self.model, "date": self.on.isoformat(),
               "batch": self.batch}
        out.update({f"{k}_usd_per_mtok": getattr(self.base, f"{k}_usd_per_mtok") for k in TOKEN_KINDS})
        out["usd_per_call"] = self.usd_per_call
        out["tiers"] = [{"above_input_tokens": b.above_input_tokens,
                         **{f"{k}_usd_per_mtok": getattr(b, f"{k}_usd_per_mtok") for k in TOKEN_KINDS}}
                        for b in self.bands[1:]]
        out["source"] = self.source
        out["requested_model"] = self.requested
        out["notes"] = list(self.notes)
        out["warnings"] = list(self.warnings)
        return out

    def to_frame(self):
        """One row per price band: from how many input tokens it applies and its USD per million tokens."""
        import pandas as pd

        return pd.DataFrame([{"above_input_tokens": b.above_input_tokens,
                              **{f"{k}_usd_per_mtok": getattr(b, f"{k}_usd_per_mtok") for k in TOKEN_KINDS}}
                             for b in self.bands])

    def _repr_html_(self) -> str:
        return html_table(f"{self.provider}/{self.model} on {self.on}" + (" (batch)" if self.batch else ""),
                          self.to_frame().to_dict("records"),
                          [f"source: {self.source}", *self.notes, *(f"warning: {w}" for w in self.warnings)])


# ---------------------------------------------------------------- override file


@with_config(STRICT)
@dataclass(frozen=True)
class PriceRow:
    """Absolute prices for a private or self-hosted model, or a price change from a date on."""

    provider: str
    model: str
    input_usd_per_mtok: NonNegUsd
    output_usd_per_mtok: NonNegUsd
    source: Source
    cached_input_usd_per_mtok: NonNegUsd | None = None
    cache_write_usd_per_mtok: NonNegUsd | None = None
    usd_per_call: NonNegUsd = 0.0
    effective_from: date = EARLIEST


@with_config(STRICT)
@dataclass(frozen=True)
class Discount:
    """A fraction off every price of a provider (or one of its models) within a date range."""

    provider: str
    discount: Fraction
    source: Source
    model: str | None = None
    effective_from: date = EARLIEST
    effective_until: date | None = None


@with_config(STRICT)
@dataclass(frozen=True)
class BatchDiscount:
    """A provider's batch-API discount, used when genai-prices has no batch price for the model."""

    provider: str
    discount: Fraction
    source: Source


@with_config(STRICT)
@dataclass(frozen=True)
class PriceOverrides:
    prices: tuple[PriceRow, ...] = ()
    discounts: tuple[Discount, ...] = ()
    batch_discounts: tuple[BatchDiscount, ...] = ()


def load_overrides(path: str | Path) -> PriceOverrides:
    """Read and validate a price override YAML file."""
    data = read_yaml(path)
    overrides = validate_document(PriceOverrides, {} if data is None else data, str(path))
    for i, d in enumerate(overrides.discounts):
        if d.effective_until is not None and d.effective_until < d.effective_from:
            raise PriceError(f"{path}: discounts[{i}].effective_until: {d.effective_until}: "
                             f"must not be before effective_from {d.effective_from}")
    return overrides


# ---------------------------------------------------------------- the price book


def price_book(path: str | Path | None = None) -> PriceBook:
    """Prices from genai-prices plus an override file: `path`; None: the working folder's
    prices/overrides.yaml when present, else the packaged example (its `note` says so); 'none': no overrides.

    >>> from forecast.core.resources import example
    >>> book = price_book(example("prices/overrides.yaml"))
    >>> book.lookup("llama-3.3-70b-vllm", "self-hosted", date(2026, 11, 1)).base.output_usd_per_mtok  # USD/Mtok
    0.9
    >>> price_book("none").overrides_path is None
    True
    """
    chosen = workfolder.price_overrides(path)
    book = PriceBook.from_file(chosen.path)
    book.note = chosen.note
    return book


def _seconds_utc(t: time) -> int:
    """Seconds after midnight UTC of a time of day (naive times are UTC, as in genai-prices)."""
    at = datetime.combine(date(2000, 1, 1), t)
    at = at.astimezone(UTC) if at.tzinfo else at
    return at.hour * 3600 + at.minute * 60 + at.second


def _gp_rows_over_day(model: gp.ModelInfo, on: date) -> list[tuple[int, int, gp.ModelPrice]]:
    """The price row genai-prices applies at each time of day on `on`: (start, end seconds UTC, row),
    the day cut where time-of-day rows (e.g. DeepSeek's peak hours) start and end."""
    cuts = {0, 86_400}
    for row in [] if isinstance(model.prices, gp.ModelPrice) else model.prices:
        if isinstance(row.constraint, gp.TimeOfDateConstraint):
            cuts |= {_seconds_utc(row.constraint.start_time), _seconds_utc(row.constraint.end_time)}
    midnight = datetime.combine(on, time(), UTC)
    return [(lo, hi, model.get_prices(midnight + timedelta(seconds=(lo + hi) / 2)))
            for lo, hi in itertools.pairwise(sorted(cuts))]


def _gp_since(model: gp.ModelInfo, row: gp.ModelPrice) -> date | None:
    """The start date of a price row (None for a row without one)."""
    for conditional in [] if isinstance(model.prices, gp.ModelPrice) else model.prices:
        if conditional.prices is row and isinstance(conditional.constraint, gp.StartDateConstraint):
            return conditional.constraint.start_date
    return None


def _plain_values(row: gp.ModelPrice) -> dict[str, object]:
    return {k: v for k, v in row.__dict__.items() if v is not None and not k.startswith("_")}


def _hour_weighted(segments: list[tuple[int, int, gp.ModelPrice]]) -> tuple[dict[str, object], str]:
    """Prices averaged over the UTC day, weighted by the hours each row applies, and a note saying so.
    A row with long-context tiers cannot be averaged band by band: then the dearest row applies all day."""
    rows = {repr(r): r for _, _, r in segments}  # rows with the same prices count as one
    if any(isinstance(v, gp.TieredPrices) for r in rows.values() for v in r.__dict__.values()):
        peak = max(rows.values(), key=lambda r: float(getattr(r.input_mtok, "base", r.input_mtok)))
        return _plain_values(peak), "time-of-day prices with tiers: the peak (dearest) row applies all day"
    values = {key: _plain_values(r) for key, r in rows.items()}
    share = {key: sum(hi - lo for lo, hi, r in segments if repr(r) == key) / 86_400 for key in rows}
    keys = sorted({k for v in values.values() for k in v})
    for v in values.values():  # a cache price one row lacks costs as input there; other absent prices are 0
        v.update({k: v["input_mtok"] for k in ("cache_read_mtok", "cache_write_mtok") if k in keys and k not in v})
    average = {k: sum(share[key] * float(v.get(k) or 0) for key, v in values.items()) for k in keys}
    hours = []
    for key, v in values.items():
        spans = [f"{lo // 3600:02d}:{lo % 3600 // 60:02d}-{hi // 3600:02d}:{hi % 3600 // 60:02d}"
                 for lo, hi, r in segments if repr(r) == key]
        hours.append(f"{float(v['input_mtok']):g}/{float(v['output_mtok']):g} at {', '.join(spans)} "
                     f"({share[key]:.1%} of the day)")
    return average, ("time-of-day prices: hour-weighted average over the UTC day, calls assumed spread evenly; "
                     f"input/output USD per Mtok {'; '.join(hours)}")


def _gp_batch_prices(model: gp.ModelInfo, on: date) -> dict[str, object]:
    """The batch variant's price overrides in force on `on` ({} when the database has none)."""
    for variant in model.price_variants or ():
        if variant.when != {"processing": "batch"}:
            continue
        constraint = variant.constraint
        if constraint is None or (isinstance(constraint, gp.StartDateConstraint) and constraint.start_date <= on):
            return {k: v for k, v in variant.prices.__dict__.items() if v is not None}
    return {}


_DATED = re.compile(r"^(?P<base>.+?)[-@_](?P<date>\d{8}|\d{4}-\d{2}-\d{2})$")  # claude-x-20250929, gpt-x-2024-08-06


def _listed(clause, name: str) -> bool:
    """Whether genai-prices lists `name` itself: an `equals` clause of the model's match logic matches it."""
    if isinstance(clause, gp.ClauseEquals):
        return clause.is_match(name)
    if isinstance(clause, gp.ClauseOr):
        return any(_listed(c, name) for c in clause.or_)
    if isinstance(clause, gp.ClauseAnd):
        return any(_listed(c, name) for c in clause.and_) and clause.is_match(name)
    return False


def _pattern(clause, name: str) -> str:
    """In words, the (first) clause of a model's match logic that matches `name`."""
    if isinstance(clause, gp.ClauseOr | gp.ClauseAnd):
        parts = [c for c in (clause.or_ if isinstance(clause, gp.ClauseOr) else clause.and_) if c.is_match(name)]
        return " and ".join(_pattern(c, name) for c in parts[:1 if isinstance(clause, gp.ClauseOr) else None])
    words = {"starts_with": "starts with", "ends_with": "ends with", "contains": "contains", "regex": "matches regex",
             "equals": "equals"}
    (key, value), = ((k, v) for k, v in clause.__dict__.items() if not k.startswith("_"))
    return f"{words.get(key, key)} {value!r}"


def _pattern_match(requested: str, provider: gp.Provider,
                   model: gp.ModelInfo) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Notes and warnings when genai-prices priced `requested` as another model by a pattern (none when it lists
    the name itself): which model's price it took, and a warning when a date in the name lies after today."""
    if requested == model.id.lower() or _listed(model.match, requested):
        return (), ()
    took = f"{provider.id}/{model.id}" + (f" ({model.name})" if model.name else "")
    how = _pattern(model.match, requested) or "by its match rules"
    note = (f"{requested!r} has no price row of its own in {price_data.label()}: priced as {took}; "
            f"genai-prices' match rule for it: name {how}")
    dated = _DATED.match(requested)
    if dated is None:
        return (note,), ()
    text = dated["date"].replace("-", "")
    try:
        when = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return (note,), (f"model name {requested!r} ends in {dated['date']!r}, which is not a date: "
                         f"it took the price of {took}; check the model name",)
    today = datetime.now(UTC).date()
    if when > today:
        return (note,), (f"model name {requested!r} carries the date {when}, after today ({today}): no release of "
                         f"that date can exist yet; it took the price of {took}; check the model name",)
    return (note,), ()


def _is_embedding(model: gp.ModelInfo) -> bool:
    return "embed" in model.id.lower() or "embed" in (model.name or "").lower()


def _gp_bands(prices: dict[str, object]) -> tuple[PriceBand, ...]:
    """genai-prices keys (plain or tiered) -> bands; cache kinds absent from the row cost as input."""

    def at(key: str, above: int) -> float | None:
        value = prices.get(key)
        if value is None:
            return None
        if isinstance(value, gp.TieredPrices):
            chosen = value.base
            for tier in value.tiers:
                if above >= tier.start:
                    chosen = tier.price
            return float(chosen)
        return float(value)

    starts = sorted({t.start for v in prices.values() if isinstance(v, gp.TieredPrices) for t in v.tiers})
    bands = []
    for above in [0, *starts]:
        inp = at("input_mtok", above)
        out = at("output_mtok", above)
        cached = at("cache_read_mtok", above)
        write = at("cache_write_mtok", above)
        bands.append(PriceBand(above, inp, inp if cached is None else cached,
                               inp if write is None else write, out))
    return tuple(bands)


@dataclass
class PriceBook:
    """Looks up prices by model, provider and date; `overrides` come from an override file."""

    overrides: PriceOverrides = field(default_factory=PriceOverrides)
    overrides_path: str | None = None
    note: str | None = None  # why this override file was used, when a default chose it
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_file(cls, path: str | Path | None) -> PriceBook:
        """A price book with the override file at `path` (None: genai-prices alone)."""
        if path is None:
            return cls()
        return cls(load_overrides(path), str(path))

    def overrides_sha256(self) -> str | None:
        if self.overrides_path is None:
            return None
        return hashlib.sha256(Path(self.overrides_path).read_bytes()).hexdigest()

    def lookup(self, model: str, provider: str | None = None, on: date | None = None,
               batch: bool = False) -> ModelPrices:
        """Prices (USD per million tokens) of `model` at `on` (default: today, UTC)."""
        on = on or datetime.now(UTC).date()
        key = (model.strip().lower(), provider.strip().lower() if provider else None, on, batch)
        if key not in self._cache:
            self._cache[key] = self._resolve(*key)
        return self._cache[key]

    def _resolve(self, model: str, provider: str | None, on: date, batch: bool) -> ModelPrices:
        prices = self._from_override_rows(model, provider, on)
        if prices is None:
            prices = self._from_genai_prices(model, provider, on, batch)
        elif batch:
            prices = self._batch_by_discount(prices)
        return self._with_discount(prices)

    def _from_override_rows(self, model: str, provider: str | None, on: date) -> ModelPrices | None:
        rows = [r for r in self.overrides.prices
                if r.model.lower() == model and (provider is None or r.provider.lower() == provider)]
        if not rows:
            return None
        providers = sorted({r.provider.lower() for r in rows})
        if len(providers) > 1:
            raise PriceError(f"model {model!r} has override prices from several providers "
                             f"({', '.join(providers)}): name the provider")
        current = [r for r in rows if r.effective_from <= on]
        if not current:
            if self._gp_find(model, providers[0]) is not None:
                return None  # a future change to a public price: the public price applies until then
            first = min(r.effective_from for r in rows)
            raise PriceError(f"model {providers[0]}/{model} has override prices only from {first}, "
                             f"not on {on}: add a row with an earlier effective_from")
        row = max(current, key=lambda r: r.effective_from)
        inp = row.input_usd_per_mtok
        band = PriceBand(0, inp,
                         inp if row.cached_input_usd_per_mtok is None else row.cached_input_usd_per_mtok,
                         inp if row.cache_write_usd_per_mtok is None else row.cache_write_usd_per_mtok,
                         row.output_usd_per_mtok)
        since = "" if row.effective_from == EARLIEST else f" from {row.effective_from}"
        source = f"override {self.overrides_path or '(in memory)'}{since}: {row.source}"
        return ModelPrices(row.provider.lower(), row.model, on, (band,), source, row.usd_per_call)

    def _gp_find(self, model: str, provider: str | None) -> tuple[gp.Provider, gp.ModelInfo] | None:
        try:
            return price_data.snapshot().find_provider_model(model, None, provider, None)
        except LookupError:
            return None

    def _from_genai_prices(self, model: str, provider: str | None, on: date, batch: bool) -> ModelPrices:
        found = self._gp_find(model, provider)
        if found is None:
            raise PriceError(self._unknown_model_message(model, provider))
        gp_provider, gp_model = found
        segments = _gp_rows_over_day(gp_model, on)
        name = f"{price_data.label()}: {gp_provider.id}/{gp_model.id}"
        # an embedding model has an input price only (its calls return vectors, no output tokens)
        needed = ("input_mtok",) if _is_embedding(gp_model) else ("input_mtok", "output_mtok")
        if any(_plain_values(r).get(k) is None for _, _, r in segments for k in needed):
            raise PriceError(f"model {gp_provider.id}/{gp_model.id} has no per-token input and output price "
                             f"in {price_data.label()}: add it to the price overrides file")
        if all(r is segments[0][2] for _, _, r in segments):
            since = _gp_since(gp_model, segments[0][2])
            values, notes = _plain_values(segments[0][2]), ()
            source = f"{name}, price row {'from ' + since.isoformat() if since else 'without start date'}"
        else:
            values, note = _hour_weighted(segments)
            source, notes = f"{name}, its time-of-day price rows weighted by hours", (note,)
        if values.get("output_mtok") is None:  # an embedding model (checked above)
            values = {**values, "output_mtok": 0.0}
            notes = (*notes, "an embedding model: genai-prices lists an input price only; output tokens (an "
                             "embedding call returns none) cost $0")
        matched, warnings = _pattern_match(model, gp_provider, gp_model)
        notes = (*notes, *matched)
        requests_kcount = values.get("requests_kcount")
        usd_per_call = float(requests_kcount) / 1000 if requests_kcount is not None else 0.0
        prices = ModelPrices(gp_provider.id, gp_model.id, on, _gp_bands(values), source, usd_per_call, notes=notes,
                             requested=model if matched else None, warnings=warnings)
        if not batch:
            return prices
        batch_values = _gp_batch_prices(gp_model, on)
        if batch_values:
            return replace(prices, bands=_gp_bands({**values, **batch_values}), batch=True,
                           notes=(*prices.notes, "batch price from genai-prices"))
        return self._batch_by_discount(prices)

    def _batch_by_discount(self, prices: ModelPrices) -> ModelPrices:
        for d in self.overrides.batch_discounts:
            if d.provider.lower() == prices.provider:
                scaled = prices.scaled(1 - d.discount, f"batch discount {d.discount:.0%} ({d.source})")
                return replace(scaled, batch=True)
        raise PriceError(f"no batch price for {prices.provider}/{prices.model}: genai-prices has none and the "
                         f"price overrides have no batch_discounts entry for provider {prices.provider!r}")

    def _with_discount(self, prices: ModelPrices) -> ModelPrices:
        on = prices.on
        matching = [d for d in self.overrides.discounts
                    if d.provider.lower() == prices.provider
                    and (d.model is None or d.model.lower() == prices.model.lower())
                    and d.effective_from <= on and (d.effective_until is None or on <= d.effective_until)]
        if not matching:
            return prices
        best = max(matching, key=lambda d: (d.model is not None, d.effective_from))
        return prices.scaled(1 - best.discount, f"discount {best.discount:.0%} ({best.source})")

    def known_models(self, provider: str | None = None) -> list[str]:
        """'provider/model' for every priced model (of one provider when given)."""
        names = [f"{p.id}/{m.id}" for p in price_data.snapshot().providers for m in p.models
                 if provider is None or p.id == provider]
        names += [f"{r.provider.lower()}/{r.model}" for r in self.overrides.prices
                  if provider is None or r.provider.lower() == provider]
        return sorted(set(names))

    def _unknown_model_message(self, model: str, provider: str | None) -> str:
        snapshot = price_data.snapshot()
        providers = [p.id for p in snapshot.providers] + [r.provider.lower() for r in self.overrides.prices]
        if provider is not None and provider not in providers:
            try:
                provider = snapshot.find_provider(None, provider, None).id
            except LookupError:
                near = difflib.get_close_matches(provider, providers, n=5, cutoff=0.4)
                hint = f"closest known: {', '.join(near)}" if near else "no close match among genai-prices' providers"
                return (f"unknown provider {provider!r}: {hint}; a private or self-hosted model needs a row in the "
                        "price overrides file")
        exact = [f"{p.id}/{m.id}" for p in snapshot.providers if p.id != provider
                 and (m := p.find_model(model, all_providers=snapshot.providers)) is not None]
        exact += [f"{r.provider.lower()}/{r.model}" for r in self.overrides.prices
                  if r.model.lower() == model and r.provider.lower() != provider]
        by_model: dict[str, list[str]] = {}
        for name in self.known_models(provider):
            by_model.setdefault(name.split("/", 1)[1].lower(), []).append(name)
        near = [self._home(n, by_model[n]) for n in difflib.get_close_matches(model, list(by_model), n=5, cutoff=0.5)]
        near = [n for n in near if n not in exact]
        where = f" for provider {provider!r}" if provider else " without a provider"
        hints = [f"known as {', '.join(exact[:5])} (name its provider)"] if exact else []
        if near or not exact:
            hints.append(f"closest known: {', '.join(near)}" if near else "no close match")
        return (f"unknown model {model!r}{where}: {'; '.join(hints)}; a private or self-hosted model needs a row "
                f"in the price overrides file")

    @staticmethod
    def _home(model: str, names: list[str]) -> str:
        """Of the providers pricing `model`, the one genai-prices picks without a provider, else the first."""
        try:
            home = price_data.snapshot().find_provider(model, None, None).id
        except LookupError:
            return names[0]
        return next((n for n in names if n.startswith(f"{home}/")), names[0])
