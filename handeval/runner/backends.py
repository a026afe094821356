"""Where units run: the ``local`` backend (the client itself with one worker, else a process pool
whose workers die with their parent) or ``dask`` (``handeval.runner.cluster``).

Every backend offers the same three calls to the runner: ``submit(function, *args)`` returns a
future, ``next_done()`` the next future that finished, ``abort()`` stops at once (Ctrl-C). The
functions submitted are module-level and their arguments JSON-like, so that they pickle by name.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from handeval.runner.worker import release_contexts
from handeval.util.errors import HandevalError
from handeval.util.workers import init_worker

BACKENDS = ("local", "dask")
CLUSTERS = ("slurm", "pbs", "lsf")


@dataclass
class Executor:
    """How jobs run. ``backend``: ``local`` or ``dask``; ``workers``: processes (the local pool,
    or a Dask ``LocalCluster`` started for the job); ``scheduler``: the address of a running Dask
    cluster; ``cluster`` and ``cluster_config``: a dask-jobqueue cluster (``slurm``, ``pbs``,
    ``lsf``) from a YAML file (``data_specs/runner.md``); ``retries``: how often a unit that
    raised, or whose worker died, runs again before it is reported as failed.

    Each job starts its workers and stops them when it ends; inside ``with executor:`` the
    jobs share them (``labels all``, the demo), so that a cluster starts once."""

    backend: str = "local"
    workers: int = 1
    scheduler: str | None = None
    cluster: str | None = None
    cluster_config: str | None = None
    retries: int = 2
    _open: object = field(default=None, init=False, repr=False, compare=False)
    _shared: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise HandevalError(f"--executor {self.backend}: choose {' or '.join(BACKENDS)}")
        if self.workers < 1:
            raise HandevalError(f"--workers {self.workers}: give 1 or more")
        if self.scheduler and self.cluster:
            raise HandevalError("--scheduler and --cluster exclude each other: --scheduler joins a running Dask "
                                "cluster, --cluster starts one through your batch system")
        if (self.scheduler or self.cluster) and self.backend != "dask":
            raise HandevalError(f"--{'scheduler' if self.scheduler else 'cluster'} needs --executor dask")
        if self.cluster and self.cluster not in CLUSTERS:
            raise HandevalError(f"--cluster {self.cluster}: choose {', '.join(CLUSTERS)}")
        if bool(self.cluster) != bool(self.cluster_config):
            raise HandevalError("--cluster and --cluster-config go together: the batch system, and the YAML file "
                                "that says what to ask it for (data_specs/runner.md)")

    def __enter__(self) -> Executor:
        self._shared = True
        return self

    def __exit__(self, *exc) -> None:
        self._shared = False
        self.close()

    def open(self):
        """The started backend (started now if it is not)."""
        if self._open is None:
            self._open = open_backend(self)
        return self._open

    def done(self) -> None:
        """A job ended: stop the workers unless jobs share them."""
        if not self._shared:
            self.close()

    def abort(self) -> None:
        """Ctrl-C: stop the workers now, mid-unit."""
        if self._open is not None:
            self._open.abort()
            self._open = None

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


class SerialBackend:
    """The client runs each unit itself, in order: no processes to start, the fastest for small jobs."""

    name, capacity, dashboard = "local", 1, None

    def __init__(self):
        self.workers = 1
        self._done: list[Future] = []

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # KeyboardInterrupt goes on up
            future.set_exception(exc)
        self._done.append(future)
        return future

    def next_done(self) -> Future:
        return self._done.pop(0)

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        release_contexts()


class PoolBackend:
    """A pool of spawned processes (forking after torch has started its threads can deadlock),
    each dying with the client (``init_worker``). A pool broken by a killed worker is replaced."""

    name, dashboard = "local", None

    def __init__(self, workers: int):
        self.workers = workers
        self.capacity = 2 * workers  # a few queued units, so that a broken pool loses little
        self._done: queue.Queue = queue.Queue()
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"), initializer=init_worker,
                                   initargs=(os.getpid(),))

    def submit(self, function, *args) -> Future:
        if self._pool is None:
            self._pool = self._new_pool()
        try:
            future = self._pool.submit(function, *args)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            future = self._pool.submit(function, *args)
        future.add_done_callback(self._done.put)
        return future

    def next_done(self) -> Future:
        while True:
            try:
                return self._done.get(timeout=0.2)  # a short wait, so that Ctrl-C is heard at once
            except queue.Empty:
                continue

    def abort(self) -> None:
        """Kill the workers now: they ignore Ctrl-C, and one may be in the middle of a long unit."""
        if self._pool is not None:
            # concurrent.futures has no public kill before Python 3.14 (terminate_workers).
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.kill()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def open_backend(executor: Executor):
    if executor.backend == "dask":
        try:
            import dask_jobqueue  # noqa: F401
            import distributed  # noqa: F401
        except ImportError:
            raise HandevalError("--executor dask needs Dask: pip install 'handeval[dask]' (dask, distributed and "
                                "dask-jobqueue)") from None
        from handeval.runner.cluster import DaskBackend

        return DaskBackend(executor)
    return SerialBackend() if executor.workers == 1 else PoolBackend(executor.workers)
