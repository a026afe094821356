"""A toy job for the runner's tests: unit ``i`` writes ``unit-i.txt`` atomically. Workers import this
module by name (the tests put this folder on their PYTHONPATH)."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

from handeval.runner import Context, Job, Unit, content_key
from handeval.util.atomic import atomic_path
from handeval.util.errors import HandevalError


def toy_job(root: Path, units: int = 6, **behaviour) -> Job:
    """``behaviour``: ``raises`` (unit raising a bug every time), ``bad_input`` (a user error),
    ``killed`` (a unit whose worker is killed mid-write on its first attempt)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    context = Context("runner_tasks:make", {"root": str(root), **behaviour})
    return Job("toy", "runner_tasks:write", context,
               tuple(Unit(content_key("toy", i), f"toy {i}", {"i": i}) for i in range(units)),
               root, root / "units", root / "toy.log.jsonl")


def make(root: str, raises: int | None = None, bad_input: int | None = None, killed: int | None = None) -> dict:
    return {"root": Path(root), "raises": raises, "bad_input": bad_input, "killed": killed, "pid": os.getpid()}


def write(ctx: dict, i: int) -> dict:
    if i == ctx["raises"]:
        raise RuntimeError(f"unit {i} is broken")
    if i == ctx["bad_input"]:
        raise HandevalError(f"input {i}.txt is corrupt")
    out = ctx["root"] / f"unit-{i}.txt"
    text = f"{i}\n" * 1000
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text[:100])
        marker = ctx["root"] / f"killed-{i}"
        if i == ctx["killed"] and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # mid-write: the temporary is half-written
        Path(tmp).write_text(text)
    return {"files": {out.name: hashlib.sha256(text.encode()).hexdigest()}, "value": i * i,
            "context_built_in": ctx["pid"]}
