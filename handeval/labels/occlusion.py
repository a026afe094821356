"""Occlusion labels per view (image): vertex, part, joint and hand visibility.

For every view, rays go from the camera centre to each vertex of each present hand and
are cast against every mesh of the frame: both sealed hands and the objects. Two
per-vertex notions come out of the first hit (``data_specs/geometry.md`` §4.1):

* ``vertex_visible``: nothing lies in front of the vertex (the hit is within ``delta``
  of it), the vertex projects inside the image, and, where the dataset has a hand mask,
  its pixel is a hand pixel: that catches occluders without a mesh;
* part visibility, H2ONet's colour-match semantics (``data_specs/geometry.md`` §4.2): the first
  surface on the ray is the same part of the same hand (a finger hiding its own back
  does not count), in the image and, with a mask, on a hand pixel.

Per part, the visible count; a finger is occluded by the preset's rule. Per hand, the
visible ratio is the part-visible vertices in the full scene over those visible with the
hand rendered alone: the vertex-sampled analogue of H2ONet's mask/render pixel ratio.
A joint is visible when a part-visible vertex of its own part lies within 15 mm of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from handeval.conventions import HAND_SIDES
from handeval.geometry import import_open3d, raycasting_scene
from handeval.labels.objects import ObjectMeshes
from handeval.labels.store import LabelSet
from handeval.mano.parts import JOINT_PART
from handeval.records.schema import Feature
from handeval.shards.meshes import HandMeshes
from handeval.shards.reader import SequenceData

#: Thresholds of the two published readings of H2ONet's labels (data_specs/geometry.md §4.2).
PRESETS = {
    "h2onet-paper": {"finger_rule": "occluded_more_than", "finger_count": 50, "hand_visible_below": 0.5},
    "h2onet-code": {"finger_rule": "visible_fewer_than", "finger_count": 30, "hand_visible_below": 0.40},
}
DELTA = 1e-3
JOINT_RADIUS = 0.015

OCCLUSION = LabelSet("occlusion", "1", "views", (
    Feature("vertex_visible", "bool", (2, 778), "", "unobstructed, in the image, and on a hand pixel where a mask "
            "exists", nullable=True),
    Feature("part_visible", "int32", (2, 6), "", "vertices whose first hit is their own part (palm, thumb..pinky)",
            nullable=True),
    Feature("part_occluded", "bool", (2, 6), "", "occluded by the preset's rule", nullable=True),
    Feature("hand_visible_ratio", "float32", (2,), "", "part-visible vertices in the scene / with the hand alone",
            nullable=True),
    Feature("hand_occluded", "bool", (2,), "", "hand_visible_ratio below the preset's threshold", nullable=True),
    Feature("joint_visible", "bool", (2, 21), "", "a part-visible vertex of the joint's part within 15 mm",
            nullable=True),
    Feature("mask_used", "bool", (), "", "a hand segmentation mask refined the labels"),
))

class Masks:
    """Hand masks from a dataset's segmentation files, decoded as its manifest says."""

    def __init__(self, root: str | None, spec: dict | None):
        self.root, self.spec = (Path(root) if root else None), spec

    def hand(self, rel: str | None) -> np.ndarray | None:
        if self.spec is None or self.root is None or not rel:
            return None
        path, _, key = str(rel).partition("#")
        full = self.root / path
        if not full.is_file():
            return None
        if self.spec["format"] == "npz":
            with np.load(full) as data:
                seg = data[key or self.spec["key"]]
        else:
            seg = np.asarray(Image.open(full))
            if seg.ndim == 3:
                seg = seg[..., self.spec["channel"]]
        return np.isin(seg, self.spec["hand_values"])


