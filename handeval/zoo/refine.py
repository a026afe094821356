"""IHMR-OPT: collision-aware factorised refinement of two-hand MANO predictions (Rong et al., 3DV 2021),
batched over samples, on CPU or CUDA (``data_specs/zoo_refine.md``).

Four stages, each Adam on one factor: the left hand's translation (so the right-to-left translation),
both global orientations, both finger poses, both shapes. Each stage ends with the per-sample
verification of :func:`handeval.zoo.optimise.run_stages`: a snapshot is kept only if it fits the target
joints no worse and penetrates at least ~10 % less than the stage's start, so no stage makes a sample
worse on either. The collision term is computed at the vertices themselves, on watertight meshes
(:class:`~handeval.mano.watertight.WristSeal`), instead of on IHMR's 32³ voxel grid.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from handeval.conventions import HAND_SIDES
from handeval.geometry.batched import point_triangle_distance, winding_numbers_batched
from handeval.mano.watertight import WristSeal
from handeval.metrics.penetration import HandPairPenetration
from handeval.zoo.optimise import Stage, TwoHandObjective, run_stages, two_hands

#: The official strategy's criteria: joints no worse ("+0", with IHMR's 0.1 % smoothing), collision
#: ~10 % lower ("-10"); the lowest 3D-joint loss wins (penincillin/IHMR:src/strategies/opt_default.py).
IHMR_FILTERS = (("joints3d", 1.001), ("collision", 0.901))


def _ihmr_stage(name: str, variables: tuple[str, ...], lr: float, joints2d: float, trans: float, collision: float,
                finger: float) -> Stage:
    weights = (("joints2d", joints2d), ("joints3d", 1e3), ("trans", trans), ("shape_reg", 0.1),
               ("collision", collision), ("finger", finger))
    return Stage(name, variables, lr, weights, IHMR_FILTERS, "joints3d")


#: IHMR-OPT's stages with the official weights and learning rates (model_zoo.md §2.1; opt_default.py).
IHMR_STAGES = (
    _ihmr_stage("translation", ("trans_left",), 1e-4, joints2d=100.0, trans=1e3, collision=0.1, finger=0.0),
    _ihmr_stage("orientation", ("orient",), 1e-2, joints2d=10.0, trans=100.0, collision=1.0, finger=0.0),
    _ihmr_stage("fingers", ("fingers",), 1e-2, joints2d=10.0, trans=100.0, collision=1.0, finger=1e5),
    _ihmr_stage("shape", ("shape",), 1e-2, joints2d=10.0, trans=100.0, collision=1.0, finger=0.0),
)


@dataclass(frozen=True)
class RefineConfig:
    """``save_every``: iterations between snapshots (``save_mid_freq``, 10 in bash/optimize.sh);
    ``refresh_every``: iterations between recomputing the inside masks and closest triangles (always at
    snapshots, so the verification sees exact values); ``chunk``: query points per batched
    winding-number / distance block (memory ~ chunk x 1554 x 100 bytes); ``box_scale``: the other
    hand's box half-size multiplier that depths are measured in (SDF_ihmr's 1 + 0.2)."""

    stages: tuple[Stage, ...] = IHMR_STAGES
    save_every: int = 10
    refresh_every: int = 5
    chunk: int = 1024
    box_scale: float = 1.2

    def with_iterations(self, iterations: int) -> RefineConfig:
        return replace(self, stages=tuple(replace(s, iterations=iterations) for s in self.stages))


class Collision:
    """IHMR's collision term at the vertices: for each sample,
    ``(sum_{v in V_r, v inside L} d_L(v) / s_L + sum_{v in V_l, v inside R} d_R(v) / s_R) / 4``, where
    "inside" is a winding number above 1/2 against the other hand's sealed mesh (no gradient), ``d`` the
    distance to that mesh's closest triangle (gradient to both hands' vertices), ``s`` the other hand's box
    half-size times ``box_scale`` (no gradient) and 4 = hands², the normalisation of SDF_ihmr's grid loss.

    Only vertices inside the other hand's bounding box are tested. The inside pairs and their closest
    triangles are cached between ``fresh`` calls; the distance to the cached triangle is recomputed
    at every call.
    """

    def __init__(self, seals: tuple[WristSeal, WristSeal], device, chunk: int = 1024, box_scale: float = 1.2):
        self.seals, self.chunk, self.box_scale = seals, chunk, box_scale
        self.faces = torch.stack([torch.as_tensor(s.faces, dtype=torch.long) for s in seals]).to(device)
        self.pairs: tuple[torch.Tensor, ...] | None = None

    def closed(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, 2, 778, 3) -> (N, 2, 779, 3): each hand with its wrist cap centre."""
        return torch.stack([seal.close(vertices[:, h]) for h, seal in enumerate(self.seals)], dim=1)

    def _blocks(self, vertices: torch.Tensor, candidates: torch.Tensor):
        """For each querying hand, chunks of its candidate vertices (N, 2, 778) bool: (hand, sample ids,
        vertex ids, points (m, 3), the other hand's closed vertices (m, 779, 3), its faces)."""
        closed = self.closed(vertices)
        for hand in range(2):
            sample, vertex = candidates[:, hand].nonzero(as_tuple=True)
            for lo in range(0, len(sample), self.chunk):
                s, v = sample[lo : lo + self.chunk], vertex[lo : lo + self.chunk]
                yield hand, s, v, vertices[s, hand, v], closed[s, 1 - hand], self.faces[1 - hand]

    @torch.no_grad()
    def inside(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, 2, 778) bool: the vertex is inside the other hand's sealed mesh."""
        closed = self.closed(vertices)
        lo, hi = closed.amin(dim=2), closed.amax(dim=2)
        other = torch.tensor([1, 0], device=vertices.device)
        in_box = ((vertices >= lo[:, other, None]) & (vertices <= hi[:, other, None])).all(dim=-1)
        inside = torch.zeros_like(in_box)
        for hand, s, v, points, mesh, faces in self._blocks(vertices, in_box):
            inside[s, hand, v] = winding_numbers_batched(points, mesh, faces) > 0.5
        return inside

    @torch.no_grad()
    def refresh(self, vertices: torch.Tensor) -> None:
        """Recompute the inside vertices and each one's closest triangle of the other hand."""
        pairs = []
        for hand, s, v, points, mesh, faces in self._blocks(vertices, self.inside(vertices)):
            face = point_triangle_distance(points[:, None], mesh[:, faces]).argmin(dim=1)
            pairs.append((s, torch.full_like(s, hand), v, face))
        self.pairs = tuple(torch.cat(t) for t in zip(*pairs)) if pairs else (
            torch.zeros(0, dtype=torch.long, device=vertices.device),) * 4

    def __call__(self, vertices: torch.Tensor, fresh: bool = True) -> torch.Tensor:
        """(N, 2, 778, 3) vertices -> (N,) collision term (see the class)."""
        if fresh or self.pairs is None:
            self.refresh(vertices.detach())
        sample, hand, vertex, face = self.pairs
        closed = self.closed(vertices)
        other = 1 - hand
        tri = closed[sample[:, None], other[:, None], self.faces[other, face]]
        depth = point_triangle_distance(vertices[sample, hand, vertex], tri)
        with torch.no_grad():
            extent = closed.amax(dim=2) - closed.amin(dim=2)
            scale = self.box_scale * 0.5 * extent.amax(dim=-1)
        out = torch.zeros(len(vertices), dtype=vertices.dtype, device=vertices.device)
        return out.index_add(0, sample, depth / scale[sample, other]) / 4.0


