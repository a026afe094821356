"""Closing MANO's wrist opening so the hand is a watertight, outward-facing surface.

MANO's 1538 faces leave one 16-edge hole at the wrist. We add one vertex, the mean of
the ring (recomputed per frame), and a 16-triangle fan, as ARCTIC and HALO do
(``data_specs/geometry.md`` §2, approach A): the result has 779 vertices and 1554 faces. The fan
follows the faces' own orientation, and the whole face list is reversed if the closed
rest mesh encloses negative volume, which is the case for the mirrored left model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def boundary_loop(faces: np.ndarray) -> np.ndarray:
    """Vertex ids of the mesh's single boundary loop, walked along the faces' half-edges."""
    faces = np.asarray(faces, dtype=np.int64)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = int(faces.max()) + 1
    key, reverse = edges[:, 0] * n + edges[:, 1], edges[:, 1] * n + edges[:, 0]
    open_edges = edges[~np.isin(reverse, key)]
    if len(open_edges) == 0:
        raise ValueError("the mesh has no boundary")
    nxt = dict(zip(open_edges[:, 0].tolist(), open_edges[:, 1].tolist()))
    if len(nxt) != len(open_edges):
        raise ValueError("the boundary is not a simple loop")
    start = int(open_edges[:, 0].min())
    loop, v = [start], nxt[start]
    while v != start:
        loop.append(v)
        v = nxt[v]
    if len(loop) != len(open_edges):
        raise ValueError(f"the mesh has several boundary loops ({len(open_edges)} open edges)")
    return np.asarray(loop, dtype=np.int64)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle mesh; positive when the faces point outward."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


@dataclass(frozen=True)
class WristSeal:
    """The closed face list of one MANO model and the ring it seals."""

    ring: np.ndarray   # (16,) wrist ring, in the order of the open mesh's half-edges
    faces: np.ndarray  # (1554, 3) closed and outward for this model; vertex 778 is the centre
    flipped: bool      # True when the model's own faces point inward (the left model)

    @property
    def num_vertices(self) -> int:
        return int(self.faces.max()) + 1

    def close(self, vertices):
        """Append the ring centre to (..., 778, 3) vertices (numpy or torch) -> (..., 779, 3)."""
        if isinstance(vertices, torch.Tensor):
            ring = torch.as_tensor(self.ring, device=vertices.device)
            centre = vertices.index_select(-2, ring).mean(dim=-2, keepdim=True)
            return torch.cat([vertices, centre], dim=-2)
        centre = vertices[..., self.ring, :].mean(axis=-2, keepdims=True)
        return np.concatenate([vertices, centre], axis=-2)


def seal_wrist(faces: np.ndarray, rest_vertices: np.ndarray) -> WristSeal:
    """Close the wrist of a MANO face list, oriented outward on the rest mesh."""
    faces = np.asarray(faces, dtype=np.int64)
    ring = boundary_loop(faces)
    centre = len(rest_vertices)
    # Each open half-edge a->b gets the fan face (b, a, centre), matching the mesh's winding.
    fan = np.stack([np.roll(ring, -1), ring, np.full_like(ring, centre)], axis=1)
    closed = np.concatenate([faces, fan])
    rest = np.concatenate([rest_vertices, rest_vertices[ring].mean(axis=0, keepdims=True)])
    flipped = signed_volume(rest, closed) < 0
    if flipped:
        closed = closed[:, ::-1].copy()
    return WristSeal(ring=ring, faces=closed, flipped=bool(flipped))
