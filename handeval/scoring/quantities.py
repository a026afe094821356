"""Per-view quantities of a protocol (the columns of the per-view error table), and the registry of their kinds.

Each quantity of a protocol (``data_specs/protocols/README.md``) has a *kind*, and each kind is one
entry of :data:`QUANTITY_KINDS`: how it is computed, its shape per view, the checks of its fields when
a protocol loads, what it reads beyond the joints, and which way is better. Protocol validation
(``handeval.scoring.protocols``), the engine (``handeval.scoring.score``) and the documentation table
all read the registry; adding a kind is one entry here (``data_specs/extending.md``). Everything is
in metres (pixels for MIAA); NaN marks "does not count". Vectorised over views; only the penetration
measures loop, one mesh pair per view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from handeval.conventions import hand_presence
from handeval.metrics import align as A
from handeval.metrics.errors import (
    acceleration_error,
    f_score_of,
    handedness_correct,
    mrrpe,
    nanmean,
    nearest_distances,
    point_errors,
    project,
)
from handeval.metrics.penetration import MEASURES as PENETRATION_MEASURES
from handeval.util.errors import is_choice, is_integer, is_number

if TYPE_CHECKING:  # protocols imports this registry; the builders import torch
    from handeval.scoring.protocols import Protocol
    from handeval.scoring.truth import TruthBuilder
    from handeval.shards.views import ViewTruth

#: An alignment's name, before its ``:<joint>`` argument (see :func:`aligned`).
ALIGNMENTS = ("none", "root", "bone_scale", "scale_translation", "procrustes", "procrustes_proper",
              "two_hand_scale_translation", "right_root")

# Alignments whose transform (a scale and a translation per hand) comes from the joints and
# is applied to the vertices too; the others are fitted on whichever points are scored.
_FROM_JOINTS = {
    "root": lambda P, G, r: A.root_params(P, G, r),
    "bone_scale": lambda P, G, r: A.bone_scale_params(P, G, 0, 9, r),
    "scale_translation": lambda P, G, r: A.scale_translation_params(P, G),
    "right_root": lambda P, G, r: A.right_root_params(P, G, r),
}


#: The alignments that take a joint argument, ``root:9`` (none: joint 0).
_WITH_JOINT = ("root", "bone_scale", "right_root")
#: The fields a quantity of any kind may set, beside its kind's ``field_names`` (``both_hands``: see
#: :func:`_finished`).
SHARED_FIELDS = ("kind", "both_hands")


def alignment_problem(align) -> str | None:
    """What an ``align`` value should be, or None if it is one :func:`aligned` takes."""
    if isinstance(align, str):
        kind, colon, arg = align.partition(":")
        if kind in ALIGNMENTS and (not colon or kind in _WITH_JOINT and re.fullmatch(r"1?[0-9]|20", arg)):
            return None
    return (f"alignments are {', '.join(ALIGNMENTS)} ({', '.join(_WITH_JOINT)} take ':<joint>', 0 to 20, "
            "e.g. root:9)")


def _parse(align: str) -> tuple[str, int]:
    kind, _, arg = align.partition(":")
    return kind, int(arg) if arg else 0


def _clean(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def aligned(align: str, pred_j: np.ndarray, gt_j: np.ndarray, valid: np.ndarray,
            pred_pts: np.ndarray, gt_pts: np.ndarray, pts_valid: np.ndarray, whole_hands: bool = False) -> np.ndarray:
    """The scored points (joints or vertices) of the prediction under ``align``, (V, 2, N, 3).

    ``whole_hands``: each hand's points are all valid or all absent (vertices), so a fit needs no weights.
    """
    kind, arg = _parse(align)
    if kind == "none":
        return pred_pts
    if kind in _FROM_JOINTS:
        with np.errstate(invalid="ignore", divide="ignore"):
            return A.apply_scale_translation(pred_pts, _FROM_JOINTS[kind](pred_j, gt_j, arg))
    if kind == "procrustes" or kind == "procrustes_proper":
        reflect = kind == "procrustes"
        if whole_hands:
            # A hand's first point tells whether it is there, and the fit needs no weights: this
            # path carries most of the scoring time.
            ok = np.isfinite(pred_pts[..., 0, :]).all(-1) & np.isfinite(gt_pts[..., 0, :]).all(-1) & pts_valid[..., 0]
            if ok.all():
                return A.align_procrustes(pred_pts, gt_pts, allow_reflection=reflect)
            out = A.align_procrustes(np.where(ok[..., None, None], pred_pts, 0.0),
                                     np.where(ok[..., None, None], gt_pts, 0.0), allow_reflection=reflect)
            return np.where(ok[..., None, None], out, np.nan)
        mask = pts_valid & np.isfinite(pred_pts).all(-1) & np.isfinite(gt_pts).all(-1)
        out = A.align_procrustes(_clean(pred_pts), _clean(gt_pts), allow_reflection=reflect, mask=mask)
    else:  # one scale and translation for both hands
        mask = pts_valid & np.isfinite(pred_pts).all(-1) & np.isfinite(gt_pts).all(-1)
        out = A.align_two_hand_scale_translation(_clean(pred_pts), _clean(gt_pts), mask)
    return np.where(np.isfinite(pred_pts), out, np.nan)


@dataclass
class Inputs:
    """What a quantity is computed from: the views' ground truth and the predictions, row-aligned to it.

    ``prepared`` holds, per kind, what its :attr:`QuantityKind.prepare` built once for the protocol;
    ``memo`` what the quantities of one batch of views share (the penetration measures)."""

    truth: ViewTruth
    joints: np.ndarray
    vertices: np.ndarray | None = None
    hand_scores: np.ndarray | None = None
    prepared: dict = field(default_factory=dict)
    memo: dict = field(default_factory=dict)

    @cached_property
    def vertices_valid(self) -> np.ndarray:
        """(V, 2, 778): a vertex counts where its hand is present."""
        present = self.truth.present
        return np.broadcast_to(present[:, :, None], present.shape + (778,))

    def aligned_joints(self, q: dict) -> np.ndarray:
        t = self.truth
        return aligned(q.get("align", "none"), self.joints, t.joints, t.valid, self.joints, t.joints, t.valid)

    def aligned_vertices(self, q: dict) -> np.ndarray:
        """The vertices under the quantity's alignment, fitted once per alignment for all its quantities."""
        key = ("aligned_vertices", q.get("align", "none"))
        if key not in self.memo:
            t = self.truth
            self.memo[key] = aligned(key[1], self.joints, t.joints, t.valid, self.vertices, t.vertices,
                                     self.vertices_valid, whole_hands=True)
        return self.memo[key]

    def nearest_distances(self, q: dict) -> tuple[np.ndarray, np.ndarray]:
        """Both directions' nearest distances under the quantity's alignment, shared by its thresholds."""
        key = ("nearest_distances", q.get("align", "none"))
        if key not in self.memo:
            self.memo[key] = nearest_distances(self.aligned_vertices(q), self.truth.vertices)
        return self.memo[key]


