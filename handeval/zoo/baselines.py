"""Reference predictions made from the ground truth, for the demo and for calibrating metrics.

* ``oracle_noise``: the ground truth plus i.i.d. Gaussian noise of ``sigma`` metres per axis
  on every joint and vertex (its MPJPE is ``sigma * 2 * sqrt(2 / pi)`` ~ 1.596 sigma);
* ``mean_pose``: every hand replaced by the split's mean root-relative hand (per side, in
  the camera frame), placed at the true wrist: what a model that ignores the image scores;
* ``smoothed_noise``: ``oracle_noise`` averaged over a centred window of frames along each
  (sequence, camera) track, the way a temporal model trades jitter for lag;
* ``swapped_hands``: ``oracle_noise`` with right and left exchanged where both hands are there
  (scored, with the hand-order warning);
* ``mano_noise``: the ground truth's MANO parameters, moved into each view's camera frame and the
  zoo's convention (:data:`~handeval.zoo.entry.ZOO_MANO`), with Gaussian noise on the pose
  (radians per axis-angle component) and the translation, meshed by MANO: the starting point of
  the refinement (``handeval zoo refine``), since its noise pushes interacting hands into each other.

All are oracles (the ground truth enters them; ``handeval zoo list`` flags them so).

All are canonical :class:`~handeval.scoring.submissions.Submission` objects: camera frame, metres,
hands ``[right, left]``, NaN for a hand the ground truth lacks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from handeval.metrics.errors import nanmean
from handeval.scoring.submissions import Submission
from handeval.shards.reader import ShardDataset
from handeval.shards.views import view_truth

BASELINES = ("oracle-noise", "mean-pose", "smoothed-noise", "swapped-hands", "mano-noise")


def ground_truth_submission(ds: ShardDataset, split: str, mano_dir: str | None = None,
                            vertices: bool = True) -> Submission:
    """The ground truth itself as a submission (every view, joints and, if asked, vertices)."""
    from handeval.shards.meshes import HandMeshes

    meshes = HandMeshes(ds, mano_dir) if vertices else None
    # A sequence at a time keeps memory bounded; MANO then runs once per sequence and hand.
    parts = [view_truth(seq.frames, seq.views, meshes=meshes) for seq in ds.iter_sequences(split)]

    def cat(name):
        return np.concatenate([getattr(p, name) for p in parts])

    # Joints the annotation lacks are not scored; a prediction still has them: use the hand's centroid.
    joints = cat("joints")
    joints = np.where(np.isfinite(joints), joints, nanmean(joints, axis=2, keepdims=True))
    return Submission(ds.root, "ground-truth", cat("sequence").astype(str), cat("frame").astype(np.int64),
                      cat("camera").astype(str), joints, cat("vertices") if vertices else None)


def oracle_noise(gt: Submission, sigma: float, seed: int = 0) -> Submission:
    rng = np.random.default_rng(seed)

    def noisy(a):
        return None if a is None else a + rng.normal(0.0, sigma, a.shape)

    return Submission(gt.path, "oracle-noise", gt.sequence, gt.frame, gt.camera, noisy(gt.joints), noisy(gt.vertices))


def mean_pose(gt: Submission) -> Submission:
    def placed(points: np.ndarray | None) -> np.ndarray | None:
        if points is None:
            return None
        rel = points - gt.joints[:, :, :1]
        mean = nanmean(rel, axis=0, keepdims=True)  # per side, over every view that has the hand
        return mean + gt.joints[:, :, :1]

    return Submission(gt.path, "mean-pose", gt.sequence, gt.frame, gt.camera, placed(gt.joints), placed(gt.vertices))


def smoothed_noise(gt: Submission, sigma: float, window: int = 5, seed: int = 0) -> Submission:
    noisy = oracle_noise(gt, sigma, seed)
    order = np.lexsort((gt.frame, gt.camera, gt.sequence))
    track = np.char.add(np.char.add(gt.sequence[order], "|"), gt.camera[order])
    starts = np.flatnonzero(np.r_[True, track[1:] != track[:-1]])
    ends = np.r_[starts[1:], len(order)]

    def smooth(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        out = a.copy()
        for lo, hi in zip(starts, ends):  # one filter call per track, vectorised along it
            rows = order[lo:hi]
            # A mean over the window's finite values: a running-sum filter would carry a NaN onwards.
            finite = np.isfinite(a[rows])
            num = uniform_filter1d(np.where(finite, a[rows], 0.0), size=window, axis=0, mode="nearest")
            den = uniform_filter1d(finite.astype(np.float64), size=window, axis=0, mode="nearest")
            out[rows] = np.where(finite, num / np.maximum(den, 1e-12), np.nan)
        return out

    return Submission(gt.path, "smoothed-noise", gt.sequence, gt.frame, gt.camera, smooth(noisy.joints),
                      smooth(noisy.vertices))


def swapped_hands(gt: Submission, sigma: float, seed: int = 0) -> Submission:
    """``oracle_noise`` with the two hands exchanged wherever both are there: the mistake the
    hand-order heuristic warns about (the submission is still scored)."""
    noisy = oracle_noise(gt, sigma, seed)
    both = hand_scores_from_truth(gt).all(axis=1)

    def swap(a):
        return None if a is None else np.where(both[:, None, None, None], a[:, ::-1], a)

    return Submission(gt.path, "swapped-hands", gt.sequence, gt.frame, gt.camera, swap(noisy.joints),
                      swap(noisy.vertices))


def hand_scores_from_truth(gt: Submission) -> np.ndarray:
    """Presence probabilities that agree with the ground truth's hands (1 present, 0 absent)."""
    return np.isfinite(gt.joints).all(axis=(-1, -2)).astype(np.float64)


