"""The `forecast budgets` and `forecast anomalies` subcommands.

budgets: exit 0 when all is well, 1 when an envelope or guardrail whose action is hard_stop is breached
or projected to breach. anomalies: exit 0 when nothing was found, 1 when any detector fired.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from ..budgets import anomalies as an
from ..budgets.burn import Burn, last_data_day
from ..budgets.documents import anomalies_doc, burn_doc, exceedance_doc
from ..budgets.envelopes import load_budgets
from ..budgets.guardrails import Exceedance
from ..budgets.status import PROJECTORS, budget_status, find_anomalies
from ..budgets.webhook import post_json, slack_payload
from ..core.errors import ForecastError
from ..core.formatting import to_json, usd
from ..core.months import month_bounds
from ..usage import Warehouse
from ..usage.warehouse import DEFAULT_WAREHOUSE
from .argtypes import day as _day
from .argtypes import month as _month
from .argtypes import number
from .tables import table

COMMANDS = ("budgets", "anomalies")
DEFAULT_BUDGETS = Path("data/budgets.yaml")
WEBHOOK_ENV = "FORECAST_WEBHOOK_URL"
_positive = number(lambda v: 0 <= v < 1e12, "must be a number >= 0")


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


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def budgets_table(burns: list[Burn], exceedances: list[Exceedance], limit: int = 20) -> str:
    if burns:
        b0 = burns[0]
        out = [f"budgets for {b0.month:%Y-%m}, spend through {b0.as_of} (day {b0.days_elapsed} of "
               f"{b0.days_in_month}, UTC)", ""]
    else:
        out = []
    rows = []
    for b in burns:
        cap = b.envelope.monthly_cap_usd
        lo, hi = b.projected_interval_usd(0.8)
        when = (f"breached {b.breached_on}" if b.breached_on else
                f"~{b.projected_breach_date}" if b.projected_breach_date else "")
        rows.append([b.envelope.name, b.envelope.type, usd(cap), usd(b.burn_usd),
                     _pct(b.burn_usd / cap) if cap else "n/a", usd(b.run_rate_usd_per_day),
                     f"{usd(b.projected_usd)} ({usd(lo)}-{usd(hi)})", _pct(b.breach_probability), when,
                     b.envelope.action])
    if rows:
        out += table(["envelope", "type", "cap USD", "spent USD", "spent", "USD/day", "month-end P50 (P10-P90)",
                       "P(breach)", "breach date", "on breach"], rows)
        methods: dict[str, list[str]] = {}
        for b in burns:
            methods.setdefault(b.projection.method, []).append(b.envelope.name)
        out += [""] + [f"projection: {m} ({', '.join(names)})" for m, names in methods.items()]
    alerts = [a for b in burns for a in b.alerts]
    out += ["", f"alerts ({len(alerts)})" + (":" if alerts else ": none")]
    out += [f"  {'PAGE ' if a.pages else ''}{a.line()}" for a in alerts]
    if exceedances:
        out += ["", f"guardrails exceeded ({len(exceedances)}, worst {min(limit, len(exceedances))} shown):"]
        out += [f"  {x.line()}" for x in exceedances[:limit]]
    else:
        out += ["", "guardrails exceeded: none"]
    return "\n".join(out) + "\n"


def anomalies_table(doc: dict, spikes, runaways, changes, outliers, top) -> str:
    out = [f"anomalies {doc['since']} .. {doc['until']} (UTC days)", ""]
    out += [f"daily cost above 2x the 7-day median ({len(spikes)})" + (":" if spikes else ": none")]
    out += [f"  {s.line()}" for s in spikes]
    out += ["", f"runaway tasks ({len(runaways)})" + (":" if runaways else ": none")]
    out += [f"  {r.day} {r.task_id} agent {r.agent_id}: {r.steps} steps, ${r.cost_usd:,.2f} (workflow median "
            f"{r.norm_steps:g} steps, ${r.norm_usd:,.2f})" for r in runaways[:20]]
    out += ["", f"step changes ({len(changes)})" + (":" if changes else ": none")]
    out += [f"  {c.line()}" for c in changes]
    out += ["", f"actuals outside the 95% forecast interval ({len(outliers)})" + (":" if outliers else ": none")]
    out += [f"  {o.line()}" for o in outliers]
    if len(top):
        out += ["", f"top agent identities, week of {top.week_start.iloc[0]}:"]
        rows = [[r.agent_id, r.workflows, usd(r.cost_usd), usd(r.prev_cost_usd), usd(r.change_usd),
                 "new" if r.change_pct != r.change_pct else f"{r.change_pct:+.0%}"] for r in top.itertuples()]
        out += table(["agent_id", "workflows", "cost USD", "prev week USD", "change USD", "change"], rows)
    return "\n".join(out) + "\n"


def run(args, book) -> tuple[str, int]:
    """Dispatch a budgets subcommand; returns (output, exit status)."""
    return budgets(args) if args.command == "budgets" else anomalies(args)
