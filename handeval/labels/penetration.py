"""Penetration labels per frame: hand-hand and hand-object inside flags, depths, contact, volume.

Per frame and direction ``d`` in (right into left, left into right) for hands, and per
hand for objects (the union of the frame's objects), with the geometry core's
definitions (``data_specs/geometry.md`` §3): per-vertex inside flags and depths, their
maximum and mean, the number of contact vertices, and the intersection volume on the
world-anchored grid. Hands are sealed at the wrist before any inside test.

Each mesh's Open3D scene is built only when a point needs it (:func:`handeval.geometry.lazy_scene`),
once per frame for the hand-hand and hand-object tests together; a frame whose hands' boxes are
farther apart than ``tau`` gets its zeros without any.
"""

from __future__ import annotations

import numpy as np

from handeval.geometry import intersection_volume, lazy_scene, mutual_penetration, penetration
from handeval.labels.objects import ObjectMeshes
from handeval.labels.store import LabelSet
from handeval.records.schema import Feature
from handeval.shards.meshes import HandMeshes
from handeval.shards.reader import SequenceData

DEFAULTS = {"tol": 1e-4, "tau": 2e-3, "pitch": 0.005, "method": "parity"}


def _pair(prefix: str, what: str) -> tuple[Feature, ...]:
    return (
        Feature(f"{prefix}_inside", "bool", (2, 778), "", f"vertex inside {what} by more than tol", nullable=True),
        Feature(f"{prefix}_depth", "float32", (2, 778), "m", f"per-vertex depth inside {what} (0 outside)",
                nullable=True),
        Feature(f"{prefix}_max_depth", "float32", (2,), "m", "maximum vertex depth (0 without penetration)",
                nullable=True),
        Feature(f"{prefix}_mean_depth", "float32", (2,), "m", "mean depth of the penetrating vertices (0 if none)",
                nullable=True),
        Feature(f"{prefix}_contact", "int32", (2,), "", f"vertices within tau of {what}'s surface or inside",
                nullable=True),
    )


PENETRATION = LabelSet("penetration", "1", "frames", _pair("hh", "the other hand") + (
    Feature("hh_volume", "float32", (), "m^3", "intersection volume of the two sealed hands", nullable=True),
) + _pair("ho", "the frame's objects") + (
    Feature("ho_volume", "float32", (2,), "m^3", "intersection volume of each hand with the objects (summed)",
            nullable=True),
))


def empty_outputs(T: int) -> dict[str, np.ndarray]:
    """The label's columns for ``T`` frames before any is computed: nothing inside, NaN measures."""
    out = {}
    for prefix in ("hh", "ho"):
        out[f"{prefix}_inside"] = np.zeros((T, 2, 778), dtype=bool)
        out[f"{prefix}_depth"] = np.full((T, 2, 778), np.nan, dtype=np.float32)
        out[f"{prefix}_max_depth"] = np.full((T, 2), np.nan, dtype=np.float32)
        out[f"{prefix}_mean_depth"] = np.full((T, 2), np.nan, dtype=np.float32)
        out[f"{prefix}_contact"] = np.zeros((T, 2), dtype=np.int32)
    out["hh_volume"] = np.full(T, np.nan, dtype=np.float32)
    out["ho_volume"] = np.full((T, 2), np.nan, dtype=np.float32)
    return out


def union(results: list):
    """One hand's penetration of several objects as one result: inside or in contact with any, the deepest
    depth (the first result is updated in place)."""
    merged = results[0]
    for r in results[1:]:
        merged.inside |= r.inside
        merged.depth = np.maximum(merged.depth, r.depth)
        merged.contact |= r.contact
    return merged


class PenetrationLabeler:
    def __init__(self, hands: HandMeshes, objects: ObjectMeshes, tol: float, tau: float, pitch: float, method: str):
        self.hands, self.objects = hands, objects
        self.tol, self.tau, self.pitch, self.method = tol, tau, pitch, method

    def __call__(self, seq: SequenceData) -> dict:
        verts, present = self.hands.vertices(seq.frames)
        T = len(verts)
        out = empty_outputs(T)
        hh_rows, ho_rows = present.all(axis=1), np.zeros(T, dtype=bool)
        closed = np.stack([self.hands.seal(h).close(verts[:, h]) for h in range(2)], axis=1)  # (T, 2, 779, 3)
        # A vertex outside the other hand's box grown by tau is neither inside nor in contact
        # (penetration()'s own test): frames where no vertex of either hand is near the other are zeros.
        lo, hi = closed.min(axis=2) - self.tau, closed.max(axis=2) + self.tau
        near = np.all((verts >= lo[:, ::-1, None]) & (verts <= hi[:, ::-1, None]), axis=-1).any(axis=-1).any(axis=-1)
        apart = hh_rows & ~near
        for prefix in ("hh_depth", "hh_max_depth", "hh_mean_depth"):
            out[prefix][apart] = 0.0
        out["hh_volume"][apart] = 0.0
        ids = seq.frames.get("object_ids")
        poses = seq.frames.get("object_poses")
        for t in range(T):
            objs = []
            if ids is not None and ids[t] is not None and poses[t] is not None:
                pose = np.asarray(poses[t], dtype=np.float64).reshape(-1, 12)
                objs = [self.objects.posed(i, p) for i, p in zip(ids[t], pose) if np.isfinite(p).all()]
            if not (hh_rows[t] and near[t]) and not (objs and present[t].any()):
                continue
            sealed = [(closed[t, h], self.hands.seal(h).faces) if present[t, h] else None for h in range(2)]
            scenes = [lazy_scene(m) if m is not None else None for m in sealed]
            if hh_rows[t] and near[t]:
                r_in_l, l_in_r, out["hh_volume"][t] = mutual_penetration(
                    verts[t, 0], sealed[0], verts[t, 1], sealed[1], tol=self.tol, tau=self.tau, pitch=self.pitch,
                    method=self.method, scenes=scenes)
                self._store(out, "hh", t, 0, r_in_l)
                self._store(out, "hh", t, 1, l_in_r)
            if objs and present[t].any():
                ho_rows[t] = True
                obj_scenes = [lazy_scene(m) for m in objs]
                for h in range(2):
                    if not present[t, h]:
                        continue
                    results = [penetration(verts[t, h], *m, tol=self.tol, tau=self.tau, method=self.method, scene=s)
                               for m, s in zip(objs, obj_scenes)]
                    self._store(out, "ho", t, h, union(results))
                    out["ho_volume"][t, h] = sum(intersection_volume(sealed[h], m, self.pitch, scenes=(scenes[h], s))
                                                 if r.inside.any() else 0.0
                                                 for m, s, r in zip(objs, obj_scenes, results))
        for prefix, rows in (("hh", hh_rows), ("ho", ho_rows)):
            out[f"{prefix}_inside"] = np.ma.masked_array(out[f"{prefix}_inside"], mask=np.broadcast_to(
                ~rows[:, None, None], (T, 2, 778)))
            out[f"{prefix}_contact"] = np.ma.masked_array(out[f"{prefix}_contact"],
                                                          mask=np.broadcast_to(~rows[:, None], (T, 2)))
        return out

    @staticmethod
    def _store(out: dict, prefix: str, t: int, h: int, p) -> None:
        out[f"{prefix}_inside"][t, h] = p.inside
        out[f"{prefix}_depth"][t, h] = p.depth
        out[f"{prefix}_max_depth"][t, h] = p.max_depth
        out[f"{prefix}_mean_depth"][t, h] = p.mean_depth
        out[f"{prefix}_contact"][t, h] = int(p.contact.sum())
