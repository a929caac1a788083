"""The what-if panel's model picker: a provider first, then that provider's models with their prices at the
panel's date, found by typing any part of a name. A provider's models are listed in three groups: the models the
spec already uses; current models (genai-prices lists their context window and does not mark them deprecated),
largest context window first, which puts a provider's newest generation near the top; then the rest (deprecated,
legacy completion models, fine-tune patterns) by name.

The picker's `value` is what the computation uses: AS_SPECIFIED (the spec's own models) or "provider/model".
Choosing a provider goes back to the spec's models until one of the provider's models is picked; text typed in
the search box that is not one of the listed models is not used, and the note under the box says which models
the figures use meanwhile.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from functools import cache

import ipywidgets as w
from traitlets import Unicode

from ..core.errors import PriceError
from ..design.prices import PriceBook
from .controls import AS_SPECIFIED

WIDTH = "420px"


@dataclass(frozen=True)
class ModelChoice:
    """One model of a provider as the picker lists it."""

    name: str  # "provider/model", the control's value
    label: str  # the model and its prices, what the list shows and the search matches
    group: int  # 0: in the spec, 1: current, 2: deprecated or without a listed context window
    context_tokens: int = 0


def price_text(usd_per_mtok: float) -> str:
    """A price per million tokens, short: '$0.15', '$0.075', '$15'.

    >>> [price_text(x) for x in (0.15, 0.075, 2.5, 15.0, 0.0)]
    ['$0.15', '$0.075', '$2.50', '$15', '$0']
    """
    if usd_per_mtok == 0:
        return "$0"
    if usd_per_mtok >= 10:
        return f"${usd_per_mtok:,.0f}"
    return f"${usd_per_mtok:.2f}" if usd_per_mtok >= 0.1 else f"${usd_per_mtok:.2g}"


def _genai_catalog() -> tuple[dict[str, str], dict[str, tuple[bool, int | None]]]:
    """genai-prices' provider names (id -> name), and 'provider/model' -> (deprecated, context window in tokens),
    of the price data in use."""
    from ..design import price_data

    return _catalog_of(price_data.label())


@cache
def _catalog_of(data_label: str) -> tuple[dict[str, str], dict[str, tuple[bool, int | None]]]:
    from ..design.price_data import snapshot as get_snapshot

    snapshot = get_snapshot()
    names = {p.id: p.name for p in snapshot.providers}
    models = {f"{p.id}/{m.id}": (bool(m.deprecated), m.context_window) for p in snapshot.providers for m in p.models}
    return names, models


def _tokens_text(n: int) -> str:
    return f"{n / 1e6:.3g}M" if n >= 1_000_000 else f"{n / 1e3:.0f}k"


def providers(book: PriceBook) -> list[tuple[str, str]]:
    """(name, id) of every provider with a priced model (genai-prices' or the overrides'), by name.

    >>> ("OpenAI", "openai") in providers(PriceBook.from_file(None))
    True
    """
    names = _genai_catalog()[0]
    ids = {name.split("/", 1)[0] for name in book.known_models()}
    return sorted(((names.get(p, p), p) for p in ids), key=lambda pair: pair[0].lower())


def model_choices(book: PriceBook, provider: str, on: date, in_spec: frozenset[str] = frozenset()
                  ) -> list[ModelChoice]:
    """The provider's models with a price on `on` (USD per million tokens), in the module docstring's groups.

    >>> from datetime import date
    >>> [c.label for c in model_choices(PriceBook.from_file(None), "openai", date(2026, 11, 25))
    ...  if c.name == "openai/gpt-4o-mini"]
    ['gpt-4o-mini · $0.15 in, $0.60 out per Mtok · 128k context']
    """
    catalog = _genai_catalog()[1]
    out = []
    for name in book.known_models(provider):
        model = name.split("/", 1)[1]
        try:
            prices = book.lookup(model, provider, on)
        except PriceError:  # no price on this date: the computation would refuse it
            continue
        base = prices.base
        label = (f"{model} · {price_text(base.input_usd_per_mtok)} in, {price_text(base.output_usd_per_mtok)} out "
                 "per Mtok")
        if len(prices.bands) > 1:
            label += " (long-context tier)"
        if prices.usd_per_call:
            label += f" + ${prices.usd_per_call:g} per call"
        deprecated, window = catalog.get(name, (False, None))
        if window:
            label += f" · {_tokens_text(window)} context"
        if deprecated:
            label += " · deprecated"
        group = 0 if name.lower() in in_spec else 1 if window and not deprecated else 2
        out.append(ModelChoice(name, label + (" · in this spec" if group == 0 else ""), group, window or 0))
    return sorted(out, key=lambda c: (c.group, -c.context_tokens if c.group == 1 else 0, c.name))


def spec_models(workflow) -> frozenset[str]:
    """'provider/model' of every model a workflow's steps and routes call (those with a provider)."""
    from ..design.alternatives import model_steps

    names = set()
    for step in model_steps(workflow):
        for target in (step, *step.routing):
            if target.provider:
                names.add(f"{target.provider}/{target.model}".lower())
    return frozenset(names)


