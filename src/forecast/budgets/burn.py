"""Burn to date, run-rate, month-end projection, probability and date of breach, and the alerts that fire."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..core.errors import ForecastError
from ..core.formatting import pct
from ..core.months import month_bounds
from ..usage.checks import q, utc_day
from ..usage.series import series
from ..usage.warehouse import Warehouse
from .envelopes import DEFAULT_ALERT_BREACH_PROBABILITY, Envelope
from .projection import Projection, Projector, auto_projection

HISTORY_DAYS = 182  # daily history handed to the projector


def share_pct(share: float | None, marks=()) -> str:
    """A share of a limit with one decimal, never rounded up onto one of `marks` (thresholds) it did not reach.

    >>> share_pct(0.7975), share_pct(0.7996, marks=(0.8, 1.0)), share_pct(0.8, marks=(0.8,)), share_pct(None)
    ('79.8%', '79.9%', '80.0%', 'n/a')
    """
    text = pct(share)
    if text != "n/a" and any(float(text[:-1]) / 100 >= m > share for m in marks):
        text = f"{math.floor(share * 1000) / 10:.1f}%"
    return text


@dataclass(frozen=True)
class Alert:
    """One threshold crossed. kind: actual | projected | projected_breach | daily | credit | guardrail.

    projected_breach: P(month-end >= the monthly cap) reached `probability_level` (the budget file's
    alert_breach_probability); `probability` is that chance, `day` the projected breach date at that level."""

    source: str  # envelope or guardrail name
    kind: str
    threshold: float  # share of the limit
    value_usd: float
    limit_usd: float
    action: str
    subject: str = ""  # identity, day or task the alert is about
    day: date | None = None
    probability: float | None = None  # projected_breach: P(month-end >= cap)
    probability_level: float | None = None  # projected_breach: the level it reached

    @property
    def breach(self) -> bool:
        """The limit reached (whatever thresholds the file lists), or a projected breach likely enough to alert."""
        return self.kind == "projected_breach" or self.value_usd >= self.limit_usd

    @property
    def pages(self) -> bool:
        """A hard cap breached or projected to breach: the case the CLI exits 1 on."""
        return self.breach and self.action == "hard_stop"

    @property
    def outcome(self) -> str:
        """What the alert calls for: the configured action on a breach (spend or its P50 projection at the limit, a
        projected breach, a guardrail); short of the limit an early warning, which names the action a breach takes.

        >>> from dataclasses import replace
        >>> early = Alert("team", "actual", 0.8, 80.0, 100.0, "require_approval")
        >>> early.outcome, replace(early, threshold=1.0, value_usd=100.0).outcome
        ('warn (require_approval at 100%)', 'require_approval')
        """
        if self.breach or self.action == "warn":
            return self.action
        return f"warn ({self.action} at 100%)"

    def line(self) -> str:
        if self.kind == "projected_breach":
            when = f", ~{self.day}" if self.day else ""
            return (f"{self.source}: projected breach of ${self.limit_usd:,.2f}: P(breach) "
                    f"{share_pct(self.probability, (1.0,))} >= {pct(self.probability_level)}{when} -> {self.outcome}")
        what = {"actual": "spent", "projected": "projected month-end", "daily": "spent on the day",
                "credit": "weekly credit used", "guardrail": "guardrail"}[self.kind]
        about = f" [{self.subject}]" if self.subject else ""
        return (f"{self.source}{about}: {what} ${self.value_usd:,.2f} >= {pct(self.threshold)} of "
                f"${self.limit_usd:,.2f} -> {self.outcome}")


@dataclass(frozen=True)
class CreditUse:
    identity: str
    week_start: date
    spent_usd: float
    credit_usd: float


@dataclass(frozen=True)
class Burn:
    """An envelope's month: spend to date (through the end of as_of, UTC) and the projection."""

    envelope: Envelope
    month: date
    as_of: date
    burn_usd: float
    days_elapsed: int
    days_in_month: int
    projection: Projection
    breach_probability: float | None
    breached_on: date | None
    projected_breach_date: date | None
    credits: tuple[CreditUse, ...]
    alerts: tuple[Alert, ...]
    alert_breach_probability: float | None = None  # the P(breach) that raises a projected_breach alert (monthly cap)

    @property
    def action_fired(self) -> str:
        """The envelope's action when a breach alert fired (the cap reached, actually or by the P50 projection, or a
        projected breach), "warn" when only alerts short of the cap did, else "" (nothing to enforce)."""
        if not self.alerts:
            return ""
        return self.envelope.action if any(a.breach for a in self.alerts) else "warn"

    @property
    def run_rate_usd_per_day(self) -> float:
        return self.burn_usd / self.days_elapsed if self.days_elapsed else 0.0

    @property
    def projected_usd(self) -> float:
        return self.burn_usd + self.projection.total_usd

    def projected_interval_usd(self, level: float = 0.8) -> tuple[float, float]:
        """Central interval of month-end spend under a normal approximation, floored at spend to date."""
        z = float(norm.ppf(0.5 + level / 2))
        sd = self.projection.total_sd_usd
        return max(self.burn_usd, self.projected_usd - z * sd), self.projected_usd + z * sd


