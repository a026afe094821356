"""Meshes of a converted sequence: both hands per frame (world frame) and the objects' meshes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import trimesh

from handeval.conventions import CV_FROM_GL, HAND_SIDES
from handeval.mano import ManoConvention, ManoLayer, load_mano
from handeval.shards.reader import SequenceData, ShardDataset
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError


class HandMeshes:
    """World-frame hand vertices of a sequence, from the source's meshes or its MANO parameters."""

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

    def vertices(self, seq: SequenceData) -> tuple[np.ndarray, np.ndarray]:
        """(T, 2, 778, 3) float64 world vertices (NaN where absent) and (T, 2) presence."""
        f = seq.frames
        T = len(f["frame"])
        verts = np.full((T, 2, 778, 3), np.nan)
        given = f.get("vertices")
        for h, side in enumerate(HAND_SIDES):
            rows = np.flatnonzero(f["mano_valid"][:, h]) if "mano_pose" in f else np.zeros(0, dtype=int)
            if len(rows):
                p = f["mano_pose"][rows, h].astype(np.float64)
                with torch.no_grad():
                    v = self.layers[side](p[:, :3], p[:, 3:], f["mano_shape"][rows, h],
                                          f["mano_trans"][rows, h]).vertices.double().numpy()
                verts[rows, h] = v @ CV_FROM_GL.T if self.opengl else v
            have = np.zeros(T, dtype=bool)
            if given is not None:
                have = np.isfinite(given[:, h]).all(axis=(-1, -2))
                verts[have, h] = given[have, h]  # a source's own mesh is the ground truth
            self.built_with_mano |= bool((~have[rows]).any())
        return verts, np.isfinite(verts).all(axis=(-1, -2))


class ObjectMeshes:
    """Object meshes by id, from a folder: ``{id}/textured_simple.obj`` (YCB layout, also under
    ``models/``) or ``{id}.obj`` / ``{id}.ply``."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.folder is not None and not self.folder.is_dir():
            raise HandevalError(f"--objects {self.folder} is not a folder of object meshes")

    def content_sha256(self) -> str | None:
        """One hash of every mesh file the folder offers, by its path in the folder: what labels record,
        so that the same meshes anywhere give the same manifest."""
        if self.folder is None:
            return None
        patterns = ("*/textured_simple.obj", "models/*/textured_simple.obj", "*.obj", "*.ply")
        files = sorted({f for pattern in patterns for f in self.folder.glob(pattern) if f.is_file()})
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.relative_to(self.folder).as_posix()}\0{sha256_file(f)}\n".encode())
        return h.hexdigest()

    def get(self, object_id: str) -> tuple[np.ndarray, np.ndarray]:
        if object_id not in self._cache:
            if self.folder is None:
                raise HandevalError(f"object {object_id!r} needs a mesh: pass --objects FOLDER (for example the "
                                    "YCB-Video models folder with {id}/textured_simple.obj)")
            candidates = [self.folder / object_id / "textured_simple.obj", self.folder / "models" / object_id /
                          "textured_simple.obj", self.folder / f"{object_id}.obj", self.folder / f"{object_id}.ply"]
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                raise HandevalError(f"no mesh for object {object_id!r} in {self.folder}: expected "
                                    f"{object_id}/textured_simple.obj, {object_id}.obj or {object_id}.ply")
            mesh = trimesh.load(path, force="mesh", process=True)
            if not mesh.is_watertight:
                raise HandevalError(f"{path}: the object mesh is not watertight, so inside tests are undefined; "
                                    "close it first (e.g. trimesh's fill_holes)")
            self._cache[object_id] = (np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces))
        return self._cache[object_id]

    def posed(self, object_id: str, pose12) -> tuple[np.ndarray, np.ndarray]:
        v, f = self.get(object_id)
        m = np.asarray(pose12, dtype=np.float64).reshape(3, 4)
        return v @ m[:, :3].T + m[:, 3], f