@dataclass
class RefineResult:
    """Refined parameters (ZOO_MANO, camera frame, [right, left]) and what the refinement did per sample.

    ``accepted`` (N, 4): the stage replaced the sample's parameters. ``terms_before/after``: the objective's
    unweighted per-sample terms (``joints3d`` m², ``collision`` in box units). ``penetration_before/after``:
    :class:`~handeval.metrics.penetration.HandPairPenetration` (mmpd, ave_p, max_p in m, volume in m³),
    None when not asked for. ``seconds`` / ``samples_per_s``: the optimisation alone, metrics excluded.
    """

    pose: torch.Tensor      # (N, 2, 48)
    shape: torch.Tensor     # (N, 2, 10)
    trans: torch.Tensor     # (N, 2, 3)
    joints: torch.Tensor    # (N, 2, 21, 3)
    vertices: torch.Tensor  # (N, 2, 778, 3)
    accepted: torch.Tensor  # (N, 4) bool
    terms_before: dict[str, torch.Tensor]
    terms_after: dict[str, torch.Tensor]
    seconds: float
    penetration_before: dict[str, np.ndarray] | None = None
    penetration_after: dict[str, np.ndarray] | None = None
    stages: tuple[str, ...] = field(default_factory=lambda: tuple(s.name for s in IHMR_STAGES))

    @property
    def samples_per_s(self) -> float:
        return len(self.pose) / self.seconds if self.seconds > 0 else float("inf")


