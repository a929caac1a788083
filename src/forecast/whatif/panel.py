"""The what-if panel in ipywidgets: controls on the left, figures, charts, save and compare on the right.

All state and arithmetic live in `state.WhatIf`; this module only binds widgets to it. A control
with a bad value shows its message next to it and the figures keep the last good result; nothing
here lets an exception reach the page.
"""

from __future__ import annotations

import html
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as w

from .controls import AS_SPECIFIED, STEP, Controls, changed_controls
from .model_picker import ModelPicker, spec_models
from .scenario import save_scenario_in, scenario_file
from .state import WhatIf, scenario_rows
from .views import charts_svg, figures_html, finance_html, messages_html, scenarios_html, usd_text

LABEL = {"tasks_per_month": "tasks per month", "monthly_growth": "monthly growth",
         "loop_iterations": "loop iterations / task", "loop_max_steps": "loop cap (max steps)",
         "input_tokens_factor": "input tokens ×", "cache_hit_rate": "cache hit rate",
         "retry_rate": "retry rate", "model": "model (all calls)", "routed_share": "routed share",
         "success_rate": "success rate", "human_cost_usd_per_task": "human cost / task (USD)",
         "serving": "serving"}
STYLE = {"description_width": "170px"}
CSS = """<style>
.whatif-figures td, .whatif-compare td, .whatif-compare th {padding: 2px 10px; text-align: right}
.whatif-figures td:first-child, .whatif-compare td:first-child {text-align: left}
.whatif-msg {color: #b00020; font-size: 12px; line-height: 1.2}
.whatif-ok {color: #1b5e20}
.whatif-note {color: #555; font-size: 12px; line-height: 1.2}
</style>"""


def _slider(value, low, high, step, fmt=".2f"):
    """A slider over [low, high], widened to hold `value`: a slider clamps what it is given, and a spec value
    beyond its range would otherwise be moved without anyone touching it."""
    return w.FloatSlider(value=value, min=min(low, value), max=max(high, value), step=step, readout_format=fmt,
                         continuous_update=False,
                         style=STYLE, layout=w.Layout(width="420px"))


def _number_box(value):
    return w.FloatText(value=value, style=STYLE, layout=w.Layout(width="320px"))


def _control_widgets(state: WhatIf, c: Controls) -> dict[str, w.Widget]:
    out: dict[str, w.Widget] = {
        "tasks_per_month": _number_box(round(c.tasks_per_month, 2)),
        "monthly_growth": _slider(c.monthly_growth, -0.2, 0.5, STEP["monthly_growth"], ".3f"),
        "input_tokens_factor": _slider(c.input_tokens_factor, 0.25, 4.0, STEP["input_tokens_factor"]),
        "cache_hit_rate": _slider(c.cache_hit_rate, 0.0, 1.0, STEP["cache_hit_rate"]),
        "retry_rate": _slider(c.retry_rate, 0.0, 0.5, STEP["retry_rate"]),
        "model": ModelPicker(state.book, state.on, c.model, STYLE, spec_models(state.workflow)),
        "success_rate": _slider(c.success_rate, 0.0, 1.0, STEP["success_rate"]),
        "serving": w.Dropdown(options=[(label, key) for key, label in state.serving_options().items()],
                              value=c.serving, style=STYLE, layout=w.Layout(width="420px")),
    }
    if c.loop_iterations is not None:
        out["loop_iterations"] = _slider(c.loop_iterations, 0.0, max(50.0, 4 * c.loop_iterations),
                                         STEP["loop_iterations"], ".1f")
        out["loop_max_steps"] = w.IntText(value=c.loop_max_steps, style=STYLE, layout=w.Layout(width="320px"))
    if c.routed_share is not None:
        out["routed_share"] = _slider(c.routed_share, 0.0, 1.0, STEP["routed_share"])
    if c.human_cost_usd_per_task is not None:
        out["human_cost_usd_per_task"] = _number_box(c.human_cost_usd_per_task)
    for name, widget in out.items():
        widget.description = LABEL[name]
        widget.add_class(f"whatif-control-{name}")
    return out


