"""What-if app first paint: seconds from navigation to the first usable slider, preheated against cold.

Both servers serve the packaged example (20,000 draws) with `forecast whatif`'s own Voila command line; the
baseline, measured in the same run, is the same server without Voila's preheated kernel (each page then starts
its kernel and runs the notebook, as every page did before). Each visit waits until the preheated kernel is
ready (`/forecast/ready`) and drives Debian's headless Chromium. Target (issue 20): preheated median <= 3 s.

    .venv/bin/python benchmarks/bench_whatif_first_paint.py [--visits 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from forecast.whatif.app import READY_PATH, free_port, voila_command, voila_env, wait_until_up

CHROMIUM = "/usr/bin/chromium"


def visits(url: str, process: subprocess.Popen, n: int, ready: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            for _ in range(n):
                if ready:
                    wait_until_up(url + READY_PATH.lstrip("/"), process)
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                start = time.monotonic()
                page.goto(url)
                page.locator(".whatif-control-cache_hit_rate .noUi-handle").wait_for(timeout=120_000)
                seconds.append(time.monotonic() - start)
                page.close(run_before_unload=True)  # Voila's unload message frees the page's kernel
        finally:
            browser.close()
    return seconds


def run(preheat: bool, n: int, folder: Path) -> list[float]:
    port = free_port()
    command = voila_command("127.0.0.1", port)
    command[command.index("--preheat_kernel=True")] = f"--preheat_kernel={preheat}"  # the only difference
    env = voila_env({"FORECAST_WHATIF_SAVE_DIR": str(folder)})
    process = subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url + READY_PATH.lstrip("/"), process)
        return visits(url, process, n, preheat)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cold = run(False, args.visits, Path(folder))
        warm = run(True, args.visits, Path(folder))
    for name, s in (("cold (baseline)", cold), ("preheated", warm)):
        print(f"{name:16} median {statistics.median(s):5.2f} s   min {min(s):5.2f}   max {max(s):5.2f}   "
              f"({', '.join(f'{x:.2f}' for x in s)})")
    print(f"preheated / cold: {statistics.median(warm) / statistics.median(cold):.2f}x; "
          f"target median <= 3 s: {'met' if statistics.median(warm) <= 3 else 'missed'}")


if __name__ == "__main__":
    sys.exit(main())
