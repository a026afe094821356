"""Vertex -> hand part map (palm and the five digits), from the model's skinning weights.

Each vertex goes to the joint with the largest skinning weight (as HALO does and the
InterHand2.6M author recommends), and each MANO joint belongs to one part: the wrist to
the palm, the three joints of a digit to that digit (``data_specs/geometry.md`` §4.3).
"""

from __future__ import annotations

import numpy as np

from handeval.conventions import FINGERS, MANO

PARTS: tuple[str, ...] = ("palm",) + FINGERS
#: Part id of each of MANO's 16 regressed joints.
JOINT_PART = np.array(
    [0 if name == "wrist" else PARTS.index(name.split("_")[0]) for name in MANO.joints[:16]], dtype=np.int64
)


def vertex_parts(weights: np.ndarray) -> np.ndarray:
    """(778,) part ids (indices into :data:`PARTS`) from (778, 16) skinning weights."""
    return JOINT_PART[np.argmax(np.asarray(weights), axis=1)]
