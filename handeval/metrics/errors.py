"""Per-view errors and scores, vectorised over views, aware of masks and NaN; their reductions to
one number are ``handeval.metrics.reductions``.

All inputs are metres; returned errors are metres unless a name says otherwise.
Definitions and sources: ``data_specs/metrics.md``.
"""

from __future__ import annotations

import numpy as np


def point_errors(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(..., N) Euclidean errors; NaN where ``valid`` is False or either point is not finite."""
    d = pred - gt
    e = np.sqrt(np.einsum("...i,...i->...", d, d))  # one pass; np.linalg.norm makes several
    bad = ~np.isfinite(e)
    if valid is not None:
        bad |= ~valid.astype(bool)
    return np.where(bad, np.nan, e)


def nanmean(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """Mean of the finite values along ``axis``; NaN (without a warning) where there are none,
    which throughout handeval means "nothing counts here"."""
    finite = np.isfinite(x)
    n = finite.sum(axis=axis, keepdims=keepdims)
    total = np.where(finite, x, 0.0).sum(axis=axis, keepdims=keepdims, dtype=np.float64)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def f_score(pred_points: np.ndarray, gt_points: np.ndarray, threshold: float, chunk: int = 64) -> np.ndarray:
    """F-score of point sets at a distance threshold (strict <), as HO3D's eval.py defines it.

    Batched: ``pred_points`` (..., P, 3) and ``gt_points`` (..., G, 3) give (...,). For each
    set, a = share of predicted points within ``threshold`` of GT, b = share of GT points
    within it of the prediction; F = 2ab / (a + b), 0 when a + b = 0; NaN where either set
    holds a non-finite point (an absent hand). Nearest neighbours by brute force in torch,
    ``chunk`` sets at a time.
    """
    import torch

    lead = pred_points.shape[:-2]
    p = pred_points.reshape((-1,) + pred_points.shape[-2:])
    g = gt_points.reshape((-1,) + gt_points.shape[-2:])
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p).all(axis=(1, 2)) & np.isfinite(g).all(axis=(1, 2))
    rows = np.flatnonzero(ok)
    for lo in range(0, len(rows), chunk):
        r = rows[lo:lo + chunk]  # float64 distances: a strict threshold must not flip on rounding
        d = torch.cdist(torch.from_numpy(p[r].astype(np.float64)), torch.from_numpy(g[r].astype(np.float64)))
        a = (d.min(dim=2).values < threshold).double().mean(dim=1).numpy()
        b = (d.min(dim=1).values < threshold).double().mean(dim=1).numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[r] = np.where(a + b > 0, 2 * a * b / (a + b), 0.0)
    return out.reshape(lead)


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (..., N, 3) with intrinsics K (..., 3, 3): pixels (..., N, 2)."""
    uvw = points @ np.swapaxes(K, -1, -2)
    return uvw[..., :2] / uvw[..., 2:3]


def handedness_correct(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(...,) 1.0 where both hands' presence scores fall on the right side of 0.5, as InterNet scores it.

    ``scores`` (..., 2) are probabilities [right, left] (after the sigmoid); ``truth`` (..., 2) bool
    is the annotated hand type (right -> [1, 0], left -> [0, 1], interacting -> [1, 1]).
    """
    return ((scores > 0.5) == truth).all(axis=-1).astype(np.float64)


def mrrpe(pred_joints: np.ndarray, gt_joints: np.ndarray, root: int = 0) -> np.ndarray:
    """(T,) relative root position error: ||(L_root - R_root)_pred - (L_root - R_root)_gt||; hands [right, left]."""
    rel_p = pred_joints[..., 1, root, :] - pred_joints[..., 0, root, :]
    rel_g = gt_joints[..., 1, root, :] - gt_joints[..., 0, root, :]
    return np.linalg.norm(rel_p - rel_g, axis=-1)


def acceleration_error(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None,
                       consecutive: np.ndarray | None = None) -> np.ndarray:
    """(T, ...) HMMR's acceleration error per row and point, in metres per frame^2.

    Rows are frames of tracks sorted by time: ``pred``/``gt`` (T, ..., 3). ``a_t = x_{t-1} -
    2 x_t + x_{t+1}``; the error is ``|a_pred - a_gt|`` at rows t where t-1, t and t+1 are
    all valid and ``consecutive[t]`` says rows t-1, t, t+1 are evenly spaced frames of the
    same track (default: one track of consecutive frames). NaN elsewhere, including each
    track's first and last frame. Multiply by fps^2 for metres per s^2.
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
    if consecutive is not None:
        ok &= consecutive[1:-1].reshape((-1,) + (1,) * (ok.ndim - 1))
    out[1:-1] = np.where(ok, e, np.nan)
    return out
