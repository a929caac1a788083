"""Scenarios: named variants of a business case, each a set of field-path changes to the case YAML.

`set: {"workflows[0].serving": {self_hosted: {...}}, "finance.discount_rate_annual": 0.12}` replaces
those fields (a mapping key may be new, e.g. an optional field) and the variant is validated like the
case itself, so a bad change is reported against the scenario.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..core.errors import SpecError
from ..core.validation import short_repr
from .case import Case, parse_case_data

BASE = "base"  # the case as written
_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*")
_SEGMENT = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def path_segments(path: str) -> list[str | int]:
    """'workflows[0].serving' -> ['workflows', 0, 'serving']; ValueError for anything else."""
    if not _PATH.fullmatch(path):
        raise ValueError("a field path looks like workflows[0].serving or finance.discount_rate_annual")
    return [name if name else int(index) for name, index in _SEGMENT.findall(path)]


def with_changes(data: dict, changes: dict[str, Any], where: str) -> dict:
    """A deep copy of the case document with each path set to its value."""
    out = copy.deepcopy(data)
    for path, value in changes.items():
        try:
            segments = path_segments(path)
        except ValueError as exc:
            raise SpecError(f"{where}: {short_repr(path)}: {exc}") from None
        if segments[0] in ("scenarios", "name"):
            raise SpecError(f"{where}: {short_repr(path)}: a scenario cannot change {segments[0]}")
        node: Any = out
        for i, seg in enumerate(segments[:-1]):
            ok = (isinstance(seg, int) and isinstance(node, list) and seg < len(node)) or \
                 (isinstance(seg, str) and isinstance(node, dict) and seg in node)
            if not ok:
                shown = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segments[: i + 1]).lstrip(".")
                raise SpecError(f"{where}: {short_repr(path)}: the case has no {shown}")
            node = node[seg]
        last = segments[-1]
        if isinstance(last, int) and not (isinstance(node, list) and last < len(node)):
            raise SpecError(f"{where}: {short_repr(path)}: no item {last} there")
        if isinstance(last, str) and not isinstance(node, dict):
            raise SpecError(f"{where}: {short_repr(path)}: {last!r} is not inside a mapping")
        node[last] = copy.deepcopy(value)
    return out


def scenario_names(case: Case) -> list[str]:
    return [BASE, *(s.name for s in case.scenarios)]


def case_variant(data: dict, base: Case, name: str) -> Case:
    """The case (`base`, parsed from `data`) as changed by scenario `name` ('base': unchanged)."""
    if name == BASE:
        return base
    index = {s.name: i for i, s in enumerate(base.scenarios)}
    if name not in index:
        raise SpecError(f"{base.source}: scenario {short_repr(name)}: unknown; the case has "
                        f"{', '.join(scenario_names(base))}")
    i = index[name]
    changed = with_changes(data, base.scenarios[i].set, f"{base.source}: scenarios[{i}].set")
    variant = parse_case_data(changed, f"{base.source} (scenario {name})")
    object.__setattr__(variant, "source", base.source)  # spec paths stay relative to the case file
    return variant
