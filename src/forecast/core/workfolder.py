"""The working folder: where a user keeps specs, cases, budgets, price overrides and the warehouse.

`forecast init DIR` writes one. Two rules hold for every command, notebook and library call:

- a relative path is relative to the current folder (in JupyterLab: the notebook's folder);
- a default is the working folder's file when the current folder has it, else none (budgets, warehouse)
  or the packaged example (price overrides, example specs), and the output says which.

    >>> WAREHOUSE, BUDGETS, PRICES
    ('warehouse.duckdb', 'budgets.yaml', 'prices/overrides.yaml')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .resources import example

WAREHOUSE = "warehouse.duckdb"
BUDGETS = "budgets.yaml"
PRICES = "prices/overrides.yaml"
NONE = "none"  # the word that turns an optional file off


@dataclass(frozen=True)
class Chosen:
    """A file a default picked: its path (None: no file) and a note saying why, when it is not the user's own."""

    path: Path | None
    note: str | None = None


def price_overrides(path: str | Path | None) -> Chosen:
    """The price override file to use: `path` as given ('none': none), else ./prices/overrides.yaml when
    present, else the packaged example (public batch discounts and one self-hosted planning price)."""
    if path is not None and str(path) != "":
        return Chosen(None if str(path) == NONE else Path(path))
    if Path(PRICES).is_file():
        return Chosen(Path(PRICES))
    return Chosen(example("prices/overrides.yaml"),
                  f"price overrides: no {PRICES} in the current folder, so the packaged example is used "
                  "(public batch discounts, one self-hosted planning price); 'none' for genai-prices alone")


def budgets_file(path: str | Path | None) -> Chosen:
    """The budget file to use: `path` as given ('none': none), else ./budgets.yaml when present, else none."""
    if path is not None and str(path) != "":
        return Chosen(None if str(path) == NONE else Path(path))
    if Path(BUDGETS).is_file():
        return Chosen(Path(BUDGETS))
    return Chosen(None, f"budgets: no {BUDGETS} in the current folder, so no budgets are checked")
