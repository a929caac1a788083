r"""How numbers and text are shown, one style for the CLI tables, the notebooks, the reports and their workbooks:
money '-$6.02' (the minus before the dollar), cents from $1, four significant figures below $1 ('$0.005918'),
thousands separators, never scientific notation, percentages to one decimal, 'never' for an infinite wait or
volume, 'n/a' for a missing value. Text from specs and logs is escaped for the HTML reports (`md_text` for
Markdown prose, `html_frame` for Styler tables).

    >>> usd(1234.5), usd(12.345), usd(0.0140312), usd(5e-9)
    ('1,234', '12.35', '0.01403', '0.000000005')
    >>> money(-6.02), money(582.3591), money(0.005918), money(0.9), money(0.05, sign=True)
    ('-$6.02', '$582.36', '$0.005918', '$0.90', '+$0.05')
    >>> number(5e9), number(41330.0), number(0.12345), number(float("inf"))
    ('5,000,000,000', '41,330', '0.1235', 'never')
    >>> md_usd(0.0140312)
    '<span>\\$</span>0.01403'
    >>> to_json({"npv_usd": float("nan")})
    '{\n  "npv_usd": null\n}'
"""

from __future__ import annotations

import html
import json
import math


def _missing(x) -> bool:
    return x is None or x != x


NOISE = 5e-9  # below this an amount is float noise (a sum of cents that should cancel), shown as 0.00


def _below_one(x: float) -> str:
    """|x| < 1 to four significant figures, at least two decimals, in fixed notation: '0.005918', '0.90'; below
    NOISE, '0.00'."""
    if abs(x) < NOISE:
        return "0.00"
    decimals = min(max(2, 3 - math.floor(math.log10(abs(x)))), 12)
    text = f"{abs(x):.{decimals}f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return ("-" if x < 0 and text.strip("0.") else "") + text


def usd(x) -> str:
    """USD without the dollar sign, for CLI tables with a USD header and for prose: whole dollars from 100, cents
    from 1, four significant figures below 1; 'n/a' when missing or infinite."""
    if _missing(x) or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return _below_one(x)


def number(x, decimals: int | None = None) -> str:
    """A quantity (tokens, requests, GPUs): thousands separators, never scientific notation; whole from 100 and for
    whole numbers, two decimals from 1, four significant figures below 1 (or `decimals` places); 'never' for
    infinity (a volume or wait never reached), 'n/a' when missing.

    >>> number(2.5), number(43.0), number(1234.567, decimals=1), number(-float("inf"))
    ('2.50', '43', '1,234.6', 'n/a')
    """
    if _missing(x) or x == -math.inf:
        return "n/a"
    if x == math.inf:
        return "never"
    if decimals is not None:
        return f"{x:,.{decimals}f}"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return _below_one(x)


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


def people_table(frame, labels: dict[str, str], formats: dict[str, object], na_rep: str = "n/a"):
    """A pandas Styler of the columns of `labels` (source name -> label a reader sees), each formatted by `formats`
    (source name -> function or format string), text escaped (html_frame), no index column, text cells left-aligned.

    >>> import pandas as pd
    >>> t = people_table(pd.DataFrame({"team": ["<b>"], "cost_usd": [-6.02]}), {"team": "team", "cost_usd": "cost"},
    ...                  {"cost_usd": money})
    >>> "&lt;b&gt;" in t.to_html() and "-$6.02" in t.to_html() and "cost_usd" not in t.to_html()
    True
    """
    from pandas.api.types import is_numeric_dtype

    picked = [c for c in labels if c in frame.columns]
    shown = html_frame(frame[picked]).rename(columns=labels)
    text = [labels[c] for c in picked if not is_numeric_dtype(frame[c])]
    styled = shown.style.hide(axis="index").format({labels[c]: f for c, f in formats.items() if c in picked},
                                                   na_rep=na_rep)
    return styled.set_properties(subset=text, **{"text-align": "left"}) if text else styled


