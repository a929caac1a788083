"""Loading many files: each in its own transaction, a bad file reported and the others still loaded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UsageError
from ..core.results import html_table
from ..core.workfolder import WAREHOUSE
from ..design.prices import PriceBook, price_book
from .warehouse import LoadResult, Warehouse


@dataclass(frozen=True)
class Ingest:
    """The files loaded (with their accounting) and those refused whole (with their problems, one per line)."""

    warehouse: str
    loads: tuple[LoadResult, ...]
    failed: tuple[tuple[str, tuple[str, ...]], ...]
    quarantine_reasons: tuple[tuple[tuple[str, int, int], ...], ...]  # per load: (rule, rows, first line), top 3
    notes: tuple[str, ...] = ()  # which price file a default chose

    def to_dict(self) -> dict:
        return {"warehouse": self.warehouse, "loads": [load.to_dict() for load in self.loads],
                "failed": [{"file": f, "problems": list(p)} for f, p in self.failed]}

    def to_frame(self):
        """One row per file loaded: rows read, accepted, quarantined, duplicate, accepted cost (USD)."""
        import pandas as pd

        return pd.DataFrame([load.to_dict() for load in self.loads])

    def lines(self) -> list[str]:
        """What `forecast ingest` prints: each load's accounting and its most frequent quarantine rules."""
        out = []
        for load, reasons in zip(self.loads, self.quarantine_reasons, strict=True):
            out.append(load.line())
            out += [f"  quarantined {n} × {rule} (first at line {first})" for rule, n, first in reasons]
        return out

    def _repr_html_(self) -> str:
        notes = [*(f"{f}: {p}" for f, problems in self.failed for p in problems), *(f"note: {n}" for n in self.notes)]
        return html_table(f"Loaded into {self.warehouse}", [load.to_dict() for load in self.loads], notes)


def ingest(paths: Iterable[str | Path], warehouse: str | Path | Warehouse = WAREHOUSE, kind: str | None = None,
           timezone: str | None = None, book: PriceBook | None = None, focus_version: str | None = None) -> Ingest:
    """Load request logs, OTel spans or FOCUS billing files into `warehouse` (a file, created when missing, or an
    open Warehouse), each file in its own transaction; rows without a cost are priced with `book` (default:
    price_book(), as `forecast ingest`). Rejected rows are quarantined with their reason and raw text, never
    dropped.

    >>> import shutil, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text(
    ...     "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd\\n"
    ...     "2026-10-01T09:00:00Z,a,openai,gpt-4o-mini,1000,500,0.25\\n"
    ...     "2026-10-01T09:01:00Z,a,openai,gpt-4o-mini,1000,500,0.25\\n"
    ...     "2026-10-01T09:02:00Z,b,openai,gpt-4o-mini,-5,500,0.25\\n")
    >>> result = ingest([folder / "calls.csv", folder / "missing.csv"], folder / "w.duckdb")
    >>> load = result.loads[0]
    >>> load.rows_read, load.accepted, load.duplicate, load.quarantined, float(load.cost_usd_accepted)
    (3, 1, 1, 1, 0.25)
    >>> result.failed[0][1][0].endswith("missing.csv: no such file")
    True
    >>> shutil.rmtree(folder)
    """
    book = book if book is not None else price_book()
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    loads, failed, reasons = [], [], []
    try:
        for path in paths:
            try:
                result = wh.load(path, kind, timezone, book, focus_version)
            except UsageError as exc:
                failed.append((str(path), tuple(exc.problems)))
                continue
            loads.append(result)
            reasons.append(wh.quarantine_reasons(result.load_id) if result.quarantined else ())
    finally:
        if not isinstance(warehouse, Warehouse):
            wh.close()
    return Ingest(str(wh.path), tuple(loads), tuple(failed), tuple(reasons), (book.note,) if book.note else ())
