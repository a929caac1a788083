"""The sections of the monthly and self-hosting reports: each returns its parts (Markdown text, then styled tables
and charts) for the notebook to show with `show`, so what a report says is reached by tests, not only by a run."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .. import charts
from ..core.formatting import change, dollars, html_frame, md_text, money, number, pct, signed_pct
from ..core.formatting import md_usd as usd
from ..core.months import month_start
from ..usage.series import COVERAGE_TARGET

signed = partial(usd, sign=True)
whole_change = partial(money, cents=False, sign=True)


def yes_no(value) -> str:
    return "n/a" if value is None or value != value else "yes" if value else "no"


LEVEL_WORDS = {"team_id": "team", "workflow_name": "workflow", "feature_id": "feature", "cost_center": "cost centre",
               "environment": "environment", "intent": "intent", "total": "total"}


def level_name(level: str) -> str:
    """A forecast hierarchy level as a reader says it.

    >>> level_name("team_id/workflow_name"), level_name("total")
    ('team / workflow', 'total')
    """
    return " / ".join(LEVEL_WORDS.get(part, part) for part in str(level).split("/"))


def left_align_text(styler):
    """Text columns of a Styler left-aligned (numbers stay right-aligned)."""
    from pandas.api.types import is_numeric_dtype

    text = [c for c in styler.data.columns if not is_numeric_dtype(styler.data[c])]
    return styler.set_properties(subset=text, **{"text-align": "left"}) if text else styler


def show(parts) -> None:
    """Display each part in the notebook: text as Markdown, a styled table with its text left-aligned, anything
    else (a chart) as it is."""
    from IPython.display import Markdown, display
    from pandas.io.formats.style import Styler

    for part in parts:
        display(Markdown(part) if isinstance(part, str) else left_align_text(part) if isinstance(part, Styler)
                else part)


def prepare_kernel() -> None:
    """Set a report's kernel up: charts as inline SVG (no script from a CDN), and every displayed table also
    captured for the report's workbook (workbook.capture_tables)."""
    from .workbook import capture_tables

    charts.use_offline_renderer()
    capture_tables()


def headlines(report, horizon: int) -> list:
    """The monthly report at a glance: the month's spend against the month before, against last month's forecast
    and against the budgets; the forecast ahead with its interval; the teams forecast to pass their cap."""
    m, prev = report.month, month_start(report.month, -1)
    now, before = report.total_usd(m), report.total_usd(prev)
    rows = [(f"Spend in {m:%B %Y}", dollars(now), f"{signed_pct(now / before - 1 if before else None)} against "
                                                  f"{prev:%B} ({dollars(before)})")]
    lf = report.last_forecast
    if lf is not None:
        t = lf[lf["unique_id"] == "total"].iloc[0]
        inside = "inside" if t.get("inside_80") else "outside"
        made = " (made afterwards from the data before the month)" if report.last_forecast_backfilled else ""
        rows.append((f"Last month's forecast of {m:%B}{made}", dollars(t["forecast"]),
                     f"actual {whole_change(t['error'])} ({signed_pct(t['pct_error'])} of the actual), {inside} its "
                     f"80% interval {dollars(t['lo_80'])} to {dollars(t['hi_80'])}"))
    if report.budgets is not None:
        frame = report.budgets.to_frame()
        capped = frame[frame["cap_usd"] > 0] if "cap_usd" in frame.columns else frame.iloc[0:0]
        if len(capped):  # a budget file of guardrails alone has no envelope with a cap
            used = (capped["spent_usd"] / capped["cap_usd"]).sort_values(ascending=False)
            top = capped.loc[used.index[0]]
            alerts = len({a.source for a in report.budgets.alerts} & set(capped["envelope"]))
            rows.append(("Budgets this month", f"{alerts} of {len(capped)} envelopes alerting",
                         f"highest: {top['envelope']} at {pct(used.iloc[0])} of {dollars(top['cap_usd'])}"))
    totals = report.forecast_totals(horizon)
    year = totals[totals["unique_id"] == "total"].iloc[0]
    rows.append((f"Next {horizon} months", dollars(year["total_usd"]),
                 f"80% interval {dollars(year['total_usd-lo-80'])} to {dollars(year['total_usd-hi-80'])}"))
    ty = report.team_year()
    passing = ty[ty["months_over_cap"].fillna(0) > 0].sort_values("first_month_over_cap")
    rows.append(("Teams forecast over their monthly cap", number(len(passing)),
                 "; ".join(f"{r.team} from {pd.Timestamp(r.first_month_over_cap):%B %Y}" for r in passing.itertuples())
                 or f"none in the next {horizon} months"))
    table = html_frame(pd.DataFrame(rows, columns=["figure", "value", "against"])).style.hide(
        axis="index").set_properties(subset=["figure", "against"], **{"text-align": "left"})
    return [f"## At a glance: {m:%B %Y}", "Logged cost at list price, as the rest of the report; the detail follows "
                                          "below.", table]