def last_data_day(wh: Warehouse) -> date | None:
    """The UTC day of the newest request in the warehouse."""
    span = data_days(wh)
    return span[1] if span else None


def data_days(wh: Warehouse) -> tuple[date, date] | None:
    """The UTC days of the oldest and the newest request in the warehouse; None when it holds none."""
    day = utc_day(q("timestamp"))
    first, last = wh.sql(f"SELECT min({day}), max({day}) FROM requests").fetchall()[0]
    return (first, last) if first is not None else None


def match_text(match: dict[str, str]) -> str:
    """An envelope's match as `team_id=research, environment=production` ('everything' for {})."""
    return ", ".join(f"{k}={v}" for k, v in match.items()) or "everything"


def unmatched_warning(wh: Warehouse, env: Envelope, first: date, last: date) -> str | None:
    """A warning when no request matches `env` in the UTC days first..last, naming the tag values that match no
    request at all and the nearest values the warehouse holds (difflib; else the first few it holds); None when
    some request matches."""
    found = series(wh, freq="MS", metric="requests", where=dict(env.match), start=first,
                   end=last + timedelta(days=1))
    if found["y"].sum() > 0:
        return None
    clues = []
    for key, value in env.match.items():
        held = sorted(set(series(wh, by=[key], freq="MS", metric="requests")[key].astype(str)))
        if value not in held:
            near = difflib.get_close_matches(value, held, n=3)
            some = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
            clues.append(f"no request has {key}={value} " + (f"(nearest: {', '.join(near)})" if near else
                                                              f"(it holds {some})"))
    why = "; ".join(clues) or "each value occurs, but not together in those days"
    return f"{env.name}: match {match_text(dict(env.match))} finds no requests in {first}..{last}: {why}"


def daily_usd(wh: Warehouse, match: dict[str, str], first: date, last: date) -> pd.Series:
    """Spend per UTC day matching `match`, first..last inclusive, zero-filled (indexed by Timestamp)."""
    s = series(wh, freq="D", where=dict(match), start=first, end=last + timedelta(days=1))
    index = pd.date_range(first, last, freq="D")
    return s.groupby("ds")["y"].sum().reindex(index, fill_value=0.0).astype(float)


def breach_probability(burn_usd: float, cap_usd: float, remaining_usd: float, remaining_sd_usd: float) -> float:
    """P(month-end spend >= cap) with the remaining spend ~ Normal(remaining_usd, remaining_sd_usd)."""
    headroom = cap_usd - burn_usd
    if headroom <= 0:
        return 1.0
    if remaining_sd_usd <= 0:
        return float(remaining_usd >= headroom)
    return float(norm.sf(headroom, loc=remaining_usd, scale=remaining_sd_usd))


def first_crossing(start_usd: float, daily: np.ndarray, cap_usd: float, days) -> date | None:
    """The first day on which start + cumulative daily spend reaches the cap, or None."""
    hit = np.nonzero(start_usd + np.cumsum(daily) >= cap_usd)[0]
    return days[hit[0]] if hit.size else None


def breach_date_at_probability(burn_usd: float, cap_usd: float, projection: Projection,
                               probability: float) -> date | None:
    """The first remaining day on which spend to date plus the projection at its (1 - probability) quantile
    reaches the cap, or None. The sd of the spend through day j of n is j/n of the month's rest (errors
    persist); on the last day this is the month-end quantile, so a date exists exactly when
    P(breach) >= probability."""
    n = len(projection.days)
    if n == 0:
        return None
    spread = float(norm.isf(probability)) * projection.total_sd_usd * np.arange(1, n + 1) / n
    hit = np.nonzero(burn_usd + np.cumsum(projection.expected_usd) + spread >= cap_usd)[0]
    return projection.days[hit[0]] if hit.size else None


