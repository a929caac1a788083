"""Budget status and anomaly scans of a month: the library calls behind `forecast budgets`, `forecast
anomalies` and the monthly report."""

from __future__ import annotations

from datetime import date, timedelta

from ..core.errors import ForecastError
from ..core.months import month_bounds
from . import anomalies as an
from . import shifts
from .burn import envelope_burn, last_data_day
from .guardrails import check_guardrail
from .projection import auto_projection, forecast_projection, run_rate_projection

PROJECTORS = {"auto": auto_projection, "run-rate": run_rate_projection, "forecast": forecast_projection}


def budget_status(wh, doc, month: date, as_of: date | None = None, method: str = "auto") -> tuple[date, list, list]:
    """(as_of, burns per envelope, guardrail exceedances) for `month`, counting spend through `as_of`
    (default: the newest day in the warehouse, capped at the month's last day)."""
    first, last = month_bounds(month)
    newest = last_data_day(wh)
    as_of = as_of or (min(newest, last) if newest else None)
    if as_of is None or as_of < first - timedelta(days=1):
        raise ForecastError(f"--month {first:%Y-%m}: the warehouse's newest request is on {newest}; "
                            f"load that month's usage or pass --as-of")
    if not first - timedelta(days=1) <= as_of <= last:
        raise ForecastError(f"--as-of {as_of}: must lie in {first:%Y-%m} (or be the day before it)")
    projector = PROJECTORS[method]
    burns = [envelope_burn(wh, env, first, as_of, projector) for env in doc.budgets]
    exceed = [x for g in doc.guardrails for x in check_guardrail(wh, g, first, as_of)]
    return as_of, burns, exceed


def find_anomalies(wh, since: date, until: date, spike_factor: float = an.SPIKE_FACTOR,
                   min_excess_usd: float = an.SPIKE_MIN_EXCESS_USD, method: str = "auto") -> tuple:
    """(spikes, runaway tasks, step changes, forecast outliers, weekly top agents) over UTC days since..until."""
    spikes = [s for by in ("agent_id", "workflow_name")
              for s in an.spikes(wh, by, since, until, spike_factor, an.SPIKE_WINDOW_DAYS, min_excess_usd)]
    runaways = an.runaway_tasks(wh, since, until)
    changes = [c for m in shifts.METRICS for c in shifts.step_changes(wh, since, until, metric=m)]
    outliers = shifts.forecast_outliers(wh, since, until, min_excess_usd=min_excess_usd, projector=PROJECTORS[method])
    return spikes, runaways, changes, outliers, an.weekly_top_agents(wh, until)