def ground_truth_mano(ds: ShardDataset, split: str, mano_dir: str | None = None) -> Submission:
    """Every view's ground-truth MANO fit in the view's camera frame and :data:`ZOO_MANO`, with the
    meshes and joints that layer gives (where a frame has no valid fit of a hand: NaN parameters and
    vertices, the annotated joints as :func:`ground_truth_submission` gives them).

    A view rotates the fit about the camera: with ``X_cam = R M X + t`` (``M`` maps the fit's frame
    to the world: identity, or the OpenGL flip for HO3D), the global orientation becomes
    ``R M R_g`` and the translation ``R M (J_0 + transl) + t - J_0``, where ``J_0`` is the rest
    wrist of the hand's shape, the centre MANO rotates about (``data_specs/zoo.md``).
    """
    from scipy.spatial.transform import Rotation

    from handeval.conventions import CV_FROM_GL, HAND_SIDES
    from handeval.mano import ManoConvention, load_mano
    from handeval.shards.reader import rows_of
    from handeval.zoo.entry import ZOO_MANO

    source = ManoConvention.from_dict(ds.manifest.conventions.mano)
    flip = CV_FROM_GL if ds.manifest.conventions.mano_frame == "opengl_camera" else np.eye(3)
    theirs = {side: load_mano(side, source, mano_dir, dtype=torch.float64) for side in HAND_SIDES}
    ours = {side: load_mano(side, ZOO_MANO, mano_dir, dtype=torch.float64) for side in HAND_SIDES}
    columns = {"frames": ["sequence", "frame", "mano_pose", "mano_shape", "mano_trans", "mano_valid"],
               "views": ["sequence", "frame", "camera", "R", "t"]}
    parts = []
    for seq in ds.iter_sequences(split, columns):
        frames, views = seq.frames, seq.views
        rows = rows_of(views, frames)
        V = len(rows)
        pose, shape, trans = np.full((V, 2, 48), np.nan), np.full((V, 2, 10), np.nan), np.full((V, 2, 3), np.nan)
        rot = views["R"].astype(np.float64) @ flip
        for h, side in enumerate(HAND_SIDES):
            ok = frames["mano_valid"][rows, h]
            if not ok.any():
                continue
            p = frames["mano_pose"][rows[ok], h].astype(np.float64)
            betas = frames["mano_shape"][rows[ok], h].astype(np.float64)
            with torch.no_grad():
                absolute = theirs[side].absolute_hand_pose(p[:, 3:])
                hand = (absolute - ours[side].smplx.hand_mean).numpy()
                zero = np.zeros((len(p), 3))
                wrist = ours[side](zero, hand, betas, zero).joints[:, 0].numpy()  # canonical joint 0: the wrist
            R = rot[ok]
            orient = Rotation.from_matrix(R) * Rotation.from_rotvec(p[:, :3])
            pose[ok, h] = np.concatenate([orient.as_rotvec(), hand], axis=1)
            shape[ok, h] = betas
            trans[ok, h] = (np.einsum("vij,vj->vi", R, wrist + frames["mano_trans"][rows[ok], h])
                            + views["t"][ok].astype(np.float64) - wrist)
        parts.append((views, pose, shape, trans))
    pose, shape, trans = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
    truth = ground_truth_submission(ds, split, mano_dir, vertices=False)
    joints, vertices = _mano_meshes(ours, pose, shape, trans, truth.joints)
    return Submission(ds.root, "ground-truth-mano", truth.sequence, truth.frame, truth.camera, joints, vertices,
                      mano_pose=pose, mano_shape=shape, mano_trans=trans)


