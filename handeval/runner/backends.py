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
from pathlib import Path

import yaml

from handeval.runner.worker import release_contexts
from handeval.util.errors import HandevalError, did_you_mean, is_integer
from handeval.util.workers import init_worker

BACKENDS = ("local", "dask")
CLUSTERS = ("slurm", "pbs", "lsf")


#: The cluster config's keys: what each means, and the Python type it takes.
CLUSTER_KEYS: dict[str, tuple[str, type | tuple]] = {
    "cores": ("CPU cores per batch job (required)", int),
    "memory": ("memory per batch job, e.g. 64GB (required)", str),
    "walltime": ("time limit per batch job, HH:MM:SS", str),
    "queue": ("the partition (SLURM) or queue (PBS, LSF)", str),
    "account": ("the account charged (SLURM, PBS); the project on LSF", str),
    "processes": ("Dask worker processes per job (default: one per core, one thread each)", int),
    "jobs": ("how many batch jobs to start (default 1); or adaptive", int),
    "adaptive": ("{minimum: N, maximum: M}: batch jobs started and stopped with the work", dict),
    "job_extra_directives": ("extra #SBATCH / #PBS / #BSUB lines, e.g. [--constraint=avx2]", list),
    "job_script_prologue": ("shell lines run before the worker starts, e.g. [source venv/bin/activate]", list),
    "local_directory": ("each worker's scratch folder (node-local disk)", str),
    "log_directory": ("where the batch jobs' own logs go", str),
    "python": ("the Python that runs the workers (default: this one)", str),
    "interface": ("the network interface the scheduler and workers talk on, e.g. ib0 (default: the host's name)", str),
    "death_timeout": ("seconds a worker waits for a lost scheduler before it exits (default 60)", int),
}
_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster"}


def read_cluster_config(path: str | Path) -> dict:
    """The YAML cluster config, checked key by key; every mistake names the file and the key."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise HandevalError(f"--cluster-config {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise HandevalError(f"--cluster-config {path}: not valid YAML ({exc})") from None
    if not isinstance(config, dict):
        raise HandevalError(f"--cluster-config {path}: expected a mapping of keys ({', '.join(CLUSTER_KEYS)})")
    for key, value in config.items():
        if key not in CLUSTER_KEYS:
            close = did_you_mean(key, CLUSTER_KEYS)
            raise HandevalError(f"--cluster-config {path}: unknown key {key!r}" + (f" (did you mean {close!r}?)" if
                                close else "") + f"; the keys are {', '.join(CLUSTER_KEYS)}")
        what, kind = CLUSTER_KEYS[key]
        ok = is_integer(value) and value > 0 if kind is int else isinstance(value, kind)
        if not ok:
            raise HandevalError(f"--cluster-config {path}: {key} is {value!r}; expected {what}")
    for key in ("cores", "memory"):
        if key not in config:
            raise HandevalError(f"--cluster-config {path}: {key} is missing ({CLUSTER_KEYS[key][0]})")
    if "jobs" in config and "adaptive" in config:
        raise HandevalError(f"--cluster-config {path}: give jobs (a fixed count) or adaptive (bounds), not both")
    bounds = config.get("adaptive", {})
    if set(bounds) - {"minimum", "maximum"} or not all(is_integer(v) and v >= 0 for v in bounds.values()) \
            or bounds.get("minimum", 0) > bounds.get("maximum", bounds.get("minimum", 0)):
        raise HandevalError(f"--cluster-config {path}: adaptive is {bounds!r}; expected {{minimum: N, maximum: M}} "
                            "with 0 <= N <= M")
    return config


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
        if self.cluster_config:
            read_cluster_config(self.cluster_config)  # a mistake in it is named now, not when work is left

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
