"""No script runs from a report: script and event-handler payloads in every text field of a workflow spec and in
every tag of the usage logs show up in the HTML reports as text, and Chromium opens no dialog.

Each report is opened in Debian's headless Chromium (network cut off) with a `dialog` handler; `alert()` from
any payload would be a dialog. The reports also carry a Content-Security-Policy that forbids scripts, so a
payload that slipped past the escaping would still not run (the CSP is a second line, not the fix: the test
fails on a dialog or on a payload missing from the visible text).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from forecast.cli.main import main

from .browser import CHROMIUM

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def payload(field: str) -> str:
    """A payload naming its field: a script element, an image whose error handler runs, and an attribute break-out."""
    return f'<script>alert("{field}")</script><img src=x onerror=alert("{field}")>"><svg onload=alert("{field}")>'


# HTML that runs without a click (details, iframe), links that would need one, and Markdown syntax shown as text
EXTRA = ['<details open ontoggle=alert("details")>x</details>', '<iframe srcdoc="<script>alert(5)</script>">',
         "[link](javascript:alert(6)) <a href=javascript:alert(7)>a</a>", "*emph* _under_ `tick` &amp; &lt;b&gt;"]


def _spec() -> dict:
    return {
        "name": payload("name"),
        "description": " ".join([payload("description"), *EXTRA]),
        "volume": {"tasks_per_month": 2000, "background": [
            {"name": payload("background"), "model": "gpt-4o-mini", "provider": "openai", "calls_per_day": 24,
             "input_tokens": 500, "output_tokens": 50}]},
        "steps": [
            {"name": payload("step"), "model": "gpt-4o-mini", "provider": "openai",
             "input_tokens": {"user": 1000}, "output_tokens": 500},
            {"name": payload("tool-step"), "tool": payload("tool"), "fee_usd_per_call": 0.001,
             "result_tokens_per_call": 200},
            {"name": payload("loop"), "loop": {"iterations": 3, "max_steps": 5}, "steps": [
                {"name": payload("loop-step"), "model": "gpt-4o-mini", "provider": "openai",
                 "input_tokens": {"user": 300}, "output_tokens": 100}]},
        ],
        "outcome": {"success_rate": 0.8, "human_cost_usd_per_task": 4.0},
    }


TAGS = ("team_id", "workflow_name", "agent_id", "feature_id", "cost_center", "environment", "intent", "task_id")


def _warehouse(tmp_path: Path) -> Path:
    """A small generated company with one value of every tag (all task ids of one workflow) replaced by a
    payload naming the tag."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forecast.usage.sample import generate_requests

    table, _ = generate_requests(3_000, 9, seed=3, corrupt_share=0.0)
    frame = table.to_pandas()
    replace = {"team_id": "support", "workflow_name": "support_triage", "agent_id": "support-agent-1",
               "feature_id": "ticket-triage", "cost_center": "CC-100", "environment": "staging", "intent": "classify"}
    for tag, value in replace.items():
        frame[tag] = frame[tag].where(frame[tag] != value, payload(tag))
    tasks = frame["task_id"].str.startswith("research_agent-", na=False)
    frame.loc[tasks, "task_id"] = payload("task_id") + frame.loc[tasks, "task_id"].str.removeprefix("research_agent")
    log = tmp_path / "requests.parquet"
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), log)
    warehouse = tmp_path / "w.duckdb"
    assert main(["ingest", str(log), "--warehouse", str(warehouse), "--prices", "none"]) == 0
    return warehouse


def _report(tmp_path: Path, kind: str, argv: list[str]) -> Path:
    assert main(["report", kind, *argv, "--reports-dir", str(tmp_path / "reports")]) == 0
    (folder,) = (tmp_path / "reports" / kind).iterdir()
    (html,) = folder.glob("*.html")
    return html


def _open(html: Path) -> dict:
    """Open the report offline; every dialog and every console error (a CSP violation among them) is recorded."""
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    console: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
            context.route("http*://**", lambda route: route.abort())
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # image error handlers and toggles fire after load
            text = page.inner_text("body")
            charts = page.evaluate("""() => Array.from(document.images)
                .filter(i => i.src.startsWith('data:image/svg+xml') && i.naturalWidth > 100).length""")
        finally:
            browser.close()
    return {"dialogs": dialogs, "console": console, "text": text, "charts": charts}


def _check(html: Path, shown: list[str], charts: int) -> None:
    page = _open(html)
    assert page["dialogs"] == [], f"{html.name}: {len(page['dialogs'])} dialog(s) opened: {page['dialogs'][:5]}"
    missing = [s for s in shown if s not in page["text"]]
    assert not missing, f"{html.name}: payloads not shown as text: {missing}"
    head = html.read_text(encoding="utf-8").split("</head>")[0]
    metas = [m for m in re.findall(r"<meta\b[^>]*>", head) if 'http-equiv="Content-Security-Policy"' in m]
    assert len(metas) == 1, f"{html.name}: no Content-Security-Policy meta in the head"
    policy = re.search(r'content="([^"]*)"', metas[0]).group(1)
    assert {"default-src 'none'", "script-src 'none'", "object-src 'none'", "base-uri 'none'"} <= \
        {d.strip() for d in policy.split(";")}, f"{html.name}: the policy allows scripts or requests: {policy}"
    first = min(head.find(t) for t in ("<style", "<script", "<link", "<img") if t in head)
    assert head.index(metas[0]) < first, "a meta policy covers only what follows it: it must come first"
    assert page["charts"] >= charts, f"{html.name}: {page['charts']} chart(s) drawn, expected {charts}"
    assert not [m for m in page["console"] if "Content Security Policy" in m], page["console"]


def test_spec_payloads_show_as_text_in_the_estimate_report(tmp_path):
    spec = tmp_path / "xss.yaml"
    spec.write_text(yaml.safe_dump(_spec(), sort_keys=False, allow_unicode=True))
    html = _report(tmp_path, "estimate", [str(spec), "--price-date", "2026-11-25", "--prices", "none",
                                          "--samples", "2000", "--scenarios", "200", "--months", "3",
                                          "--alternatives", "openai:gpt-4.1-nano", "--name", "xss"])
    _check(html, [payload("name"), payload("description"), *EXTRA, payload("loop")], charts=2)


def test_usage_tag_payloads_show_as_text_in_the_monthly_report(tmp_path):
    warehouse = _warehouse(tmp_path)
    html = _report(tmp_path, "monthly", ["--warehouse", str(warehouse), "--budgets", "none", "--horizon", "3",
                                         "--name", "xss"])
    _check(html, [payload(tag) for tag in ("team_id", "workflow_name", "agent_id")], charts=3)
