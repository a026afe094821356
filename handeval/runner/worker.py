"""What runs on a worker: build the job's context once, run a unit, measure it, record it.

The same function runs in the client process (one worker), in the local pool's processes and on
Dask workers, so a unit behaves the same everywhere. A worker keeps the last contexts it built
(``_KEEP``), keyed by their JSON spec, so a job's units share one reader, one set of MANO layers
and Open3D scenes per worker, and nothing heavy is ever pickled with a task.

A unit computes on one thread (torch's and the BLAS's): a multi-threaded reduction adds in an order
that depends on the thread count (MANO's float32 forward moves by 1e-8 m between 1 and 2 threads),
and Dask workers run single-threaded anyway, so only this makes a unit's bytes the same on every
backend. The cores are used by running units side by side.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from threadpoolctl import threadpool_limits

from handeval.runner.journal import Journal
from handeval.runner.units import Context, Unit
from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve

_KEEP = 2
_CONTEXTS: OrderedDict[str, object] = OrderedDict()
_LOCK = threading.Lock()  # a Dask worker may run several threads


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def context_object(context: Context) -> tuple[object, float]:
    """This process's object for ``context`` and the seconds it took to build now (0 if it was kept)."""
    with _LOCK:
        if context.key in _CONTEXTS:
            _CONTEXTS.move_to_end(context.key)
            return _CONTEXTS[context.key], 0.0
        start = time.perf_counter()
        built = resolve(context.factory)(**context.args)
        _CONTEXTS[context.key] = built
        while len(_CONTEXTS) > _KEEP:
            _CONTEXTS.popitem(last=False)
        return built, time.perf_counter() - start


def release_contexts() -> None:
    """Drop the kept contexts (the client does, after running a job's units itself)."""
    with _LOCK:
        _CONTEXTS.clear()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch and the BLAS libraries on one thread for the block. A unit that imports torch itself (the
    conversion never does: torch takes seconds to import) finds ``OMP_NUM_THREADS=1``, so that torch
    starts with one thread; after the block torch has the threads it had, or would have had."""
    torch, env = sys.modules.get("torch"), os.environ.get("OMP_NUM_THREADS")
    before = torch.get_num_threads() if torch is not None else int(env or os.cpu_count() or 1)
    os.environ["OMP_NUM_THREADS"] = "1"
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if env is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = env
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(before)


def _reset_peak_rss() -> bool:
    """Start this process's peak resident set size afresh (Linux: ``clear_refs`` 5), so that the peak
    read after the unit is the unit's own; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def execute(task: str, context: Context, unit: Unit, journal: str, root: str) -> dict:
    """Run ``unit`` and return its record, written to the journal first. A :class:`HandevalError`
    (the user's data, which would fail again) becomes a failed record; any other exception
    propagates, so that the runner retries the unit. ``seconds`` include the context's build
    (``context_seconds``) when this unit was the first of its worker."""
    worker = worker_name()
    records = Journal(journal)
    records.start_attempt(unit.key, worker)
    with one_thread():
        per_unit = _reset_peak_rss()
        started, wall, cpu = time.time(), time.perf_counter(), time.process_time()
        context_seconds = 0.0
        try:
            obj, context_seconds = context_object(context)
            result, status, error = resolve(task)(obj, **unit.args), "done", None
        except HandevalError as exc:  # building the context too: a missing input is the user's
            result, status, error = None, "failed", str(exc)
    record = {"key": unit.key, "name": unit.name, "status": status, "result": result, "error": error,
              "seconds": round(time.perf_counter() - wall, 6), "cpu_seconds": round(time.process_time() - cpu, 6),
              "context_seconds": round(context_seconds, 6), "peak_rss_mib": round(_peak_rss_mib(), 1),
              "peak_rss_of": "unit" if per_unit else "worker", "worker": worker,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}
    records.write(record)
    return record
