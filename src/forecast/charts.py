"""Altair chart builders shared by notebooks, reports and the what-if panel.

Every builder takes plain frames or the documents the library returns and gives an altair chart;
`use_offline_renderer()` makes notebooks emit charts as SVG so reports open with no network.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .core.formatting import field_label

USD = "$,.2f"
USD0 = "$,.0f"


def _svg_and_png(spec: dict, **options) -> dict:
    """The chart as SVG and as PNG, both drawn here by vl-convert. HTML reports show the SVG; JupyterLab shows
    SVG only in a trusted notebook and falls back to the PNG in one it did not run itself (a report)."""
    import vl_convert as vlc

    return {"image/svg+xml": vlc.vegalite_to_svg(spec), "image/png": vlc.vegalite_to_png(spec, scale=2)}


def use_offline_renderer() -> None:
    """Render charts as inline SVG with a PNG fallback (vl-convert) instead of JavaScript that loads Vega from a
    CDN."""
    alt.renderers.register("forecast-offline", _svg_and_png)
    alt.renderers.enable("forecast-offline")
    alt.data_transformers.disable_max_rows()


def cost_by_step(doc: dict) -> alt.Chart:
    """Horizontal bars of expected USD per task by step and model, from an estimate document."""
    frame = pd.DataFrame(doc["steps"])
    frame["label"] = frame["step"] + " · " + frame["model"].astype(str)
    return alt.Chart(frame, title="Expected cost per task by step").mark_bar().encode(
        x=alt.X("usd_per_task:Q", title="USD per task", axis=alt.Axis(format="$,.4f")),
        y=alt.Y("label:N", sort="-x", title=None),
        color=alt.Color("kind:N", title="kind"),
        tooltip=["step", "model", alt.Tooltip("usd_per_task:Q", format="$,.5f"),
                 alt.Tooltip("share_of_cost:Q", format=".1%")],
    ).properties(width=480, height=alt.Step(22))


MONTH_AXIS = alt.Axis(format="%b %Y", labelAngle=0)  # months with their year: 'Dec 2026'
# token volumes as people say them: 10M, 100M, 1B, 1T (never 1e+12)
TOKENS_LABEL = ("datum.value >= 1e12 ? format(datum.value / 1e12, ',~r') + 'T' : datum.value >= 1e9 ? "
                "format(datum.value / 1e9, ',~r') + 'B' : datum.value >= 1e6 ? format(datum.value / 1e6, ',~r') + 'M' "
                ": format(datum.value, ',~r')")
LEGEND = alt.Legend(labelLimit=0, orient="bottom", columns=1)  # labels in full, under the chart


def fan_chart(frame: pd.DataFrame, x: str, mid: str, lo: str, hi: str, title: str,
              y_title: str = "USD", actual: str | None = None) -> alt.LayerChart:
    """A band from `lo` to `hi`, a line for `mid` and, when given, points for `actual`."""
    base = alt.Chart(frame, title=title).encode(x=alt.X(f"{x}:T", title="month", axis=MONTH_AXIS))
    layers = [
        base.mark_area(opacity=0.25).encode(y=alt.Y(f"{lo}:Q", title=y_title, axis=alt.Axis(format=USD0)),
                                             y2=f"{hi}:Q"),
        base.mark_line().encode(y=f"{mid}:Q"),
    ]
    if actual is not None:
        layers.append(base.mark_line(color="black", strokeDash=[4, 2]).encode(y=f"{actual}:Q"))
    return alt.layer(*layers).properties(width=560, height=240)


def projection_fan(doc: dict) -> alt.LayerChart:
    """Monthly cost P10-P90 band and P50 line from an estimate document's projection."""
    frame = pd.DataFrame(doc["projection"])
    frame["month"] = pd.to_datetime(frame["month"])
    return fan_chart(frame, "month", "p50", "p10", "p90", "Monthly cost (USD): P10-P90 band, P50 line",
                     y_title="USD per month")


def bars(frame: pd.DataFrame, x: str, y: str, title: str, fmt: str = USD0, color: str | None = None) -> alt.Chart:
    """Horizontal bars of `x` (a quantity) by `y` (a label), largest first."""
    enc = {"x": alt.X(f"{x}:Q", title=None, axis=alt.Axis(format=fmt)), "y": alt.Y(f"{y}:N", sort="-x", title=None),
           "tooltip": [y, alt.Tooltip(f"{x}:Q", format=fmt)]}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame, title=title).mark_bar().encode(**enc).properties(width=480, height=alt.Step(22))


