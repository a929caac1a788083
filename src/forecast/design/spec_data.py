"""A Workflow back to the spec document `load_workflow` reads: each field in the spec's own notation (plain
numbers, `{triangular: [...]}`, `{pert: [...]}`, `{lognormal: {p50, p90}}`), fields at their defaults left out.

    >>> from forecast.design.specs import parse_workflow
    >>> spec = parse_workflow("name: a\\nvolume: {tasks_per_month: {pert: [10, 20, 40]}}\\n"
    ...                       "steps: [{name: s, model: m, output_tokens: 50}]")
    >>> workflow_data(spec)["volume"], workflow_data(spec)["steps"]
    ({'tasks_per_month': {'pert': [10, 20, 40]}}, [{'name': 's', 'model': 'm', 'output_tokens': 50}])
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import TYPE_CHECKING, Any

from .distributions import PERT, Fixed, LogNormal, Triangular

if TYPE_CHECKING:
    from .specs import Workflow


class Flow(dict):
    """A mapping written on one line in YAML: {triangular: [a, b, c]}."""


def _number(x: float) -> int | float:
    return int(x) if math.isfinite(x) and float(x).is_integer() and abs(x) < 2**53 else float(x)


def number_data(dist) -> Any:
    """A distribution in spec notation: 40000, {triangular: [a, b, c]}, {pert: [...]}, {lognormal: {...}}."""
    if isinstance(dist, Fixed):
        return _number(dist.value)
    if isinstance(dist, Triangular | PERT):
        kind = "triangular" if isinstance(dist, Triangular) else "pert"
        return Flow({kind: [_number(dist.low), _number(dist.mode), _number(dist.high)]})
    if isinstance(dist, LogNormal):
        return Flow({"lognormal": {"p50": _number(dist.p50), "p90": _number(dist.p90)}})
    raise TypeError(f"not a distribution: {dist!r}")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _data(value: Any) -> Any:
    if isinstance(value, Fixed | Triangular | PERT | LogNormal):
        return number_data(value)
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue  # provenance (Workflow.source), not part of the spec
            v = getattr(value, f.name)
            if v == _default(f):
                continue
            out[f.name] = _data(v)
        return out
    if isinstance(value, tuple | list):
        return [_data(v) for v in value]
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def document_data(obj: Any) -> dict:
    """Any spec dataclass (a workflow, a business case) as its YAML document; dates as YYYY-MM-DD."""
    return _data(obj)


def workflow_data(workflow: Workflow) -> dict:
    """The spec document of a Workflow (fields at their defaults left out)."""
    return _data(workflow)
