"""Files that ship with forecast: notebooks, example specs, cases, budgets and price overrides, GPU catalogs
and reference measurements, the sample company's usage files.

They live inside the package as `forecast/notebooks/` and `forecast/data/` and are read with importlib.resources
only. In a source checkout those two are links to `notebooks/` and `data/` at the top of the repository, where
users look for them, so an editable install reads the same files a wheel carries.

    >>> packaged("data", "gpu", "gpus.csv").name
    'gpus.csv'
    >>> sorted(p.name for p in packaged("data", "workflows").glob("*.yaml"))[:2]
    ['code_review_bot.yaml', 'rag_chat.yaml']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import ForecastError


def packaged(*parts: str) -> Path:
    """The path of a file or folder that ships with forecast, e.g. packaged("notebooks", "estimate.ipynb")."""
    inside = resources.files("forecast").joinpath(*parts)
    if isinstance(inside, Path) and inside.exists():
        return inside
    raise ForecastError(f"{'/'.join(parts)}: not found among forecast's packaged files (the install is incomplete: "
                        "reinstall forecast)")


def example(name: str) -> Path:
    """A packaged example by its path under data/: workflows/*.yaml, cases/*.yaml, budgets.yaml,
    prices/overrides.yaml, sample/ (the sample company's usage files).

    >>> example("workflows/support_triage.yaml").read_text().count("name: support-triage-agent")
    1
    """
    return packaged("data", *Path(name).parts)
