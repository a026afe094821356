"""Occlusion labels in scenes built so that the answer is known."""

import types

import numpy as np
import pytest
import trimesh

from handeval.labels.objects import ObjectMeshes
from handeval.labels.occlusion import PRESETS, Masks, OcclusionLabeler
from handeval.mano import ManoConvention
from handeval.mano.parts import PARTS
from handeval.shards.manifest import Conventions
from handeval.shards.meshes import HandMeshes
from handeval.shards.reader import SequenceData

CONV = ManoConvention(flat_hand_mean=True, fix_left_shapedirs=True)


def _camera():
    """A camera 0.5 m in front of the palm (the palm faces -y), looking along +y."""
    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    centre = np.array([0.09, -0.5, 0.0])
    K = np.array([[800.0, 0, 160], [0, 800.0, 120], [0, 0, 1]])
    return R, -R @ centre, K


def _sequence(hands_trans, objects=None):
    """One frame, one view; flat hands at the given translations (None: absent)."""
    T = 1
    pose = np.zeros((T, 2, 48))
    trans = np.zeros((T, 2, 3))
    valid = np.zeros((T, 2), dtype=bool)
    for h, tr in enumerate(hands_trans):
        if tr is not None:
            trans[0, h], valid[0, h] = tr, True
    frames = {"frame": np.array([0]), "mano_pose": np.where(valid[..., None], pose, np.nan),
              "mano_shape": np.where(valid[..., None], np.zeros((T, 2, 10)), np.nan),
              "mano_trans": np.where(valid[..., None], trans, np.nan),
              "mano_valid": valid, "joints": np.full((T, 2, 21, 3), np.nan)}
    if objects:
        frames["object_ids"] = np.empty(1, dtype=object)
        frames["object_ids"][0] = [name for name, _ in objects]
        frames["object_poses"] = np.empty(1, dtype=object)
        frames["object_poses"][0] = [v for _, pose12 in objects for v in pose12]
    R, t, K = _camera()
    views = {"frame": np.array([0]), "camera": np.array(["0"]), "R": R[None], "t": t[None], "K": K[None],
             "width": np.array([320]), "height": np.array([240])}
    return SequenceData("s", "test", frames, views)


@pytest.fixture(scope="module")
def hands(standin_dir):
    ds = types.SimpleNamespace(manifest=types.SimpleNamespace(conventions=Conventions(mano=CONV.to_dict(),
                                                                                      mano_frame="world")))
    return HandMeshes(ds)


def _labeler(hands, objects_dir=None, preset="h2onet-code"):
    return OcclusionLabeler(hands, ObjectMeshes(objects_dir), Masks(None, None), preset)


def test_unoccluded_flat_hand(hands):
    out = _labeler(hands)(_sequence([np.zeros(3), None]))
    assert not out["part_occluded"][0, 0].any() and not out["hand_occluded"][0, 0]
    assert out["hand_visible_ratio"][0, 0] == pytest.approx(1.0)
    assert np.ma.getmaskarray(out["vertex_visible"])[0, 1].all()  # the absent left hand is null
    # The palm faces the camera: the back of the hand (y > 0 side) is not visible.
    v, _ = hands.vertices(_sequence([np.zeros(3), None]).frames)
    visible = out["vertex_visible"][0, 0].filled(False)
    assert v[0, 0, visible, 1].mean() < v[0, 0, ~visible, 1].mean()


def test_finger_behind_a_box(hands, tmp_path):
    v, _ = hands.vertices(_sequence([np.zeros(3), None]).frames)
    parts = hands.layers["right"].parts
    index = v[0, 0, parts == PARTS.index("index")]
    lo, hi = index.min(axis=0), index.max(axis=0)
    box = trimesh.creation.box(extents=(hi[0] - lo[0] + 0.02, 0.01, hi[2] - lo[2] + 0.004))
    box.export(tmp_path / "box.obj")
    centre = [(lo[0] + hi[0]) / 2, lo[1] - 0.03, (lo[2] + hi[2]) / 2]  # 3 cm in front of the palm side
    pose = np.hstack([np.eye(3), np.array(centre)[:, None]]).ravel().tolist()
    out = _labeler(hands, tmp_path)(_sequence([np.zeros(3), None], objects=[("box", pose)]))
    occluded = dict(zip(PARTS, out["part_occluded"][0, 0]))
    assert occluded["index"] and not occluded["middle"] and not occluded["ring"] and not occluded["pinky"]
    assert out["part_visible"][0, 0, PARTS.index("index")] == 0
    assert 0.5 < out["hand_visible_ratio"][0, 0] < 1.0


def test_hand_behind_the_other_hand(hands):
    # The mirrored left hand spans x in [-0.19, 0]; shift it under the right hand, 4 cm further back.
    out = _labeler(hands)(_sequence([np.zeros(3), np.array([0.18, 0.04, 0.0])]))
    assert not out["hand_occluded"][0, 0] and out["hand_occluded"][0, 1]
    assert out["hand_visible_ratio"][0, 1] < 0.4 < out["hand_visible_ratio"][0, 0]


def test_presets_differ_as_documented():
    assert PRESETS["h2onet-paper"]["finger_count"] == 50 and PRESETS["h2onet-paper"]["hand_visible_below"] == 0.5
    assert PRESETS["h2onet-code"]["finger_count"] == 30 and PRESETS["h2onet-code"]["hand_visible_below"] == 0.40


@pytest.mark.parametrize("dataset", ["dexycb", "ho3d", "interhand26m"])
def test_labels_equal_the_per_view_oracle(demo_data, dataset):
    """One cast per scene and frame for all views gives the labels of two casts per hand and view, bit for
    bit (issue 14): with objects, hand masks (Dex-YCB, HO3D), one hand and two."""
    from label_oracles import assert_same_labels, occlusion_labels

    from handeval.labels.run import occlusion_labeler
    from handeval.shards import ShardDataset

    ds = ShardDataset(demo_data.shards(dataset))
    raw = demo_data.native(dataset)[0]
    labeler = occlusion_labeler(str(ds.root), None, str(demo_data.objects), "h2onet-paper", 1e-3, str(raw))
    used = 0
    for name in ds.sequences():
        seq = ds.sequence(name)
        got = labeler(seq)
        assert_same_labels(got, occlusion_labels(labeler, seq))
        used += int(got["mask_used"].sum())
    assert used > 0 or dataset == "interhand26m"


def test_mixed_scene_equals_the_per_view_oracle(standin_dir, tmp_path):
    """Two hands apart, touching and interpenetrating, seen by 5 cameras."""
    from factory import converted_interhand
    from label_oracles import assert_same_labels, occlusion_labels

    from handeval.labels.run import occlusion_labeler
    from handeval.synth.scene import make_scene

    scene = make_scene(seed=21, num_frames=30, num_cameras=5, image_size=(64, 48), render=False)
    ds = converted_interhand(tmp_path, scene)
    labeler = occlusion_labeler(str(ds.root), None, None, "h2onet-code", 1e-3, None)
    for name in ds.sequences():
        seq = ds.sequence(name)
        got = labeler(seq)
        assert_same_labels(got, occlusion_labels(labeler, seq))
        assert (got["hand_visible_ratio"] < 0.99).any()  # one hand hides part of the other
