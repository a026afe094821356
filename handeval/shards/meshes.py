"""Hand meshes of converted frames: both hands per frame in the world frame, from the source's own meshes
or its MANO parameters, under the manifest's MANO convention and frame.

Labels (penetration, occlusion), scoring's ground truth, validation's MANO check and the baselines
all build their meshes here.
"""

from __future__ import annotations

import numpy as np
import torch

from handeval.conventions import CV_FROM_GL, HAND_SIDES
from handeval.mano import ManoConvention, ManoLayer, ManoOutput, load_mano
from handeval.shards.reader import ShardDataset
from handeval.util.errors import HandevalError


class HandMeshes:
    """World-frame hand vertices of frames, from the source's meshes or its MANO parameters."""

    #: The frame columns meshes are built from.
    COLUMNS = ("mano_pose", "mano_shape", "mano_trans", "mano_valid", "vertices")

    def __init__(self, ds: ShardDataset, mano_dir: str | None = None):
        conv = ds.manifest.conventions.mano
        if conv is None:
            raise HandevalError(f"{ds.root}: the manifest has no MANO convention, so hand meshes cannot be built")
        convention = ManoConvention.from_dict(conv)
        self.layers: dict[str, ManoLayer] = {side: load_mano(side, convention, mano_dir) for side in HAND_SIDES}
        self.opengl = ds.manifest.conventions.mano_frame == "opengl_camera"
        self.synthetic = any(layer.synthetic for layer in self.layers.values())
        self.built_with_mano = False  # whether any vertices returned so far came from the MANO layers

    def seal(self, h: int):
        return self.layers[HAND_SIDES[h]].seal

    def faces(self, h: int) -> np.ndarray:
        return self.layers[HAND_SIDES[h]].faces

    def fits(self, frames: dict, h: int) -> tuple[np.ndarray, ManoOutput | None]:
        """The rows of ``frames`` with a valid MANO fit of hand ``h``, and the layer's output for them
        in one batch (None where there are none); :meth:`world` puts its points in the world frame."""
        rows = np.flatnonzero(frames["mano_valid"][:, h]) if "mano_pose" in frames else np.zeros(0, dtype=int)
        if not len(rows):
            return rows, None
        pose = frames["mano_pose"][rows, h].astype(np.float64)
        with torch.no_grad():
            out = self.layers[HAND_SIDES[h]](pose[:, :3], pose[:, 3:], frames["mano_shape"][rows, h],
                                             frames["mano_trans"][rows, h])
        return rows, out

    def world(self, points: torch.Tensor) -> np.ndarray:
        """MANO output points as float64 world points (a source that fits MANO in its OpenGL camera frame,
        whose world is the OpenCV camera, is flipped)."""
        points = points.double().numpy()
        return points @ CV_FROM_GL.T if self.opengl else points

    def vertices(self, frames: dict) -> tuple[np.ndarray, np.ndarray]:
        """(T, 2, 778, 3) float64 world vertices of ``frames`` (NaN where absent) and (T, 2) presence."""
        T = len(frames["frame"])
        verts = np.full((T, 2, 778, 3), np.nan)
        given = frames.get("vertices")
        for h in range(2):
            rows, out = self.fits(frames, h)
            if out is not None:
                verts[rows, h] = self.world(out.vertices)
            have = np.zeros(T, dtype=bool)
            if given is not None:
                have = np.isfinite(given[:, h]).all(axis=(-1, -2))
                verts[have, h] = given[have, h]  # a source's own mesh is the ground truth
            self.built_with_mano |= bool((~have[rows]).any())
        return verts, np.isfinite(verts).all(axis=(-1, -2))
