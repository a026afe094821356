"""Metrics core: closed-form cases, and per-frame references written from the published definitions."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from handeval import metrics as M


@pytest.fixture
def hands(rng):
    return rng.normal(0, 0.05, (64, 21, 3))


def test_gt_as_prediction_scores_zero(hands):
    for aligned in (hands, M.align_root(hands, hands), M.align_bone_scale(hands, hands),
                    M.align_scale_translation(hands, hands), M.align_procrustes(hands, hands),
                    M.align_procrustes(hands, hands, allow_reflection=False)):
        assert np.nanmax(M.point_errors(aligned, hands)) < 1e-12


def test_gaussian_noise_mpjpe_is_1_5958_sigma(rng):
    """E||N(0, s^2 I_3)|| = s * 2 sqrt(2/pi) = 1.5958 s."""
    sigma = 0.01
    gt = rng.normal(0, 0.05, (20000, 21, 3))
    pred = gt + rng.normal(0, sigma, gt.shape)
    mpjpe = M.PerPointThenMean()(M.point_errors(pred, gt))
    assert mpjpe / sigma == pytest.approx(2 * np.sqrt(2 / np.pi), rel=2e-3)
    assert 2 * np.sqrt(2 / np.pi) == pytest.approx(1.5958, abs=1e-4)


def test_procrustes_recovers_a_similarity_and_handles_reflection(hands, rng):
    R = Rotation.random(len(hands), random_state=1).as_matrix()
    s = rng.uniform(0.5, 2.0, len(hands))
    t = rng.normal(0, 0.3, (len(hands), 1, 3))
    pred = s[:, None, None] * np.einsum("fij,fnj->fni", R, hands) + t
    np.testing.assert_allclose(M.align_procrustes(pred, hands), hands, atol=1e-10)
    np.testing.assert_allclose(M.align_procrustes(pred, hands, allow_reflection=False), hands, atol=1e-10)
    mirrored = hands * np.array([-1.0, 1.0, 1.0])  # a left hand scored against a right one
    assert np.abs(M.align_procrustes(mirrored, hands) - hands).max() < 1e-10        # reflection allowed: perfect
    assert np.abs(M.align_procrustes(mirrored, hands, allow_reflection=False) - hands).max() > 1e-3


def _ho3d_align_w_scale(G, P):
    """One frame, as the Dex-YCB toolkit's hpe_eval.py defines align_w_scale."""
    mu_g, mu_p = G.mean(0), P.mean(0)
    G0, P0 = G - mu_g, P - mu_p
    sG, sP = np.linalg.norm(G0) + 1e-8, np.linalg.norm(P0) + 1e-8
    Gh, Ph = G0 / sG, P0 / sP
    U, S, Vt = np.linalg.svd(Gh.T @ Ph)
    R = U @ Vt
    return (Ph @ R.T) * S.sum() * sG + mu_g


def _ho3d_align_sc_tr(G, P):
    """One frame, HO3D's scale-translation alignment on MANO joints 0 and 4 (section 2.8)."""
    bp = np.linalg.norm(P[4] - P[0])
    if bp > 0:
        P = P / bp
    P = P * np.linalg.norm(G[4] - G[0])
    return P - P[0] + G[0]


def test_batched_alignments_equal_the_official_definitions(hands, rng):
    pred = hands * rng.uniform(0.8, 1.2) + rng.normal(0, 0.01, hands.shape)
    ref = np.stack([_ho3d_align_w_scale(g, p) for g, p in zip(hands, pred)])
    np.testing.assert_allclose(M.align_procrustes(pred, hands), ref, rtol=1e-6, atol=1e-9)
    from handeval.conventions import MANO
    mano_g, mano_p = MANO.from_canonical(hands), MANO.from_canonical(pred)
    ref = np.stack([_ho3d_align_sc_tr(g, p) for g, p in zip(mano_g, mano_p)])
    np.testing.assert_allclose(MANO.from_canonical(M.align_scale_translation(pred, hands)), ref, rtol=1e-6, atol=1e-12)


def test_bone_scale_and_two_hand_alignment(rng):
    gt = rng.normal(0, 0.05, (8, 2, 21, 3))
    pred = 1.3 * gt + np.array([0.1, -0.2, 0.3])
    one = M.align_bone_scale(pred[:, 0], gt[:, 0])
    np.testing.assert_allclose(one, gt[:, 0], atol=1e-12)
    both = M.align_two_hand_scale_translation(pred, gt)
    np.testing.assert_allclose(both, gt, atol=1e-12)
    # A relative error between the hands survives the joint alignment (unlike per-hand alignment).
    shifted = pred.copy()
    shifted[:, 1] += 0.05
    assert np.abs(M.align_two_hand_scale_translation(shifted, gt) - gt).max() > 0.01


def test_pck_auc_f_score_mrrpe_and_acceleration(rng):
    e = np.array([[0.0, 0.02], [0.01, np.nan], [0.03, 0.04]])
    th = np.linspace(0, 0.05, 100)
    auc = M.Auc(th)
    pck = auc.pck(auc.update(e))  # per joint
    assert pck[0, 0] == pytest.approx(1 / 3) and pck[1, -1] == 1.0 and pck[1, 0] == 0.0
    # Constant errors c give AUC = 1 - c / 0.05 up to the grid (trapezoid over a step).
    c = np.full((10, 1), 0.02)
    assert auc(c) == pytest.approx(1 - 0.02 / 0.05, abs=0.011)
    pts = rng.normal(0, 0.05, (500, 3))
    assert M.f_score(pts, pts, 0.005) == 1.0
    assert M.f_score(pts + 1.0, pts, 0.005) == 0.0
    gt = rng.normal(0, 0.1, (5, 2, 21, 3))
    pred = gt + np.array([0.02, 0.0, 0.0])  # both hands moved together: no relative error
    np.testing.assert_allclose(M.mrrpe(pred, gt), 0.0, atol=1e-12)
    pred[:, 1] += np.array([0.0, 0.03, 0.04])
    np.testing.assert_allclose(M.mrrpe(pred, gt), 0.05, atol=1e-12)
    t = np.arange(10.0)
    gt_traj = np.stack([t, t ** 2, 0 * t], axis=1)[:, None, :]  # acceleration (0, 2, 0) per frame^2
    pred_traj = gt_traj.copy()
    pred_traj[:, 0, 1] = 0.0
    acc = M.acceleration_error(pred_traj, gt_traj)
    assert np.isnan(acc[[0, -1]]).all() and np.allclose(acc[1:-1], 2.0)
    valid = np.ones(10, dtype=bool)
    valid[4] = False
    acc = M.acceleration_error(pred_traj, gt_traj, valid[:, None])
    assert np.isnan(acc[[3, 4, 5], 0]).all() and np.isfinite(acc[[2, 6], 0]).all()


def test_averaging_orders_differ_as_documented():
    e = np.array([[0.01, np.nan], [0.03, 0.05]])
    assert M.PerPointThenMean()(e) == pytest.approx((0.02 + 0.05) / 2)
    assert M.Pooled()(e) == pytest.approx((0.01 + 0.03 + 0.05) / 3)