def money(x, cents: bool = True, sign: bool = False) -> str:
    """USD for a table cell, the minus before the dollar: '$1,234.50', '-$1,500.00'; below $1 to four significant
    figures ('$0.01403'); sign: '+$554.69' for a change; cents=False: whole dollars from $1 ('$1,234', for totals
    where cents are noise); 'n/a' for None, NaN or infinity.

    >>> money(-1500), money(554.69, sign=True), money(1234.5, cents=False), money(float("nan")), money(-0.0001)
    ('-$1,500.00', '+$554.69', '$1,234', 'n/a', '-$0.0001')
    >>> money(sum([0.1] * 1000) - 100, sign=True), usd(-4.5e-12)  # float noise, not a real amount
    ('$0.00', '0.00')
    """
    if _missing(x) or not math.isfinite(x):
        return "n/a"
    if abs(x) < NOISE:
        body = "$0.00" if cents else "$0"
    elif abs(x) < 1:
        body = "$" + _below_one(abs(x))
    else:
        body = f"${abs(x):,.2f}" if cents else f"${abs(x):,.0f}"
    if body.strip("$0.,") == "":
        return body
    return ("-" if x < 0 else "+" if sign else "") + body


def dollars(x) -> str:
    """Whole dollars from $1 (money with cents=False): '$12,346', '-$7'.

    >>> dollars(12345.6), dollars(-7.2), dollars(0.5), dollars(0)
    ('$12,346', '-$7', '$0.50', '$0')
    """
    return money(x, cents=False)


def change(x) -> str:
    """A change in USD, signed: '+$554.69', '-$6.02'.

    >>> change(554.69), change(-6.02), change(0)
    ('+$554.69', '-$6.02', '$0.00')
    """
    return money(x, sign=True)


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


def _percent(x: float, sign: bool) -> str:
    """x as a percentage: one decimal, or two significant figures for a nonzero share below 0.1%."""
    value = x * 100
    if value != 0 and abs(value) < 0.1:
        digits = min(1 - math.floor(math.log10(abs(value))), 12)
        return f"{value:{'+' if sign else ''}.{digits}f}%"
    return f"{x:{'+' if sign else ''},.1%}"


def pct(x) -> str:
    """A share as a percentage with one decimal ('12.5%'), two significant figures below 0.1% ('0.014%');
    'n/a' for None, NaN or infinity.

    >>> pct(0.125), pct(0.00014), pct(None)
    ('12.5%', '0.014%', 'n/a')
    """
    return "n/a" if _missing(x) or not math.isfinite(x) else _percent(x, sign=False)


def signed_pct(x) -> str:
    """A change as a signed percentage: '+12.5%', '-3.0%'; 'n/a' for None or NaN.

    >>> signed_pct(0.125), signed_pct(-0.03), signed_pct(float("nan")), signed_pct(-0.00052)
    ('+12.5%', '-3.0%', 'n/a', '-0.052%')
    """
    return "n/a" if _missing(x) or not math.isfinite(x) else _percent(x, sign=True)


FIELD_WORDS = {"usd": "USD", "per": "per", "mtok": "million tokens", "pct": "%"}


def field_label(name: str) -> str:
    """A model parameter's dotted name as a reader says it: 'support-triage.labour_usd_per_hour' ->
    'support-triage: labour USD per hour', 'people[ml-engineer].usd_per_month' -> 'people ml-engineer: USD per
    month'.

    >>> field_label("support-triage.labour_usd_per_hour"), field_label("people[ml-engineer].usd_per_month")
    ('support-triage: labour USD per hour', 'people ml-engineer: USD per month')
    >>> field_label("finance.discount_rate_annual")
    'finance: discount rate annual'
    """
    owner, _, field = str(name).rpartition(".")
    words = " ".join(FIELD_WORDS.get(w, w) for w in field.split("_"))
    owner = owner.replace("[", " ").replace("]", "")
    return f"{owner}: {words}" if owner else words


def payback_text(month: int | None) -> str:
    """A payback month in prose: 'month 14'; never when the case does not pay back within its horizon.

    >>> payback_text(14), payback_text(None)
    ('month 14', 'never (not within the horizon)')
    """
    return "never (not within the horizon)" if month is None else f"month {month}"