def breach_risk_alerts(env: Envelope, burn_usd: float, projection: Projection, probability: float,
                       level: float) -> list[Alert]:
    """A projected_breach alert when P(month-end >= cap) reaches `level` and spend to date has not reached the
    cap yet (then the actual alert says so)."""
    cap = env.monthly_cap_usd
    if cap is None or burn_usd >= cap or probability < level:
        return []
    return [Alert(env.name, "projected_breach", 1.0, burn_usd + projection.total_usd, cap, env.action,
                  day=breach_date_at_probability(burn_usd, cap, projection, level), probability=probability,
                  probability_level=level)]


def threshold_alerts(source: str, kind: str, value_usd: float, limit_usd: float, thresholds, action: str,
                     subject: str = "", day: date | None = None) -> list[Alert]:
    """The highest threshold crossed (one alert, not one per threshold below it)."""
    crossed = [t for t in thresholds if value_usd >= t * limit_usd]
    return [Alert(source, kind, crossed[-1], value_usd, limit_usd, action, subject, day)] if crossed else []


def envelope_burn(wh: Warehouse, env: Envelope, month: date, as_of: date,
                  projector: Projector = auto_projection,
                  alert_breach_probability: float = DEFAULT_ALERT_BREACH_PROBABILITY) -> Burn:
    """Burn, projection, breach probability and date, weekly credits and alerts of one envelope;
    alert_breach_probability is the budget file's level, which the envelope's own setting overrides."""
    first, last = month_bounds(month)
    if as_of < first - timedelta(days=1) or as_of > last:
        raise ForecastError(f"as_of {as_of}: must lie in {first:%Y-%m} (or be the day before it)")
    history = daily_usd(wh, env.match, as_of - timedelta(days=HISTORY_DAYS - 1), as_of)
    nonzero = np.flatnonzero(history.to_numpy() > 0)
    history = history.iloc[nonzero[0]:] if nonzero.size else history.iloc[0:0]
    in_month = history[history.index >= pd.Timestamp(first)]
    burn = float(in_month.sum())
    projection = projector(history, as_of, last)
    alerts: list[Alert] = []
    probability = breached_on = projected_date = level = None
    if env.monthly_cap_usd is not None:
        own = env.alert_breach_probability
        level = alert_breach_probability if own is None else own
        cap = env.monthly_cap_usd
        probability = breach_probability(burn, cap, projection.total_usd, projection.total_sd_usd)
        breached_on = first_crossing(0.0, in_month.to_numpy(), cap, [d.date() for d in in_month.index])
        if breached_on is None:
            projected_date = first_crossing(burn, projection.expected_usd, cap, projection.days)
        actual = threshold_alerts(env.name, "actual", burn, cap, env.thresholds, env.action)
        alerts += actual
        top = actual[0].threshold if actual else 0.0
        alerts += [a for a in threshold_alerts(env.name, "projected", burn + projection.total_usd, cap,
                                               env.thresholds, env.action) if a.threshold > top]
        alerts += breach_risk_alerts(env, burn, projection, probability, level)
    if env.daily_cap_usd is not None:
        for ts, usd in in_month.items():
            day = ts.date()
            thresholds = env.thresholds if day == as_of else (1.0,)
            alerts += threshold_alerts(env.name, "daily", usd, env.daily_cap_usd, thresholds, env.action,
                                       f"{day}", day)
    credits = weekly_credits(wh, env, as_of) if env.type == "exploration" else ()
    for c in credits:
        alerts += threshold_alerts(env.name, "credit", c.spent_usd, c.credit_usd, env.thresholds, env.action,
                                   c.identity, c.week_start)
    return Burn(env, first, as_of, burn, max((as_of - first).days + 1, 0), (last - first).days + 1, projection,
                probability, breached_on, projected_date, tuple(credits), tuple(alerts), level)


def weekly_credits(wh: Warehouse, env: Envelope, as_of: date) -> tuple[CreditUse, ...]:
    """Spend per identity (`env.per`, default agent_id) in the week (Monday 00:00 UTC) containing as_of, largest
    first."""
    week_start = as_of - timedelta(days=as_of.weekday())
    per = env.credit_identity
    s = series(wh, by=[per], freq="D", where=dict(env.match), start=week_start, end=as_of + timedelta(days=1))
    totals = s.groupby(per)["y"].sum().sort_values(ascending=False)
    return tuple(CreditUse(str(k), week_start, float(v), float(env.credit_usd_per_week))
                 for k, v in totals.items() if v > 0)
