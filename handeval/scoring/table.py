"""The per-view error table on disk: Parquet beside the result, one row group per source shard.

Columns: the view keys (``sequence``, ``frame``, ``camera``), the annotated ``hand_type``,
the labels present in the ground truth (``interacting``, ``close``, ``single_hand``,
``fingers_occluded`` (2, 21)), and one fixed-size float32 list per protocol quantity
(NaN = does not count). The file's metadata records the cache key (protocol, submission,
ground truth, handeval version) and each quantity's shape. While scoring, each shard goes
to its own part file, so an interrupted run resumes where it stopped; the parts are then
joined and the table appears atomically.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from handeval.scoring.aggregate import ErrorTable
from handeval.util.atomic import atomic_path, write_text_atomic

_META = b"handeval.util.errors"
_KEYS = ("sequence", "frame", "camera", "hand_type")


def _column(values: np.ndarray) -> pa.Array:
    if values.ndim == 1:
        return pa.array(values)
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, int(np.prod(values.shape[1:])))


def part_table(table: ErrorTable) -> pa.Table:
    cols = {"sequence": pa.array(table.sequence.astype(str)), "frame": pa.array(table.frame.astype(np.int64)),
            "camera": pa.array(table.camera.astype(str)), "hand_type": pa.array(table.hand_type.astype(str))}
    cols.update({k: _column(v) for k, v in table.labels.items()})
    cols.update({k: _column(v) for k, v in table.columns.items() if v is not None})
    return pa.table(cols)


class TableWriter:
    """Writes parts per shard under ``<path>.parts/`` and joins them into ``path``."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = Path(path), key
        self.parts = self.path.with_name(self.path.name + ".parts")
        marker = self.parts / "key.json"
        if self.parts.is_dir() and (not marker.is_file() or json.loads(marker.read_text())["key"] != key):
            shutil.rmtree(self.parts)  # parts of another computation
        self.parts.mkdir(parents=True, exist_ok=True)
        write_text_atomic(marker, json.dumps({"key": key}))

    def part_path(self, index: int) -> Path:
        return self.parts / f"part-{index:05d}.parquet"

    def done(self, index: int) -> bool:
        return self.part_path(index).is_file()

    def write_part(self, index: int, table: ErrorTable) -> None:
        with atomic_path(self.part_path(index)) as tmp:
            pq.write_table(part_table(table), tmp, compression="zstd")

    def finish(self, indices: list[int], shapes: dict[str, list[int] | None], verdict: dict) -> None:
        """Join the parts; ``verdict`` (the result's deviations, synthetic flag and warnings) is kept with
        the numbers, so that a result claiming another verdict is known to be edited."""
        files = [self.part_path(i) for i in indices]
        tables = [pq.read_table(f) for f in files]
        schema = _unify(tables)
        meta = {_META: json.dumps({"key": self.key, "shapes": shapes, "verdict": verdict}).encode()}
        schema = schema.with_metadata(meta)
        with atomic_path(self.path) as tmp:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
                for t in tables:
                    if t.num_rows:
                        w.write_table(t.select(schema.names).cast(schema))
        shutil.rmtree(self.parts)


def _unify(tables: list[pa.Table]) -> pa.Schema:
    """Parts of empty shards have only the keys; the schema is the widest part's."""
    return max((t.schema for t in tables), key=lambda s: len(s.names), default=pa.schema(
        [pa.field(k, pa.string() if k != "frame" else pa.int64()) for k in _KEYS])).remove_metadata()


def cached_key(path: Path) -> str | None:
    """The cache key an existing table was computed under (None if there is none)."""
    if not Path(path).is_file():
        return None
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[_META])["key"] if _META in meta else None


def table_verdict(path: Path) -> dict:
    """The verdict recorded with a table's numbers (``TableWriter.finish``)."""
    return json.loads((pq.read_schema(path).metadata or {})[_META]).get("verdict", {})


def read_table(path: Path) -> ErrorTable:
    meta = json.loads((pq.read_schema(path).metadata or {})[_META])
    t = pq.read_table(path)
    shapes: dict = meta["shapes"]

    def arr(name: str, shape) -> np.ndarray:
        col = t.column(name).combine_chunks()
        if not shape:
            return col.to_numpy(zero_copy_only=False)
        return col.values.to_numpy(zero_copy_only=False).reshape((len(col),) + tuple(shape))

    labels = {}
    for name in ("interacting", "close", "single_hand", "fingers_occluded"):
        if name in t.column_names:
            labels[name] = arr(name, (2, 21) if name == "fingers_occluded" else ())
    columns = {q: (arr(q, shape) if shape is not None and q in t.column_names else None)
               for q, shape in shapes.items()}
    return ErrorTable(np.asarray(t.column("sequence").to_pylist(), dtype=str), t.column("frame").to_numpy(),
                      np.asarray(t.column("camera").to_pylist(), dtype=str),
                      np.asarray(t.column("hand_type").to_pylist(), dtype=str), labels, columns)
