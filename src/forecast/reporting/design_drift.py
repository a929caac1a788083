"""The monthly report's design against production: every workflow spec in the working folder whose `name` is a
logged `workflow_name` in the month, compared with its logs (usage.drift)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..core.errors import ForecastError
from ..core.months import month_start, utc_midnight
from ..design.prices import PriceBook, price_book
from ..usage.drift import Drift, drift
from ..usage.warehouse import Warehouse

SPECS = Path("workflows")  # the working folder's specs (forecast init writes them)


def workflow_drifts(wh: Warehouse, month: date, folder: Path = SPECS,
                    book: PriceBook | None = None) -> tuple[tuple[Drift, ...], tuple[str, ...]]:
    """(drift of each spec under `folder` whose workflow logged tasks in `month`, notes on the specs left out)."""
    from ..design.specs import load_workflow

    if not folder.is_dir():
        return (), (f"design against production: no {folder}/ folder of workflow specs here",)
    start, end = month_start(month), month_start(month, 1)
    logged = {r[0] for r in wh.sql("""SELECT DISTINCT workflow_name FROM requests WHERE "timestamp" >= ?
        AND "timestamp" < ? AND workflow_name IS NOT NULL AND task_id IS NOT NULL""",
                                   [utc_midnight(start), utc_midnight(end)]).fetchall()}
    found, notes = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
        try:
            workflow = load_workflow(path)
        except ForecastError as exc:
            notes.append(f"{path}: not compared: {exc.problems[0]}")
            continue
        if workflow.name not in logged:
            notes.append(f"{path}: no task of workflow {workflow.name!r} is logged in {start:%Y-%m}")
            continue
        found.append(drift(workflow, wh.con, start, book or price_book()))
    return tuple(found), tuple(notes)
