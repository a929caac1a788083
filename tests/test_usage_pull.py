"""`forecast pull openai|anthropic` against a local server that speaks the documented protocol (tests/usage_api.py):
paging, rate limiting, errors, resuming, and the admin key kept out of every output, file and table.

Costs by hand from list prices per million tokens: gpt-4o-mini $0.15 in, $0.60 out; text-embedding-3-small $0.02;
claude-haiku-4-5 $1 in, $5 out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from forecast.core.errors import UsageError
from forecast.design.prices import price_book
from forecast.usage.pull import pull
from forecast.usage.reconcile import reconcile as reconcile_invoice
from forecast.usage.warehouse import Warehouse

from .usage_api import KEY, usage_api


@pytest.fixture
def admin_key(monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEY)


def _everything_written(tmp_path: Path) -> str:
    """Every file under tmp_path as text (the warehouse read as bytes), to look for the key."""
    return "".join(p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file())


def test_openai_pull_pages_retries_a_429_and_resumes_after_the_last_day(tmp_path, admin_key):
    waits: list[float] = []
    with usage_api() as api, Warehouse(tmp_path / "w.duckdb") as wh:
        api.throttle = 1
        done = pull("openai", date(2026, 11, 1), wh, tmp_path / "pulls", base_url=api.url, book=price_book(),
                    today=date(2026, 11, 6), sleep=waits.append)
        usage = done.load("openai-usage")
        # 5 days, 2 buckets a page: 3 pages each for completions and embeddings; the 429 waited its Retry-After
        assert (done.page_count("openai-usage"), waits, usage.rows_read, usage.accepted) == (6, [1.0], 10, 10)
        # a day: 1M x $0.15 + 100k x $0.60 + 1M embeddings x $0.02 per Mtok = $0.23; 5 days = $1.15
        assert usage.cost_usd_accepted == Decimal("1.15")
        costs = done.load("openai-costs")  # the costs API's three line items a day, as invoice charges
        assert (costs.kind, costs.accepted, costs.cost_usd_accepted) == ("openai-costs", 15, Decimal("1.15"))
        requests = wh.sql("SELECT sum(request_count) FROM requests").fetchall()[0][0]
        assert requests == 5 * (10 + 20)
        asked = [q for path, q in api.requests if "page" not in q]
        assert {q["group_by"][0] for q in asked} == {"project_id"} and asked[0]["bucket_width"] == ["1d"]
        again = pull("openai", date(2026, 11, 1), wh, tmp_path / "pulls", base_url=api.url, book=price_book(),
                     today=date(2026, 11, 6), sleep=waits.append)
        assert again.reports == () and "already pulled through 2026-11-05" in again.lines()[0]
        api.requests.clear()
        later = pull("openai", date(2026, 11, 1), wh, tmp_path / "pulls", base_url=api.url, book=price_book(),
                     today=date(2026, 11, 7), sleep=waits.append)
        starts = {q["start_time"][0] for _, q in api.requests}
        assert starts == {str((date(2026, 11, 6) - date(1970, 1, 1)).days * 86400)}  # only the new day is asked for
        assert (later.load("openai-usage").accepted, later.load("openai-usage").duplicate,
                later.load("openai-usage").cost_usd_accepted) == (2, 0, Decimal("0.23"))
    assert KEY not in _everything_written(tmp_path)


def test_anthropic_pull_sends_its_headers_and_brackets_and_loads_each_day(tmp_path, admin_key):
    with usage_api() as api, Warehouse(tmp_path / "w.duckdb") as wh:
        done = pull("anthropic", date(2026, 11, 1), wh, tmp_path / "pulls", base_url=api.url, book=price_book(),
                    today=date(2026, 11, 4), sleep=lambda s: None)
        # 3 days of 1M x $1 + 100k x $5 per Mtok = $1.50 a day; the cost report bills the same, in cents
        usage, costs = done.load("anthropic-usage"), done.load("anthropic-costs")
        assert (done.page_count("anthropic-usage"), usage.accepted, usage.cost_usd_accepted) == (2, 3, Decimal("4.5"))
        assert (costs.accepted, costs.cost_usd_accepted) == (6, Decimal("4.5"))
        [month] = reconcile_invoice(wh).frame.itertuples()  # the pulled usage against the pulled costs: no gap
        assert (month.provider, month.logged_usd, month.billed_usd, month.unexplained_usd) == (
            "anthropic", Decimal("4.5"), Decimal("4.5"), Decimal(0))
        _, query = api.requests[0]
        assert query["group_by[]"][:3] == ["model", "service_tier", "context_window"]
        assert query["starting_at"] == ["2026-11-01T00:00:00Z"]
    assert KEY not in _everything_written(tmp_path)


def test_a_wrong_key_stops_with_the_api_message_and_never_shows_the_key(tmp_path, monkeypatch):
    wrong = "sk-admin-WRONG-secret-value"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", wrong)
    with usage_api() as api:
        done = subprocess.run([sys.executable, "-m", "forecast.cli", "pull", "openai", "--since", "2026-11-01",
                               "--warehouse", str(tmp_path / "w.duckdb"), "--save-dir", str(tmp_path / "pulls"),
                               "--base-url", api.url], capture_output=True, text=True, env=os.environ | {})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "HTTP 401: Incorrect API key provided: [key]." in done.stderr
    assert wrong not in done.stderr + done.stdout + _everything_written(tmp_path)


def test_a_long_retry_after_and_a_missing_key_are_clear_errors(tmp_path, admin_key, monkeypatch):
    with usage_api() as api, Warehouse(tmp_path / "w.duckdb") as wh:
        api.throttle, api.retry_after = 1, "3600"
        with pytest.raises(UsageError, match="the API asks to retry after 3600 s"):
            pull("openai", date(2026, 11, 1), wh, tmp_path, base_url=api.url, today=date(2026, 11, 3),
                 sleep=lambda s: None)
        assert wh.sql("SELECT count(*) FROM pulls").fetchall()[0][0] == 0  # nothing recorded: pull again later
        monkeypatch.delenv("ANTHROPIC_ADMIN_KEY")
        with pytest.raises(UsageError, match="ANTHROPIC_ADMIN_KEY is not set"):
            pull("anthropic", date(2026, 11, 1), wh, tmp_path, base_url=api.url)
        with pytest.raises(UsageError, match="must be https"):
            pull("openai", date(2026, 11, 1), wh, tmp_path, base_url="http://usage.example.com")


def test_an_earlier_since_pulls_the_earlier_days_and_finds_the_rest_loaded(tmp_path, admin_key):
    with usage_api() as api, Warehouse(tmp_path / "w.duckdb") as wh:
        pull("anthropic", date(2026, 11, 3), wh, tmp_path, base_url=api.url, book=price_book(), today=date(2026, 11, 5))
        back = pull("anthropic", date(2026, 11, 1), wh, tmp_path, base_url=api.url, book=price_book(),
                    today=date(2026, 11, 5))
        assert (back.start, back.load("anthropic-usage").accepted, back.load("anthropic-usage").duplicate) == (
            date(2026, 11, 1), 2, 2)
        with pytest.raises(UsageError, match="only days that have ended"):
            pull("anthropic", date(2026, 11, 5), wh, tmp_path, base_url=api.url, today=date(2026, 11, 5))


def test_a_redirect_is_not_followed_and_endless_pages_stop(tmp_path, admin_key):
    with usage_api() as api, usage_api() as elsewhere, Warehouse(tmp_path / "w.duckdb") as wh:
        api.redirect = f"{elsewhere.url}/steal"
        with pytest.raises(UsageError, match=r"redirected .* not followed"):
            pull("openai", date(2026, 11, 1), wh, tmp_path, base_url=api.url, today=date(2026, 11, 3))
        assert elsewhere.requests == []  # the key never reached the other address
        api.redirect, api.stuck = None, True
        with pytest.raises(UsageError, match="the pages do not end"):
            pull("openai", date(2026, 11, 1), wh, tmp_path, base_url=api.url, today=date(2026, 11, 3))
        assert wh.sql("SELECT count(*) FROM requests").fetchall()[0][0] == 0


def test_a_pulls_table_from_before_reports_had_a_kind_still_resumes(tmp_path, admin_key):
    with usage_api() as api, Warehouse(tmp_path / "w.duckdb") as wh:
        wh.sql("DROP TABLE pulls")
        wh.sql("CREATE TABLE pulls (source VARCHAR NOT NULL, since DATE NOT NULL, until DATE NOT NULL, "
               "pulled_at TIMESTAMPTZ NOT NULL, file VARCHAR NOT NULL, load_id BIGINT NOT NULL)")
        wh.sql("INSERT INTO pulls VALUES ('anthropic', DATE '2026-11-01', DATE '2026-11-03', now(), 'old.jsonl', 0)")
        wh.sql("ALTER TABLE pulls ADD COLUMN IF NOT EXISTS kind VARCHAR")  # what opening the warehouse does
        done = pull("anthropic", date(2026, 11, 1), wh, tmp_path, base_url=api.url, book=price_book(),
                    today=date(2026, 11, 4))
        # the old row counts as usage through 11-02: usage resumes at 11-03; costs were never pulled: from 11-01
        assert (done.load("anthropic-usage").accepted, done.load("anthropic-costs").accepted) == (1, 6)


def test_a_pull_that_cannot_run_leaves_no_warehouse_behind(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    done = subprocess.run([sys.executable, "-m", "forecast.cli", "pull", "openai", "--since", "2026-11-01"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "OPENAI_ADMIN_KEY is not set" in done.stderr
    assert list(tmp_path.iterdir()) == []