class OcclusionLabeler:
    def __init__(self, hands: HandMeshes, objects: ObjectMeshes, masks: Masks, preset: str, delta: float = DELTA):
        self.hands, self.objects, self.masks = hands, objects, masks
        self.rule = PRESETS[preset]
        self.delta = delta
        self.face_part = []
        for h in range(2):
            seal = hands.seal(h)
            parts = np.append(hands.layers[HAND_SIDES[h]].parts, 0)  # the wrist centre is palm
            fp = parts[seal.faces]
            # A face takes the part most of its vertices have (the first vertex breaks ties).
            major = np.where(fp[:, 1] == fp[:, 2], fp[:, 1], fp[:, 0])
            self.face_part.append(major)

    def __call__(self, seq: SequenceData) -> dict:
        o3d = import_open3d()
        verts, present = self.hands.vertices(seq.frames)
        f, v = seq.frames, seq.views
        V = len(v["frame"])
        row_of_frame = {fr: i for i, fr in enumerate(f["frame"])}
        out = {
            "vertex_visible": np.zeros((V, 2, 778), dtype=bool), "part_visible": np.zeros((V, 2, 6), dtype=np.int32),
            "part_occluded": np.zeros((V, 2, 6), dtype=bool), "hand_visible_ratio": np.full((V, 2), np.nan, np.float32),
            "hand_occluded": np.zeros((V, 2), dtype=bool), "joint_visible": np.zeros((V, 2, 21), dtype=bool),
            "mask_used": np.zeros(V, dtype=bool),
        }
        null = np.ones((V, 2), dtype=bool)
        views_by_frame: dict[int, list[int]] = {}
        for i, fr in enumerate(v["frame"]):
            views_by_frame.setdefault(row_of_frame[fr], []).append(i)
        ids, poses = f.get("object_ids"), f.get("object_poses")
        for t, rows in views_by_frame.items():
            hands = [h for h in range(2) if present[t, h]]
            if not hands:
                continue
            meshes = [(self.hands.seal(h).close(verts[t, h]), self.hands.seal(h).faces) for h in hands]
            if ids is not None and ids[t] is not None and poses[t] is not None:
                pose = np.asarray(poses[t], dtype=np.float64).reshape(-1, 12)
                meshes += [self.objects.posed(i, p) for i, p in zip(ids[t], pose) if np.isfinite(p).all()]
            scene = raycasting_scene(meshes)
            alone = [raycasting_scene([m]) for m in meshes[: len(hands)]]
            for i in rows:
                R, tr, K = v["R"][i].astype(np.float64), v["t"][i].astype(np.float64), v["K"][i].astype(np.float64)
                centre = -R.T @ tr
                mask = self.masks.hand(v["segmentation_path"][i]) if "segmentation_path" in v else None
                out["mask_used"][i] = mask is not None
                for g, h in enumerate(hands):
                    pts = verts[t, h]
                    dirs = pts - centre
                    rays = o3d.core.Tensor(np.hstack([np.broadcast_to(centre, pts.shape), dirs]).astype(np.float32))
                    hit = scene.cast_rays(rays)
                    t_hit = hit["t_hit"].numpy()
                    geom, prim = hit["geometry_ids"].numpy(), hit["primitive_ids"].numpy()
                    length = np.linalg.norm(dirs, axis=1)
                    cam = pts @ R.T + tr
                    uv = cam @ K.T
                    uv = uv[:, :2] / uv[:, 2:]
                    in_img = (cam[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 1] >= 0) & \
                        (uv[:, 0] < v["width"][i]) & (uv[:, 1] < v["height"][i])
                    on_mask = np.ones(len(pts), dtype=bool)
                    if mask is not None:
                        px = np.clip(uv.astype(np.int64), 0, [mask.shape[1] - 1, mask.shape[0] - 1])
                        on_mask = mask[px[:, 1], px[:, 0]] & in_img
                    unblocked = t_hit * length >= length - self.delta
                    parts = self.hands.layers[HAND_SIDES[h]].parts
                    same_part = (geom == g) & (self.face_part[h][np.minimum(prim, len(self.face_part[h]) - 1)] == parts)
                    part_vis = same_part & in_img & on_mask
                    out["vertex_visible"][i, h] = unblocked & in_img & on_mask
                    solo = alone[g].cast_rays(rays)
                    solo_vis = (self.face_part[h][np.minimum(solo["primitive_ids"].numpy(), len(self.face_part[h]) - 1)]
                                == parts) & (solo["geometry_ids"].numpy() == 0) & in_img
                    counts = np.bincount(parts[part_vis], minlength=6)
                    totals = np.bincount(parts, minlength=6)
                    out["part_visible"][i, h] = counts
                    if self.rule["finger_rule"] == "occluded_more_than":
                        out["part_occluded"][i, h] = (totals - counts) > self.rule["finger_count"]
                    else:
                        out["part_occluded"][i, h] = counts < self.rule["finger_count"]
                    ratio = part_vis.sum() / max(int(solo_vis.sum()), 1)
                    out["hand_visible_ratio"][i, h] = ratio
                    out["hand_occluded"][i, h] = ratio < self.rule["hand_visible_below"]
                    joints = f["joints"][t, h].astype(np.float64)
                    if np.isfinite(joints).all():
                        d = np.linalg.norm(joints[:, None] - pts[None], axis=-1)  # (21, 778)
                        near = (d < JOINT_RADIUS) & part_vis[None] & (JOINT_PART[:, None] == parts[None])
                        out["joint_visible"][i, h] = near.any(axis=1)
                    null[i, h] = False
        for key in ("vertex_visible", "part_visible", "part_occluded", "hand_occluded", "joint_visible"):
            shape = out[key].shape
            out[key] = np.ma.masked_array(out[key], mask=np.broadcast_to(null.reshape(V, 2, *(1,) * (len(shape) - 2)),
                                                                         shape))
        return out