def _mano_meshes(layers: dict, pose: np.ndarray, shape: np.ndarray, trans: np.ndarray, joints: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(V, 2, 21, 3) joints and (V, 2, 778, 3) vertices of MANO parameters; where a hand has none, its
    ``joints`` are kept (an annotated hand without a MANO fit is still predicted) and its vertices NaN."""
    from handeval.conventions import HAND_SIDES

    V = len(pose)
    joints, vertices = joints.copy(), np.full((V, 2, 778, 3), np.nan)
    for h, side in enumerate(HAND_SIDES):
        ok = np.isfinite(pose[:, h]).all(axis=1)
        if ok.any():
            with torch.no_grad():
                out = layers[side](pose[ok, h, :3], pose[ok, h, 3:], shape[ok, h], trans[ok, h])
            joints[ok, h], vertices[ok, h] = out.joints.double().numpy(), out.vertices.double().numpy()
    return joints, vertices


def mano_noise(gt: Submission, pose_sigma: float, trans_sigma: float, seed: int = 0,
               mano_dir: str | None = None) -> Submission:
    """``gt`` (with MANO fields, :func:`ground_truth_mano`) with i.i.d. Gaussian noise on every pose
    component (radians) and translation axis (metres), meshed again; the shape is kept."""
    from handeval.conventions import HAND_SIDES
    from handeval.mano import load_mano
    from handeval.zoo.entry import ZOO_MANO

    rng = np.random.default_rng(seed)
    pose = gt.mano_pose + rng.normal(0.0, pose_sigma, gt.mano_pose.shape)
    trans = gt.mano_trans + rng.normal(0.0, trans_sigma, gt.mano_trans.shape)
    layers = {side: load_mano(side, ZOO_MANO, mano_dir, dtype=torch.float64) for side in HAND_SIDES}
    joints, vertices = _mano_meshes(layers, pose, gt.mano_shape, trans, gt.joints)
    return Submission(gt.path, "mano-noise", gt.sequence, gt.frame, gt.camera, joints, vertices,
                      mano_pose=pose, mano_shape=gt.mano_shape.copy(), mano_trans=trans)


def write_baselines(ds: ShardDataset, split: str, out_dir: Path, sigma: float = 0.005, mano_dir: str | None = None,
                    seed: int = 0) -> dict[str, Path]:
    """The baselines of one split as canonical Parquet submissions (with hand scores); where
    both hands appear, also ``swapped-hands``, which is scored with a warning."""
    from handeval.scoring.submissions import write_submission

    gt = ground_truth_submission(ds, split, mano_dir)
    scores = hand_scores_from_truth(gt)
    made = {"oracle-noise": oracle_noise(gt, sigma, seed), "mean-pose": mean_pose(gt),
            "smoothed-noise": smoothed_noise(gt, sigma, seed=seed)}
    if scores.all(axis=1).any():
        made["swapped-hands"] = swapped_hands(gt, sigma, seed)
    from handeval.zoo.registry import get_entry, provenance

    paths = {}
    for name, sub in made.items():
        sub.hand_scores = scores
        params = {"mean-pose": {}}.get(name, {"sigma": sigma, "seed": seed})
        sub.provenance = provenance(get_entry(name), params=params, placement="camera")
        paths[name] = write_submission(Path(out_dir) / f"{name}.parquet", sub)
    return paths
