"""Budget and anomaly results as JSON-ready documents (what `--format json` prints)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from .anomalies import RunawayTask, Spike, last_complete_week
from .burn import Alert, Burn
from .guardrails import Exceedance
from .shifts import Outlier, StepChange


def _alert_doc(a: Alert) -> dict:
    return {**asdict(a), "day": a.day.isoformat() if a.day else None, "breach": a.breach, "pages": a.pages,
            "outcome": a.outcome, "message": a.line()}


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
            "alerts": [_alert_doc(a) for a in b.alerts], "alert_breach_probability": b.alert_breach_probability,
            "action_fired": b.action_fired or None,
            "projection_spike_days": [d.isoformat() for d in b.projection.spike_days]}


def exceedance_doc(x: Exceedance) -> dict:
    return {**asdict(x), "day": x.day.isoformat()}


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
            "weekly_top_agents_week_start": last_complete_week(until).isoformat(),
            "weekly_top_agents": [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
                                  for r in top.to_dict("records")]}