def notes(texts) -> list:
    """Notes quoted, one paragraph each (nothing when there are none; empty ones are skipped).

    >>> notes(["price file <a>"])
    ['> price file &lt;a&gt;']
    >>> notes([None, ""])
    []
    """
    texts = [t for t in texts if t]
    return ["\n\n".join(f"> {md_text(n)}" for n in texts)] if texts else []


def report_prices(prices: str = "", price_date: str = ""):
    """A report's price parameters read: (the PriceBook of `prices`, an override YAML path, "" for the default
    or "none"; the day prices apply on, `price_date` as YYYY-MM-DD, "" for today in UTC).

    >>> book, on = report_prices("none", "2026-11-01")
    >>> str(on), book.note is None
    ('2026-11-01', True)
    >>> report_prices("none", "1 Nov")
    Traceback (most recent call last):
    ...
    forecast.core.errors.ParameterError: price_date '1 Nov': must be a date as YYYY-MM-DD, or empty for today
    """
    from datetime import UTC, date, datetime

    from ..core.errors import ParameterError
    from ..design.prices import price_book

    try:
        on = date.fromisoformat(price_date) if price_date else datetime.now(UTC).date()
    except ValueError:
        raise ParameterError("price_date", repr(price_date),
                             "must be a date as YYYY-MM-DD, or empty for today") from None
    return price_book(prices or None), on


def listed(text: str) -> list[str] | None:
    """The names of a comma-separated parameter, None when it names none.

    >>> listed(" openai:gpt-4o, anthropic:claude-haiku-4-5 ,"), listed("")
    (['openai:gpt-4o', 'anthropic:claude-haiku-4-5'], None)
    """
    return [n.strip() for n in text.split(",") if n.strip()] or None


def reconciliation(report) -> list:
    """The logs against the invoice per provider, with the gaps flagged."""
    rec = report.reconciliation
    if rec is None or not (rec.frame["charges"] > 0).any():
        return ["No invoice (FOCUS) rows for this month: load the providers' FOCUS exports with "
                "`forecast ingest` to reconcile the logs against them."]
    flagged = rec.lines()
    verdict = ("\n".join(f"- **gap**: {md_text(line)}" for line in flagged) if flagged else
               f"Every provider's invoice matches the logs within {rec.threshold:.0%}.")
    shown = rec.frame[["provider", "requests", "logged_usd", "list_usd", "discount_usd", "credits_usd",
                       "adjustments_usd", "tax_usd", "billed_usd", "unexplained_usd", "quarantined_rows"]]
    total = shown.drop(columns="provider").sum().to_frame().T.assign(provider="total")
    shown = pd.concat([shown, total], ignore_index=True)
    shown["unexplained_pct"] = shown["unexplained_usd"] / shown["logged_usd"].where(shown["logged_usd"] != 0)
    names = {"logged_usd": "logged", "list_usd": "usage at list", "discount_usd": "discount", "credits_usd": "credits",
             "adjustments_usd": "adjustments", "tax_usd": "tax", "billed_usd": "billed",
             "unexplained_usd": "unexplained", "unexplained_pct": "of logged", "quarantined_rows": "quarantined"}
    formats = {name: money for name in ("logged", "usage at list", "discount", "credits", "adjustments", "tax",
                                         "billed")}
    table = html_frame(shown).rename(columns=names).style.hide(axis="index").format(
        {"requests": number, **formats, "unexplained": change, "of logged": signed_pct, "quarantined": number},
        na_rep="n/a")
    return [verdict, "billed = usage at list price − discount + credits + adjustments + tax; unexplained = usage at "
                     "list price − logged; quarantined: log rows of the month that ingest held back.", table]


