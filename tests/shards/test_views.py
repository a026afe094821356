"""The one builder of ground-truth views (``shards/views.py``) and the one mesh builder (``shards/meshes.py``):
against an independent per-view derivation, and the stages that use them (scoring, the submission checks,
the baselines) agree."""

import numpy as np
import pytest
import torch
from factory import converted_interhand

from handeval.conventions import CV_FROM_GL, FINGERS, HAND_SIDES, JOINT_INDEX, JOINT_NAMES, MANO
from handeval.mano import ManoConvention, load_mano
from handeval.mano.parts import JOINT_PART, MANO_JOINT_PART, PARTS
from handeval.readers import open_reader
from handeval.scoring.protocols import load_protocol
from handeval.scoring.truth import TruthBuilder
from handeval.shards import ShardDataset, to_numpy
from handeval.shards.convert import convert
from handeval.shards.meshes import HandMeshes
from handeval.shards.views import read_view_truth
from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
from handeval.synth.scene import make_scene
from handeval.zoo.baselines import ground_truth_submission

#: A MANO-built vertex in two batches of different sizes: float32 rounding, nothing more.
MESH_ATOL = 1e-6


@pytest.fixture(scope="module")
def datasets(standin_dir, tmp_path_factory):
    """InterHand2.6M (MANO in the world frame, a hand without a fit), HO3D (MANO in the OpenGL camera
    frame in train, the source's own meshes in evaluation) and Dex-YCB (a view that misses the hand)."""
    root = tmp_path_factory.mktemp("views")
    ih = make_scene(seed=21, num_frames=5, num_cameras=3, image_size=(32, 24), render=False)
    out = {"interhand26m": (converted_interhand(root / "ih", ih), "test")}
    ho = make_scene(seed=22, num_frames=4, num_cameras=2, image_size=(32, 24), objects=("box",), render=False)
    write_ho3d(root / "ho3d", [HO3DSequence(ho, "evaluation", "AP10", 0), HO3DSequence(ho, "train", "MPM10", 1)],
               images=False)
    convert(open_reader("ho3d", root / "ho3d"), root / "ho3d-gt", progress=False)
    out["ho3d-evaluation"] = (ShardDataset(root / "ho3d-gt"), "evaluation")
    out["ho3d-train"] = (ShardDataset(root / "ho3d-gt"), "train")
    dex = make_scene(seed=24, num_frames=3, num_cameras=2, image_size=(32, 24), fix_left_shapedirs=False, render=False)
    write_dexycb(root / "dex", [DexYCBSequence(dex, 0, "20200709_140000", no_hand_frames=(), no_hand_views=((1, 0),))],
                 images=False)
    convert(open_reader("dexycb", root / "dex"), root / "dex-gt", progress=False)
    out["dexycb"] = (ShardDataset(root / "dex-gt"), "s0_train")
    return out


def _per_view(ds: ShardDataset, split: str) -> dict:
    """Each view's ground truth, one view, hand and point at a time: the frame's joints, and its mesh
    (the source's own, else its MANO fit posed alone), moved into the view's camera."""
    conventions = ds.manifest.conventions
    layers = {s: load_mano(s, ManoConvention.from_dict(conventions.mano)) for s in HAND_SIDES}
    frames = {(seq.name, int(fr)): {k: v[i] for k, v in seq.frames.items()}
              for seq in ds.iter_sequences(split) for i, fr in enumerate(seq.frames["frame"])}
    views = to_numpy(ds.read("views", split, columns=["sequence", "frame", "R", "t", "hand_present"]), "views")
    n = len(views["frame"])
    out = {"joints": np.full((n, 2, 21, 3), np.nan), "world": np.full((n, 2, 21, 3), np.nan),
           "vertices": np.full((n, 2, 778, 3), np.nan), "valid": np.zeros((n, 2, 21), bool),
           "present": views["hand_present"]}
    for i in range(n):
        f = frames[(views["sequence"][i], int(views["frame"][i]))]
        R, t = views["R"][i].astype(np.float64), views["t"][i].astype(np.float64)
        for h, side in enumerate(HAND_SIDES):
            mesh = f["vertices"][h].astype(np.float64)
            if not np.isfinite(mesh).all() and f["mano_valid"][h]:
                pose = f["mano_pose"][h].astype(np.float64)
                with torch.no_grad():
                    mesh = layers[side](pose[None, :3], pose[None, 3:], f["mano_shape"][h][None],
                                        f["mano_trans"][h][None]).vertices[0].double().numpy()
                if conventions.mano_frame == "opengl_camera":
                    mesh = np.array([CV_FROM_GL @ x for x in mesh])
            out["vertices"][i, h] = [R @ x + t for x in mesh]
            if views["hand_present"][i, h]:
                out["joints"][i, h] = [R @ x + t for x in f["joints"][h].astype(np.float64)]
                out["valid"][i, h] = f["joints_valid"][h]
                out["world"][i, h] = f["joints"][h]
    return out


