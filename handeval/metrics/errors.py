"""Per-frame errors and their aggregations, vectorised over frames, aware of masks and NaN.

All inputs are metres; returned errors are metres unless a name says otherwise.
Definitions and sources: ``data_specs/metrics.md``.
"""

from __future__ import annotations

import numpy as np


def point_errors(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(..., N) Euclidean errors; NaN where ``valid`` is False or either point is not finite."""
    e = np.linalg.norm(pred - gt, axis=-1)
    bad = ~np.isfinite(e)
    if valid is not None:
        bad |= ~valid.astype(bool)
    return np.where(bad, np.nan, e)


def mean_per_point(errors: np.ndarray) -> np.ndarray:
    """Average over frames for each point (axis 0), ignoring NaN: (N,)."""
    with np.errstate(invalid="ignore"):
        return np.nanmean(errors, axis=0)


def mpjpe_per_joint_then_mean(errors: np.ndarray) -> float:
    """Mean over frames per joint, then over joints (InterHand2.6M's and the HO3D/Dex-YCB EvalUtil's order)."""
    per = mean_per_point(errors.reshape(errors.shape[0], -1))
    return float(np.nanmean(per))


def mpjpe_pooled(errors: np.ndarray) -> float:
    """Mean over every valid (frame, joint) pair (mmpose's pooling)."""
    return float(np.nanmean(errors))


def pck_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(N, K): per point, the fraction of its valid frames with error <= each threshold (EvalUtil)."""
    e = errors.reshape(errors.shape[0], -1)
    valid = np.isfinite(e)
    hits = (e[..., None] <= thresholds) & valid[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits.sum(axis=0) / valid.sum(axis=0)[:, None]


def auc(pck: np.ndarray, thresholds: np.ndarray) -> float:
    """Trapezoid area under the per-point PCK curves, normalised by the threshold range, averaged over points."""
    area = np.trapezoid(pck, thresholds, axis=-1) / (thresholds[-1] - thresholds[0])
    return float(np.nanmean(area))


def f_score(pred_points: np.ndarray, gt_points: np.ndarray, threshold: float) -> float:
    """F-score of two point sets at a distance threshold (strict <), as HO3D's eval.py defines it.

    a = share of predicted points within ``threshold`` of GT, b = share of GT points within it of the
    prediction; F = 2ab / (a + b), 0 when a + b = 0 or a set is empty.
    """
    from scipy.spatial import cKDTree

    if len(pred_points) == 0 or len(gt_points) == 0:
        return 0.0
    d_p = cKDTree(gt_points).query(pred_points)[0]
    d_g = cKDTree(pred_points).query(gt_points)[0]
    a, b = float((d_p < threshold).mean()), float((d_g < threshold).mean())
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def mrrpe(pred_joints: np.ndarray, gt_joints: np.ndarray, root: int = 0) -> np.ndarray:
    """(T,) relative root position error: ||(L_root - R_root)_pred - (L_root - R_root)_gt||; hands [right, left]."""
    rel_p = pred_joints[..., 1, root, :] - pred_joints[..., 0, root, :]
    rel_g = gt_joints[..., 1, root, :] - gt_joints[..., 0, root, :]
    return np.linalg.norm(rel_p - rel_g, axis=-1)


def acceleration_error(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(T, N) HMMR's acceleration error per frame and point, in metres per frame^2.

    ``a_t = x_{t-1} - 2 x_t + x_{t+1}``; the error is ``|a_pred - a_gt|`` at frames t where t-1, t
    and t+1 are all valid (NaN elsewhere, including the first and last frame). Multiply by fps^2 for
    metres per s^2. ``pred``/``gt`` are (T, N, 3) for one sequence.
    """
    T = pred.shape[0]
    out = np.full(pred.shape[:-1], np.nan)
    if T < 3:
        return out
    acc_p = pred[:-2] - 2 * pred[1:-1] + pred[2:]
    acc_g = gt[:-2] - 2 * gt[1:-1] + gt[2:]
    e = np.linalg.norm(acc_p - acc_g, axis=-1)
    ok = np.isfinite(e)
    if valid is not None:
        v = valid.astype(bool)
        ok &= v[:-2] & v[1:-1] & v[2:]
    out[1:-1] = np.where(ok, e, np.nan)
    return out
