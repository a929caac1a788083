"""Budget status and anomaly scans: the library calls behind `forecast budgets`, `forecast anomalies` and the
monthly report, with typed results whose `to_dict()` is the JSON those commands print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..core.errors import ParameterError
from ..core.months import month_bounds
from ..core.results import html_table
from . import anomalies as an
from . import shifts
from .burn import HISTORY_DAYS, Alert, Burn, data_days, envelope_burn, unmatched_warning
from .documents import anomalies_doc, burn_doc, exceedance_doc
from .envelopes import BudgetFile, load_budgets
from .guardrails import Exceedance, check_guardrail
from .projection import auto_projection, forecast_projection, run_rate_projection
from .thresholds import SPIKE_FACTOR, SPIKE_MIN_EXCESS_USD, SPIKE_WINDOW_DAYS

PROJECTORS = {"auto": auto_projection, "run-rate": run_rate_projection, "forecast": forecast_projection}


@dataclass(frozen=True)
class BudgetStatus:
    """Every envelope's burn in a month through `as_of` (USD, projected month-end with P10-P90 and breach
    probability, alerts), the guardrails exceeded, and warnings (an envelope that matches no request)."""

    month: date
    as_of: date
    budgets_file: str | None
    burns: tuple[Burn, ...]
    exceedances: tuple[Exceedance, ...]
    warnings: tuple[str, ...] = ()

    @property
    def alerts(self) -> list[Alert]:
        """The envelopes' alerts, then one per guardrail exceedance."""
        return [a for b in self.burns for a in b.alerts] + [x.alert() for x in self.exceedances]

    @property
    def pages(self) -> bool:
        """True when an alert's action is hard_stop: `forecast budgets` exits 1."""
        return any(a.pages for a in self.alerts)

    def to_dict(self) -> dict:
        """The document `forecast budgets --format json` prints."""
        return {"month": f"{self.month:%Y-%m}", "as_of": self.as_of.isoformat(), "budgets_file": self.budgets_file,
                "envelopes": [burn_doc(b) for b in self.burns],
                "guardrails": [exceedance_doc(x) for x in self.exceedances], "pages": self.pages,
                "warnings": list(self.warnings)}

    def rows(self) -> list[dict]:
        out = []
        for b in self.burns:
            lo, hi = b.projected_interval_usd(0.8)
            out.append({"month": f"{b.month:%Y-%m}", "envelope": b.envelope.name,
                        "cap_usd": b.envelope.monthly_cap_usd, "spent_usd": b.burn_usd,
                        "projected_usd": b.projected_usd, "p10_usd": lo, "p90_usd": hi,
                        "p_breach": b.breach_probability,
                        "breach": (f"breached {b.breached_on}" if b.breached_on else
                                   f"~{b.projected_breach_date}" if b.projected_breach_date else ""),
                        "action": b.action_fired})
        return out

    def to_frame(self):
        """One row per envelope: cap, spent and projected month-end USD (P50, P10, P90), P(breach), breach date,
        and the action fired: the envelope's action on a breach, "warn" when only earlier alerts fired, else ""."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def _repr_html_(self) -> str:
        return html_table(f"Budgets for {self.month:%Y-%m} through {self.as_of}", self.rows(),
                          [("PAGE " if a.pages else "") + a.line() for a in self.alerts]
                          + [f"warning: {w}" for w in self.warnings])


def budget_status(wh, budgets: str | Path | BudgetFile, month: date, as_of: date | None = None,
                  method: str = "auto") -> BudgetStatus:
    """Each envelope of `budgets` (a budget YAML file or a loaded one) in `month`, counting spend through the end
    of UTC day `as_of` (default: the newest day in the warehouse, capped at the month's last day); `method` is
    the month-end projection: auto, run-rate or forecast.

    >>> import shutil, tempfile
    >>> from forecast.usage.warehouse import Warehouse
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text(
    ...     "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id\\n"
    ...     "2026-10-01T09:00:00Z,a,openai,gpt-4o-mini,1000,500,30,research\\n"
    ...     "2026-10-10T09:00:00Z,b,openai,gpt-4o-mini,1000,500,30,research\\n")
    >>> _ = (folder / "budgets.yaml").write_text(
    ...     "budgets:\\n  - {name: research, owner: lab, match: {team_id: research}, monthly_cap_usd: 100}\\n")
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     _ = wh.load(folder / "calls.csv")
    ...     status = budget_status(wh, folder / "budgets.yaml", date(2026, 10, 1), method="run-rate")
    >>> burn = status.burns[0]
    >>> burn.burn_usd, burn.as_of  # $30 + $30 by hand, through the newest day
    (60.0, datetime.date(2026, 10, 10))
    >>> round(burn.projected_usd, 2)  # run rate $6 a day over 31 days
    186.0
    >>> [a.line() for a in status.alerts][:1]
    ['research: projected month-end $186.00 >= 100.0% of $100.00 -> warn']
    >>> shutil.rmtree(folder)
    """
    doc = load_budgets(budgets) if isinstance(budgets, str | Path) else budgets
    first, last = month_bounds(month)
    newest = check_month_in_data(first, last, data_days(wh))
    as_of = as_of or min(newest, last)
    if not first - timedelta(days=1) <= as_of <= last:
        raise ParameterError("as_of", as_of, f"must lie in {first:%Y-%m} (or be the day before it)")
    if method not in PROJECTORS:
        raise ParameterError("method", repr(method), f"must be one of {', '.join(PROJECTORS)}")
    burns = tuple(envelope_burn(wh, env, first, as_of, PROJECTORS[method], doc.alert_breach_probability)
                  for env in doc.budgets)
    exceed = tuple(x for g in doc.guardrails for x in check_guardrail(wh, g, first, as_of))
    since = as_of - timedelta(days=HISTORY_DAYS - 1)
    warnings = tuple(w for env in doc.budgets if (w := unmatched_warning(wh, env, since, as_of)))
    source = str(budgets) if isinstance(budgets, str | Path) else getattr(doc, "source", None)
    return BudgetStatus(first, as_of, source, burns, exceed, warnings)


def check_month_in_data(first: date, last: date, span: tuple[date, date] | None) -> date:
    """The newest day of data, once the month first..last is known to lie in it: it must end on or after the
    oldest day and start no later than the day after the newest (the month after the data is projected from its
    eve, as the monthly report's next month is). Raises ParameterError("month") otherwise."""
    if span is None:
        raise ParameterError("month", f"{first:%Y-%m}", "outside the data: the warehouse holds no requests; "
                             "load usage first (forecast ingest)")
    oldest, newest = span
    if last < oldest or first - timedelta(days=1) > newest:
        raise ParameterError("month", f"{first:%Y-%m}", f"outside the data: the warehouse holds {oldest:%Y-%m} to "
                             f"{newest:%Y-%m} (requests from {oldest} to {newest}); give a month in that range or "
                             "load that month's usage first")
    return newest


@dataclass(frozen=True)
class Anomalies:
    """What the detectors found over UTC days since..until: spend spikes, runaway tasks, step changes in
    per-task cost or tokens, actuals outside the forecast interval, and the last full week's top agents by cost."""

    since: date
    until: date
    spikes: tuple[an.Spike, ...]
    runaway_tasks: tuple[an.RunawayTask, ...]
    step_changes: tuple[shifts.StepChange, ...]
    forecast_outliers: tuple[shifts.Outlier, ...]
    top_agents: object  # last full week (Mon-Sun) to until: week_start, agent_id, workflows, cost_usd, ...

    @property
    def found(self) -> bool:
        """True when any detector fired (`forecast anomalies` exits 1)."""
        return bool(self.spikes or self.runaway_tasks or self.step_changes or self.forecast_outliers)

    def lines(self) -> list[str]:
        """One line per finding, in detector order."""
        return [x.line() for group in (self.spikes, self.runaway_tasks, self.step_changes, self.forecast_outliers)
                for x in group]

    def to_dict(self) -> dict:
        """The document `forecast anomalies --format json` prints."""
        return anomalies_doc(self.since, self.until, list(self.spikes), list(self.runaway_tasks),
                             list(self.step_changes), list(self.forecast_outliers), self.top_agents)

    def to_frame(self):
        """One row per finding: its detector and its line."""
        import pandas as pd

        kinds = (("spike", self.spikes), ("runaway task", self.runaway_tasks), ("step change", self.step_changes),
                 ("forecast miss", self.forecast_outliers))
        return pd.DataFrame([{"detector": k, "finding": x.line()} for k, group in kinds for x in group],
                            columns=["detector", "finding"])

    def _repr_html_(self) -> str:
        return html_table(f"Anomalies {self.since} .. {self.until}", self.to_frame().to_dict("records"))


def find_anomalies(wh, since: date, until: date, spike_factor: float = SPIKE_FACTOR,
                   min_excess_usd: float = SPIKE_MIN_EXCESS_USD, method: str = "auto") -> Anomalies:
    """Run every detector over UTC days since..until: a day is a spike above `spike_factor` x its 7-day median
    and at least `min_excess_usd` USD above it; `method` projects the forecast the outlier check uses.

    >>> import shutil, tempfile
    >>> from forecast.usage.warehouse import Warehouse
    >>> folder = Path(tempfile.mkdtemp())
    >>> rows = [f"2026-10-{d:02d}T09:00:00Z,r{d},openai,gpt-4o-mini,1000,500,{40 if d == 20 else 4},bot-{d % 2}"
    ...         for d in range(1, 22)]  # $4 a day, and $40 on the 20th
    >>> _ = (folder / "calls.csv").write_text(
    ...     "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,agent_id\\n" + "\\n".join(rows))
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     _ = wh.load(folder / "calls.csv")
    ...     found = find_anomalies(wh, date(2026, 10, 15), date(2026, 10, 21), method="run-rate")
    >>> [(s.day, s.entity, s.cost_usd) for s in found.spikes if s.dimension == "agent_id"]
    [(datetime.date(2026, 10, 20), 'bot-0', 40.0)]
    >>> shutil.rmtree(folder)
    """
    if method not in PROJECTORS:
        raise ParameterError("method", repr(method), f"must be one of {', '.join(PROJECTORS)}")
    if since > until:
        raise ParameterError("since", since, f"must not be after {{until}} {until}", mentions=("until",))
    spikes = tuple(s for by in ("agent_id", "workflow_name")
                   for s in an.spikes(wh, by, since, until, spike_factor, SPIKE_WINDOW_DAYS, min_excess_usd))
    changes = tuple(c for m in shifts.METRICS for c in shifts.step_changes(wh, since, until, metric=m))
    outliers = tuple(shifts.forecast_outliers(wh, since, until, min_excess_usd=min_excess_usd,
                                              projector=PROJECTORS[method]))
    return Anomalies(since, until, spikes, tuple(an.runaway_tasks(wh, since, until)), changes, outliers,
                     an.weekly_top_agents(wh, an.last_complete_week(until)))
