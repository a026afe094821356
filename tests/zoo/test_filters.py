"""Temporal filters: closed forms, causality, NaN gaps, tracks, the time base, and the synthetic
illustration of the model-zoo reference (data_specs/zoo_filters.md)."""

from __future__ import annotations

import numpy as np
import pytest

from handeval.scoring.submissions import Submission, read_submission, write_submission
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.zoo.filters import FILTERS, filter_submission, one_euro, release_fps, resolve_fps, savgol, savgol_window

FPS = 30.0


def _submission(frames, cameras=("0",), vertices=True, seed=0, **extra) -> Submission:
    rng = np.random.default_rng(seed)
    frames = np.asarray(frames)
    n = len(frames) * len(cameras)
    verts = rng.normal(0, 0.05, (n, 2, 778, 3)).astype(np.float32) if vertices else None
    return Submission(None, "test", np.array(["s"] * n), np.tile(frames, len(cameras)),
                      np.repeat(np.array(cameras), len(frames)), rng.normal(0, 0.05, (n, 2, 21, 3)), verts, **extra)


def test_one_euro_beta_zero_is_a_first_order_low_pass_on_a_step():
    fc, te = 2.0, 1.0 / FPS
    a = 1.0 / (1.0 + (1.0 / (2 * np.pi * fc)) / te)
    x = np.r_[np.zeros(5), np.ones(40)]
    y = one_euro(x, np.arange(len(x)) * te, min_cutoff_hz=fc, beta=0.0)
    n = np.arange(1, 41)
    np.testing.assert_allclose(y[5:], 1 - (1 - a) ** n, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y[:5], 0.0)


def test_constant_signals_pass_unchanged():
    x = np.full((50, 4, 3), 0.123)
    np.testing.assert_array_equal(one_euro(x, np.arange(50) / FPS, 1.0, 0.7, 1.0), x)
    np.testing.assert_allclose(savgol(x, 9, 2), x, rtol=1e-13, atol=0)   # its weights sum to 1 up to rounding


def test_savgol_order_two_reproduces_a_quadratic_inside_and_at_the_edges():
    t = np.arange(40) / FPS
    x = (0.3 - 1.2 * t + 4.0 * t ** 2)[:, None] * np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(savgol(x, 11, 2), x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(savgol(x[:7], 11, 2), x[:7], rtol=0, atol=1e-12)  # window clipped to 7 frames


def test_causality_one_euro_ignores_the_future_savgol_does_not():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 5))
    changed = x.copy()
    changed[40:] += 1.0
    t = np.arange(60) / FPS
    np.testing.assert_array_equal(one_euro(x, t, 1.0, 0.5)[:40], one_euro(changed, t, 1.0, 0.5)[:40])
    assert not np.allclose(savgol(x, 9, 2)[:40], savgol(changed, 9, 2)[:40])
    assert FILTERS["one-euro"].causal and not FILTERS["savitzky-golay"].causal


