"""Serve notebooks/what_if.ipynb as a Voila web app, and build the notebook's panel from its parameters.

The command and the notebook talk through environment variables (Voila's kernel inherits the
server's environment): FORECAST_WHATIF_SPEC, _PRICES, _PRICE_DATE, _SAVE_DIR and _SAMPLES override
the notebook's `parameters` cell. Relative paths are relative to the current folder, as everywhere.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from ..core.errors import ForecastError
from ..core.resources import packaged

ENV = {"spec": "FORECAST_WHATIF_SPEC", "prices": "FORECAST_WHATIF_PRICES", "price_date": "FORECAST_WHATIF_PRICE_DATE",
       "save_dir": "FORECAST_WHATIF_SAVE_DIR", "samples": "FORECAST_WHATIF_SAMPLES"}
LOOPBACK = "127.0.0.1"


def panel_from_parameters(spec: str, prices: str, price_date: str, samples: int, seed: int, save_dir: str):
    """The notebook's panel: its parameters, overridden by the FORECAST_WHATIF_* environment variables."""
    from .panel import what_if_panel

    spec = os.environ.get(ENV["spec"], spec)
    prices = os.environ.get(ENV["prices"], prices)
    price_date = os.environ.get(ENV["price_date"], price_date)
    save_dir = os.environ.get(ENV["save_dir"], save_dir)
    samples = int(os.environ.get(ENV["samples"], samples))
    return what_if_panel(spec, prices, price_date, save_dir, samples, seed)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def voila_command(host: str, port: int) -> list[str]:
    """The Voila server command line for the what-if notebook: Voila behind the loopback Host and same-origin
    rules of forecast.whatif.server (any Host only when bound to a non-loopback address)."""
    notebook = packaged("notebooks", "what_if.ipynb")
    remote = not loopback_address(host)
    return [sys.executable, "-m", "forecast.whatif.server", str(notebook), f"--port={port}", f"--Voila.ip={host}",
            "--Voila.port_retries=0", "--no-browser", "--show_tracebacks=False",
            f"--LoopbackVoila.loopback_only={not remote}"]


def loopback_address(host: str) -> bool:
    """Whether a bind address is this machine only."""
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Poll `url` until it answers; raise if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ForecastError(f"the Voila server exited with status {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise ForecastError(f"the Voila server did not answer at {url} within {timeout_s:.0f} s")


def serve(spec: str, host: str, port: int, env: dict[str, str], out=sys.stdout) -> int:
    """Run Voila until interrupted; prints the URL once the app answers. Returns the server's exit status.

    The server's log (and its kernels', which inherit it) goes to a temporary file, read only when the server
    fails to start: a pipe closed once the app is up made the kernel stall on its first buffered write."""
    port = port or free_port(host)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    child_env = {**os.environ, **env}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen(voila_command(host, port), env=child_env, stdout=subprocess.DEVNULL, stderr=log)

        def stop(*_):
            process.terminate()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            try:
                wait_until_up(url, process)
            except ForecastError:
                stop()
                process.wait(timeout=10)
                log.seek(0)
                tail = log.read().strip().splitlines()[-3:]
                raise ForecastError([f"forecast whatif {spec}: cannot start the app at {url}", *tail]) from None
            print(f"what-if panel for {spec}: {url}  (Ctrl-C to stop)", file=out, flush=True)
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            signal.signal(signal.SIGTERM, previous)