def _points(q: dict, x: Inputs) -> np.ndarray | None:
    t = x.truth
    if q["points"] == "joints":
        return point_errors(x.aligned_joints(q), t.joints, t.valid).astype(np.float32)
    if x.vertices is None:
        return None  # the submission has no vertices: the metric is reported as null
    e = point_errors(x.aligned_vertices(q), t.vertices, x.vertices_valid)
    return (e if q.get("per_point") else nanmean(e, axis=-1)).astype(np.float32)


def _f_score(q: dict, x: Inputs) -> np.ndarray | None:
    if x.vertices is None:
        return None
    return f_score_of(x.nearest_distances(q), float(q["threshold"])).astype(np.float32)


def _miaa(q: dict, x: Inputs) -> np.ndarray | None:
    if x.vertices is None:
        return None
    pts = x.aligned_vertices(q)
    with np.errstate(invalid="ignore", divide="ignore"):
        K = x.truth.K[:, None].astype(pts.dtype)
        d = project(pts, K) - project(x.truth.vertices, K)
        px = np.sqrt(np.einsum("...i,...i->...", d, d))
        return nanmean(np.where(x.vertices_valid, px, np.nan), axis=-1).astype(np.float32)


def _mrrpe(q: dict, x: Inputs) -> np.ndarray:
    r = int(q.get("root", 0))
    pres, gt_j = x.truth.present, x.truth.joints
    if q.get("absent_root") == "origin":
        # InterWild's HIC evaluate: a hand without ground truth is a zero mesh, so its root is the
        # origin, and every interacting annotation counts.
        g = np.where(pres[:, :, None, None], gt_j, 0.0)
        ok = np.isfinite(x.joints[:, :, r]).all(axis=(-1, -2)) & pres.any(axis=1)
        return np.where(ok, mrrpe(x.joints, g, r), np.nan).astype(np.float32)
    ok = x.truth.valid[:, 0, r] & x.truth.valid[:, 1, r]
    return np.where(ok, mrrpe(x.joints, gt_j, r), np.nan).astype(np.float32)


def _handedness(q: dict, x: Inputs) -> np.ndarray | None:
    if x.hand_scores is None:
        return None
    t = x.truth
    return np.where(t.hand_type_valid, handedness_correct(x.hand_scores, hand_presence(t.hand_type)),
                    np.nan).astype(np.float32)


