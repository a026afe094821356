"""Is a point inside a closed mesh? Two independent tests.

* :func:`inside_parity` (default, fast): Open3D ray parity, the majority of 3 random
  rays, on a *closed* mesh (close MANO's wrist first, ``data_specs/geometry.md`` §3.2), with
  points within ``tol`` of the surface counted outside: a point on the surface has no
  depth, and parity is arbitrary there (§3.1).
* :func:`inside_winding` (exact, robust): the generalized winding number
  ``w(p) = sum_f Omega_f(p) / 4 pi`` with each triangle's solid angle by Van Oosterom and
  Strackee's formula; inside where ``w > 1/2``. Where a mesh overlaps itself (fingers
  through the palm) a point has ``w = 2`` and stays inside, while parity says outside
  (§3.3). It costs O(points x faces), so it is the cross-check, not the default.
"""

from __future__ import annotations

import numpy as np
import torch

from handeval.geometry.batched import winding_numbers_batched
from handeval.geometry.scene import import_open3d, raycasting_scene


def _deeper_than(tol: float, candidates: np.ndarray, points: np.ndarray, scene, distance: np.ndarray | None):
    """Keep the candidates farther than ``tol`` from the surface (``distance`` if already known)."""
    if not candidates.any():
        return candidates
    if distance is None:
        o3d = import_open3d()
        deep = np.zeros_like(candidates)
        pts = o3d.core.Tensor(np.ascontiguousarray(points[candidates], dtype=np.float32))
        deep[candidates] = scene.compute_distance(pts).numpy() > tol
        return candidates & deep
    return candidates & (distance > tol)


def inside_parity(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, tol: float = 1e-4,
                  scene=None, distance: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: strictly inside the closed mesh by more than ``tol`` metres (parity of 3 rays).

    ``distance``: the points' unsigned distances to the surface, when the caller has them.
    """
    o3d = import_open3d()
    scene = scene if scene is not None else raycasting_scene([(vertices, faces)])
    pts = o3d.core.Tensor(np.ascontiguousarray(points, dtype=np.float32))
    occupied = scene.compute_occupancy(pts, nsamples=3).numpy() > 0
    return _deeper_than(tol, occupied, points, scene, distance)


def winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 512) -> np.ndarray:
    """(N,) generalized winding numbers of points with respect to a triangle mesh (float64)."""
    v = torch.as_tensor(np.asarray(vertices, dtype=np.float64))
    f = torch.as_tensor(np.asarray(faces, dtype=np.int64))
    p_all = torch.as_tensor(np.asarray(points, dtype=np.float64))
    out = torch.empty(len(p_all), dtype=torch.float64)
    for lo in range(0, len(p_all), chunk):
        p = p_all[lo : lo + chunk]
        out[lo : lo + chunk] = winding_numbers_batched(p, v.expand(len(p), -1, -1), f)
    return out.numpy()


def inside_winding(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, tol: float = 1e-4,
                   scene=None, distance: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: winding number above 1/2 and farther than ``tol`` metres from the surface."""
    inside = winding_numbers(points, vertices, faces) > 0.5
    scene = scene if scene is not None or not inside.any() else raycasting_scene([(vertices, faces)])
    return _deeper_than(tol, inside, points, scene, distance)
