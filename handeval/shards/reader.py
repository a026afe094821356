"""Reading a converted dataset: list sequences, read frames and views with filters and column pruning.

The files are plain Parquet: pandas, pyarrow and DuckDB read them directly (see
``data_specs/shards.md``). This module adds the manifest: it finds a sequence's shard and
row groups from ``meta/info.json`` and reads only those, and it turns fixed-size list
columns into numpy arrays of the documented shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from handeval.records.schema import FEATURES, Feature
from handeval.shards.manifest import SequenceEntry, ShardEntry, read_manifest
from handeval.util.checksums import verify_file
from handeval.util.errors import HandevalError


def to_numpy(table: pa.Table, features: str | tuple[Feature, ...]) -> dict[str, np.ndarray]:
    """Columns as numpy of their documented shapes (:meth:`Feature.decode`).

    ``features``: ``"frames"``, ``"views"``, or the features of a label set (keys included).
    """
    feats = {f.name: f for f in (FEATURES[features] if isinstance(features, str) else features)}
    return {name: feats[name].decode(table.column(name)) for name in table.column_names}


def rows_of(left: dict, right: dict, keys: tuple[str, ...] = ("sequence", "frame")) -> np.ndarray:
    """For each row of ``left``, its row in ``right`` by a vectorised join on ``keys`` (-1 if none)."""
    import pandas as pd

    lf = pd.DataFrame({k: left[k] for k in keys})
    rf = pd.DataFrame({**{k: right[k] for k in keys}, "_row": np.arange(len(right[keys[0]]))})
    rows = lf.merge(rf, on=list(keys), how="left", validate="many_to_one")["_row"]
    return rows.fillna(-1).to_numpy().astype(np.int64)


def world_to_camera(points: np.ndarray, R: np.ndarray, t: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Per-view world points (V, ..., N, 3) into each view's camera: ``X_cam = R X + t``.

    A batched matmul: several times faster than the equivalent einsum on vertex arrays.
    """
    R = np.asarray(R, dtype=dtype)
    extra = points.ndim - 3  # axes between the view axis and the points
    Rt = np.swapaxes(R, -1, -2).reshape(R.shape[:1] + (1,) * extra + (3, 3))
    out = np.asarray(points, dtype=dtype) @ Rt
    out += np.asarray(t, dtype=dtype).reshape(R.shape[:1] + (1,) * (extra + 1) + (3,))
    return out


def read_rgb(path: Path) -> np.ndarray:
    """A source image as (H, W, 3) uint8 RGB (grey images replicated, as OpenCV's imread gives them)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError as exc:
        raise HandevalError(f"cannot read image {path} ({exc}); check that the source root given (--root) is the "
                            "folder the dataset was converted from, and that its images were extracted") from None


@dataclass
class SequenceData:
    """One sequence: numpy frame and view columns."""

    name: str
    split: str
    frames: dict[str, np.ndarray]
    views: dict[str, np.ndarray]


class ShardDataset:
    """A converted dataset folder (``meta/info.json`` + ``data/{split}/*.parquet``); ``manifest`` is its
    checked :class:`~handeval.shards.manifest.Manifest`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        self._index: dict[str, tuple[str, ShardEntry, SequenceEntry]] = {
            s.sequence: (split, shard, s) for split, meta in self.manifest.splits.items()
            for shard in meta.shards for s in shard.sequences}
        self._verified: set[Path] = set()

    def verified(self, rel: str, sha256: str, fix: str) -> Path:
        """``root / rel``, its checksum checked against the manifest's once per process (``fix``: what to do if not)."""
        path = self.root / rel
        if path not in self._verified:
            verify_file(path, sha256, fix)
            self._verified.add(path)
        return path

    def shard_file(self, shard: ShardEntry, kind: str) -> Path:
        """The verified path of a shard's ``frames`` or ``views`` file."""
        entry = shard.files[kind]
        return self.verified(entry.path, entry.sha256, f"convert the dataset again (`handeval convert ... --out "
                             f"{self.root} --overwrite`), then recompute its labels")

    @property
    def splits(self) -> list[str]:
        return list(self.manifest.splits)

    def sequences(self, split: str | None = None) -> list[str]:
        return [name for name, (sp, _, _) in self._index.items() if split is None or sp == split]

    def _files(self, kind: str, split: str | None) -> list[Path]:
        splits = [split] if split else self.splits
        for sp in splits:
            if sp not in self.manifest.splits:
                raise HandevalError(f"split {sp!r} is not in {self.root}; it has {', '.join(self.splits)}")
        return [self.shard_file(shard, kind) for sp in splits for shard in self.manifest.splits[sp].shards]

    def read(self, kind: str, split: str | None = None, columns: list[str] | None = None,
             sequences: list[str] | None = None, hand_types: list[str] | None = None) -> pa.Table:
        """Read the ``frames`` or ``views`` table, pruned to ``columns`` and filtered."""
        if kind not in FEATURES:
            raise HandevalError(f"table must be 'frames' or 'views', not {kind!r}")
        filters = []
        if sequences is not None:
            filters.append(pc.field("sequence").isin(list(sequences)))
        if hand_types is not None:
            if kind == "views":  # hand type lives with the frames
                keep = self.read("frames", split, ["sequence", "frame"], sequences, hand_types)
                table = self.read("views", split, None if columns is None else sorted({"sequence", "frame", *columns}),
                                  sequences)
                joined = table.join(keep, keys=["sequence", "frame"], join_type="inner")
                joined = joined.sort_by([("sequence", "ascending"), ("frame", "ascending"), ("camera", "ascending")]) \
                    if "camera" in joined.column_names else joined
                return joined.select(columns) if columns else joined
            filters.append(pc.field("hand_type").isin(list(hand_types)))
        expr = None
        for f in filters:
            expr = f if expr is None else expr & f
        tables = [pq.read_table(p, columns=columns, filters=expr) for p in self._files(kind, split)]
        return pa.concat_tables(tables) if tables else pa.table({})

    def sequence(self, name: str, columns: dict[str, list[str] | None] | None = None) -> SequenceData:
        """One sequence, read from its own row groups only."""
        if name not in self._index:
            raise HandevalError(f"sequence {name!r} is not in {self.root}")
        split, shard, entry = self._index[name]
        lo, hi = entry.row_groups
        data = {}
        for kind in ("frames", "views"):
            cols = (columns or {}).get(kind)
            pf = pq.ParquetFile(self.shard_file(shard, kind))
            data[kind] = to_numpy(pf.read_row_groups(list(range(lo, hi)), columns=cols), kind)
        return SequenceData(name=name, split=split, frames=data["frames"], views=data["views"])

    def iter_sequences(self, split: str | None = None, columns: dict[str, list[str] | None] | None = None
                       ) -> Iterator[SequenceData]:
        for name in self.sequences(split):
            yield self.sequence(name, columns)
