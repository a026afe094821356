"""The ground truth of each view in that view's OpenCV camera frame, metres, from shard rows.

One builder for every stage that needs it: scoring's :class:`~handeval.scoring.truth.TruthBuilder`
(which adds a protocol's selection, validity rules and labels), the submission checks and the
baselines. ``X_cam = R X_world + t`` in float64 (vertices in the dtype asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from handeval.shards.reader import ShardDataset, rows_of, to_numpy, world_to_camera

if TYPE_CHECKING:  # the mesh builder imports torch; the joints alone do not need it
    from handeval.shards.meshes import HandMeshes

#: The columns :func:`view_truth` reads; K, hand_type and hand_type_valid are carried when given.
VIEW_COLUMNS = ("sequence", "frame", "camera", "R", "t", "hand_present")
FRAME_COLUMNS = ("sequence", "frame", "joints", "joints_valid")


@dataclass
class ViewTruth:
    """Per view: its keys, its hands' joints (and meshes) in its camera frame, what counts."""

    sequence: np.ndarray      # (V,) str
    frame: np.ndarray         # (V,) int64
    camera: np.ndarray        # (V,) str
    present: np.ndarray       # (V, 2) hand annotated in this view
    joints: np.ndarray        # (V, 2, 21, 3) float64, NaN where the hand is not present
    valid: np.ndarray         # (V, 2, 21) joints that count: annotated, of a present hand
    #: (V, 2, 778, 3) the frame's meshes, NaN only where the frame has none: a prediction made from
    #: them keeps a hand the view misses, and scoring masks them by its own presence rule.
    vertices: np.ndarray | None = None
    meshed: np.ndarray | None = None          # (V, 2) the frame has the hand's mesh (with vertices)
    K: np.ndarray | None = None               # (V, 3, 3) float64
    hand_type: np.ndarray | None = None       # (V,) str, the annotation's for this image
    hand_type_valid: np.ndarray | None = None  # (V,) bool
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # per view, e.g. scoring's subsets

    def __len__(self) -> int:
        return len(self.frame)

    def keys(self) -> list[tuple[str, int, str]]:
        return list(zip(self.sequence.tolist(), self.frame.tolist(), self.camera.tolist()))


def view_truth(frames: dict, views: dict, rows: np.ndarray | None = None, meshes: HandMeshes | None = None,
               vertex_dtype=np.float64) -> ViewTruth:
    """Each view's ground truth from numpy frame and view columns (:data:`FRAME_COLUMNS`,
    :data:`VIEW_COLUMNS`; with ``meshes``, the mesh columns too).

    ``rows``: each view's row in ``frames`` (default: joined on sequence and frame). With
    ``meshes``, the meshes of every row of ``frames`` are built in one batch per hand, so pass
    the frames the views need.
    """
    if rows is None:
        rows = rows_of(views, frames)
    present = views["hand_present"].copy()
    R, t = views["R"].astype(np.float64), views["t"].astype(np.float64)
    vertices = meshed = None
    if meshes is not None:
        world, have = meshes.vertices(frames)
        vertices = world_to_camera(world[rows], R, t, vertex_dtype)
        meshed = have[rows]
    joints = world_to_camera(frames["joints"][rows].astype(np.float64), R, t)
    joints = np.where(present[:, :, None, None], joints, np.nan)
    valid = frames["joints_valid"][rows] & present[:, :, None]
    K = views["K"].astype(np.float64) if "K" in views else None
    hand_type_valid = views["hand_type_valid"].astype(bool) if "hand_type_valid" in views else None
    return ViewTruth(views["sequence"], views["frame"], views["camera"], present, joints, valid, vertices, meshed, K,
                     views.get("hand_type"), hand_type_valid)


def read_view_truth(ds: ShardDataset, split: str, meshes: HandMeshes | None = None) -> ViewTruth:
    """Every view of a split (with ``meshes``, its meshes too: one batch per hand over the split)."""
    views = to_numpy(ds.read("views", split, columns=list(VIEW_COLUMNS)), "views")
    columns = list(FRAME_COLUMNS) + (list(meshes.COLUMNS) if meshes is not None else [])
    return view_truth(to_numpy(ds.read("frames", split, columns=columns), "frames"), views, meshes=meshes)


def track_steps(sequence: np.ndarray, camera: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Views as tracks, one per (sequence, camera), ordered by frame: ``order`` sorts the rows so, and
    ``even[i]`` says sorted row ``i`` follows its predecessor in the same track at that track's
    smallest positive frame step (the frame rate's spacing: a larger step is a gap). The acceleration
    error and the temporal filters read a track's frames as evenly spaced exactly where ``even`` holds."""
    order = np.lexsort((frame, camera, sequence))
    seq, cam, fr = sequence[order], camera[order], frame[order]
    same = np.r_[False, (seq[1:] == seq[:-1]) & (cam[1:] == cam[:-1])]
    step = np.where(same, np.r_[0, np.diff(fr)], 0)
    first = np.flatnonzero(~same)
    if not len(first):
        return order, same
    smallest = np.minimum.reduceat(np.where(step > 0, step, np.iinfo(np.int64).max), first)
    return order, same & (step == smallest[np.cumsum(~same) - 1])