def coverage(report) -> list:
    """Tag coverage: production spend, the teams below the target, and the table by team."""
    env, team, low = report.coverage_by_environment, report.coverage_by_team, report.teams_below_coverage()
    prod = env[env["environment"] == "production"]
    msg = [f"Production spend coverage: **{prod['spend_coverage'].iloc[0]:.1%}**." if len(prod) else
           "No production-tagged spend this month."]
    msg.append(f"Below {COVERAGE_TARGET:.0%}: " + ", ".join(
        f"{md_text(r.team_id)} ({r.spend_coverage:.0%} of {usd(r.cost_usd)})" for r in low.itertuples()) + "."
        if len(low) else f"Every team is at {COVERAGE_TARGET:.0%} or more.")
    table = html_frame(team[["team_id", "requests", "cost_usd", "request_coverage", "spend_coverage"]]).rename(columns={
        "team_id": "team", "cost_usd": "spend", "request_coverage": "requests fully tagged",
        "spend_coverage": "spend fully tagged"}).style.hide(axis="index").format(
        {"requests": number, "spend": money, "requests fully tagged": pct, "spend fully tagged": pct},
        na_rep="n/a")
    return [" ".join(msg), table]


def forecast(report, horizon: int) -> list:
    """Actual and forecast charts (total, by team) and the next months' totals per node with their intervals."""
    act, fc_ = report.actuals, report.forecast
    recent = act[act["ds"] >= pd.Timestamp(month_start(report.month, -23))]
    parts = [charts.history_and_forecast(recent[recent["level"] == "total"], fc_[fc_["level"] == "total"],
                                         "Total AI spend: actual and forecast"),
             charts.history_and_forecast(recent[recent["level"] == "team_id"], fc_[fc_["level"] == "team_id"],
                                         "By team: actual and forecast", color="unique_id")]
    n = min(horizon, 12)
    weak_ids = set(report.weak_forecasts()["unique_id"])
    table = report.forecast_totals(n).assign(
        weak=lambda f: f["unique_id"].map(lambda u: "⚠ MASE > 1" if u in weak_ids else ""))
    names = {"level": "level", "unique_id": "series", "total_usd": f"{n}-month forecast (USD)",
             "total_usd-lo-80": "80% low", "total_usd-hi-80": "80% high", "total_usd-lo-95": "95% low",
             "total_usd-hi-95": "95% high", "weak": "backtest"}
    table = table.assign(level=table["level"].map(level_name))
    styled = html_frame(table[list(names)]).rename(columns=names).style.hide(axis="index").format(
        {name: dollars for key, name in names.items() if key.startswith("total_usd")})
    return [*parts, f"Next {n} months per node: the total of the monthly forecasts and the 80% and 95% intervals of "
                    "that total (from how each node's monthly intervals widen; not sums of monthly bounds). "
                    "⚠ marks a node whose backtest errors were larger than its history's typical movement (MASE "
                    "above 1).", styled]


def adjustments(report, horizon: int) -> list:
    """The months read as something else (runaway days, one-off spikes) and what that did to the forecasts."""
    adj = report.adjustments
    if adj.empty:
        return ["No month of history was adjusted: no runaway days or one-off spikes were found."]
    months = html_frame(adj.assign(ds=pd.to_datetime(adj["ds"]).dt.strftime("%Y-%m"))).rename(columns={
        "unique_id": "series", "ds": "month", "actual": "actual", "adjusted": "read as"}).style.hide(
        axis="index").format({"actual": dollars, "read as": dollars}).set_properties(
        subset=["reason"], **{"text-align": "left"})
    n = min(horizon, 12)
    effect = html_frame(report.adjustment_effect(n)).rename(columns={
        "unique_id": "series", "next_usd": "next month", "total_usd": f"{n} months", "total_lo_80_usd": "80% low",
        "total_hi_80_usd": "80% high", "next_unadjusted_usd": "next month, unadjusted",
        "total_unadjusted_usd": f"{n} months, unadjusted", "total_unadjusted_lo_80_usd": "80% low, unadjusted",
        "total_unadjusted_hi_80_usd": "80% high, unadjusted"})
    effect = effect.style.hide(axis="index").format(dollars, subset=[c for c in effect.columns if c != "series"])
    return [months, f"Each affected series forecast on its own (before reconciliation): next month and the next {n} "
                    "months' total with its 80% interval, from the adjusted history and from the actual one. Before "
                    "reconciliation, so the totals differ slightly from the reconciled figures above; where the "
                    "newest month was not adjusted, a naive forecast keeps its point and the adjustment narrows "
                    "its interval.", effect]


