"""Object meshes for the labels (penetration, occlusion), from the folder the user gives (``--objects``).

The hands' meshes come from the shards (:mod:`handeval.shards.meshes`); the objects' only from files
outside them, which only the label generators read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import trimesh

from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError


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