def mano_params(pose: torch.Tensor, shape: torch.Tensor, trans: torch.Tensor) -> dict[str, torch.Tensor]:
    """The optimiser's parameter dict from (N, 2, 48) pose, (N, 2, 10) shape and (N, 2, 3) translation."""
    return {"orient": pose[..., :3], "fingers": pose[..., 3:], "shape": shape,
            "trans_right": trans[:, 0], "trans_left": trans[:, 1]}


def as_tensor(x, like: torch.Tensor) -> torch.Tensor:
    """``x`` (array or tensor) with ``like``'s dtype and device."""
    return torch.as_tensor(x if isinstance(x, torch.Tensor) else np.asarray(x), dtype=like.dtype, device=like.device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def refine(pose, shape, trans, K, layers: Mapping, targets=None, config: RefineConfig = RefineConfig(),
           penetration: bool = True) -> RefineResult:
    """IHMR-OPT on N two-hand samples. ``pose`` (N, 2, 48) axis-angle, ``shape`` (N, 2, 10), ``trans``
    (N, 2, 3): ZOO_MANO layer arguments, camera frame, metres, [right, left]; ``K`` (N, 3, 3) for the 2D
    term (its targets are the projections of the 3D targets); ``layers``: {"right", "left"} ManoLayers
    (their device is the run's). ``targets`` (N, 2, 21, 3): the joints to fit, by default the input's own
    joints; ground truth here makes the result an oracle.

    With the input's own joints the start fits the targets exactly (3D-joint loss 0), so the
    verification can accept nothing and the output is the input (``data_specs/zoo_refine.md`` §4): the
    refinement needs targets from an independent estimate, as IHMR's joint head gives it.
    """
    right = layers["right"]
    pose, shape, trans, K = (as_tensor(x, right.pca_components) for x in (pose, shape, trans, K))
    params = mano_params(pose, shape, trans)
    collision = Collision(tuple(layers[s].seal for s in HAND_SIDES), pose.device, config.chunk, config.box_scale)
    present = torch.ones(len(pose), 2, dtype=pose.dtype, device=pose.device)
    with torch.no_grad():
        start_vertices, own = two_hands(layers, params)
    targets = own if targets is None else as_tensor(targets, pose)
    objective = TwoHandObjective(layers, targets, present, K, wrist_relative=True, collision=collision)
    _sync(pose.device)
    start = time.perf_counter()
    out, log = run_stages(params, objective, config.stages, config.save_every, config.refresh_every)
    _sync(pose.device)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        vertices, joints = two_hands(layers, out)
    result = RefineResult(
        pose=torch.cat([out["orient"], out["fingers"]], dim=-1), shape=out["shape"],
        trans=torch.stack([out["trans_right"], out["trans_left"]], dim=1), joints=joints, vertices=vertices,
        accepted=log.accepted, terms_before=log.before, terms_after=log.after, seconds=seconds,
        stages=tuple(s.name for s in config.stages))
    if penetration:
        metric = HandPairPenetration(collision.seals)
        both = np.ones((len(pose), 2), dtype=bool)
        result.penetration_before = metric(start_vertices.double().cpu().numpy(), both)
        result.penetration_after = metric(vertices.double().cpu().numpy(), both)
    return result
