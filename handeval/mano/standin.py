"""A procedural, deterministic MANO-format stand-in, for tests and the demo.

No MANO file may be shipped or fetched, so handeval builds its own hand model with the
official keys, shapes and topology: 778 vertices, 1538 faces, one 16-vertex wrist
opening, MANO's 16-joint tree, 778x16 skinning weights, 10 shape and 135 pose blend
shapes, and a 45x45 PCA basis fitted to plausible synthetic poses. It is a palm with
five jointed, tube-shaped digits, so poses look like hands and collisions mean something.

The geometry is built as rings of vertices swept along the palm and each digit. A ring
splits into branches by sharing one "web" edge between two loops (the thumb off the
palm, then the four fingers off the knuckle ring), which keeps the surface a single
genus-0 disc whose only hole is the wrist. Vertex ids are then permuted so that the
wrist ring and every published fingertip id land where they do in the real topology.

The arrays are bit-identical on every machine: the construction uses only IEEE-exact
elementwise numpy operations and reductions in a fixed order, never BLAS or LAPACK
(whose kernels, picked per CPU, change the last bits), and the few sines and cosines
are snapped to a 2^-40 grid so that a libm or SIMD variant one ulp apart gives the
same number.

Files are written in the official layout (a latin-1 pickle with ``shapedirs`` as a
chumpy object and a sparse ``J_regressor``) and read back by ``model_file``, the code
that reads users' files. Every file carries ``handeval_synthetic = True``.
"""

from __future__ import annotations

import contextlib
import copyreg
import json
import pickle
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse

from handeval.mano.model_file import MANO_PARENTS, NUM_FACES, NUM_VERTS, SYNTHETIC_KEY
from handeval.mano.watertight import seal_wrist
from handeval.util.atomic import atomic_path, write_text_atomic
from handeval.util.checksums import cache_root, sha256_file

#: Bump whenever the generated arrays change: the cache folder is keyed on it, and
#: tests/mano/test_standin.py pins a fingerprint of the arrays to it.
STANDIN_VERSION = 2
_SEED = 20261121

#: The wrist opening of the real MANO topology, walked along the right hand's face order.
OFFICIAL_WRIST_RING = (78, 79, 108, 120, 119, 117, 118, 122, 38, 92, 234, 239, 279, 215, 214, 121)

# Digit -> (MANO joint ids base..distal, fingertip ids: the primary one first, then the
# variants used by other toolkits, see data_specs/geometry.md §1.3).
_DIGITS = {
    "thumb": ((13, 14, 15), (745, 744)),
    "index": ((1, 2, 3), (317, 320, 333)),
    "middle": ((4, 5, 6), (444, 445, 443)),
    "ring": ((10, 11, 12), (556, 554, 555)),
    "pinky": ((7, 8, 9), (673, 671, 672)),
}
_FINGER_ORDER = ("index", "middle", "ring", "pinky")  # radial to ulnar along the knuckles

# Palm cross-sections (right hand; metres): x, z_min, z_max, half-thickness, vertices per row.
_PALM = (
    (0.000, -0.027, 0.027, 0.0110, 8),   # wrist opening: 16 vertices
    (0.018, -0.032, 0.031, 0.0120, 10),
    (0.036, -0.040, 0.036, 0.0130, 13),  # the thumb branches off rows 0..4
    (0.056, -0.018, 0.038, 0.0130, 11),
    (0.074, -0.039, 0.040, 0.0128, 15),
    (0.088, -0.041, 0.041, 0.0122, 17),  # knuckles: four fingers of 4 row-steps each
)
_THUMB_SPLIT_RING, _THUMB_SPAN = 2, 4
_FINGER_SPAN = 4
_RINGS_PER_SEGMENT = (5, 4, 3)       # rings after each joint; the 5th, 9th sit on PIP / DIP
_CAP_SIZE = 5

# Digit shapes: segment lengths (m) base->tip, radius at the base and at the tip.
_DIGIT_SHAPE = {
    "thumb": ((0.040, 0.030, 0.026), 0.0118, 0.0092),
    "index": ((0.040, 0.024, 0.021), 0.0088, 0.0074),
    "middle": ((0.044, 0.027, 0.022), 0.0090, 0.0076),
    "ring": ((0.041, 0.025, 0.021), 0.0085, 0.0071),
    "pinky": ((0.032, 0.020, 0.019), 0.0075, 0.0063),
}
_FINGER_SPLAY = {"index": -0.07, "middle": 0.0, "ring": 0.06, "pinky": 0.12}  # radians about y
_THUMB_DIRECTION = np.array([0.55, -0.40, -0.73])
_THUMB_BEND_TARGET = np.array([0.0, -0.55, 1.0])  # the thumb flexes across the palm