@pytest.mark.parametrize("name", ["interhand26m", "ho3d-evaluation", "ho3d-train", "dexycb"])
def test_view_truth_is_each_frame_seen_from_each_camera(datasets, name):
    ds, split = datasets[name]
    meshes = HandMeshes(ds)
    got, want = read_view_truth(ds, split, meshes), _per_view(ds, split)
    np.testing.assert_array_equal(got.present, want["present"])
    np.testing.assert_array_equal(got.valid, want["valid"])
    np.testing.assert_allclose(got.joints, want["joints"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.vertices, want["vertices"], rtol=0, atol=MESH_ATOL)
    np.testing.assert_array_equal(got.meshed, np.isfinite(want["vertices"]).all(axis=(-1, -2)))
    # Back to the world: X_world = R^T (X_cam - t).
    views = to_numpy(ds.read("views", split, columns=["R", "t"]), "views")
    world = np.einsum("vji,vhkj->vhki", views["R"].astype(np.float64), got.joints - views["t"][:, None, None])
    np.testing.assert_allclose(world, want["world"], rtol=0, atol=1e-6)  # the shards store float32
    assert meshes.built_with_mano == (name != "ho3d-evaluation")  # HO3D's evaluation meshes are its own
    assert (got.present & ~got.meshed).any() == (name == "interhand26m")  # a hand without a MANO fit
    assert (got.meshed & ~got.present).any() == (name == "dexycb")  # a view that misses its frame's hand


@pytest.mark.parametrize("name,protocol", [("ho3d-evaluation", "ho3d-v3/official"), ("ho3d-train", "ho3d-v3/official"),
                                           ("interhand26m", "interhand26m-30fps/temporal"),
                                           ("interhand26m", "interhand26m-5fps/official"),
                                           ("dexycb", "dexycb-s0/toolkit")])
def test_scoring_the_checks_and_the_baselines_see_the_same_truth(datasets, name, protocol):
    ds, split = datasets[name]
    checks = read_view_truth(ds, split, HandMeshes(ds))
    baseline = ground_truth_submission(ds, split)
    builder = TruthBuilder(ds, load_protocol(protocol), split)
    index = {k: i for i, k in enumerate(checks.keys())}
    assert index == {k: i for i, k in enumerate(baseline.keys())}
    np.testing.assert_allclose(baseline.vertices, checks.vertices, rtol=0, atol=MESH_ATOL)
    annotated = checks.present[:, :, None] & np.isfinite(checks.joints).all(axis=-1)
    np.testing.assert_allclose(baseline.joints[annotated], checks.joints[annotated], rtol=0, atol=1e-12)
    assert np.isnan(baseline.joints[~checks.present]).all()
    scored = 0
    for shard in builder.shards:
        for truth in builder.chunks(shard, 3):  # chunks smaller than a shard: the MANO batches differ
            rows = np.array([index[k] for k in truth.keys()])
            present = checks.present[rows] & (checks.meshed[rows] if builder.need_vertices else True)
            np.testing.assert_array_equal(truth.present, present)
            np.testing.assert_allclose(truth.joints, np.where(present[:, :, None, None], checks.joints[rows], np.nan),
                                       rtol=0, atol=1e-12)
            if builder.gt_spec.get("valid") is None:
                np.testing.assert_array_equal(truth.valid, checks.valid[rows] & present[:, :, None])
            if builder.need_vertices:
                np.testing.assert_allclose(truth.vertices, np.where(present[:, :, None, None], checks.vertices[rows],
                                                                    np.nan), rtol=0, atol=MESH_ATOL)
            scored += len(truth)
    assert scored > 0


def test_one_part_per_joint():
    """Each canonical joint's part from its name: the wrist is the palm, a digit's joints its digit."""
    names = [("palm" if n == "wrist" else n.split("_")[0]) for n in JOINT_NAMES]
    assert [PARTS[p] for p in JOINT_PART] == names and set(names) == {"palm", *FINGERS}
    assert [PARTS[p] for p in MANO_JOINT_PART] == [names[JOINT_INDEX[n]] for n in MANO.joints[:16]]
