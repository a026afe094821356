"""The records of a job's units on disk: one JSON file per finished (or failed) unit, written
atomically by the worker that ran it, and the job's log.

A record is written after the unit's files are in place, so a record always speaks of complete
files; a worker killed before writing it leaves a unit that simply runs again (its files are
rewritten with the same bytes). Each start of a unit appends a line to ``KEY.attempts``, which is
how a unit that was run again (after an error, or on another worker after its worker died) is
counted, on every backend alike.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from handeval.runner.units import Job, Unit
from handeval.util.atomic import append_line, write_text_atomic
from handeval.util.checksums import changed_file


class Journal:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _record(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def _attempts(self, key: str) -> Path:
        return self.folder / f"{key}.attempts"

    def write(self, record: dict) -> None:
        write_text_atomic(self._record(record["key"]), json.dumps(record, sort_keys=True) + "\n")

    def finished(self, unit: Unit, root: Path) -> dict | None:
        """The unit's record if it finished and every file it recorded is still as it wrote it."""
        try:
            record = json.loads(self._record(unit.key).read_text())
        except (OSError, ValueError):
            return None
        if record.get("status") != "done" or changed_file(root, record["result"].get("files") or {}):
            return None
        return record

    def start_attempt(self, key: str, worker: str) -> None:
        append_line(self._attempts(key), worker)

    def attempts(self, key: str) -> int:
        try:
            return len(self._attempts(key).read_text().splitlines())
        except OSError:
            return 0

    def open(self, resume: bool) -> None:
        """Ready the folder for a run: without ``resume`` the records of earlier runs are dropped;
        attempts are counted per run either way."""
        if not resume:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("*.attempts"):
            stale.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the records, and the folder of records that held them if no other job's are left."""
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()
        except OSError:  # other jobs' records are there (or other files)
            pass


def write_log(job: Job, summary: dict, records: list[dict]) -> None:
    """The job's log: a summary line, then each unit's record (timing, peak memory, worker,
    attempts, error) in plan order. Never part of the outputs: it says how they were made."""
    lines = [json.dumps({"job": summary}, sort_keys=True)]
    lines += [json.dumps({k: v for k, v in r.items() if k != "result"}, sort_keys=True) for r in records]
    job.log.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(job.log, "\n".join(lines) + "\n")
