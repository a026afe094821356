"""Write synthetic scenes in HO3D's official layout (v2 or v3).

Quirks reproduced (``data_specs/datasets.md``, HO3D): everything in the **OpenGL** camera
frame (y and z negated), joints in MANO order, ``handPose`` absolute (no mean pose to
add), one right hand and one object per frame, the evaluation split's meta holding only
the root joint and a corner-format box, the released evaluation ground truth as
``evaluation_xyz.json`` / ``evaluation_verts.json`` in ``evaluation.txt`` order, depth
PNGs with the value split over the red (low byte) and green (high byte) channels,
4-digit frame ids, one unannotated frame on disk that the txt lists leave out, and, in v3,
the training metas' per-vertex contact fields and the ``calibration/`` folder (v2 has
neither; RGB is .png in v2, .jpg in v3).
"""

from __future__ import annotations

import itertools
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from handeval.conventions import CV_FROM_GL
from handeval.conventions import MANO as MANO_ORDER
from handeval.mano import load_mano, read_model_file
from handeval.readers.ho3d import DEPTH_SCALE, MANO_CONVENTION
from handeval.synth.images import write_image
from handeval.synth.native.dexycb import YCB_FOR_KIND
from handeval.synth.scene import SyntheticScene
from handeval.util.atomic import atomic_path, write_text_atomic


@dataclass(frozen=True)
class HO3DSequence:
    """One HO3D sequence: the scene's right hand and its object, seen by one of its cameras."""

    scene: SyntheticScene
    split: str          # "train" or "evaluation"
    name: str           # e.g. "SM1", "ABF10"
    camera: int = 0
    first_fid: int = 0


def _pickle(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=2)


