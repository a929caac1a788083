"""Serve notebooks/what_if.ipynb as a Voila web app, and build the notebook's panel from its parameters.

The app keeps one kernel preheated (the notebook already run in it), so a page opens without waiting for a
kernel to start and the panel to compute; the URL is printed once that kernel is ready. A page's kernel is shut
down when the page closes (Voila's unload message) or, when that message never comes (a crashed tab, a lost
network), once it has had no page connected and no activity for `idle_timeout_s` seconds. The page is Voila's
lab template without its CDN stylesheets (jupyter/voila/templates/forecast): it loads nothing from elsewhere.

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
from pathlib import Path

from ..core.errors import ForecastError
from ..core.resources import packaged

READY_PATH = "/forecast/ready"  # answers 200 once a preheated kernel has run the notebook (forecast.whatif.server)
POOL_SIZE = 1  # preheated kernels: each holds the panel (about 150 MB) and one refill takes a few seconds
IDLE_TIMEOUT_S = 300
JUPYTER_DATA = Path(__file__).with_name("jupyter")  # a Jupyter data folder holding the forecast Voila template
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


def voila_command(host: str, port: int, idle_timeout_s: int = IDLE_TIMEOUT_S) -> list[str]:
    """The Voila server command line for the what-if notebook: Voila behind the loopback Host and same-origin
    rules of forecast.whatif.server (any Host only when bound to a non-loopback address), with a preheated
    kernel and idle kernels culled (see the module docstring)."""
    notebook = packaged("notebooks", "what_if.ipynb")
    remote = not loopback_address(host)
    return [sys.executable, "-m", "forecast.whatif.server", str(notebook), f"--port={port}", f"--Voila.ip={host}",
            "--Voila.port_retries=0", "--no-browser", "--show_tracebacks=False", "--template=forecast",
            f"--LoopbackVoila.loopback_only={not remote}", "--preheat_kernel=True", f"--pool_size={POOL_SIZE}",
            f"--MappingKernelManager.cull_idle_timeout={idle_timeout_s}",
            f"--MappingKernelManager.cull_interval={max(1, min(60, idle_timeout_s // 2))}"]


def loopback_address(host: str) -> bool:
    """Whether a bind address is this machine only."""
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 300.0) -> None:
    """Poll `url` until it answers 200; raise if the server exits or the time runs out."""
    import urllib.request

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


def voila_env(env: dict[str, str]) -> dict[str, str]:
    """The Voila server's environment: this one, `env` (the FORECAST_WHATIF_* inputs) and JUPYTER_PATH led by the
    folder that holds the forecast template."""
    data_path = os.pathsep.join(p for p in (str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH", "")) if p)
    return {**os.environ, **env, "JUPYTER_PATH": data_path}


def serve(spec: str, host: str, port: int, env: dict[str, str], out=sys.stdout,
          idle_timeout_s: int = IDLE_TIMEOUT_S) -> int:
    """Run Voila until interrupted; prints the URL once the app answers with a preheated kernel ready. Returns the
    server's exit status.

    The server's log (and its kernels', which inherit it) goes to a temporary file, read only when the server
    fails to start: a pipe closed once the app is up made the kernel stall on its first buffered write."""
    port = port or free_port(host)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    child_env = voila_env(env)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen(voila_command(host, port, idle_timeout_s), env=child_env,
                                   stdout=subprocess.DEVNULL, stderr=log)

        def stop(*_):
            process.terminate()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            try:
                wait_until_up(url + READY_PATH.lstrip("/"), process)
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
