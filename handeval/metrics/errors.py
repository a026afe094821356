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


def nearest_distances(pred_points: np.ndarray, gt_points: np.ndarray, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Each point's distance to the nearest point of the other set: (d_pred (..., P), d_gt (..., G)).

    ``pred_points`` (..., P, 3) and ``gt_points`` (..., G, 3), set by set; float64 (a strict threshold
    must not flip on rounding); NaN rows where either set holds a non-finite point (an absent hand).
    Brute force in torch, ``chunk`` sets at a time. One call serves every threshold of an F-score.
    """
    import torch

    lead = pred_points.shape[:-2]
    p = pred_points.reshape((-1,) + pred_points.shape[-2:])
    g = gt_points.reshape((-1,) + gt_points.shape[-2:])
    d_pred, d_gt = np.full(p.shape[:2], np.nan), np.full(g.shape[:2], np.nan)
    ok = np.isfinite(p).all(axis=(1, 2)) & np.isfinite(g).all(axis=(1, 2))
    rows = np.flatnonzero(ok)
    for lo in range(0, len(rows), chunk):
        r = rows[lo:lo + chunk]
        d = torch.cdist(torch.from_numpy(p[r].astype(np.float64)), torch.from_numpy(g[r].astype(np.float64)))
        d_pred[r], d_gt[r] = d.min(dim=2).values.numpy(), d.min(dim=1).values.numpy()
    return d_pred.reshape(lead + p.shape[1:2]), d_gt.reshape(lead + g.shape[1:2])


def f_score(pred_points: np.ndarray, gt_points: np.ndarray, threshold: float) -> np.ndarray:
    """F-score of point sets at a distance threshold (strict <), as HO3D's eval.py defines it.

    Batched: ``pred_points`` (..., P, 3) and ``gt_points`` (..., G, 3) give (...,). For each
    set, a = share of predicted points within ``threshold`` of GT, b = share of GT points
    within it of the prediction; F = 2ab / (a + b), 0 when a + b = 0; NaN where either set
    holds a non-finite point (an absent hand).
    """
    return f_score_of(nearest_distances(pred_points, gt_points), threshold)


def f_score_of(distances: tuple[np.ndarray, np.ndarray], threshold: float) -> np.ndarray:
    """:func:`f_score` from the sets' :func:`nearest_distances`, so that several thresholds share them."""
    d_pred, d_gt = distances
    ok = np.isfinite(d_pred).all(axis=-1) & np.isfinite(d_gt).all(axis=-1)
    a, b = (d_pred < threshold).mean(axis=-1), (d_gt < threshold).mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, np.where(a + b > 0, 2 * a * b / (a + b), 0.0), np.nan)


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
