"""Functional metrics: alignments, per-view errors (numpy, vectorised over views) and their reductions."""

from handeval.metrics.align import (
    align_bone_scale,
    align_procrustes,
    align_root,
    align_scale_translation,
    align_two_hand_scale_translation,
    root_relative,
)
from handeval.metrics.errors import acceleration_error, f_score, handedness_correct, mrrpe, point_errors
from handeval.metrics.reductions import (
    REDUCTIONS,
    Accuracy,
    Auc,
    HandsPooledThenMean,
    Pck,
    PerPointThenMean,
    Pooled,
    Reduction,
    Statistics,
)

__all__ = ["REDUCTIONS", "Accuracy", "Auc", "HandsPooledThenMean", "Pck", "PerPointThenMean", "Pooled", "Reduction",
           "Statistics", "acceleration_error", "align_bone_scale", "align_procrustes", "align_root",
           "align_scale_translation", "align_two_hand_scale_translation", "f_score", "handedness_correct", "mrrpe",
           "point_errors", "root_relative"]
