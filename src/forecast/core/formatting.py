r"""How numbers and text are shown: USD in tables, USD in Markdown prose, counts, JSON without NaN, and text
from specs and logs escaped for the HTML reports (`md_text` for Markdown prose, `html_frame` for Styler tables).

    >>> usd(1234.5), usd(12.345), usd(0.0140312)
    ('1,234', '12.35', '0.01403')
    >>> md_usd(0.0140312)
    '<span>\\$</span>0.01403'
    >>> to_json({"npv_usd": float("nan")})
    '{\n  "npv_usd": null\n}'
"""

from __future__ import annotations

import html
import json
import math


def usd(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.4g}"


def md_usd(x, sign: bool = False) -> str:
    r"""USD for Markdown prose: '$1,234', '$0.01403' ('+$2,992' with `sign`). The dollar is escaped and wrapped in a
    span: JupyterLab reads two bare (or only backslash-escaped) dollars on one line as LaTeX math; nbconvert and
    JupyterLab both show this as a plain '$'.

    >>> md_usd(-4303.49), md_usd(2992.09, sign=True)
    ('-<span>\\$</span>4,303', '+<span>\\$</span>2,992')
    """
    text = usd(x)
    if text == "n/a":
        return text
    return ("-" if text.startswith("-") else "+" if sign and x > 0 else "") + "<span>\\$</span>" + text.lstrip("-")


# Markdown prose: HTML's three special characters as entities (Markdown shows an entity as its character, so the
# text reads the same and no tag, attribute or script can start), and the characters of Markdown's inline syntax
# (links, images, emphasis, code, headings) as numeric references, which Markdown never reads as syntax; a dollar as
# md_usd writes it.
_MARKDOWN_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "&#92;", "`": "&#96;", "*": "&#42;",
                                "_": "&#95;", "[": "&#91;", "]": "&#93;", "~": "&#126;", "#": "&#35;",
                                "$": "<span>\\$</span>"})


def md_text(text) -> str:
    r"""Plain text (a name or description from a spec, a tag from the logs, an alert line, a reason) made safe
    for Markdown prose: it reads as the same text and never as HTML or Markdown. '<', '>' and '&' become
    entities, so no tag or script can start; Markdown's inline syntax (links, emphasis, code) becomes numeric
    references, shown as the characters; each dollar is escaped as md_usd does, so JupyterLab does not read the
    text between two of them as LaTeX math.

    >>> md_text("spent $3,559.57 >= 80.0% of $4,000.00")
    'spent <span>\\$</span>3,559.57 &gt;= 80.0% of <span>\\$</span>4,000.00'
    >>> md_text('<img src=x onerror=alert(1)> & [link](javascript:x) *a_b*')
    '&lt;img src=x onerror=alert(1)&gt; &amp; &#91;link&#93;(javascript:x) &#42;a&#95;b&#42;'
    """
    return str(text).translate(_MARKDOWN_TEXT)


def html_frame(frame):
    """A copy of `frame` for a pandas Styler table, which writes cells and labels into its HTML as they are:
    every string cell, index label, column label and level name HTML-escaped (numbers, dates and missing values
    untouched, so the Styler's formats still apply). Column names without '<', '>', '&' or quotes stay as they
    were, so `format({...})` and `subset=` can still name them.

    >>> import pandas as pd
    >>> t = html_frame(pd.DataFrame({"team": ["<b>x</b>", None], "usd": [1.5, 2.0]}).set_index("team"))
    >>> list(t.index), list(t.columns), t["usd"].tolist()
    (['&lt;b&gt;x&lt;/b&gt;', nan], ['usd'], [1.5, 2.0])
    """
    from pandas.api.types import CategoricalDtype, is_object_dtype, is_string_dtype

    def escape(value):
        return html.escape(value) if isinstance(value, str) else value

    out = frame.rename(index=escape, columns=escape)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if isinstance(column.dtype, CategoricalDtype):
            out.isetitem(i, column.cat.rename_categories(escape))
        elif is_object_dtype(column.dtype) or is_string_dtype(column.dtype):
            out.isetitem(i, column.map(escape, na_action="ignore"))
    out.index = out.index.set_names([escape(n) for n in out.index.names])
    out.columns = out.columns.set_names([escape(n) for n in out.columns.names])
    return out


def money(x, cents: bool = True, sign: bool = False) -> str:
    """USD for a table cell, the minus before the dollar: '$1,234.50', '-$1,500.00'; sign: '+$554.69' for a
    change; cents=False: whole dollars; 'n/a' for None or NaN.

    >>> money(-1500), money(554.69, sign=True), money(1234.5, cents=False), money(float("nan"))
    ('-$1,500.00', '+$554.69', '$1,234', 'n/a')
    """
    if x is None or x != x:
        return "n/a"
    body = f"${abs(x):,.2f}" if cents else f"${abs(x):,.0f}"
    if body.strip("$0.,") == "":
        return body
    return ("-" if x < 0 else "+" if sign else "") + body


def count(x) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def json_safe(obj):
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def to_json(doc: dict) -> str:
    return json.dumps(json_safe(doc), indent=2, allow_nan=False)


def pct(x) -> str:
    """A share as a percentage with one decimal: '12.5%'; 'n/a' for None or NaN.

    >>> pct(0.125), pct(None)
    ('12.5%', 'n/a')
    """
    return "n/a" if x is None or x != x else f"{x:.1%}"


def signed_pct(x) -> str:
    """A change as a signed percentage: '+12.5%', '-3.0%'; 'n/a' for None or NaN.

    >>> signed_pct(0.125), signed_pct(-0.03), signed_pct(float("nan"))
    ('+12.5%', '-3.0%', 'n/a')
    """
    return "n/a" if x is None or x != x else f"{x:+.1%}"


def payback_text(month: int | None) -> str:
    """A payback month in prose: 'month 14'; never when the case does not pay back within its horizon.

    >>> payback_text(14), payback_text(None)
    ('month 14', 'never (not within the horizon)')
    """
    return "never (not within the horizon)" if month is None else f"month {month}"
