"""The reports' headline prose as Markdown, from the library's results: the notebooks display it, tests read it.

Every user-supplied string goes through md_text and every amount through md_usd (HTML-escaped, no LaTeX math in
JupyterLab).
"""

from __future__ import annotations

import pandas as pd

from ..core.formatting import md_text, number
from ..core.formatting import md_usd as usd
from ..core.formatting import signed_pct as pct
from ..core.months import month_start


def _signed(x) -> str:
    return usd(x, sign=True)


def monthly_headline(report, horizon: int) -> str:
    """The monthly report's opening section: the month's spend against the month before, the invoices, last
    month's forecast against the actual, the forecast ahead, weak forecasts, cap crossings, adjustments and
    series too new to forecast (USD, Markdown)."""
    m, prev = report.month, month_start(report.month, -1)
    now, before = report.total_usd(m), report.total_usd(prev)
    lines = [f"## {m:%B %Y} in detail",
             f"AI inference spend was **{usd(now)}** in {m:%B %Y}, {pct(now / before - 1 if before else None)} "
             f"against {usd(before)} in {prev:%B} (logged cost, at list price; forecasts below are too)."]
    rec = report.reconciliation
    if rec is not None and (rec.frame["charges"] > 0).any():
        invoiced = rec.frame[rec.frame["charges"] > 0]
        billed, logged = invoiced["billed_usd"].sum(), invoiced["logged_usd"].sum()
        lines.append(f"The providers' invoices for {m:%B} bill **{usd(billed)}** after discounts, credits and "
                     f"corrections ({_signed(billed - logged)} against the {usd(logged)} their logs show); see "
                     "*Reconciliation to the invoice*.")
    lf = report.last_forecast
    if lf is not None:
        t = lf[lf["unique_id"] == "total"].iloc[0]
        made = f"run {t['run_id']}, made {pd.Timestamp(t['created_at']):%Y-%m-%d}"
        how = (f"no run was saved before the month, so it was made afterwards from the data before it; {made}"
               if report.last_forecast_backfilled else made)
        inside = "inside" if t.get("inside_80") else "outside"
        side = "above" if t["error"] > 0 else "below"
        lines.append(f"Last month's forecast ({how}) said {usd(t['forecast'])} (80% interval {usd(t['lo_80'])} to "
                     f"{usd(t['hi_80'])}); the actual is {inside} it, {usd(abs(t['error']))} {side} the forecast "
                     f"({abs(t['pct_error']):.1%} of the actual).")
    nxt = report.next_month()
    totals = report.forecast_totals(horizon)
    year = totals[totals["unique_id"] == "total"].iloc[0]
    lines.append(f"Next month is forecast at **{usd(nxt['forecast'])}** (80% interval {usd(nxt['forecast-lo-80'])} "
                 f"to {usd(nxt['forecast-hi-80'])}); the next {horizon} months at **{usd(year['total_usd'])}** in "
                 f"all (80% interval {usd(year['total_usd-lo-80'])} to {usd(year['total_usd-hi-80'])}).")
    weak = report.weak_forecasts()
    if len(weak):
        lines.append(f"**{len(weak)} of {len(report.selection)} forecasts had backtest errors larger than their "
                     "series' typical movement** (MASE above 1: the errors averaged more than the history's change "
                     "from last year's same month, or from the month before where the history was a year or "
                     "shorter): " + ", ".join(f"{md_text(r.unique_id)} ({r.mase:.2f})" for r in weak.itertuples())
                     + ". Read their figures as rough and lean on their intervals.")
    ty = report.team_year()
    passing = ty[ty["months_over_cap"].fillna(0) > 0]
    if len(passing):
        lines.append("**Forecast to pass a team's monthly cap**: " + "; ".join(
            f"{md_text(r.team)} from {pd.Timestamp(r.first_month_over_cap):%B %Y} ({int(r.months_over_cap)} of "
            f"the next {horizon} months over {usd(r.monthly_cap_usd)})" for r in passing.itertuples()) + ".")
    adj = report.adjustments
    if len(adj):
        lines.append(f"**{len(adj)} month(s) of history were adjusted before forecasting** (one-off runaway days "
                     "or spikes; actual spend is unchanged): " + "; ".join(
                         f"{md_text(r.unique_id)} {pd.Timestamp(r.ds):%Y-%m} {usd(r.actual)} read as "
                         f"{usd(r.adjusted)}" for r in adj.itertuples()) + ". See *Adjusted before forecasting*.")
    if not report.too_new.empty:
        new = report.too_new.groupby("unique_id")["y"].agg(months="size", spent="sum").reset_index()
        lines.append("Too new to forecast (fewer months than the engine needs), left out of every level: "
                     + ", ".join(f"{md_text(r.unique_id)} ({r.months} month{'s' * (r.months > 1)}, "
                                 f"{usd(r.spent)} so far)" for r in new.itertuples()) + ".")
    return "\n\n".join(lines)