@dataclass
class _Builder:
    verts: list
    faces: list
    weights: list

    def add(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        start = len(self.verts)
        self.verts.extend(points)
        self.weights.extend(weights)
        return np.arange(start, start + len(points))


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inner product over the last axis, summed in numpy's fixed order (``@`` would go to BLAS)."""
    return (a * b).sum(axis=-1)


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays without BLAS."""
    return (a[:, :, None] * b[None, :, :]).sum(axis=1)


def _snap(x) -> np.ndarray:
    """Round to a 2^-40 grid (exact arithmetic: the scale is a power of two)."""
    return np.round(np.asarray(x, dtype=np.float64) * 2.0**40) / 2.0**40


def _cos(x) -> np.ndarray:
    return _snap(np.cos(x))


def _sin(x) -> np.ndarray:
    return _snap(np.sin(x))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.sqrt(_dot(v, v))[..., None]


def _loop_params(points: np.ndarray) -> np.ndarray:
    """Normalised arc length around a closed loop, starting at its first vertex."""
    step = np.roll(points, -1, axis=0) - points
    seg = np.sqrt(_dot(step, step))
    return np.concatenate([[0.0], np.cumsum(seg)[:-1]]) / seg.sum()


def _zipper(lower: np.ndarray, t_lower: np.ndarray, upper: np.ndarray, t_upper: np.ndarray) -> list:
    """Triangulate the band between two closed loops that start at matching points.

    Loops of equal size are split quad by quad; otherwise the walk advances along
    whichever loop's next vertex comes first in normalised arc length.
    """
    if len(lower) == len(upper):
        n = len(lower)
        return [f for i in range(n) for f in ((lower[i], lower[(i + 1) % n], upper[i]),
                                               (lower[(i + 1) % n], upper[(i + 1) % n], upper[i]))]
    faces, i, j = [], 0, 0
    n_a, n_b = len(lower), len(upper)
    while i < n_a or j < n_b:
        t_a = t_lower[i + 1] if i + 1 < n_a else 1.0
        t_b = t_upper[j + 1] if j + 1 < n_b else 1.0
        if j >= n_b or (i < n_a and t_a <= t_b):
            faces.append((lower[i % n_a], lower[(i + 1) % n_a], upper[j % n_b]))
            i += 1
        else:
            faces.append((lower[i % n_a], upper[(j + 1) % n_b], upper[j % n_b]))
            j += 1
    return faces


def _palm_ring(x: float, z0: float, z1: float, half: float, n: int, arched: bool) -> np.ndarray:
    """Rows of a flattened palm section: dorsal d_0..d_{n-1} then palmar p_{n-1}..p_0."""
    z = np.linspace(z0, z1, n)
    rel = (z - 0.5 * (z0 + z1)) / (0.5 * (z1 - z0))
    thick = half * np.sqrt(1.0 - 0.75 * rel**2)
    # The knuckle line arches forward at the middle finger, as on a real hand.
    xs = x + 0.006 * _cos(rel * np.pi / 2) if arched else np.full(n, x)
    dorsal = np.stack([xs, thick, z], axis=1)
    palmar = np.stack([xs, -thick, z], axis=1)
    return np.concatenate([dorsal, palmar[::-1]])


def _row_loop(ring_ids: np.ndarray, n: int, a: int, b: int) -> np.ndarray:
    """The sub-loop d_a..d_b, p_b..p_a of a palm ring with n vertices per row."""
    dorsal = ring_ids[a : b + 1]
    palmar = ring_ids[2 * n - 1 - b : 2 * n - a]  # p_b..p_a in ring order
    return np.concatenate([dorsal, palmar])


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = _unit(a), _unit(b)
    v, c = np.cross(a, b), float(_dot(a, b))
    if _dot(v, v) < 1e-24:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + _matmul(k, k) / (1.0 + c)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _build_right_hand():
    """Vertices, faces, skinning weights and joint rings of the right stand-in hand."""
    b = _Builder([], [], [])
    rings, regress = [], {}

    def w_row(pairs) -> np.ndarray:
        row = np.zeros(16)
        for joint, value in pairs:
            row[joint] += value
        return row

    # Palm rings; the thumb region of the split ring and the knuckle ring blend into
    # the digit joints so bending does not tear the base of a digit.
    n_rings = len(_PALM)
    for r, (x, z0, z1, half, n) in enumerate(_PALM):
        pts = _palm_ring(x, z0, z1, half, n, arched=r == n_rings - 1)
        rows = np.concatenate([np.arange(n), np.arange(n)[::-1]])
        weights = []
        for k in rows:
            if r == _THUMB_SPLIT_RING and k <= _THUMB_SPAN:
                share = 0.5 if k < _THUMB_SPAN else 0.25
                weights.append(w_row([(0, 1 - share), (13, share)]))
            elif r == n_rings - 1:
                f0, f1 = min(k // _FINGER_SPAN, 3), max((k - 1) // _FINGER_SPAN, 0)
                mcps = {_DIGITS[_FINGER_ORDER[f0]][0][0], _DIGITS[_FINGER_ORDER[f1]][0][0]}
                weights.append(w_row([(0, 0.5)] + [(j, 0.5 / len(mcps)) for j in mcps]))
            elif r == n_rings - 2:
                f = min(int(k * 4 / n), 3)
                weights.append(w_row([(0, 0.85), (_DIGITS[_FINGER_ORDER[f]][0][0], 0.15)]))
            else:
                weights.append(w_row([(0, 1.0)]))
        ids = b.add(pts, np.array(weights))
        rings.append((ids, pts, n))
    regress[0] = rings[1][0]

    # Palm bands: wrist -> split ring, upper palm loop -> knuckles.
    def band(lo_ids, lo_pts, up_ids, up_pts):
        b.faces.extend(_zipper(lo_ids, _loop_params(lo_pts), up_ids, _loop_params(up_pts)))

    for r in range(_THUMB_SPLIT_RING):
        band(rings[r][0], rings[r][1], rings[r + 1][0], rings[r + 1][1])
    split_ids, split_pts, split_n = rings[_THUMB_SPLIT_RING]
    upper = _row_loop(np.arange(len(split_ids)), split_n, _THUMB_SPAN, split_n - 1)
    band(split_ids[upper], split_pts[upper], rings[_THUMB_SPLIT_RING + 1][0], rings[_THUMB_SPLIT_RING + 1][1])
    for r in range(_THUMB_SPLIT_RING + 1, n_rings - 1):
        band(rings[r][0], rings[r][1], rings[r + 1][0], rings[r + 1][1])

    # Digits: each starts from a loop of its branching ring.
    digit_regions = {}
    knuckle_ids, knuckle_pts, knuckle_n = rings[-1]
    starts = {"thumb": _row_loop(np.arange(len(split_ids)), split_n, 0, _THUMB_SPAN)}
    for f, name in enumerate(_FINGER_ORDER):
        starts[name] = _row_loop(np.arange(len(knuckle_ids)), knuckle_n, f * _FINGER_SPAN, (f + 1) * _FINGER_SPAN)
    for name, (joints, _tip_ids) in _DIGITS.items():
        src_ids, src_pts = (split_ids, split_pts) if name == "thumb" else (knuckle_ids, knuckle_pts)
        loop_ids, loop_pts = src_ids[starts[name]], src_pts[starts[name]]
        digit_regions[name] = _build_digit(b, name, joints, loop_ids, loop_pts, regress)

    verts = np.asarray(b.verts, dtype=np.float64)
    weights = np.asarray(b.weights, dtype=np.float64)
    weights /= weights.sum(axis=1, keepdims=True)
    faces = np.asarray(b.faces, dtype=np.int64)
    return verts, faces, weights, regress, digit_regions


def _build_digit(b: _Builder, name, joints, loop_ids, loop_pts, regress):
    segments, r_base, r_tip = _DIGIT_SHAPE[name]
    base = loop_pts.mean(axis=0)
    regress[joints[0]] = loop_ids
    if name == "thumb":
        start_dir = np.array([1.0, 0.0, 0.0])  # leave the split ring's plane before turning
        end_dir = _unit(_THUMB_DIRECTION)
    else:
        a = _FINGER_SPLAY[name]
        start_dir = end_dir = np.array([_cos(a), 0.0, _sin(a)])
    length = float(sum(segments))
    joint_s = np.cumsum((0.0,) + segments)  # base, second joint, third joint, tip
    # Ring stations: 5 on the first segment, 4 on the second, 3 on the third (the last
    # stops short of the tip where the rounded cap begins).
    stations = []
    for k, count in enumerate(_RINGS_PER_SEGMENT):
        s0, s1 = joint_s[k], joint_s[k + 1]
        if k == 2:
            s1 = length - 0.9 * r_tip
        stations.extend(s0 + (s1 - s0) * (np.arange(1, count + 1) / count))
    stations = np.asarray(stations)

    def frame(s):
        bend = min(s / 0.02, 1.0) if name == "thumb" else 1.0
        direction = _unit((1 - bend) * start_dir + bend * end_dir)
        rot = _rotation_between(np.array([1.0, 0.0, 0.0]), direction)
        return rot[:, 0], rot[:, 2], rot[:, 1]  # axis, width (u), dorsal (w)

    # Centre line by integrating the direction, so the thumb curves smoothly.
    fine = np.linspace(0.0, length, 400)
    dirs = np.stack([frame(s)[0] for s in fine])
    centre_line = base + np.concatenate([[np.zeros(3)],
                                         np.cumsum(0.5 * (dirs[1:] + dirs[:-1]) * np.diff(fine)[:, None], axis=0)])

    def centre(s):
        return np.array([np.interp(s, fine, centre_line[:, i]) for i in range(3)])

    theta = np.pi - (np.arange(_FINGER_SPAN + 1) + 0.5) * np.pi / (_FINGER_SPAN + 1)
    angles = np.concatenate([theta, -theta[::-1]])

    def skin(s):
        # Bone k spans [joint_s[k], joint_s[k+1]]; blend across each interior joint.
        h = 0.7 * r_base
        row = np.zeros(16)
        w1 = _smoothstep((s - joint_s[1] + h) / (2 * h))
        w2 = _smoothstep((s - joint_s[2] + h) / (2 * h))
        row[joints[0]] = 1 - w1
        row[joints[1]] = w1 - w2
        row[joints[2]] = w2
        return row

    prev_ids, prev_pts = loop_ids, loop_pts
    region = []
    for k, s in enumerate(stations):
        axis, u, w = frame(s)
        radius = r_base + (r_tip - r_base) * s / length
        pts = centre(s) + radius * (_cos(angles)[:, None] * u + 0.9 * _sin(angles)[:, None] * w)
        ids = b.add(pts, np.tile(skin(s), (len(pts), 1)))
        b.faces.extend(_zipper(prev_ids, _loop_params(prev_pts), ids, _loop_params(pts)))
        if k == _RINGS_PER_SEGMENT[0] - 1:
            regress[joints[1]] = ids
        if k == sum(_RINGS_PER_SEGMENT[:2]) - 1:
            regress[joints[2]] = ids
        if k >= len(stations) - 3:
            region.extend(ids)
        prev_ids, prev_pts = ids, pts

    # Rounded tip: a 5-vertex ring, then the apex on the axis.
    axis, u, w = frame(length)
    s_cap = length - 0.35 * r_tip
    cap_angles = angles[0] - 2 * np.pi * np.arange(_CAP_SIZE) / _CAP_SIZE
    cap_pts = centre(s_cap) + 0.72 * r_tip * (_cos(cap_angles)[:, None] * u + 0.9 * _sin(cap_angles)[:, None] * w)
    cap_ids = b.add(cap_pts, np.tile(skin(length), (_CAP_SIZE, 1)))
    b.faces.extend(_zipper(prev_ids, _loop_params(prev_pts), cap_ids, np.arange(_CAP_SIZE) / _CAP_SIZE))
    apex = b.add(centre(length)[None], skin(length)[None])[0]
    b.faces.extend((cap_ids[i], cap_ids[(i + 1) % _CAP_SIZE], apex) for i in range(_CAP_SIZE))
    # Ordered by distance from the apex, for the fingertip-id permutation.
    return [apex] + list(cap_ids) + region[::-1]


def _permutation(n, wrist_walk, digit_regions) -> np.ndarray:
    """new_id[old] so the wrist ring and the published fingertip ids match the real topology."""
    new_id = np.full(n, -1, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)

    def assign(old, new):
        new_id[old], taken[new] = new, True

    for old, new in zip(wrist_walk, OFFICIAL_WRIST_RING):
        assign(old, new)
    for name, (_joints, tip_ids) in _DIGITS.items():
        region = digit_regions[name]
        for old, new in zip(region, tip_ids):  # apex, then the cap ring nearest it
            assign(old, new)
        primary = tip_ids[0]
        near = sorted((i for i in range(n) if not taken[i]), key=lambda i: (abs(i - primary), i))
        for old, new in zip(region[len(tip_ids):], near):
            assign(old, new)
    rest_old = np.flatnonzero(new_id < 0)
    rest_new = np.flatnonzero(~taken)
    new_id[rest_old] = rest_new
    return new_id


def _vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    normals = np.zeros_like(verts)
    for k in range(3):
        np.add.at(normals, faces[:, k], fn)
    return _unit(normals)


# Row/column sign pattern of a rotation matrix under the x-mirror M = diag(-1, 1, 1).
_MIRROR_SIGNS = np.array([-1.0, 1.0, 1.0])
_MIRROR_AXIS_ANGLE = np.tile([1.0, -1.0, -1.0], 15)


def _pose_basis(rng, weights, normals) -> np.ndarray:
    """Small corrective bulges along the normal where joint j blends with its neighbours."""
    posedirs = np.zeros((NUM_VERTS, 3, 135))
    for j in range(1, 16):
        bump = 4.0 * weights[:, j] * (1.0 - weights[:, j])
        coef = rng.normal(0.0, 0.004, size=9)
        posedirs[:, :, 9 * (j - 1) : 9 * j] = bump[:, None, None] * normals[:, :, None] * coef[None, None, :]
    return posedirs


def _shape_basis(verts, weights, digit_of_vertex, rest_joints) -> np.ndarray:
    """Ten smooth, mostly-orthogonal shape directions (metres per unit beta)."""
    dirs = np.zeros((NUM_VERTS, 3, 10))
    wrist = rest_joints[0]
    rel = verts - wrist
    dirs[:, :, 0] = 0.06 * rel                                   # overall size
    palm_w = weights[:, 0]
    dirs[:, 2, 1] = 0.10 * verts[:, 2] * palm_w                   # palm width
    dirs[:, 1, 2] = 0.12 * (verts[:, 1] - wrist[1])               # thickness
    for k, name in enumerate(("thumb", "index", "middle", "ring", "pinky")):
        mask = digit_of_vertex == k
        base = rest_joints[_DIGITS[name][0][0]]
        along = _unit(rest_joints[_DIGITS[name][0][2]] - base)
        dist = np.clip(_dot(verts - base, along), 0.0, None)
        dirs[mask, :, 3 + k] = 0.10 * dist[mask, None] * along   # digit length
    finger = digit_of_vertex >= 0
    radial = verts.copy()
    for k, name in enumerate(("thumb", "index", "middle", "ring", "pinky")):
        mask = digit_of_vertex == k
        base = rest_joints[_DIGITS[name][0][0]]
        along = _unit(rest_joints[_DIGITS[name][0][2]] - base)
        off = verts[mask] - base
        radial[mask] = off - _dot(off, along)[:, None] * along
    dirs[finger, :, 8] = 0.25 * radial[finger]                    # digit girth
    dirs[:, 0, 9] = 0.05 * rel[:, 0] * palm_w                     # palm length
    return dirs


def _pca_basis(rng, rest_joints, n_poses: int = 1554):
    """PCA of synthetic hand poses (grasps with per-finger variation), MANO joint order."""
    g = rng.uniform(0.0, 1.0, size=(n_poses, 1))
    poses = np.zeros((n_poses, 15, 3))
    finger_axis = np.array([0.0, 0.0, -1.0])  # flexion of the fingers (towards -y, palmar)
    thumb_dir = _unit(_THUMB_DIRECTION)
    target = _THUMB_BEND_TARGET - _dot(_THUMB_BEND_TARGET, thumb_dir) * thumb_dir
    thumb_axis = _unit(np.cross(thumb_dir, _unit(target)))
    limits = np.array([1.3, 1.5, 1.0])
    for name, (joints, _tips) in _DIGITS.items():
        own = np.clip(g + rng.normal(0.0, 0.18, size=(n_poses, 1)), -0.1, 1.0)
        for k, j in enumerate(joints):
            angle = own[:, 0] * limits[k] * (0.6 if name == "thumb" else 1.0)
            angle = angle + rng.normal(0.0, 0.05, size=n_poses)
            axis = thumb_axis if name == "thumb" else finger_axis
            poses[:, j - 1] = angle[:, None] * axis
        if name != "thumb":  # abduction about the palm normal at the MCP
            poses[:, joints[0] - 1, 1] += rng.normal(0.0, 0.08, size=n_poses) * (1 - own[:, 0])
    flat = poses.reshape(n_poses, 45)
    mean = flat.mean(axis=0)
    centred = flat - mean
    variance, vectors = _jacobi_eigh((centred[:, :, None] * centred[:, None, :]).sum(axis=0))
    vt = vectors.T[np.argsort(-variance, kind="stable")]
    vt *= np.sign(vt[np.arange(45), np.argmax(np.abs(vt), axis=1)])[:, None]
    coeffs = (centred[:, None, :] * vt[None, :, :]).sum(axis=-1)
    return vt, mean, coeffs


def _jacobi_eigh(a: np.ndarray, sweeps: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.

    LAPACK's eigensolvers would do this faster, but their result depends on the BLAS kernel
    the CPU selects, and near-equal eigenvalues turn last-bit differences into different
    eigenvectors. Every step here is an exact elementwise operation, so the basis is the
    same on every machine. The rotation follows Golub & Van Loan, Algorithm 8.5.2.
    """
    a = a.copy()
    n = len(a)
    v = np.eye(n)
    scale = _dot(np.diag(a), np.diag(a))
    for _ in range(sweeps):
        off = (a * a).sum() - _dot(np.diag(a), np.diag(a))
        if off <= 1e-30 * scale:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if a[p, q] == 0.0:
                    continue
                tau = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                t = (1.0 if tau >= 0 else -1.0) / (abs(tau) + np.sqrt(1.0 + tau * tau))
                c = 1.0 / np.sqrt(1.0 + t * t)
                s = t * c
                ap, aq = a[:, p].copy(), a[:, q].copy()
                a[:, p], a[:, q] = c * ap - s * aq, s * ap + c * aq
                ap, aq = a[p, :].copy(), a[q, :].copy()
                a[p, :], a[q, :] = c * ap - s * aq, s * ap + c * aq
                vp, vq = v[:, p].copy(), v[:, q].copy()
                v[:, p], v[:, q] = c * vp - s * vq, s * vp + c * vq
    return np.diag(a).copy(), v


def build_standin() -> dict[str, dict[str, np.ndarray]]:
    """Arrays of the right and left stand-in model files, keyed as in the official pkl."""
    rng = np.random.default_rng(_SEED)
    verts, faces, weights, regress, regions = _build_right_hand()
    assert len(verts) == NUM_VERTS and len(faces) == NUM_FACES, (len(verts), len(faces))

    # Orient the right hand outward; the seal's ring is the wrist walked along the faces.
    seal = seal_wrist(faces, verts)
    if seal.flipped:
        faces = faces[:, ::-1].copy()
        seal = seal_wrist(faces, verts)
    walk = seal.ring
    new_id = _permutation(NUM_VERTS, walk, regions)
    order = np.argsort(new_id)
    verts, weights = verts[order], weights[order]
    faces = new_id[faces]

    j_reg = np.zeros((16, NUM_VERTS))
    for joint, ids in regress.items():
        j_reg[joint, new_id[np.asarray(ids)]] = 1.0 / len(ids)
    rest_joints = _matmul(j_reg, verts)
    digit_of_vertex = np.full(NUM_VERTS, -1)
    for k, name in enumerate(("thumb", "index", "middle", "ring", "pinky")):
        joints = _DIGITS[name][0]
        digit_of_vertex[weights[:, list(joints)].sum(axis=1) > 0.5] = k
    parents = np.asarray(MANO_PARENTS)
    normals = _vertex_normals(verts, faces)
    shapedirs = _shape_basis(verts, weights, digit_of_vertex, rest_joints)
    posedirs = _pose_basis(rng, weights, normals)
    components, mean, coeffs = _pca_basis(rng, rest_joints)
    kintree = np.stack([np.where(parents < 0, 2**32 - 1, parents), np.arange(16)]).astype(np.uint32)

    right = {
        "v_template": verts, "f": faces.astype(np.uint32), "shapedirs": shapedirs, "posedirs": posedirs,
        "J_regressor": j_reg, "weights": weights, "kintree_table": kintree,
        "hands_components": components, "hands_mean": mean, "hands_coeffs": coeffs,
        "J": rest_joints, "bs_style": "lbs", "bs_type": "lrotmin",
    }
    # The left file mirrors the right in x, as the official MANO_LEFT does, including its
    # bug: shapedirs are the right hand's, not mirrored (data_specs/geometry.md §1.4).
    m = np.array([-1.0, 1.0, 1.0])
    feature_signs = np.tile(np.outer(_MIRROR_SIGNS, _MIRROR_SIGNS).ravel(), 15)
    left = dict(right)
    left.update(
        v_template=verts * m,
        posedirs=posedirs * m[None, :, None] * feature_signs[None, None, :],
        hands_components=components * _MIRROR_AXIS_ANGLE[None, :],
        hands_mean=mean * _MIRROR_AXIS_ANGLE,
        J=rest_joints * m,
    )
    return {"right": right, "left": left}


# --- writing in the official layout -----------------------------------------------------
class _ChumpyStub:
    """Pickles like a chumpy object: class reference plus its __dict__ as state."""

    def __init__(self, **state):
        self.__dict__.update(state)

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), dict(self.__dict__)


