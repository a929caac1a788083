"""The `forecast budgets` and `forecast anomalies` subcommands.

budgets: exit 0 when all is well, 1 when an envelope or guardrail whose action is hard_stop is breached
or projected to breach. anomalies: exit 0 when nothing was found, 1 when any detector fired.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from ..argtypes import day as _day
from ..argtypes import month as _month
from ..argtypes import number
from ..errors import ForecastError
from ..render import to_json
from ..usage import Warehouse
from ..usage.warehouse import DEFAULT_WAREHOUSE
from . import anomalies as an
from . import shifts
from .burn import envelope_burn, last_data_day, month_bounds
from .envelopes import load_budgets
from .guardrails import check_guardrail
from .projection import auto_projection, forecast_projection, run_rate_projection
from .report import anomalies_doc, anomalies_table, budgets_table, burn_doc, exceedance_doc
from .webhook import post_json, slack_payload

COMMANDS = ("budgets", "anomalies")
DEFAULT_BUDGETS = Path("data/budgets/budgets.yaml")
WEBHOOK_ENV = "FORECAST_WEBHOOK_URL"
_positive = number(lambda v: 0 <= v < 1e12, "must be a number >= 0")
PROJECTORS = {"auto": auto_projection, "run-rate": run_rate_projection, "forecast": forecast_projection}


def add_parsers(sub, overrides_option: Callable) -> None:
    """Register `budgets` and `anomalies` on an argparse subparsers object."""
    w = {"default": str(DEFAULT_WAREHOUSE), "help": f"DuckDB warehouse file (default {DEFAULT_WAREHOUSE})"}
    hook = {"action": "store_true", "help": f"also post the alerts to the webhook URL in ${WEBHOOK_ENV}"}
    p = sub.add_parser("budgets", help="burn, month-end projection, breach probability and alerts per envelope")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.add_argument("--budgets", default=str(DEFAULT_BUDGETS), help=f"budget YAML (default {DEFAULT_BUDGETS})")
    p.add_argument("--warehouse", **w)
    p.add_argument("--as-of", type=_day, default=None,
                   help="count spend through the end of this UTC day (default: the newest day in the warehouse, "
                        "capped at the month's last day)")
    p.add_argument("--method", choices=tuple(PROJECTORS), default="auto",
                   help="month-end projection: auto (forecast with 56+ days of history, else run-rate)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--webhook", **hook)

    p = sub.add_parser("anomalies", help="spend spikes, runaway tasks, step changes, forecast misses, top agents")
    p.add_argument("--since", type=_day, default=None, help="first UTC day (default: 13 days before --until)")
    p.add_argument("--until", type=_day, default=None, help="last UTC day (default: the newest in the warehouse)")
    p.add_argument("--warehouse", **w)
    p.add_argument("--spike-factor", type=_positive, default=an.SPIKE_FACTOR, help="x the 7-day median (2)")
    p.add_argument("--method", choices=tuple(PROJECTORS), default="auto",
                   help="forecast for the interval check: auto (forecaster with 56+ days of history, else run-rate)")
    p.add_argument("--min-excess-usd", type=_positive, default=an.SPIKE_MIN_EXCESS_USD,
                   help=f"ignore days within this many USD of their median (default {an.SPIKE_MIN_EXCESS_USD:g})")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--webhook", **hook)


def _webhook_url() -> str:
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        raise ForecastError(f"--webhook: set {WEBHOOK_ENV} to the webhook URL (kept out of argv and logs)")
    return url


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


def budgets(args) -> tuple[str, int]:
    doc = load_budgets(args.budgets)
    first, _ = month_bounds(args.month)
    with Warehouse(args.warehouse, read_only=True) as wh:
        as_of, burns, exceed = budget_status(wh, doc, first, args.as_of, args.method)
    alerts = [a for b in burns for a in b.alerts] + [x.alert() for x in exceed]
    status = 1 if any(a.pages for a in alerts) else 0
    if args.webhook and alerts:
        lines = [a.line() for a in alerts]
        post_json(_webhook_url(), slack_payload(f"forecast budgets {first:%Y-%m} (through {as_of})", lines,
                                                bool(status)))
    if args.format == "json":
        return to_json({"month": f"{first:%Y-%m}", "as_of": as_of.isoformat(), "budgets_file": args.budgets,
                        "envelopes": [burn_doc(b) for b in burns],
                        "guardrails": [exceedance_doc(x) for x in exceed], "pages": bool(status)}) + "\n", status
    return budgets_table(burns, exceed), status


def find_anomalies(wh, since: date, until: date, spike_factor: float = an.SPIKE_FACTOR,
                   min_excess_usd: float = an.SPIKE_MIN_EXCESS_USD, method: str = "auto") -> tuple:
    """(spikes, runaway tasks, step changes, forecast outliers, weekly top agents) over UTC days since..until."""
    spikes = [s for by in ("agent_id", "workflow_name")
              for s in an.spikes(wh, by, since, until, spike_factor, an.SPIKE_WINDOW_DAYS, min_excess_usd)]
    runaways = an.runaway_tasks(wh, since, until)
    changes = [c for m in shifts.METRICS for c in shifts.step_changes(wh, since, until, metric=m)]
    outliers = shifts.forecast_outliers(wh, since, until, min_excess_usd=min_excess_usd, projector=PROJECTORS[method])
    return spikes, runaways, changes, outliers, an.weekly_top_agents(wh, until)


def anomalies(args) -> tuple[str, int]:
    with Warehouse(args.warehouse, read_only=True) as wh:
        until = args.until or last_data_day(wh)
        if until is None:
            raise ForecastError(f"{args.warehouse}: no requests in the warehouse: load usage first")
        since = args.since or until - timedelta(days=13)
        if since > until:
            raise ForecastError(f"--since {since}: must not be after --until {until}")
        spikes, runaways, changes, outliers, top = find_anomalies(wh, since, until, args.spike_factor,
                                                                  args.min_excess_usd, args.method)
    doc = anomalies_doc(since, until, spikes, runaways, changes, outliers, top)
    status = 1 if spikes or runaways or changes or outliers else 0
    if args.webhook and status:
        lines = ([s.line() for s in spikes] + [f"runaway task {r.task_id} ({r.agent_id}): {r.steps} steps"
                                               for r in runaways] + [c.line() for c in changes]
                 + [o.line() for o in outliers])
        post_json(_webhook_url(), slack_payload(f"forecast anomalies {since}..{until}", lines, False))
    if args.format == "json":
        return to_json(doc) + "\n", status
    return anomalies_table(doc, spikes, runaways, changes, outliers, top), status


def run(args, book) -> tuple[str, int]:
    """Dispatch a budgets subcommand; returns (output, exit status)."""
    return budgets(args) if args.command == "budgets" else anomalies(args)
