"""HO3D: native files (OpenGL, MANO order, absolute pose) -> convert -> canonical ground truth."""

import numpy as np
import pytest
import torch

from handeval.conventions import CV_FROM_GL
from handeval.mano import load_mano
from handeval.readers import open_reader
from handeval.readers.ho3d import DEPTH_SCALE, HO3D, MANO_CONVENTION
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.validate import validate_dataset
from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
from handeval.synth.scene import make_scene
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def scene(standin_dir):
    return make_scene(seed=4, num_frames=5, num_cameras=2, image_size=(48, 36), objects=("box",))


@pytest.fixture(scope="module")
def raw(scene, tmp_path_factory):
    root = tmp_path_factory.mktemp("ho3d") / "raw"
    write_ho3d(root, [HO3DSequence(scene, "train", "SM1", 0),
                      HO3DSequence(scene, "evaluation", "AP10", 1, first_fid=7)], version="v2")
    return root


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("ho3d") / "out"
    convert(open_reader("ho3d", raw, "v2"), out, progress=False)
    return ShardDataset(out)


def _cam(scene, c, points):
    return points.astype(np.float64) @ scene.cameras.R[c].T + scene.cameras.t[c]


def test_train_round_trip(converted, scene):
    got = converted.sequence("train/SM1")
    np.testing.assert_allclose(got.frames["joints"][:, 0], _cam(scene, 0, scene.joints[:, 0]), atol=1e-5)
    assert not got.frames["joints_valid"][:, 1].any() and (got.frames["hand_type"] == "right").all()
    np.testing.assert_allclose(got.views["K"], np.repeat(scene.cameras.K[:1], 5, axis=0), atol=1e-5)
    # MANO is kept in HO3D's OpenGL frame: world (OpenCV camera) vertices = F * MANO(...).
    layer = load_mano("right", MANO_CONVENTION)
    p = got.frames["mano_pose"][:, 0].astype(np.float64)
    with torch.no_grad():
        verts = layer(p[:, :3], p[:, 3:], got.frames["mano_shape"][:, 0], got.frames["mano_trans"][:, 0]).vertices
    np.testing.assert_allclose(verts.double().numpy() @ CV_FROM_GL.T, _cam(scene, 0, scene.vertices[:, 0]), atol=1e-5)
    pose = np.asarray(got.frames["object_poses"][3]).reshape(3, 4)
    np.testing.assert_allclose(pose[:, :3], scene.cameras.R[0] @ scene.objects[0].rotation[3], atol=1e-5)
    assert got.frames["object_ids"][0] == ["004_sugar_box"]
    assert got.views["image_path"][0] == "train/SM1/rgb/0000.png" and got.frames["frame"].tolist() == [0, 1, 2, 3, 4]


def test_evaluation_split_with_released_ground_truth(converted, scene):
    got = converted.sequence("evaluation/AP10")
    assert got.frames["frame"].tolist() == [7, 8, 9, 10, 11]
    np.testing.assert_allclose(got.frames["joints"][:, 0], _cam(scene, 1, scene.joints[:, 0]), atol=1e-5)
    np.testing.assert_allclose(got.frames["vertices"][:, 0], _cam(scene, 1, scene.vertices[:, 0]), atol=1e-5)
    assert not got.frames["mano_valid"].any()
    uv = scene.cameras.project(scene.vertices[:, 0].astype(np.float64))[:, 1]
    np.testing.assert_allclose(got.views["bbox"][:, 0, :2], uv.min(axis=1), atol=1e-3)


def test_evaluation_root_only_without_released_gt(raw, tmp_path):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw, root)
    (root / "evaluation_xyz.json").unlink()
    (root / "evaluation_verts.json").unlink()
    manifest = convert(HO3D(root, "v2"), tmp_path / "out", splits=["evaluation"], progress=False)
    assert "joints" in manifest.splits["evaluation"].missing
    got = ShardDataset(tmp_path / "out").sequence("evaluation/AP10")
    assert got.frames["joints_valid"][:, 0].sum(axis=1).tolist() == [1] * 5  # the wrist only
    assert got.frames["joints_valid"][:, 0, 0].all()


def test_depth_and_segmentation_files(raw, converted, scene):
    from PIL import Image

    rgb = np.asarray(Image.open(raw / "train/SM1/depth/0002.png")).astype(np.int64)
    depth = (rgb[..., 0] + 256 * rgb[..., 1]) * DEPTH_SCALE  # the official decode, widened first
    np.testing.assert_allclose(depth, scene.depth[2, 0], atol=DEPTH_SCALE)
    seg = np.asarray(Image.open(raw / converted.sequence("train/SM1").views["segmentation_path"][2]))
    np.testing.assert_array_equal(seg[..., 2] == 255, scene.segmentation[2, 0] == 1)


def test_validate_with_mano(converted, standin_dir):
    problems, checked = validate_dataset(converted.root, mano_dir=str(standin_dir))
    assert problems == [] and "mano" in checked


def test_bad_inputs(raw, tmp_path):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw, root)
    (root / "train/SM1/meta/0003.pkl").write_bytes(b"\x80\x02not a pickle")
    with pytest.raises(HandevalError, match="0003.pkl"):
        convert(HO3D(root, "v2"), tmp_path / "o", splits=["train"], progress=False)
    with pytest.raises(HandevalError, match="v2 or v3"):
        open_reader("ho3d", root, "v4")
    with pytest.raises(HandevalError, match="not an HO3D root"):
        HO3D(tmp_path / "raw" / "train")


def test_the_release_is_detected_from_the_tree(scene, raw, tmp_path):
    from handeval.readers.ho3d import detect_release

    version, evidence = detect_release(raw)  # the fixture's tree is v2: .png RGB, no contact fields
    assert version == "v2" and any(".png" in e for e in evidence) and any("lacks" in e for e in evidence)
    assert open_reader("ho3d", raw).version == "v2"
    with pytest.raises(HandevalError, match="looks like HO3D v2, not v3.*--variant v2"):
        open_reader("ho3d", raw, "v3")
    v3 = write_ho3d(tmp_path / "v3", [HO3DSequence(scene, "train", "SM1", 0)], version="v3")
    version, evidence = detect_release(v3)
    assert version == "v3" and any("calibration/" in e for e in evidence) and any(".jpg" in e for e in evidence)
    bare = write_ho3d(tmp_path / "bare", [HO3DSequence(scene, "evaluation", "AP10", 0)], version="v2", images=False)
    with pytest.raises(HandevalError, match="cannot tell HO3D v2 from v3.*--variant"):
        open_reader("ho3d", bare)
    assert open_reader("ho3d", bare, "v2").version == "v2"