@contextlib.contextmanager
def _chumpy_module_names():
    """Make chumpy.ch.Ch / chumpy.reordering.Select resolvable while pickling.

    pickle stores classes by module path and checks that path imports; chumpy itself
    cannot be imported on this stack, so importable stubs stand in for the write only.
    """
    classes = {"chumpy.ch": "Ch", "chumpy.reordering": "Select"}
    if any(name in sys.modules for name in ("chumpy", *classes)):
        raise RuntimeError("chumpy is imported; refusing to shadow it")
    made = {"chumpy": types.ModuleType("chumpy")}
    stubs = {}
    for module, cls_name in classes.items():
        mod = types.ModuleType(module)
        cls = type(cls_name, (_ChumpyStub,), {"__module__": module})
        setattr(mod, cls_name, cls)
        made[module], stubs[cls_name] = mod, cls
    sys.modules.update(made)
    try:
        yield stubs
    finally:
        for name in made:
            sys.modules.pop(name, None)


def write_official_pkl(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write model arrays as the official MANO pkl is laid out (chumpy shapedirs, sparse J_regressor)."""
    data = dict(arrays)
    data[SYNTHETIC_KEY] = True
    data["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    with _chumpy_module_names() as ch:
        shapedirs = arrays["shapedirs"]
        data["shapedirs"] = ch["Select"](
            a=ch["Ch"](x=shapedirs.ravel().copy()), idxs=np.arange(shapedirs.size),
            preferred_shape=shapedirs.shape,
        )
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=2)


def standin_dir() -> Path:
    """Cache folder of the stand-in files (``HANDEVAL_CACHE_DIR``, else ~/.cache/handeval)."""
    return cache_root() / f"mano-standin-v{STANDIN_VERSION}"


def ensure_standin(folder: Path | None = None) -> Path:
    """Write the stand-in's MANO_RIGHT.pkl and MANO_LEFT.pkl once; return their folder.

    A sidecar records the files' sha256 as written; a file that no longer matches it
    (truncated, edited, half-copied) is rebuilt rather than read.
    """
    folder = Path(folder) if folder is not None else standin_dir()
    paths = {side: folder / f"MANO_{side.upper()}.pkl" for side in ("right", "left")}
    sidecar = folder / _CHECKSUMS
    try:
        recorded = json.loads(sidecar.read_text())
        if all(sha256_file(p) == recorded.get(p.name) for p in paths.values()):
            return folder
    except (OSError, ValueError):
        pass  # missing or unreadable: build
    models = build_standin()
    for side, path in paths.items():
        write_official_pkl(models[side], path)
    write_text_atomic(sidecar, json.dumps({p.name: sha256_file(p) for p in paths.values()}, indent=1) + "\n")
    return folder


_CHECKSUMS = "sha256.json"