class Panel:
    """The widget tree over one WhatIf; `panel.view` is what a notebook displays."""

    def __init__(self, state: WhatIf, save_dir: str | Path = "scenarios", charts: bool = True):
        self.state, self.save_dir, self.charts = state, Path(save_dir), charts
        initial = state.initial_controls
        self.initial = initial
        self.controls = _control_widgets(state, initial)
        self.messages = {name: w.HTML("", layout=w.Layout(width="360px")) for name in
                         [*(f.name for f in fields(Controls)), "general"]}
        for name, m in self.messages.items():
            m.add_class(f"whatif-msg-{name}")
        self.figures = w.HTML()
        self.figures.add_class("whatif-figures-box")
        self.stale = w.HTML()
        self.stale.add_class("whatif-stale")
        self.finance = w.HTML()
        self.cost_chart, self.month_chart, self.cash_chart = w.HTML(), w.HTML(), w.HTML()
        for chart, name in ((self.cost_chart, "steps"), (self.month_chart, "fan"), (self.cash_chart, "cash")):
            chart.add_class(f"whatif-chart-{name}")
        self.save_path = w.Text(value=str(self._default_save_name()), description="save as",
                                layout=w.Layout(width="420px"))
        self.save_path.add_class("whatif-save-path")
        self.save_button = w.Button(description="Save scenario", button_style="primary")
        self.save_button.add_class("whatif-save")
        self.save_status = w.HTML()
        self.save_status.add_class("whatif-save-status")
        self.pin_button = w.Button(description="Pin as scenario A")
        self.pin_button.add_class("whatif-pin")
        self.compare = w.HTML()
        self.compare.add_class("whatif-compare-box")
        self.saved = w.SelectMultiple(options=self.saved_scenarios(), rows=5, description="saved scenarios",
                                      style=STYLE, layout=w.Layout(width="420px"))
        self.saved.add_class("whatif-saved")
        self.compare_button = w.Button(description="Compare with the current figures",
                                       layout=w.Layout(width="auto"))
        self.compare_button.add_class("whatif-compare-saved")
        self.scenarios = w.HTML()
        self.scenarios.add_class("whatif-scenarios-box")
        self.compare_button.on_click(lambda _: self.compare_saved())
        self.save_button.on_click(lambda _: self.save())
        self.pin_button.on_click(lambda _: self.pin())
        self.notes = rate_notes(state.workflow)  # shown beside a control while it has no problem
        self._syncing, self._routed_share = False, None  # the routed share a model override has set aside
        self._comparing = False  # a comparison of saved scenarios is on show (and follows every update)
        self._evaluated: dict[tuple, object] = {}  # (file, mtime, serving) -> its Result: saved files do not move
        for widget in self.controls.values():
            widget.observe(lambda _change: None if self._syncing else self.refresh(), names="value")
        self.view = self._layout()
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def _default_save_name(self) -> str:
        """A file name in save_dir (the save box takes one file name, nothing with a folder in it)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"{self.state.workflow.name}-whatif-{stamp}.yaml"

    def _layout(self) -> w.Widget:
        s = self.state
        case = f"business case {s.case.case.name}: workflow " if s.case is not None else ""
        title = (f"{CSS}<h3 style='margin:4px 0'>What-if: {html.escape(case + s.workflow.name)}</h3>"
                 f"<div style='color:#555'>{html.escape(s.workflow.source)} · prices of {s.on.isoformat()} · "
                 f"{s.samples:,} Monte Carlo tasks, {s.scenarios:,} monthly scenarios, seed {s.seed}</div>")
        rows = [w.HBox([widget, self.messages[name]]) for name, widget in self.controls.items()]
        absent = [LABEL[n] for n in ("loop_iterations", "routed_share", "human_cost_usd_per_task")
                  if n not in self.controls]
        note = w.HTML(f"<small>not in this spec: {', '.join(absent)}</small>" if absent else "")
        left = w.VBox([w.HTML("<b>Inputs</b>"), *rows, note, self.messages["general"]],
                      layout=w.Layout(width="800px"))
        right = w.VBox([w.HTML("<b>Results</b>"), self.stale, self.figures, self.finance,
                        w.HBox([self.save_path, self.save_button]), self.save_status,
                        w.HBox([self.pin_button]), self.compare,
                        w.HBox([self.saved, self.compare_button]), self.scenarios])
        return w.VBox([w.HTML(title), w.HBox([left, right]), w.HBox([self.cost_chart, self.month_chart]),
                       self.cash_chart])

    def control_values(self) -> Controls:
        """The controls as the widgets hold them (spec values for controls the spec lacks)."""
        values = {f.name: getattr(self.initial, f.name) for f in fields(Controls)}
        for name, widget in self.controls.items():
            values[name] = widget.value
        return Controls(**values)

    def _sync_routed_share(self) -> None:
        """A model for all calls drops routing: the routed-share slider then shows 0, the share the computation uses,
        and is disabled; back to the spec's models, it gets its own value back."""
        slider = self.controls.get("routed_share")
        if slider is None:
            return
        override = self.controls["model"].value != AS_SPECIFIED
        if override == slider.disabled:
            return
        self._syncing = True
        try:
            if override:
                self._routed_share, slider.value = slider.value, 0.0
            else:
                slider.value = self._routed_share
            slider.disabled = override
        finally:
            self._syncing = False

    def refresh(self) -> None:
        """Recompute from the controls; show messages next to bad ones, else the new figures and charts."""
        self._sync_routed_share()
        try:
            result = self.state.update(self.control_values())
        except Exception as exc:  # never a traceback on the page
            self.state.problems = {"general": f"could not update ({type(exc).__name__}: {exc})"}
            result = self.state.last
        for name, m in self.messages.items():
            text = self.state.problems.get(name)
            note = self.notes.get(name)
            m.value = f"<span class='whatif-msg'>{html.escape(text)}</span>" if text else \
                f"<span class='whatif-note'>{html.escape(note)}</span>" if note else ""
        if "routed_share" in self.controls and self.controls["routed_share"].disabled:
            self.messages["routed_share"].value = ("<span class='whatif-note'>0: every call goes to the one model "
                                                   "chosen above (routing dropped)</span>")
        stale = bool(self.state.problems) and result is not None
        if stale:
            self.messages["general"].value += ("<span class='whatif-msg'>figures show the last good input; "
                                               "fix the marked control to update them</span>")
        self.stale.value = ("<span class='whatif-msg'>not up to date: a control has a bad value (see Inputs); "
                            "these are the last good figures</span>" if stale else "")
        if result is None or (self.state.problems and result is getattr(self, "_shown", None)):
            return
        self._shown = result
        self.figures.value = figures_html(result)
        self.finance.value = finance_html(result.finance)
        self.refresh_compare()
        if self._comparing:  # a comparison on show follows the current figures
            self._show_comparison()
        if self.charts:
            self._draw_charts(result)

    def _draw_charts(self, result) -> None:
        try:
            self.cost_chart.value, self.month_chart.value, self.cash_chart.value = charts_svg(result)
            if result.finance:
                self.month_chart.value += ("<br><small class='whatif-note'>the workflow at its own volume and growth, "
                                           "before the case's build months and adoption curve (those are in the "
                                           "cash chart below)</small>")
        except Exception as exc:
            self.cost_chart.value = f"<span class='whatif-msg'>charts unavailable: {html.escape(str(exc))}</span>"
            self.month_chart.value = self.cash_chart.value = ""  # never a chart of an earlier result

    def save(self) -> None:
        """Write the current scenario as a spec YAML file named by the save box, in save_dir and nowhere else."""
        result = self.state.last
        try:
            scenario_file(self.save_dir, self.save_path.value)  # a bad name: a message, nothing written
            if result is None:
                raise ValueError("no valid scenario to save yet")
            if self.state.problems:
                raise ValueError("a control has a bad value: fix it first (the figures are the last good ones)")
            moved = [f"{LABEL[name]} {self.control_text(name, old)} -> {self.control_text(name, new)}"
                     for name, old, new in changed_controls(self.initial, result.controls)]
            header = [f"What-if scenario of {self.state.workflow.source}, saved by `forecast whatif` "
                      f"on {datetime.now(UTC).date().isoformat()}",
                      f"controls changed from the spec: {'; '.join(moved) or 'none'}"]
            if result.controls.serving != "api":
                header.append(f"serving chosen in the panel (not part of a workflow spec): {result.controls.serving}")
            saved = save_scenario_in(result.workflow, self.save_dir, self.save_path.value, header)
        except Exception as exc:
            text = " ".join(getattr(exc, "problems", [str(exc)]))
            self.save_status.value = f"<span class='whatif-msg'>not saved: {html.escape(text)}</span>"
            return
        self.save_status.value = f"<span class='whatif-ok'>saved {html.escape(str(saved))}</span>"
        self.save_path.value = str(self._default_save_name())
        self._relist_saved()

    def saved_scenarios(self) -> list[str]:
        """The spec files in the save folder, newest first (none while the folder does not exist or cannot be
        read)."""
        try:
            files = [(p.stat().st_mtime, p.name) for p in self.save_dir.iterdir()
                     if p.suffix in (".yaml", ".yml") and p.is_file()]
        except OSError:
            return []
        return [name for _, name in sorted(files, key=lambda f: (-f[0], f[1]))]

    def _relist_saved(self) -> None:
        """Rescan the save folder, keeping the files still there selected."""
        listed = self.saved_scenarios()
        kept = tuple(n for n in self.saved.value if n in listed)
        self.saved.options = listed
        self.saved.value = kept

    def compare_saved(self) -> None:
        """The current figures beside each selected saved scenario (priced with the current serving), with each
        one's difference from the current; the comparison then follows every update until nothing is selected."""
        wanted = self.saved.value
        self._relist_saved()
        problems = [f"{n}: no longer in {self.save_dir}" for n in wanted if n not in self.saved.value]
        self._comparing = bool(self.saved.value)
        if not self._comparing or self.state.last is None:
            self.scenarios.value = "<small>pick one or more saved scenarios above</small>" + messages_html(problems)
            return
        self._show_comparison(problems)

    def _show_comparison(self, problems: list[str] = ()) -> None:
        """The comparison table of the selected files against the current figures (each file priced once per
        serving and modification time; the folder is not rescanned on each update)."""
        from ..design.specs import load_workflow

        problems = list(problems)
        serving = self.state.last.controls.serving
        names, results = ["now"], [self.state.last]
        for name in self.saved.value:
            try:
                path = scenario_file(self.save_dir, name)
                key = (name, path.stat().st_mtime_ns, serving)
                if key not in self._evaluated:
                    self._evaluated[key] = self.state.evaluate(load_workflow(path), serving)
                results.append(self._evaluated[key])
                names.append(name)
            except Exception as exc:  # a file edited by hand may no longer load: say so, compare the rest
                problems.append(f"{name}: {' '.join(getattr(exc, 'problems', [str(exc)]))}")
        note = "" if serving == "api" else \
            f"<small>every scenario served as now: {html.escape(self.control_text('serving', serving))}</small><br>"
        self.scenarios.value = (note + scenarios_html(names, scenario_rows(results)) if len(results) > 1 else "") \
            + messages_html(problems)

    def control_text(self, name: str, value) -> str:
        """A control's value as its widget shows it."""
        if name == "serving":
            return self.state.serving_options().get(value, value)
        if name == "model" or value is None:
            return str(value)
        if name == "human_cost_usd_per_task":
            return usd_text(value)
        digits = {"tasks_per_month": ",.0f", "loop_max_steps": ".0f", "loop_iterations": ".1f",
                  "monthly_growth": ".3f"}.get(name, ".2f")
        return format(value, digits)

    def pin(self) -> None:
        """Pin the current result as A; the comparison then shows A against every later update."""
        self.state.pin()
        self.refresh_compare()

    def refresh_compare(self) -> None:
        a, b = self.state.pinned, self.state.last
        self.compare.value = "" if a is None or b is None else \
            scenarios_html(["A (pinned)", "now"], scenario_rows([a, b]))


