"""What-if scenarios as spec YAML: a Workflow back to the document `load_workflow` reads.

`workflow_data` writes each field in the spec's own notation (plain numbers, `{triangular: [...]}`,
`{pert: [...]}`, `{lognormal: {p50, p90}}`) and leaves out fields at their defaults, so a saved
scenario reads like a hand-written spec and loads back to an equal Workflow.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import SpecError
from ..design.distributions import PERT, Fixed, LogNormal, Triangular
from ..design.specs import Workflow, parse_workflow_data


class _Flow(dict):
    """A mapping written on one line: {triangular: [a, b, c]}."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))


def _number(x: float) -> int | float:
    return int(x) if math.isfinite(x) and float(x).is_integer() and abs(x) < 2**53 else float(x)


def number_data(dist) -> Any:
    """A distribution in spec notation: 40000, {triangular: [a, b, c]}, {pert: [...]}, {lognormal: {...}}."""
    if isinstance(dist, Fixed):
        return _number(dist.value)
    if isinstance(dist, Triangular | PERT):
        kind = "triangular" if isinstance(dist, Triangular) else "pert"
        return _Flow({kind: [_number(dist.low), _number(dist.mode), _number(dist.high)]})
    if isinstance(dist, LogNormal):
        return _Flow({"lognormal": {"p50": _number(dist.p50), "p90": _number(dist.p90)}})
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
    return value


def workflow_data(workflow: Workflow) -> dict:
    """The spec document of a Workflow (fields at their defaults left out)."""
    return _data(workflow)


def validated(workflow: Workflow, source: str) -> Workflow:
    """Re-validate a changed Workflow through the YAML boundary (replace() does not validate)."""
    return parse_workflow_data(workflow_data(workflow), source)


def scenario_yaml(workflow: Workflow, header: list[str] = ()) -> str:
    """Spec YAML text of a workflow, with `header` lines as comments on top."""
    body = yaml.dump(workflow_data(workflow), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return "".join(f"# {line}\n" for line in header) + body


def save_scenario(workflow: Workflow, path: str | Path, header: list[str] = (), overwrite: bool = False) -> Path:
    """Write the scenario as a spec YAML file; an existing file is kept unless `overwrite`."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{path}: a scenario is saved as a .yaml spec file")
    if path.exists() and not overwrite:
        raise SpecError(f"{path}: already exists; choose another name (scenarios are never overwritten)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scenario_yaml(workflow, header), encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path
