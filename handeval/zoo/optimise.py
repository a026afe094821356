"""The staged Adam engine that IHMR-OPT's refinement (:mod:`handeval.zoo.refine`) and joints-to-MANO
fitting (:mod:`handeval.zoo.fit`) share: per-sample parameters, one factor updated per stage, and a
per-sample verification at each stage's end (``data_specs/zoo_refine.md`` §4).

Every parameter is a tensor whose first axis is the sample, and every objective term is per sample, so
Adam's element-wise steps make one batched run the same as one run per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from handeval.conventions import FINGER_JOINTS, FINGERS, HAND_SIDES, ROOT

#: objective(params, fresh) -> per-sample terms {name: (N,)}; ``fresh`` asks it to recompute what it
#: caches between iterations (the refinement's inside masks), as it must wherever a snapshot is taken.
Objective = Callable[[dict[str, torch.Tensor], bool], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class Stage:
    """One factor's optimisation. ``weights``: (term, weight) pairs summed into the loss; ``filters``:
    (term, factor) pairs: a snapshot survives when each term is at most the stage's start times factor;
    ``select``: the term the lowest of which wins among the start and the survivors."""

    name: str
    variables: tuple[str, ...]
    lr: float
    weights: tuple[tuple[str, float], ...]
    filters: tuple[tuple[str, float], ...]
    select: str
    iterations: int = 300


@dataclass
class StageLog:
    """What a run of stages did, per sample: ``accepted`` (N, S), and the terms before the first stage and
    after the last (each (N,), evaluated fresh)."""

    accepted: torch.Tensor
    before: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]


def run_stages(params: dict[str, torch.Tensor], objective: Objective, stages: tuple[Stage, ...],
               save_every: int = 10, refresh_every: int = 1) -> tuple[dict[str, torch.Tensor], StageLog]:
    """Run ``stages`` in order from ``params`` (left untouched); returns the verified parameters and the log.

    Within a stage, iteration ``i`` evaluates the objective at the current variables, then steps Adam,
    for ``i < iterations``; the evaluation at ``i = iterations`` only closes the stage (the official
    code's "300 (+1)"). Snapshots are taken at ``i = 0`` (the start), every ``save_every`` iterations and
    at the end, each with its own terms, so a candidate is judged by the losses of the parameters it holds.
    """
    current = {k: v.detach().clone() for k, v in params.items()}
    n = next(iter(current.values())).shape[0]
    accepted = torch.zeros(n, len(stages), dtype=torch.bool, device=next(iter(current.values())).device)
    before = None
    for s, stage in enumerate(stages):
        variables = {k: current[k].clone().requires_grad_(True) for k in stage.variables}
        optimiser = torch.optim.Adam(list(variables.values()), lr=stage.lr)
        weights = dict(stage.weights)
        best = {k: v.detach().clone() for k, v in variables.items()}
        start = best_score = None
        for it in range(stage.iterations + 1):
            snapshot = it % save_every == 0 or it == stage.iterations
            terms = objective({**current, **variables}, snapshot or it % refresh_every == 0)
            if snapshot:
                detached = {k: v.detach() for k, v in terms.items()}
                if start is None:
                    start, best_score = detached, detached[stage.select].clone()
                    if before is None:
                        before = start
                else:
                    survive = torch.ones(n, dtype=torch.bool, device=accepted.device)
                    for term, factor in stage.filters:
                        survive &= detached[term] <= start[term] * factor
                    win = survive & (detached[stage.select] < best_score)
                    best_score = torch.where(win, detached[stage.select], best_score)
                    for k, v in variables.items():
                        best[k] = torch.where(_per_sample(win, v), v.detach(), best[k])
                    accepted[:, s] |= win
            if it < stage.iterations:
                loss = sum(w * terms[t].sum() for t, w in weights.items() if w)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
        current.update(best)
    with torch.no_grad():
        after = {k: v.detach() for k, v in objective(current, True).items()}
    if before is None:
        before = after
    return current, StageLog(accepted=accepted, before=before, after=after)


class TwoHandObjective:
    """The per-sample terms of two MANO hands against target joints (camera frame, metres, [right, left]).

    Parameters: ``orient`` (N, 2, 3), ``fingers`` (N, 2, 45), ``shape`` (N, 2, 10), ``trans_right`` and
    ``trans_left`` (N, 3), in ``ZOO_MANO``'s layer arguments; translations are separate so that a stage can
    move the left hand alone, i.e. the relative translation. Terms (each (N,), over the present hands):

    * ``joints3d``: mean squared 3D joint error; with ``wrist_relative`` both the prediction and the
      target are first shifted so that their right wrist is the origin (IHMR), else camera frame;
    * ``joints2d``: mean L1 error of the projected joints (``K``) in units of ``scale2d`` (N,) pixels;
    * ``trans``: mean squared error of the left wrist minus the right wrist (both hands present);
    * ``shape_reg``: mean squared difference of the two hands' β (both present); ``shape_prior``: mean β²;
    * ``finger``: :func:`finger_regulariser` summed over the fingers of the present hands;
    * ``collision``: ``collision(vertices, fresh)`` when given (both hands present).
    """

    def __init__(self, layers: Mapping, target: torch.Tensor, present: torch.Tensor, K: torch.Tensor | None,
                 wrist_relative: bool, collision=None):
        self.layers = layers
        self.target, self.present, self.K = target, present.to(target.dtype), K
        self.wrist_relative, self.collision = wrist_relative, collision
        self.both = self.present.prod(dim=1)
        self.count = self.present.sum(dim=1).clamp_min(1.0)
        if K is not None:
            self.target2d = project(target, K)
            self.scale2d = box_scale_2d(self.target2d, self.present)

    def _per_hand(self, values: torch.Tensor) -> torch.Tensor:
        return (values * self.present).sum(dim=1) / self.count

    def __call__(self, params: dict[str, torch.Tensor], fresh: bool) -> dict[str, torch.Tensor]:
        vertices, joints = two_hands(self.layers, params)
        pred, target = joints, self.target
        if self.wrist_relative:
            pred = pred - pred[:, :1, ROOT : ROOT + 1]
            target = target - target[:, :1, ROOT : ROOT + 1]
        terms = {"joints3d": self._per_hand(((pred - target) ** 2).mean(dim=(2, 3)))}
        if self.K is not None:
            err2d = (project(joints, self.K) - self.target2d).abs().mean(dim=(2, 3))
            terms["joints2d"] = self._per_hand(err2d) / self.scale2d
        rel = joints[:, 1, ROOT] - joints[:, 0, ROOT] - (self.target[:, 1, ROOT] - self.target[:, 0, ROOT])
        terms["trans"] = self.both * (rel**2).mean(dim=1)
        shape = params["shape"]
        terms["shape_reg"] = self.both * ((shape[:, 0] - shape[:, 1]) ** 2).mean(dim=1)
        terms["shape_prior"] = ((shape**2).mean(dim=2) * self.present).sum(dim=1)
        terms["finger"] = (finger_regulariser(joints) * self.present).sum(dim=1)
        if self.collision is not None:
            terms["collision"] = self.both * self.collision(vertices, fresh)
        return terms


def two_hands(layers: Mapping, params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 2, 778, 3) vertices and (N, 2, 21, 3) joints of the parameters (see :class:`TwoHandObjective`)."""
    outs = [layers[side](params["orient"][:, h], params["fingers"][:, h], params["shape"][:, h],
                         params[f"trans_{side}"]) for h, side in enumerate(HAND_SIDES)]
    return torch.stack([o.vertices for o in outs], 1), torch.stack([o.joints for o in outs], 1)


def finger_regulariser(joints: torch.Tensor) -> torch.Tensor:
    """(..., 21, 3) canonical joints -> (...): for each finger's bones v1, v2, v3 (base to tip, each the
    nearer-the-palm joint minus the next), ``|(v1 x v2) . v3| - min((v1 x v2) . (v2 x v3), 0)`` summed
    over the five fingers: non-zero when a finger leaves its plane or bends the wrong way (IHMR Eq. 9-10)."""
    chains = joints[..., torch.as_tensor([FINGER_JOINTS[f] for f in FINGERS], device=joints.device), :]
    bones = chains[..., :-1, :] - chains[..., 1:, :]               # (..., 5, 3, 3)
    n1 = torch.linalg.cross(bones[..., 0, :], bones[..., 1, :])
    n2 = torch.linalg.cross(bones[..., 1, :], bones[..., 2, :])
    c1 = (n1 * bones[..., 2, :]).sum(-1)
    c2 = (n1 * n2).sum(-1)
    return (c1.abs() - c2.clamp_max(0.0)).sum(-1)


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(N, ..., 3) camera-frame points and (N, 3, 3) intrinsics -> (N, ..., 2) pixels."""
    shape = points.shape
    flat = points.reshape(shape[0], -1, 3) @ K.transpose(1, 2)
    return (flat[..., :2] / flat[..., 2:].clamp_min(1e-6)).reshape(*shape[:-1], 2)


def box_scale_2d(uv: torch.Tensor, present: torch.Tensor, expand: float = 1.25) -> torch.Tensor:
    """(N,) half the longer side, grown by ``expand``, of the box of the present hands' 2D joints
    (N, 2, J, 2): the pixel size of IHMR's [-1, 1] crop coordinates when the crop is that box."""
    mask = present.bool()[:, :, None, None].expand_as(uv)
    big = torch.finfo(uv.dtype).max
    lo = torch.where(mask, uv, big).amin(dim=(1, 2))
    hi = torch.where(mask, uv, -big).amax(dim=(1, 2))
    return (0.5 * expand * (hi - lo).amax(dim=-1)).clamp_min(1.0)


def _per_sample(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.reshape(-1, *([1] * (like.ndim - 1)))