def estimate_summary(workflow, result) -> str:
    """The estimate report's opening: cost per task, per month and per successful outcome (USD, Markdown)."""
    doc = result.to_dict()
    t, m, o = result.per_task_usd, result.per_month_usd, result.per_successful_outcome_usd
    lines = [
        f"## {md_text(workflow.name)}",
        md_text(workflow.description),
        f"At prices of **{result.price_date}**, one task costs **{usd(t.expected)}** on average "
        f"(P10 {usd(t.p10)}, P50 {usd(t.p50)}, P90 {usd(t.p90)}).",
        f"At {result.tasks_per_month.expected:,.0f} tasks a month, the first month costs **{usd(m.expected)}** "
        f"(P10 {usd(m.p10)} to P90 {usd(m.p90)}), of which {usd(doc['background_usd_per_month'])} is "
        "always-on background calls.",
        f"With a success rate of {doc['success_rate']:.0%}, each successful outcome costs **{usd(o.expected)}**.",
    ]
    if doc.get("ai_to_human_cost_ratio") is not None:
        lines.append("The human cost, what a person doing the same task costs, is "
                     f"{usd(doc['human_cost_usd_per_task'])} a task (the spec's `outcome.human_cost_usd_per_task`): "
                     "the AI costs "
                     f"**{doc['ai_to_human_cost_ratio']:.1%}** of that per successful outcome.")
    lines += [f"> warning: {md_text(w)}" for w in result.warnings]
    return "\n\n".join(lines)


def roi_summary(evaluation) -> str:
    """The ROI report's opening for the base scenario: NPV, IRR, payback, ROI, cost per outcome, break-even and
    the Monte Carlo spread (USD, Markdown)."""
    from ..core.formatting import payback_text
    from ..core.formatting import pct as share

    info, base = evaluation.to_dict()["case"], evaluation.result()
    s = base["summary"]
    lines = [
        f"## {md_text(info['name'])}",
        md_text(base["description"] or info["description"]),
        f"Over {info['horizon_months']} months from {info['start_month']} (build {info['build_months']} months, "
        f"API prices of {info['price_date']}, discount rate {info['discount_rate_annual']:.0%} a year), "
        f"scenario **{md_text(base['scenario'])}** has an NPV of **{usd(s['npv_usd'])}**, an IRR of "
        f"{share(s['irr_annual'])} a year, and pays back in **{payback_text(s['payback_month'])}**.",
        f"Benefits of {usd(s['total_benefit_usd'])} against costs of {usd(s['total_cost_usd'])}: an ROI of "
        f"{share(s['roi'])} before tax.",
        *([f"An IRR above 100% a year means the money at risk before the case pays back is small against what it "
           f"returns, and comes back fast (payback in {payback_text(s['payback_month'])}): read the NPV and the "
           "payback, not the IRR, to size the case."] if (s.get("irr_annual") or 0) > 1 else []),
        f"Each successful outcome costs {usd(s['cost_per_successful_outcome_usd'])} all-in "
        f"({usd(s['run_rate_cost_per_successful_outcome_usd'])} at the last month's run rate) against a human "
        f"cost of {usd(s['human_cost_per_outcome_usd'])}: what a person doing the same task costs (the minutes "
        "saved per task at the labour rate, or the case's human cost per task).",
    ]
    be = s.get("break_even") or {}
    if be.get("tasks_per_month"):
        lines.append("The case breaks even at " + ", ".join(f"{v:,.0f} tasks a month for {md_text(k)}"
                                                             for k, v in be["tasks_per_month"].items()) + ".")
    mc = base.get("monte_carlo")
    if mc:
        lines.append(f"Over {mc['scenarios']:,} Monte Carlo scenarios of the uncertain drivers, NPV is positive "
                     f"with probability **{mc['p_npv_positive']:.0%}** (P10 {usd(mc['npv_usd']['p10'])}, "
                     f"P50 {usd(mc['npv_usd']['p50'])}, P90 {usd(mc['npv_usd']['p90'])}).")
    lines += [f"> warning: {md_text(w)}" for w in base["warnings"]]
    return "\n\n".join(lines)


