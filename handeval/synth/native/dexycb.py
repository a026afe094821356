"""Write synthetic scenes in Dex-YCB's official layout.

Quirks reproduced (``data_specs/datasets.md``, Dex-YCB): one hand per sequence; the world is
the master camera's frame and extrinsics map camera -> world as ``!!python/tuple`` 3x4
rows; per-view ``labels_%06d.npz`` in that camera's OpenCV frame, metres, with ``pose_m``
as 3 global axis-angle + 45 PCA coefficients + a translation that is *not* the wrist,
``joint_3d``/``joint_2d`` all -1 and ``pose_m`` all 0 in a label file (one camera view)
without the hand, which may happen in some views of a frame only, the master's included; ``seg``
with 255 for hand pixels and the YCB class id for objects; depth as uint16 millimetres;
per-sequence ``pose.npz`` in the world frame with "no pose" quaternions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import trimesh
import yaml
from scipy.spatial.transform import Rotation

from handeval.conventions import HAND_SIDES
from handeval.mano import load_mano
from handeval.readers.dexycb import MANO_CONVENTION, SERIALS, SUBJECTS
from handeval.synth.images import write_image
from handeval.synth.scene import SyntheticScene
from handeval.util.atomic import atomic_path, write_text_atomic

#: Synthetic object kinds stand in for these YCB classes (id, name).
YCB_FOR_KIND = {"box": (3, "004_sugar_box"), "cylinder": (1, "002_master_chef_can"), "sphere": (13, "024_bowl")}
HAND_PIXEL = 255


@dataclass(frozen=True)
class DexYCBSequence:
    """One Dex-YCB sequence made from one hand of a scene."""

    scene: SyntheticScene
    subject: int            # index into SUBJECTS
    name: str               # sequence folder, e.g. 20200709_141754
    side: str = "right"
    no_hand_frames: tuple[int, ...] = (1,)  # frames whose labels say "no hand" in every view
    #: (frame, camera) label files that say "no hand" while other views of the frame have one;
    #: camera 0 is the master camera. The toolkit promises no agreement between views.
    no_hand_views: tuple[tuple[int, int], ...] = ((2, 0),)


def _no_hand(seq: DexYCBSequence) -> np.ndarray:
    """(T, C): label files without a hand."""
    mask = np.zeros((seq.scene.num_frames, seq.scene.cameras.num_cameras), dtype=bool)
    mask[[f for f in seq.no_hand_frames if f < len(mask)]] = True
    for f, c in seq.no_hand_views:
        if f < mask.shape[0] and c < mask.shape[1]:
            mask[f, c] = True
    return mask


def _pca_pose(seq: DexYCBSequence, layers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame (T, 48) world-frame [global axis-angle, 45 PCA coefficients], (T, 3) translation, J0."""
    scene, h = seq.scene, HAND_SIDES.index(seq.side)
    layer = layers[seq.side]
    comps = layer.pca_components.double().numpy()  # all 45 components (num_pca_comps = 45)
    coeffs = np.linalg.solve(comps.T, scene.hand_pose[:, h].T).T  # hand_pose = coeffs @ comps
    with torch.no_grad():
        j0 = layer(np.zeros((1, 3)), np.zeros((1, 45)), scene.betas[h : h + 1]).joints[0, 0].double().numpy()
    return np.concatenate([scene.global_orient[:, h], coeffs], axis=1), scene.transl[:, h], j0


def write_dexycb(root: str | Path, sequences: list[DexYCBSequence], images: bool = True) -> Path:
    """Write sequences (each scene must use Dex-YCB's left convention: no shapedirs fix)."""
    root = Path(root)
    for seq in sequences:
        if seq.side == "left" and seq.scene.convention.fix_left_shapedirs:
            raise ValueError("Dex-YCB left hands use the unfixed shapedirs: "
                             "make the scene with fix_left_shapedirs=False")
        _write_sequence(root, seq, {side: load_mano(side, MANO_CONVENTION) for side in HAND_SIDES}, images)
    return root


