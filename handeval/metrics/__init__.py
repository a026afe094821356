"""Functional metrics: alignments and per-frame errors (numpy, vectorised over frames)."""

from handeval.metrics.align import (
    align_bone_scale,
    align_procrustes,
    align_root,
    align_scale_translation,
    align_two_hand_scale_translation,
    root_relative,
)
from handeval.metrics.errors import (
    acceleration_error,
    auc,
    f_score,
    mean_per_point,
    mpjpe_per_joint_then_mean,
    mpjpe_pooled,
    mrrpe,
    pck_curve,
    point_errors,
)

__all__ = ["acceleration_error", "align_bone_scale", "align_procrustes", "align_root", "align_scale_translation",
           "align_two_hand_scale_translation", "auc", "f_score", "mean_per_point", "mpjpe_per_joint_then_mean",
           "mpjpe_pooled", "mrrpe", "pck_curve", "point_errors", "root_relative"]