def team_year(report, horizon: int) -> list:
    """Each team's year: actual to date, forecast rest of year, against 12 x its monthly cap."""
    ty = report.team_year()
    over = ty[ty["full_year_vs_budget_usd"].fillna(0) > 0]
    passing = ty[ty["months_over_cap"].fillna(0) > 0]
    lines = ["Over 12 x their monthly cap for the year on this forecast: " + ", ".join(
        f"{md_text(r.team)} ({usd(r.full_year_vs_budget_usd)} over)" for r in over.itertuples()) + "." if len(over)
        else "No team with a budget is forecast over 12 x its monthly cap for the year."]
    lines += [f"{md_text(r.team)}'s forecast passes its monthly cap of {usd(r.monthly_cap_usd)} from "
              f"{pd.Timestamp(r.first_month_over_cap):%B %Y}, in {int(r.months_over_cap)} of the next {horizon} months."
              for r in passing.itertuples()]
    if ty["forecast_rest_usd"].isna().any():
        lines.append("A blank rest of year: the team is too new to forecast, or the horizon ends before December.")
    frame = html_frame(ty.drop(columns=["months_over_cap"])).rename(columns={
        "actual_ytd_usd": "actual YTD", "forecast_rest_usd": "forecast rest of year",
        "forecast_rest_lo_80_usd": "80% low", "forecast_rest_hi_80_usd": "80% high", "full_year_usd": "full year",
        "monthly_cap_usd": "monthly cap", "budget_usd": "12 x monthly cap",
        "full_year_vs_budget_usd": "full year - 12 x cap", "first_month_over_cap": "forecast over the cap from"})
    amounts = [c for c in frame.columns if c not in ("team", "forecast over the cap from", "full year - 12 x cap")]
    table = frame.style.hide(axis="index").format(dollars, na_rep="", subset=amounts).format(
        whole_change, subset=["full year - 12 x cap"], na_rep="").format(
        lambda d: f"{d:%Y-%m}" if d is not None and d == d else "", subset=["forecast over the cap from"])
    return ["\n\n".join(lines), table]


def bridge(report) -> list:
    """What moved the spend from last month: the largest effect, the waterfall and the table by segment."""
    b = report.bridge
    m, prev = report.month, month_start(report.month, -1)
    total = b[b["segment"] == "(total)"].iloc[0]
    largest = max(["volume_usd", "mix_usd", "unit_consumption_usd", "token_mix_usd", "price_usd"],
                  key=lambda c: abs(total[c]))
    names = {"segment": "workflow/provider/model", "spend_before_usd": f"{prev:%B}", "spend_after_usd": f"{m:%B}",
             "change_usd": "change", "volume_usd": "volume", "mix_usd": "mix",
             "unit_consumption_usd": "tokens per task", "token_mix_usd": "token mix", "price_usd": "price"}
    table = html_frame(b[list(names)]).rename(columns=names).style.hide(axis="index").format(
        {names[c]: (money if c.startswith("spend") else change) for c in names if c.endswith("_usd")})
    return [f"Spend moved by {signed(total['change_usd'])}; the largest effect is "
            f"**{largest.removesuffix('_usd').replace('_', ' ')}** ({signed(total[largest])}).",
            charts.bridge_waterfall(b), table]


