"""Files exported by the tools teams run in front of their models (LiteLLM, Langfuse, Helicone) and the providers'
usage and cost reports (OpenAI, Anthropic), staged for the checks every other source goes through: usage as
request-log rows, cost reports as FOCUS charges.

A format is a module with NAME (its `--format`), MARKS (field names that tell its files apart), EXTRA (the
fields it keeps in `extra`, beyond the native columns) or, for a cost report, COLUMNS (the FOCUS columns of its
charges), and row(record): the row of one exported record, as {column: value}; None for a record that is not a
model call (counted as skipped), RecordError for one that cannot be read. A report of time buckets also has
split(record): the bucket's results, each with the bucket's times; every result is then a record of its own,
numbered from 1 through the file. Every staged row keeps its record's place in the file and its raw text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from ...core.errors import UsageError
from ..files import check_utf8
from ..python_readers import csv_header, json_text, stage_records
from ..schema import CHARGE_KINDS, NATIVE_COLUMNS
from . import anthropic_costs, anthropic_usage, helicone, langfuse, litellm, openai_costs, openai_usage
from .common import RecordError
from .records import head, records

# in the order detect() tries them: the most specific field names first
FORMATS = {m.NAME: m for m in (openai_usage, openai_costs, anthropic_usage, anthropic_costs, langfuse, helicone,
                                litellm)}


def detect(path: Path) -> str | None:
    """The export format whose MARKS are all field names in the first MB of `path` (as JSON keys, or in a CSV
    file's header), else None (also for OTLP spans).

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "logs.json"
    >>> _ = f.write_text('[{"request_id": "r1", "spend": 0.1, "startTime": "2026-11-01T10:00:00Z"}]')
    >>> detect(f)
    'litellm'
    """
    fields = _fields(path)
    if "resourceSpans" in fields:
        return None
    for name, module in FORMATS.items():
        if set(module.MARKS) <= fields:
            return name
    if fields >= EMPTY_PAGE:  # a provider's page with no bucket: nothing to load either way
        return "openai-usage" if "object" in fields else "anthropic-usage"
    return None


EMPTY_PAGE = {"data", "has_more", "next_page"}


def _fields(path: Path) -> set[str]:
    """The field names in the first MB of `path`: a CSV file's header, else every JSON object key."""
    try:
        if path.name.lower().endswith(".csv"):
            return set(csv_header(path))
        text = head(path)
    except (OSError, UsageError, UnicodeDecodeError):  # unreadable here: the reader names the fault
        return set()
    return set(re.findall(r'"([^"\\]+)"\s*:', text))


def check_format(path: Path, kind: str) -> None:
    """Refuse a file named as `kind` (--format) that does not carry that format's field names: loaded anyway,
    every row would be quarantined for a reason that is not the file's fault."""
    fields, marks = _fields(path), FORMATS[kind].MARKS
    provider_page = kind.startswith(("openai-", "anthropic-")) and fields >= EMPTY_PAGE
    if not set(marks) <= fields and not provider_page:
        if not fields:
            check_utf8(path)  # no field names read: an encoding fault is the file's, and names its line
        missing = ", ".join(m for m in marks if m not in fields)
        raise UsageError(f"{path}: not a {kind} export: no {missing} field in its first MB (a {kind} record has "
                         f"{', '.join(marks)}): check --format (docs/connectors.md)")


def stage_export(con: duckdb.DuckDBPyConnection, path: Path, kind: str, table: str) -> tuple[list[str], int]:
    """Stage the rows of an exported file as the temp table `table` (text columns, with each row's place and raw
    text); returns (its columns, records skipped as not model calls)."""
    module = FORMATS[kind]
    columns = list(module.COLUMNS) if kind in CHARGE_KINDS else [*NATIVE_COLUMNS, *module.EXTRA]
    known = set(columns)
    skipped = 0

    def parts():
        if not hasattr(module, "split"):
            yield from records(path)
            return
        n = 0
        for _place, fields, problem, raw in records(path):
            try:
                results = [] if problem else module.split(fields)
            except RecordError as exc:
                results, problem = [], str(exc)
            if problem:
                n += 1
                yield n, None, problem, raw
            for result in results:
                n += 1
                raw = json.dumps(result, ensure_ascii=False)
                if isinstance(result, dict):
                    yield n, result, None, raw
                else:
                    yield n, None, "has a result that is not a JSON object", raw

    def staged():
        nonlocal skipped
        for place, fields, problem, raw in parts():
            row = None
            if problem is None:
                try:
                    row = module.row(fields)
                except RecordError as exc:
                    problem = str(exc)
                else:
                    skipped += row is None
                    if row is None:
                        continue
                    unknown = set(row) - known
                    if unknown:  # a bug in the format's module, not in the file
                        raise RuntimeError(f"{kind}: row() gave unknown columns {sorted(unknown)}")
            yield place, None if row is None else [json_text(row.get(c)) for c in columns], problem, raw

    try:
        stage_records(con, table, columns, staged())
    except UnicodeDecodeError:
        check_utf8(path)  # names the line of the first byte that is not UTF-8
        raise UsageError(f"{path}: not UTF-8 text") from None
    return columns, skipped
