"""What typed results share: a JSON document that cannot be changed through the result, and an HTML table
for JupyterLab built from `to_frame()` with every value escaped.

    >>> html_table("Per task", [{"metric": "<b>x</b>", "usd": 0.0125}])[:61]
    '<div class="forecast-result"><p><strong>Per task</strong></p>'
    >>> "&lt;b&gt;x&lt;/b&gt;" in html_table("t", [{"metric": "<b>x</b>"}])
    True
"""

from __future__ import annotations

import copy
import html
import math
from collections.abc import Iterable, Mapping
from typing import Any


def frozen_copy(doc: Mapping[str, Any]) -> dict:
    """A deep copy of a document: a result keeps its own, and hands out copies."""
    return copy.deepcopy(dict(doc))


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None or math.isnan(value) else ("∞" if value > 0 else "-∞")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def html_table(title: str, rows: Iterable[Mapping[str, Any]], notes: Iterable[str] = ()) -> str:
    """A titled HTML table of `rows` (dicts sharing keys), values escaped, numbers to 4 significant digits."""
    rows = list(rows)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    extra = "".join(f"<p>{html.escape(n)}</p>" for n in notes)
    return (f'<div class="forecast-result"><p><strong>{html.escape(title)}</strong></p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{extra}</div>")