def accuracy(report) -> list:
    """Backtest accuracy per series, and how last month's forecast of this month did."""
    sel, m = report.selection, report.month
    cols = [c for c in ["unique_id", "model", "n_obs", "mase", "smape", "coverage-80", "coverage-95",
                        "short_history"] if c in sel.columns]
    parts = [f"Median backtest MASE across {len(sel)} series: {sel['mase'].median():.2f}; "
             f"80% bands held the actual {sel['coverage-80'].mean():.0%} of the time in backtest." if "mase" in sel
             else "No series is long enough for a backtest yet, so no accuracy can be scored: read these "
                  "forecasts as a naive projection of a short history."]
    if report.last_forecast is not None:
        lf = report.last_forecast
        parts.append(f"Last month's forecast of {m:%B}: {int(lf['inside_80'].fillna(False).sum())} of {len(lf)} "
                     "series inside their 80% interval.")
        parts.append(html_frame(lf[["unique_id", "model", "forecast", "lo_80", "hi_80", "actual", "error",
                                    "inside_80"]]).rename(columns={
            "unique_id": "series", "lo_80": "80% low", "hi_80": "80% high", "inside_80": "inside 80%"}).style.hide(
            axis="index").format({"forecast": dollars, "80% low": dollars, "80% high": dollars, "actual": dollars,
                                  "error": whole_change, "inside 80%": yes_no}))
    parts.append(html_frame(sel[cols]).rename(columns={
        "unique_id": "series", "n_obs": "months", "mase": "MASE", "smape": "sMAPE %", "coverage-80": "80% held",
        "coverage-95": "95% held", "short_history": "short history"}
    ).style.hide(axis="index").format({"MASE": "{:.2f}", "sMAPE %": "{:.1f}", "80% held": pct, "95% held": pct,
                                       "short history": yes_no}, na_rep="n/a"))
    return parts


def budgets(report) -> list:
    """Budget alerts this month and next, their warnings, and every envelope's projection."""
    if report.budgets is None:
        return ["No budget file given."]
    statuses = [report.budgets, report.budgets_next]
    alerts = [("PAGE " if a.pages else "") + md_text(a.line()) for s in statuses for a in s.alerts]
    parts = ["\n".join(f"- {a}" for a in alerts) if alerts else "No budget alert fires."]
    parts += notes(list(dict.fromkeys(w for s in statuses for w in s.warnings)))
    frame = pd.concat([s.to_frame() for s in statuses], ignore_index=True).rename(columns={
        "cap_usd": "cap", "spent_usd": "spent", "projected_usd": "month-end P50", "p10_usd": "P10", "p90_usd": "P90",
        "p_breach": "P(breach)", "action": "action fired"})
    parts.append(html_frame(frame).style.hide(axis="index").format(
        {"cap": dollars, "spent": dollars, "month-end P50": dollars, "P10": dollars, "P90": dollars,
         "P(breach)": pct}, na_rep=""))
    return parts


def unit_costs(report) -> list:
    """Cost per task by workflow over time, the workflows without task ids, and this month's unit costs."""
    uc = report.unit_costs.assign(month=lambda f: pd.to_datetime(f["month"]))
    parts = [charts.trend_lines(uc, "month", "cost_per_task_usd", "workflow_name", "Cost per task by workflow (USD)")]
    latest = uc[uc["month"] == uc["month"].max()]
    untracked = sorted(set(report.bridge["segment"].str.split("/").str[0]) - set(uc["workflow_name"]) - {"(total)"})
    if untracked:
        parts.append("No task ids are logged for " + ", ".join(map(md_text, untracked)) + " (usage exports or calls "
                     "without a `task_id`), so they have no cost per task: log `task_id` and `outcome` to measure it.")
    parts.append(html_frame(latest[["workflow_name", "tasks", "calls_per_task", "input_tokens_per_task",
                                    "output_tokens_per_task", "cost_per_task_usd", "cost_per_success_usd"]]).rename(
        columns={"workflow_name": "workflow", "calls_per_task": "calls per task",
                 "input_tokens_per_task": "input tokens per task", "output_tokens_per_task": "output tokens per task",
                 "cost_per_task_usd": "cost per task", "cost_per_success_usd": "cost per successful task"}
    ).style.hide(axis="index").format(
        {"tasks": number, "calls per task": "{:.2f}", "input tokens per task": number,
         "output tokens per task": number, "cost per task": money, "cost per successful task": money},
        na_rep="n/a"))
    return parts


