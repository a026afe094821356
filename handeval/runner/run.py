"""Running a job: skip the units whose records say they are finished, run the rest on a backend,
retry a unit that raised or lost its worker, report the ones that still fail by name, and log
every unit's time and peak memory.

The stage that made the job then merges the units' results into its one output (the manifest, the
error table) in plan order, so the output never depends on the backend, the number of workers or
the order units finished in, and calls :meth:`JobReport.close`.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass

from tqdm import tqdm

from handeval.runner.backends import Executor
from handeval.runner.journal import Journal, write_log
from handeval.runner.units import Job
from handeval.runner.worker import execute
from handeval.util.errors import HandevalError

#: How often a unit that never started (its pool broke while it waited) is queued again.
_MAX_REQUEUED = 10


class UnitsFailed(HandevalError):
    """Units of a job failed; the ``finished`` others are kept. ``internal``: some failure was not
    the user's input (an exception in handeval, or a worker lost on every attempt)."""

    def __init__(self, message: str, failed: list[dict], finished: int, internal: bool):
        super().__init__(message)
        self.failed, self.finished, self.internal = failed, finished, internal


@dataclass
class JobReport:
    """What a run of a job did. ``records``: each unit's record, in plan order."""

    job: Job
    backend: str
    workers: int
    records: list[dict]
    skipped: int
    retried: int
    wall_s: float
    dashboard: str | None = None

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "done"]

    @property
    def results(self) -> list[dict]:
        """Each finished unit's result, in plan order."""
        return [r["result"] for r in self.records if r["status"] == "done"]

    def summary(self) -> dict:
        """The ``--json`` summary of the run."""
        return {"job": self.job.name, "backend": self.backend, "workers": self.workers, "units": len(self.records),
                "done": len(self.records) - self.skipped - len(self.failed), "skipped": self.skipped,
                "retried": self.retried, "failed": [{"unit": r["name"], "error": r["error"]} for r in self.failed],
                "wall_s": round(self.wall_s, 3), "log": str(self.job.log)}

    def close(self) -> None:
        """Drop the units' records once the stage has merged them into its output."""
        Journal(self.job.journal).clear()


def _note(message: str) -> None:
    tqdm.write(message, file=sys.stderr)  # never into a progress bar's line


def run_job(job: Job, executor: Executor | None = None, progress: bool = True, resume: bool = True,
            known: dict[str, dict] | None = None) -> JobReport:
    """Run ``job``'s units that are not finished (all of them without ``resume``); raises
    :class:`UnitsFailed` naming each unit that failed after its retries, once the others are done.
    ``known``: results the stage already holds for some units (from its own manifest, their files
    checked), by unit key; those units are skipped like the ones the journal records."""
    executor = executor or Executor()
    journal = Journal(job.journal)
    journal.open(resume)
    started = time.perf_counter()
    records: dict[str, dict] = {}
    for unit in job.units if resume else ():
        if unit.key in (known or {}):
            records[unit.key] = {"key": unit.key, "name": unit.name, "status": "done", "result": known[unit.key],
                                 "error": None, "kept": "from the stage's own records"}
            continue
        record = journal.finished(unit, job.root)
        if record is not None:
            records[unit.key] = record
    skipped = len(records)
    todo = [u for u in job.units if u.key not in records]
    bar = tqdm(total=len(job.units), initial=skipped, desc=job.name, unit="unit", disable=not progress)
    causes, name, workers, dashboard = {}, executor.backend, executor.workers, None
    try:
        if todo:
            backend = executor.open()
            workers, dashboard = backend.workers, backend.dashboard
            if dashboard:
                _note(f"Dask dashboard: {dashboard}")
            causes = _drive(job, backend, todo, executor.retries, journal, records, bar)
    except BaseException:
        executor.abort()
        raise
    finally:
        executor.done()
        bar.close()
    ordered = [dict(records[u.key], attempts=journal.attempts(u.key)) for u in job.units]
    report = JobReport(job, name, workers, ordered, skipped, sum(r["attempts"] > 1 for r in ordered),
                       time.perf_counter() - started, dashboard)
    write_log(job, report.summary(), ordered)
    if report.failed:
        raise _failure(report, causes)
    return report


def _drive(job: Job, backend, todo: list, retries: int, journal: Journal, records: dict, bar) -> dict:
    """Run ``todo`` to the end; returns the exception behind each unit that failed internally."""
    waiting, running, requeued, causes = deque(todo), {}, Counter(), {}
    while waiting or running:
        while waiting and len(running) < backend.capacity:
            unit = waiting.popleft()
            running[backend.submit(execute, job.task, job.context, unit, str(job.journal), str(job.root))] = unit
        future = backend.next_done()
        unit = running.pop(future)
        try:
            record = future.result()
        except Exception as exc:  # raised in the unit, or its worker died
            tries = journal.attempts(unit.key)
            requeued[unit.key] += tries == 0
            if tries <= retries and requeued[unit.key] <= _MAX_REQUEUED:
                waiting.appendleft(unit)
                continue
            causes[unit.key] = exc
            record = {"key": unit.key, "name": unit.name, "status": "failed", "result": None, "internal": True,
                      "error": f"{type(exc).__name__}: {exc}".strip(),
                      "traceback": "".join(traceback.format_exception(exc))}
            journal.write(record)
        records[unit.key] = record
        bar.update(1)
    return causes


def _failure(report: JobReport, causes: dict) -> UnitsFailed:
    """One message: the first failed unit's error on the first line (it names the culprit), the unit
    after it; then every failed unit."""
    failed = report.failed
    internal = any(r.get("internal") for r in failed)
    others = len(report.records) - len(failed)
    first = failed[0]
    text = f"{first['error']}\n(in {report.job.name}, {first['name']})"
    if len(failed) > 1:
        text += f"\n{len(failed)} of {len(report.records)} units failed:\n" + "\n".join(
            f"  {r['name']}: {r['error']}" for r in failed[:10])
        if len(failed) > 10:
            text += f"\n  ... and {len(failed) - 10} more (all in {report.job.log})"
    kept = (f"The {others} other unit{'s are' if others != 1 else ' is'} finished and kept: fix the cause and run "
            "the same command again, which resumes" if others else "Fix the cause and run the same command again")
    if internal:
        kept += "; a failure that is not your input's is a bug: run with --debug, and please report it"
    error = UnitsFailed(f"{text}\n{kept}.", failed, others, internal)
    error.__cause__ = next(iter(causes.values()), None)
    return error