class ModelPicker(w.VBox):
    """A provider dropdown over a searchable list of its models; `value` is AS_SPECIFIED or 'provider/model'."""

    value = Unicode(AS_SPECIFIED)

    def __init__(self, book: PriceBook, on: date, value: str = AS_SPECIFIED, style: dict | None = None,
                 in_spec: frozenset[str] = frozenset()):
        self.book, self.on, self.in_spec, self._choices = book, on, in_spec, {}
        self.provider = w.Dropdown(options=[("(as specified)", ""), *providers(book)],
                                   value="", style=style or {}, layout=w.Layout(width=WIDTH))
        self.model = w.Combobox(placeholder="pick a provider first", ensure_option=False, disabled=True,
                                style=style or {}, layout=w.Layout(width=WIDTH), description="model")
        self.note = w.HTML()
        self.provider.add_class("whatif-provider")
        self.model.add_class("whatif-model")
        self._syncing = False
        self.note.add_class("whatif-model-note")
        super().__init__([self.provider, self.model, self.note])
        self.provider.observe(self._provider_picked, names="value")
        self.model.observe(self._model_picked, names="value")
        self.observe(self._value_set, names="value")
        self.value = value

    @property
    def description(self) -> str:
        return self.provider.description

    @description.setter
    def description(self, text: str) -> None:
        self.provider.description = text

    def choices(self, provider: str) -> dict[str, ModelChoice]:
        """label -> choice for one provider (priced once, when it is first picked)."""
        if provider not in self._choices:
            self._choices[provider] = {c.label: c for c in model_choices(self.book, provider, self.on, self.in_spec)}
        return self._choices[provider]

    def _show(self, provider: str, label: str) -> None:
        listed = self.choices(provider) if provider else {}
        self._syncing = True
        try:
            self.provider.value = provider
            self.model.options = tuple(listed)
            self.model.value = label
            self.model.disabled = not provider
            self.model.placeholder = (f"type to search {len(listed):,} models; the spec's models stay until one is "
                                      "picked" if provider else "pick a provider first")
        finally:
            self._syncing = False

    def _provider_picked(self, change) -> None:
        if self._syncing:
            return
        self._show(change["new"], "")
        self.value = AS_SPECIFIED
        self._say("")

    def _model_picked(self, change) -> None:
        if self._syncing:
            return
        choice = self.choices(self.provider.value).get(change["new"])
        if choice is not None:
            self.value = choice.name
        self._say(change["new"] if choice is None else "")

    def _say(self, typed: str) -> None:
        """Under the box: what the figures use while the typed text is not one of the listed models."""
        using = "the spec's own models" if self.value == AS_SPECIFIED else self.value
        self.note.value = (f"<span class='whatif-note'>not a listed model: the figures use {html.escape(using)}; "
                           "pick one from the list</span>" if typed.strip() else "")

    def _value_set(self, change) -> None:
        value = change["new"]
        if value == AS_SPECIFIED:
            if self.model.value:  # a provider picked but no model yet stays as it is
                self._show("", "")
            return
        provider = value.split("/", 1)[0] if "/" in value else ""
        if provider not in {p for _, p in self.provider.options}:  # not a listed provider: the panel says so
            provider = ""
        labels = [c.label for c in self.choices(provider).values() if c.name == value] if provider else []
        self._show(provider, labels[0] if labels else value)
        self._say("")
