"""Canonical records: one sequence's frames and views as columns, ready to become Arrow tables.

Dataset readers produce :class:`SequenceRecords`; the shard writer turns them into row
groups. Arrays are ``(T, *shape)`` for frame features and ``(V, *shape)`` for view
features, encoded by :meth:`Feature.encode` (nulls: rows all NaN, or masked in a
``numpy.ma`` array, of a nullable feature).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from handeval.conventions import hand_types
from handeval.records.schema import FRAME_FEATURES, VIEW_FEATURES, Feature, arrow_schema


@dataclass
class SequenceRecords:
    """One sequence in canonical form (metres, world frame, canonical joints, [right, left])."""

    sequence: str
    frames: dict
    views: dict
    meta: dict = field(default_factory=dict)  # per-sequence facts kept in the sequence index
    missing: list[str] = field(default_factory=list)  # source files (root-relative) it lacks; the driver counts them

    @property
    def num_frames(self) -> int:
        return len(self.frames["frame"])

    def frame_table(self) -> pa.Table:
        return _table(FRAME_FEATURES, self.frames, self.sequence)

    def view_table(self) -> pa.Table:
        return _table(VIEW_FEATURES, self._complete_views(), self.sequence)

    def _complete_views(self) -> dict:
        """Per-view presence and hand type default to the frame's presence, for sources that
        annotate hands once per frame; a reader that knows them per view sets them."""
        views = dict(self.views)
        if "hand_present" not in views:
            rows = np.searchsorted(np.asarray(self.frames["frame"]), np.asarray(views["frame"]))
            views["hand_present"] = np.asarray(self.frames["hand_present"], dtype=bool)[rows]
        if "hand_type" not in views:
            views["hand_type"] = hand_types(views["hand_present"])
        return views


def _table(features: tuple[Feature, ...], data: dict, sequence: str) -> pa.Table:
    # A column the schema does not know would be dropped on the way to Parquet: a reader's mistake to
    # stop at, not data to lose quietly.
    unknown = sorted(set(data) - {f.name for f in features})
    if unknown:
        raise KeyError(f"sequence {sequence}: unknown column(s) {', '.join(unknown)}; the canonical columns are "
                       "listed in data_specs/shards.md (handeval.records.schema)")
    n = len(data["frame"])
    columns = []
    for f in features:
        if f.name == "sequence":
            columns.append(pa.array([sequence] * n, type=pa.string()))
            continue
        if f.name not in data:
            if not f.nullable:
                raise KeyError(f"sequence {sequence}: required feature {f.name!r} is missing")
            columns.append(pa.nulls(n, type=f.arrow_type()))
            continue
        columns.append(f.encode(data[f.name], n))
    return pa.Table.from_arrays(columns, schema=arrow_schema(features))
