"""Webhook delivery against a local HTTP server on 127.0.0.1: payload, retries, backoff, timeout, no secret in logs."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forecast.budgets.webhook import post_json, redact, slack_payload
from forecast.core.errors import ForecastError

SECRET = "/services/T000/B000/s3cr3t-token"


@pytest.fixture
def server():
    """A server that answers the queued statuses in turn (then 200); 'sleep' delays the answer by 2 s."""
    state = {"plan": [], "bodies": [], "auth": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state["auth"].append(self.headers.get("Authorization"))
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            step = state["plan"].pop(0) if state["plan"] else 200
            if step == "sleep":
                time.sleep(2.0)
                step = 200
            try:
                self.send_response(step)
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}{SECRET}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def test_user_and_password_in_the_url_go_as_basic_auth(server):
    url = server["url"].replace("http://", "http://hook%20user:p%40ss@")
    assert post_json(url, {"text": "hi"}, retries=0).status == 200
    # base64 of "hook user:p@ss", worked with the standard library's codec
    assert server["auth"] == ["Basic aG9vayB1c2VyOnBAc3M="]


def test_payload_is_slack_shaped_and_truncated():
    p = slack_payload("budgets 2026-10", [f"line {i}" for i in range(45)], pages=True)
    assert p["text"].startswith(":rotating_light: budgets 2026-10\n• line 0")
    header = {"type": "plain_text", "text": ":rotating_light: budgets 2026-10"}
    assert p["blocks"][0] == {"type": "header", "text": header}
    assert p["blocks"][1]["type"] == "section" and p["blocks"][1]["text"]["type"] == "mrkdwn"
    assert p["text"].endswith("• … and 5 more") and "line 39" in p["text"] and "line 40" not in p["text"]


def test_retries_server_errors_with_exponential_backoff(server, caplog):
    server["plan"] = [500, 503, 429]
    waits = []
    with caplog.at_level(logging.WARNING):
        d = post_json(server["url"], {"text": "hi"}, retries=3, backoff_s=0.25, sleep=waits.append)
    assert (d.attempts, d.status) == (4, 200) and waits == [0.25, 0.5, 1.0]
    assert server["bodies"] == [{"text": "hi"}] * 4
    assert "HTTP 500" in caplog.text and SECRET not in caplog.text and "s3cr3t" not in caplog.text


def test_gives_up_after_the_retries_and_does_not_retry_client_errors(server, caplog):
    server["plan"] = [500] * 5
    with caplog.at_level(logging.WARNING), pytest.raises(ForecastError, match="gave up after 3 attempts") as err:
        post_json(server["url"], {}, retries=2, backoff_s=0, sleep=lambda s: None)
    assert "s3cr3t" not in str(err.value) and "s3cr3t" not in caplog.text and len(server["bodies"]) == 3
    server["plan"], server["bodies"] = [404], []
    with pytest.raises(ForecastError, match="HTTP 404: rejected"):
        post_json(server["url"], {}, retries=3, sleep=lambda s: None)
    assert len(server["bodies"]) == 1


def test_timeout_is_retried(server):
    server["plan"] = ["sleep"]
    start = time.monotonic()
    d = post_json(server["url"], {}, timeout_s=0.3, retries=1, backoff_s=0, sleep=lambda s: None)
    assert d.attempts == 2 and time.monotonic() - start < 2.0  # did not wait for the slow answer


def test_redact_and_bad_scheme():
    assert redact("https://user:pw@hooks.slack.com/services/T/B/x?y=1") == "https://hooks.slack.com/…"
    with pytest.raises(ForecastError, match=r"file:///…: must start with https://"):
        post_json("file:///etc/passwd", {})
    # a pasted URL with a space: urllib's own error would quote the whole URL, token included
    with pytest.raises(ForecastError, match=r"https://hooks.example/…: contains a space") as err:
        post_json("https://hooks.example/services/s3cr3t token", {})
    assert "s3cr3t" not in str(err.value)


def test_a_garbled_answer_is_retried_without_the_url(caplog):
    # a server on 127.0.0.1 that answers with a broken status line: http.client raises BadStatusLine
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def answer():
        for _ in range(2):
            conn, _ = srv.accept()
            conn.recv(65536)
            conn.sendall(b"garbage\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{srv.getsockname()[1]}{SECRET}"
    with caplog.at_level(logging.WARNING), pytest.raises(ForecastError, match="gave up after 2 attempts") as err:
        post_json(url, {}, retries=1, backoff_s=0, sleep=lambda s: None)
    thread.join(timeout=5)
    srv.close()
    assert "BadStatusLine" in str(err.value) and "s3cr3t" not in str(err.value) + caplog.text
