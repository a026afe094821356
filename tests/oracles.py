"""Oracles: per-frame reference implementations of the official evaluation scripts, written from
their definitions (``data_specs/metrics.md``) the way those scripts compute: one frame at a time,
in Python loops, with per-joint lists and an ``EvalUtil``-style accumulator.

They are deliberately independent of the vectorised engine (no shared alignment or reduction
code), so the scoring and fidelity tests hold one against the other; the scoring benchmark
(``benchmarks/bench_score.py``) times the engine against ``intaghand_eval``. Inputs are plain
arrays: no protocol, no shards.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes


class JointAccumulator:
    """Per-keypoint lists of errors; mean per keypoint then over keypoints; PCK/AUC on a grid."""

    def __init__(self, num: int):
        self.data = [[] for _ in range(num)]

    @classmethod
    def of_errors(cls, errors: np.ndarray) -> "JointAccumulator":
        """The lists of (N, P) errors already measured, NaN left out."""
        acc = cls(errors.shape[1])
        acc.data = [[float(x) for x in col if np.isfinite(x)] for col in errors.T]
        return acc

    def feed(self, gt: np.ndarray, pred: np.ndarray, visible: np.ndarray | None = None) -> None:
        for j in range(len(gt)):
            if visible is None or visible[j]:
                self.data[j].append(float(np.sqrt(np.sum((gt[j] - pred[j]) ** 2))))

    def mean(self) -> float:
        return float(np.mean([np.mean(d) for d in self.data if d]))

    def auc(self, lo: float, hi: float, steps: int) -> float:
        th = np.linspace(lo, hi, steps)
        areas = []
        for d in self.data:
            if not d:
                continue
            d = np.array(d)
            pck = [float(np.mean(d <= t)) for t in th]
            areas.append(float(np.trapezoid(pck, th)) / (hi - lo))
        return float(np.mean(areas))


def similarity_align(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The FreiHAND / HO3D / Dex-YCB ``align_w_scale``: normalised, scipy's orthogonal Procrustes,
    reflection allowed."""
    t1, t2 = gt.mean(0), pred.mean(0)
    g, p = gt - t1, pred - t2
    s1, s2 = np.linalg.norm(g) + 1e-8, np.linalg.norm(p) + 1e-8
    g, p = g / s1, p / s2
    R, s = orthogonal_procrustes(g, p)
    return (p @ R.T) * s * s1 + t1