def rate_notes(workflow) -> dict[str, str]:
    """Notes beside the cache-hit-rate and retry-rate controls when the model steps' rates differ: the control
    shows the first step's and moves every step by the same amount."""
    from ..design.alternatives import model_steps

    steps, notes = model_steps(workflow), {}
    for name, label in (("cache_hit_rate", "cache hit rates"), ("retry_rate", "retry rates")):
        if steps and len({round(getattr(s, name).mean(), 6) for s in steps}) > 1:
            notes[name] = (f"steps' {label} differ: this shows {steps[0].name}'s; moving it moves every model step's "
                           "rate by as much")
    return notes


def what_if_panel(spec: str | Path = "", prices: str | None = None, price_date: str = "",
                  save_dir: str | Path = "scenarios",
                  samples: int = 20_000, seed: int = 0) -> Panel:
    """The what-if panel of a workflow spec or business case YAML (empty: the packaged example
    workflows/support_triage.yaml); prices by price_book(prices); `price_date` YYYY-MM-DD (empty: today, or the
    case's price_date); "Save scenario" writes into `save_dir`. Displaying the panel shows its widgets.

    >>> panel = what_if_panel(samples=1_000)
    >>> panel.state.workflow.name, round(panel.state.last.figures["month_usd_expected"]) > 0
    ('support-triage-agent', True)
    """
    from datetime import date

    from ..core.resources import example
    from ..design.prices import price_book
    from .state import load_what_if

    on = date.fromisoformat(price_date) if price_date else None
    path = Path(spec) if spec else example("workflows/support_triage.yaml")
    return Panel(load_what_if(path, price_book(prices or None), on, samples=samples, seed=seed), save_dir)


__all__ = ["AS_SPECIFIED", "Panel", "what_if_panel"]
