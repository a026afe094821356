"""Hand parts (palm and the five digits): of each joint, and of each vertex from the model's skinning weights.

Each canonical joint belongs to one part: the wrist to the palm, a digit's four joints to that
digit. Each vertex goes to the joint with the largest skinning weight (as HALO does and the
InterHand2.6M author recommends), so to that joint's part (``data_specs/geometry.md`` §4.3).
"""

from __future__ import annotations

import numpy as np

from handeval.conventions import FINGER_JOINTS, FINGERS, JOINT_INDEX, MANO, NUM_JOINTS

PARTS: tuple[str, ...] = ("palm",) + FINGERS
#: Part id (an index into :data:`PARTS`) of each canonical joint, in the canonical order.
JOINT_PART = np.zeros(NUM_JOINTS, dtype=np.int64)
for _finger in FINGERS:
    JOINT_PART[list(FINGER_JOINTS[_finger])] = PARTS.index(_finger)
#: Part id of each of MANO's 16 skinning joints, in MANO's own order (the columns of its weights).
MANO_JOINT_PART = JOINT_PART[[JOINT_INDEX[name] for name in MANO.joints[:16]]]


def vertex_parts(weights: np.ndarray) -> np.ndarray:
    """(778,) part ids (indices into :data:`PARTS`) from (778, 16) skinning weights."""
    return MANO_JOINT_PART[np.argmax(np.asarray(weights), axis=1)]
