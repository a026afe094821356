"""Interaction subsets, label storage, idempotence and staleness."""

import numpy as np
import pytest
from factory import converted_interhand

from handeval.labels.store import read_labels, write_labels
from handeval.labels.subsets import SUBSETS, subset_columns
from handeval.shards import ShardDataset
from handeval.shards.layout import stale_labels
from handeval.shards.validate import validate_dataset
from handeval.synth.scene import make_scene


def test_subset_rules_by_hand():
    T = 4
    joints = np.zeros((T, 2, 21, 3))
    joints[:, 1, :, 0] = [[0.03], [0.05], [0.03], [0.03]]  # left hand 30 / 50 / 30 / 30 mm along x
    valid = np.ones((T, 2, 21), dtype=bool)
    valid[2, 1, :12] = False            # 30 valid joints: not interacting
    valid[3, 1] = False                 # one hand only
    out = subset_columns(joints, valid)
    assert out["interacting"].tolist() == [True, True, False, False]
    assert out["close"].tolist() == [True, False, False, False]
    assert out["single_hand"].tolist() == [False, False, False, True]
    np.testing.assert_allclose(out["nearest_other_mm"][:3], [30, 50, 30], atol=1e-9)
    assert np.isnan(out["nearest_other_mm"][3])


@pytest.fixture()
def dataset(standin_dir, tmp_path):
    scene = make_scene(seed=8, num_frames=6, num_cameras=2, image_size=(32, 24), render=False)
    return converted_interhand(tmp_path, scene), scene


def test_labels_are_aligned_idempotent_and_stale_aware(dataset):
    ds, scene = dataset
    entry = write_labels(ds, SUBSETS, {"close_mm": 40.0}, "handeval.labels.run:subsets_labeler", {}, progress=False)
    table = read_labels(ds, "subsets")
    frames = ds.read("frames", columns=["sequence", "frame"])
    assert table.column("frame").to_pylist() == frames.column("frame").to_pylist()
    (rel, f), = entry.files.items()
    again = write_labels(ShardDataset(ds.root), SUBSETS, {"close_mm": 40.0}, "handeval.labels.run:subsets_labeler", {},
                         resume=False, progress=False)
    assert again.files[rel].sha256 == f.sha256
    fine = [p for p in validate_dataset(ds.root)[0] if p["check"] != "sources"]  # the fixture writes no images
    assert stale_labels(ds) == [] and fine == []
    # The source shard changes: the labels are reported stale.
    source = ds.root / f.source
    source.write_bytes(source.read_bytes() + b"\0")
    problems, checked = validate_dataset(ds.root)
    assert "labels" in checked and any(p["check"] == "labels" and "stale" in p["message"] for p in problems)
