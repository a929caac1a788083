"""The ipywidgets panel bound to its state, driven in process (no browser): messages, kept results, pin."""

from __future__ import annotations

from datetime import date

import pytest

from forecast.design.prices import PriceBook
from forecast.design.specs import parse_workflow
from forecast.whatif.panel import Panel
from forecast.whatif.state import WhatIf
from forecast.whatif.views import usd_text

SPEC = """
name: simple-classifier
volume: {tasks_per_month: 10000}
steps:
  - {name: classify, model: gpt-4o-mini, provider: openai, input_tokens: {system: 1000}, output_tokens: 500}
"""


def test_panel_messages_keep_last_result_and_compare(tmp_path):
    state = WhatIf(parse_workflow(SPEC), PriceBook.from_file(None), date(2026, 11, 25), samples=1_000,
                   scenarios=200, months=1)
    panel = Panel(state, tmp_path, charts=False)
    assert "$4.50" in panel.figures.value  # 10,000 x $0.00045 (gpt-4o-mini list prices, by hand)
    panel.pin()
    panel.controls["tasks_per_month"].value = 30_000
    assert "$13.50" in panel.figures.value
    assert "<td>$4.50</td><td>$13.50<br><small>+$9.00</small></td>" in panel.compare.value
    shown = panel.figures.value
    panel.controls["tasks_per_month"].value = -1
    assert "tasks per month: -1: must be &gt;= 0" in panel.messages["tasks_per_month"].value
    assert panel.figures.value == shown
    panel.controls["tasks_per_month"].value = 20_000
    assert panel.messages["tasks_per_month"].value == "" and "$9.00" in panel.figures.value
    panel.save_path.value = "s.yaml"
    panel.save()
    assert (tmp_path / "s.yaml").exists() and "saved" in panel.save_status.value
    panel.save_path.value = "s.yaml"
    panel.save()
    assert "already exists" in panel.save_status.value


def test_usd_text():
    assert (usd_text(1234.5), usd_text(0.00045), usd_text(-2.5), usd_text(None)) == \
        ("$1,234.50", "$0.00045", "-$2.50", "n/a")


def test_a_scenario_name_that_is_not_one_file_name_in_the_save_folder_is_a_message_and_writes_nothing(tmp_path,
                                                                                                      monkeypatch):
    state = WhatIf(parse_workflow(SPEC), PriceBook.from_file(None), date(2026, 11, 25), samples=1_000,
                   scenarios=200, months=1)
    save_dir = tmp_path / "work" / "scenarios"
    save_dir.mkdir(parents=True)
    (save_dir / "dangling.yaml").symlink_to(tmp_path / "outside.yaml")  # a link out is never followed
    panel = Panel(state, save_dir, charts=False)
    default = panel.save_path.value
    assert default.endswith(".yaml") and "/" not in default  # the default: a plain name in the save folder

    def tree():
        return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))

    before = tree()
    bad = ["../x.yaml", "../../x.yaml", "/" + "../" * len(save_dir.parts) + str(tmp_path / "x.yaml").lstrip("/"),
           str(tmp_path / "x.yaml"), "nested/s.yaml", "sub\\s.yaml", ".hidden.yaml", "", "   ", "a..b.yaml",
           "a\x00b.yaml", "a\nb.yaml", "x" * 200 + ".yaml", "..", "s.txt", "dangling.yaml"]
    for name in bad:
        panel.save_path.value = name
        panel.save()
        assert "not saved: " in panel.save_status.value and "whatif-msg" in panel.save_status.value, name
        assert tree() == before, f"{name!r} wrote {set(tree()) - set(before)}"
    panel.save_path.value = "../x.yaml"
    panel.save()
    assert panel.save_status.value == ("<span class='whatif-msg'>not saved: save as &#x27;../x.yaml&#x27;: must "
                                       "not contain &#x27;/&#x27; or &#x27;\\&#x27;</span>")
    # a plain name lands in the save folder, and so does the folder's own path + a name
    panel.save_path.value = default
    panel.save()
    assert "saved" in panel.save_status.value and len(list(save_dir.glob("*-whatif-*.yaml"))) == 1
    panel.save_path.value = str(save_dir / "full.yaml")
    panel.save()
    assert (save_dir / "full.yaml").is_file() and "whatif-ok" in panel.save_status.value
    monkeypatch.chdir(tmp_path / "work")  # the folder as a relative path, as someone in its parent types it
    panel.save_path.value = "scenarios/relative.yaml"
    panel.save()
    assert (save_dir / "relative.yaml").is_file() and "whatif-ok" in panel.save_status.value


