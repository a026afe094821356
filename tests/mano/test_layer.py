"""The MANO layer against independent derivations: templates, PCA algebra, mirroring, kinematics."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handeval.conventions import FINGER_JOINTS, TIPS
from handeval.mano import TIP_PRESETS, ManoConvention, load_mano, read_model_file
from handeval.util.errors import HandevalError


def _arrays(layer):
    return read_model_file(layer.model_path).arrays


def test_zero_pose_is_template(flat_layers):
    for layer in flat_layers.values():
        with torch.no_grad():
            out = layer(torch.zeros(3, 3), torch.zeros(3, 45))
        assert out.vertices.shape == (3, 778, 3) and out.joints.shape == (3, 21, 3)
        np.testing.assert_allclose(out.vertices[0].numpy(), _arrays(layer)["v_template"], atol=1e-6)


def test_regressed_joints_and_tips(flat_layers, rng):
    layer = flat_layers["right"]
    arrays = _arrays(layer)
    with torch.no_grad():
        out = layer(torch.zeros(1, 3), torch.zeros(1, 45))
    joints = out.joints[0].numpy().astype(np.float64)
    rest = arrays["J_regressor"] @ arrays["v_template"]
    # Canonical wrist / index MCP are MANO joints 0 / 1.
    np.testing.assert_allclose(joints[0], rest[0], atol=1e-6)
    np.testing.assert_allclose(joints[FINGER_JOINTS["index"][0]], rest[1], atol=1e-6)
    np.testing.assert_allclose(joints[list(TIPS)], arrays["v_template"][list(TIP_PRESETS["manopth"]["right"])],
                               atol=1e-6)


@pytest.mark.parametrize("preset", sorted(TIP_PRESETS))
def test_tip_presets(preset, standin_dir):
    layer = load_mano("left", ManoConvention(tips=preset, fix_left_shapedirs=False))
    with torch.no_grad():
        out = layer(torch.zeros(1, 3), torch.zeros(1, 45))
    np.testing.assert_array_equal(out.joints[0, list(TIPS)].numpy(),
                                  out.vertices[0, list(TIP_PRESETS[preset]["left"])].numpy())


def test_pca_matches_axis_angle_algebra(standin_dir, rng):
    """PCA coefficients c give the same hand as axis-angle c @ components (all 45 and a few)."""
    aa = load_mano("right", ManoConvention(flat_hand_mean=False))
    comps = _arrays(aa)["hands_components"]
    for n in (6, 45):
        pca = load_mano("right", ManoConvention(pose_space="pca", num_pca_comps=n, flat_hand_mean=False))
        c = rng.normal(0, 1.0, (4, n))
        with torch.no_grad():
            a = pca(np.zeros((4, 3)), c).vertices
            b = aa(np.zeros((4, 3)), c @ comps[:n]).vertices
        torch.testing.assert_close(a, b, atol=2e-6, rtol=0)


def test_flat_hand_mean_adds_the_mean(standin_dir, rng):
    relative = load_mano("right", ManoConvention(flat_hand_mean=False))
    absolute = load_mano("right", ManoConvention(flat_hand_mean=True))
    mean = _arrays(relative)["hands_mean"]
    pose = rng.normal(0, 0.2, (2, 45))
    with torch.no_grad():
        torch.testing.assert_close(relative(np.zeros((2, 3)), pose).vertices,
                                   absolute(np.zeros((2, 3)), pose + mean).vertices, atol=2e-6, rtol=0)


def test_batch_equals_single(flat_layers, rng):
    layer = flat_layers["right"]
    go, hp = rng.normal(0, .5, (5, 3)), rng.normal(0, .3, (5, 45))
    betas, tr = rng.normal(0, 1, (5, 10)), rng.normal(0, .1, (5, 3))
    with torch.no_grad():
        batch = layer(go, hp, betas, tr).vertices
        for i in range(5):
            one = layer(go[i:i + 1], hp[i:i + 1], betas[i:i + 1], tr[i:i + 1]).vertices
            torch.testing.assert_close(batch[i:i + 1], one, atol=1e-6, rtol=0)


def test_global_rotation_pivots_about_rest_wrist(flat_layers, rng):
    """V(R, t) = R (V0 - J0) + J0 + t, with J0 the rest wrist (data_specs/geometry.md §1.5)."""
    layer = flat_layers["right"]
    aa, t = rng.normal(0, 0.7, 3), np.array([0.1, -0.2, 0.5])
    with torch.no_grad():
        rest = layer(np.zeros((1, 3)), np.zeros((1, 45))).vertices[0].double().numpy()
        j0 = layer(np.zeros((1, 3)), np.zeros((1, 45))).joints[0, 0].double().numpy()
        moved = layer(aa[None], np.zeros((1, 45)), None, t[None]).vertices[0].double().numpy()
    expected = (rest - j0) @ Rotation.from_rotvec(aa).as_matrix().T + j0 + t
    np.testing.assert_allclose(moved, expected, atol=2e-6)


def test_known_flexion_angle(flat_layers):
    """Flexing the index PIP by 90 degrees rotates the distal bone by exactly that rotation."""
    layer = flat_layers["right"]
    pose = np.zeros((1, 45))
    pose[0, 3:6] = [0.0, 0.0, -np.pi / 2]  # MANO joint 2 = index PIP; flexion about -z
    with torch.no_grad():
        rest = layer(np.zeros((1, 3)), np.zeros((1, 45))).joints[0].double().numpy()
        j = layer(np.zeros((1, 3)), pose).joints[0].double().numpy()
    mcp, pip, dip, _ = FINGER_JOINTS["index"]
    rot = Rotation.from_rotvec([0.0, 0.0, -np.pi / 2]).as_matrix()
    np.testing.assert_allclose(j[pip] - j[mcp], rest[pip] - rest[mcp], atol=1e-6)
    np.testing.assert_allclose(j[dip] - j[pip], rot @ (rest[dip] - rest[pip]), atol=1e-6)
    assert j[dip, 1] < j[pip, 1] - 0.01  # towards the palm (-y)


def test_left_is_the_mirror_of_right_only_with_the_fix(standin_dir, rng):
    mirror = np.array([1.0, -1.0, -1.0])
    pose, orient = rng.normal(0, 0.4, (3, 45)), rng.normal(0, 0.5, (3, 3))
    betas = rng.normal(0, 1.5, (3, 10))
    right = load_mano("right", ManoConvention(flat_hand_mean=True))
    with torch.no_grad():
        vr = right(orient, pose, betas).vertices.double().numpy() * [-1, 1, 1]
        fixed = load_mano("left", ManoConvention(flat_hand_mean=True, fix_left_shapedirs=True))
        vl = fixed(orient * mirror, pose * np.tile(mirror, 15), betas).vertices.double().numpy()
        np.testing.assert_allclose(vl, vr, atol=5e-6)
        buggy = load_mano("left", ManoConvention(flat_hand_mean=True, fix_left_shapedirs=False))
        vb = buggy(orient * mirror, pose * np.tile(mirror, 15), betas).vertices.double().numpy()
    assert np.abs(vb - vr).max() > 1e-3  # without the fix the same betas give another shape


def test_left_needs_an_explicit_choice_and_no_double_fix(standin_dir, tmp_path):
    with pytest.raises(HandevalError, match="fix_left_shapedirs"):
        load_mano("left", ManoConvention())
    from handeval.mano import ManoLayer
    left, right = (read_model_file(standin_dir / f"MANO_{s}.pkl") for s in ("LEFT", "RIGHT"))
    left.arrays["shapedirs"] = left.arrays["shapedirs"] * np.array([-1.0, 1, 1])[None, :, None]
    with pytest.raises(HandevalError, match="already applied"):
        ManoLayer(left, ManoConvention(fix_left_shapedirs=True), right_model=right)


def test_bad_parameter_shapes(flat_layers):
    with pytest.raises(HandevalError, match=r"hand_pose must have shape \(2, 45\)"):
        flat_layers["right"](np.zeros((2, 3)), np.zeros((2, 6)))
    with pytest.raises(HandevalError, match="pose_space"):
        ManoConvention(pose_space="quaternion")
    with pytest.raises(HandevalError, match="fingertip preset"):
        ManoConvention(tips="mine")


def test_convention_round_trips_through_dict():
    conv = ManoConvention(pose_space="pca", num_pca_comps=45, flat_hand_mean=False, fix_left_shapedirs=False,
                          tips="ho3d")
    assert ManoConvention.from_dict(conv.to_dict()) == conv


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_gpu_matches_cpu(flat_layers, rng):
    layer = flat_layers["right"]
    pose = rng.normal(0, 0.3, (8, 45))
    with torch.no_grad():
        cpu = layer(np.zeros((8, 3)), pose).vertices
        gpu = layer.to("cuda")(np.zeros((8, 3)), pose).vertices.cpu()
        layer.to("cpu")
    torch.testing.assert_close(cpu, gpu, atol=1e-5, rtol=0)
