"""Joints-to-MANO fitting: MANO parameters and meshes for a joints-only prediction, so that MPVPE and the
penetration metrics can score it (``data_specs/zoo_refine.md`` §5).

The same staged Adam engine as IHMR-OPT (:func:`handeval.zoo.optimise.run_stages`) with its own stages:
each hand starts at the mean pose and zero β, rotated onto the target palm by Kabsch and translated so
that its wrist is on the target's; then the rigid pose, the fingers (with IHMR's finger regulariser),
the shape, and all of them together. Every stage is verified per sample (the 3D-joint loss may not
rise), so a stage never makes a fit worse. Hands are fitted independently of each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch
from scipy.spatial.transform import Rotation

from handeval.conventions import FINGER_JOINTS, FINGERS, HAND_SIDES, ROOT
from handeval.zoo.optimise import Stage, TwoHandObjective, run_stages, two_hands
from handeval.zoo.refine import as_tensor, mano_params

#: The wrist and the five finger bases: the joints that hardly move with the finger pose.
PALM = (ROOT,) + tuple(FINGER_JOINTS[f][0] for f in FINGERS)
_FIT_FILTERS = (("joints3d", 1.001),)


def _fit_stage(name: str, variables: tuple[str, ...], lr: float, iterations: int, finger: float = 0.0,
               shape_prior: float = 0.0) -> Stage:
    weights = (("joints3d", 1e3), ("finger", finger), ("shape_prior", shape_prior))
    return Stage(name, variables, lr, weights, _FIT_FILTERS, "joints3d", iterations)


_ALL = ("orient", "trans_right", "trans_left", "fingers", "shape")
FIT_STAGES = (
    _fit_stage("rigid", ("orient", "trans_right", "trans_left"), 1e-2, 100),
    _fit_stage("fingers", ("fingers",), 2e-2, 200, finger=1e2),
    _fit_stage("shape", ("shape",), 5e-2, 100, shape_prior=1e-3),
    _fit_stage("all", _ALL, 5e-3, 200, finger=1e2, shape_prior=1e-3),
)


@dataclass(frozen=True)
class FitConfig:
    """``stages``: the engine's stages (weights: ``joints3d`` in camera frame; ``finger`` is IHMR's
    regulariser, lighter than in the refinement because the target fingers need not be planar; a weak
    ``shape_prior`` keeps β near the mean where joints do not determine it); ``save_every``: iterations
    between snapshots."""

    stages: tuple[Stage, ...] = FIT_STAGES
    save_every: int = 10

    def with_iterations(self, scale: float) -> FitConfig:
        """Every stage's iterations times ``scale`` (at least 1)."""
        return replace(self, stages=tuple(replace(s, iterations=max(1, round(s.iterations * scale)))
                                          for s in self.stages))


@dataclass
class FitResult:
    """Fitted ZOO_MANO parameters, camera frame, [right, left]; NaN where a hand is absent.
    ``residual_mm`` (N, 2): mean joint distance to the target, mm; ``accepted`` (N, stages)."""

    pose: torch.Tensor      # (N, 2, 48)
    shape: torch.Tensor     # (N, 2, 10)
    trans: torch.Tensor     # (N, 2, 3)
    joints: torch.Tensor    # (N, 2, 21, 3)
    vertices: torch.Tensor  # (N, 2, 778, 3)
    residual_mm: torch.Tensor
    accepted: torch.Tensor
    stages: tuple[str, ...] = field(default_factory=lambda: tuple(s.name for s in FIT_STAGES))

    @property
    def sample_residual_mm(self) -> torch.Tensor:
        """(N,): the mean over the present hands."""
        return self.residual_mm.nanmean(dim=1)


def initial_params(joints: torch.Tensor, present: torch.Tensor, layers: Mapping) -> dict[str, torch.Tensor]:
    """Mean pose, zero β, the global orientation that best maps the rest palm onto the target's (Kabsch,
    proper rotation; none for an absent hand) and the translation that puts the wrist on the target's."""
    n = len(joints)
    zeros = joints.new_zeros
    orient, trans = zeros(n, 2, 3), zeros(n, 2, 3)
    palm = torch.as_tensor(PALM, device=joints.device)
    for h, side in enumerate(HAND_SIDES):
        with torch.no_grad():
            rest = layers[side](zeros(1, 3), zeros(1, 45), zeros(1, 10), zeros(1, 3)).joints[0]
        src = rest[palm] - rest[ROOT]
        dst = joints[:, h, palm] - joints[:, h, ROOT : ROOT + 1]
        u, _, vt = torch.linalg.svd(dst.transpose(1, 2) @ src)
        d = torch.ones(n, 3, dtype=joints.dtype, device=joints.device)
        d[:, 2] = torch.sign(torch.linalg.det(u @ vt))
        rot = torch.where(present[:, h, None, None], u @ (d[..., None] * vt), torch.eye(3, dtype=joints.dtype,
                                                                                          device=joints.device))
        rotvec = Rotation.from_matrix(rot.double().cpu().numpy()).as_rotvec()
        orient[:, h] = as_tensor(rotvec, joints)
        # MANO rotates about the rest wrist, so the translation is the target wrist minus the rest wrist.
        trans[:, h] = joints[:, h, ROOT] - rest[ROOT]
    return mano_params(torch.cat([orient, zeros(n, 2, 45)], -1), zeros(n, 2, 10), trans)


def fit_to_joints(joints, present, K, layers: Mapping, config: FitConfig = FitConfig()) -> FitResult:
    """Fit MANO to (N, 2, 21, 3) camera-frame joints (metres, [right, left]) of the ``present`` (N, 2) hands.
    ``K`` (N, 3, 3) or None: only for the stages that weight ``joints2d``; ``layers``: {"right", "left"}
    ZOO_MANO layers, whose device is the run's."""
    ref = layers["right"].pca_components
    present = as_tensor(present, ref).bool()
    joints = torch.where(present[:, :, None, None], as_tensor(joints, ref), 0.0)
    K = None if K is None else as_tensor(K, ref)
    objective = TwoHandObjective(layers, joints, present, K, wrist_relative=False)
    out, log = run_stages(initial_params(joints, present, layers), objective, config.stages, config.save_every)
    with torch.no_grad():
        vertices, fitted = two_hands(layers, out)
    residual = (fitted - joints).norm(dim=-1).mean(dim=-1) * 1000.0
    absent = ~present
    nan = float("nan")
    return FitResult(
        pose=torch.cat([out["orient"], out["fingers"]], -1).masked_fill(absent[..., None], nan),
        shape=out["shape"].masked_fill(absent[..., None], nan),
        trans=torch.stack([out["trans_right"], out["trans_left"]], 1).masked_fill(absent[..., None], nan),
        joints=fitted.masked_fill(absent[..., None, None], nan),
        vertices=vertices.masked_fill(absent[..., None, None], nan),
        residual_mm=residual.masked_fill(absent, nan), accepted=log.accepted,
        stages=tuple(s.name for s in config.stages))