ROUTED = """
name: routed-drafts
volume: {tasks_per_month: {triangular: [32000, 40000, 50000]}, monthly_growth: 0.8}
steps:
  - name: draft
    model: gpt-4o
    provider: openai
    input_tokens: {system: 1000}
    output_tokens: 500
    retry_rate: 0.7
    routing:
      - {model: gpt-4o-mini, provider: openai, share: 0.4}
outcome: {success_rate: 0.75}
"""


def _routed_panel(tmp_path):
    state = WhatIf(parse_workflow(ROUTED), PriceBook.from_file(None), date(2026, 11, 25), samples=1_000,
                   scenarios=200, months=1)
    return Panel(state, tmp_path / "scenarios", charts=False)


def test_controls_show_the_values_the_computation_uses(tmp_path):
    panel = _routed_panel(tmp_path)
    # a spec value beyond a slider's usual range widens the slider instead of being clamped (0.8 growth, 0.7
    # retries): untouched, the spec is computed exactly as written
    assert panel.controls["monthly_growth"].value == 0.8 and panel.controls["retry_rate"].value == 0.7
    assert panel.state.last.workflow == parse_workflow(ROUTED)
    share = panel.controls["routed_share"]
    assert share.value == 0.4 and not share.disabled
    panel.controls["model"].value = "openai/gpt-4o-mini"
    # every call now goes to one model: the routed share the computation uses is 0, and the slider says so
    assert share.value == 0.0 and share.disabled and "routing dropped" in panel.messages["routed_share"].value
    assert all(not step.routing for step in panel.state.last.workflow.steps)
    panel.controls["model"].value = "(as specified)"
    assert share.value == 0.4 and not share.disabled and panel.messages["routed_share"].value == ""
    assert panel.state.last.workflow == parse_workflow(ROUTED)


def test_a_saved_scenario_names_exactly_the_controls_that_moved_with_both_values_and_reloads_to_its_figures(
        tmp_path):
    from forecast.whatif.state import load_what_if

    panel = _routed_panel(tmp_path)
    # the volume's mean is 40,666.666...; its box shows 40666.67: that is not a change
    assert panel.controls["tasks_per_month"].value == 40666.67
    panel.controls["success_rate"].value = 0.6
    panel.save_path.value = "lower-success.yaml"
    panel.save()
    saved = tmp_path / "scenarios" / "lower-success.yaml"  # the save folder is created on the first save
    header = saved.read_text(encoding="utf-8").splitlines()[1]
    assert header == "# controls changed from the spec: success rate 0.75 -> 0.60"
    reloaded = load_what_if(saved, panel.state.book, panel.state.on, samples=1_000, scenarios=200, months=1)
    assert reloaded.update(reloaded.initial_controls).figures == panel.state.last.figures
    panel.controls["model"].value = "openai/gpt-4o-mini"
    panel.save_path.value = "one-model.yaml"
    panel.save()
    header = (tmp_path / "scenarios" / "one-model.yaml").read_text(encoding="utf-8").splitlines()[1]
    assert header == ("# controls changed from the spec: model (all calls) (as specified) -> openai/gpt-4o-mini; "
                      "routed share 0.40 -> 0.00; success rate 0.75 -> 0.60")


