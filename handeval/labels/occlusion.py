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

Per frame, the scenes are built once and every ray of every view goes to each in one call (only the
rays of vertices that project into the image: the others are not visible whatever they hit); the
joint-to-vertex distances, which depend on the frame only, are computed once for all its views.
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
from handeval.shards.reader import SequenceData, rows_of, world_to_camera

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
        self.o3d = import_open3d()  # here, in the worker's start-up, not in its first unit
        self.face_part, self.part_onehot, self.part_totals = [], [], []
        for h in range(2):
            seal = hands.seal(h)
            parts = np.append(hands.layers[HAND_SIDES[h]].parts, 0)  # the wrist centre is palm
            fp = parts[seal.faces]
            # A face takes the part most of its vertices have (the first vertex breaks ties).
            major = np.where(fp[:, 1] == fp[:, 2], fp[:, 1], fp[:, 0])
            self.face_part.append(major)
            self.part_totals.append(np.bincount(parts[:778], minlength=6))
            self.part_onehot.append((parts[:778, None] == np.arange(6)).astype(np.float32))  # (778, 6)

    def __call__(self, seq: SequenceData) -> dict:
        verts, present = self.hands.vertices(seq.frames)
        f, v = seq.frames, seq.views
        V = len(v["frame"])
        out = {
            "vertex_visible": np.zeros((V, 2, 778), dtype=bool), "part_visible": np.zeros((V, 2, 6), dtype=np.int32),
            "part_occluded": np.zeros((V, 2, 6), dtype=bool), "hand_visible_ratio": np.full((V, 2), np.nan, np.float32),
            "hand_occluded": np.zeros((V, 2), dtype=bool), "joint_visible": np.zeros((V, 2, 21), dtype=bool),
            "mask_used": np.zeros(V, dtype=bool),
        }
        null = np.ones((V, 2), dtype=bool)
        frame_of = rows_of({"frame": v["frame"]}, {"frame": f["frame"]}, ("frame",))
        R, tr, K = (v[k].astype(np.float64) for k in ("R", "t", "K"))
        centre = -np.einsum("vji,vj->vi", R, tr)  # -R^T t
        order = np.argsort(frame_of, kind="stable")
        ids, poses = f.get("object_ids"), f.get("object_poses")
        for rows in np.split(order, np.flatnonzero(np.diff(frame_of[order])) + 1) if V else []:
            t = frame_of[rows[0]]
            hands = [h for h in range(2) if present[t, h]]
            if not hands:
                continue
            meshes = [(self.hands.seal(h).close(verts[t, h]), self.hands.seal(h).faces) for h in hands]
            if ids is not None and ids[t] is not None and poses[t] is not None:
                pose = np.asarray(poses[t], dtype=np.float64).reshape(-1, 12)
                meshes += [self.objects.posed(i, p) for i, p in zip(ids[t], pose) if np.isfinite(p).all()]
            masks = [self.masks.hand(v["segmentation_path"][i]) if "segmentation_path" in v else None for i in rows]
            out["mask_used"][rows] = [m is not None for m in masks]
            self._frame(out, t, rows, hands, meshes, verts, f["joints"], centre[rows], R[rows], tr[rows], K[rows],
                        v["width"][rows], v["height"][rows], masks)
            null[rows[:, None], hands] = False
        for key in ("vertex_visible", "part_visible", "part_occluded", "hand_occluded", "joint_visible"):
            shape = out[key].shape
            out[key] = np.ma.masked_array(out[key], mask=np.broadcast_to(null.reshape(V, 2, *(1,) * (len(shape) - 2)),
                                                                         shape))
        return out

    def _frame(self, out: dict, t: int, rows: np.ndarray, hands: list[int], meshes: list, verts: np.ndarray,
               joints_all: np.ndarray, centre: np.ndarray, R: np.ndarray, tr: np.ndarray, K: np.ndarray,
               width: np.ndarray, height: np.ndarray, masks: list) -> None:
        """The labels of the views ``rows`` of frame ``t``: one scene of every mesh and one of each hand alone,
        each cast with all the views' rays at once."""
        n = len(rows)
        pts = verts[t, hands]                                    # (H, 778, 3)
        dirs = pts[None] - centre[:, None, None]                 # (n, H, 778, 3)
        rays = np.empty(dirs.shape[:-1] + (6,), dtype=np.float32)  # assigning rounds as astype does
        rays[..., :3], rays[..., 3:] = centre[:, None, None], dirs
        length = np.linalg.norm(dirs, axis=-1)
        cam = world_to_camera(np.broadcast_to(pts, (n,) + pts.shape), R, tr)
        uv = cam @ np.swapaxes(K, -1, -2)[:, None]
        uv = uv[..., :2] / uv[..., 2:]
        in_img = (cam[..., 2] > 0) & (uv[..., 0] >= 0) & (uv[..., 1] >= 0) & \
            (uv[..., 0] < width[:, None, None]) & (uv[..., 1] < height[:, None, None])
        on_mask = np.ones_like(in_img)
        for k, mask in enumerate(masks):
            if mask is not None:
                px = np.clip(uv[k].astype(np.int64), 0, [mask.shape[1] - 1, mask.shape[0] - 1])
                on_mask[k] = mask[px[..., 1], px[..., 0]] & in_img[k]
        scene = raycasting_scene(meshes)
        full = self._cast(scene, rays, in_img)
        for g, h in enumerate(hands):
            parts, face_part = self.hands.layers[HAND_SIDES[h]].parts, self.face_part[h]
            t_hit, geom, prim = (x[:, g] for x in full)
            # A hand alone is the whole scene when nothing else is in the frame: the same BVH, the same hits.
            solo_geom, solo_prim = (full[1][:, g], full[2][:, g]) if len(meshes) == 1 else \
                self._cast(raycasting_scene([meshes[g]]), rays[:, g], in_img[:, g])[1:]
            seen = in_img[:, g] & on_mask[:, g]
            unblocked = t_hit * length[:, g] >= length[:, g] - self.delta
            same_part = (geom == g) & (face_part[np.minimum(prim, len(face_part) - 1)] == parts)
            part_vis = same_part & seen
            out["vertex_visible"][rows, h] = unblocked & seen
            solo_vis = (face_part[np.minimum(solo_prim, len(face_part) - 1)] == parts) & (solo_geom == 0) & in_img[:, g]
            # Counts as float32 products of 0s and 1s: exact (below 2^24) whatever the BLAS adds first.
            counts = (part_vis.astype(np.float32) @ self.part_onehot[h]).astype(np.int64)  # (n, 6)
            out["part_visible"][rows, h] = counts
            if self.rule["finger_rule"] == "occluded_more_than":
                out["part_occluded"][rows, h] = (self.part_totals[h] - counts) > self.rule["finger_count"]
            else:
                out["part_occluded"][rows, h] = counts < self.rule["finger_count"]
            ratio = part_vis.sum(axis=-1) / np.maximum(solo_vis.sum(axis=-1), 1)
            out["hand_visible_ratio"][rows, h] = ratio
            out["hand_occluded"][rows, h] = ratio < self.rule["hand_visible_below"]
            joints = joints_all[t, h].astype(np.float64)
            if np.isfinite(joints).all():
                d = np.linalg.norm(joints[:, None] - pts[g][None], axis=-1)  # (21, 778), once for all views
                near = (d < JOINT_RADIUS) & (JOINT_PART[:, None] == parts[None])
                out["joint_visible"][rows, h] = (part_vis.astype(np.float32) @ near.T.astype(np.float32)) > 0

    def _cast(self, scene, rays: np.ndarray, cast: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First hits (t_hit, geometry id, primitive id) of ``rays`` (..., 6) where ``cast``, in one call; a miss
        elsewhere."""
        if cast.all():
            hit = scene.cast_rays(self.o3d.core.Tensor(np.ascontiguousarray(rays)))
            return tuple(hit[k].numpy() for k in ("t_hit", "geometry_ids", "primitive_ids"))
        t_hit = np.full(cast.shape, np.inf, dtype=np.float32)
        geom = np.full(cast.shape, self.o3d.t.geometry.RaycastingScene.INVALID_ID, dtype=np.uint32)
        prim = geom.copy()
        if cast.any():
            hit = scene.cast_rays(self.o3d.core.Tensor(np.ascontiguousarray(rays[cast])))
            t_hit[cast], geom[cast], prim[cast] = (hit[k].numpy() for k in ("t_hit", "geometry_ids", "primitive_ids"))
        return t_hit, geom, prim
