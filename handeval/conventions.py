"""Canonical hand conventions: joint order, source joint orders, units, camera frame, handedness.

Everything handeval stores uses these conventions (see ``data_specs/conventions.md``):

* 21 joints, wrist first, then thumb, index, middle, ring, pinky, each base to tip;
* metres for storage, millimetres for reporting;
* the OpenCV camera frame (x right, y down, z forward);
* two-hand arrays stacked ``[right, left]`` on the hand axis.

Source orders are declared as lists of *canonical joint names*; the index tables are
derived from the names, so a table cannot drift from the names it documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handeval.util.errors import HandevalError

FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
_FINGER_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "pinky": ("mcp", "pip", "dip", "tip"),
}

JOINT_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{joint}" for finger in FINGERS for joint in _FINGER_JOINTS[finger]
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

#: Parent of each canonical joint (-1 for the wrist): each finger base hangs off the wrist.
JOINT_PARENTS: tuple[int, ...] = (-1,) + tuple(0 if k % 4 == 0 else k for k in range(20))
#: Canonical joint indices of each finger, base to tip.
FINGER_JOINTS: dict[str, tuple[int, ...]] = {
    finger: tuple(1 + 4 * f + j for j in range(4)) for f, finger in enumerate(FINGERS)
}
ROOT = JOINT_INDEX["wrist"]
MIDDLE_MCP = JOINT_INDEX["middle_mcp"]
TIPS: tuple[int, ...] = tuple(FINGER_JOINTS[f][-1] for f in FINGERS)

# --- handedness -----------------------------------------------------------------
HAND_SIDES: tuple[str, ...] = ("right", "left")
"""Order of the hand axis in every two-hand array."""
_SIDE_ALIASES = {
    "right": "right", "r": "right", "rhand": "right", "right_hand": "right",
    "left": "left", "l": "left", "lhand": "left", "left_hand": "left",
}


def hand_side(name: str) -> str:
    """Normalise a handedness label ("R", "Right", "left_hand", ...) to ``right``/``left``."""
    key = str(name).strip().lower()
    if key not in _SIDE_ALIASES:
        raise HandevalError(
            f"unknown hand side {name!r}: expected one of 'right' or 'left' "
            "(also accepted: r, l, rhand, lhand, right_hand, left_hand)"
        )
    return _SIDE_ALIASES[key]


#: Which hands a frame's ``hand_type`` says are present, as ``(right, left)``.
HAND_TYPE_PRESENCE: dict[str, tuple[bool, bool]] = {
    "right": (True, False), "left": (False, True), "interacting": (True, True), "none": (False, False),
}


def hand_types(present: np.ndarray) -> list[str]:
    """(T, 2) presence ``[right, left]`` -> the ``hand_type`` names of :data:`HAND_TYPE_PRESENCE`."""
    names = {v: k for k, v in HAND_TYPE_PRESENCE.items()}
    return [names[(bool(r), bool(lft))] for r, lft in np.asarray(present)]


def hand_presence(hand_type) -> np.ndarray:
    """``hand_type`` names (T,) -> (T, 2) presence ``[right, left]``, vectorised (:data:`HAND_TYPE_PRESENCE`)."""
    hand_type = np.asarray(hand_type)
    return np.stack([np.isin(hand_type, [k for k, v in HAND_TYPE_PRESENCE.items() if v[h]]) for h in range(2)],
                    axis=-1)


# --- units ----------------------------------------------------------------------
MM_PER_M = 1000.0
"""Arrays are stored in metres; multiply by this to report millimetres."""


# --- camera frames --------------------------------------------------------------
CV_FROM_GL = np.diag([1.0, -1.0, -1.0])
"""OpenGL camera axes (x right, y up, z backward) to OpenCV (x right, y down, z forward).

