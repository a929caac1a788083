"""Open a page in Debian's headless Chromium through Playwright, with the network cut off."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def open_offline(html: Path, screenshot: Path) -> dict:
    """Load a local HTML file with no network; returns its text, charts and blocked requests."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
            context.route("http*://**", lambda route: (blocked.append(route.request.url), route.abort()))
            page = context.new_page()
            page.goto(html.resolve().as_uri(), wait_until="load")
            charts = page.evaluate("""() => [
                ...Array.from(document.images).filter(i => i.src.startsWith('data:image/svg+xml'))
                    .map(i => ({kind: 'img-svg', width: i.naturalWidth, height: i.naturalHeight})),
                ...Array.from(document.querySelectorAll('svg')).filter(s => s.querySelector('path, rect, text'))
                    .map(s => ({kind: 'svg', width: s.getBoundingClientRect().width,
                               height: s.getBoundingClientRect().height})),
                ...Array.from(document.querySelectorAll('canvas'))
                    .map(c => ({kind: 'canvas', width: c.width, height: c.height}))]""")
            text = page.inner_text("body")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return {"text": text, "charts": charts, "blocked": blocked}


def drag_slider(page, control: str, fraction: float) -> None:
    """Drag the handle of the what-if control `control`'s slider to `fraction` of its track, as a mouse does."""
    track = page.locator(f".whatif-control-{control} .noUi-base").bounding_box()
    page.locator(f".whatif-control-{control} .noUi-handle").hover()
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], track["y"] + track["height"] / 2, steps=8)
    page.mouse.up()
