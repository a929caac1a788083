"""Altair chart builders shared by notebooks, reports and the what-if panel.

Every builder takes plain frames or the documents the library returns and gives an altair chart;
`use_offline_renderer()` makes notebooks emit charts as SVG so reports open with no network.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

USD = "$,.2f"
USD0 = "$,.0f"


def use_offline_renderer() -> None:
    """Render charts as inline SVG (vl-convert) instead of JavaScript that loads Vega from a CDN."""
    alt.renderers.enable("svg")
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


def fan_chart(frame: pd.DataFrame, x: str, mid: str, lo: str, hi: str, title: str,
              y_title: str = "USD", actual: str | None = None) -> alt.LayerChart:
    """A band from `lo` to `hi`, a line for `mid` and, when given, points for `actual`."""
    base = alt.Chart(frame, title=title).encode(x=alt.X(f"{x}:T", title=None))
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
    return fan_chart(frame, "month", "p50", "p10", "p90", "Monthly cost: P10-P90 band, P50 line")


def bars(frame: pd.DataFrame, x: str, y: str, title: str, fmt: str = USD0, color: str | None = None) -> alt.Chart:
    """Horizontal bars of `x` (a quantity) by `y` (a label), largest first."""
    enc = {"x": alt.X(f"{x}:Q", title=None, axis=alt.Axis(format=fmt)), "y": alt.Y(f"{y}:N", sort="-x", title=None),
           "tooltip": [y, alt.Tooltip(f"{x}:Q", format=fmt)]}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame, title=title).mark_bar().encode(**enc).properties(width=480, height=alt.Step(22))