def cash_flow(monthly: list[dict]) -> alt.LayerChart:
    """Monthly net cash as bars and cumulative cash as a line, from a ROI result's `monthly` rows."""
    frame = pd.DataFrame(monthly)[["month", "net_usd", "cumulative_usd"]]
    last = int(frame["month"].max()) if len(frame) else 1
    base = alt.Chart(frame, title="Net cash per month (bars) and cumulative cash (line), USD").encode(
        x=alt.X("month:Q", title="months from the start of the case (0: the first build month)",
                scale=alt.Scale(domain=[0, last], nice=False)))
    net = base.mark_bar(opacity=0.6).encode(
        y=alt.Y("net_usd:Q", title="USD", axis=alt.Axis(format=USD0)),
        color=alt.condition("datum.net_usd >= 0", alt.value("#4c78a8"), alt.value("#e45756")))
    cumulative = base.mark_line(color="black").encode(y="cumulative_usd:Q")
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[3, 3]).encode(y="y:Q")
    return alt.layer(net, cumulative, zero).properties(width=560, height=260)


def tornado(rows: list[dict], top: int = 10) -> alt.Chart:
    """NPV with each driver at its low and high value, widest swing on top, from a ROI result's tornado."""
    frame = pd.DataFrame(rows).nlargest(top, "swing_usd")
    frame["driver"] = frame["driver"].map(field_label)
    base_npv = float(frame["npv_base_usd"].iloc[0])
    long = pd.concat([frame.assign(end="low", npv_usd=frame["npv_low_usd"]),
                      frame.assign(end="high", npv_usd=frame["npv_high_usd"])])
    return alt.Chart(long, title=f"NPV sensitivity (base {base_npv:,.0f} USD)").mark_bar().encode(
        x=alt.X("npv_usd:Q", title="NPV USD", axis=alt.Axis(format=USD0), scale=alt.Scale(zero=False)),
        x2=alt.X2(datum=base_npv),
        y=alt.Y("driver:N", sort=list(frame["driver"]), title=None),
        color=alt.Color("end:N", title="driver at", scale=alt.Scale(domain=["low", "high"])),
        tooltip=["driver", "end", alt.Tooltip("npv_usd:Q", format=USD0)],
    ).properties(width=480, height=alt.Step(20))


def monthly_cash_flow(rows: list[dict]) -> alt.LayerChart:
    """Bars of net cash per month (benefits - costs - tax) and a line of cumulative cash, from a
    business case's monthly rows ({'label', 'net_usd', 'cumulative_usd'}; label 'start' is month 0)."""
    frame = pd.DataFrame(rows)[["label", "net_usd", "cumulative_usd"]]
    frame["sign"] = frame["net_usd"].map(lambda v: "net inflow" if v >= 0 else "net outflow")
    x = alt.X("label:N", sort=None, title=None, axis=alt.Axis(labelAngle=-60))
    bars_ = alt.Chart(frame).mark_bar().encode(
        x=x, y=alt.Y("net_usd:Q", title="USD", axis=alt.Axis(format=USD0)),
        color=alt.Color("sign:N", title=None, scale=alt.Scale(domain=["net inflow", "net outflow"],
                                                               range=["#4c78a8", "#e45756"])),
        tooltip=["label", alt.Tooltip("net_usd:Q", format=USD0), alt.Tooltip("cumulative_usd:Q", format=USD0)])
    line = alt.Chart(frame).mark_line(color="black").encode(x=x, y="cumulative_usd:Q")
    return alt.layer(bars_, line, title="Monthly net cash (bars) and cumulative (line)").properties(
        width=560, height=240)


def cost_per_mtok_curve(frame: pd.DataFrame) -> alt.Chart:
    """USD per million tokens against monthly volume (log axis), one line per `option` (fleet or API)."""
    return alt.Chart(frame, title="Cost per million tokens against monthly volume").mark_line().encode(
        x=alt.X("tokens_per_month:Q", scale=alt.Scale(type="log"), title="tokens per month (input + output)",
                axis=alt.Axis(values=[10.0 ** k for k in range(3, 16)], labelExpr=TOKENS_LABEL)),
        y=alt.Y("usd_per_mtok:Q", scale=alt.Scale(type="log"), title="USD per million tokens",
                axis=alt.Axis(format="$,.2f")),
        color=alt.Color("option:N", title=None, legend=LEGEND),
        tooltip=["option", alt.Tooltip("tokens_per_month:Q", format=",.0f"),
                 alt.Tooltip("usd_per_mtok:Q", format="$,.3f")],
    ).properties(width=520, height=280)


