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

from .errors import ForecastError
from .resources import example

WAREHOUSE = "warehouse.duckdb"
BUDGETS = "budgets.yaml"
PRICES = "prices/overrides.yaml"
PRICE_DATA = "prices/genai-prices.json"  # genai-prices data fetched by `forecast prices --refresh`
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


EXAMPLES = ("workflows", "cases", "budgets.yaml", "prices")  # packaged under data/, copied by write_workfolder
README = """# forecast working folder

Written by `forecast init`. Edit these files; every `forecast` command run in this folder uses them by default.

| path | what it is |
|---|---|
| `workflows/*.yaml` | workflow specs: steps, models, tokens, loops, volume, success rate (`forecast estimate`) |
| `cases/*.yaml` | business cases over a horizon: build and run costs, benefits, scenarios (`forecast roi`) |
| `budgets.yaml` | budget envelopes and guardrails per team, workflow or agent (`forecast budgets`) |
| `prices/overrides.yaml` | negotiated discounts, batch discounts and private-model prices on top of genai-prices |
| `prices/genai-prices.json` | newer genai-prices data from `forecast prices --refresh`, used instead of the packaged |
| `warehouse.duckdb` | the usage warehouse, created by `forecast ingest` |

Paths you type are relative to the current folder. Next:

    forecast estimate workflows/support_triage.yaml
    forecast roi cases/support_triage.yaml
    forecast sample-data --out sample
    forecast ingest sample/requests.parquet sample/focus_billing.csv sample/otel_spans.json
    forecast report monthly
    forecast whatif workflows/support_triage.yaml
"""


def write_workfolder(folder: str | Path) -> list[Path]:
    """Write a working folder of editable examples into `folder` (created when missing): the example workflow
    specs, business cases, budgets and price overrides, and a README. Nothing that exists is overwritten.

    >>> import shutil, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> written = write_workfolder(folder / "ai-spend")
    >>> sorted({p.relative_to(folder / "ai-spend").parts[0] for p in written})
    ['README.md', 'budgets.yaml', 'cases', 'prices', 'workflows']
    >>> shutil.rmtree(folder)
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ForecastError(f"{folder}: exists and is not a folder; choose an empty or new folder")
    sources = {Path("README.md"): None}
    for name in EXAMPLES:
        src = example(name)
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        sources.update({p.relative_to(src.parent): p for p in files})
    existing = [str(folder / rel) for rel in sources if (folder / rel).exists()]
    if existing:
        raise ForecastError(f"{folder}: not written, these files exist already: {', '.join(existing[:5])}"
                            + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
                            + "; choose an empty or new folder")
    written = []
    try:
        for rel, src in sources.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(README.encode() if src is None else src.read_bytes())
            written.append(target)
    except OSError as exc:
        for done in written:  # nothing half-written stays behind
            done.unlink(missing_ok=True)
        raise ForecastError(f"{folder}: cannot write the working folder: {exc.strerror or exc}") from None
    return written
