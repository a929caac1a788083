"""The Excel workbook beside each report: every table the report shows, with its numbers as numbers.

In the report's kernel, `capture_tables()` makes every displayed pandas table (a DataFrame or a Styler) carry,
beside its HTML, a JSON copy of its cells as TABLE_MIME: the raw values, the text the report shows for each,
and the column labels the reader sees. After the run, `write_workbook` reads those copies from the executed
notebook and writes one sheet per table, named after the report section (the Markdown heading) it sits under,
with a number format per cell that shows what the HTML shows (money, percentages, counts), a frozen header
row, fitted column widths and a Provenance sheet. Text cells are stored as text, never as formulas.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

TABLE_MIME = "application/vnd.forecast.table+json"
MONEY = re.compile(r"^[+-]?\$[0-9,]+(\.[0-9]+)?$")
PERCENT = re.compile(r"^[+-]?[0-9,]+(\.[0-9]+)?%$")
NUMBER = re.compile(r"^[+-]?[0-9,]+(\.[0-9]+)?$")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_WIDTH = 60


def _plain(value):
    """A JSON value for a cell: numbers as numbers (None for NaN), dates and everything else as text."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        if value != value:  # NaT, NA
            return None
    except (TypeError, ValueError):
        pass
    return html.unescape(str(value))


def _label(label) -> str:
    parts = label if isinstance(label, tuple) else (label,)
    return html.unescape(" ".join(str(p) for p in parts if str(p) != ""))


def table_payload(table) -> dict:
    """The cells of a DataFrame or Styler as shown: {"columns", "values", "shown"} (rows of raw values, and of the
    text the report shows). Index levels come first as columns unless the table hides them or the index is a plain
    row number.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"team": ["a&amp;b"], "spend": [1234.5]}).style.format({"spend": "${:,.2f}"}).hide()
    >>> table_payload(t)
    {'columns': ['team', 'spend'], 'values': [['a&b', 1234.5]], 'shown': [['a&b', '$1,234.50']]}
    """
    import pandas as pd

    styler = table if hasattr(table, "data") and hasattr(table, "_display_funcs") else None
    frame = styler.data if styler is not None else table
    hidden = set(getattr(styler, "hidden_columns", []) or [])
    keep = [i for i in range(frame.shape[1]) if i not in hidden]
    index_hidden = styler is not None and all(getattr(styler, "hide_index_", [False]))
    plain_index = frame.index.nlevels == 1 and frame.index.name is None and (
        isinstance(frame.index, pd.RangeIndex) or pd.api.types.is_integer_dtype(frame.index.dtype))  # row numbers
    levels = [] if index_hidden or plain_index else list(range(frame.index.nlevels))
    columns = [_label(frame.index.names[k] or "") for k in levels] + [_label(frame.columns[i]) for i in keep]
    values, shown = [], []
    for r in range(frame.shape[0]):
        key = frame.index[r]
        keys = [key] if frame.index.nlevels == 1 else list(key)
        row = [_plain(keys[k]) for k in levels]
        text = [_plain(keys[k]) for k in levels]
        for i in keep:
            raw = frame.iat[r, i]
            row.append(_plain(raw))
            text.append(_plain(styler._display_funcs[(r, i)](raw)) if styler is not None else _plain(raw))
        values.append(row)
        shown.append(["" if t is None else str(t) for t in text])
    return {"columns": columns, "values": values, "shown": shown}


def capture_tables() -> None:
    """In a running IPython kernel, make every displayed DataFrame and Styler also carry its table_payload as
    TABLE_MIME (JupyterLab and the HTML rendering ignore it; write_workbook reads it). Outside IPython: nothing."""
    try:
        from IPython import get_ipython
        from IPython.core.formatters import JSONFormatter
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    import pandas as pd
    from pandas.io.formats.style import Styler

    class TableFormatter(JSONFormatter):
        format_type = TABLE_MIME

    formatter = TableFormatter(parent=ip.display_formatter)
    formatter.for_type(pd.DataFrame, table_payload)
    formatter.for_type(Styler, table_payload)
    ip.display_formatter.formatters[TABLE_MIME] = formatter


def _heading(markdown: str, current: str) -> str:
    """The last Markdown heading in `markdown` as plain text (the tags, entities and escaped dollars md_text
    writes undone), else `current`."""
    for line in markdown.splitlines():
        if line.startswith("#"):
            text = html.unescape(re.sub(r"<[^>]+>", "", line.lstrip("#"))).replace("\\$", "$").strip()
            current = text or current
    return current


