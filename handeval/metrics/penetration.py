"""Penetration metrics of predicted two-hand meshes, with the Labels geometry core.

Per view with both hands predicted (``data_specs/metrics.md``):
* ``mmpd``: the maximum depth of right-hand vertices inside the sealed left hand, 0 without
  collision (the spatial-temporal paper's MMPD averages it over frames);
* ``ave_p``: the mean over the 1556 vertices of both hands of each vertex's depth inside
  the other hand, 0 for vertices outside (IHMR's AVE-P);
* ``max_p``: the maximum of those depths (IHMR's MAX-P);
* ``volume``: the intersection volume of the two sealed hands (m^3).
NaN where a hand is missing. One mesh pair per view: each needs its own BVH.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the geometry core needs torch and Open3D; the protocol checks read MEASURES without them
    from handeval.mano.watertight import WristSeal

MEASURES = ("mmpd", "ave_p", "max_p", "volume")


class HandPairPenetration:
    """Callable: (V, 2, 778, 3) camera-frame vertices and (V, 2) presence -> measures (V,)."""

    def __init__(self, seals: tuple[WristSeal, WristSeal], tol: float = 1e-4, tau: float = 2e-3,
                 pitch: float = 0.005, method: str = "parity"):
        self.seals, self.tol, self.tau, self.pitch, self.method = seals, tol, tau, pitch, method

    def __call__(self, vertices: np.ndarray, present: np.ndarray) -> dict[str, np.ndarray]:
        from handeval.geometry import mutual_penetration

        n = len(vertices)
        out = {m: np.full(n, np.nan) for m in MEASURES}
        both = present.all(axis=1) & np.isfinite(vertices).all(axis=(1, 2, 3))
        for v in np.flatnonzero(both):
            meshes = [(self.seals[h].close(vertices[v, h]), self.seals[h].faces) for h in range(2)]
            r_in_l, l_in_r, volume = mutual_penetration(vertices[v, 0], meshes[0], vertices[v, 1], meshes[1],
                                                        self.tol, self.tau, self.pitch, self.method)
            depth = np.concatenate([r_in_l.depth, l_in_r.depth])
            out["mmpd"][v] = r_in_l.max_depth
            out["ave_p"][v] = float(depth.mean())
            out["max_p"][v] = float(depth.max())
            out["volume"][v] = volume
        return out