The matrix is its own inverse. A rotation R_gl expressed in OpenGL camera axes becomes
``CV_FROM_GL @ R_gl`` in OpenCV axes; points use :func:`flip_opencv_opengl`.
"""


def flip_opencv_opengl(points: np.ndarray) -> np.ndarray:
    """Convert points (..., 3) between the OpenCV and OpenGL camera frames (either way)."""
    points = np.asarray(points)
    if points.shape[-1] != 3:
        raise HandevalError(f"expected points with a last axis of 3, got shape {points.shape}")
    return points * np.array([1, -1, -1], dtype=points.dtype)


# --- source joint orders ----------------------------------------------------------
@dataclass(frozen=True)
class JointOrder:
    """A source's per-hand joint order, as canonical names (``None`` = not a canonical joint).

    ``source_of_canonical[k]`` is the source index of canonical joint k, or -1 if the
    source lacks it; ``canonical_of_source[i]`` is the reverse (-1 if not canonical).
    """

    name: str
    joints: tuple[str | None, ...]
    description: str

    @property
    def size(self) -> int:
        return len(self.joints)

    @property
    def source_of_canonical(self) -> np.ndarray:
        table = np.full(NUM_JOINTS, -1, dtype=np.int64)
        for i, joint in enumerate(self.joints):
            if joint is not None:
                table[JOINT_INDEX[joint]] = i
        return table

    @property
    def canonical_of_source(self) -> np.ndarray:
        return np.array([-1 if j is None else JOINT_INDEX[j] for j in self.joints], dtype=np.int64)

    def to_canonical(self, joints: np.ndarray) -> np.ndarray:
        """Reorder (..., size, D) source joints to (..., 21, D); missing joints are NaN."""
        joints = _check_joint_axis(joints, self.size, self.name)
        src = self.source_of_canonical
        out = np.take(joints, np.where(src >= 0, src, 0), axis=-2).astype(np.result_type(joints, np.float32))
        out[..., src < 0, :] = np.nan
        return out

    def from_canonical(self, joints: np.ndarray) -> np.ndarray:
        """Reorder (..., 21, D) canonical joints to the source order; non-canonical slots are NaN."""
        joints = _check_joint_axis(joints, NUM_JOINTS, "canonical")
        dst = self.canonical_of_source
        out = np.take(joints, np.where(dst >= 0, dst, 0), axis=-2).astype(np.result_type(joints, np.float32))
        out[..., dst < 0, :] = np.nan
        return out


def _check_joint_axis(joints: np.ndarray, size: int, order: str) -> np.ndarray:
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != size:
        raise HandevalError(
            f"expected joints shaped (..., {size}, D) in the {order} order, got shape {joints.shape}"
        )
    return joints


def _finger_run(finger: str, joints: tuple[str, ...]) -> list[str]:
    return [f"{finger}_{j}" for j in joints]


CANONICAL = JointOrder("canonical", JOINT_NAMES, "handeval: wrist, then thumb..pinky, each base to tip")

# MANO's 16 regressed joints (wrist, index, middle, pinky, ring, thumb; proximal to
# distal) followed by the five fingertip vertices (thumb, index, middle, ring, pinky).
MANO = JointOrder(
    "mano",
    tuple(
        ["wrist"]
        + _finger_run("index", ("mcp", "pip", "dip"))
        + _finger_run("middle", ("mcp", "pip", "dip"))
        + _finger_run("pinky", ("mcp", "pip", "dip"))
        + _finger_run("ring", ("mcp", "pip", "dip"))
        + _finger_run("thumb", ("cmc", "mcp", "ip"))
        + [f"{f}_tip" for f in FINGERS]
    ),
    "MANO native: 16 regressed joints (wrist, index, middle, pinky, ring, thumb) + 5 tips",
)

# HO3D's annotation and evaluation files use the MANO order (joint_order.png; eval.py).
HO3D = JointOrder("ho3d", MANO.joints, "HO3D handJoints3D / evaluation_xyz.json: the MANO order")

# Dex-YCB joint_3d/joint_2d follow manopth's output order, which is the canonical one.
DEXYCB = JointOrder("dexycb", JOINT_NAMES, "Dex-YCB joint_3d / manopth output order")

# InterHand2.6M skeleton.txt, one hand: each finger tip first, the wrist last (index 20).
INTERHAND = JointOrder(
    "interhand",
    tuple(
        [name for f in FINGERS for name in reversed(_finger_run(f, _FINGER_JOINTS[f]))] + ["wrist"]
    ),
    "InterHand2.6M, one hand: thumb4..thumb1, index4..1, middle, ring, pinky, wrist",
)

# HIC joints_2D_GT/*.txt, one hand of the 28 rows: 14 joints, no wrist and no tips.
# Assumes `_1` is proximal (MANO-style naming, so Thumb_2 = MCP); unverified in the
# sources, see data_specs/conventions.md.
HIC_RIGHT = JointOrder(
    "hic_right",
    tuple(
        _finger_run("pinky", ("mcp", "pip", "dip"))
        + _finger_run("ring", ("mcp", "pip", "dip"))
        + _finger_run("middle", ("mcp", "pip", "dip"))
        + _finger_run("index", ("mcp", "pip", "dip"))
        + ["thumb_mcp", "thumb_ip"]
    ),
    "HIC 2D annotation, right hand (rows 0-13)",
)
# InterWild lists the left index joints in reverse (rows 23-25).
HIC_LEFT = JointOrder(
    "hic_left",
    HIC_RIGHT.joints[:9] + ("index_dip", "index_pip", "index_mcp") + HIC_RIGHT.joints[12:],
    "HIC 2D annotation, left hand (rows 14-27); index listed distal to proximal",
)
# The MANO fits' J_transformed___j21: MANO's regressed joints plus tips, as the chumpy
# MANO model of the fits produces them (the fitting code is unreleased; inferred).
HIC_FIT = JointOrder("hic_fit", MANO.joints, "HIC MANO fits J_transformed___j21: the MANO order (inferred)")

JOINT_ORDERS: dict[str, JointOrder] = {
    o.name: o for o in (CANONICAL, MANO, HO3D, DEXYCB, INTERHAND, HIC_RIGHT, HIC_LEFT, HIC_FIT)
}

INTERHAND_HAND_SIZE = 21
"""InterHand2.6M's 42-joint arrays hold the right hand in rows 0-20, the left in 21-41."""


