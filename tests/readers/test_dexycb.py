"""Dex-YCB: native files -> convert -> canonical records equal the synthetic ground truth."""

import numpy as np
import pytest
import torch

from handeval.mano import load_mano
from handeval.readers import open_reader
from handeval.readers.dexycb import MANO_CONVENTION, SERIALS, DexYCB
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.validate import validate_dataset
from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
from handeval.synth.scene import make_scene
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def scene(standin_dir):
    return make_scene(seed=2, num_frames=5, num_cameras=8, image_size=(48, 36), objects=("box",),
                      fix_left_shapedirs=False)


@pytest.fixture(scope="module")
def raw(scene, tmp_path_factory):
    root = tmp_path_factory.mktemp("dex") / "raw"
    seqs = [DexYCBSequence(scene, s, f"2020070{s}_1400{i:02d}", side="left" if i == 4 else "right")
            for s in (0, 2) for i in range(5)]
    write_dexycb(root, seqs)
    return root


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("dex") / "out"
    reader = DexYCB(raw)
    convert(reader, out, splits=["s0_train", "s0_val", "s0_test", "s2_test"], progress=False)
    return ShardDataset(out)


def test_toolkit_splits(raw):
    reader = DexYCB(raw)
    members = {s: [name for name, _ in reader.sequence_lengths(s)] for s in reader.splits()}
    # Sequence index 4 of each subject is s0 val (subject 0) or s0 test (subject 2).
    assert [n.split("/")[1:] for n in members["s0_val"]] == [["20200709-subject-01", "20200700_140004"]]
    assert [n.split("/")[1] for n in members["s0_test"]] == ["20200820-subject-03"]
    assert len(members["s0_train"]) == 8 and len(members["s1_train"]) == 10
    assert "s1_test" not in members  # subjects 8 and 9 are absent
    assert set(members["s3_train"]) and "s3_val" not in members  # blocks 3 and 19 need more sequences


def test_round_trip(converted, scene):
    R0, t0 = scene.cameras.R[0], scene.cameras.t[0]
    for name, h in (("s0_train/20200709-subject-01/20200700_140000", 0),
                    ("s0_val/20200709-subject-01/20200700_140004", 1)):
        got = converted.sequence(name)
        gt = scene.joints[:, h].astype(np.float64) @ R0.T + t0  # Dex-YCB's world is camera 0
        valid = got.frames["joints_valid"][:, h]
        assert valid.sum(axis=1).tolist() == [21, 0, 21, 21, 21]  # frame 1's labels say "no hand"
        assert got.frames["hand_type"][1] == "none" and not got.frames["hand_present"][1].any()
        np.testing.assert_allclose(got.frames["joints"][:, h][valid], gt[valid], atol=1e-5)
        assert not got.frames["joints_valid"][:, 1 - h].any()
        # Cameras: world(dex) -> camera equals the scene's camera, projections to 1e-3 px.
        world_scene = scene.joints[:, h].astype(np.float64)
        for i, serial in enumerate(got.views["camera"][:8]):
            c = SERIALS.index(serial)
            cam = (gt @ got.views["R"][i].T.astype(np.float64)) + got.views["t"][i]
            np.testing.assert_allclose(cam, world_scene @ scene.cameras.R[c].T + scene.cameras.t[c], atol=1e-5)
        uv = got.views["joints_2d"][:, h]
        ok = got.views["joints_image_valid"][:, h]
        proj = np.einsum("vij,vkj->vki", got.views["K"].astype(np.float64),
                         np.einsum("vij,vkj->vki", got.views["R"].astype(np.float64), gt[got.views["frame"]])
                         + got.views["t"][:, None])
        np.testing.assert_allclose(uv[ok], (proj[..., :2] / proj[..., 2:])[ok], atol=1e-3)
        # Vertices from the stored world-frame PCA MANO, Dex-YCB's convention.
        layer = load_mano(("right", "left")[h], MANO_CONVENTION)
        rows = np.flatnonzero(got.frames["mano_valid"][:, h])
        p = got.frames["mano_pose"][rows, h].astype(np.float64)
        with torch.no_grad():
            verts = layer(p[:, :3], p[:, 3:], got.frames["mano_shape"][rows, h],
                          got.frames["mano_trans"][rows, h]).vertices.double().numpy()
        np.testing.assert_allclose(verts, scene.vertices[rows, h].astype(np.float64) @ R0.T + t0, atol=1e-5)


