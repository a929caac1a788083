"""Budget and anomaly reports: plain-text tables and JSON-ready documents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from ..render import _table, _usd
from .anomalies import RunawayTask, Spike
from .burn import Alert, Burn
from .guardrails import Exceedance
from .shifts import Outlier, StepChange


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _alert_doc(a: Alert) -> dict:
    return {**asdict(a), "day": a.day.isoformat() if a.day else None, "breach": a.breach, "pages": a.pages,
            "message": a.line()}


def burn_doc(b: Burn) -> dict:
    lo, hi = b.projected_interval_usd(0.8)
    e = b.envelope
    return {"name": e.name, "type": e.type, "owner": e.owner, "match": dict(e.match), "action": e.action,
            "monthly_cap_usd": e.monthly_cap_usd, "daily_cap_usd": e.daily_cap_usd,
            "credit_usd_per_week": e.credit_usd_per_week, "month": f"{b.month:%Y-%m}", "as_of": b.as_of.isoformat(),
            "days_elapsed": b.days_elapsed, "days_in_month": b.days_in_month, "burn_usd": b.burn_usd,
            "run_rate_usd_per_day": b.run_rate_usd_per_day, "projected_usd": b.projected_usd,
            "projected_p10_usd": lo, "projected_p90_usd": hi, "projection_method": b.projection.method,
            "breach_probability": b.breach_probability,
            "breached_on": b.breached_on.isoformat() if b.breached_on else None,
            "projected_breach_date": b.projected_breach_date.isoformat() if b.projected_breach_date else None,
            "credits": [{**asdict(c), "week_start": c.week_start.isoformat()} for c in b.credits],
            "alerts": [_alert_doc(a) for a in b.alerts]}


def exceedance_doc(x: Exceedance) -> dict:
    return {**asdict(x), "day": x.day.isoformat()}


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
        rows.append([b.envelope.name, b.envelope.type, _usd(cap), _usd(b.burn_usd),
                     _pct(b.burn_usd / cap) if cap else "n/a", _usd(b.run_rate_usd_per_day),
                     f"{_usd(b.projected_usd)} ({_usd(lo)}-{_usd(hi)})", _pct(b.breach_probability), when,
                     b.envelope.action])
    if rows:
        out += _table(["envelope", "type", "cap USD", "spent USD", "spent", "USD/day", "month-end P50 (P10-P90)",
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


def spike_doc(s: Spike) -> dict:
    return {"dimension": s.dimension, "entity": s.entity, "day": s.day.isoformat(), "cost_usd": s.cost_usd,
            "median_usd": s.median_usd, "day_context": asdict(s.day_context),
            "baseline_context": asdict(s.baseline_context), "changes": list(s.changes), "message": s.line()}


def anomalies_doc(since: date, until: date, spikes: list[Spike], runaways: list[RunawayTask],
                  changes: list[StepChange], outliers: list[Outlier], top) -> dict:
    def dated(obj) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(obj).items()}

    return {"since": since.isoformat(), "until": until.isoformat(), "spikes": [spike_doc(s) for s in spikes],
            "runaway_tasks": [dated(r) for r in runaways],
            "step_changes": [{**dated(c), "message": c.line()} for c in changes],
            "forecast_outliers": [{**dated(o), "message": o.line()} for o in outliers],
            "weekly_top_agents": [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
                                  for r in top.to_dict("records")]}


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
        rows = [[r.agent_id, r.workflows, _usd(r.cost_usd), _usd(r.prev_cost_usd), _usd(r.change_usd),
                 "new" if r.change_pct != r.change_pct else f"{r.change_pct:+.0%}"] for r in top.itertuples()]
        out += _table(["agent_id", "workflows", "cost USD", "prev week USD", "change USD", "change"], rows)
    return "\n".join(out) + "\n"
