"""The what-if panel's read-only views: amounts as text, the figures, finance and comparison tables as HTML, and
the charts as inline SVG. Everything a user or a file named is escaped here."""

from __future__ import annotations

import html
import math

from ..core.formatting import pct


def usd_text(x) -> str:
    """'$1,234.56'; below $1 four significant digits, never in exponent form; 'n/a' for None.

    >>> [usd_text(x) for x in (1234.561, 0.01403, 0.00045, -4.199e-05, 0.5, 0)]
    ['$1,234.56', '$0.01403', '$0.00045', '-$0.00004199', '$0.5', '$0']
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) < 1:
        digits = 3 - math.floor(math.log10(abs(x))) if x else 0
        text = f"{abs(x):.{digits}f}".rstrip("0").rstrip(".") or "0"
        return f"-${text}" if x < 0 else f"${text}"
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def figures_html(result) -> str:
    """The headline figures as an HTML table (classes name each figure for tests and styling)."""
    f = result.figures
    ratio = f.get("ai_to_human_cost_ratio")
    rows = [
        ("monthly cost, expected", "month-expected", usd_text(f["month_usd_expected"])),
        ("monthly cost P10 / P50 / P90", "month-range",
         " / ".join(f"<span class='whatif-month-{p}'>{usd_text(f[f'month_usd_{p}'])}</span>"
                    for p in ("p10", "p50", "p90"))),
        ("cost per task", "task", usd_text(f["task_usd_expected"])),
        ("cost per successful outcome", "outcome", usd_text(f["outcome_usd_expected"])),
        ("tasks per month", "tasks", f"{f['tasks_per_month_expected']:,.0f}"),
        ("human cost per task", "human", usd_text(f["human_usd_per_task"])),
        ("model and tool cost / human cost, per outcome", "ratio", pct(ratio)),
    ]
    if f.get("serving") == "self_hosted":
        rows.append(("serving", "serving", f"{html.escape(f['serving_label'])}: {f['gpu_count']:g} GPUs at "
                                           f"{usd_text(f['gpu_usd_per_hour'])}/GPU-hour"))
    body = "".join(f"<tr><td>{label}</td><td class='whatif-{cls}'>{value}</td></tr>" for label, cls, value in rows)
    return f"<table class='whatif-figures'>{body}</table>"


def finance_html(finance: dict | None) -> str:
    if finance is None:
        return ("<small>NPV and payback: start the panel from a business case (cases/*.yaml of a working folder: "
                "forecast init)</small>")
    payback = "not within the horizon" if finance["payback_month"] is None else \
        f"month {finance['payback_month']} ({finance['payback_label']})"
    return (f"<table class='whatif-figures'><tr><td>NPV ({finance['discount_rate_annual']:.0%}/yr, "
            f"{finance['horizon_months']} months)</td><td class='whatif-npv'>{usd_text(finance['npv_usd'])}</td></tr>"
            f"<tr><td>payback</td><td class='whatif-payback'>{payback}</td></tr></table>")


def messages_html(problems: list[str]) -> str:
    """One red line per problem, escaped.

    >>> messages_html(["a.yaml: <b>bad</b>"])
    "<div class='whatif-msg'>a.yaml: &lt;b&gt;bad&lt;/b&gt;</div>"
    """
    return "".join(f"<div class='whatif-msg'>{html.escape(p)}</div>" for p in problems)


def _figure_text(figure: str, value, difference: bool = False) -> str:
    if value is None:
        return "" if difference else "not within the horizon" if figure.startswith("payback") else "n/a"
    if figure.startswith("payback"):
        return f"{value:+d} months" if difference else f"month {value}"
    text = usd_text(value)
    return ("+" + text if value >= 0 else text) if difference else text


def scenarios_html(names: list[str], rows: list[dict]) -> str:
    """Scenarios side by side: one column each, each cell with its difference from the first column below it."""
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = ""
    for row in rows:
        cells = [f"<td>{_figure_text(row['figure'], row['values'][0])}</td>"]
        cells += [f"<td>{_figure_text(row['figure'], v)}<br><small>{_figure_text(row['figure'], d, True)}</small></td>"
                  for v, d in zip(row["values"][1:], row["minus_first"][1:], strict=True)]
        body += f"<tr><td>{html.escape(row['figure'])}</td>{''.join(cells)}</tr>"
    return (f"<table class='whatif-compare whatif-scenarios'><tr><th></th>{head}</tr>{body}</table>"
            f"<small>below each figure: its difference from {html.escape(names[0])}</small>")


def charts_svg(result) -> tuple[str, str, str]:
    """Inline SVG of the cost per task by step, the monthly cost fan (P10-P90 band, P50 line) and, for a business
    case, its monthly net and cumulative cash ("" without a case). With self-hosted serving the first two are
    notes instead: both are drawn from API prices per token, which a GPU fleet does not pay."""
    import vl_convert as vlc

    from .. import charts

    cash = vlc.vegalite_to_svg(charts.monthly_cash_flow(result.finance["monthly"]).to_dict()) if result.finance else ""
    if result.figures.get("serving") == "self_hosted":
        note = ("<small class='whatif-note'>{} not drawn for self-hosted serving: the model calls are a GPU fleet's "
                "hours, not per-token prices (its monthly P10 / P50 / P90 are in the figures)</small>")
        return note.format("Cost by step"), note.format("The monthly cost fan"), cash
    return (vlc.vegalite_to_svg(charts.cost_by_step(result.doc).to_dict()),
            vlc.vegalite_to_svg(charts.projection_fan(result.doc).to_dict()), cash)