def write_ho3d(root: str | Path, sequences: list[HO3DSequence], version: str = "v3", images: bool = True) -> Path:
    root = Path(root)
    lists: dict[str, list[str]] = {"train": [], "evaluation": []}
    eval_xyz, eval_verts = [], []
    layer = load_mano("right", MANO_CONVENTION)
    hands_mean = read_model_file(layer.model_path).arrays["hands_mean"]
    for seq in sequences:
        scene, rig, c = seq.scene, seq.scene.cameras, seq.camera
        if not scene.objects or scene.objects[0].held_by != "right":
            raise ValueError("an HO3D sequence needs an object held by the right hand")
        R, t, K = rig.R[c], rig.t[c], rig.K[c]
        F = CV_FROM_GL
        with torch.no_grad():
            j0 = layer(np.zeros((1, 3)), np.zeros((1, 45)), scene.betas[0:1]).joints[0, 0].double().numpy()
        obj = scene.objects[0]
        kind = obj.name.rstrip("0123456789")
        ycb_id, ycb_name = YCB_FOR_KIND[kind]
        lo_hi = np.stack([obj.vertices.min(axis=0), obj.vertices.max(axis=0)])
        corners_rest = np.array(list(itertools.product(*lo_hi.T)))  # the 8 box corners
        # World -> OpenCV camera -> OpenGL camera.
        joints_gl = (scene.joints[:, 0].astype(np.float64) @ R.T + t) @ F.T
        verts_gl = (scene.vertices[:, 0].astype(np.float64) @ R.T + t) @ F.T
        uv = rig.project(scene.vertices[:, 0].astype(np.float64))[:, c]  # (T, 778, 2)
        seq_dir = root / seq.split / seq.name
        ext = "png" if version == "v2" else "jpg"
        if version == "v3":  # v3's multi-camera calibration, per sequence prefix (§2.9)
            calib = root / "calibration" / seq.name.rstrip("0123456789") / "calibration"
            write_text_atomic(calib / "cam_orders.txt", f"{c}\n")
            write_text_atomic(calib / f"cam_{c}_intrinsics.txt",
                              f"fx:{K[0, 0]:.6f}, fy:{K[1, 1]:.6f}, ppx:{K[0, 2]:.6f}, ppy:{K[1, 2]:.6f}\n")
            write_text_atomic(calib / f"trans_{c}.txt", "\n".join(" ".join(f"{v:.9f}" for v in row)
                                                                   for row in np.eye(4)) + "\n")
        for f in range(scene.num_frames):
            fid = f"{seq.first_fid + f:04d}"
            g_gl = Rotation.from_matrix(F @ R @ Rotation.from_rotvec(scene.global_orient[f, 0]).as_matrix()).as_rotvec()
            trans_gl = F @ (R @ (j0 + scene.transl[f, 0]) + t) - j0
            obj_rot = F @ R @ obj.rotation[f]
            obj_trans = F @ (R @ obj.translation[f] + t)
            common = {
                "camMat": K.astype(np.float64), "objRot": Rotation.from_matrix(obj_rot).as_rotvec()[:, None],
                "objTrans": obj_trans, "objName": ycb_name, "objLabel": ycb_id,
                "objCorners3DRest": corners_rest, "objCorners3D": corners_rest @ obj_rot.T + obj_trans,
                "camIDList": [str(c)],
            }
            if seq.split == "train":
                # HO3D's handPose is absolute: the scene's pose is relative to the mean.
                meta = {**common, "handPose": np.concatenate([g_gl, scene.hand_pose[f, 0] + hands_mean]),
                        "handTrans": trans_gl, "handBeta": scene.betas[0].copy(),
                        "handJoints3D": MANO_ORDER.from_canonical(joints_gl[f])}
                if version == "v3":  # v3's contact fields, against the object's vertices
                    obj_gl = obj.vertices @ obj_rot.T + obj_trans
                    dist, nearest = cKDTree(obj_gl).query(verts_gl[f])
                    meta.update(handVertContact=dist < 0.004, handVertDist=dist,
                                handVertIntersec=np.zeros(778, dtype=bool), handVertObjSurfProj=obj_gl[nearest])
            else:
                lo, hi = uv[f].min(axis=0), uv[f].max(axis=0)
                meta = {**common, "handJoints3D": joints_gl[f, 0].copy(),
                        "handBoundingBox": [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]}
                eval_xyz.append(MANO_ORDER.from_canonical(joints_gl[f]).tolist())
                eval_verts.append(verts_gl[f].tolist())
            _pickle(seq_dir / "meta" / f"{fid}.pkl", meta)
            lists[seq.split].append(f"{seq.name}/{fid}")
            if images and scene.rgb is not None:
                write_image(seq_dir / "rgb" / f"{fid}.{ext}", scene.rgb[f, c])
                raw = np.round(scene.depth[f, c] / DEPTH_SCALE).astype(np.int64)
                depth = np.zeros(raw.shape + (3,), dtype=np.uint8)
                depth[..., 0], depth[..., 1] = raw % 256, raw // 256
                write_image(seq_dir / "depth" / f"{fid}.png", depth)
                seg = np.zeros(raw.shape + (3,), dtype=np.uint8)
                seg[scene.segmentation[f, c] == 1, 2] = 255  # hand: blue
                seg[scene.segmentation[f, c] == 3, 1] = 255  # object: green
                write_image(seq_dir / "seg" / f"{fid}.png", seg)
        # A frame on disk without annotation (all None), left out of the txt lists.
        _pickle(seq_dir / "meta" / f"{seq.first_fid + scene.num_frames:04d}.pkl",
                {"handPose": None, "handTrans": None, "handJoints3D": None, "objRot": None, "camMat": None})
    for split, lines in lists.items():
        if lines:
            write_text_atomic(root / f"{split}.txt", "\n".join(lines) + "\n")
    if eval_xyz:
        write_text_atomic(root / "evaluation_xyz.json", json.dumps(eval_xyz))
        write_text_atomic(root / "evaluation_verts.json", json.dumps(eval_verts))
    return root
