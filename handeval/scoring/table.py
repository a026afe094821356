"""The per-view error table on disk: Parquet beside the result, one row group per source shard.

Its columns are ``Feature``s, encoded and decoded as every handeval table is: :data:`TABLE_KEYS`
(the view keys and the annotated hand type), the :data:`TABLE_LABELS` present in the ground
truth, and one :func:`quantity_feature` per protocol quantity (NaN = does not count). The file's
metadata records the cache key (protocol, submission, ground truth, handeval version) and each
quantity's shape. While scoring, each shard goes to its own part file, so an interrupted run
resumes where it stopped; the parts are then joined and the table appears atomically.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from handeval.labels.subsets import SUBSET_NAMES, SUBSETS
from handeval.records.schema import KEY_VIEWS, VIEW_FEATURES, Feature
from handeval.scoring.aggregate import ErrorTable
from handeval.util.atomic import atomic_path, write_text_atomic

_META = b"handeval.util.errors"

#: Every table's first columns: the scored view's keys and the hand type its annotation gives.
TABLE_KEYS: tuple[Feature, ...] = tuple(f for f in VIEW_FEATURES if f in KEY_VIEWS or f.name == "hand_type")
#: The ground truth's labels a table carries where the dataset has them: the interaction subsets (one
#: per view, from its frame) and, where occlusion was labelled, which fingers are occluded.
TABLE_LABELS: tuple[Feature, ...] = tuple(f for f in SUBSETS.features if f.name in SUBSET_NAMES) + (
    Feature("fingers_occluded", "bool", (2, 21), "", "the joint's finger is occluded (the occlusion labels' "
            "part_occluded of its part)"),)
_LABELS = {f.name: f for f in TABLE_LABELS}


def quantity_feature(name: str, shape: list[int] | tuple[int, ...]) -> Feature:
    """A protocol quantity's column, ``shape`` per view as the table's metadata records it."""
    return Feature(name, "float32", tuple(shape), "", "the protocol quantity per view, in its kind's unit (metres; "
                   "pixels for MIAA; data_specs/protocols/README.md); NaN: does not count")


def part_table(table: ErrorTable) -> pa.Table:
    n = len(table.sequence)
    keys = [table.sequence, table.frame, table.camera, table.hand_type]
    cols = {f.name: f.encode(v, n) for f, v in zip(TABLE_KEYS, keys)}
    cols.update({k: _LABELS[k].encode(v, n) for k, v in table.labels.items()})
    cols.update({k: quantity_feature(k, v.shape[1:]).encode(v, n) for k, v in table.columns.items() if v is not None})
    return pa.table(cols)


def parts_folder(path: Path) -> Path:
    """Where a table's parts lie while it is computed: ``<path>.parts/``."""
    return Path(path).with_name(Path(path).name + ".parts")


def log_path(path: Path) -> Path:
    """The log of the job that computed the table at ``path``, beside it (``NAME.errors.log.jsonl``)."""
    return Path(path).with_name(Path(path).name.removesuffix(".parquet") + ".log.jsonl")


def part_path(path: Path, index: int) -> Path:
    return parts_folder(path) / f"part-{index:05d}.parquet"


def write_part(path: Path, index: int, table: ErrorTable) -> Path:
    """One source shard's part of the table at ``path``, written atomically (by whichever worker scored it)."""
    out = part_path(path, index)
    with atomic_path(out) as tmp:
        pq.write_table(part_table(table), tmp, compression="zstd")
    return out


class TableWriter:
    """Opens ``<path>.parts/`` for the parts of one computation (``key``) and joins them into ``path``."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = Path(path), key
        self.parts = parts_folder(self.path)
        marker = self.parts / "key.json"
        if self.parts.is_dir() and (not marker.is_file() or json.loads(marker.read_text())["key"] != key):
            shutil.rmtree(self.parts)  # parts of another computation
        self.parts.mkdir(parents=True, exist_ok=True)
        write_text_atomic(marker, json.dumps({"key": key}))

    def sequences(self, indices: list[int]) -> set[str]:
        """The sequences the parts hold: those whose predictions scoring read (and checked)."""
        return {s for i in indices for s in pq.read_table(part_path(self.path, i), columns=["sequence"])
                .column("sequence").to_pylist()}

    def finish(self, indices: list[int], shapes: dict[str, list[int] | None], verdict: dict) -> None:
        """Join the parts; ``verdict`` (the result's deviations, synthetic flag and warnings) is kept with
        the numbers, so that a result claiming another verdict is known to be edited."""
        files = [part_path(self.path, i) for i in indices]
        schema = _unify([pq.read_schema(f) for f in files])
        meta = {_META: json.dumps({"key": self.key, "shapes": shapes, "verdict": verdict}).encode()}
        schema = schema.with_metadata(meta)
        with atomic_path(self.path) as tmp:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
                for f in files:  # one part in memory at a time
                    t = pq.read_table(f)
                    if t.num_rows:
                        w.write_table(t.select(schema.names).cast(schema))
        shutil.rmtree(self.parts)


def _unify(schemas: list[pa.Schema]) -> pa.Schema:
    """Parts of empty shards have only the keys; the schema is the widest part's."""
    return max(schemas, key=lambda s: len(s.names), default=pa.schema(
        [pa.field(f.name, f.arrow_type()) for f in TABLE_KEYS])).remove_metadata()


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
    sequence, frame, camera, hand_type = (f.decode(t.column(f.name), str(path)) for f in TABLE_KEYS)
    labels = {f.name: f.decode(t.column(f.name), str(path)) for f in TABLE_LABELS if f.name in t.column_names}
    columns = {q: (quantity_feature(q, shape).decode(t.column(q), str(path))
                   if shape is not None and q in t.column_names else None)
               for q, shape in meta["shapes"].items()}
    return ErrorTable(sequence.astype(str), frame, camera.astype(str), hand_type.astype(str), labels, columns)
