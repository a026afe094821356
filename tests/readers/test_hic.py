"""HIC: raw layout (fixed camera, 2D every 5th frame, per-hand MANO fits) -> canonical ground truth."""

import numpy as np
import pytest

from handeval.readers import open_reader
from handeval.readers.hic import HIC
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.validate import validate_dataset
from handeval.synth.native.hic import HICSequence, hic_rig, write_hic
from handeval.synth.scene import make_scene
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def scene(standin_dir):
    return make_scene(seed=6, num_frames=11, rig=hic_rig(), fix_left_shapedirs=False)


@pytest.fixture(scope="module")
def converted(scene, tmp_path_factory):
    root = tmp_path_factory.mktemp("hic")
    write_hic(root / "raw", [HICSequence(scene, 2), HICSequence(scene, 16)], images=True)
    convert(open_reader("hic", root / "raw"), root / "out", progress=False)
    return ShardDataset(root / "out"), root / "raw"


def test_round_trip(converted, scene):
    ds, _ = converted
    got = ds.sequence("test/02")
    R, t = scene.cameras.R[0], scene.cameras.t[0]
    np.testing.assert_allclose(got.frames["joints"], scene.joints.astype(np.float64) @ R.T + t, atol=1e-5)
    np.testing.assert_allclose(got.frames["vertices"], scene.vertices.astype(np.float64) @ R.T + t, atol=1e-5)
    assert (got.frames["hand_type"] == "interacting").all()
    np.testing.assert_allclose(got.views["K"][0], hic_rig().K[0])
    assert got.views["width"][0] == 640 and got.views["image_path"][0] == "02/1/rgb/000.png"


def test_2d_every_fifth_frame_integer_pixels(converted, scene):
    ds, _ = converted
    got = ds.sequence("test/02")
    has = np.isfinite(got.views["joints_2d"]).any(axis=(1, 2, 3))
    assert has.tolist() == [f % 5 == 0 for f in range(11)]
    uv = scene.cameras.project(scene.joints.astype(np.float64).reshape(11, 42, 3))[:, 0].reshape(11, 2, 21, 2)
    ok = np.isfinite(got.views["joints_2d"])
    np.testing.assert_allclose(got.views["joints_2d"][ok], np.rint(uv)[ok], atol=1e-6)
    # No 2D for wrist, thumb CMC or tips in HIC; joint 3 is written as unannotated "0 0".
    valid = got.views["joints_image_valid"][0]
    assert not valid[:, [0, 1, 3, 4, 8]].any() and valid[:, [2, 5, 6, 7]].all()


def test_sequence_kinds_and_validation(converted, standin_dir):
    ds, _ = converted
    kinds = {s.sequence: s.meta["interaction"] for shard in ds.manifest.splits["test"].shards for s in shard.sequences}
    assert kinds == {"test/02": "hand-hand", "test/16": "hand-object"}
    problems, checked = validate_dataset(ds.root, mano_dir=str(standin_dir))
    assert problems == [] and "mano" in checked


def test_hic_json_defines_the_frames(scene, tmp_path):
    """InterWild's HIC.json: its frames, hand types and null meshes; what it leaves out is reported."""
    seqs = [HICSequence(scene, 3, no_fit=((2, "left"),), unlisted=(9,), extra_image=True),
            HICSequence(scene, 8, hands=("right",))]
    write_hic(tmp_path / "raw", seqs, images=True)
    left_out = convert(open_reader("hic", tmp_path / "raw"), tmp_path / "out", progress=False).splits["test"].left_out
    assert "03/1/rgb/011.png: an image HIC.json does not list" in left_out
    assert sum("009.ply: a fit HIC.json does not list" in x for x in left_out) == 2
    ds = ShardDataset(tmp_path / "out")
    s03, s08 = ds.sequence("test/03"), ds.sequence("test/08")
    assert 9 not in s03.frames["frame"] and len(s03.frames["frame"]) == 10
    i = int(np.flatnonzero(s03.frames["frame"] == 2)[0])
    assert s03.frames["hand_present"][i].tolist() == [True, False] and s03.views["hand_type"][i] == "interacting"
    assert (s08.views["hand_type"] == "right").all() and not s08.frames["hand_present"][:, 1].any()


def test_missing_hand_and_bad_files(converted, tmp_path):
    import shutil

    _, raw = converted
    root = tmp_path / "raw"
    shutil.copytree(raw, root)
    fits = root / "IJCV16___Results_MANO___parms_for___joints21"
    left = fits / "IJCV16___fakeGT___IJCV___02___Model_Hand_L___ncomps45"
    # HIC.json names 004.ply: without it the annotation cannot be scored, and is reported, not dropped silently.
    (left / "004.ply").unlink()
    manifest = convert(HIC(root), tmp_path / "o0", progress=False)
    assert any("004.ply is missing" in x for x in manifest.splits["test"].left_out)
    assert 4 not in ShardDataset(tmp_path / "o0").sequence("test/02").frames["frame"]
    # The raw layout without HIC.json: every image is a frame, hands are the fits present.
    (root / "HIC.json").unlink()
    (left / "004.pkl").unlink()
    convert(HIC(root), tmp_path / "o1", progress=False)
    got = ShardDataset(tmp_path / "o1").sequence("test/02")
    assert got.frames["hand_type"][4] == "right" and not got.frames["joints_valid"][4, 1].any()
    (root / "02/1/joints_2D_GT/005.txt").write_text("0\t1\n")
    with pytest.raises(HandevalError, match="005.txt"):
        convert(HIC(root), tmp_path / "o2", progress=False)
    with pytest.raises(HandevalError, match="not a HIC root"):
        HIC(tmp_path)
