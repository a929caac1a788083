"""A webhook URL that cannot be sent to is a one-line error (exit 2) naming the field and the rule, checked before
anything is computed or sent, and never showing the URL's path, query or user:password (they carry the token)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forecast.budgets.webhook import check_url, post_json, redact
from forecast.cli.main import main
from forecast.core.errors import ForecastError

BAD = [  # URL, what the error says
    ("https://hooks.slack.com/services/T0/B0/s3cr3t-é", "https://hooks.slack.com/…: has a non-ASCII character"),
    ("https://hooks.exämple.com/services/s3cr3t", "https://hooks.exämple.com/…: has a non-ASCII character"),
    ("http://[::1/services/s3cr3t", "http://…: cannot be split into scheme, host and path (an IPv6 host needs"),
    ("https://user:s3cr3t@[::1]:abc/x", "https://[::1]:abc/…: the port must be a whole number from 1 to 65535"),
    ("https://hooks.example:99999/s3cr3t", "https://hooks.example:99999/…: the port must be a whole number"),
    ("https:///services/s3cr3t", "https:///…: has no host"),
    ("https://user:pa\u2100ss@hooks.example/s3cr3t", "https://…: cannot be split into scheme, host and path"),
    ("ftp://hooks.example/s3cr3t", "ftp://hooks.example/…: must start with https://"),
]


@pytest.mark.parametrize("url, says", BAD)
def test_a_bad_url_is_one_line_naming_field_and_rule_without_the_secret(url, says):
    with pytest.raises(ForecastError) as err:
        check_url(url, "FORECAST_WEBHOOK_URL")
    (line,) = err.value.problems
    assert line.startswith(f"FORECAST_WEBHOOK_URL {says}") and "s3cr3t" not in line and "user" not in line
    with pytest.raises(ForecastError, match=r"^webhook URL ") as err:
        post_json(url, {}, retries=0, sleep=lambda s: None)
    assert "s3cr3t" not in str(err.value)
    assert "s3cr3t" not in redact(url)


def test_good_urls_pass_unchanged():
    for url in ("https://hooks.slack.com/services/T0/B0/x?y=1", "http://127.0.0.1:8080/hook",
                "http://[::1]:8080/hook", "https://xn--hooks-exmple-dcb.com/x%C3%A9"):
        assert check_url(url) == url


def test_nothing_is_sent_to_a_bad_url():
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ForecastError, match="non-ASCII"):
            post_json(f"http://127.0.0.1:{httpd.server_address[1]}/s3cr3t-é", {}, retries=0)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert bodies == []


@pytest.mark.parametrize("command", [["budgets", "--month", "2026-10", "--budgets", "budgets.yaml"], ["anomalies"]])
def test_cli_checks_the_url_first_and_exits_2(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("FORECAST_WEBHOOK_URL", "http://[::1/services/T0/B0/s3cr3t")
    monkeypatch.chdir(tmp_path)  # no warehouse and no budget file here: the URL is checked before either is read
    assert main([*command, "--warehouse", str(tmp_path / "none.duckdb"), "--webhook"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: FORECAST_WEBHOOK_URL http://…: cannot be split into scheme, host and path "
                                "(an IPv6 host needs both brackets, as in http://[::1]:8080/PATH)"]
    assert "s3cr3t" not in err