@pytest.mark.parametrize("name", list(FILTERS))
def test_nan_gaps_do_not_spread_and_restart_the_filter(name):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3))
    x[15:18] = np.nan
    x[30:, 0] = np.nan

    def run(v):
        return one_euro(v, np.arange(len(v)) / FPS, 1.0) if name == "one-euro" else savgol(v, 7, 2)

    y = run(x)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    np.testing.assert_allclose(y[18:30, :1], run(x[18:30, :1]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y[18:, 1:], run(x[18:, 1:]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y[:15], run(x[:15]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(FILTERS))
def test_tracks_are_independent_and_frame_jumps_restart(name):
    frames = np.r_[np.arange(0, 60, 6), np.arange(72, 132, 6)]     # step 6 (5 fps of a 30 Hz capture), one gap
    two = _submission(frames, cameras=("a", "b"))
    params = {"window_s": 1.4} if name == "savitzky-golay" else {}      # 7 frames at 5 fps
    out = filter_submission(two, name, fps=5.0, **params)
    for cam in ("a", "b"):
        rows = two.camera == cam
        alone = filter_submission(two.subset(np.flatnonzero(rows)), name, fps=5.0, **params)
        np.testing.assert_allclose(out.joints[rows], alone.joints, rtol=0, atol=1e-12)
        for part in (slice(0, 10), slice(10, 20)):
            piece = filter_submission(two.subset(np.flatnonzero(rows)[part]), name, fps=5.0, **params)
            np.testing.assert_allclose(out.joints[rows][part], piece.joints, rtol=0, atol=1e-12)
    # Rows in any order give the same values per row.
    shuffled = two.subset(np.random.default_rng(3).permutation(len(two.frame)))
    again = filter_submission(shuffled, name, fps=5.0, **params)
    key = {k: i for i, k in enumerate(out.keys())}
    np.testing.assert_allclose(again.joints, out.joints[[key[k] for k in again.keys()]], rtol=0, atol=1e-12)


def test_time_is_the_row_step_over_fps_not_the_frame_number():
    a = filter_submission(_submission(np.arange(0, 120, 6), vertices=False), "one-euro", fps=5.0, min_cutoff_hz=1.0)
    b = filter_submission(_submission(np.arange(0, 20), vertices=False), "one-euro", fps=5.0, min_cutoff_hz=1.0)
    np.testing.assert_array_equal(a.joints, b.joints)


def test_vertices_and_joints_stay_consistent_and_mano_is_dropped():
    sub = _submission(np.arange(30), mano_pose=np.zeros((30, 2, 48)), mano_trans=np.zeros((30, 2, 3)))
    regressor = np.random.default_rng(4).dirichlet(np.ones(778), size=21)   # rows sum to 1, like MANO's
    sub.joints = np.einsum("jv,nhvc->nhjc", regressor, sub.vertices.astype(np.float64))
    sub.joints[5:8, 1] = np.nan
    sub.vertices[5:8, 1] = np.nan
    for name, params in (("one-euro", {"min_cutoff_hz": 1.0, "beta": 20.0}), ("savitzky-golay", {})):
        out = filter_submission(sub, name, fps=FPS, **params)
        derived = np.einsum("jv,nhvc->nhjc", regressor, out.vertices.astype(np.float64))
        np.testing.assert_allclose(out.joints, derived, rtol=0, atol=1e-6)
        assert out.mano_pose is None and out.mano_shape is None and out.mano_trans is None
        assert out.vertices.dtype == np.float32 and np.isnan(out.joints[5:8, 1]).all()
        assert out.provenance["mano"] == "dropped"


def test_provenance_and_format(tmp_path):
    path = write_submission(tmp_path / "p.parquet", _submission(np.arange(10), vertices=False))
    sub = read_submission(path)
    out = filter_submission(sub, "savitzky-golay", fps=FPS, window_s=0.5)
    assert out.format == "parquet+savitzky-golay" and out.path is None
    f = out.provenance["params"]
    assert (out.provenance["entry"], out.provenance["causal"], f["fps"], f["window_s"], f["window_frames"],
            f["polyorder"]) == ("savitzky-golay", False, FPS, 0.5, 15, 2)
    assert out.provenance["flags"] == ["non-causal"]
    assert out.provenance["input"]["sha256"] == sha256_file(path)
    twice = filter_submission(out, "one-euro", fps=FPS)
    assert twice.format == "parquet+savitzky-golay+one-euro" and twice.provenance["input"] == out.provenance
    assert twice.provenance["causal"] is True and twice.provenance["flags"] == ["causal"]
    path2 = write_submission(tmp_path / "q.parquet", twice)
    assert read_submission(path2).provenance == twice.provenance


def test_release_rates_and_errors():
    assert release_fps("InterHand2.6M", "30 fps, H+M") == 30.0 and release_fps("InterHand2.6M", "5 fps, H") == 5.0
    assert resolve_fps(None, "InterHand2.6M", "5 fps, H+M") == 5.0 and resolve_fps(25, "HO3D", "v3") == 25.0
    with pytest.raises(HandevalError, match="--fps"):
        resolve_fps(None, "HO3D", "v3, right hand + object")
    with pytest.raises(HandevalError, match="--fps"):
        filter_submission(_submission(np.arange(5)), "one-euro", fps=None)
    with pytest.raises(HandevalError, match="did you mean 'savitzky-golay'"):
        filter_submission(_submission(np.arange(5)), "savitzky-golai", fps=FPS)
    with pytest.raises(HandevalError, match="did you mean 'min_cutoff_hz'"):
        filter_submission(_submission(np.arange(5)), "one-euro", fps=FPS, min_cutoff=1.0)
    with pytest.raises(HandevalError, match="polyorder 2"):
        filter_submission(_submission(np.arange(5)), "savitzky-golay", fps=FPS, window_s=0.05)
    with pytest.raises(HandevalError, match="one row per view"):
        filter_submission(_submission(np.array([0, 1, 1, 2])), "one-euro", fps=FPS)
    assert savgol_window(0.3, 30.0) == 9 and savgol_window(0.5, 30.0) == 15 and savgol_window(0.2, 30.0) == 7


def _synthetic(seed=0, frames=600, joints=21, sigma=0.005):
    """The model-zoo reference's illustration (§2.2): sinusoids of 0.2-2 Hz, 10-60 mm, at 30 fps, noise sigma."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / FPS
    f, amp = rng.uniform(0.2, 2.0, (joints, 3)), rng.uniform(0.010, 0.060, (joints, 3))
    gt = amp * np.sin(2 * np.pi * f * t[:, None, None] + rng.uniform(0, 2 * np.pi, (joints, 3)))
    return gt, gt + rng.normal(0, sigma, gt.shape)


def _errors(pred, gt):
    def acc(x):
        return x[:-2] - 2 * x[1:-1] + x[2:]

    return 1000 * np.linalg.norm(pred - gt, axis=-1).mean(), 1000 * np.linalg.norm(acc(pred) - acc(gt), axis=-1).mean()


def test_synthetic_illustration_savgol_lowers_both_one_euro_trades_lag_for_accel():
    gt, raw = _synthetic()
    sub = Submission(None, "synthetic", np.array(["s"] * len(gt)), np.arange(len(gt)), np.array(["0"] * len(gt)),
                     np.stack([raw, np.full_like(raw, np.nan)], axis=1))
    raw_mpjpe, raw_acc = _errors(raw, gt)
    sg = _errors(filter_submission(sub, "savitzky-golay", fps=FPS, window_s=0.3).joints[:, 0], gt)
    oe = _errors(filter_submission(sub, "one-euro", fps=FPS, min_cutoff_hz=1.0).joints[:, 0], gt)
    assert abs(raw_mpjpe - 5.0 * 2 * np.sqrt(2 / np.pi)) < 0.1      # 3D isotropic noise: 1.596 sigma
    assert sg[0] < raw_mpjpe and sg[1] < raw_acc
    assert oe[1] < raw_acc and oe[0] > raw_mpjpe
