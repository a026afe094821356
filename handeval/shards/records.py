"""Canonical records: one sequence's frames and views as columns, ready to become Arrow tables.

Dataset readers produce :class:`SequenceRecords`; the shard writer turns them into row
groups. Arrays are ``(T, *shape)`` for frame features and ``(V, *shape)`` for view
features. A nullable float feature is null on rows that are all NaN (nothing was
annotated); ``joints_2d_valid`` is null where ``joints_2d`` is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from handeval.shards.schema import FRAME_FEATURES, VIEW_FEATURES, Feature, arrow_schema

_NULL_WITH = {"joints_2d_valid": "joints_2d"}


@dataclass
class SequenceRecords:
    """One sequence in canonical form (metres, world frame, canonical joints, [right, left])."""

    sequence: str
    frames: dict
    views: dict

    @property
    def num_frames(self) -> int:
        return len(self.frames["frame"])

    @property
    def num_views(self) -> int:
        return len(self.views["frame"])

    def frame_table(self) -> pa.Table:
        return _table(FRAME_FEATURES, self.frames, self.sequence)

    def view_table(self) -> pa.Table:
        return _table(VIEW_FEATURES, self.views, self.sequence)


def _column(feature: Feature, value, n: int, null_rows: np.ndarray | None) -> pa.Array:
    typ = feature.arrow_type()
    if not feature.shape or feature.variable:
        return pa.array(value if not isinstance(value, np.ndarray) else value.tolist(), type=typ)
    arr = np.asarray(value, dtype=feature.dtype).reshape(n, feature.size)
    mask = None
    if feature.nullable:
        if null_rows is None and feature.dtype.startswith("float"):
            null_rows = np.isnan(arr).all(axis=1)
        mask = pa.array(null_rows) if null_rows is not None and null_rows.any() else None
    return pa.FixedSizeListArray.from_arrays(pa.array(arr.ravel()), feature.size, mask=mask)


def _table(features: tuple[Feature, ...], data: dict, sequence: str) -> pa.Table:
    n = len(data["frame"])
    columns, nulls = [], {}
    for f in features:
        if f.name == "sequence":
            columns.append(pa.array([sequence] * n, type=pa.string()))
            continue
        if f.name not in data:
            if not f.nullable:
                raise KeyError(f"sequence {sequence}: required feature {f.name!r} is missing")
            columns.append(pa.nulls(n, type=f.arrow_type()))
            nulls[f.name] = np.ones(n, dtype=bool)
            continue
        src = _NULL_WITH.get(f.name)
        col = _column(f, data[f.name], n, nulls.get(src) if src else None)
        if f.nullable:
            nulls[f.name] = np.asarray(col.is_null())
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=arrow_schema(features))
