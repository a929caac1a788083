"""The what-if app as a server, in Debian's headless Chromium: a page opens without starting a kernel, it asks
nothing of any host but 127.0.0.1, and closed pages give their kernels back. Real Voila, real kernels.

The browser times each page to its first usable slider and prints the figures. Every visit starts a kernel (a
few seconds each on 2 cores), so the default run makes 4 visits; the issue's 10 visits are the `slow` variant,
which .ci/run runs after `make test`."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from forecast.whatif.app import POOL_SIZE, READY_PATH, wait_until_up
from tests.servers import kernel_processes, printed_url, stop_group

from .browser import CHROMIUM, drag_slider

ROOT = Path(__file__).resolve().parents[1]
IDLE_S = 5  # --idle-timeout: the culler looks every 2 s (half of it), so a lost page's kernel goes within 7 s
# The 3 s target is measured against a cold server in benchmarks/bench_whatif_first_paint.py, not by a timed test;
# here a guard far below a page that must start its own kernel (5.5-8 s on this machine) catches a lost preheat.
PREHEATED_AT_MOST_S = 5.0

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture()
def app(tmp_path):
    """The packaged example's app, started from an empty folder as a new user would, on a free loopback port."""
    proc = subprocess.Popen([sys.executable, "-m", "forecast.cli", "whatif", "--port", "0", "--idle-timeout",
                             str(IDLE_S)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        yield printed_url(proc, timeout_s=120).group(0), proc
    finally:
        stop_group(proc)


def test_pages_open_at_once_offline_and_give_their_kernels_back(app):
    _visit(*app, visits=4, kept_open=1)


@pytest.mark.slow
def test_ten_visits_leave_only_the_preheated_kernel_and_the_open_pages(app):
    _visit(*app, visits=10, kept_open=2)


def _visit(url: str, proc, visits: int, kept_open: int) -> None:
    """Open `visits` pages one after another, each once a preheated kernel is ready, timing each to its first
    usable slider; close all but the last `kept_open` (half with Voila's unload message, half without, as a
    crashed tab), then check what is left and that nothing went beyond 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    seconds: list[float] = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1100})
            context.route("**/*", only_loopback)
            kept = []
            for visit in range(visits):
                # "once the server is up": its preheated kernel is ready (a refill takes a few seconds)
                wait_until_up(url + READY_PATH.lstrip("/"), proc)
                page = context.new_page()
                page.on("websocket", lambda ws: None if urlsplit(ws.url).hostname == "127.0.0.1"
                        else outside.append(ws.url))
                start = time.monotonic()
                page.goto(url)
                page.locator(".whatif-control-cache_hit_rate .noUi-handle").wait_for(timeout=60_000)
                seconds.append(time.monotonic() - start)
                if visit >= visits - kept_open:
                    kept.append(page)
                else:  # half close as a tab does (Voila's unload message), half vanish as a crashed tab
                    page.close(run_before_unload=visit % 2 == 0)
            allowed = POOL_SIZE + kept_open
            deadline = time.monotonic() + IDLE_S + 20
            while len(kernel_processes(proc.pid)) > allowed and time.monotonic() < deadline:
                time.sleep(0.5)
            running = kernel_processes(proc.pid)
            assert len(running) <= allowed, f"{len(running)} kernels after {visits} visits, {kept_open} pages open"
            for page in kept:  # the open pages kept their kernels: a slider still updates the figures
                month = page.locator(".whatif-month-expected")
                before = month.inner_text()
                drag_slider(page, "cache_hit_rate", 0.1)
                page.wait_for_function(f"document.querySelector('.whatif-month-expected').innerText !== '{before}'",
                                       timeout=30_000)
                assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()
    print(f"first usable slider, s: {', '.join(f'{s:.2f}' for s in seconds)}; median {statistics.median(seconds):.2f}")
    assert not outside, outside
    assert statistics.median(seconds) <= PREHEATED_AT_MOST_S, seconds
