"""The notebooks as a user opens them: JupyterLab on 127.0.0.1, driven by Debian's headless Chromium.

JupyterLab serves a temporary copy of notebooks/ (with data/ beside it, as in the repository) so
autosave never touches the repository; the kernel runs in that notebooks/ folder, JupyterLab's
default. Each test runs all cells from the Run menu and checks only what the page shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import stop_group

from .browser import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

# no cell still running, and either every code cell has run or one shows an error (Run All stops there)
DONE = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.innerText);
    if (!prompts.length || prompts.some(t => t.includes('*'))) return false;
    return prompts.every(t => /\\[\\d+\\]/.test(t))
        || document.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]') !== null;
}"""
# charts in the outputs: SVG images (data URIs) or inline SVG with drawn content, as [width, height]
CHARTS = """() => [
    ...[...document.querySelectorAll('.jp-OutputArea-output img')].filter(i => i.src.startsWith('data:image/svg'))
        .map(i => [i.getBoundingClientRect().width, i.getBoundingClientRect().height]),
    ...[...document.querySelectorAll('.jp-OutputArea-output svg')].filter(s => s.querySelector('path, rect, text'))
        .map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])]"""


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port over a copy of notebooks/ and data/; returns (base URL, token)."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    shutil.copytree(ROOT / "notebooks", tmp / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "data", tmp / "data", ignore=shutil.ignore_patterns("*.duckdb*"))
    home = tmp / "home"
    (home / "config" / "labconfig").mkdir(parents=True)
    (home / "config" / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    # every cell in the DOM (no windowing), so offscreen outputs can be read
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORECAST_WHATIF_", "JUPYTER", "IPYTHON"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
               MPLCONFIGDIR=str(home / "mpl"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    log = (tmp / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.root_dir={tmp / 'notebooks'}", "--ServerApp.open_browser=False",
         f"--IdentityProvider.token={token}", "--ServerApp.terminals_enabled=False", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=tmp / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"JupyterLab exited {proc.returncode}: {(tmp / 'jupyterlab.log').read_text()}"
            with contextlib.suppress(OSError):
                _get(f"{base}/api/status?token={token}")
                break
            assert time.monotonic() < deadline, f"JupyterLab did not answer: {(tmp / 'jupyterlab.log').read_text()}"
            time.sleep(0.3)
        yield base, token
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _kernel_state(lab, name: str) -> str | None:
    base, token = lab
    sessions = _get(f"{base}/api/sessions?token={token}")
    return next((s["kernel"]["execution_state"] for s in sessions if s["path"] == name), None)


def _run_all(chromium, lab, name: str):
    """Open the notebook in JupyterLab, run all cells from the Run menu, wait until they finish; returns the page."""
    base, token = lab
    context = chromium.new_context(viewport={"width": 1500, "height": 1100})
    # loopback only: nothing may reach the network
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    page = context.new_page()
    # a workspace of its own, reset: no tab of the other test's notebook is restored beside this one
    page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?token={token}&reset")
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=90_000)
    assert page.locator(".jp-NotebookPanel").count() == 1
    deadline = time.monotonic() + 90
    while _kernel_state(lab, name) != "idle":
        assert time.monotonic() < deadline, f"the kernel of {name} did not become idle"
        page.wait_for_timeout(300)  # not time.sleep: Playwright serves the route above only while waiting
    # Edit > Clear Outputs of All Cells, then Run > Run All Cells: only this run's prompts and outputs count
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.locator('.lm-Menu-item[data-command="editmenu:clear-all"]').click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function(DONE, timeout=180_000, polling=500)
    deadline = time.monotonic() + 30
    while _kernel_state(lab, name) != "idle":
        assert time.monotonic() < deadline, f"the kernel of {name} stayed busy"
        page.wait_for_timeout(300)
    return page


def _errors(page) -> list[str]:
    texts = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
                         '.jp-OutputArea-output .jp-RenderedText').all_inner_texts()
    return [t for t in texts if re.search(r"Traceback|Error", t)]


def test_estimate_notebook_runs_in_jupyterlab(chromium, lab, tmp_path):
    page = _run_all(chromium, lab, "estimate.ipynb")
    try:
        page.screenshot(path=str(tmp_path / "estimate.png"), full_page=True)  # before the checks: kept on failure
        errors = _errors(page)
        assert not errors, f"estimate.ipynb shows an error: {errors[0][-3000:]}"
        tables = page.locator(".jp-OutputArea-output table").all_inner_texts()
        assert any(re.search(r"per_task_usd|per task", t) for t in tables), f"no headline table in {tables!r}"
        # JupyterLab typesets "$...$" in Markdown outputs as LaTeX, even when written "\$": amounts must stay prose
        maths = page.locator('.jp-OutputArea-output[data-mime-type="text/markdown"]:has(mjx-container)')
        assert not maths.count(), f"LaTeX math in {maths.count()} Markdown outputs: {maths.first.inner_text()[:400]!r}"
        charts = page.evaluate(CHARTS)
        assert any(w > 100 and h > 50 for w, h in charts), f"no chart over 100x50 px: {charts!r}"
    finally:
        page.context.close()
    assert (tmp_path / "estimate.png").stat().st_size > 10_000


def test_what_if_panel_in_jupyterlab(chromium, lab, tmp_path):
    page = _run_all(chromium, lab, "what_if.ipynb")
    try:
        errors = _errors(page)
        assert not errors, f"what_if.ipynb shows an error: {errors[0][-3000:]}"
        month = page.locator(".jp-OutputArea-output .whatif-month-expected")
        month.wait_for(timeout=60_000)
        handle = page.locator(".whatif-control-cache_hit_rate .noUi-handle")
        handle.wait_for(state="visible", timeout=30_000)
        before = month.inner_text()
        assert re.fullmatch(r"\$[\d,.]+", before), before
        readout = page.locator(".whatif-control-cache_hit_rate .widget-readout")
        rate = readout.inner_text()
        # drag the cache-hit-rate handle to a tenth of its track: less cache, a dearer month
        handle.scroll_into_view_if_needed()
        track = page.locator(".whatif-control-cache_hit_rate .noUi-base").bounding_box()
        handle.hover()
        page.mouse.down()
        page.mouse.move(track["x"] + 0.1 * track["width"], track["y"] + track["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_function("([sel, old]) => document.querySelector(sel).innerText !== old",
                               arg=[".jp-OutputArea-output .whatif-month-expected", before], timeout=60_000)
        after = month.inner_text()
        assert readout.inner_text() != rate
        assert float(re.sub(r"[$,]", "", after)) > float(re.sub(r"[$,]", "", before)), (before, after)
        assert not _errors(page)
        page.screenshot(path=str(tmp_path / "what_if.png"), full_page=True)
    finally:
        page.context.close()
    assert (tmp_path / "what_if.png").stat().st_size > 10_000


def _upload(lab, name: str, notebook: dict) -> None:
    """Put a notebook into the JupyterLab root through its contents API (as a user's file, never trusted)."""
    base, token = lab
    body = json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode()
    request = urllib.request.Request(f"{base}/api/contents/{name}?token={token}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 201)


def test_a_monthly_report_opened_in_jupyterlab_shows_its_charts_and_amounts(chromium, lab, tmp_path):
    # the report's executed notebook, as forecast report monthly leaves it: opened later, not run, not trusted
    from forecast.cli.main import main

    with contextlib.chdir(tmp_path):
        assert main(["report", "monthly", "--horizon", "6"]) == 0  # the packaged sample company and its budgets
    executed = next(tmp_path.glob("reports/monthly/*/monthly_forecast.ipynb"))
    _upload(lab, "report-monthly.ipynb", json.loads(executed.read_text()))
    base, token = lab
    context = chromium.new_context(viewport={"width": 1500, "height": 1100})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    page = context.new_page()
    try:
        page.goto(f"{base}/lab/workspaces/report/tree/report-monthly.ipynb?token={token}&reset")
        page.locator(".jp-Notebook .jp-OutputArea-output").first.wait_for(timeout=90_000)
        page.wait_for_timeout(3000)  # MathJax typesets after the outputs render
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        # amounts in alerts, gaps and notes stay prose: no "$...$" read as LaTeX
        maths = page.locator('.jp-OutputArea-output[data-mime-type="text/markdown"]:has(mjx-container)')
        assert not maths.count(), f"LaTeX math in {maths.count()} Markdown outputs: {maths.first.inner_text()[:400]!r}"
        assert "gap" in page.locator(".jp-Notebook").inner_text()  # the invoice section with its planted gap
        # every chart drawn (untrusted: the PNG), none left as its text repr
        images = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output img')]
            .filter(i => i.src.startsWith('data:image/')).map(i => [i.naturalWidth, i.naturalHeight])""")
        assert len([1 for w, h in images if w > 200 and h > 100]) >= 4, images
        assert "alt.LayerChart" not in page.locator(".jp-Notebook").inner_text()
    finally:
        context.close()
