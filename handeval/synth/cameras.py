"""Calibrated pinhole camera rigs in the OpenCV convention (x right, y down, z forward)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraRig:
    """C cameras. ``X_cam = R @ X_world + t``; pixels ``u = fx X/Z + cx``, ``v = fy Y/Z + cy``."""

    K: np.ndarray  # (C, 3, 3) intrinsics, pixels
    R: np.ndarray  # (C, 3, 3) world -> camera rotation
    t: np.ndarray  # (C, 3) world -> camera translation, metres
    width: int
    height: int

    @property
    def num_cameras(self) -> int:
        return len(self.K)

    @property
    def centres(self) -> np.ndarray:
        """(C, 3) camera centres in the world frame: C = -R^T t."""
        return -np.einsum("cji,cj->ci", self.R, self.t)

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., N, 3) world points -> (..., C, N, 3) camera-frame points."""
        return np.einsum("cij,...nj->...cni", self.R, points) + self.t[:, None, :]

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., N, 3) world points -> (..., C, N, 2) pixel coordinates (pixel centres at +0.5)."""
        cam = self.world_to_camera(points)
        uvw = np.einsum("cij,...cnj->...cni", self.K, cam)
        return uvw[..., :2] / uvw[..., 2:3]

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame ray origins (C, H, W, 3) and directions whose camera z is 1 (so t = depth)."""
        v, u = np.meshgrid(np.arange(self.height) + 0.5, np.arange(self.width) + 0.5, indexing="ij")
        pix = np.stack([u, v, np.ones_like(u)], axis=-1)  # (H, W, 3)
        cam_dirs = np.einsum("cij,hwj->chwi", np.linalg.inv(self.K), pix)
        dirs = np.einsum("cji,chwj->chwi", self.R, cam_dirs)  # R^T d
        origins = np.broadcast_to(self.centres[:, None, None, :], dirs.shape)
        return origins, dirs

    def to_dict(self) -> dict:
        return {"K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
                "width": self.width, "height": self.height}


def look_at_rig(centres: np.ndarray, target: np.ndarray, up: np.ndarray, focal: float,
                width: int, height: int) -> CameraRig:
    """Cameras at ``centres`` (C, 3) looking at ``target``, with ``up`` pointing up in the image."""
    centres = np.asarray(centres, dtype=np.float64)
    z = target - centres
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    x = np.cross(z, up)  # image x is to the right when y points down
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1)
    t = -np.einsum("cij,cj->ci", R, centres)
    K = np.tile(np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]]),
                (len(centres), 1, 1))
    return CameraRig(K=K, R=R, t=t, width=width, height=height)


def ring_rig(num_cameras: int, radius: float, height_offset: float, target: np.ndarray,
             width: int, height: int, rng: np.random.Generator) -> CameraRig:
    """Cameras spread around the vertical (z) axis, each slightly jittered, all facing ``target``."""
    angles = 2 * np.pi * (np.arange(num_cameras) + 0.15 * rng.uniform(-1, 1, num_cameras)) / num_cameras
    heights = height_offset + 0.05 * rng.uniform(-1, 1, num_cameras)
    centres = np.stack([radius * np.cos(angles), radius * np.sin(angles), heights], axis=1) + target
    focal = 1.5 * width * radius / 0.6
    return look_at_rig(centres, target, np.array([0.0, 0.0, 1.0]), focal, width, height)