def notebook_tables(notebook: Path) -> list[tuple[str, dict]]:
    """(section heading, payload) for every captured table of an executed notebook, in order; a heading is the
    last one above the table, in a Markdown cell or in Markdown a cell displayed."""
    doc = json.loads(notebook.read_text(encoding="utf-8"))
    section, found = "Report", []
    for cell in doc.get("cells", []):
        if cell["cell_type"] == "markdown":
            section = _heading("".join(cell["source"]), section)
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                text = data["text/markdown"]
                section = _heading("".join(text) if isinstance(text, list) else text, section)
            payload = data.get(TABLE_MIME)
            if payload and payload.get("columns"):
                found.append((section, payload))
    return found


def number_format(shown: list[str]) -> str | None:
    """The Excel number format that shows a column's numbers as the report shows them (`shown`: the report's texts
    of its numeric cells), or None when the report shows them as words.

    >>> number_format(["$1,234.50", "-$6.02"]), number_format(["$0.005918", "$12.10"]), number_format(["+3.1%"])
    ('$#,##0.00;-$#,##0.00', '$#,##0.00####;-$#,##0.00####', '+0.0%;-0.0%;0.0%')
    >>> number_format(["1,234", "17"]), number_format(["never"])
    ('#,##0', None)
    """
    texts = [s.strip() for s in shown if s.strip() not in ("", "n/a")]
    if not texts:
        return None
    decimals = max(len(s.rstrip("%").split(".")[1]) if "." in s else 0 for s in texts)
    signed = any(s.startswith("+") for s in texts)
    if all(MONEY.match(s) for s in texts):
        body = "$#,##0" + ("." + "0" * min(decimals, 2) + "#" * max(0, decimals - 2) if decimals else "")
        return f"+{body};-{body};{body}" if signed else f"{body};-{body}"
    if all(PERCENT.match(s) for s in texts):
        body = "0" + ("." + "0" * decimals if decimals else "") + "%"
        return f"+{body};-{body};{body}" if signed else body
    if all(NUMBER.match(s) for s in texts):
        body = "#,##0" + ("." + "0" * decimals if decimals else "")
        return f"+{body};-{body};{body}" if signed else body
    return None


def _sheet_name(section: str, taken: set[str]) -> str:
    """An Excel sheet name (at most 31 characters, none of []:*?/\\ or control characters) from a section
    heading, made unique."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    base = " ".join(SHEET_FORBIDDEN.sub(" ", ILLEGAL_CHARACTERS_RE.sub(" ", section)).split()).strip("'") or "Table"
    name, n = base[:31], 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _text_cell(cell, text: str) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)  # control characters a workbook cannot hold
    cell.data_type = "s"  # never a formula, whatever the text starts with


def write_workbook(notebook: Path, out: Path, provenance: dict[str, str]) -> int:
    """Write the captured tables of an executed notebook, and a Provenance sheet of `provenance`, to `out`
    (.xlsx); returns the number of table sheets."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    tables = notebook_tables(notebook)
    for section, payload in tables:
        sheet = book.create_sheet(_sheet_name(section, taken))
        columns, values, shown = payload["columns"], payload["values"], payload["shown"]
        widths = [len(c) for c in columns]
        for j, label in enumerate(columns, start=1):
            _text_cell(sheet.cell(row=1, column=j), label)
            sheet.cell(row=1, column=j).font = Font(bold=True)
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                cell, text = sheet.cell(row=i + 2, column=j + 1), shown[i][j]
                fmt = number_format([text]) if isinstance(value, int | float) and not isinstance(value, bool) else None
                if fmt is not None:  # a number shown as a number: stored as one, in the format the report shows
                    shown_zero = not re.sub(r"[^0-9]", "", text).strip("0")  # '$0.00': float noise stays 0
                    cell.value, cell.number_format = (0 if shown_zero else value), fmt
                elif text:
                    _text_cell(cell, text)
                widths[j] = max(widths[j], len(text))
        for j, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(j)].width = min(width + 2, MAX_WIDTH)
        sheet.freeze_panes = "A2"
    sheet = book.create_sheet("Provenance")
    for i, (key, value) in enumerate(provenance.items(), start=1):
        _text_cell(sheet.cell(row=i, column=1), key)
        sheet.cell(row=i, column=1).font = Font(bold=True)
        _text_cell(sheet.cell(row=i, column=2), value)
    sheet.column_dimensions["A"].width = max([len(k) for k in provenance] + [10]) + 2
    sheet.column_dimensions["B"].width = MAX_WIDTH + 40
    book.save(out)
    return len(tables)
