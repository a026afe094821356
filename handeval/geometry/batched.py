"""Geometry in torch, batched over many meshes and differentiable: each query point with its own mesh
(the refinement's two hands per sample), for the inside tests and the penetration depth that an
optimiser needs gradients of (``data_specs/zoo_refine.md``).
"""

from __future__ import annotations

import torch


def point_triangle_distance(points: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """(..., 3) points and (..., 3, 3) triangles (broadcast) -> (...) Euclidean distance to the closest
    point of each triangle: to its plane where the point projects inside it, else to its nearest edge.
    Differentiable in both arguments."""
    p = points.unbind(-1)
    a, b, c = (t.unbind(-1) for t in triangles.unbind(-2))
    ab, bc, ca = _sub(b, a), _sub(c, b), _sub(a, c)
    normal = _cross(ab, _sub(c, a))
    pa, pb, pc = _sub(p, a), _sub(p, b), _sub(p, c)
    inside = ((_dot(normal, _cross(ab, pa)) >= 0) & (_dot(normal, _cross(bc, pb)) >= 0)
              & (_dot(normal, _cross(ca, pc)) >= 0))
    plane = _dot(pa, normal).abs() / _dot(normal, normal).clamp_min(1e-30).sqrt()
    edge = torch.minimum(torch.minimum(_segment_distance(pa, ab), _segment_distance(pb, bc)),
                         _segment_distance(pc, ca))
    return torch.where(inside, plane, edge)


# Vectors as (x, y, z) tuples of tensors: products over a trailing axis of size 3 are far slower.
def _sub(x, y):
    return x[0] - y[0], x[1] - y[1], x[2] - y[2]


def _dot(x, y) -> torch.Tensor:
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]


def _cross(x, y):
    return x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]


def _segment_distance(px, e) -> torch.Tensor:
    """Distance from p to the segment x + t e, t in [0, 1], given p - x and e."""
    t = (_dot(px, e) / _dot(e, e).clamp_min(1e-30)).clamp(0.0, 1.0)
    d = tuple(px[k] - t * e[k] for k in range(3))
    # sqrt of a clamped square: the gradient of a norm at 0 is NaN.
    return _dot(d, d).clamp_min(1e-24).sqrt()


def winding_numbers_batched(points: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(M, 3) points, each with its own mesh vertices (M, V, 3), and the meshes' shared faces (F, 3) ->
    (M,) generalized winding numbers: the sum of the triangles' solid angles (Van Oosterom and Strackee)
    over 4 pi; :func:`handeval.geometry.winding_numbers` is this for one mesh."""
    r = (vertices - points[:, None, :]).unbind(-1)
    length = _dot(r, r).sqrt()
    a, b, c = (tuple(x[:, faces[:, k]] for x in r) for k in range(3))
    la, lb, lc = (length[:, faces[:, k]] for k in range(3))
    num = _dot(a, _cross(b, c))
    den = la * lb * lc + _dot(a, b) * lc + _dot(b, c) * la + _dot(c, a) * lb
    return (2.0 * torch.atan2(num, den)).sum(-1) / (4.0 * torch.pi)
