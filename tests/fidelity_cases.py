"""Small cases in each dataset's exact native layout, for the golden tests against the official evaluators.

``python tests/fidelity_cases.py OUT`` writes ``OUT/<case>/{case.json, raw/, pred/}``: the raw
tree, and predictions in the form each official evaluator reads (HO3D ``pred.json``, Dex-YCB
result ``.txt``) or, where the evaluator consumes a network's outputs, the canonical ``.npz``
(InterHand2.6M, HIC). The official scripts were run on these files outside the repository
(``data_specs/metrics.md``, "Agreement with the official code"); only this generator and the
numbers they printed (``tests/golden/official.json``) are committed.

Predictions are made from the scenes' own ground truth (not from handeval's converted shards)
plus seeded noise, offsets and deliberate mistakes. Every case carries the edge cases of its
dataset: views without a hand and hands in some views only (Dex-YCB, the master camera
included), truncated joints, ``hand_type_valid`` 0, dark images, null MANO, single-hand images
and swapped hands (InterHand2.6M), null meshes, single-hand and unlisted frames (HIC), and a
v2 and a v3 tree (HO3D).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
from handeval.synth.native.hic import HICSequence, hic_rig, write_hic
from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
from handeval.synth.scene import make_scene

#: Protocol that scores each case, and the dataset split it is on.
CASES = {
    "ho3d_v3": ("ho3d", "ho3d-v3/official", "evaluation"),
    "ho3d_v2": ("ho3d", "ho3d-v2/official", "evaluation"),
    "dexycb": ("dexycb", "dexycb-s0/toolkit", "s0_test"),
    "interhand": ("interhand26m", "interhand26m-5fps/official", "test"),
    "hic": ("hic", "hic/interwild", "test"),
}


def _case(out: Path, name: str, predictions: dict, **extra) -> None:
    dataset, _, split = CASES[name]
    (out / "pred").mkdir(parents=True, exist_ok=True)
    for pred, write in predictions.items():
        write(out / "pred" / pred)
    (out / "case.json").write_text(json.dumps({"dataset": dataset, "split": split, "predictions": list(predictions),
                                               **extra}, indent=1))


def _noise(rng, shape, sigma=0.005):
    return rng.normal(0.0, sigma, shape)


def write_ho3d_case(out: Path, version: str) -> None:
    scene = make_scene(seed=31, num_frames=6, num_cameras=2, image_size=(64, 48), objects=("box",))
    write_ho3d(out / "raw", [HO3DSequence(scene, "evaluation", "SM1", 0), HO3DSequence(scene, "evaluation", "AP10", 1)],
               version=version)
    xyz = np.asarray(json.loads((out / "raw" / "evaluation_xyz.json").read_text()))
    verts = np.asarray(json.loads((out / "raw" / "evaluation_verts.json").read_text()))
    rng = np.random.default_rng(1)

    def dump(j, v):
        return lambda path: path.with_suffix(".json").write_text(json.dumps([j.tolist(), v.tolist()]))

    shift = np.array([0.02, -0.01, 0.03])  # an absolute offset: only the unaligned errors see it
    _case(out, f"ho3d_{version}", {
        "noise": dump(xyz + _noise(rng, xyz.shape), verts + _noise(rng, verts.shape)),
        "offset": dump(xyz + _noise(rng, xyz.shape, 0.01) + shift, verts + _noise(rng, verts.shape, 0.01) + shift),
    }, version=version)


def write_dexycb_case(out: Path) -> None:
    """Subject 3 (index 2) with five sequences: the fifth is S0's test split. Its label files say
    "no hand" in every view of frame 1, and in some views only of frames 2 (the master camera)
    and 3."""
    scene = make_scene(seed=32, num_frames=5, num_cameras=3, image_size=(64, 48), fix_left_shapedirs=False,
                       render=False)
    seqs = [DexYCBSequence(scene, 2, f"20200820_1500{i:02d}", side="left" if i == 4 else "right",
                           no_hand_frames=(1,), no_hand_views=((2, 0), (3, 2))) for i in range(5)]
    write_dexycb(out / "raw", seqs, images=False)
    # The toolkit's s0_test order for this tree: the one test sequence, cameras, then frames.
    seq = seqs[4]
    rig, h = scene.cameras, 1
    joints_cam = np.einsum("cij,tkj->ctki", rig.R, scene.joints[:, h].astype(np.float64)) + rig.t[:, None, None]
    joints_mm = joints_cam.astype(np.float32).astype(np.float64) * 1000  # as the label files store them
    rng = np.random.default_rng(2)

    def lines(offset, sigma):
        def write(path):
            rows = []
            for c in range(rig.num_cameras):
                for f in range(scene.num_frames):
                    no_hand = f in seq.no_hand_frames or (f, c) in seq.no_hand_views
                    p = np.zeros((21, 3)) if no_hand else joints_mm[c, f] + offset + rng.normal(0, sigma, (21, 3))
                    rows.append(",".join([str(len(rows))] + [f"{v:.6f}" for v in p.ravel()]))
            path.with_suffix(".txt").write_text("\n".join(rows) + "\n")
        return write

    _case(out, "dexycb", {"noise": lines(0.0, 5.0), "offset": lines(np.array([15.0, -5.0, 10.0]), 8.0)})


def write_interhand_case(out: Path) -> None:
    """Two sequences of InterHand2.6M v1.0 test, 4 cameras, with single-hand images of both hands
    (the official evaluate needs every joint in both groups), a camera that truncates the hands,
    hand_type_valid 0, dark images and null or missing MANO (the writer's frames 2 and 5)."""
    scene = make_scene(seed=33, num_frames=8, num_cameras=4, image_size=(96, 72))
    K = scene.cameras.K.copy()
    K[3, 0, 2] -= 0.45 * scene.cameras.width  # camera 3 sees the hands cut by the image border
    scene = dataclasses.replace(scene, cameras=dataclasses.replace(scene.cameras, K=K))
    seqs = [InterHandSequence(scene, "test", 0, "0001_case_a", single_hand=((3, "right"), (6, "left")),
                              hand_type_invalid=((4, 1),), dark=((0, 2), (7, 0))),
            InterHandSequence(scene, "test", 1, "0002_case_b", first_frame=400, stride=3,
                              single_hand=((2, "left"), (5, "right")), hand_type_invalid=((1, 0), (6, 2)),
                              dark=((3, 1),))]
    write_interhand26m(out / "raw", seqs)
    rig = scene.cameras
    cam = np.einsum("cij,thkj->cthki", rig.R, scene.joints.astype(np.float64)) + rig.t[:, None, None, None]
    vcam = np.einsum("cij,thkj->cthki", rig.R, scene.vertices.astype(np.float64)) + rig.t[:, None, None, None]
    rng = np.random.default_rng(3)

    def npz(mistake):
        def write(path):
            rows = {k: [] for k in ("sequence", "frame", "camera", "joints", "vertices", "hand_scores")}
            for s in seqs:
                types = dict(s.single_hand)
                for t, fidx in enumerate(s.frame_idx()):
                    for c, name in enumerate(s.camera_names()):
                        j = cam[c, t] + _noise(rng, cam[c, t].shape)
                        v = vcam[c, t] + _noise(rng, vcam[c, t].shape)
                        kind = types.get(t, "interacting")
                        score = np.array([kind != "left", kind != "right"], dtype=float) * 0.9 + 0.05
                        if mistake == "swapped" and kind == "interacting":
                            j, v = j[::-1], v[::-1]
                        if mistake == "handedness" and c == 0:
                            score = score[::-1]
                        rows["sequence"].append(f"test/Capture{s.capture}/{s.seq_name}")
                        rows["frame"].append(int(fidx)), rows["camera"].append(name)
                        rows["joints"].append(j), rows["vertices"].append(v), rows["hand_scores"].append(score)
            np.savez(path.with_suffix(".npz"), sequence=np.asarray(rows["sequence"], dtype=str),
                     frame=np.asarray(rows["frame"], dtype=np.int64), camera=np.asarray(rows["camera"], dtype=str),
                     joints=np.stack(rows["joints"]), vertices=np.stack(rows["vertices"]),
                     hand_scores=np.stack(rows["hand_scores"]))
        return write

    _case(out, "interhand", {"noise": npz(None), "swapped": npz("swapped"), "handedness": npz("handedness")})


def write_hic_case(out: Path) -> None:
    """Sequence 01 (interacting; frame 4 without a left fit, frame 9 fitted but not listed, one rgb
    frame without fits) and 08 (right hand only), with InterWild's HIC.json."""
    scene = make_scene(seed=34, num_frames=10, rig=hic_rig(), fix_left_shapedirs=False, image_size=(64, 48))
    seqs = [HICSequence(scene, 1, no_fit=((4, "left"),), unlisted=(9,), extra_image=True),
            HICSequence(scene, 8, hands=("right",))]
    write_hic(out / "raw", seqs)
    R, t = scene.cameras.R[0], scene.cameras.t[0]
    verts = scene.vertices.astype(np.float64) @ R.T + t
    joints = scene.joints.astype(np.float64) @ R.T + t
    rng = np.random.default_rng(4)

    def npz(offset_left):
        def write(path):
            keys, js, vs = [], [], []
            for s in seqs:
                for f in range(scene.num_frames):
                    if f in s.unlisted:  # not a test frame
                        continue
                    keys.append((f"test/{s.number:02d}", f))
                    shift = np.array([[0, 0, 0], offset_left])[:, None]
                    js.append(joints[f] + shift + _noise(rng, joints[f].shape))
                    vs.append(verts[f] + shift + _noise(rng, verts[f].shape))
            np.savez(path.with_suffix(".npz"), sequence=np.asarray([k for k, _ in keys], dtype=str),
                     frame=np.asarray([f for _, f in keys], dtype=np.int64),
                     camera=np.full(len(keys), "0"), joints=np.stack(js), vertices=np.stack(vs))
        return write

    _case(out, "hic", {"noise": npz([0.0, 0.0, 0.0]), "left_offset": npz([0.01, 0.0, -0.02])})


WRITERS = {"ho3d_v3": lambda o: write_ho3d_case(o, "v3"), "ho3d_v2": lambda o: write_ho3d_case(o, "v2"),
           "dexycb": write_dexycb_case, "interhand": write_interhand_case, "hic": write_hic_case}


def write_cases(out: str | Path, names=None) -> dict[str, Path]:
    out = Path(out)
    return {name: (WRITERS[name](out / name), out / name)[1] for name in (names or WRITERS)}


if __name__ == "__main__":
    for name, path in write_cases(sys.argv[1], sys.argv[2:] or None).items():
        print(name, path)