def break_even(sizing) -> list:
    """Self-hosting against each API: when it is cheaper, in a sentence per API and a table."""
    doc = sizing.to_dict()
    be = sizing.break_even_frame()
    if be.empty:
        return ["No API price to compare with: " + md_text("; ".join(doc["break_even_skipped"]))]
    lines = []
    for r in be.itertuples():
        when = ("is never cheaper, at any volume" if not np.isfinite(r.break_even_tokens_per_month)
                else f"is cheaper from {number(r.break_even_tokens_per_month)} tokens a month")
        lines.append(f"Against **{md_text(r.api)}** ({usd(r.api_usd_per_mtok)} per million tokens, "
                     f"{usd(r.api_monthly_usd)} a month at this volume), self-hosting {when}.")
    names = {"api": "API", "api_usd_per_mtok": "API per million tokens", "api_monthly_usd": "API a month",
             "self_hosted_floor_usd_per_mtok": "self-hosted floor per million tokens",
             "break_even_tokens_per_month": "break-even (tokens a month)",
             "always_cheaper_from_tokens_per_month": "always cheaper from (tokens a month)"}
    table = html_frame(be[list(names)]).rename(columns=names).style.hide(axis="index").format(
        {"API per million tokens": money, "API a month": dollars, "self-hosted floor per million tokens": money,
         "break-even (tokens a month)": number, "always cheaper from (tokens a month)": number})
    return ["\n\n".join(lines), table]


def anomalies(report) -> list:
    """The detectors' findings, and the top agent identities by cost in the last full week."""
    found, top = report.anomalies, report.anomalies.top_agents
    lines = found.lines()
    table = html_frame(top.drop(columns="week_start")).rename(columns={
        "agent_id": "agent", "cost_usd": "cost", "prev_cost_usd": "week before", "change_usd": "change",
        "change_pct": "change %"}).style.hide(axis="index").format(
        {"cost": money, "week before": money, "change": change, "change %": signed_pct}, na_rep="new")
    return [f"{len(found.spikes)} spike(s), {len(found.runaway_tasks)} runaway task(s), "
            f"{len(found.step_changes)} step change(s), {len(found.forecast_outliers)} forecast miss(es)."
            + ("\n\n" + "\n".join(f"- {md_text(line)}" for line in lines[:30]) if lines else ""),
            f"Top agent identities by cost in the last full week, from Monday {top['week_start'].iloc[0]}:"
            if len(top) else "No agent identity spent in the last full week.", table]


def design_vs_production(report) -> list:
    """Each workflow with a spec in the working folder: its design against the month's logs, the cost gap by
    parameter, and the parameters outside the design's range (usage.drift)."""
    if not report.design:
        return ["No workflow spec in the working folder's `workflows/` matches a workflow logged this month "
                "(a spec's `name` against the logs' `workflow_name`): put a workflow's spec there to compare its "
                "design with production.", *notes(report.design_notes)]
    parts = []
    for d in report.design:
        c, gap = d.cost_per_task, d.cost_per_task["observed"] - d.cost_per_task["designed"]
        top = max(d.per_task_shares, key=lambda g: abs(d.per_task_shares[g]))
        parts.append(f"### {md_text(d.workflow)}")
        parts.append(f"{d.tasks:,} logged tasks. The design prices a task's model calls at {usd(c['designed'])}; "
                     f"with the observed parameters {usd(c['observed'])}; the logs show {usd(c['actual'])}. "
                     f"Of the {signed(gap)} gap, **{md_text(top)}** accounts for {signed(d.per_task_shares[top])}.")
        shares = pd.DataFrame([{"group": g, "usd_task": v, "usd_month": d.per_month_shares.get(g)}
                               for g, v in sorted(d.per_task_shares.items(), key=lambda kv: -abs(kv[1]))]
                              + [{"group": "tasks per month", "usd_task": None,
                                  "usd_month": d.per_month_shares.get("tasks per month")}])
        parts.append(html_frame(shares).rename(columns={"group": "parameter group", "usd_task": "per task",
                                                         "usd_month": "per month"}).style.hide(axis="index").format(
            {"per task": change, "per month": change}, na_rep=""))
        outside = [p for p in d.parameters if p.outside]
        if outside:
            parts.append(html_frame(pd.DataFrame([{"parameter": p.parameter, "designed": p.designed,
                                                   "observed": p.observed, "n": p.n} for p in outside])).style.hide(
                axis="index").format({"n": number}))
        parts += notes(d.notes)
    return [*parts, *notes(report.design_notes)]
