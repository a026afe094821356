"""Penetration of one closed mesh's vertices into another: inside flags, depths, contact, volume.

Definitions (``data_specs/geometry.md`` §3):
* a vertex of A *penetrates* B when it is inside B's closed surface by more than ``tol``;
* its *depth* is its distance to B's surface (0 for vertices that do not penetrate);
* a vertex is in *contact* when its distance to B's surface is at most ``tau`` or it
  penetrates;
* the *intersection volume* of A and B (computed by the labelers only when some vertex of
  either mesh penetrates the other, as HALO does: without any penetrating vertex an
  overlap is thinner than the mesh's edges) counts the centres of a grid of pitch ``h`` whose
  origin is fixed at integer multiples of ``h`` in world coordinates, over the overlap of
  the two bounding boxes, that lie inside both meshes: ``volume = n h^3``. Never a count
  of surface voxels, which shrinks with ``h`` (``data_specs/geometry.md`` §3.5).

Scenes may be given as :func:`~handeval.geometry.scene.lazy_scene` functions: a mesh's BVH is built
only when some point needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handeval.geometry.inside import inside_parity, inside_winding
from handeval.geometry.scene import import_open3d, lazy_scene, raycasting_scene, scene_of


@dataclass
class Penetration:
    """Vertices of A against mesh B."""

    inside: np.ndarray   # (N,) bool
    depth: np.ndarray    # (N,) metres, 0 outside
    distance: np.ndarray  # (N,) unsigned distance to B's surface, metres
    contact: np.ndarray  # (N,) bool

    @property
    def max_depth(self) -> float:
        return float(self.depth.max()) if len(self.depth) else 0.0

    @property
    def mean_depth(self) -> float:
        """Mean depth over the penetrating vertices (0 if none)."""
        return float(self.depth[self.inside].mean()) if self.inside.any() else 0.0


def penetration(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, tol: float = 1e-4, tau: float = 2e-3,
                method: str = "parity", scene=None) -> Penetration:
    """Penetration of ``points`` into the closed mesh ``(vertices, faces)``.

    Only points within the mesh's bounding box grown by ``tau`` can be inside or in
    contact; the others are not queried and get ``distance = inf``. ``scene``: the mesh's scene or a
    :func:`~handeval.geometry.scene.lazy_scene` function, called only when some point is near.
    """
    o3d = import_open3d()
    n = len(points)
    inside = np.zeros(n, dtype=bool)
    dist = np.full(n, np.inf, dtype=np.float32)
    near = np.all((points >= vertices.min(axis=0) - tau) & (points <= vertices.max(axis=0) + tau), axis=1)
    if near.any():
        scene = scene_of(scene) if scene is not None else raycasting_scene([(vertices, faces)])
        q = points[near]
        d = scene.compute_distance(o3d.core.Tensor(np.ascontiguousarray(q, dtype=np.float32))).numpy()
        dist[near] = d
        test = {"parity": inside_parity, "winding": inside_winding}[method]
        inside[near] = test(q, vertices, faces, tol=tol, scene=scene, distance=d)
    depth = np.where(inside, dist, 0.0).astype(np.float32)
    return Penetration(inside=inside, depth=depth, distance=dist, contact=inside | (dist <= tau))


def intersection_volume(mesh_a: tuple[np.ndarray, np.ndarray], mesh_b: tuple[np.ndarray, np.ndarray],
                        pitch: float = 0.005, scenes=None) -> float:
    """Volume (m^3) inside both closed meshes, sampled on the world-anchored grid of ``pitch``.

    Each grid point's occupancy is its own ray's, so B is asked only about the points inside A: the count
    of the whole box, with about half its tests."""
    lo = np.maximum(mesh_a[0].min(axis=0), mesh_b[0].min(axis=0))
    hi = np.minimum(mesh_a[0].max(axis=0), mesh_b[0].max(axis=0))
    if (hi <= lo).any():
        return 0.0
    first, last = np.ceil(lo / pitch - 0.5), np.floor(hi / pitch - 0.5)  # cells whose centre is in the box
    if (last < first).any():
        return 0.0
    axes = [(np.arange(a, b + 1) + 0.5) * pitch for a, b in zip(first, last)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    o3d = import_open3d()
    scenes = scenes or (None, None)
    scenes = [sc if sc is not None else lazy_scene(m) for sc, m in zip(scenes, (mesh_a, mesh_b))]
    # One ray per grid point: the volume is a sampled estimate, and a stray parity error
    # costs one voxel, unlike a vertex flag.
    for sc in scenes:
        if not len(grid):
            return 0.0
        grid = grid[scene_of(sc).compute_occupancy(o3d.core.Tensor(grid.astype(np.float32))).numpy() > 0]
    return float(len(grid)) * pitch**3


def mutual_penetration(points_a: np.ndarray, mesh_a: tuple[np.ndarray, np.ndarray], points_b: np.ndarray,
                       mesh_b: tuple[np.ndarray, np.ndarray], tol: float = 1e-4, tau: float = 2e-3,
                       pitch: float = 0.005, method: str = "parity", scenes=None) -> tuple[Penetration, Penetration,
                                                                                          float]:
    """A's points into closed mesh B, B's into A, and the meshes' intersection volume (0 when no
    point of either penetrates the other, as HALO does). The points are the vertices scored
    (a sealed hand's closed mesh has one more, its wrist cap centre). ``scenes``: the meshes' scenes or
    :func:`~handeval.geometry.scene.lazy_scene` functions; by default each is built only if needed."""
    scenes = scenes or [lazy_scene(m) for m in (mesh_a, mesh_b)]
    a_in_b = penetration(points_a, *mesh_b, tol=tol, tau=tau, method=method, scene=scenes[1])
    b_in_a = penetration(points_b, *mesh_a, tol=tol, tau=tau, method=method, scene=scenes[0])
    hit = a_in_b.inside.any() or b_in_a.inside.any()
    return a_in_b, b_in_a, intersection_volume(mesh_a, mesh_b, pitch, scenes=scenes) if hit else 0.0
