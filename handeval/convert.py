"""Converting a dataset reader's sequences into shards, with a manifest, workers and resume.

The plan (which sequences go to which shard) depends only on the source, so shards are
independent units: workers write them in parallel, ``--resume`` skips the ones a
journal records as finished (and whose files still match their checksums), and a rerun
rewrites the same bytes. ``meta/info.json`` is written last, atomically.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shlex
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from handeval import __version__
from handeval.atomic import write_text_atomic
from handeval.conventions import HAND_SIDES
from handeval.errors import HandevalError
from handeval.shards.reader import INFO_PATH
from handeval.shards.records import SequenceRecords
from handeval.shards.schema import FORMAT_VERSION, features_dict
from handeval.checksums import sha256_file
from handeval.shards.writer import PlannedShard, plan_shards, write_shard

JOURNAL = Path("meta") / "progress.jsonl"


class DatasetReader(Protocol):
    name: str
    version: str
    variant: str
    conventions: dict
    root: Path

    def splits(self) -> list[str]: ...
    def default_splits(self) -> list[str]: ...
    def source_files(self, split: str) -> list[Path]: ...
    def sequence_lengths(self, split: str) -> list[tuple[str, int]]: ...
    def read_sequence(self, split: str, name: str) -> SequenceRecords: ...
    def missing(self, split: str) -> dict[str, str]: ...
    def left_out(self, split: str) -> list[str]: ...  # source items not converted, and why


_READER: DatasetReader | None = None  # the forked workers' reader (shared copy-on-write)


def _write_one(root: Path, shard: PlannedShard, chunk_frames: int, skip_bad: bool) -> dict:
    skipped = []

    def records():  # one sequence in memory at a time
        for name in shard.sequences:
            try:
                rec = _READER.read_sequence(shard.split, name)
            except HandevalError as exc:
                if not skip_bad:
                    raise
                skipped.append({"sequence": name, "reason": str(exc)})
                continue
            yield rec

    entry = write_shard(root, shard, records(), chunk_frames)
    if not entry["sequences"]:  # every sequence was skipped: no files
        for f in shard.paths(root).values():
            f.unlink(missing_ok=True)
        entry["files"] = None
    entry["skipped"] = skipped
    return entry


def _journal_entries(root: Path) -> dict[tuple[str, int], dict]:
    path = root / JOURNAL
    done = {}
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by the interruption
        files = entry.get("files") or {}
        if all((root / f["path"]).is_file() and sha256_file(root / f["path"]) == f["sha256"] for f in files.values()):
            done[(entry["split"], entry["index"])] = entry
    return done


def _record(finished, entries: dict, journal, bar) -> None:
    """Journal each finished shard as soon as it exists, so an interruption loses no work."""
    for entry in finished:
        entries[entry["index"]] = entry
        journal.write(json.dumps(entry) + "\n")
        journal.flush()
        bar.update(1)


def convert(reader: DatasetReader, out: str | Path, splits: list[str] | None = None, target_frames: int = 100_000,
            chunk_frames: int = 10_000, workers: int = 1, resume: bool = False, skip_bad: bool = False,
            progress: bool = True, command: list[str] | None = None) -> dict:
    """Convert ``splits`` (default: all present) into ``out``; returns the manifest (info.json)."""
    global _READER
    root = Path(out)
    available = reader.splits()
    splits = splits or reader.default_splits()
    for split in splits:
        if split not in available:
            raise HandevalError(f"split {split!r} is not in the source; found: {', '.join(available) or 'none'}")
    (root / "meta").mkdir(parents=True, exist_ok=True)
    done = _journal_entries(root) if resume else {}
    if not resume:
        (root / JOURNAL).unlink(missing_ok=True)
    info_splits, sources = {}, {}
    for split in splits:
        plan = plan_shards(split, reader.sequence_lengths(split), target_frames)
        sources[split] = [{"path": str(p), "sha256": sha256_file(p)} for p in reader.source_files(split)]
        _READER = reader
        todo = [sh for sh in plan if (split, sh.index) not in done]
        entries = {key[1]: e for key, e in done.items() if key[0] == split}
        bar = tqdm(total=len(plan), initial=len(plan) - len(todo), desc=f"{reader.name} {split}", unit="shard",
                   disable=not progress)
        with open(root / JOURNAL, "a") as journal:
            if workers > 1 and len(todo) > 1:
                with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
                    futures = [pool.submit(_write_one, root, sh, chunk_frames, skip_bad) for sh in todo]
                    finished = (fut.result() for fut in as_completed(futures))
                    _record(finished, entries, journal, bar)
            else:
                _record((_write_one(root, sh, chunk_frames, skip_bad) for sh in todo), entries, journal, bar)
        bar.close()
        shards = [entries[i] for i in sorted(entries)]
        info_splits[split] = {
            "frames": sum(s["files"]["frames"]["rows"] for s in shards if s["files"]),
            "views": sum(s["files"]["views"]["rows"] for s in shards if s["files"]),
            "sequences": sum(len(s["sequences"]) for s in shards),
            "skipped": [k for s in shards for k in s.pop("skipped", [])],
            "missing": reader.missing(split),
            "left_out": reader.left_out(split),
            "shards": [s for s in shards if s["files"]],
        }
    info = {
        "format_version": FORMAT_VERSION,
        "dataset": {"name": reader.name, "version": reader.version, "variant": reader.variant},
        "conventions": {"units": "metres", "camera_frame": "OpenCV (x right, y down, z forward)",
                        "world_frame": "per sequence; views map it to their camera with X_cam = R X + t",
                        "joint_order": "canonical (data_specs/conventions.md)", "hands": list(HAND_SIDES),
                        **reader.conventions},
        "features": features_dict(),
        "splits": info_splits,
        "sources": sources,
        "source_root": str(Path(reader.root).resolve()),
        "converter": {"handeval_version": __version__,
                      "command": shlex.join(command) if command is not None else shlex.join(sys.argv)},
        "target_frames": target_frames, "chunk_frames": chunk_frames,
    }
    write_text_atomic(root / INFO_PATH, json.dumps(info, indent=1, sort_keys=True) + "\n")
    (root / JOURNAL).unlink(missing_ok=True)
    _READER = None
    return info
