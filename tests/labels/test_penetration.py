"""Penetration labels over shards, checked against the synthetic scenes' own contact depth."""

import numpy as np
import pytest
from factory import converted_interhand
from handeval.cli import main

from handeval.labels.run import run_penetration
from handeval.labels.store import read_labels
from handeval.readers import open_reader
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.layout import stale_labels
from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
from handeval.synth.scene import make_scene


def _column(table, name):
    return np.array([np.full(2, np.nan) if v is None else v for v in table.column(name).to_pylist()], dtype=float)


@pytest.fixture(scope="module")
def two_hands(standin_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("pen")
    scene = make_scene(seed=11, num_frames=24, num_cameras=1, image_size=(16, 12), render=False)
    return converted_interhand(root, scene), scene


def test_hand_hand_depth_equals_the_scene_contact_depth(two_hands):
    ds, scene = two_hands
    run_penetration(ds.root, params={"tol": 0.0}, progress=False)
    t = read_labels(ShardDataset(ds.root), "penetration")
    left_in_right = _column(t, "hh_max_depth")[:, 1]
    truth = np.maximum(scene.contact_depth, 0.0)   # the scene's depth is left vertices into the right hand
    mano_missing = np.isnan(left_in_right)          # frames the fixture dropped from the MANO file
    np.testing.assert_allclose(left_in_right[~mano_missing], truth[~mano_missing], atol=2e-5)
    assert (truth > 0.003).any() and (truth == 0).any()
    vol = np.array([np.nan if v is None else v for v in t.column("hh_volume").to_pylist()])
    assert (vol[truth > 0.004] > 0).all() and (vol[(scene.contact_depth < -0.01) & ~mano_missing] == 0).all()
    contact = _column(t, "hh_contact")
    assert (contact[scene.contact_depth > -0.001] > 0).all()


def test_hand_object_penetration_against_dexycb_models(standin_dir, tmp_path):
    scene = make_scene(seed=12, num_frames=4, num_cameras=1, image_size=(16, 12), objects=("box",),
                       fix_left_shapedirs=False, render=False)
    write_dexycb(tmp_path / "raw", [DexYCBSequence(scene, 0, "20200709_140000", no_hand_frames=(),
                                                   no_hand_views=())])
    convert(open_reader("dexycb", tmp_path / "raw"), tmp_path / "out", progress=False)
    run_penetration(tmp_path / "out", objects=tmp_path / "raw" / "models", progress=False)
    t = read_labels(ShardDataset(tmp_path / "out"), "penetration")
    ho = _column(t, "ho_max_depth")
    assert np.isfinite(ho[:, 0]).all() and np.isnan(ho[:, 1]).all()   # right hand only, one object
    assert (ho[:, 0] > 0).all()  # the box rests on the palm while the fingers curl into it
    assert t.column("hh_inside").null_count == 4                        # one hand: no hand-hand label


def test_cli_and_resume(two_hands, capsys, tmp_path):
    import shutil

    ds, _ = two_hands
    root = tmp_path / "copy"
    shutil.copytree(ds.root, root)
    with pytest.raises(SystemExit) as e:
        main(["labels", "subsets", str(root), "--json"])
    assert e.value.code == 0
    with pytest.raises(SystemExit) as e:
        main(["labels", "penetration", str(root), "--resume"])
    assert e.value.code == 0 and "penetration:" in capsys.readouterr().out
    assert stale_labels(ShardDataset(root)) == []
    with pytest.raises(SystemExit) as e:
        main(["labels", "penetration", str(root), "--objects", str(tmp_path / "none")])
    assert e.value.code == 2 and "--objects" in capsys.readouterr().err


def test_workers_label_shards_in_spawned_processes(standin_dir, tmp_path):
    """Two source shards labelled by two spawned workers equal a single-process run."""
    from handeval.runner import Executor

    scene = make_scene(seed=13, num_frames=8, num_cameras=1, image_size=(16, 12), render=False)
    write_interhand26m(tmp_path / "raw", [InterHandSequence(scene, "test", 0, "a"),
                                          InterHandSequence(scene, "test", 1, "b")], images=False)
    for name in ("one", "two"):
        convert(open_reader("interhand26m", tmp_path / "raw"), tmp_path / name, target_frames=8, progress=False)
    one = run_penetration(tmp_path / "one", progress=False)
    two = run_penetration(tmp_path / "two", progress=False, executor=Executor(workers=2))
    assert len(one.files) == 2 and one.files == two.files


def test_labels_all_and_summary_cli(two_hands, capsys, tmp_path):
    import json
    import shutil

    root = tmp_path / "c"
    shutil.copytree(two_hands[0].root, root)
    with pytest.raises(SystemExit) as e:
        main(["labels", "all", str(root), "--preset", "h2onet-paper", "--json"])
    assert e.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["labels", "summary", str(root), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert e.value.code == 0 and report["labels"] == ["occlusion", "penetration", "subsets"]
    assert 0 < report["penetration"]["penetrating_share"] < 1 and report["subsets"]["interacting"] > 0
    assert set(report["occlusion"]["part_occlusion_rate"]) == {"palm", "thumb", "index", "middle", "ring", "pinky"}
    with open(report["plot"], "rb") as fh:
        assert fh.read(4) == b"\x89PNG"
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["labels"]["occlusion"]["parameters"]["preset"] == "h2onet-paper"
    assert info["labels"]["penetration"]["parameters"]["synthetic_mano"] is True


@pytest.fixture(scope="module")
def mixed(standin_dir, tmp_path_factory):
    """60 two-hand frames, apart, touching and interpenetrating (the scene's contact depth spans all three)."""
    scene = make_scene(seed=21, num_frames=60, num_cameras=2, image_size=(64, 48), render=False)
    ds = converted_interhand(tmp_path_factory.mktemp("mixed"), scene)
    assert (scene.contact_depth < -0.01).any() and (abs(scene.contact_depth) < 1e-3).any() \
        and (scene.contact_depth > 0.004).any()
    return ds


@pytest.mark.parametrize("params", [{}, {"tol": 0.0, "pitch": 0.002}, {"method": "winding"}])
def test_labels_equal_the_per_frame_oracle(mixed, params):
    """The lazy scenes and the volume's restricted second test change no bit of any label (issue 14)."""
    from label_oracles import assert_same_labels, penetration_labels

    from handeval.labels.penetration import DEFAULTS
    from handeval.labels.run import penetration_labeler

    labeler = penetration_labeler(str(mixed.root), None, None, {**DEFAULTS, **params})
    for name in mixed.sequences():
        seq = mixed.sequence(name)
        got = labeler(seq)
        assert_same_labels(got, penetration_labels(labeler, seq))
        assert (got["hh_volume"] > 0).any() and (got["hh_volume"] == 0).any()


@pytest.mark.parametrize("dataset", ["dexycb", "ho3d", "interhand26m"])
def test_demo_labels_equal_the_per_frame_oracle(demo_data, dataset):
    """Objects (Dex-YCB's box, HO3D's), one hand and two: the same labels as the per-frame code."""
    from label_oracles import assert_same_labels, penetration_labels

    from handeval.labels.penetration import DEFAULTS
    from handeval.labels.run import penetration_labeler

    ds = ShardDataset(demo_data.shards(dataset))
    labeler = penetration_labeler(str(ds.root), None, str(demo_data.objects), DEFAULTS)
    for name in ds.sequences():
        seq = ds.sequence(name)
        assert_same_labels(labeler(seq), penetration_labels(labeler, seq))
