"""InterHand2.6M: native files -> convert -> canonical records equal the synthetic ground truth."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from handeval.mano import load_mano
from handeval.readers import open_reader
from handeval.readers.interhand26m import MANO_CONVENTION, InterHand26M
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
from handeval.synth.scene import make_scene, scene_records
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def scenes(standin_dir):
    return [make_scene(seed=s, num_frames=9, num_cameras=3, image_size=(80, 60), render=False) for s in (0, 1)]


@pytest.fixture(scope="module")
def raw(scenes, tmp_path_factory):
    root = tmp_path_factory.mktemp("ih") / "raw"
    seqs = [InterHandSequence(scenes[0], "test", 0, "0000_synth_a"), InterHandSequence(scenes[1], "test", 1, "ROM01"),
            InterHandSequence(scenes[1], "val", 0, "0001_synth_b")]
    write_interhand26m(root, seqs, images=False)
    return root, seqs


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("ih") / "out"
    convert(InterHand26M(raw[0]), out, progress=False)
    return ShardDataset(out)


def test_round_trip_joints_cameras_and_vertices(raw, converted, scenes):
    _, seqs = raw
    for seq in seqs:
        name = f"{seq.split}/Capture{seq.capture}/{seq.seq_name}"
        got = converted.sequence(name)
        truth = scene_records(seq.scene, name)
        np.testing.assert_array_equal(got.frames["frame"], seq.frame_idx())
        valid = got.frames["joints_valid"]
        assert (~valid).sum() == 2 and np.isnan(got.frames["joints"][~valid]).all()
        np.testing.assert_allclose(got.frames["joints"][valid], truth.frames["joints"][valid], atol=1e-5)
        # Cameras: the scene's joints projected with the converted cameras, to 1e-3 px.
        for key in ("K", "R", "t"):
            np.testing.assert_allclose(got.views[key], truth.views[key], atol=1e-5)
        world = np.repeat(seq.scene.joints.astype(np.float64), 3, axis=0)  # one row per view
        cam = np.einsum("vij,vhkj->vhki", got.views["R"].astype(np.float64), world) + got.views["t"][:, None, None]
        uv = np.einsum("vij,vhkj->vhki", got.views["K"].astype(np.float64), cam)
        np.testing.assert_allclose(uv[..., :2] / uv[..., 2:], truth.views["joints_2d"], atol=1e-3)
        # Vertices recomputed from the stored MANO (world frame, InterHand's convention).
        mv = got.frames["mano_valid"]
        assert mv.sum() == 2 * 9 - 3  # frame 2 left is null; frame 5 is missing from the MANO file
        for h, side in enumerate(("right", "left")):
            layer = load_mano(side, MANO_CONVENTION)
            rows = np.flatnonzero(mv[:, h])
            p = got.frames["mano_pose"][rows, h].astype(np.float64)
            with torch.no_grad():
                verts = layer(p[:, :3], p[:, 3:], got.frames["mano_shape"][rows, h],
                              got.frames["mano_trans"][rows, h]).vertices.double().numpy()
            np.testing.assert_allclose(verts, seq.scene.vertices[rows, h], atol=1e-5)


def test_per_image_validity_and_boxes(converted, raw):
    seq = raw[1][0]
    got = converted.sequence(f"test/Capture0/{seq.seq_name}")
    assert got.views["joints_image_valid"].shape == (27, 2, 21)
    assert not got.views["joints_image_valid"][3:6].all()  # frame 1 carries the two failed joints
    assert np.isfinite(got.views["hands_bbox"]).all() and got.views["hand_type_valid"].all()
    assert got.views["image_path"][0] == f"images/test/Capture0/{seq.seq_name}/cam400262/image100.jpg"


def test_manifest(converted):
    manifest = converted.manifest
    assert manifest.dataset.to_dict() == {"name": "InterHand2.6M", "version": "v1.0", "variant": "5 fps, H+M"}
    assert manifest.conventions.mano["fix_left_shapedirs"] is True and manifest.conventions.mano_frame == "world"
    assert set(manifest.splits) == {"test", "val"} and manifest.splits["test"].frames == 18
    assert all(len(s.sha256) == 64 for s in manifest.sources["test"])
    assert "joints_2d" in manifest.splits["test"].missing


def test_v0_subset_layout(scenes, tmp_path):
    write_interhand26m(tmp_path, [InterHandSequence(scenes[0], "test", 0, "s")], version="v0.0", subset="H",
                       images=False)
    reader = open_reader("interhand26m", tmp_path, "v0.0:H:30fps")
    assert reader.variant == "30 fps, H" and reader.splits() == ["test"]
    assert "mano" in convert(reader, tmp_path / "out", progress=False).splits["test"].missing
    got = ShardDataset(tmp_path / "out").sequence("test/Capture0/s")
    assert not got.frames["mano_valid"].any() and np.isnan(got.frames["mano_pose"]).all()


def test_rerun_is_byte_identical(raw, tmp_path):
    a = convert(InterHand26M(raw[0]), tmp_path / "a", progress=False, target_frames=9)
    b = convert(InterHand26M(raw[0]), tmp_path / "b", progress=False, target_frames=9)
    assert [s.files for s in a.splits["test"].shards] == [s.files for s in b.splits["test"].shards]
    assert (tmp_path / "a/meta/info.json").read_bytes() == (tmp_path / "b/meta/info.json").read_bytes()


def test_killed_conversion_resumes_exactly(raw, tmp_path):
    """Kill a conversion after its first shard, resume it, and get the uninterrupted result."""
    root = raw[0]
    full = convert(InterHand26M(root), tmp_path / "full", progress=False, target_frames=1)
    script = (
        "import time, handeval.shards.writer as w, handeval.shards.convert as c\n"
        "from handeval.readers.interhand26m import InterHand26M\n"
        "orig = w.write_shard\n"
        "def slow(*a, **k):\n"
        "    r = orig(*a, **k); time.sleep(30 if a[1].index >= 1 else 0); return r\n"
        "c.write_shard = slow\n"
        f"c.convert(InterHand26M({str(root)!r}), {str(tmp_path / 'part')!r}, progress=False, target_frames=1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    records = tmp_path / "part/meta/units/convert"
    deadline = time.time() + 60
    while time.time() < deadline and not list(records.glob("*.json")):  # the first shard is finished
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "part/meta/info.json").exists()
    resumed = convert(InterHand26M(root), tmp_path / "part", progress=False, target_frames=1)
    assert resumed == full
    ds = ShardDataset(tmp_path / "part")
    frames = ds.read("frames", columns=["sequence", "frame"])
    assert frames.num_rows == sum(s.frames for s in full.splits.values())
    assert len(set(zip(frames.column("sequence").to_pylist(), frames.column("frame").to_pylist()))) == frames.num_rows


def test_corrupt_and_missing_sources(raw, tmp_path):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw[0], root)
    cam = root / "annotations/test/InterHand2.6M_test_camera.json"
    cams = json.loads(cam.read_text())
    del cams["1"]
    cam.write_text(json.dumps(cams))
    with pytest.raises(HandevalError, match="no cameras for capture 1"):
        convert(InterHand26M(root), tmp_path / "o1", progress=False)
    manifest = convert(InterHand26M(root), tmp_path / "o2", progress=False, skip_bad=True)
    assert [s.sequence for s in manifest.splits["test"].skipped] == ["test/Capture1/ROM01"]
    data = root / "annotations/test/InterHand2.6M_test_data.json"
    data.write_text(data.read_text()[:5000])
    with pytest.raises(HandevalError,
                       match="InterHand2.6M_test_data.json: not InterHand2.6M's data.json .*truncated or corrupt"):
        convert(InterHand26M(root), tmp_path / "o3", progress=False, splits=["test"])
    with pytest.raises(HandevalError, match="not an InterHand2.6M root"):
        InterHand26M(tmp_path / "nowhere")
    with pytest.raises(HandevalError, match="5 or 30 fps"):
        open_reader("interhand26m", root, "60fps")
    with pytest.raises(HandevalError, match="variant token 'hq'"):
        open_reader("interhand26m", root, "hq")


def test_torch_frames_and_windows(raw, converted, scenes):
    from handeval.shards.torch_dataset import HandFrames

    frames = HandFrames(converted.root, "test")
    assert len(frames) == 18
    item = frames[0]
    assert item["joints"].shape == (2, 21, 3) and item["sequence"] == "test/Capture0/0000_synth_a"
    windows = HandFrames(converted.root, "test", window=3, gap=2, stride=4)
    # Per 9-frame sequence: starts at rows 0 and 4 (a window spans 5 rows).
    assert len(windows) == 4
    w = windows[1]
    assert w["joints"].shape == (3, 2, 21, 3)
    np.testing.assert_array_equal(w["frame"].numpy(), raw[1][0].frame_idx()[[4, 6, 8]])
    assert len(HandFrames(converted.root, "test", window=10)) == 0


def test_torch_views_load_images_lazily(scenes, tmp_path):
    from handeval.shards.torch_dataset import HandFrames

    scene = make_scene(seed=3, num_frames=4, num_cameras=2, image_size=(40, 30))
    write_interhand26m(tmp_path / "raw", [InterHandSequence(scene, "test", 0, "s")])
    convert(InterHand26M(tmp_path / "raw"), tmp_path / "out", progress=False)
    ds = HandFrames(tmp_path / "out", "test", camera="400273", image_root=tmp_path / "raw")
    item = ds[2]
    assert item["image"].shape == (3, 30, 40) and item["image"].dtype == torch.uint8
    assert item["K"].shape == (3, 3)
    # The JPEG is the camera-1 render of frame 2 (lossy, so compare loosely).
    assert np.abs(item["image"].permute(1, 2, 0).numpy().astype(int) - scene.rgb[2, 1].astype(int)).mean() < 12
    with pytest.raises(HandevalError, match="camera 'cam9'"):
        HandFrames(tmp_path / "out", "test", camera="cam9")


def _relaid(raw_root, dest, seed=0, images=False):
    """The raw source laid out otherwise: annotations shuffled (and ``images``, which interleaves the
    sequences and changes the first-seen order of cameras), keys reordered, other top-level keys,
    pretty or compact json, joint_3d and MANO frames shuffled."""
    import random
    import shutil

    shutil.copytree(raw_root, dest)
    rnd = random.Random(seed)
    for path in sorted(dest.glob("annotations/*/*.json")):
        doc = json.loads(path.read_text())
        if path.name.endswith("_data.json"):
            for key in ("images", "annotations") if images else ("annotations",):
                rnd.shuffle(doc[key])
                doc[key] = [dict(reversed(list(item.items()))) for item in doc[key]]
            doc = {"info": {"note": "}, {"}, "annotations": doc["annotations"], "licenses": [], "images": doc["images"]}
        elif path.name.endswith(("_joint_3d.json", "_MANO_NeuralAnnot.json")):
            doc = {c: dict(rnd.sample(sorted(f.items()), len(f))) for c, f in reversed(list(doc.items()))}
        path.write_text(json.dumps(doc, indent=1) if seed % 2 else json.dumps(doc, separators=(",", ":")))
    return dest


@pytest.mark.parametrize("seed", [0, 1])
def test_the_source_layout_and_batch_sizes_do_not_change_the_shards(raw, converted, tmp_path, monkeypatch, seed):
    """Byte-identical shards from a relaid source (images in their order, which sets the cameras' order
    within a frame), parsed in batches of a few items and reordered a few rows at a time (every cut,
    fallback and step boundary exercised), as from the original."""
    import handeval.readers.interhand26m as ih
    from handeval.readers import json_stream

    monkeypatch.setattr(json_stream, "_BLOCK", 700)
    monkeypatch.setattr(json_stream, "_MIN_BLOCK", 64)
    monkeypatch.setattr(json_stream, "_READ", 500)
    monkeypatch.setattr(ih, "_ROWS", 5)
    root = _relaid(raw[0], tmp_path / "raw", seed)
    convert(InterHand26M(root), tmp_path / "out", progress=False)
    for part in sorted((converted.root / "data").rglob("*.parquet")):
        assert (tmp_path / "out" / part.relative_to(converted.root)).read_bytes() == part.read_bytes(), part.name


def test_views_follow_the_official_files(raw, tmp_path):
    """Each sequence's views against a whole-file reading of data.json: rows of a (capture, seq_name),
    sorted by frame, then by camera in data.json's first-seen order, then by file position; a
    file_name off the official pattern kept as it is."""
    from handeval.conventions import interhand42_to_canonical

    root = _relaid(raw[0], tmp_path / "raw", seed=3, images=True)
    data_path = root / "annotations/test/InterHand2.6M_test_data.json"
    doc = json.loads(data_path.read_text())
    doc["images"][4]["file_name"] = "elsewhere/odd name.jpg"
    data_path.write_text(json.dumps(doc))
    convert(InterHand26M(root), tmp_path / "out", progress=False, splits=["test"])
    ds = ShardDataset(tmp_path / "out")
    ann = {a["image_id"]: a for a in doc["annotations"]}
    cameras = list(dict.fromkeys(str(im["camera"]) for im in doc["images"]))
    seqs = list(dict.fromkeys(im["seq_name"] for im in doc["images"]))
    groups = {}
    for pos, im in enumerate(doc["images"]):
        groups.setdefault((im["capture"], seqs.index(im["seq_name"])), []).append((pos, im))
    names = [f"test/Capture{c}/{seqs[s]}" for c, s in sorted(groups)]
    assert ds.sequences() == names
    for (c, s), rows in sorted(groups.items()):
        rows.sort(key=lambda r: (r[1]["frame_idx"], cameras.index(str(r[1]["camera"])), r[0]))
        got = ds.sequence(f"test/Capture{c}/{seqs[s]}").views
        assert list(got["image_path"]) == [f"images/test/{im['file_name']}" for _, im in rows]
        assert list(got["camera"]) == [str(im["camera"]) for _, im in rows]
        np.testing.assert_array_equal(got["frame"], [im["frame_idx"] for _, im in rows])
        np.testing.assert_array_equal(got["hands_bbox"], np.float32([ann[im["id"]]["bbox"] for _, im in rows]))
        valid = np.array([ann[im["id"]]["joint_valid"] for _, im in rows], dtype=float)  # (V, 42, 1)
        np.testing.assert_array_equal(got["joints_image_valid"], interhand42_to_canonical(valid)[..., 0] > 0)
        assert list(got["hand_type"]) == [ann[im["id"]]["hand_type"] for _, im in rows]
        np.testing.assert_array_equal(got["hand_type_valid"], [ann[im["id"]]["hand_type_valid"] > 0 for _, im in rows])
    assert "images/test/elsewhere/odd name.jpg" in sum((list(ds.sequence(n).views["image_path"]) for n in names), [])


def _break(doc, kind):
    images, anns = doc.get("images"), doc.get("annotations")
    if kind == "image key":
        del images[3]["capture"]
    elif kind == "image type":
        images[2]["width"] = 80.5
    elif kind == "joint_valid length":
        anns[5]["joint_valid"] = anns[5]["joint_valid"][:41]
    elif kind == "hand type":
        anns[6]["hand_type"] = "both"
    elif kind == "numbers":
        anns[7]["bbox"] = [1, 2, "x", 4]
    elif kind == "unknown image":
        anns[8]["image_id"] = 10_000
    elif kind == "missing annotation":
        del anns[9]
    elif kind == "capture key":
        doc["zero"] = doc.pop("0")
    elif kind == "frame value":
        frames = doc["0"]
        frames[sorted(frames)[0]] = {"world_coord": [[0, 0]] * 42, "joint_valid": [1] * 42}
    return doc


@pytest.mark.parametrize("kind, file, message", [
    ("image key", "data", r"images\[3\] is malformed \(KeyError: 'capture'\); each image has integer id"),
    ("image type", "data", r"images\[2\] is malformed \(TypeError: .*\)"),
    ("joint_valid length", "data", r"annotations\[5\] is malformed \(ValueError: bbox must have 4 values and "
                                   r"joint_valid 42\); each has bbox\[4\]"),
    ("hand type", "data", r"annotations\[6\] is malformed \(ValueError: .*\).* right/left/interacting"),
    ("numbers", "data", r"annotations\[7\] holds numbers \(ValueError: could not convert string to float"),
    ("unknown image", "data", r"annotations\[8\] refers to image_id 10000, which is not in images"),
    ("missing annotation", "data", r"1 images have no annotation"),
    ("capture key", "joint_3d", r"joint_3d.json .*; capture zero \(ValueError: invalid literal for int"),
    ("frame value", "joint_3d", r"joint_3d.json .*; capture 0 \(ValueError: could not broadcast"),
])
def test_a_broken_source_names_the_file_the_item_and_what_was_expected(raw, tmp_path, kind, file, message):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(raw[0], root)
    path = root / f"annotations/test/InterHand2.6M_test_{file}.json"
    path.write_text(json.dumps(_break(json.loads(path.read_text()), kind)))
    with pytest.raises(HandevalError, match=rf"{re.escape(str(path))}: not InterHand2.6M's .*{message}.*"
                                            r"truncated or corrupt: re-download or re-extract it"):
        InterHand26M(root).sequence_lengths("test")
