"""Write synthetic scenes in InterHand2.6M's official layout (v1.0, or the v0.0 subset folders).

Quirks reproduced (``data_specs/datasets.md``, InterHand2.6M): 42 tip-first joints with the wrist
last, world coordinates and camera centres in millimetres, MANO ``trans`` in metres,
``joint_valid`` as 42 one-element lists, per-image validity that drops joints outside
the image, camera names without the ``cam`` prefix in data.json, string frame keys,
null MANO hands and frames missing from the MANO file, and non-uniform frame strides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handeval.conventions import FINGERS, MM_PER_M, canonical_to_interhand42
from handeval.synth.images import write_image
from handeval.synth.scene import SyntheticScene
from handeval.util.atomic import write_text_atomic

SUBSETS_V0 = {"H": "human_annot", "M": "machine_annot", "H+M": "all"}


@dataclass(frozen=True)
class InterHandSequence:
    """Where one scene goes: split, capture, sequence name, and its frame numbering."""

    scene: SyntheticScene
    split: str
    capture: int
    seq_name: str
    first_frame: int = 100
    stride: int = 6
    camera_base: int = 400262
    #: frames annotated as one hand only, e.g. {3: "right"}: the other hand's joints are invalid
    single_hand: tuple[tuple[int, str], ...] = ()
    #: (frame, camera) images whose data.json hand_type_valid is 0 although the rule would give 1
    hand_type_invalid: tuple[tuple[int, int], ...] = ()
    #: (frame, camera) images written nearly black (mean intensity below IntagHand's 10)
    dark: tuple[tuple[int, int], ...] = ()

    def frame_idx(self) -> np.ndarray:
        # Strides are not uniform in the real data (#147): every 4th step is doubled.
        steps = np.full(self.scene.num_frames, self.stride)
        steps[0], steps[4::4] = 0, 2 * self.stride
        return self.first_frame + np.cumsum(steps)

    def camera_names(self) -> list[str]:
        return [str(self.camera_base + 11 * c) for c in range(self.scene.cameras.num_cameras)]


def _skeleton_txt() -> str:
    """skeleton.txt: name, index, parent; each finger tip first, the wrist last (20 / 41)."""
    lines = ["# joint_name joint_id joint_parent_id"]
    for side, offset in (("r", 0), ("l", 21)):
        for f, finger in enumerate(FINGERS):
            for j, k in enumerate((4, 3, 2, 1)):
                i = 4 * f + j
                lines.append(f"{side}_{finger}{k} {i + offset} {(20 if k == 1 else i + 1) + offset}")
        lines.append(f"{side}_wrist {20 + offset} -1")
    return "\n".join(lines) + "\n"


def write_interhand26m(root: str | Path, sequences: list[InterHandSequence], version: str = "v1.0",
                       subset: str = "H+M", images: bool = True, drop_mano: tuple[int, int] = (2, 5)) -> Path:
    """Write the annotation files (and JPEG images) of the sequences under ``root``.

    ``drop_mano = (n, k)``: on frame n of each sequence the left hand's MANO is null, and
    frame k is missing from the MANO file altogether (both happen in the real data).
    """
    root = Path(root)
    by_split: dict[str, list[InterHandSequence]] = {}
    for s in sequences:
        by_split.setdefault(s.split, []).append(s)
    ann_root = root / "annotations"
    write_text_atomic(ann_root / "skeleton.txt", _skeleton_txt())
    write_text_atomic(ann_root / "subject.txt", "0 synthetic_subject male\n")
    for split, seqs in by_split.items():
        data = {"images": [], "annotations": []}
        cameras, joints3d, mano = {}, {}, {}
        next_id = 0
        for s in seqs:
            scene, rig = s.scene, s.scene.cameras
            cap = str(s.capture)
            names = s.camera_names()
            cam = cameras.setdefault(cap, {"campos": {}, "camrot": {}, "focal": {}, "princpt": {}})
            for c, name in enumerate(names):
                cam["campos"][name] = (rig.centres[c] * MM_PER_M).tolist()
                cam["camrot"][name] = rig.R[c].tolist()
                cam["focal"][name] = [float(rig.K[c, 0, 0]), float(rig.K[c, 1, 1])]
                cam["princpt"][name] = [float(rig.K[c, 0, 2]), float(rig.K[c, 1, 2])]
            valid = np.ones((scene.num_frames, 2, 21), dtype=bool)
            valid[1, 0, 4], valid[1, 1, 0] = False, False      # two joints failed to annotate on frame 1
            types = ["interacting"] * scene.num_frames
            for t, side in s.single_hand:
                types[t] = side
                valid[t, 1 - ("right", "left").index(side)] = False
            ih = canonical_to_interhand42(scene.joints.astype(np.float64)) * MM_PER_M  # (T, 42, 3) mm
            ih_valid = canonical_to_interhand42(valid[..., None].astype(float))[..., 0].astype(int)
            ih[ih_valid == 0] = 0.0                              # the source keeps zeros there
            uv = rig.project(scene.joints.astype(np.float64).reshape(scene.num_frames, 42, 3))
            uv = uv.reshape(scene.num_frames, rig.num_cameras, 2, 21, 2)
            for t, fidx in enumerate(s.frame_idx()):
                key = str(int(fidx))
                joints3d.setdefault(cap, {})[key] = {
                    "world_coord": ih[t].tolist(), "joint_valid": ih_valid[t].tolist(),
                    "hand_type": types[t], "seq": s.seq_name,
                }
                if t != drop_mano[1]:
                    entry = {}
                    for h, side in enumerate(("right", "left")):
                        if t == drop_mano[0] and side == "left":
                            entry[side] = None
                        else:
                            entry[side] = {
                                "pose": np.concatenate([scene.global_orient[t, h], scene.hand_pose[t, h]]).tolist(),
                                "shape": scene.betas[h].tolist(), "trans": scene.transl[t, h].tolist(),
                            }
                    mano.setdefault(cap, {})[key] = entry
                for c, name in enumerate(names):
                    file_name = f"Capture{s.capture}/{s.seq_name}/cam{name}/image{int(fidx)}.jpg"
                    inside = ((uv[t, c, ..., 0] >= 0) & (uv[t, c, ..., 0] < rig.width)
                              & (uv[t, c, ..., 1] >= 0) & (uv[t, c, ..., 1] < rig.height))
                    in_image = inside & valid[t]
                    valid_img = canonical_to_interhand42(in_image[..., None].astype(float))[:, 0].astype(int)
                    pts = uv[t, c][in_image]
                    lo, hi = pts.min(axis=0), pts.max(axis=0)
                    data["images"].append({
                        "id": next_id, "file_name": file_name, "width": rig.width, "height": rig.height,
                        "capture": s.capture, "subject": 0, "seq_name": s.seq_name, "camera": name,
                        "frame_idx": int(fidx),
                    })
                    data["annotations"].append({
                        "id": next_id, "image_id": next_id, "bbox": [float(lo[0]), float(lo[1]),
                                                                     float(hi[0] - lo[0]), float(hi[1] - lo[1])],
                        "joint_valid": [[int(v)] for v in valid_img], "hand_type": types[t],
                        # the official rule: single hands are valid, interacting ones with > 30 valid joints
                        "hand_type_valid": int((types[t] != "interacting" or valid_img.sum() > 30)
                                               and (t, c) not in s.hand_type_invalid),
                    })
                    next_id += 1
                    if images and scene.rgb is not None:
                        rgb = scene.rgb[t, c] // 50 if (t, c) in s.dark else scene.rgb[t, c]
                        write_image(root / "images" / split / file_name, rgb)
        folder = ann_root / (split if version == "v1.0" else SUBSETS_V0[subset])
        files = {"data": data, "camera": cameras, "joint_3d": joints3d}
        if version == "v1.0":
            files["MANO_NeuralAnnot"] = mano
        for kind, payload in files.items():
            write_text_atomic(folder / f"InterHand2.6M_{split}_{kind}.json", json.dumps(payload))
    return root
