"""The Dask backend: a running cluster (``--scheduler``), a ``LocalCluster`` started for the job,
or a batch-system cluster started through dask-jobqueue from a small YAML file (``--cluster
slurm|pbs|lsf --cluster-config FILE``; the keys are :data:`CLUSTER_KEYS`, documented with an
example in ``data_specs/runner.md``).

Dask and dask-jobqueue are the ``dask`` extra (``pip install 'handeval[dask]'``): only this module
imports them, and only when a job asks for Dask.
"""

from __future__ import annotations

import logging
from pathlib import Path

import distributed
import yaml

from handeval.runner.backends import Executor
from handeval.util.errors import HandevalError, did_you_mean, is_integer
from handeval.util.workers import die_with_parent

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


def make_cluster(kind: str, config: dict):
    """The dask-jobqueue cluster that ``config`` describes, not yet scaled (``job_script()`` shows
    what it would submit)."""
    import dask_jobqueue

    options = {k: v for k, v in config.items() if k not in ("jobs", "adaptive", "account")}
    options.setdefault("processes", config["cores"])
    options.setdefault("death_timeout", 60)
    if "account" in config:
        options["project" if kind == "lsf" else "account"] = config["account"]
    return getattr(dask_jobqueue, _CLASSES[kind])(silence_logs="error", **options)


class DaskBackend:
    """Units as Dask tasks, one per unit; a worker lost mid-unit has its unit rerun elsewhere by the
    scheduler, and the runner counts it from the unit's attempts."""

    name = "dask"
    capacity = 1 << 30  # every unit at once: the scheduler balances them, and batch jobs may arrive late

    def __init__(self, executor: Executor):
        self._cluster = None
        if executor.scheduler:
            try:
                self.client = distributed.Client(executor.scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise HandevalError(f"--scheduler {executor.scheduler}: no Dask scheduler answers there ({exc}); "
                                    "start one (`dask scheduler`) or check the address") from None
        elif executor.cluster:
            config = read_cluster_config(executor.cluster_config)
            self._cluster = make_cluster(executor.cluster, config)
            if "adaptive" in config:
                bounds = config["adaptive"]
                self._cluster.adapt(minimum_jobs=bounds.get("minimum", 0), maximum_jobs=bounds.get("maximum", 1))
            else:
                self._cluster.scale(jobs=config.get("jobs", 1))
            self.client = distributed.Client(self._cluster)
        else:
            self._cluster = distributed.LocalCluster(n_workers=executor.workers, threads_per_worker=1,
                                                     processes=True, dashboard_address=":0",
                                                     silence_logs=logging.CRITICAL)
            self.client = distributed.Client(self._cluster)
            self.client.register_plugin(DiesWithClient(), name="handeval-dies-with-client")
        self.dashboard = self.client.dashboard_link
        self.workers = len(self.client.scheduler_info().get("workers", {})) or executor.workers
        self._completed = distributed.as_completed()
        self._futures: list = []

    def submit(self, function, *args):
        future = self.client.submit(function, *args, pure=False)
        self._futures.append(future)
        self._completed.add(future)
        return future

    def next_done(self):
        return next(self._completed)

    def abort(self) -> None:
        self.client.cancel(self._futures)
        self.close()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


class DiesWithClient(distributed.WorkerPlugin):
    """A Dask worker plugin for the ``LocalCluster`` the client started: its worker processes are the
    client's children, and die with it (``kill -9`` included)."""

    def setup(self, worker) -> None:
        die_with_parent()