def _penetration(q: dict, x: Inputs) -> np.ndarray | None:
    measure = x.prepared.get("penetration")
    if x.vertices is None or measure is None:
        return None
    if "penetration" not in x.memo:  # one pass over the mesh pairs gives every measure
        x.memo["penetration"] = measure(x.vertices, x.truth.present)
    return x.memo["penetration"][q["measure"]].astype(np.float32)


def _penetration_measure(builder: TruthBuilder):
    from handeval.metrics.penetration import HandPairPenetration

    return HandPairPenetration((builder.meshes.seal(0), builder.meshes.seal(1)))


def _acceleration_error(q: dict, x: Inputs) -> np.ndarray:
    t = x.truth
    return _acceleration(t, x.aligned_joints(q), t.joints, t.valid).astype(np.float32)


#: A kind's check of a spec: ``(field, what is expected)`` for its first bad field, or None.
Check = Callable[[dict], tuple[str, str] | None]


def _one_of(name: str, choices: tuple, message: str, optional: bool = False) -> Check:
    return lambda q: None if (optional and name not in q) or is_choice(q.get(name), choices) else (name, message)


def _all(*checks: Check) -> Check:
    return lambda q: next((p for p in (c(q) for c in checks) if p is not None), None)


def _f_score_threshold(q: dict) -> tuple[str, str] | None:
    t = q.get("threshold")
    return None if is_number(t) and 0 < t < 1 else ("threshold", "a distance in metres, e.g. 0.005")


def _root_joint(q: dict) -> tuple[str, str] | None:
    r = q.get("root", 0)
    return None if is_integer(r) and 0 <= r <= 20 else ("root", "a joint index, 0 to 20")


@dataclass(frozen=True)
class QuantityKind:
    """One kind of per-view quantity, all that handeval knows of it.

    ``compute(q, inputs)`` gives the column for the quantity spec ``q`` (float32, ``shape(q)`` per
    view), or None where the submission lacks what it reads (its metrics are then null). ``check(q)``
    names the first bad field of a spec as ``(field, what is expected)``, or None. ``reads_vertices(q)``
    and ``reads_hand_scores`` say which optional submission fields it reads (``Protocol.needs``);
    ``whole_tracks``: it is computed over a shard's whole (sequence, camera) tracks at once, not per
    batch of views; ``prepare(builder)``: what it needs built once per protocol from the ground truth,
    handed to ``compute`` as ``inputs.prepared[name]``. ``fields``, ``per_view`` and ``meaning`` are
    its row of the documentation table (:func:`quantity_table`); ``field_names``, the fields its ``compute``
    reads: with :data:`SHARED_FIELDS` the only ones a spec of the kind may set, so that a misspelt field is
    refused rather than ignored."""

    name: str
    compute: Callable[[dict, Inputs], np.ndarray | None]
    shape: Callable[[dict], list[int]]
    higher_is_better: bool
    fields: str
    field_names: tuple[str, ...]
    per_view: str
    meaning: str
    check: Check = lambda q: None
    reads_vertices: Callable[[dict], bool] = lambda q: False
    reads_hand_scores: bool = False
    whole_tracks: bool = False
    prepare: Callable[[TruthBuilder], object] | None = None


def _always(q: dict) -> bool:
    return True


