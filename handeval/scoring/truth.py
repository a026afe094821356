"""The ground truth a protocol scores against, one source shard at a time, per view.

For each view of a shard: the selected frames' joints (and vertices when the protocol
needs them) in that view's OpenCV camera frame, metres; joint validity by the protocol's
rule; the annotated hand type; the intrinsics (MIAA); and the labels some protocols
filter or stratify by (interaction subsets, finger occlusion).
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from handeval.conventions import HAND_SIDES
from handeval.labels.registry import label_set
from handeval.labels.store import key_features
from handeval.labels.subsets import SUBSET_NAMES
from handeval.mano.parts import JOINT_PART
from handeval.scoring.protocols import Protocol
from handeval.shards.layout import label_file, label_path
from handeval.shards.manifest import ShardEntry
from handeval.shards.reader import ShardDataset, rows_of, to_numpy
from handeval.shards.views import FRAME_COLUMNS, VIEW_COLUMNS, ViewTruth, view_truth
from handeval.util.errors import HandevalError

_VIEW_COLUMNS = [*VIEW_COLUMNS, "K", "joints_image_valid", "hand_type_valid", "hand_type"]


def check_labels(ds: ShardDataset, protocol: Protocol) -> None:
    """Refuse a dataset that lacks a label set the protocol selects or stratifies by, saying how to make it."""
    select = protocol.spec.get("select", {})
    needed = set(protocol.spec.get("requires_labels", []))
    if select.get("subset"):
        needed.add("subsets")
    if "min_image_mean" in select:
        needed.add("images")
    missing = sorted(n for n in needed if n not in ds.manifest.labels)
    if missing:
        raise HandevalError(f"protocol {protocol.name} needs the {', '.join(missing)} labels of {ds.root}; "
                            f"run `handeval labels {' '.join(missing) if len(missing) == 1 else 'all'} {ds.root}"
                            + (" --root SOURCE_ROOT` (the folder it was converted from, with its images)"
                               if any("source_root" in label_set(n).requires for n in missing) else "`"))


class TruthBuilder:
    """Builds :class:`~handeval.shards.views.ViewTruth` per shard of one split under a protocol: the
    views it selects, its validity rule, and the labels it filters or stratifies by
    (``labels``: subsets (V,) bool; fingers_occluded (V, 2, 21) bool)."""

    def __init__(self, ds: ShardDataset, protocol: Protocol, split: str, mano_dir: str | None = None):
        self.ds, self.protocol, self.split = ds, protocol, split
        self.select = protocol.spec.get("select", {})
        self.gt_spec = protocol.spec.get("ground_truth", {})
        self.from_vertices = protocol.joints_from_vertices
        self.need_vertices = protocol.needs_vertices()
        self.vertex_dtype = protocol.vertex_dtype()
        self.meshes = None
        if self.need_vertices:
            from handeval.shards.meshes import HandMeshes

            self.meshes = HandMeshes(ds, mano_dir)
            tips = self.gt_spec.get("tips")
            # InterWild regresses both hands with the right model's J_regressor ("same for both hands").
            sides = [self.gt_spec["regressor"]] * 2 if "regressor" in self.gt_spec else HAND_SIDES
            self.regressors = np.stack([self.meshes.layers[s].joint_regressor(tips) for s in sides])
        check_labels(ds, protocol)
        self.with_subsets = "subsets" in ds.manifest.labels
        self.with_occlusion = "occlusion" in ds.manifest.labels

    @property
    def shards(self) -> list[ShardEntry]:
        return self.ds.manifest.splits[self.split].shards

    def regress(self, vertices: np.ndarray) -> np.ndarray:
        """(..., 2, 778, 3) -> (..., 2, 21, 3) with each side's regressor."""
        if vertices.dtype == np.float64:
            return self.regressors @ vertices
        # float32: regress about the hand's first vertex. Each row of the regressor sums to 1, so the
        # result is the same, and the float32 sums of 778 products then carry ~1e-9 m of rounding
        # instead of the ~1e-7 m they would carry in camera coordinates.
        anchor = vertices[..., :1, :]
        rel = self.regressors.astype(np.float32) @ (vertices - anchor)
        return rel.astype(np.float64) + anchor.astype(np.float64)

    def chunks(self, shard: ShardEntry, size: int = 2048):
        """The shard's selected views as :class:`ViewTruth`, ``size`` views at a time (in shard order),
        so that vertex arrays stay bounded whatever the shard's size."""
        meshes = self.meshes.COLUMNS if self.need_vertices else ()
        fcols = list(dict.fromkeys([*FRAME_COLUMNS, "mano_valid", *meshes]))
        frames = to_numpy(pq.read_table(self.ds.shard_file(shard, "frames"), columns=fcols), "frames")
        views = to_numpy(pq.read_table(self.ds.shard_file(shard, "views"), columns=_VIEW_COLUMNS), "views")
        frame_labels = self._labels(shard, "subsets", list(SUBSET_NAMES), len(frames["frame"])) \
            if self.with_subsets else {}
        if self.with_occlusion:
            occ = self._labels(shard, "occlusion", ["part_occluded"], len(views["frame"]))["part_occluded"]
            views["fingers_occluded"] = occ[:, :, JOINT_PART].astype(bool)
        frame_rows = rows_of(views, frames)
        # Selection is per view: presence, hand type and hand-type validity are the image's.
        keep = np.ones(len(views["frame"]), dtype=bool)
        sel = self.select
        if sel.get("hand_types"):
            keep &= np.isin(views["hand_type"], sel["hand_types"])
        if sel.get("hand_type_valid"):
            keep &= views["hand_type_valid"].astype(bool)
        if sel.get("both_hands"):
            keep &= views["hand_present"].all(axis=1)
        if sel.get("mano"):
            keep &= (frames["mano_valid"][frame_rows] | ~views["hand_present"]).all(axis=1)
        if sel.get("subset"):
            keep &= frame_labels[sel["subset"]][frame_rows]
        if "min_image_mean" in sel:
            stats = self._labels(shard, "images", ["mean_intensity"], len(views["frame"]))
            keep &= stats["mean_intensity"] >= float(sel["min_image_mean"])
        chosen = np.flatnonzero(keep)
        for lo in range(0, len(chosen), size):
            sel = chosen[lo:lo + size]
            yield self._truth(frames, {k: v[sel] for k, v in views.items()}, frame_rows[sel],
                              {k: v[frame_rows[sel]] for k, v in frame_labels.items()})

    def _truth(self, frames: dict, views: dict, rows: np.ndarray, labels: dict) -> ViewTruth:
        if self.need_vertices:
            # MANO forward once per frame of the chunk, shared by its views.
            uniq, rows = np.unique(rows, return_inverse=True)
            frames = {k: v[uniq] for k, v in frames.items()}
        truth = view_truth(frames, views, rows, self.meshes, self.vertex_dtype)
        present = truth.present
        if self.need_vertices:
            present &= truth.meshed  # a hand without a mesh does not count where meshes are scored
            truth.valid &= present[:, :, None]
        if self.from_vertices:
            truth.joints = self.regress(truth.vertices)
            truth.valid = np.broadcast_to(present[:, :, None], present.shape + (21,)).copy()
        elif self.gt_spec.get("valid") == "image_and_root":
            # InterNet: data.json's per-image joint_valid, a hand invalid when its root is.
            img = views["joints_image_valid"]
            truth.valid &= img & img[:, :, :1]
        if self.need_vertices:
            truth.joints = np.where(present[:, :, None, None], truth.joints, np.nan)
            truth.vertices = np.where(present[:, :, None, None], truth.vertices, np.nan)
        if "fingers_occluded" in views:
            labels = {**labels, "fingers_occluded": views["fingers_occluded"]}
        truth.labels = labels
        return truth

    def _labels(self, shard: ShardEntry, name: str, columns: list[str], rows: int) -> dict[str, np.ndarray]:
        """A label file mirrors its source shard row for row (``handeval.labels.store``)."""
        label = label_set(name).label
        rel = str(label_path(self.ds.root, name, self.split, label.table, shard.index).relative_to(self.ds.root))
        path = label_file(self.ds, name, rel)
        arrays = to_numpy(pq.read_table(path, columns=columns), key_features(label.table) + label.features)
        if len(arrays[columns[0]]) != rows:
            raise HandevalError(f"{path} does not match its shard row for row; rerun `handeval labels {name}`")
        return arrays

