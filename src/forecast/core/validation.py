r"""YAML files in, validated frozen dataclasses out: one error line per problem, naming the file,
the field path, the value and the rule.

    >>> from dataclasses import dataclass
    >>> from pydantic import with_config
    >>> @with_config(STRICT)
    ... @dataclass(frozen=True)
    ... class Team:
    ...     name: Name
    ...     seats: int
    >>> validate_document(Team, parse_yaml("name: research\nseats: 4", "team.yaml"), "team.yaml")
    Team(name='research', seats=4)
    >>> validate_document(Team, {"name": "x", "seat": 4}, "team.yaml")
    Traceback (most recent call last):
    ...
    forecast.core.errors.SpecError: team.yaml: seats: missing: this field is required
    team.yaml: seat: unknown field (check the spelling)
"""

from __future__ import annotations

import functools
import itertools
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import SpecError

STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
Name = Annotated[str, Field(min_length=1, max_length=120)]


def unique_by(what: str, attr: str = "name") -> AfterValidator:
    """A validator for a tuple field: no two items share `attr` ("<what> 'x' is used twice; ...")."""

    def check(items: tuple) -> tuple:
        seen: set[str] = set()
        for item in items:
            key = getattr(item, attr)
            if key in seen:
                raise ValueError(f"{what} {key!r} is used twice; {what}s must be unique")
            seen.add(key)
        return items

    return AfterValidator(check)


def format_location(loc: tuple, union_tags: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """A pydantic error location as a field path; `union_tags` maps a list field to the tags pydantic inserts
    after its items' indexes (dropped here).

    >>> format_location(('steps', 2, 'model', 'input_tokens', 'user'), {'steps': ('model', 'tool')})
    'steps[2].input_tokens.user'
    """
    union_tags = union_tags or {}
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i >= 2 and isinstance(loc[i - 1], int) and part in union_tags.get(loc[i - 2], ()):
            continue  # the union tag pydantic inserts after an item's index
        elif not str(part).replace("-", "_").isidentifier():
            out += f"[{str(part)!r}]"  # an odd key (spaces, newlines) stays on one line, quoted
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _BoundedRepr(reprlib.Repr):
    """reprlib with the document's key order (reprlib sorts dict keys)."""

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}"
                 for k, v in itertools.islice(x.items(), self.maxdict)]
        return "{" + ", ".join(items + ["..."] * (len(x) > self.maxdict)) + "}"


_REPR = _BoundedRepr()  # bounded: an alias bomb expands to billions of items, its repr must not
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 80, 80, 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def short_repr(value: Any) -> str:
    """repr() for one-line messages: at most 80 characters, cheap on huge or deeply nested values."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validation_problems(source: str, error: ValidationError,
                        union_tags: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """One line per pydantic problem: 'FILE: FIELD: VALUE: RULE'."""
    lines = []
    for err in error.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing" or err["type"] == "missing_argument":
            lines.append(f"{source}: {format_location(err['loc'], union_tags)}: missing: this field is required")
        elif err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"{source}: {format_location(err['loc'], union_tags)}: unknown field (check the spelling)")
        else:
            msg = " ".join(msg.split())
            lines.append(f"{source}: {format_location(err['loc'], union_tags)}: {short_repr(err.get('input'))}: {msg}")
    return lines


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; syntax errors become a SpecError naming the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, str(path))


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (plain YAML keeps the last one)."""

    def construct_document(self, node):
        self._reject_duplicate_keys(node)
        return super().construct_document(node)

    def _reject_duplicate_keys(self, root) -> None:
        visited, stack = set(), [root]
        while stack:  # iterative, and each node once: deep nesting and alias bombs stay cheap
            node = stack.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                first: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    stack.append(value_node)
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    if key in first:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {short_repr(key)} (first at line {first[key].line + 1})",
                            key_node.start_mark)
                    first[key] = key_node.start_mark


def parse_yaml(text: str, source: str) -> Any:
    """YAML text -> Python objects; errors name the source, line and column (a repeated key is an error)."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise SpecError(f"{source}: {where}: invalid YAML: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise SpecError(f"{source}: invalid YAML: {type(exc).__name__}: {exc}") from None


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def validate_document(cls: type, data: Any, source: str, union_tags: Mapping[str, tuple[str, ...]] | None = None):
    """Validate parsed YAML against dataclass `cls`; raise SpecError listing every problem (module example)."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: (top level): {short_repr(data)}: expected a mapping of fields")
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise SpecError(validation_problems(source, exc, union_tags)) from None
    except RecursionError:
        raise SpecError(f"{source}: (top level): document nests too deeply") from None