def self_hosting_summary(sizing, precision: str, tokens_per_month: float, peak_to_average: float,
                         utilisation: float, pricing: str) -> str:
    """The self-hosting report's opening: memory, the engine preset, the layout, the fleet and its monthly cost
    (USD, Markdown); the arguments are the ones the fleet was sized with (`precision` as asked: 'best' or one)."""
    doc = sizing.to_dict()
    mem, fleet = doc["memory"], doc["fleet"]
    kind = pricing.replace("_", "-")  # on-demand, commit-1y
    e = doc["engine"]
    chosen = (f"{md_text(doc['precision'])} (the precision with the lowest GPU cost per token at scale)"
              if doc["precision_chosen"] == "cheapest" else md_text(doc["precision"]))
    layout = ("The layout asked for is" if doc["gpus_per_replica_given"]
              else "The layout that needs the fewest GPUs at this volume is")
    return "\n\n".join([
        f"## {md_text(doc['model'])} on {md_text(doc['gpu'])} at {chosen}",
        f"The weights take {mem['weights_gb']:.1f} GB; one {md_text(doc['gpu'])} has {mem['gpu_memory_gb']:.0f} GB. "
        f"Serving engine preset: **{md_text(e['name'])}** ({md_text(e['version'])}): at most {e['max_batch']:,} "
        f"sequences at once, KV cache at {md_text(doc['kv_precision'])}. {layout} "
        f"**{fleet['gpus_per_replica']} GPU(s) per replica**, which serves "
        f"{fleet['tokens_per_s_per_replica']:,.0f} tokens/s (input + output) at this request shape.",
        f"For {number(tokens_per_month)} tokens a month at a peak {peak_to_average:g}x the average and "
        f"{utilisation:.0%} target utilisation, the fleet needs **{fleet['replicas']:.0f} replica(s) = "
        f"{fleet['gpu_count']:.0f} GPUs** at {usd(fleet['gpu_usd_per_hour'])} per GPU-hour ({md_text(kind)}): "
        f"**{usd(fleet['monthly_usd'])} a month** always on ({usd(doc['autoscaled_monthly_usd'])} autoscaled to the "
        f"daily load), {usd(fleet['usd_per_mtok'])} per million tokens at the achieved utilisation of "
        f"{fleet['utilisation']:.1%}.",
        *_against_api(doc),
    ])


def _against_api(doc: dict) -> list[str]:
    """The self-hosting summary's comparison: the fleet's month against the cheapest API compared, and the volume
    from which self-hosting is cheaper (Markdown; nothing when no API was compared)."""
    if not doc["break_even"]:
        return []
    best = min(doc["break_even"], key=lambda b: b["api_monthly_usd"])
    volume = best["break_even_tokens_per_month"]
    when = ("self-hosting is never cheaper, at any volume" if volume == float("inf") else
            f"self-hosting is cheaper from {number(volume)} tokens a month")
    return [f"Against the cheapest API compared, **{md_text(best['api'])}** at {usd(best['api_monthly_usd'])} a month "
            f"for the same requests ({usd(best['api_usd_per_mtok'])} per million tokens): {when}."]


def self_hosted_fleets(doc: dict) -> str:
    """The ROI report's self-hosted serving: one sentence per scenario and workflow served on own GPUs (USD,
    Markdown), from an evaluate_case document.

    >>> self_hosted_fleets({"results": [{"scenario": "base", "workflows": [{"name": "w", "serving": "api"}]}]})
    'No scenario here serves a workflow on self-hosted GPUs.'
    """
    fleets = [(r["scenario"], w["name"], w["serving"]["self_hosted"]) for r in doc["results"] for w in r["workflows"]
              if isinstance(w.get("serving"), dict) and "self_hosted" in w["serving"]]
    if not fleets:
        return "No scenario here serves a workflow on self-hosted GPUs."
    return "\n\n".join(
        f"Scenario **{md_text(sc)}** serves {md_text(name)} on {f['gpu_count']:.0f} x {md_text(f['gpu'])} "
        f"({md_text(f['precision'])}, {md_text(f['pricing'].replace('_', '-'))}) "
        f"for {usd(f['monthly_usd'])} a month in its busiest month, {f['utilisation']:.1%} utilised, "
        f"{usd(f['usd_per_mtok'])} per million tokens." for sc, name, f in fleets)