def test_objects_and_views(converted, scene):
    got = converted.sequence("s0_train/20200709-subject-01/20200700_140000")
    assert got.frames["object_ids"][0] == ["004_sugar_box"]
    pose = np.asarray(got.frames["object_poses"][2]).reshape(3, 4)
    R0 = scene.cameras.R[0]
    np.testing.assert_allclose(pose[:, :3], R0 @ scene.objects[0].rotation[2], atol=1e-5)
    assert got.views["image_path"][0] == "20200709-subject-01/20200700_140000/836212060125/color_000000.jpg"
    s2 = converted.sequence("s2_test/20200709-subject-01/20200700_140000")
    assert set(s2.views["camera"]) == {SERIALS[7]}


def test_validate_with_mano(converted, standin_dir):
    problems, checked = validate_dataset(converted.root, mano_dir=str(standin_dir))
    assert problems == [] and "mano" in checked


def test_presence_is_per_view_as_the_official_evaluator_decides(converted, raw, tmp_path):
    # Frame 2's master-camera label file says "no hand"; the other 7 views of frame 2 have it.
    seq = converted.sequence("s0_val/20200709-subject-01/20200700_140004")
    v = seq.views
    at = (v["frame"] == 2) & (v["camera"] == SERIALS[0])
    assert not v["hand_present"][at].any() and v["hand_type"][at].tolist() == ["none"]
    others = (v["frame"] == 2) & ~at
    assert v["hand_present"][others, 1].all() and (v["hand_type"][others] == "left").all()
    assert seq.frames["hand_present"][2, 1]  # the frame's hand comes from a view that has it
    assert np.nanmax(v["joints_deviation"]) < 1e-5  # the views agree (float32 storage)
    # A view whose own 3D joints disagree with the frame's by 5 mm is flagged by validate.
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw, root)
    label = root / "20200709-subject-01/20200700_140004" / SERIALS[3] / "labels_000003.npz"
    data = dict(np.load(label))
    data["joint_3d"] = data["joint_3d"] + np.float32(0.005)
    np.savez_compressed(label, **data)
    convert(DexYCB(root), tmp_path / "o", splits=["s0_val"], progress=False)
    problems, _ = validate_dataset(tmp_path / "o")
    assert [p["check"] for p in problems] == ["views"] and SERIALS[3] in problems[0]["where"]


def test_toolkit_hpe_variant_drops_no_hand_frames_and_views(raw, tmp_path):
    reader = open_reader("dexycb", raw, "toolkit-hpe")
    split = convert(reader, tmp_path / "o", splits=["s0_val"], progress=False).splits["s0_val"]
    assert split.frames == 4 and split.views == 31
    with pytest.raises(HandevalError, match="toolkit-hpe"):
        open_reader("dexycb", raw, "hpe")


def test_corrupt_label_is_named(raw, tmp_path):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw, root)
    bad = root / "20200709-subject-01/20200700_140004/836212060125/labels_000003.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(HandevalError, match="labels_000003.npz"):
        convert(DexYCB(root), tmp_path / "o1", splits=["s0_val"], progress=False)
    manifest = convert(DexYCB(root), tmp_path / "o2", splits=["s0_val"], progress=False, skip_bad=True)
    assert len(manifest.splits["s0_val"].skipped) == 1
    with pytest.raises(HandevalError, match="not a Dex-YCB root"):
        DexYCB(tmp_path)


def test_left_scene_convention_is_enforced(standin_dir, tmp_path):
    fixed = make_scene(seed=0, num_frames=3, num_cameras=1, image_size=(16, 12), render=False)
    with pytest.raises(ValueError, match="fix_left_shapedirs=False"):
        write_dexycb(tmp_path, [DexYCBSequence(fixed, 0, "x", side="left")])
