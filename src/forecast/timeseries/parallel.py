"""Fan-out of per-series work: in this process, on local worker processes, or on a Dask cluster.

`scheduler`: None or "local" = a local process pool (one worker per core; in-process when there are
few series, since starting workers costs more than it saves), "serial" = this process,
"tcp://HOST:PORT" (or any Dask address) = an existing Dask distributed cluster. Work is shipped in
chunks of series; a progress bar (tqdm, on stderr) advances per series as chunks finish.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from ..core.errors import ForecastError, ParameterError

SERIAL_BELOW = 16  # fewer series than this run in-process under "local"
CONNECT_TIMEOUT_S = 10  # waiting for a Dask scheduler to answer
DASK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def _run_chunk(fn: Callable, chunk: Sequence[tuple]) -> list:
    """fn over a chunk with BLAS held to one thread (per-series fits are tiny; threads only contend)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return [fn(*args) for args in chunk]


def chunks_of(items: Sequence, n_chunks: int) -> list[list]:
    """Items split into at most n_chunks contiguous chunks of near-equal size (order kept)."""
    n_chunks = max(1, min(n_chunks, len(items)))
    size, extra = divmod(len(items), n_chunks)
    out, start = [], 0
    for i in range(n_chunks):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def _bar(total: int, progress: bool | None):
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="series", file=sys.stderr, dynamic_ncols=True)


def check_scheduler(scheduler: str | None) -> None:
    """None, "local", "serial" or a Dask address PROTOCOL://HOST:PORT; anything else is a ParameterError, raised
    before any work (a malformed address would leave a half-made Dask client waiting 20 s to close).

    >>> check_scheduler("tcp://127.0.0.1:8786"), check_scheduler("serial")
    (None, None)
    >>> check_scheduler("bogus")
    Traceback (most recent call last):
    ...
    forecast.core.errors.ParameterError: scheduler 'bogus': must be local, serial or a Dask address like tcp://HOST:PORT
    """
    if scheduler in (None, "local", "serial"):
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(scheduler)
        ok = (parts.scheme in DASK_PROTOCOLS and bool(parts.hostname)
              and (parts.port is not None or parts.scheme == "inproc"))  # inproc://HOST/PID/N: a cluster in-process
    except ValueError:
        ok = False
    if not ok:
        raise ParameterError("scheduler", repr(scheduler), "must be local, serial or a Dask address like "
                             "tcp://HOST:PORT")


def fan_out(fn: Callable, tasks: Sequence[tuple], scheduler: str | None = None, progress: bool | None = None) -> list:
    """[fn(*task) for task in tasks], computed where `scheduler` says; results in task order."""
    bar = _bar(len(tasks), progress)
    try:
        if scheduler == "serial" or (scheduler in (None, "local") and len(tasks) < SERIAL_BELOW):
            out = []
            for t in tasks:
                out += _run_chunk(fn, [t])
                if bar:
                    bar.update(1)
            return out
        if scheduler in (None, "local"):
            return _local(fn, tasks, bar)
        return _dask(fn, tasks, scheduler, bar)
    finally:
        if bar:
            bar.close()


def _gather(futures: dict[Any, int], n: int, bar, completed: Callable) -> list:
    parts: list = [None] * n
    for fut in completed(futures):
        parts[futures[fut]] = fut.result()
        if bar:
            bar.update(len(parts[futures[fut]]))
    return [r for part in parts for r in part]


def _local(fn: Callable, tasks: Sequence[tuple], bar) -> list:
    workers = os.cpu_count() or 1
    chunks = chunks_of(tasks, workers * 8)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_chunk, fn, c): i for i, c in enumerate(chunks)}
        return _gather(futures, len(chunks), bar, as_completed)


def _dask(fn: Callable, tasks: Sequence[tuple], address: str, bar) -> list:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ForecastError("scheduler: a Dask address needs the 'dask' extra: pip install 'forecast[dask]'") from None
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ForecastError(f"scheduler: {address!r}: cannot connect to a Dask scheduler ({exc})") from None
    with client:
        cores = sum(client.nthreads().values()) or 1
        chunks = chunks_of(tasks, cores * 8)
        futures = {client.submit(_run_chunk, fn, c, pure=False): i for i, c in enumerate(chunks)}
        return _gather(futures, len(chunks), bar, lambda fs: dask_completed(list(fs), loop=client.loop))
