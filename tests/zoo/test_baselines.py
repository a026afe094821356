"""The oracle baselines against their closed forms, and the ground truth's MANO fit moved into each
camera (InterHand2.6M's world-frame fits and HO3D's OpenGL-camera fits)."""

import numpy as np
import pytest

from handeval.scoring.submissions import Submission
from handeval.shards import ShardDataset
from handeval.zoo.baselines import ground_truth_mano, ground_truth_submission, mano_noise, oracle_noise, smoothed_noise


def _still(views: int = 4000, frames: int = 1) -> Submission:
    """A static hand seen ``views`` times (one track per sequence, ``frames`` frames each)."""
    n = views * frames
    joints = np.broadcast_to(np.linspace(0, 0.1, 2 * 21 * 3).reshape(2, 21, 3), (n, 2, 21, 3)).copy()
    seq = np.repeat([f"s{i}" for i in range(views)], frames)
    return Submission(None, "still", seq, np.tile(np.arange(frames), views), np.full(n, "c"), joints)


def test_oracle_noise_has_the_maxwell_mean():
    gt, sigma = _still(), 0.005
    err = np.linalg.norm(oracle_noise(gt, sigma, seed=3).joints - gt.joints, axis=-1)
    expected = sigma * 2 * np.sqrt(2 / np.pi)                      # 1.596 sigma
    # 168,000 draws: the mean's standard error is 0.42 sigma / sqrt(n) ~ 0.1 % of it
    assert err.mean() == pytest.approx(expected, rel=5e-3)


def test_smoothed_noise_divides_the_noise_by_the_window_root():
    gt, sigma, window = _still(views=40, frames=200), 0.005, 5
    smooth = smoothed_noise(gt, sigma, window=window, seed=4)
    interior = np.tile(np.r_[np.zeros(window, bool), np.ones(200 - 2 * window, bool), np.zeros(window, bool)], 40)
    err = np.linalg.norm(smooth.joints[interior] - gt.joints[interior], axis=-1)
    assert err.mean() == pytest.approx(sigma * 2 * np.sqrt(2 / np.pi) / np.sqrt(window), rel=2e-2)


@pytest.mark.parametrize("dataset", ["interhand26m", "ho3d"])
def test_the_ground_truth_mano_fit_in_camera_coordinates_gives_the_ground_truth_meshes(labelled_shards, dataset):
    ds = ShardDataset(labelled_shards(dataset))
    split = "train" if "train" in ds.splits else ds.splits[0]  # HO3D's evaluation split has no MANO fits
    fit = ground_truth_mano(ds, split)
    truth = ground_truth_submission(ds, split)
    keys = list(zip(truth.sequence, truth.frame, truth.camera))
    assert list(zip(fit.sequence, fit.frame, fit.camera)) == keys
    meshed = np.isfinite(fit.mano_pose).all(axis=-1)
    assert meshed.any()
    np.testing.assert_allclose(fit.vertices[meshed], truth.vertices[meshed], atol=1e-6)
    again = mano_noise(fit, 0.0, 0.0)
    np.testing.assert_allclose(again.vertices[meshed], fit.vertices[meshed], atol=1e-9)
    noisy = mano_noise(fit, 0.05, 0.01, seed=1)
    moved = np.linalg.norm(noisy.joints - fit.joints, axis=-1)[meshed]
    assert 0.005 < np.nanmean(moved) < 0.05