def history_and_forecast(actuals: pd.DataFrame, forecast: pd.DataFrame, title: str, level: int = 80,
                         color: str | None = None) -> alt.LayerChart:
    """Actual monthly spend (line) and forecast with its `level`% band, from long frames (ds, y / forecast);
    one colour per `color` value when given."""
    lo, hi = f"forecast-lo-{level}", f"forecast-hi-{level}"
    enc_color = {"color": alt.Color(f"{color}:N", title=None, legend=LEGEND)} if color else {}
    past = alt.Chart(actuals).mark_line(point=True).encode(
        x=alt.X("ds:T", title="month", axis=MONTH_AXIS), y=alt.Y("y:Q", title="USD per month",
                                                                 axis=alt.Axis(format=USD0)), **enc_color)
    band = alt.Chart(forecast).mark_area(opacity=0.2).encode(x="ds:T", y=f"{lo}:Q", y2=f"{hi}:Q", **enc_color)
    line = alt.Chart(forecast).mark_line(strokeDash=[5, 3]).encode(x="ds:T", y="forecast:Q", **enc_color)
    return alt.layer(past, band, line).properties(
        width=600, height=260, title=alt.TitleParams(title, subtitle=f"points: actual; dashed line: forecast; band: "
                                                                       f"{level}% interval"))


def bridge_waterfall(frame: pd.DataFrame) -> alt.LayerChart:
    """A waterfall from last month's spend to this month's: the bridge's total row, one floating bar per effect
    (volume, mix, tokens per task, token mix, price), USD."""
    total = frame[frame.iloc[:, 0] == "(total)"].iloc[0]
    steps = [("last month", total["spend_before_usd"], "total")]
    steps += [(label, total[f"{key}_usd"], "up" if total[f"{key}_usd"] >= 0 else "down")
              for key, label in (("volume", "volume"), ("mix", "mix"), ("unit_consumption", "tokens per task"),
                                 ("token_mix", "token mix"), ("price", "price"))]
    levels = np.cumsum([value for _, value, _ in steps])
    lo, hi = float(min(levels.min(), total["spend_after_usd"])), float(max(levels.max(), total["spend_after_usd"]))
    pad = max(hi - lo, 0.02 * abs(hi)) * 0.5
    base = 0.0 if lo - pad <= 0 else float(f"{lo - pad:.2g}")  # the axis starts here: the effects stay visible
    rows, level = [], 0.0
    for label, value, kind in steps:
        start, end = (base, value) if kind == "total" else (level, level + value)
        level = value if kind == "total" else end
        rows.append({"step": label, "start": start, "end": end, "usd": value, "kind": kind})
    rows.append({"step": "this month", "start": base, "end": total["spend_after_usd"],
                 "usd": total["spend_after_usd"], "kind": "total"})
    data = pd.DataFrame(rows)
    x = alt.X("step:N", sort=list(data["step"]), title=None, axis=alt.Axis(labelAngle=0))
    title = "From last month's spend to this month's (USD" + (f"; the axis starts at ${base:,.0f})" if base else ")")
    bars = alt.Chart(data, title=title).mark_bar().encode(
        x=x, y=alt.Y("start:Q", title="USD", axis=alt.Axis(format=USD0),
                     scale=alt.Scale(zero=False, domain=[base, hi + pad])), y2="end:Q",
        color=alt.Color("kind:N", legend=None, scale=alt.Scale(domain=["total", "up", "down"],
                                                               range=["#4c78a8", "#e45756", "#54a24b"])),
        tooltip=["step", alt.Tooltip("usd:Q", format="$,.2f")])
    labels = bars.mark_text(dy=-6).encode(y="end:Q", text=alt.Text("usd:Q", format="$,.0f"))
    return alt.layer(bars, labels).properties(width=520, height=240)


def trend_lines(frame: pd.DataFrame, x: str, y: str, color: str, title: str, fmt: str = "$,.4f") -> alt.Chart:
    """One line per `color` value of `y` against the dates in `x`."""
    return alt.Chart(frame, title=title).mark_line(point=True).encode(
        x=alt.X(f"{x}:T", title="month", axis=MONTH_AXIS), y=alt.Y(f"{y}:Q", title=None, axis=alt.Axis(format=fmt)),
        color=alt.Color(f"{color}:N", title=None, legend=LEGEND),
        tooltip=[color, alt.Tooltip(f"{y}:Q", format=fmt)]).properties(width=600, height=240)
