"""Writing shards: one row group per sequence chunk, atomic files, byte-identical reruns.

A shard is a pair of files, ``frames-NNNNN.parquet`` and ``views-NNNNN.parquet``, holding
the same sequences. Which sequences go into which shard is planned up front from their
frame counts (:func:`plan_shards`), so a shard can be written, skipped on ``--resume``,
or rewritten identically, independently of the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from handeval.records.schema import FRAME_SCHEMA, VIEW_SCHEMA
from handeval.records.sequence import SequenceRecords
from handeval.util.atomic import atomic_path
from handeval.util.checksums import sha256_file
from handeval.util.workers import signals_deferred

# Fixed writer options: the same records always give the same bytes.
_PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=True,
                        write_statistics=True, data_page_size=1 << 20)


@dataclass(frozen=True)
class PlannedShard:
    split: str
    index: int
    sequences: tuple[str, ...]

    @property
    def stem(self) -> str:
        return f"{self.index:05d}"

    def paths(self, root: Path) -> dict[str, Path]:
        folder = root / "data" / self.split
        return {"frames": folder / f"frames-{self.stem}.parquet", "views": folder / f"views-{self.stem}.parquet"}


def plan_shards(split: str, frame_counts: list[tuple[str, int]], target_frames: int) -> list[PlannedShard]:
    """Greedy, order-preserving packing of whole sequences into shards of about ``target_frames``."""
    shards, current, size = [], [], 0
    for name, count in frame_counts:
        if current and size + count > target_frames:
            shards.append(PlannedShard(split, len(shards), tuple(current)))
            current, size = [], 0
        current.append(name)
        size += count
    if current:
        shards.append(PlannedShard(split, len(shards), tuple(current)))
    return shards


def write_shard(root: Path, shard: PlannedShard, records: Iterable[SequenceRecords], chunk_frames: int) -> dict:
    """Write one shard; returns its manifest entry (files, rows, checksums, sequence index).

    ``records`` may be a generator: sequences are consumed one at a time, so memory holds
    one sequence, not the shard. Both files are renamed into place with SIGINT and SIGTERM
    held: an interruption leaves both or neither.
    """
    planned = iter(shard.sequences)
    paths = shard.paths(root)
    index, row = [], {"frames": 0, "views": 0}
    group = 0
    with contextlib.ExitStack() as files:
        tmp = {kind: files.enter_context(atomic_path(path)) for kind, path in paths.items()}
        with pq.ParquetWriter(tmp["frames"], FRAME_SCHEMA, **_PARQUET_OPTIONS) as fw, \
                pq.ParquetWriter(tmp["views"], VIEW_SCHEMA, **_PARQUET_OPTIONS) as vw:
            for rec in records:
                if not any(rec.sequence == p for p in planned):  # the plan, in order, minus skips
                    raise ValueError(f"shard {shard.split}/{shard.stem}: sequence {rec.sequence} is not in the plan")
                frames, views = rec.frame_table(), rec.view_table()
                _check_sorted(rec, views)
                start = dict(row)
                view_frames = np.asarray(views.column("frame"))
                frame_ids = np.asarray(frames.column("frame"))
                groups = 0
                for lo in range(0, len(frame_ids), chunk_frames):
                    hi = min(lo + chunk_frames, len(frame_ids))
                    v_lo = int(np.searchsorted(view_frames, frame_ids[lo], side="left"))
                    v_hi = int(np.searchsorted(view_frames, frame_ids[hi - 1], side="right"))
                    fw.write_table(frames.slice(lo, hi - lo), row_group_size=hi - lo)
                    vw.write_table(views.slice(v_lo, v_hi - v_lo), row_group_size=max(v_hi - v_lo, 1))
                    groups += 1
                row["frames"] += frames.num_rows
                row["views"] += views.num_rows
                index.append({"sequence": rec.sequence, "frames": [start["frames"], row["frames"]],
                              "views": [start["views"], row["views"]], "row_groups": [group, group + groups],
                              **({"meta": rec.meta} if rec.meta else {})})
                group += groups
        entry = {
            "split": shard.split, "index": shard.index,
            "files": {k: {"path": str(p.relative_to(root)), "rows": row[k], "sha256": sha256_file(tmp[k])}
                      for k, p in paths.items()},
            "sequences": index,
        }
        with signals_deferred():
            files.close()  # the renames into place
    return entry


def _check_sorted(rec: SequenceRecords, views: pa.Table) -> None:
    frames = np.asarray(rec.frames["frame"])
    if len(frames) == 0:
        raise ValueError(f"sequence {rec.sequence}: no frames")
    if len(frames) > 1 and not (np.diff(frames) > 0).all():
        raise ValueError(f"sequence {rec.sequence}: frames must be strictly increasing")
    vf = np.asarray(views.column("frame"))
    if len(vf) > 1 and (np.diff(vf) < 0).any():
        raise ValueError(f"sequence {rec.sequence}: views must be sorted by frame")
