"""`forecast prices --refresh`: fetch genai-prices data from a local server on 127.0.0.1, store it in the working
folder, and price with it everywhere (lookups, ingest, report provenance), saying so; without network or with bad
data, keep the prices in use and say so.

The served data is written here in genai-prices' published format (a list of providers, each with the model
names it matches, its models and their prices per million tokens), with a price cut for gpt-4o: $2.00 input,
$1.00 cached input, $8.00 output (the packaged genai-prices 0.2.3 has $2.50 / $1.25 / $10)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

DATA = [
    {"id": "openai", "name": "OpenAI", "api_pattern": r"https://api\.openai\.com",
     "model_match": {"starts_with": "gpt-"},
     "models": [{"id": "gpt-4o", "match": {"or": [{"equals": "gpt-4o"}, {"starts_with": "gpt-4o-2024"}]},
                 "context_window": 128000, "prices": {"input_mtok": 2.0, "cache_read_mtok": 1.0, "output_mtok": 8.0}}]},
    {"id": "anthropic", "name": "Anthropic", "api_pattern": r"https://api\.anthropic\.com",
     "model_match": {"contains": "claude"},
     "models": [{"id": "claude-haiku-4-5", "match": {"starts_with": "claude-haiku-4-5"},
                 "prices": {"input_mtok": 1, "cache_write_mtok": 1.25, "cache_read_mtok": 0.1, "output_mtok": 5}}]},
]


@contextmanager
def serving(body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.json"
    finally:
        server.shutdown()
        server.server_close()


def _forecast(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecast.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_refreshed_prices_are_stored_used_and_named(tmp_path):
    with serving(json.dumps(DATA).encode()) as url:
        done = _forecast(tmp_path, "prices", "--refresh", "--url", url)
    assert done.returncode == 0, done.stderr
    # gpt-4o's prices are cut; claude-haiku-4-5 keeps its base prices but the served entry lacks the packaged
    # one's 200,000-token context window, 1-hour cache-write and web-search prices, so it is priced differently too
    assert ": 2 models\n" in done.stdout and "priced differently (e.g. anthropic/claude-haiku-4-5, openai/gpt-4o)" \
        in done.stdout and "not in the fetched data keep their earlier prices" in done.stdout
    stored = json.loads((tmp_path / "prices" / "genai-prices.json").read_text())
    assert (stored["source_url"], stored["providers"]) == (url, DATA)
    shown = json.loads(_forecast(tmp_path, "prices", "gpt-4o", "--format", "json", "--prices", "none").stdout)
    assert (shown["input_usd_per_mtok"], shown["cached_input_usd_per_mtok"], shown["output_usd_per_mtok"]) == (
        2.0, 1.0, 8.0)
    fetched = stored["fetched_at"][:16].replace("T", " ")
    assert shown["source"].startswith(f"genai-prices data fetched {fetched} UTC, sha256 {stored['sha256'][:8]} "
                                      "(prices/genai-prices.json): openai/gpt-4o")
    # a model the fetched copy lacks keeps its packaged price (gpt-4o-mini: $0.15 in, $0.60 out)
    mini = json.loads(_forecast(tmp_path, "prices", "gpt-4o-mini", "--format", "json", "--prices", "none").stdout)
    assert (mini["input_usd_per_mtok"], mini["output_usd_per_mtok"]) == (0.15, 0.6)
    # ingest prices with it: 1M input x $2.00 + 100k output x $8.00 per Mtok = $2.80
    (tmp_path / "calls.csv").write_text("timestamp,request_id,provider,model,input_tokens,output_tokens\n"
                                        "2026-11-01T00:00:00Z,a,openai,gpt-4o,1000000,100000\n")
    loaded = _forecast(tmp_path, "ingest", "calls.csv", "--prices", "none")
    assert "accepted cost $2.80" in loaded.stdout, loaded.stdout + loaded.stderr
    provenance = _forecast(tmp_path, "prices", "gpt-4o")  # the packaged data is not used: no price of $2.50 shown
    assert "2.50" not in provenance.stdout


def test_report_provenance_names_the_refreshed_data(tmp_path, monkeypatch):
    from forecast.design import price_data
    from forecast.reporting.provenance import price_data as provenance

    monkeypatch.chdir(tmp_path)
    assert provenance().startswith("genai-prices 0.")
    with serving(json.dumps(DATA).encode()) as url:
        price_data.refresh(url)
    assert provenance().startswith("genai-prices data fetched ")


@pytest.mark.parametrize(("body", "why"), [
    (b"[]", "not genai-prices data: expected a non-empty list of providers"),
    (b'{"providers": []}', "not genai-prices data"),
    (b"<html>rate limited</html>", "not JSON"),
    (json.dumps([{"id": "x", "name": "X", "api_pattern": "x", "models": [
        {"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": "cheap"}}]}]).encode(),
     "not valid genai-prices data"),
    (json.dumps([{"id": "x", "name": "X", "api_pattern": "x", "models": [
        {"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": -2.5, "output_mtok": 1}}]}]).encode(),
     "model x/m has a negative price (-2.5)"),
    (json.dumps([{"id": "x", "name": "X", "api_pattern": "x", "models": [
        {"id": "m", "match": {"equals": "m"}, "prices": []}]}]).encode(), "model x/m has no price"),
    (json.dumps([{"id": "x", "name": "X", "api_pattern": "x", "models": [
        {"id": "m", "match": {"regex": "("}, "prices": {"input_mtok": 1}}]}]).encode(),
     "model x/m has a name pattern that does not work"),
    (b"[" * 100_000, "not JSON"),
])
def test_bad_data_is_refused_and_the_prices_in_use_stay(tmp_path, body, why):
    with serving(body) as url:
        done = _forecast(tmp_path, "prices", "--refresh", "--url", url)
    assert done.returncode == 1 and why in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "prices" / "genai-prices.json").exists()


def test_without_network_the_packaged_prices_stay_and_it_says_so(tmp_path):
    done = _forecast(tmp_path, "prices", "--refresh", "--url", "http://127.0.0.1:9/data.json")
    assert done.returncode == 1
    assert "could not fetch genai-prices data" in done.stderr and "prices stay on genai-prices 0." in done.stderr
    assert _forecast(tmp_path, "prices", "gpt-4o").returncode == 0


def test_a_damaged_stored_copy_is_named_and_a_refresh_replaces_it(tmp_path):
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "genai-prices.json").write_text("{not json")
    broken = _forecast(tmp_path, "prices", "gpt-4o")
    assert broken.returncode == 2 and "prices/genai-prices.json: not readable price data" in broken.stderr
    with serving(json.dumps(DATA).encode()) as url:
        assert _forecast(tmp_path, "prices", "--refresh", "--url", url).returncode == 0
    assert _forecast(tmp_path, "prices", "gpt-4o").returncode == 0
