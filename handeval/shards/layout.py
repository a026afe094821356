"""Where things lie in a converted dataset folder, beyond the shards: the label files beside them, and
the records and logs of the jobs that wrote them.

``labels/{set}/{split}/{frames|views}-NNNNN.parquet`` mirrors ``data/{split}/...``; the manifest's
``labels`` section lists each file with its sha256 and the sha256 of the source shard it was computed
from. Validation, the label generators and scoring all find label files here. A job (``convert``,
``labels-{set}``) keeps its units' records in ``meta/units/{job}/`` while it runs and leaves its
per-unit log in ``meta/logs/{job}.log.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

from handeval.shards.manifest import Manifest
from handeval.shards.reader import ShardDataset
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError

#: Where `handeval labels summary` puts its plots unless told otherwise.
SUMMARY_PLOT = Path("labels") / "summary.png"


#: The jobs' logs: how and where each unit ran, never part of the dataset's content.
LOGS = Path("meta") / "logs"


def job_files(root: Path, job: str) -> tuple[Path, Path]:
    """A job's unit records (while it runs) and its log."""
    return root / "meta" / "units" / job, root / LOGS / f"{job}.log.jsonl"


def label_path(root: Path, name: str, split: str, table: str, index: int) -> Path:
    return root / "labels" / name / split / f"{table}-{index:05d}.parquet"


def labels_written(manifest: Manifest) -> set[str]:
    """The files (relative to the dataset folder) that `handeval labels` may have written there."""
    return {rel for entry in manifest.labels.values() for rel in entry.files} | {SUMMARY_PLOT.as_posix()}


def label_file(ds: ShardDataset, name: str, rel: str) -> Path:
    """A label file's verified path (``rel`` as the manifest lists it)."""
    entry = ds.manifest.labels[name].files.get(rel) if name in ds.manifest.labels else None
    if entry is None:
        raise HandevalError(f"{ds.root / rel} is not in {ds.root}'s {name!r} labels; run "
                            f"`handeval labels {name} {ds.root}`")
    return ds.verified(rel, entry.sha256, f"recompute it: `handeval labels {name} {ds.root}`")


def stale_labels(ds: ShardDataset) -> list[tuple[str, str]]:
    """(label set, file) pairs whose source shard changed since they were computed, or are missing."""
    out = []
    for name, entry in ds.manifest.labels.items():
        for rel, f in entry.files.items():
            source = ds.root / f.source
            if not (ds.root / rel).is_file() or not source.is_file() or sha256_file(source) != f.source_sha256:
                out.append((name, rel))
    return out
