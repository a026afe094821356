"""Interaction subsets per frame, from the 3D joints (IHMR's definitions).

* interacting: more than 30 of the 42 joints valid (InterHand2.6M's ``hand_type_valid``
  rule, which IHMR's interacting subset follows);
* closely interacting: interacting, and over the valid joints of both hands the mean
  distance from each joint to the nearest valid joint of the other hand is below 40 mm;
* single-hand: exactly one hand has valid joints.

``nearest_other_mm`` keeps the mean distance itself, so other thresholds need no rerun.
"""

from __future__ import annotations

import numpy as np

from handeval.conventions import MM_PER_M
from handeval.labels.store import LabelSet
from handeval.records.schema import Feature
from handeval.shards.reader import SequenceData

VALID_JOINTS_MIN = 30
CLOSE_MM = 40.0

SUBSETS = LabelSet("subsets", "1", "frames", (
    Feature("interacting", "bool", (), "", f"more than {VALID_JOINTS_MIN} of the 42 joints valid"),
    Feature("close", "bool", (), "", f"interacting and mean nearest-other-hand joint distance < {CLOSE_MM:g} mm"),
    Feature("single_hand", "bool", (), "", "exactly one hand has valid joints"),
    Feature("valid_joints", "int32", (), "", "number of valid joints of both hands"),
    Feature("nearest_other_mm", "float32", (), "mm", "mean over valid joints of the distance to the nearest valid "
            "joint of the other hand; NaN unless both hands have valid joints", nullable=True),
))
#: The subsets themselves, the boolean columns: what protocols select and filter by (``subset``), the
#: error table carries and breakdowns and summaries report, in this order.
SUBSET_NAMES: tuple[str, ...] = tuple(f.name for f in SUBSETS.features if f.dtype == "bool")


def subset_columns(joints: np.ndarray, valid: np.ndarray, close_mm: float = CLOSE_MM,
                   min_valid: int = VALID_JOINTS_MIN) -> dict[str, np.ndarray]:
    """Vectorised over frames: joints (T, 2, 21, 3) metres, valid (T, 2, 21)."""
    count = valid.sum(axis=(1, 2))
    per_hand = valid.any(axis=2)
    d = np.linalg.norm(joints[:, 0, :, None, :] - joints[:, 1, None, :, :], axis=-1)  # (T, 21, 21)
    pair = valid[:, 0, :, None] & valid[:, 1, None, :]
    d = np.where(pair, d, np.inf)
    right_to_left = np.where(valid[:, 0], d.min(axis=2), 0.0)   # (T, 21)
    left_to_right = np.where(valid[:, 1], d.min(axis=1), 0.0)
    both = per_hand.all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (right_to_left.sum(1) + left_to_right.sum(1)) / count * MM_PER_M
    mean = np.where(both, mean, np.nan)
    interacting = count > min_valid
    return {"interacting": interacting, "close": interacting & (mean < close_mm),
            "single_hand": per_hand.sum(axis=1) == 1, "valid_joints": count.astype(np.int32),
            "nearest_other_mm": mean.astype(np.float32)}


def compute_subsets(seq: SequenceData) -> dict:
    return subset_columns(seq.frames["joints"].astype(np.float64), seq.frames["joints_valid"])
