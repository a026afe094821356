"""A job as data: the units of work, the context their workers build once, and where the job keeps its records.

A unit is named by a *content key*: the hash of everything its output depends on. A unit whose key
has a finished record (and whose recorded files still match) is not run again, so a rerun, a
resume after a crash and a run on another backend all end with the same files. Units and contexts
hold only JSON values: they travel to a worker as a few hundred bytes, never as pickled objects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

#: How every job's log is named: a file so named says how outputs were made, and is never one of them.
LOG_SUFFIX = ".log.jsonl"


def content_key(*parts) -> str:
    """The sha256 of JSON ``parts``: what a unit's key is made from."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Context:
    """What each worker builds once and hands to every unit it runs: ``factory(**args)``, a
    ``"module:function"`` and its JSON arguments (the reader, the labeler with its MANO layers and
    Open3D scenes, the scorer with its ground truth). A worker keeps the last contexts it built."""

    factory: str
    args: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return json.dumps([self.factory, self.args], sort_keys=True)


@dataclass(frozen=True)
class Unit:
    """One piece of a job: ``key`` (its content key), ``name`` (how messages call it, e.g.
    ``test shard 3``) and the JSON ``args`` of the job's task."""

    key: str
    name: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """Units that one task runs: ``task(context_object, **unit.args)``, a ``"module:function"``
    that writes the unit's files atomically and returns a JSON result whose ``"files"`` maps each
    file it wrote (relative to ``root``) to its sha256. ``journal``: the folder of the units'
    records while the job is under way (removed by :meth:`JobReport.close` once the stage has
    merged them); ``log``: the per-unit log written when the job ends, named ``*.log.jsonl``. Both
    must lie on a file system every worker sees, as ``root`` must."""

    name: str
    task: str
    context: Context
    units: tuple[Unit, ...]
    root: Path
    journal: Path
    log: Path

    def __post_init__(self):
        if not self.log.name.endswith(LOG_SUFFIX):
            raise ValueError(f"job {self.name}: its log {self.log} must end in {LOG_SUFFIX}")
        keys = [u.key for u in self.units]
        if len(set(keys)) != len(keys):
            raise ValueError(f"job {self.name}: two units share a content key")
