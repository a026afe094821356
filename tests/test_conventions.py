import numpy as np
import pytest
import torch

from handeval import conventions as C
from handeval.util.errors import HandevalError

# Literal tables from the sources (HO3D's jointsMapManoToSimple, shreyashampali/ho3d:vis_HO3D.py;
# InterHand2.6M's annotations/skeleton.txt; see data_specs/datasets.md, Sources),
# compared with the tables derived from joint names.
HO3D_M2S = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20]
HO3D_S2M = [0, 5, 6, 7, 9, 10, 11, 17, 18, 19, 13, 14, 15, 1, 2, 3, 4, 8, 12, 16, 20]
IH_FOR_CANON = [20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16]


def test_canonical_names_and_parents():
    assert C.NUM_JOINTS == 21 and C.JOINT_NAMES[0] == "wrist"
    assert C.JOINT_NAMES[1:5] == ("thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip")
    assert C.JOINT_NAMES[-1] == "pinky_tip" and C.MIDDLE_MCP == 9
    assert C.TIPS == (4, 8, 12, 16, 20)
    for finger, idx in C.FINGER_JOINTS.items():
        assert C.JOINT_PARENTS[idx[0]] == 0
        assert all(C.JOINT_PARENTS[b] == a for a, b in zip(idx, idx[1:]))
        assert all(C.JOINT_NAMES[i].startswith(finger) for i in idx)


def test_tables_match_published_lists():
    np.testing.assert_array_equal(C.MANO.source_of_canonical, HO3D_M2S)
    np.testing.assert_array_equal(C.MANO.canonical_of_source, HO3D_S2M)
    np.testing.assert_array_equal(C.HO3D.source_of_canonical, HO3D_M2S)
    np.testing.assert_array_equal(C.INTERHAND.source_of_canonical, IH_FOR_CANON)
    np.testing.assert_array_equal(C.DEXYCB.source_of_canonical, np.arange(21))
    assert C.INTERHAND.joints[20] == "wrist" and C.INTERHAND.joints[0] == "thumb_tip"
    assert C.INTERHAND.joints[11] == "middle_mcp"


@pytest.mark.parametrize("order", ["canonical", "mano", "ho3d", "dexycb", "interhand", "hic_fit"])
def test_round_trip_full_orders(order, rng):
    o = C.JOINT_ORDERS[order]
    x = rng.normal(size=(4, 21, 3))
    np.testing.assert_array_equal(o.to_canonical(o.from_canonical(x)), x)
    y = rng.normal(size=(2, 21, 2))
    np.testing.assert_array_equal(o.from_canonical(o.to_canonical(y)), y)


def test_hic_partial_orders(rng):
    x = rng.normal(size=(28, 2))
    both = C.hic28_to_canonical(x)
    assert both.shape == (2, 21, 2)
    missing = [C.JOINT_INDEX[n] for n in ("wrist", "thumb_cmc", "thumb_tip", "index_tip", "pinky_tip")]
    assert np.isnan(both[:, missing]).all()
    assert np.isfinite(both).all(axis=-1).sum() == 28
    # Left index rows are listed distal to proximal (rows 23..25 = 14 + 9..11).
    np.testing.assert_array_equal(both[1, C.JOINT_INDEX["index_dip"]], x[23])
    np.testing.assert_array_equal(both[1, C.JOINT_INDEX["index_mcp"]], x[25])
    np.testing.assert_array_equal(both[0, C.JOINT_INDEX["index_mcp"]], x[9])
    back = C.HIC_LEFT.from_canonical(both[1])
    np.testing.assert_array_equal(back, x[14:])


def test_interhand42_round_trip(rng):
    x = rng.normal(size=(3, 42, 3))
    both = C.interhand42_to_canonical(x)
    np.testing.assert_array_equal(both[:, 0, 0], x[:, 20])   # right wrist
    np.testing.assert_array_equal(both[:, 1, 0], x[:, 41])   # left wrist
    np.testing.assert_array_equal(C.canonical_to_interhand42(both), x)


def test_known_pose_through_mano(flat_layers):
    """On the flat stand-in hand each finger runs outward base->tip, and tips are ids of its finger."""
    right = flat_layers["right"]
    with torch.no_grad():
        out = right(torch.zeros(1, 3), torch.zeros(1, 45))
    joints = out.joints[0].numpy()
    wrist = joints[C.ROOT]
    for finger, idx in C.FINGER_JOINTS.items():
        dist = np.linalg.norm(joints[list(idx)] - wrist, axis=1)
        assert np.all(np.diff(dist) > 0), finger
    # Known answer in other orders: InterHand keeps the wrist last, MANO/HO3D keeps tips at 16..20.
    ih = C.INTERHAND.from_canonical(joints)
    np.testing.assert_array_equal(ih[20], wrist)
    mano = C.MANO.from_canonical(joints)
    np.testing.assert_array_equal(mano[16:], joints[list(C.TIPS)])


def test_opencv_opengl_flip():
    p = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(C.flip_opencv_opengl(p), [[1.0, -2.0, -3.0]])
    np.testing.assert_array_equal(C.flip_opencv_opengl(C.flip_opencv_opengl(p)), p)
    np.testing.assert_array_equal(C.CV_FROM_GL @ C.CV_FROM_GL, np.eye(3))
    # A point in front of an OpenCV camera (z > 0) is at z < 0 for OpenGL.
    assert C.flip_opencv_opengl(np.array([0.1, 0.2, 0.5]))[2] < 0
    with pytest.raises(HandevalError):
        C.flip_opencv_opengl(np.zeros((3, 2)))


def test_hand_side_aliases():
    assert C.hand_side("R") == "right" and C.hand_side("Left") == "left" and C.hand_side("lhand") == "left"
    assert C.HAND_SIDES == ("right", "left")
    with pytest.raises(HandevalError, match="unknown hand side"):
        C.hand_side("both")


def test_shape_errors_are_clear():
    with pytest.raises(HandevalError, match=r"\(\.\.\., 21, D\)"):
        C.MANO.to_canonical(np.zeros((20, 3)))
    assert C.MM_PER_M == 1000.0
