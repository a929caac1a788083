"""forecast: make AI inference spend predictable (unit economics, Monte Carlo, forecasts, ROI).

    import forecast as fc
    spec = fc.load_spec("workflows/support_triage.yaml")      # or fc.example("workflows/support_triage.yaml")
    result = fc.estimate(spec)                                  # USD per task / month / successful outcome
    result.per_month_usd.p90, result.to_frame(), result.to_dict()

Each entry point loads its module on first use, so `import forecast` costs nothing; `docs/api.md` lists them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .core.errors import ForecastError
from .core.version import __version__

# public name -> (module, name in that module)
_API = {
    "example": ("forecast.core.resources", "example"),
    "write_workfolder": ("forecast.core.workfolder", "write_workfolder"),
    "load_spec": ("forecast.design.specs", "load_workflow"),
    "parse_spec": ("forecast.design.specs", "parse_workflow"),
    "price_book": ("forecast.design.prices", "price_book"),
    "estimate": ("forecast.design.estimate", "estimate"),
    "alternatives": ("forecast.design.alternatives", "alternatives"),
    "Warehouse": ("forecast.usage.warehouse", "Warehouse"),
    "ingest": ("forecast.usage.ingest", "ingest"),
    "sample_warehouse": ("forecast.usage.sample", "sample_warehouse"),
    "series": ("forecast.usage.series", "series"),
    "reconcile_invoice": ("forecast.usage.reconcile", "reconcile"),
    "forecast_series": ("forecast.timeseries.auto", "forecast_series"),
    "budget_status": ("forecast.budgets.status", "budget_status"),
    "find_anomalies": ("forecast.budgets.status", "find_anomalies"),
    "size_fleet": ("forecast.gpu.sizing", "size_fleet"),
    "load_case": ("forecast.finance.report", "load_case"),
    "evaluate_case": ("forecast.finance.report", "evaluate_case"),
    "monthly_report": ("forecast.reporting.monthly", "monthly_report"),
    "what_if": ("forecast.whatif.panel", "what_if_panel"),
}
__all__ = ["ForecastError", "Warehouse", "__version__", "alternatives", "budget_status", "estimate", "evaluate_case",
           "example", "find_anomalies", "forecast_series", "ingest", "load_case", "load_spec", "monthly_report",
           "parse_spec", "price_book", "reconcile_invoice", "sample_warehouse", "series", "size_fleet", "what_if",
           "write_workfolder"]

if TYPE_CHECKING:  # for editors and type checkers; at run time each name loads on first use
    from .budgets.status import budget_status, find_anomalies
    from .core.resources import example
    from .core.workfolder import write_workfolder
    from .design.alternatives import alternatives
    from .design.estimate import estimate
    from .design.prices import price_book
    from .design.specs import load_workflow as load_spec
    from .design.specs import parse_workflow as parse_spec
    from .finance.report import evaluate_case, load_case
    from .gpu.sizing import size_fleet
    from .reporting.monthly import monthly_report
    from .timeseries.auto import forecast_series
    from .usage.ingest import ingest
    from .usage.reconcile import reconcile as reconcile_invoice
    from .usage.sample import sample_warehouse
    from .usage.series import series
    from .usage.warehouse import Warehouse
    from .whatif.panel import what_if_panel as what_if


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'forecast' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
