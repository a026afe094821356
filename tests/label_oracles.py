"""Label oracles: the penetration and occlusion labels as handeval computed them before issue 14, one frame
and one view at a time, with eager Open3D scenes (two per hand-hand frame, a hand's own for each of its
volumes), distances at every near point and occupancy of the whole volume box. Deliberately independent
of the batched labelers' code paths (only the Open3D primitives and the penetration() definitions are
shared), so the label tests hold one against the other: the labels must be equal, bit for bit.
"""

from __future__ import annotations

import numpy as np

from handeval.conventions import HAND_SIDES
from handeval.geometry import import_open3d, penetration, raycasting_scene
from handeval.labels.penetration import empty_outputs, union
from handeval.mano.parts import JOINT_PART


def volume(mesh_a, mesh_b, pitch: float, scenes=(None, None)) -> float:
    """Both meshes' occupancy at every grid point of the overlap of their boxes."""
    lo = np.maximum(mesh_a[0].min(axis=0), mesh_b[0].min(axis=0))
    hi = np.minimum(mesh_a[0].max(axis=0), mesh_b[0].max(axis=0))
    if (hi <= lo).any():
        return 0.0
    first, last = np.ceil(lo / pitch - 0.5), np.floor(hi / pitch - 0.5)
    if (last < first).any():
        return 0.0
    axes = [(np.arange(a, b + 1) + 0.5) * pitch for a, b in zip(first, last)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    o3d = import_open3d()
    scenes = [sc if sc is not None else raycasting_scene([m]) for sc, m in zip(scenes, (mesh_a, mesh_b))]
    pts = o3d.core.Tensor(grid.astype(np.float32))
    both = (scenes[0].compute_occupancy(pts).numpy() > 0) & (scenes[1].compute_occupancy(pts).numpy() > 0)
    return float(both.sum()) * pitch**3


def penetration_labels(labeler, seq) -> dict:
    """``PenetrationLabeler``'s outputs, frame by frame (its parameters and meshes, not its code)."""
    tol, tau, pitch, method = labeler.tol, labeler.tau, labeler.pitch, labeler.method
    verts, present = labeler.hands.vertices(seq.frames)
    T = len(verts)
    out = empty_outputs(T)
    rows = {"hh": np.zeros(T, dtype=bool), "ho": np.zeros(T, dtype=bool)}

    def store(prefix, t, h, p):
        out[f"{prefix}_inside"][t, h] = p.inside
        out[f"{prefix}_depth"][t, h] = p.depth
        out[f"{prefix}_max_depth"][t, h] = p.max_depth
        out[f"{prefix}_mean_depth"][t, h] = p.mean_depth
        out[f"{prefix}_contact"][t, h] = int(p.contact.sum())

    ids, poses = seq.frames.get("object_ids"), seq.frames.get("object_poses")
    for t in range(T):
        sealed = [(labeler.hands.seal(h).close(verts[t, h]), labeler.hands.seal(h).faces) if present[t, h] else None
                  for h in range(2)]
        if present[t].all():
            rows["hh"][t] = True
            scenes = [raycasting_scene([m]) for m in sealed]
            a = penetration(verts[t, 0], *sealed[1], tol=tol, tau=tau, method=method, scene=scenes[1])
            b = penetration(verts[t, 1], *sealed[0], tol=tol, tau=tau, method=method, scene=scenes[0])
            out["hh_volume"][t] = volume(sealed[0], sealed[1], pitch, scenes) if a.inside.any() or b.inside.any() \
                else 0.0
            store("hh", t, 0, a)
            store("hh", t, 1, b)
        objs = []
        if ids is not None and ids[t] is not None and poses[t] is not None:
            pose = np.asarray(poses[t], dtype=np.float64).reshape(-1, 12)
            objs = [labeler.objects.posed(i, p) for i, p in zip(ids[t], pose) if np.isfinite(p).all()]
        if objs and present[t].any():
            rows["ho"][t] = True
            obj_scenes = [raycasting_scene([m]) for m in objs]
            for h in np.flatnonzero(present[t]):
                results = [penetration(verts[t, h], *m, tol=tol, tau=tau, method=method, scene=s)
                           for m, s in zip(objs, obj_scenes)]
                store("ho", t, h, union(results))
                out["ho_volume"][t, h] = sum(volume(sealed[h], m, pitch, (None, s)) if r.inside.any() else 0.0
                                             for m, s, r in zip(objs, obj_scenes, results))
    for prefix in ("hh", "ho"):
        out[f"{prefix}_inside"] = np.ma.masked_array(out[f"{prefix}_inside"],
                                                     mask=np.broadcast_to(~rows[prefix][:, None, None], (T, 2, 778)))
        out[f"{prefix}_contact"] = np.ma.masked_array(out[f"{prefix}_contact"],
                                                      mask=np.broadcast_to(~rows[prefix][:, None], (T, 2)))
    return out


def occlusion_labels(labeler, seq) -> dict:
    """``OcclusionLabeler``'s outputs, view by view and hand by hand, two casts per hand and view."""
    o3d = import_open3d()
    hm, rule, delta = labeler.hands, labeler.rule, labeler.delta
    verts, present = hm.vertices(seq.frames)
    f, v = seq.frames, seq.views
    V = len(v["frame"])
    row_of_frame = {fr: i for i, fr in enumerate(f["frame"])}
    out = {"vertex_visible": np.zeros((V, 2, 778), dtype=bool), "part_visible": np.zeros((V, 2, 6), dtype=np.int32),
           "part_occluded": np.zeros((V, 2, 6), dtype=bool), "hand_visible_ratio": np.full((V, 2), np.nan, np.float32),
           "hand_occluded": np.zeros((V, 2), dtype=bool), "joint_visible": np.zeros((V, 2, 21), dtype=bool),
           "mask_used": np.zeros(V, dtype=bool)}
    null = np.ones((V, 2), dtype=bool)
    views_by_frame: dict[int, list[int]] = {}
    for i, fr in enumerate(v["frame"]):
        views_by_frame.setdefault(row_of_frame[fr], []).append(i)
    ids, poses = f.get("object_ids"), f.get("object_poses")
    for t, rows in views_by_frame.items():
        hands = [h for h in range(2) if present[t, h]]
        if not hands:
            continue
        meshes = [(hm.seal(h).close(verts[t, h]), hm.seal(h).faces) for h in hands]
        if ids is not None and ids[t] is not None and poses[t] is not None:
            pose = np.asarray(poses[t], dtype=np.float64).reshape(-1, 12)
            meshes += [labeler.objects.posed(i, p) for i, p in zip(ids[t], pose) if np.isfinite(p).all()]
        scene = raycasting_scene(meshes)
        alone = [raycasting_scene([m]) for m in meshes[: len(hands)]]
        for i in rows:
            R, tr, K = v["R"][i].astype(np.float64), v["t"][i].astype(np.float64), v["K"][i].astype(np.float64)
            centre = -R.T @ tr
            mask = labeler.masks.hand(v["segmentation_path"][i]) if "segmentation_path" in v else None
            out["mask_used"][i] = mask is not None
            for g, h in enumerate(hands):
                pts = verts[t, h]
                dirs = pts - centre
                rays = o3d.core.Tensor(np.hstack([np.broadcast_to(centre, pts.shape), dirs]).astype(np.float32))
                hit = scene.cast_rays(rays)
                t_hit, geom, prim = (hit[k].numpy() for k in ("t_hit", "geometry_ids", "primitive_ids"))
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
                parts, face_part = hm.layers[HAND_SIDES[h]].parts, labeler.face_part[h]
                unblocked = t_hit * length >= length - delta
                same_part = (geom == g) & (face_part[np.minimum(prim, len(face_part) - 1)] == parts)
                part_vis = same_part & in_img & on_mask
                out["vertex_visible"][i, h] = unblocked & in_img & on_mask
                solo = alone[g].cast_rays(rays)
                solo_vis = (face_part[np.minimum(solo["primitive_ids"].numpy(), len(face_part) - 1)] == parts) & \
                    (solo["geometry_ids"].numpy() == 0) & in_img
                counts = np.bincount(parts[part_vis], minlength=6)
                totals = np.bincount(parts, minlength=6)
                out["part_visible"][i, h] = counts
                if rule["finger_rule"] == "occluded_more_than":
                    out["part_occluded"][i, h] = (totals - counts) > rule["finger_count"]
                else:
                    out["part_occluded"][i, h] = counts < rule["finger_count"]
                ratio = part_vis.sum() / max(int(solo_vis.sum()), 1)
                out["hand_visible_ratio"][i, h] = ratio
                out["hand_occluded"][i, h] = ratio < rule["hand_visible_below"]
                joints = f["joints"][t, h].astype(np.float64)
                if np.isfinite(joints).all():
                    d = np.linalg.norm(joints[:, None] - pts[None], axis=-1)
                    near = (d < 0.015) & part_vis[None] & (JOINT_PART[:, None] == parts[None])
                    out["joint_visible"][i, h] = near.any(axis=1)
                null[i, h] = False
    for key in ("vertex_visible", "part_visible", "part_occluded", "hand_occluded", "joint_visible"):
        shape = out[key].shape
        out[key] = np.ma.masked_array(out[key], mask=np.broadcast_to(null.reshape(V, 2, *(1,) * (len(shape) - 2)),
                                                                     shape))
    return out


def assert_same_labels(got: dict, want: dict) -> None:
    """Every column equal bit for bit, nulls where the oracle has them, NaN where it has NaN."""
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        g = got[key]
        np.testing.assert_array_equal(np.ma.getmaskarray(g), np.ma.getmaskarray(w), err_msg=key)
        g, w = np.ma.getdata(g), np.ma.getdata(w)
        assert g.dtype == w.dtype and g.shape == w.shape, key
        same = (g == w) | (np.isnan(g) & np.isnan(w)) if w.dtype.kind == "f" else g == w
        assert same.all(), f"{key}: {int((~same).sum())} of {same.size} values differ"
