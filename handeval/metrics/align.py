"""Alignments of predicted to ground-truth points, batched over frames (numpy; float64, or float32 vertices).

Every function takes ``pred`` and ``gt`` shaped (..., N, 3) and returns the aligned
prediction with the same shape. Formulas and sources: ``data_specs/metrics.md``.
"""

from __future__ import annotations

import numpy as np


def root_relative(points: np.ndarray, root: int = 0) -> np.ndarray:
    """Subtract joint ``root`` (0 = wrist, 9 = middle MCP in the canonical order)."""
    return points - points[..., root : root + 1, :]


# Joint-derived alignments are a scale s about an anchor: x -> s (x - a_pred) + a_gt. Writing
# them this way (not as s x + t) keeps the anchor joint's error exactly 0, as in the official
# code, so PCK at a threshold of 0 counts it.

def root_params(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale 1 about the root joints: the prediction's root moves onto the ground truth's."""
    return np.ones(pred.shape[:-2]), pred[..., root, :], gt[..., root, :]


def bone_scale_params(pred: np.ndarray, gt: np.ndarray, a: int = 0, b: int = 9,
                      root: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IntagHand/DIR "MS": ``s = |gt_b - gt_a| / |pred_b - pred_a|`` about ``root``, then root-aligned."""
    s = (np.linalg.norm(gt[..., b, :] - gt[..., a, :], axis=-1)
         / np.linalg.norm(pred[..., b, :] - pred[..., a, :], axis=-1))
    return s, pred[..., root, :], gt[..., root, :]


def scale_translation_params(pred: np.ndarray, gt: np.ndarray, a: int = 0,
                             b: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HO3D's ``align_sc_tr``: scale so |pred_b - pred_a| = |gt_b - gt_a|, then move pred_a onto gt_a.

    HO3D's evaluation uses MANO order joints 0 and 4 (wrist, middle MCP): canonical 0 and 9.
    A zero-length predicted bone leaves the prediction unscaled, as HO3D's ``if bP > 0`` does.
    """
    bp = np.linalg.norm(pred[..., b, :] - pred[..., a, :], axis=-1)
    bg = np.linalg.norm(gt[..., b, :] - gt[..., a, :], axis=-1)
    s = np.where(bp > 0, bg / np.where(bp > 0, bp, 1.0), bg)
    return s, pred[..., a, :], gt[..., a, :]


def right_root_params(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (..., 2, N, 3) two-hand arrays: both hands move with the right hand's root
    (InterWild's RRVE places both hands relative to the right wrist)."""
    lead = pred.shape[:-2]
    return (np.ones(lead), np.broadcast_to(pred[..., :1, root, :], lead + (3,)),
            np.broadcast_to(gt[..., :1, root, :], lead + (3,)))


def apply_scale_translation(points: np.ndarray, params: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """``s (x - a_pred) + a_gt`` for points (..., N, 3), with s (...,) and anchors (..., 3)."""
    s, a_pred, a_gt = (np.asarray(x, dtype=points.dtype) for x in params)  # float32 vertices stay float32
    out = points - a_pred[..., None, :]  # in place from here: these arrays can hold millions of vertices
    out *= s[..., None, None]
    out += a_gt[..., None, :]
    return out


def align_root(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Translate the prediction so its root joint lands on the ground truth's."""
    return apply_scale_translation(pred, root_params(pred, gt, root))


def align_bone_scale(pred: np.ndarray, gt: np.ndarray, a: int = 0, b: int = 9, root: int = 9) -> np.ndarray:
    """IntagHand/DIR "MS" alignment (defaults: the wrist -> middle-MCP bone, rooted at the middle MCP)."""
    return apply_scale_translation(pred, bone_scale_params(pred, gt, a, b, root))


def align_scale_translation(pred: np.ndarray, gt: np.ndarray, a: int = 0, b: int = 9) -> np.ndarray:
    """HO3D's ``align_sc_tr`` (see :func:`scale_translation_params`)."""
    return apply_scale_translation(pred, scale_translation_params(pred, gt, a, b))


def align_procrustes(pred: np.ndarray, gt: np.ndarray, allow_reflection: bool = True,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Similarity Procrustes (rotation, isotropic scale, translation) of pred onto gt.

    ``allow_reflection=True`` reproduces the HO3D / FreiHAND / Dex-YCB code (no determinant
    check, so a mirrored hand can align perfectly); False is the SPIN-style proper rotation.
    ``mask`` (..., N) restricts the fit to valid points; every point is then transformed.
    """
    if mask is None:
        w = np.full(pred.shape[-2], 1.0 / pred.shape[-2], dtype=pred.dtype)
        mu_p, mu_g = (w @ pred)[..., None, :], (w @ gt)[..., None, :]  # a matmul: far faster than .mean(-2)
        p0, g0 = pred - mu_p, gt - mu_g
    else:
        w = mask.astype(np.float64)[..., None]
        n = np.maximum(w.sum(axis=-2, keepdims=True), 1.0)
        mu_p, mu_g = (pred * w).sum(axis=-2, keepdims=True) / n, (gt * w).sum(axis=-2, keepdims=True) / n
        p0, g0 = (pred - mu_p) * w, (gt - mu_g) * w
    cov = np.swapaxes(g0, -1, -2) @ p0                       # (..., 3, 3) = G0^T P0
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones_like(sig)
    if not allow_reflection:
        d[..., -1] = np.sign(np.linalg.det(u @ vt))
    rot = u @ (d[..., :, None] * vt)                         # maps pred directions to gt: g ~ s R p
    var_p = np.einsum("...ij,...ij->...", p0, p0)
    scale = (sig * d).sum(axis=-1) / np.where(var_p > 0, var_p, 1.0)
    if mask is not None:
        p0 = pred - mu_p
    out = p0 @ (scale[..., None, None] * np.swapaxes(rot, -1, -2)).astype(p0.dtype, copy=False)
    out += mu_g
    return out


def align_two_hand_scale_translation(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """IHMR's I-MPJPE alignment (``calc_transform_no_rot``): both hands' valid points together,
    each axis standardised by the prediction's mean and standard deviation, then given the ground
    truth's; no rotation.

    ``pred``/``gt`` are (..., 2, N, 3); ``mask`` (..., 2, N) marks the points that enter the fit.
    """
    shape = pred.shape
    p = pred.reshape(*shape[:-3], -1, 3)
    g = gt.reshape(*shape[:-3], -1, 3)
    w = (np.ones(p.shape[:-1]) if mask is None else mask.reshape(*shape[:-3], -1).astype(np.float64))[..., None]
    n = np.maximum(w.sum(axis=-2, keepdims=True), 1.0)
    mu_p, mu_g = (p * w).sum(axis=-2, keepdims=True) / n, (g * w).sum(axis=-2, keepdims=True) / n
    sd_p = np.sqrt((((p - mu_p) ** 2) * w).sum(axis=-2, keepdims=True) / n)
    sd_g = np.sqrt((((g - mu_g) ** 2) * w).sum(axis=-2, keepdims=True) / n)
    scale = np.where(sd_p > 0, sd_g / np.where(sd_p > 0, sd_p, 1.0), 1.0)
    return ((p - mu_p) * scale + mu_g).reshape(shape)