#: Every quantity kind, by name, in the order the documentation lists them.
QUANTITY_KINDS: dict[str, QuantityKind] = {k.name: k for k in (
    QuantityKind(
        "points", _points, higher_is_better=False,
        shape=lambda q: [2, 21] if q["points"] == "joints" else ([2, 778] if q.get("per_point") else [2]),
        check=_all(_one_of("points", ("joints", "vertices"), "must be 'joints' or 'vertices'"),
                   _one_of("per_point", (True, False), "true or false", optional=True)),
        reads_vertices=lambda q: q.get("points") == "vertices",
        fields="`points`: `joints` / `vertices`; `align`; `per_point`", field_names=("points", "align", "per_point"),
        per_view="(2, 21) per joint, (2,) per hand, or (2, 778)", meaning="Euclidean error after the alignment"),
    QuantityKind(
        "f_score", _f_score, higher_is_better=True, shape=lambda q: [2], check=_f_score_threshold,
        reads_vertices=_always, fields="`threshold` (m), `align`", field_names=("threshold", "align"), per_view="(2,)",
        meaning="HO3D's F-score of the vertex sets"),
    QuantityKind(
        "mrrpe", _mrrpe, higher_is_better=False, shape=lambda q: [],
        check=_all(_root_joint, _one_of("absent_root", ("origin",), "'origin' or unset", optional=True)),
        fields="`root` (a joint, default 0), `absent_root`", field_names=("root", "absent_root"), per_view="()",
        meaning="relative root position error; both roots valid. `absent_root: \"origin\"`: InterWild's rule, a "
                "hand without ground truth is a zero mesh whose root is the origin, so every view with a hand and "
                "a predicted root in both hands counts"),
    QuantityKind(
        "acceleration", _acceleration_error, higher_is_better=False, shape=lambda q: [2, 21],
        check=_one_of("points", ("joints",), "acceleration is measured on 'joints'"), whole_tracks=True,
        fields="`points`: `joints`; `align`", field_names=("points", "align"), per_view="(2, 21)",
        meaning="HMMR acceleration error along each (sequence, camera) track, m / frame²"),
    QuantityKind(
        "miaa", _miaa, higher_is_better=False, shape=lambda q: [2], reads_vertices=_always, fields="`align`",
        field_names=("align",), per_view="(2,)",
        meaning="mean 2D distance (px) of the projected predicted and ground-truth vertices"),
    QuantityKind(
        "handedness", _handedness, higher_is_better=True, shape=lambda q: [], reads_hand_scores=True, fields="",
        field_names=(), per_view="()",
        meaning="1 if both hands' presence scores (`hand_scores`) fall on the right side of 0.5"),
    QuantityKind(
        "penetration", _penetration, higher_is_better=False, shape=lambda q: [],
        check=_one_of("measure", PENETRATION_MEASURES, f"must be one of {PENETRATION_MEASURES}"),
        reads_vertices=_always, prepare=_penetration_measure,
        fields="`measure`: " + ", ".join(f"`{m}`" for m in PENETRATION_MEASURES), field_names=("measure",),
        per_view="()",
        meaning="penetration of the predicted hands into each other"),
)}


def kind_of(q: dict) -> QuantityKind:
    """The registry's entry for a quantity spec (a validated protocol's kinds are all registered)."""
    return QUANTITY_KINDS[q["kind"]]


def quantity_table() -> str:
    """The quantity kinds as data_specs/protocols/README.md tabulates them (a test keeps the two equal)."""
    rows = ["| `kind` | fields | per view | better | meaning |", "|---|---|---|---|---|"]
    rows += [f"| `{k.name}` | {k.fields} | {k.per_view} | {'higher' if k.higher_is_better else 'lower'} | "
             f"{k.meaning} |" for k in QUANTITY_KINDS.values()]
    return "\n".join(rows) + "\n"


def prepare_quantities(protocol: Protocol, builder: TruthBuilder) -> dict[str, object]:
    """What the protocol's kinds need built once from the ground truth (``QuantityKind.prepare``)."""
    kinds = {kind_of(q) for q in protocol.quantities.values()}
    return {k.name: k.prepare(builder) for k in kinds if k.prepare is not None}


def _finished(q: dict, value: np.ndarray | None, truth: ViewTruth) -> np.ndarray | None:
    if q.get("both_hands") and value is not None:  # e.g. InterWild's RRVE: both meshes needed
        value[~truth.present.all(axis=1)] = np.nan
    return value


def compute_quantities(protocol: Protocol, truth: ViewTruth, pred_joints: np.ndarray,
                       pred_vertices: np.ndarray | None, hand_scores: np.ndarray | None,
                       prepared: dict | None = None) -> dict[str, np.ndarray | None]:
    """The protocol's per-view quantities for the views of ``truth`` (predictions row-aligned); the
    ``whole_tracks`` kinds are :func:`temporal_quantities`'."""
    x = Inputs(truth, pred_joints, pred_vertices, hand_scores, prepared or {})
    return {name: _finished(q, kind_of(q).compute(q, x), truth) for name, q in protocol.quantities.items()
            if not kind_of(q).whole_tracks}


def temporal_quantities(protocol: Protocol, truth: ViewTruth, pred_joints: np.ndarray) -> dict[str, np.ndarray]:
    """The ``whole_tracks`` quantities (acceleration), over every view of a shard at once (tracks never
    cross shards)."""
    x = Inputs(truth, pred_joints)
    return {name: _finished(q, kind_of(q).compute(q, x), truth) for name, q in protocol.quantities.items()
            if kind_of(q).whole_tracks}


def _acceleration(truth: ViewTruth, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """HMMR acceleration error along each (sequence, camera) track, rows in any order.

    The prediction is already aligned (for a root alignment, onto the ground truth's root),
    so root motion cancels in the difference of accelerations.

    A row counts when its track's previous and next frames are present at the track's
    smallest frame step (the frame rate's spacing), all three valid.
    """
    from handeval.shards.views import track_steps

    order, even = track_steps(truth.sequence, truth.camera, truth.frame)
    consecutive = even & np.r_[even[1:], False]
    e = acceleration_error(pred[order], gt[order], valid[order], consecutive)
    out = np.empty_like(e)
    out[order] = e
    return out