def interhand42_to_canonical(joints: np.ndarray) -> np.ndarray:
    """(..., 42, D) InterHand2.6M joints -> (..., 2, 21, D) canonical, hands ``[right, left]``."""
    joints = _check_joint_axis(joints, 2 * INTERHAND_HAND_SIZE, "InterHand2.6M 42-joint")
    right, left = joints[..., :INTERHAND_HAND_SIZE, :], joints[..., INTERHAND_HAND_SIZE:, :]
    return np.stack([INTERHAND.to_canonical(right), INTERHAND.to_canonical(left)], axis=-3)


def canonical_to_interhand42(joints: np.ndarray) -> np.ndarray:
    """(..., 2, 21, D) canonical ``[right, left]`` -> (..., 42, D) InterHand2.6M order."""
    joints = np.asarray(joints)
    if joints.ndim < 3 or joints.shape[-3] != 2:
        raise HandevalError(f"expected two-hand joints shaped (..., 2, 21, D), got shape {joints.shape}")
    return np.concatenate(
        [INTERHAND.from_canonical(joints[..., 0, :, :]), INTERHAND.from_canonical(joints[..., 1, :, :])],
        axis=-2,
    )


def hic28_to_canonical(joints: np.ndarray) -> np.ndarray:
    """(..., 28, D) HIC 2D rows -> (..., 2, 21, D) canonical ``[right, left]``; missing joints NaN."""
    joints = _check_joint_axis(joints, 28, "HIC 28-joint")
    return np.stack(
        [HIC_RIGHT.to_canonical(joints[..., :14, :]), HIC_LEFT.to_canonical(joints[..., 14:, :])], axis=-3
    )
