"""Helpers for tests that run a server in its own process group (what-if, JupyterLab)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading


def printed_url(proc: subprocess.Popen, timeout_s: float = 60) -> re.Match:
    """The http://127.0.0.1:PORT/ URL on the server's first stdout line (waited for up to timeout_s)."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line[0] if line else "")
    assert match, f"no URL printed: {line!r} {proc.poll()!r}"
    return match


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it is still there after 20 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def kernel_processes(root_pid: int) -> list[int]:
    """The IPython kernels started under process `root_pid` (kernels start in their own sessions, so they are
    found by parent links, not by process group)."""
    parent, kernels = {}, []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                parent[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if b"ipykernel" in fh.read():
                    kernels.append(int(entry))

    def descends(pid: int) -> bool:
        while pid > 1:
            if pid == root_pid:
                return True
            pid = parent.get(pid, 0)
        return False

    return [k for k in kernels if descends(k)]