def _write_sequence(root: Path, seq: DexYCBSequence, layers, images: bool) -> None:
    scene, rig = seq.scene, seq.scene.cameras
    T, C = scene.num_frames, rig.num_cameras
    if C > len(SERIALS):
        raise ValueError(f"Dex-YCB has {len(SERIALS)} cameras, the scene has {C}")
    serials = SERIALS[:C]
    subject = SUBJECTS[seq.subject]
    seq_dir = root / subject / seq.name
    h = HAND_SIDES.index(seq.side)
    calib_id = f"{seq.name}_{subject}_{seq.side}"
    extr_id = f"{subject[:8]}_000000"

    # World = camera 0's frame: X_dex = R0 X_scene + t0.
    R0, t0 = rig.R[0], rig.t[0]

    intr_dir = root / "calibration" / "intrinsics"
    for c, serial in enumerate(serials):
        k = rig.K[c]
        write_text_atomic(intr_dir / f"{serial}_{rig.width}x{rig.height}.yml", yaml.safe_dump(
            {"color": {"fx": float(k[0, 0]), "fy": float(k[1, 1]), "ppx": float(k[0, 2]), "ppy": float(k[1, 2])}}))
    extr = {}
    for c, serial in enumerate(serials):
        # camera -> world(dex): X_dex = R0 R_c^T (X_cam - t_c) + t0
        rot = R0 @ rig.R[c].T
        trans = t0 - rot @ rig.t[c]
        extr[serial] = tuple(float(v) for v in np.hstack([rot, trans[:, None]]).ravel())
    extr["apriltag"] = tuple(float(v) for v in np.hstack([np.eye(3), np.zeros((3, 1))]).ravel())
    write_text_atomic(root / "calibration" / f"extrinsics_{extr_id}" / "extrinsics.yml",
                      yaml.dump({"extrinsics": extr, "master": serials[0]}))  # default Dumper: !!python/tuple
    write_text_atomic(root / "calibration" / f"mano_{calib_id}" / "mano.yml",
                      yaml.safe_dump({"betas": [float(b) for b in scene.betas[h]]}))

    objects = [o for o in scene.objects]
    ycb = [YCB_FOR_KIND[o.name.rstrip("0123456789")] for o in objects]
    for (_, ycb_name), obj in zip(ycb, objects):
        path = root / "models" / ycb_name / "textured_simple.obj"
        if not path.is_file():
            with atomic_path(path) as tmp:
                trimesh.Trimesh(obj.vertices, obj.faces, process=False).export(tmp, file_type="obj")
    write_text_atomic(seq_dir / "meta.yml", yaml.safe_dump({
        "serials": list(serials), "num_frames": T, "ycb_ids": [i for i, _ in ycb],
        "ycb_grasp_ind": 0, "mano_sides": [seq.side], "mano_calib": [calib_id], "extrinsics": extr_id,
    }, sort_keys=False))

    no_hand = _no_hand(seq)
    pose48, transl, j0 = _pca_pose(seq, layers)
    # pose.npz (world = camera 0): rotate the global orientation and move the pivot J0.
    g_world = Rotation.from_matrix(R0[None] @ Rotation.from_rotvec(pose48[:, :3]).as_matrix()).as_rotvec()
    t_world = (j0 + transl) @ R0.T + t0 - j0
    pose_m_world = np.concatenate([g_world, pose48[:, 3:], t_world], axis=1)
    pose_m_world[no_hand.all(axis=1)] = 0.0
    pose_y_world = np.zeros((T, len(objects), 7))
    for o, obj in enumerate(objects):
        rot_w = R0[None] @ obj.rotation
        pose_y_world[:, o, :4] = Rotation.from_matrix(rot_w).as_quat()  # x, y, z, w
        pose_y_world[:, o, 4:] = obj.translation @ R0.T + t0
    with atomic_path(seq_dir / "pose.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, pose_y=pose_y_world.astype(np.float32),
                            pose_m=pose_m_world[:, None].astype(np.float32))

    joints_world = scene.joints[:, h].astype(np.float64)
    for c, serial in enumerate(serials):
        cam_dir = seq_dir / serial
        R, t = rig.R[c], rig.t[c]
        joints_cam = joints_world @ R.T + t
        uv = joints_cam @ rig.K[c].T
        uv = uv[..., :2] / uv[..., 2:]
        g_cam = Rotation.from_matrix(R[None] @ Rotation.from_rotvec(pose48[:, :3]).as_matrix()).as_rotvec()
        t_cam = (j0 + transl) @ R.T + t - j0
        for f in range(T):
            hand = not no_hand[f, c]
            pose_y = np.zeros((len(objects), 3, 4), dtype=np.float32)
            for o, obj in enumerate(objects):
                pose_y[o] = np.hstack([R @ obj.rotation[f], (R @ obj.translation[f] + t)[:, None]])
            labels = {
                "pose_y": pose_y,
                "pose_m": (np.concatenate([g_cam[f], pose48[f, 3:], t_cam[f]])[None] if hand
                           else np.zeros((1, 51))).astype(np.float32),
                "joint_3d": (joints_cam[f][None] if hand else -np.ones((1, 21, 3))).astype(np.float32),
                "joint_2d": (uv[f][None] if hand else -np.ones((1, 21, 2))).astype(np.float32),
            }
            if scene.segmentation is not None:
                seg = scene.segmentation[f, c]
                out = np.zeros_like(seg)
                out[(seg == 1) | (seg == 2)] = HAND_PIXEL
                for o, (ycb_id, _) in enumerate(ycb):
                    out[seg == 3 + o] = ycb_id
                labels["seg"] = out
            with atomic_path(cam_dir / f"labels_{f:06d}.npz", suffix=".npz") as tmp:
                np.savez_compressed(tmp, **labels)
            if images and scene.rgb is not None:
                write_image(cam_dir / f"color_{f:06d}.jpg", scene.rgb[f, c])
                write_image(cam_dir / f"aligned_depth_to_color_{f:06d}.png",
                            np.round(scene.depth[f, c] * 1000).astype(np.uint16))
