"""The Dask backend: a running cluster (``--scheduler``), a ``LocalCluster`` started for the job,
or a batch-system cluster started through dask-jobqueue from a small YAML file (``--cluster
slurm|pbs|lsf --cluster-config FILE``; the keys are ``backends.CLUSTER_KEYS``, documented with
examples in ``data_specs/runner.md``).

Dask and dask-jobqueue are the ``dask`` extra (``pip install 'handeval[dask]'``): only this module
imports them, and only when a job asks for Dask.
"""

from __future__ import annotations

import logging
import shutil

import distributed

from handeval.runner.backends import Executor, read_cluster_config
from handeval.util.errors import HandevalError
from handeval.util.workers import die_with_parent

_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster"}


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
            submit = self._cluster.job_cls.submit_command
            if shutil.which(submit) is None:  # dask-jobqueue would retry in the background, and the job wait
                self._cluster.close()
                raise HandevalError(f"--cluster {executor.cluster}: `{submit}` is not on this machine's PATH; run the "
                                    "command where the batch system's commands work (a login node)")
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
