"""CSV cells a spreadsheet will not run: text that starts like a formula gets a leading single quote.

Spreadsheets (Excel, LibreOffice, Google Sheets) evaluate a CSV cell that starts with `=`, `+`, `-` or `@`
as a formula, and a tab or carriage return in front does not stop them; a formula can run commands or send
the sheet's data away (CSV injection, OWASP: https://owasp.org/www-community/attacks/CSV_Injection, rule
checked 2026-11-25). The rule there: prefix such a cell with `'`, which makes the spreadsheet show it as text.
Only text is changed: numbers stay numbers (a negative number in a numeric column is still -5), so apply this to
text columns only, and only when writing CSV (Parquet and JSON readers do not evaluate formulas).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """`value` with a `'` in front when it is text that starts with =, +, -, @, a tab or a carriage return;
    anything else (numbers, None, other text) as it is.

    >>> [csv_safe(v) for v in ["=1+2", "+cmd", "-x", "@SUM(A1)", "\\t=x", "team-a", -5, None]]
    ["'=1+2", "'+cmd", "'-x", "'@SUM(A1)", "'\\t=x", 'team-a', -5, None]
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame, numeric=()):
    """A copy of a pandas DataFrame with csv_safe applied to its text (object or string) columns, except the
    columns named in `numeric`; numeric, date and boolean columns are left alone."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if name not in numeric and (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            out[name] = column.map(csv_safe, na_action="ignore")
    return out


def safe_table(table, numeric=()):
    """A pyarrow Table with csv_safe applied to its string columns, except the columns named in `numeric`
    (numbers held as text, e.g. FOCUS costs, which may be negative credits)."""
    import pyarrow as pa

    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name not in numeric and pa.types.is_string(column.type):
            column = pa.array([csv_safe(v) for v in column.to_pylist()], pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)
