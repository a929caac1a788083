"""`forecast whatif` in a real browser: Voila on 127.0.0.1, driven by Debian's headless Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from forecast.design.estimate import estimate
from forecast.design.prices import PriceBook
from forecast.design.specs import load_workflow, parse_workflow
from tests.servers import printed_url, stop_group

from .browser import CHROMIUM, drag_slider
from .test_whatif_model import SIMPLE

ROOT = Path(__file__).resolve().parents[1]
ON = date(2026, 11, 25)
SPEC = SIMPLE  # one task = $0.00045 by hand (tests/test_whatif_model.py)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def _usd(text: str) -> float:
    return float(re.sub(r"[$,]", "", text.strip()))


@pytest.fixture()
def app(tmp_path):
    """The app on a free loopback port; the whole process group is killed afterwards."""
    spec = tmp_path / "simple.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "forecast.cli", "whatif", str(spec), "--port", "0", "--save-dir", str(tmp_path),
         "--date", ON.isoformat(), "--prices", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})  # as a shell starts it
    try:
        yield printed_url(proc).group(0), spec, tmp_path
    finally:
        stop_group(proc)


def test_panel_in_chromium(app):
    from playwright.sync_api import sync_playwright

    url, _spec, tmp_path = app
    book = PriceBook.from_file(None)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(url)
            month = page.locator(".whatif-month-expected")
            month.wait_for(timeout=60_000)
            # by hand: 10,000 tasks x (1,000 x $0.15 + 500 x $0.60) per million tokens = $4.50
            assert _usd(month.inner_text()) == pytest.approx(4.50, abs=0.005)

            fan = page.locator(".whatif-chart-fan svg")
            fan.wait_for(timeout=30_000)
            assert page.locator(".whatif-chart-steps svg text", has_text="classify").count() >= 1
            before = fan.inner_html()
            tasks = page.locator(".whatif-control-tasks_per_month input")
            tasks.fill("20000")
            tasks.press("Enter")
            page.wait_for_function("document.querySelector('.whatif-month-expected').innerText !== '$4.50'")
            assert _usd(month.inner_text()) == pytest.approx(9.00, abs=0.005)  # by hand: twice the volume
            # the monthly cost fan is redrawn with the numbers
            page.wait_for_function("document.querySelector('.whatif-chart-fan svg').innerHTML !== "
                                   f"{json.dumps(before)}", timeout=30_000)

            drag_slider(page, "cache_hit_rate", 0.6)  # the handle to about the middle of its track
            page.wait_for_function("document.querySelector('.whatif-month-expected').innerText !== '$9.00'")
            rate = float(page.locator(".whatif-control-cache_hit_rate .widget-readout").inner_text())
            assert 0.3 < rate < 0.9
            # the library on a spec written with that cache hit rate (not through the panel's code)
            expected_spec = parse_workflow(SPEC.replace("10000", "20000").replace(
                "output_tokens: 500", f"output_tokens: 500\n    cache_hit_rate: {rate}"))
            doc = estimate(expected_spec, book, ON, 20_000, 0, 2_000, 12).to_dict()
            page.wait_for_timeout(300)
            assert _usd(month.inner_text()) == pytest.approx(doc["per_month_usd"]["expected"], abs=0.005)
            assert _usd(page.locator(".whatif-month-p90").inner_text()) == pytest.approx(
                doc["per_month_usd"]["p90"], abs=0.005)
            # and by hand: hit share r of the 1,000 system tokens at $0.075 instead of $0.15
            assert _usd(month.inner_text()) == pytest.approx(
                20_000 * (1000 * (1 - rate) * 0.15 + 1000 * rate * 0.075 + 500 * 0.60) / 1e6, abs=0.005)
            shown = month.inner_text()

            saved = tmp_path / "scenario.yaml"
            page.locator(".whatif-save-path input").fill(str(saved))
            page.locator("button.whatif-save").click()
            page.locator(".whatif-save-status .whatif-ok").wait_for(timeout=10_000)
            wf = load_workflow(saved)
            assert wf.volume.tasks_per_month.mean() == 20_000
            assert wf.steps[0].cache_hit_rate.mean() == pytest.approx(rate)
            assert estimate(wf, book, ON, 20_000, 0, 2_000, 12).to_dict()["per_month_usd"] == doc["per_month_usd"]

            # the saved scenario beside the current figures: the same spec, so every difference is zero
            page.locator(".whatif-saved select").select_option(label="scenario.yaml")
            page.locator("button.whatif-compare-saved").click()
            page.locator(".whatif-scenarios").wait_for(timeout=30_000)
            scenarios = page.locator(".whatif-scenarios").inner_text()
            assert "scenario.yaml" in scenarios and shown in scenarios and scenarios.count("+$0") == 5

            # the model picker: a provider first, then its models, typed into a searchable list
            page.locator(".whatif-provider select").select_option(label="OpenAI")
            search = page.locator(".whatif-model input")
            page.wait_for_function("!document.querySelector('.whatif-model input').disabled")
            listed = page.locator(".whatif-model datalist option").evaluate_all("os => os.map(o => o.value)")
            gpt_4o = "gpt-4o · $2.50 in, $10 out per Mtok · 128k context"
            assert gpt_4o in listed and len(listed) > 50
            assert month.inner_text() == shown  # a provider alone changes nothing
            search.fill(gpt_4o)
            search.press("Enter")
            page.wait_for_function(f"document.querySelector('.whatif-month-expected').innerText !== '{shown}'")
            # by hand, gpt-4o at $2.50 in, $1.25 cached in, $10 out per million tokens
            assert _usd(month.inner_text()) == pytest.approx(
                20_000 * (1000 * (1 - rate) * 2.50 + 1000 * rate * 1.25 + 500 * 10) / 1e6, abs=0.005)
            page.locator(".whatif-provider select").select_option(index=0)
            page.wait_for_function(f"document.querySelector('.whatif-month-expected').innerText === '{shown}'")

            tasks.fill("-5")
            tasks.press("Enter")
            message = page.locator(".whatif-msg-tasks_per_month")
            page.wait_for_function("document.querySelector('.whatif-msg-tasks_per_month').innerText.length > 0")
            assert message.inner_text() == "tasks per month: -5: must be >= 0"
            assert month.inner_text() == shown  # the last good result stays
            body = page.inner_text("body")
            assert "Traceback" not in body and "Error" not in body
            page.screenshot(path=str(tmp_path / "whatif.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "whatif.png").stat().st_size > 10_000
