"""Write synthetic scenes in HIC's raw layout (Tzionas et al. "Hands in action").

Quirks reproduced (``data_specs/datasets.md``, HIC and its Sources): one
fixed Kinect-style camera that no file stores (f = 525, c = (319.5, 239.5), 640 x 480),
3-digit frame ids, 2D joints only on every 5th frame as 28 tab-separated integer rows
(right pinky..thumb, then left with the index joints reversed, missing ones as ``0 0``),
and per-frame MANO fits in separate R/L folders as latin-1 pickles (pose, betas,
trans, v, J_transformed___j21) beside ASCII ``.ply`` meshes, all in metres in the camera
frame, and InterWild's COCO-style ``HIC.json`` listing the frames to test, their hand type
and each hand's ``.ply`` (null where the hand has no fit). The fits' pose convention is
not documented; these files use axis-angle relative to the mean pose, the convention the
reader assumes.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import trimesh
from scipy.spatial.transform import Rotation

from handeval.conventions import HAND_SIDES, HIC_LEFT, HIC_RIGHT
from handeval.conventions import MANO as MANO_ORDER
from handeval.mano import load_mano
from handeval.readers.hic import ANNOTATION_STEP, FIT_FOLDER, FITS_ROOT, HIC_CAMERA, MANO_CONVENTION
from handeval.synth.cameras import CameraRig, look_at_rig
from handeval.synth.images import write_image
from handeval.synth.scene import SyntheticScene
from handeval.util.atomic import atomic_path, write_text_atomic


def hic_rig() -> CameraRig:
    """HIC's camera, looking at the synthetic scenes' centre."""
    rig = look_at_rig(np.array([[0.0, -0.6, 0.12]]), np.array([0.0, 0.0, 0.08]), np.array([0.0, 0.0, 1.0]),
                      HIC_CAMERA["focal"], HIC_CAMERA["width"], HIC_CAMERA["height"])
    K = np.array([[[HIC_CAMERA["focal"], 0, HIC_CAMERA["cx"]],
                   [0, HIC_CAMERA["focal"], HIC_CAMERA["cy"]],
                   [0, 0, 1.0]]])
    return CameraRig(K=K, R=rig.R, t=rig.t, width=rig.width, height=rig.height)


@dataclass(frozen=True)
class HICSequence:
    scene: SyntheticScene   # made with rig=hic_rig()
    number: int             # 1..21; 01-14 hand-hand, 15-21 hand-object
    missing_2d: tuple[int, ...] = (3,)  # canonical joint ids written as "0 0" (unannotated)
    hands: tuple[str, ...] = HAND_SIDES  # the hands that have fits (08-11 are single-hand in HIC.json)
    no_fit: tuple[tuple[int, str], ...] = ()  # (frame, side) without a fit: a null mesh path in HIC.json
    unlisted: tuple[int, ...] = ()  # fitted frames HIC.json leaves out
    extra_image: bool = False  # one more rgb frame, without fits, that HIC.json does not list (as in 03)


def write_hic(root: str | Path, sequences: list[HICSequence], images: bool = True, index: bool = True) -> Path:
    """Write the sequences, and InterWild's ``HIC.json`` over them when ``index`` (image id =
    100 NN + frame, annotation id = 10000 + 7 image id, mesh paths relative to the root)."""
    root = Path(root)
    layers = {side: load_mano(side, MANO_CONVENTION) for side in HAND_SIDES}
    coco = {"images": [], "annotations": []}
    for seq in sequences:
        scene = seq.scene
        if not np.allclose(scene.cameras.K[0], hic_rig().K[0]):
            raise ValueError("HIC scenes must be made with rig=hic_rig(): HIC's camera is fixed")
        nn = f"{seq.number:02d}"
        R, t = scene.cameras.R[0], scene.cameras.t[0]
        uv = scene.cameras.project(scene.joints.astype(np.float64).reshape(scene.num_frames, 42, 3))
        uv = uv[:, 0].reshape(scene.num_frames, 2, 21, 2)
        for f in range(scene.num_frames):
            fff = f"{f:03d}"
            if images and scene.rgb is not None:
                write_image(root / nn / "1" / "rgb" / f"{fff}.png", scene.rgb[f, 0])
            if f % ANNOTATION_STEP == 0:
                pts = np.rint(uv[f]).astype(int)
                ok = (pts >= 0).all(-1) & (pts[..., 0] < scene.cameras.width) & (pts[..., 1] < scene.cameras.height)
                ok[:, list(seq.missing_2d)] = False
                pts[~ok] = 0
                rows = np.concatenate([HIC_RIGHT.from_canonical(pts[0].astype(float)),
                                       HIC_LEFT.from_canonical(pts[1].astype(float))]).astype(int)
                text = "\n".join(f"{i}\t{x}\t{y}" for i, (x, y) in enumerate(rows))  # no trailing newline
                write_text_atomic(root / nn / "1" / "joints_2D_GT" / f"{fff}.txt", text)
            meshes = {}
            for h, side in enumerate(HAND_SIDES):
                if side not in seq.hands or (f, side) in seq.no_fit:
                    continue
                layer = layers[side]
                with torch.no_grad():
                    j0 = layer(np.zeros((1, 3)), np.zeros((1, 45)),
                               scene.betas[h : h + 1]).joints[0, 0].double().numpy()
                g = Rotation.from_matrix(R @ Rotation.from_rotvec(scene.global_orient[f, h]).as_matrix()).as_rotvec()
                verts = scene.vertices[f, h].astype(np.float64) @ R.T + t
                joints = scene.joints[f, h].astype(np.float64) @ R.T + t
                fit = {"pose": np.concatenate([g, scene.hand_pose[f, h]]), "betas": scene.betas[h].copy(),
                       "trans": R @ (j0 + scene.transl[f, h]) + t - j0, "v": verts,
                       "J_transformed___j21": MANO_ORDER.from_canonical(joints),
                       "J_transformed": MANO_ORDER.from_canonical(joints)[:16],
                       "model_name": f"MANO_{side.upper()}.pkl", "ncomps": 45}
                folder = root / FITS_ROOT / FIT_FOLDER.format(nn=nn, side="R" if side == "right" else "L")
                with atomic_path(folder / f"{fff}.pkl") as tmp, open(tmp, "wb") as fh:
                    pickle.dump(fit, fh, protocol=2)
                with atomic_path(folder / f"{fff}.ply") as tmp:
                    trimesh.Trimesh(verts, layer.faces, process=False).export(tmp, file_type="ply", encoding="ascii")
                meshes[side] = str((folder / f"{fff}.ply").relative_to(root))
            if f in seq.unlisted or not meshes:
                continue
            image_id = 100 * seq.number + f
            coco["images"].append({"id": image_id, "file_name": f"{nn}/1/rgb/{fff}.png", "width": HIC_CAMERA["width"],
                                   "height": HIC_CAMERA["height"], "seq_name": nn})
            coco["annotations"].append({
                "id": 10000 + 7 * image_id, "image_id": image_id,
                "hand_type": "interacting" if len(seq.hands) == 2 else seq.hands[0],
                "right_mano_path": meshes.get("right"), "left_mano_path": meshes.get("left")})
        if seq.extra_image and images and scene.rgb is not None:
            write_image(root / nn / "1" / "rgb" / f"{scene.num_frames:03d}.png", scene.rgb[-1, 0])
    if index:
        write_text_atomic(root / "HIC.json", json.dumps(coco))
    return root
