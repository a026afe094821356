"""Open3D ray-casting scenes (no display, no GPU needed) and signed distance."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

import numpy as np

from handeval.util.errors import HandevalError


def import_open3d():
    """Import Open3D, turning its most common failure on Linux into an actionable message."""
    try:
        import open3d as o3d
    except ImportError as exc:
        if "libusb" in str(exc):
            raise HandevalError(
                "Open3D needs the system library libusb-1.0: install it with "
                "`apt-get install libusb-1.0-0` (Debian/Ubuntu), then retry"
            ) from None
        raise HandevalError(f"cannot import Open3D ({exc}); reinstall it with `pip install open3d`") from None
    return o3d


def raycasting_scene(meshes: list[tuple[np.ndarray, np.ndarray]]):
    """An Open3D RaycastingScene holding closed meshes given as (vertices, faces)."""
    o3d = import_open3d()
    scene = o3d.t.geometry.RaycastingScene()
    for vertices, faces in meshes:
        scene.add_triangles(np.ascontiguousarray(vertices, dtype=np.float32),
                            np.ascontiguousarray(faces, dtype=np.uint32))
    return scene


def lazy_scene(mesh: tuple[np.ndarray, np.ndarray]) -> Callable[[], object]:
    """A function that returns the scene of one closed mesh, built at its first call: Open3D's BVH
    build costs about 0.5 ms per 1,500 triangles on one core, and most meshes of a frame (hands
    apart, an object away from both hands) are never queried."""
    return cache(partial(raycasting_scene, [mesh]))


def scene_of(scene) -> object:
    """``scene`` itself, or the scene a :func:`lazy_scene` function builds."""
    return scene() if callable(scene) else scene


def signed_distance(scene, points: np.ndarray) -> np.ndarray:
    """Signed distance (m) of points (..., 3) to the meshes in ``scene``: negative inside."""
    o3d = import_open3d()
    pts = np.ascontiguousarray(points, dtype=np.float32)
    return scene.compute_signed_distance(o3d.core.Tensor(pts)).numpy()
