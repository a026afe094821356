"""One runner for every stage: a job is a plan of units with content keys, run on the local
backend or on Dask (SLURM, PBS and LSF through dask-jobqueue), resumable, with per-unit records.
``data_specs/runner.md`` describes it."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Context": "units", "Job": "units", "LOG_SUFFIX": "units", "Unit": "units", "content_key": "units",
    "Executor": "backends", "JobReport": "run", "UnitsFailed": "run", "run_job": "run",
})
