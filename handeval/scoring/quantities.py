"""Per-view quantities of a protocol: the columns of the per-view error table.

Each quantity (``data_specs/protocols/README.md``) becomes one column: per-joint errors
(V, 2, 21), per-hand vertex errors (V, 2) or per-vertex (V, 2, 778), F-scores (V, 2),
MRRPE (V,), handedness (V,), MIAA (V, 2), acceleration errors (V, 2, 21) and penetration
measures (V,). Everything is in metres (pixels for MIAA); NaN marks "does not count".
Vectorised over views; only the penetration measures loop, one mesh pair per view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from handeval.conventions import hand_presence
from handeval.metrics import align as A
from handeval.metrics.errors import (
    acceleration_error,
    f_score,
    handedness_correct,
    mrrpe,
    nanmean,
    point_errors,
    project,
)
from handeval.scoring.protocols import Protocol
from handeval.shards.views import ViewTruth

# Alignments whose transform (a scale and a translation per hand) comes from the joints and
# is applied to the vertices too; the others are fitted on whichever points are scored.
_FROM_JOINTS = {
    "root": lambda P, G, r: A.root_params(P, G, r),
    "bone_scale": lambda P, G, r: A.bone_scale_params(P, G, 0, 9, r),
    "scale_translation": lambda P, G, r: A.scale_translation_params(P, G),
    "right_root": lambda P, G, r: A.right_root_params(P, G, r),
}


def _parse(align: str) -> tuple[str, int]:
    kind, _, arg = align.partition(":")
    return kind, int(arg) if arg else 0


def _clean(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def aligned(align: str, pred_j: np.ndarray, gt_j: np.ndarray, valid: np.ndarray,
            pred_pts: np.ndarray, gt_pts: np.ndarray, pts_valid: np.ndarray, whole_hands: bool = False) -> np.ndarray:
    """The scored points (joints or vertices) of the prediction under ``align``, (V, 2, N, 3).

    ``whole_hands``: each hand's points are all valid or all absent (vertices), so a fit needs no weights.
    """
    kind, arg = _parse(align)
    if kind == "none":
        return pred_pts
    if kind in _FROM_JOINTS:
        with np.errstate(invalid="ignore", divide="ignore"):
            return A.apply_scale_translation(pred_pts, _FROM_JOINTS[kind](pred_j, gt_j, arg))
    if kind == "procrustes" or kind == "procrustes_proper":
        reflect = kind == "procrustes"
        if whole_hands:
            # A hand's first point tells whether it is there, and the fit needs no weights: this
            # path carries most of the scoring time.
            ok = np.isfinite(pred_pts[..., 0, :]).all(-1) & np.isfinite(gt_pts[..., 0, :]).all(-1) & pts_valid[..., 0]
            if ok.all():
                return A.align_procrustes(pred_pts, gt_pts, allow_reflection=reflect)
            out = A.align_procrustes(np.where(ok[..., None, None], pred_pts, 0.0),
                                     np.where(ok[..., None, None], gt_pts, 0.0), allow_reflection=reflect)
            return np.where(ok[..., None, None], out, np.nan)
        mask = pts_valid & np.isfinite(pred_pts).all(-1) & np.isfinite(gt_pts).all(-1)
        out = A.align_procrustes(_clean(pred_pts), _clean(gt_pts), allow_reflection=reflect, mask=mask)
    else:  # one scale and translation for both hands
        mask = pts_valid & np.isfinite(pred_pts).all(-1) & np.isfinite(gt_pts).all(-1)
        out = A.align_two_hand_scale_translation(_clean(pred_pts), _clean(gt_pts), mask)
    return np.where(np.isfinite(pred_pts), out, np.nan)


def compute_quantities(protocol: Protocol, truth: ViewTruth, pred_joints: np.ndarray,
                       pred_vertices: np.ndarray | None, hand_scores: np.ndarray | None,
                       penetration=None) -> dict[str, np.ndarray]:
    """All of a protocol's quantities for the views of ``truth`` (predictions row-aligned)."""
    gt_j, valid = truth.joints, truth.valid
    pres = truth.present
    vvalid = np.broadcast_to(pres[:, :, None], pres.shape + (778,))
    out: dict[str, np.ndarray] = {}
    pen_cache: dict | None = None
    for name, q in protocol.quantities.items():
        kind, align = q["kind"], q.get("align", "none")
        if kind == "acceleration":
            continue  # needs whole tracks: temporal_quantities
        if q.get("points") == "vertices" or kind in ("miaa", "f_score"):
            if pred_vertices is None:
                out[name] = None  # the submission has no vertices: the metric is reported as null
                continue
            pts = aligned(align, pred_joints, gt_j, valid, pred_vertices, truth.vertices, vvalid, whole_hands=True)
        elif kind == "points":
            pts = aligned(align, pred_joints, gt_j, valid, pred_joints, gt_j, valid)
        if kind == "points":
            if q["points"] == "joints":
                out[name] = point_errors(pts, gt_j, valid).astype(np.float32)
            else:
                e = point_errors(pts, truth.vertices, vvalid)
                out[name] = (e if q.get("per_point") else nanmean(e, axis=-1)).astype(np.float32)
        elif kind == "f_score":
            out[name] = f_score(pts, truth.vertices, float(q["threshold"])).astype(np.float32)
        elif kind == "miaa":
            with np.errstate(invalid="ignore", divide="ignore"):
                K = truth.K[:, None].astype(pts.dtype)
                d = project(pts, K) - project(truth.vertices, K)
                px = np.sqrt(np.einsum("...i,...i->...", d, d))
                out[name] = nanmean(np.where(vvalid, px, np.nan), axis=-1).astype(np.float32)
        elif kind == "mrrpe":
            r = int(q.get("root", 0))
            if q.get("absent_root") == "origin":
                # InterWild's HIC evaluate: a hand without ground truth is a zero mesh, so its root is the
                # origin, and every interacting annotation counts.
                g = np.where(pres[:, :, None, None], gt_j, 0.0)
                ok = np.isfinite(pred_joints[:, :, r]).all(axis=(-1, -2)) & pres.any(axis=1)
                out[name] = np.where(ok, mrrpe(pred_joints, g, r), np.nan).astype(np.float32)
            else:
                ok = valid[:, 0, r] & valid[:, 1, r]
                out[name] = np.where(ok, mrrpe(pred_joints, gt_j, r), np.nan).astype(np.float32)
        elif kind == "handedness":
            out[name] = None if hand_scores is None else np.where(
                truth.hand_type_valid, handedness_correct(hand_scores, hand_presence(truth.hand_type)),
                np.nan).astype(np.float32)
        elif kind == "penetration":
            if pred_vertices is None or penetration is None:
                out[name] = None
                continue
            if pen_cache is None:
                pen_cache = penetration(pred_vertices, pres)
            out[name] = pen_cache[q["measure"]].astype(np.float32)
        if q.get("both_hands") and out.get(name) is not None:  # e.g. InterWild's RRVE: both meshes needed
            out[name][~pres.all(axis=1)] = np.nan
    return out