def test_the_model_picker_is_provider_first_then_its_priced_models_with_the_specs_own_first(tmp_path):
    from forecast.whatif.model_picker import model_choices

    state = WhatIf(parse_workflow(SPEC), PriceBook.from_file(None), date(2026, 11, 25), samples=1_000,
                   scenarios=200, months=1)
    panel = Panel(state, tmp_path, charts=False)
    picker = panel.controls["model"]
    assert ("OpenAI", "openai") in picker.provider.options
    assert picker.model.disabled and picker.value == "(as specified)"
    picker.provider.value = "openai"  # a provider alone changes nothing yet
    assert picker.value == "(as specified)" and "$4.50" in panel.figures.value
    labels = picker.model.options
    assert labels[0] == "gpt-4o-mini · $0.15 in, $0.60 out per Mtok · 128k context · in this spec"
    # OpenAI's list prices for gpt-4o: $2.50 in, $10 out per million tokens
    (gpt_4o,) = [label for label in labels if label.startswith("gpt-4o · ")]
    assert gpt_4o == "gpt-4o · $2.50 in, $10 out per Mtok · 128k context"
    picker.model.value = gpt_4o
    assert picker.value == "openai/gpt-4o"
    assert "$75.00" in panel.figures.value  # by hand: 10,000 x (1,000 x $2.50 + 500 x $10) / 1e6
    picker.value = "openai/gpt-4o-mini"  # set from code: both widgets follow
    assert picker.provider.value == "openai" and picker.model.value == labels[0] and "$4.50" in panel.figures.value
    picker.model.value = "not-a-model"  # typed, not picked: not used, and the note says what is
    assert picker.value == "openai/gpt-4o-mini" and "$4.50" in panel.figures.value
    assert "not a listed model: the figures use openai/gpt-4o-mini" in picker.note.value
    picker.model.value = gpt_4o
    assert picker.note.value == "" and "$75.00" in panel.figures.value
    picker.provider.value = "google"  # another provider: back to the spec's models until one of its is picked
    assert picker.value == "(as specified)" and picker.model.value == "" and "$4.50" in panel.figures.value
    picker.provider.value = ""
    assert picker.value == "(as specified)" and picker.model.disabled
    # current models before deprecated ones (Mistral has both in genai-prices 0.2.3)
    groups = [c.group for c in model_choices(state.book, "mistral", state.on)]
    assert groups == sorted(groups) and {1, 2} <= set(groups)
    assert all(c.name.startswith("mistral/") for c in model_choices(state.book, "mistral", state.on))


def test_saved_scenarios_compare_side_by_side_with_the_current_figures(tmp_path):
    panel = _routed_panel(tmp_path)
    assert panel.saved.options == ()  # no save folder yet
    spec_mean = panel.state.workflow.volume.tasks_per_month.mean()  # 40,666.67
    panel.controls["tasks_per_month"].value = 2 * spec_mean  # twice the volume: twice every monthly cost
    panel.save_path.value = "double.yaml"
    panel.save()
    (tmp_path / "scenarios" / "broken.yaml").write_text("name: [", encoding="utf-8")
    panel.saved.options = panel.saved_scenarios()
    panel.controls["tasks_per_month"].value = 40_666.67  # back to the spec
    now = panel.state.last.figures
    panel.saved.value = ("double.yaml", "broken.yaml")
    panel.compare_saved()
    table = panel.scenarios.value
    assert "<th>now</th><th>double.yaml</th>" in table and "broken.yaml: " in table
    # by hand: the saved scenario's monthly cost is twice the current one, so its difference is the current cost
    month = usd_text(now["month_usd_expected"])
    doubled = panel.state.evaluate(parse_workflow(ROUTED.replace("[32000, 40000, 50000]", "[64000, 80000, 100000]")))
    assert doubled.figures["month_usd_expected"] == pytest.approx(2 * now["month_usd_expected"], rel=1e-9)
    assert (f"<td>{month}</td><td>{usd_text(doubled.figures['month_usd_expected'])}<br><small>+{month}</small>"
            in table)


