"""The records of an exported file, each with its place in the file and its raw text: a JSON document (one
record, a list of records, or an API page whose `data` lists them), JSON Lines (a record or a page per line)
or CSV with a header (every value text, empty as null)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ...core.errors import UsageError
from ..python_readers import csv_header, csv_records


class Record(NamedTuple):
    """One record: its place (the line of a JSON Lines or CSV record; its position, from 1, when records sit in
    one JSON document or in pages), the object (None when it could not be read), why not, and its raw text."""

    place: int
    fields: dict | None
    problem: str | None
    raw: str


PAGE_KEYS = {"data", "meta", "has_more", "next_page", "first_id", "last_id", "object", "total", "page", "page_size",
             "total_pages", "total_is_capped", "error", "_deprecation"}  # what list endpoints put beside `data`


def _items(doc) -> list | None:
    """The records a JSON value holds: a list's items, an API page's `data`, else None (the value is one)."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and set(doc) <= PAGE_KEYS:
        return doc["data"]  # {"data": [...], "meta"/"has_more"/"total"...}: a page of a list endpoint
    return None


def _from_items(items: list, start: int) -> Iterator[Record]:
    for i, item in enumerate(items, start=start):
        raw = json.dumps(item, ensure_ascii=False)
        if isinstance(item, dict):
            yield Record(i, item, None, raw)
        else:
            yield Record(i, None, "is not a JSON object", raw)


def _broken_document(path: Path, text: str, error: ValueError) -> UsageError | None:
    """The file-level error of a JSON document that breaks off or is malformed past its first line (its first line
    is not JSON by itself, as a JSON Lines record would be), else None."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    try:
        json.loads(first)
        return None
    except (ValueError, RecursionError):
        pass
    where = getattr(error, "lineno", 1)
    if where <= 1:
        return None
    return UsageError(f"{path}: line {where}: not valid JSON ({error.args[0].split(':')[0]}): the JSON document breaks "
                      "off or is malformed there (a truncated download?): export it again")


def _json_records(path: Path, text: str) -> Iterator[Record]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        broken = _broken_document(path, text, exc) if isinstance(exc, ValueError) else None
        if broken is not None:
            raise broken from None
    else:
        items = _items(doc)
        yield from _from_items(items if items is not None else [doc], 1)
        return
    place = 0  # the last place given: a line's number, or the next number for each record of a page on a line
    for n, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON text may hold U+2028
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError) as exc:
            place = max(n, place + 1)
            why = "nested too deep" if isinstance(exc, RecursionError) else exc.args[0].split(":")[0]
            yield Record(place, None, f"not valid JSON ({why})", line)
            continue
        items = _items(doc)
        if items is None:
            place = max(n, place + 1)
            yield Record(place, doc, None, line) if isinstance(doc, dict) else Record(
                place, None, "is not a JSON object", line)
        else:  # a page per line, as `forecast pull` saves them
            for record in _from_items(items, place + 1):
                place = record.place
                yield record


def records(path: Path) -> Iterator[Record]:
    """The records of `path`: CSV when its name ends in .csv, else JSON or JSON Lines.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "page.json"
    >>> _ = f.write_text('{"data": [{"id": "a"}, 7], "has_more": false}')
    >>> [(r.place, r.fields, r.problem) for r in records(f)]
    [(1, {'id': 'a'}, None), (2, None, 'is not a JSON object')]
    """
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if path.name.lower().endswith(".csv"):
        header = csv_header(path)
        for line, fields, problem, raw in csv_records(path, len(header)):
            values = None if fields is None else {k: (v if v != "" else None) for k, v in zip(header, fields,
                                                                                               strict=True)}
            yield Record(line, values, problem, raw)
        return
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise UsageError(f"{path}: empty file: nothing to load")
    yield from _json_records(path, text)


def head(path: Path, size: int = 1 << 20) -> str:
    """The first `size` characters of a text file (for telling formats apart by their field names)."""
    with path.open(encoding="utf-8-sig", errors="replace") as f:
        return f.read(size)
