"""`forecast whatif` answers this machine only: a loopback Host on every request, and websockets from the same
loopback origin (a page on a foreign name rebound to 127.0.0.1 is refused). Real HTTP against one real server."""

from __future__ import annotations

import base64
import http.client
import os
import re
import socket
import subprocess
import sys

import pytest

from tests.servers import printed_url, stop_group

from .test_whatif_browser import ON, ROOT, SPEC

STATIC = "/voila/static/voila.js"  # a file served by tornado's StaticFileHandler, not a Jupyter handler


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One app on a free loopback port for every check here; the process group is killed afterwards."""
    tmp_path = tmp_path_factory.mktemp("whatif-security")
    spec = tmp_path / "simple.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "forecast.cli", "whatif", str(spec), "--port", "0", "--save-dir", str(tmp_path),
         "--date", ON.isoformat(), "--prices", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        yield int(printed_url(proc).group(1))
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def kernel_id(server):
    """The kernel of one page load with a loopback Host (the page starts it)."""
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=120)
    conn.request("GET", "/")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 200
    return re.search(r'"kernelId": "([0-9a-f-]+)"', body).group(1)


def status(port: int, path: str, host: str, origin: str | None = None, websocket: bool = False) -> int:
    """The status code of one raw request with exactly these Host and Origin headers."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if websocket:
        lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                  f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"]
    else:
        lines.append("Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        first = s.makefile("rb").readline().decode()
    return int(first.split()[1])


FOREIGN = ["evil.example:{port}", "evil.example", "127.0.0.1.evil.example:{port}", "localhost.evil.example:{port}",
           "localhost.:{port}", "192.168.1.5:{port}", "[2001:db8::1]:{port}", "0.0.0.0:{port}"]
LOOPBACK = ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}", "127.0.0.1"]


def test_a_foreign_host_is_refused_on_every_path_and_loopback_is_served(server):
    for path in ("/", STATIC, "/voila/templates/lab/static/voila.js", "/api/kernels", "/login", "/voila/files/x.png",
                 "/forecast/ready"):
        got = {host: status(server, path, host.format(port=server)) for host in FOREIGN}
        assert set(got.values()) == {403}, f"{path}: {got}"
    got = {host: status(server, STATIC, host.format(port=server)) for host in LOOPBACK}
    assert set(got.values()) == {200}, got


def test_websockets_need_a_loopback_host_and_the_same_origin(server, kernel_id):
    path = f"/api/kernels/{kernel_id}/channels"
    here = f"127.0.0.1:{server}"
    cases = {  # (Host, Origin) -> status
        # DNS rebinding: Host and Origin agree, on a foreign name
        (f"evil.example:{server}", f"http://evil.example:{server}"): 403,
        (f"localhost.evil.example:{server}", f"http://localhost.evil.example:{server}"): 403,
        (here, f"http://evil.example:{server}"): 403,
        (here, "null"): 403,
        (here, f"http://localhost:{server}"): 403,  # loopback both, but not the same origin
        (f"[::1]:{server}", f"http://evil.example:{server}"): 403,
        (here, f"http://{here}"): 101,
        (f"localhost:{server}", f"http://localhost:{server}"): 101,
    }
    got = {case: status(server, path, *case, websocket=True) for case in cases}
    assert got == cases
    # a plain request from a foreign page is refused too, even with a loopback Host
    assert status(server, STATIC, here, origin=f"http://evil.example:{server}") == 403
    assert status(server, STATIC, here, origin=f"http://{here}") == 200
