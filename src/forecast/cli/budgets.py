"""The `forecast budgets` and `forecast anomalies` subcommands.

budgets: exit 0 when all is well, 1 when an envelope or guardrail whose action is hard_stop is breached
or projected to breach. anomalies: exit 0 when nothing was found, 1 when any detector fired.
"""

from __future__ import annotations

import os
from datetime import timedelta

from ..budgets.thresholds import PROJECTION_METHODS, SPIKE_FACTOR, SPIKE_MIN_EXCESS_USD
from ..core.errors import ForecastError
from ..core.formatting import signed_pct, to_json, usd
from ..core.workfolder import BUDGETS, budgets_file
from .argtypes import day as _day
from .argtypes import month as _month
from .argtypes import number
from .options import add_budgets_option, add_warehouse_option, read_warehouse
from .tables import table

COMMANDS = ("budgets", "anomalies")
WEBHOOK_ENV = "FORECAST_WEBHOOK_URL"
_positive = number(lambda v: 0 <= v < 1e12, "must be a number >= 0")

RUNAWAYS_SHOWN = 20  # the costliest runaway tasks listed; the count covers them all


def add_parsers(sub) -> None:
    """Register `budgets` and `anomalies` on an argparse subparsers object."""
    hook = {"action": "store_true", "help": f"also post the alerts to the webhook URL in ${WEBHOOK_ENV}"}
    p = sub.add_parser("budgets", help="burn, month-end projection, breach probability and alerts per envelope")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    add_budgets_option(p)
    add_warehouse_option(p)
    p.add_argument("--as-of", type=_day, metavar="DAY", default=None,
                   help="count spend through the end of this UTC day (default: the newest day in the warehouse, "
                        "capped at the month's last day)")
    p.add_argument("--method", choices=PROJECTION_METHODS, default="auto",
                   help="month-end projection: auto (forecast with 56+ days of history, else run-rate)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--webhook", **hook)

    p = sub.add_parser("anomalies", help="spend spikes, runaway tasks, step changes, forecast misses, top agents")
    p.add_argument("--since", type=_day, metavar="DAY", default=None,
                   help="first UTC day (default: 13 days before --until)")
    p.add_argument("--until", type=_day, metavar="DAY", default=None,
                   help="last UTC day (default: the newest in the warehouse)")
    add_warehouse_option(p)
    p.add_argument("--spike-factor", type=_positive, default=SPIKE_FACTOR,
                   help=f"x the 7-day median (default {SPIKE_FACTOR:g})")
    p.add_argument("--method", choices=PROJECTION_METHODS, default="auto",
                   help="forecast for the interval check: auto (forecaster with 56+ days of history, else run-rate)")
    p.add_argument("--min-excess-usd", type=_positive, default=SPIKE_MIN_EXCESS_USD,
                   help=f"ignore days within this many USD of their median (default {SPIKE_MIN_EXCESS_USD:g})")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--webhook", **hook)


def _webhook_url(args) -> str | None:
    """With --webhook, the URL in $FORECAST_WEBHOOK_URL, checked (budgets.webhook.check_url) before any work is
    done or anything sent: a bad one is a one-line error (exit 2) that names the variable and shows the URL
    redacted."""
    from ..budgets.webhook import check_url

    if not args.webhook:
        return None
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        raise ForecastError(f"--webhook: set {WEBHOOK_ENV} to the webhook URL (kept out of argv and logs)")
    return check_url(url, WEBHOOK_ENV)


def _post(url: str, title: str, lines: list[str], pages: bool) -> None:
    from ..budgets.webhook import post_json, slack_payload

    post_json(url, slack_payload(title, lines, pages))


def _status(args):
    from ..budgets.status import budget_status

    chosen = budgets_file(args.budgets)
    if chosen.path is None:
        raise ForecastError(f"--budgets: no {BUDGETS} in the current folder: give the budget file with --budgets FILE "
                            "(forecast init writes an example)")
    with read_warehouse(args.warehouse) as wh:
        return budget_status(wh, chosen.path, args.month, args.as_of, args.method)