def test_self_hosted_figures_charts_and_ratio_follow_the_gpu_fleet_and_a_comparison_follows_the_figures(tmp_path):
    from forecast.whatif.views import charts_svg

    state = WhatIf(parse_workflow(SPEC.replace("output_tokens: 500}", "output_tokens: 500}\noutcome: "
                                               "{success_rate: 0.8, human_cost_usd_per_task: 4.0}")),
                   PriceBook.from_file(None), date(2026, 11, 25), samples=1_000, scenarios=200, months=1)
    panel = Panel(state, tmp_path, charts=False)
    gpu = next(key for key in state.serving_options() if key != "api")
    panel.controls["serving"].value = gpu
    f = state.last.figures
    assert f["serving"] == "self_hosted"
    assert f["ai_to_human_cost_ratio"] == pytest.approx(f["outcome_usd_expected"] / 4.0)  # the fleet's, not the API's
    steps, fan, cash = charts_svg(state.last)
    assert "not drawn for self-hosted serving" in steps and "not drawn" in fan and cash == ""
    panel.controls["serving"].value = "api"
    panel.save_path.value = "api.yaml"
    panel.save()
    panel.saved.value = ("api.yaml",)
    panel.compare_saved()
    assert "<td>$4.50</td><td>$4.50<br>" in panel.scenarios.value
    panel.controls["tasks_per_month"].value = 20_000  # the comparison on show follows the current figures
    assert "<td>$9.00</td><td>$4.50<br><small>-$4.50</small>" in panel.scenarios.value
    panel.controls["tasks_per_month"].value = -1  # a bad value: stale figures say so, and nothing is saved
    assert "not up to date" in panel.stale.value
    panel.save_path.value = "bad.yaml"
    panel.save()
    assert "fix it first" in panel.save_status.value and not (tmp_path / "bad.yaml").exists()


def test_rate_controls_say_which_step_they_show_when_steps_differ(tmp_path):
    from forecast.core.resources import example
    from forecast.design.specs import load_workflow

    state = WhatIf(load_workflow(example("workflows/support_triage.yaml")), PriceBook.from_file(None),
                   date(2026, 11, 25), samples=1_000, scenarios=200, months=1)
    panel = Panel(state, tmp_path, charts=False)
    assert "this shows classify&#x27;s" in panel.messages["cache_hit_rate"].value
    assert _routed_panel(tmp_path).messages["cache_hit_rate"].value == ""  # one model step: nothing to say


def test_a_comparison_keeps_following_after_a_save_and_prices_scenarios_with_the_current_serving(tmp_path):
    state = WhatIf(parse_workflow(SPEC), PriceBook.from_file(None), date(2026, 11, 25), samples=1_000,
                   scenarios=200, months=1)
    panel = Panel(state, tmp_path, charts=False)
    panel.save_path.value = "a.yaml"
    panel.save()
    panel.saved.value = ("a.yaml",)
    panel.compare_saved()
    panel.save_path.value = "b.yaml"
    panel.save()  # the list is rescanned and keeps its selection
    assert panel.saved.value == ("a.yaml",) and set(panel.saved.options) == {"a.yaml", "b.yaml"}
    panel.controls["tasks_per_month"].value = 20_000
    assert "<td>$9.00</td><td>$4.50<br><small>-$4.50</small>" in panel.scenarios.value
    gpu = next(key for key in state.serving_options() if key != "api")
    panel.controls["tasks_per_month"].value = 10_000
    panel.controls["serving"].value = gpu  # the saved spec, served as now: the same figures, zero difference
    now = usd_text(state.last.figures["month_usd_expected"])
    assert f"<td>{now}</td><td>{now}<br><small>+$0</small>" in panel.scenarios.value
    assert "every scenario served as now" in panel.scenarios.value
    panel.saved.value = ()
    panel.compare_saved()  # nothing picked: the comparison stops following
    assert "pick one or more" in panel.scenarios.value and not panel._comparing
    panel.controls["model"].value = "NoSuchProvider/x"  # a bad value from code: a message, not an exception
    assert "not in the price catalog" in panel.messages["model"].value