def proper_similarity_align(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Similarity Procrustes with rotations only (Umeyama's sign correction; SPIN-style PA)."""
    mg, mp = gt.mean(0), pred.mean(0)
    u, sig, vt = np.linalg.svd((gt - mg).T @ (pred - mp))
    d = np.sign(np.linalg.det(u @ vt))
    scale = (sig[0] + sig[1] + d * sig[2]) / np.sum((pred - mp) ** 2)
    return scale * (pred - mp) @ (u @ np.diag([1.0, 1.0, d]) @ vt).T + mg


def ho3d_scale_translation(gt: np.ndarray, pred: np.ndarray, a: int = 0, b: int = 4) -> np.ndarray:
    """HO3D's ``align_sc_tr`` in its joint order (MANO: wrist 0, middle MCP 4)."""
    p = pred.copy()
    s = np.sqrt(np.sum((p[b] - p[a]) ** 2))
    if s > 0:
        p = p / s
    p = p * np.sqrt(np.sum((gt[b] - gt[a]) ** 2))
    return p - p[a:a + 1] + gt[a:a + 1]


def fscore(gt: np.ndarray, pred: np.ndarray, th: float) -> float:
    d_gt = np.min(np.linalg.norm(gt[:, None] - pred[None], axis=-1), axis=1)
    d_pr = np.min(np.linalg.norm(pred[:, None] - gt[None], axis=-1), axis=1)
    a, b = float(np.mean(d_pr < th)), float(np.mean(d_gt < th))
    return 2 * a * b / (a + b) if a + b > 0 else 0.0


def ho3d_eval(gt_xyz, gt_verts, pred_xyz, pred_verts) -> dict[str, float]:
    """HO3D's ``scores.txt`` (cm, AUC over 0-5 cm) for joints in MANO order, metres."""
    acc = {k: JointAccumulator(21) for k in ("xyz", "xyz_procrustes_al", "xyz_scale_trans_al")}
    acc.update({k: JointAccumulator(778) for k in ("mesh", "mesh_al")})
    f = {k: [] for k in ("f_score_5", "f_al_score_5", "f_score_15", "f_al_score_15")}
    for i in range(len(gt_xyz)):
        g, p, gv, pv = gt_xyz[i], pred_xyz[i], gt_verts[i], pred_verts[i]
        acc["xyz"].feed(g, p)
        acc["xyz_scale_trans_al"].feed(g, ho3d_scale_translation(g, p))
        acc["xyz_procrustes_al"].feed(g, similarity_align(g, p))
        acc["mesh"].feed(gv, pv)
        pva = similarity_align(gv, pv)
        acc["mesh_al"].feed(gv, pva)
        for th in (5, 15):
            f[f"f_score_{th}"].append(fscore(gv, pv, th / 1000))
            f[f"f_al_score_{th}"].append(fscore(gv, pva, th / 1000))
    out = {}
    for k, a in acc.items():
        out[f"{k}_mean3d"] = a.mean() * 100
        out[f"{k}_auc3d"] = a.auc(0.0, 0.05, 100)
    out.update({k: float(np.mean(v)) for k, v in f.items()})
    return out


def dexycb_hpe_eval(gt_mm, pred_mm) -> dict[str, float]:
    """Dex-YCB ``hpe_eval``: absolute, root-relative, procrustes MPJPE (mm) and AUC (0-50 mm)."""
    acc = {k: JointAccumulator(21) for k in ("absolute", "root-relative", "procrustes")}
    for g, p in zip(gt_mm, pred_mm):
        acc["absolute"].feed(g, p)
        acc["root-relative"].feed(g - g[0], p - p[0])
        acc["procrustes"].feed(g, similarity_align(g, p))
    out = {}
    for k, a in acc.items():
        out[f"{k}/mpjpe"] = a.mean()
        out[f"{k}/auc"] = a.auc(0.0, 50.0, 100)
    return out


def interhand_official(gt42_mm, pred42_mm, valid42, hand_type, roots=(20, 41)) -> dict[str, float]:
    """InterNet's ``evaluate``: per-hand wrist-relative errors in 42 tip-first joints, lists per joint
    for single and interacting images, mean per joint then over joints; MRRPE over interacting
    images with both roots valid."""
    sh, ih = [[] for _ in range(42)], [[] for _ in range(42)]
    mrrpe = []
    for n in range(len(gt42_mm)):
        g, p, v = gt42_mm[n].copy(), pred42_mm[n].copy(), valid42[n].copy()
        v[:21] *= v[roots[0]]
        v[21:] *= v[roots[1]]
        if hand_type[n] == "interacting" and v[roots[0]] and v[roots[1]]:
            rel_p = p[roots[1]] - p[roots[0]]
            rel_g = g[roots[1]] - g[roots[0]]
            mrrpe.append(float(np.sqrt(np.sum((rel_p - rel_g) ** 2))))
        for h, r in enumerate(roots):
            sl = slice(21 * h, 21 * h + 21)
            p[sl] = p[sl] - p[r]
            g[sl] = g[sl] - g[r]
        for j in range(42):
            if v[j]:
                e = float(np.sqrt(np.sum((p[j] - g[j]) ** 2)))
                (sh if hand_type[n] in ("right", "left") else ih)[j].append(e)

    def per_joint_then_mean(lists):
        return float(np.mean([np.mean(x) for x in lists if x])) if any(lists) else float("nan")

    return {"MPJPE for all hand sequences": per_joint_then_mean([a + b for a, b in zip(sh, ih)]),
            "MPJPE for single hand sequences": per_joint_then_mean(sh),
            "MPJPE for interacting hand sequences": per_joint_then_mean(ih),
            "MRRPE": float(np.mean(mrrpe)) if mrrpe else float("nan")}


#: The IntagHand protocol's point quantities and the names of their (right + left) / 2 means.
INTAGHAND_METRICS = {"joints_ms": "MPJPE", "vertices_ms": "MPVPE", "joints_m": "MPJPE-M", "vertices_m": "MPVPE-M",
                     "joints_pa": "PA-MPJPE", "vertices_pa": "PA-MPVPE"}


def intaghand_variants(gv: np.ndarray, pv: np.ndarray, regressor: np.ndarray) -> list[tuple]:
    """One hand's scored points, (quantity, ground truth, aligned prediction): joints regressed from the
    meshes; rooted at the middle MCP (9), the prediction scaled by the wrist-to-middle-MCP length ratio
    (MS, IntagHand) or not (M, DIR Table 3); and Procrustes-aligned with rotations only (PA)."""
    gj, pj = regressor @ gv, regressor @ pv
    s = np.linalg.norm(gj[9] - gj[0]) / np.linalg.norm(pj[9] - pj[0])
    out = []
    for tag, scale in (("ms", s), ("m", 1.0)):
        out.append((f"joints_{tag}", gj - gj[9], (pj - pj[9]) * scale))
        out.append((f"vertices_{tag}", gv - gj[9], (pv - pj[9]) * scale))
    out.append(("joints_pa", gj, proper_similarity_align(gj, pj)))
    out.append(("vertices_pa", gv, proper_similarity_align(gv, pv)))
    return out


def intaghand_eval(gt_verts, pred_verts, regressors, per_point_lists: bool = False) -> dict[str, float]:
    """IntagHand's ``eval_interhand`` and DIR's M variants, mm: errors pooled per hand, all = (right + left) / 2.
    ``gt_verts``/``pred_verts`` (N, 2, 778, 3) metres, hands [right, left]; regressors (2, 21, 778).

    Frame by frame, numpy within a frame; ``per_point_lists``: every error appended to its point's
    list one at a time, as InterNet's ``evaluate`` computes (the means are the same, every point being
    in every sample)."""
    errors: dict = {}
    for n in range(len(gt_verts)):
        for h in (0, 1):
            for q, g, p in intaghand_variants(gt_verts[n, h], pred_verts[n, h], regressors[h]):
                if per_point_lists:
                    errors.setdefault((q, h), JointAccumulator(len(g))).feed(g, p)
                else:
                    errors.setdefault((q, h), []).append(np.linalg.norm(p - g, axis=-1))
    out = {}
    for q, name in INTAGHAND_METRICS.items():
        right, left = (float(errors[q, h].mean() if per_point_lists else np.mean(np.concatenate(errors[q, h]))) * 1000
                       for h in (0, 1))
        out[name] = (right + left) / 2
        if q.endswith("_ms"):
            out[f"{name} (right)"], out[f"{name} (left)"] = right, left
    return out


def ihmr_eval(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """IHMR's ``get_single_joints_error`` and ``get_single_pa_inter_joints_error`` (no rotation):
    ``gt``/``pred`` (N, 2, 21, 3) metres, ``valid`` (N, 2, 21); errors pooled over samples and joints, mm."""
    single, inter = [], []
    for n in range(len(gt)):
        for h in (0, 1):
            if valid[n, h, 0]:  # a hand counts when its wrist is valid
                g, p = gt[n, h] - gt[n, h, 0], pred[n, h] - pred[n, h, 0]
                single.extend(np.linalg.norm(p[j] - g[j]) for j in range(21) if valid[n, h, j])
        v = valid[n].reshape(-1)
        if v.sum() < 2:
            continue
        g, p = gt[n].reshape(-1, 3)[v], pred[n].reshape(-1, 3)[v]
        p = (p - p.mean(0)) / p.std(0) * g.std(0) + g.mean(0)
        inter.extend(np.linalg.norm(p - g, axis=1).tolist())
    return {"MPJPE": float(np.mean(single)) * 1000, "I-MPJPE": float(np.mean(inter)) * 1000}