def budgets(args) -> tuple[str, int]:
    url = _webhook_url(args)
    status = _status(args)
    status_code = 1 if status.pages else 0
    if url and status.alerts:
        _post(url, f"forecast budgets {status.month:%Y-%m} (through {status.as_of})", [a.line() for a in status.alerts],
              status.pages)
    if args.format == "json":
        return to_json(status.to_dict()) + "\n", status_code
    return budgets_table(list(status.burns), list(status.exceedances), warnings=status.warnings), status_code


def anomalies(args) -> tuple[str, int]:
    from ..budgets.burn import last_data_day
    from ..budgets.status import find_anomalies

    url = _webhook_url(args)
    with read_warehouse(args.warehouse) as wh:
        until = args.until or last_data_day(wh)
        if until is None:
            raise ForecastError(f"{args.warehouse}: no requests in the warehouse: load usage first")
        since = args.since or until - timedelta(days=13)
        found = find_anomalies(wh, since, until, args.spike_factor, args.min_excess_usd, args.method)
    if url and found.found:
        _post(url, f"forecast anomalies {since}..{until}", found.lines(), False)
    if args.format == "json":
        return to_json(found.to_dict()) + "\n", int(found.found)
    return anomalies_table(found), int(found.found)


def budgets_table(burns: list, exceedances: list, limit: int = 20, warnings=()) -> str:
    """The envelopes, alerts and guardrails exceeded as text; `warnings` close it as `warning: ...` lines. Shares
    show one decimal and never round up onto a threshold they did not reach (burn.share_pct)."""
    from ..budgets.burn import share_pct

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
        marks = (b.alert_breach_probability, 1.0) if b.alert_breach_probability else (1.0,)
        rows.append([b.envelope.name, b.envelope.type, usd(cap), usd(b.burn_usd),
                     share_pct(b.burn_usd / cap, b.envelope.thresholds) if cap else "n/a",
                     usd(b.run_rate_usd_per_day), f"{usd(b.projected_usd)} ({usd(lo)}-{usd(hi)})",
                     share_pct(b.breach_probability, marks), when, b.action_fired])
    if rows:
        out += table(["envelope", "type", "cap USD", "spent USD", "spent", "USD/day", "month-end P50 (P10-P90)",
                       "P(breach)", "breach date", "action"], rows)
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
    out += [""] * bool(warnings) + [f"warning: {w}" for w in warnings]
    return "\n".join(out) + "\n"


def anomalies_table(found) -> str:
    spikes, runaways, changes = found.spikes, found.runaway_tasks, found.step_changes
    outliers, top = found.forecast_outliers, found.top_agents
    out = [f"anomalies {found.since} .. {found.until} (UTC days)", ""]
    out += [f"daily cost above 2x the 7-day median ({len(spikes)})" + (":" if spikes else ": none")]
    out += [f"  {s.line()}" for s in spikes]
    shown = f", costliest {RUNAWAYS_SHOWN} shown" if len(runaways) > RUNAWAYS_SHOWN else ""
    out += ["", f"runaway tasks ({len(runaways)}{shown})" + (":" if runaways else ": none")]
    out += [f"  {r.day} {r.task_id} agent {r.agent_id}: {r.steps} steps, ${r.cost_usd:,.2f} (workflow median "
            f"{r.norm_steps:g} steps, ${r.norm_usd:,.2f})" for r in runaways[:RUNAWAYS_SHOWN]]
    out += ["", f"step changes ({len(changes)})" + (":" if changes else ": none")]
    out += [f"  {c.line()}" for c in changes]
    out += ["", f"days outside the 99% forecast interval, off by >= 50% of the expectation ({len(outliers)})"
            + (":" if outliers else ": none")]
    out += [f"  {o.line()}" for o in outliers]
    if len(top):
        out += ["", f"top agent identities, last full week, from Monday {top.week_start.iloc[0]}:"]
        rows = [[r.agent_id, r.workflows, usd(r.cost_usd), usd(r.prev_cost_usd), usd(r.change_usd),
                 "new" if r.change_pct != r.change_pct else signed_pct(r.change_pct)] for r in top.itertuples()]
        out += table(["agent_id", "workflows", "cost USD", "prev week USD", "change USD", "change"], rows)
    return "\n".join(out) + "\n"


def run(args) -> tuple[str, int]:
    """Dispatch a budgets subcommand; returns (output, exit status)."""
    return budgets(args) if args.command == "budgets" else anomalies(args)