def temporal_quantities(protocol: Protocol, truth: ViewTruth, pred_joints: np.ndarray) -> dict[str, np.ndarray]:
    """The acceleration quantities, over every view of a shard at once (tracks never cross shards)."""
    out = {}
    for name, q in protocol.quantities.items():
        if q["kind"] == "acceleration":
            pts = aligned(q.get("align", "none"), pred_joints, truth.joints, truth.valid, pred_joints, truth.joints,
                          truth.valid)
            out[name] = _acceleration(truth, pts, truth.joints, truth.valid).astype(np.float32)
    return out


def _acceleration(truth: ViewTruth, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """HMMR acceleration error along each (sequence, camera) track, rows in any order.

    The prediction is already aligned (for a root alignment, onto the ground truth's root),
    so root motion cancels in the difference of accelerations.

    A row counts when its track's previous and next frames are present at the track's
    smallest frame step (the frame rate's spacing), all three valid.
    """
    order = np.lexsort((truth.frame, truth.camera, truth.sequence))
    seq, cam, fr = truth.sequence[order], truth.camera[order], truth.frame[order]
    same_prev = np.r_[False, (seq[1:] == seq[:-1]) & (cam[1:] == cam[:-1])]
    step = np.where(same_prev, np.r_[0, np.diff(fr)], 0)
    track = np.cumsum(~same_prev)
    min_step = pd.Series(np.where(step > 0, step, np.iinfo(np.int64).max)).groupby(track).transform("min").to_numpy()
    even = same_prev & (step == min_step)
    consecutive = even & np.r_[even[1:], False]
    e = acceleration_error(pred[order], gt[order], valid[order], consecutive)
    out = np.empty_like(e)
    out[order] = e
    return out
