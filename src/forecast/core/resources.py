"""Files that ship with forecast: notebooks, example specs, cases, budgets and price overrides, GPU catalogs
and reference measurements, the sample company's usage files.

A wheel carries them inside the package (`forecast/notebooks/`, `forecast/data/`); a source checkout keeps
them at the top of the repository, where users look for them, and an editable install reads them there.

    >>> packaged("data", "gpu", "gpus.csv").name
    'gpus.csv'
    >>> sorted(p.name for p in packaged("data", "workflows").glob("*.yaml"))[:2]
    ['code_review_bot.yaml', 'rag_chat.yaml']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import ForecastError

CHECKOUT = Path(__file__).resolve().parents[3]  # the repository root when running from a source checkout


def packaged(*parts: str) -> Path:
    """The path of a file or folder that ships with forecast, e.g. packaged("notebooks", "estimate.ipynb")."""
    inside = resources.files("forecast").joinpath(*parts)
    if isinstance(inside, Path) and inside.exists():
        return inside
    in_checkout = CHECKOUT.joinpath(*parts)
    if (CHECKOUT / "pyproject.toml").is_file() and in_checkout.exists():
        return in_checkout
    raise ForecastError(f"{'/'.join(parts)}: not found among forecast's packaged files (the install is incomplete: "
                        "reinstall forecast)")


def example(name: str) -> Path:
    """A packaged example by its path under data/: workflows/*.yaml, cases/*.yaml, budgets.yaml,
    prices/overrides.yaml, sample/ (the sample company's usage files).

    >>> example("workflows/support_triage.yaml").read_text().count("name: support-triage-agent")
    1
    """
    return packaged("data", *Path(name).parts)
