"""The canonical shard schema, as data: every column's dtype, shape, units and meaning.

Two tables per shard. ``frames`` holds what exists once per time step (3D joints, MANO,
validity, hand type, object poses); ``views`` holds what exists per (frame, camera)
(image path, size, intrinsics, extrinsics, bbox, 2D joints, segmentation path). Both
are sorted by (sequence, frame[, camera]) and each sequence (or bounded chunk of it) is
one row group. Hands are stacked ``[right, left]``; lengths are metres; 3D is in the
sequence's *world* frame, which each view's extrinsics map to its OpenCV camera frame.
Missing values are Arrow nulls or ``*_valid`` masks, never sentinels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

SHARD_FORMAT_VERSION = "2.0"
_ARROW = {"float32": pa.float32(), "float64": pa.float64(), "int32": pa.int32(), "int64": pa.int64(),
          "bool": pa.bool_(), "string": pa.string(), "uint8": pa.uint8()}


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str                  # numpy dtype name of the elements
    shape: tuple[int | None, ...]  # per-row shape; () for scalars, (None,) for variable length
    unit: str
    description: str
    nullable: bool = False      # the whole value may be null (e.g. no MANO fit)

    @property
    def variable(self) -> bool:
        return None in self.shape

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def arrow_type(self) -> pa.DataType:
        base = _ARROW[self.dtype]
        if not self.shape:
            return base
        return pa.list_(base) if self.variable else pa.list_(base, self.size)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d


def _f(name, dtype, shape, unit, description, nullable=False) -> Feature:
    return Feature(name, dtype, tuple(shape), unit, description, nullable)


KEY_FRAMES = (
    _f("sequence", "string", (), "", "sequence id, unique within the dataset (split-qualified)"),
    _f("frame", "int64", (), "", "frame index within the sequence, strictly increasing (not necessarily contiguous)"),
)

FRAME_FEATURES: tuple[Feature, ...] = KEY_FRAMES + (
    _f("source_frame", "string", (), "", "the source's own frame key (e.g. InterHand frame_idx)"),
    _f("hand_type", "string", (), "", "right, left, interacting or none"),
    _f("hand_present", "bool", (2,), "", "hand annotated in this frame (in at least one of its views), [right, left]"),
    _f("joints", "float32", (2, 21, 3), "m", "3D joints, world frame, canonical order; NaN where not valid"),
    _f("joints_valid", "bool", (2, 21), "", "3D joint annotation valid (source's 3D validity)"),
    _f("mano_pose", "float32", (2, 48), "rad or PCA coefficient", "global orientation (3) + hand pose (45) in the "
       "dataset's MANO convention (info.json conventions.mano); NaN for a hand without a fit", nullable=True),
    _f("mano_shape", "float32", (2, 10), "", "MANO betas; NaN without a fit", nullable=True),
    _f("mano_trans", "float32", (2, 3), "m", "MANO transl in the frame given by conventions.mano_frame", nullable=True),
    _f("mano_valid", "bool", (2,), "", "a MANO fit exists for the hand"),
    _f("vertices", "float32", (2, 778, 3), "m", "ground-truth mesh vertices a source gives directly (HO3D's released "
       "evaluation_verts.json, HIC's fits), world frame; null where MANO parameters are the ground truth",
       nullable=True),
    _f("object_ids", "string", (None,), "", "ids of the objects in the frame", nullable=True),
    _f("object_poses", "float32", (None,), "m", "object-to-world 3x4 poses, 12 values per object, row-major",
       nullable=True),
)

KEY_VIEWS = KEY_FRAMES + (_f("camera", "string", (), "", "camera id within the sequence"),)

VIEW_FEATURES: tuple[Feature, ...] = KEY_VIEWS + (
    _f("image_path", "string", (), "", "image path relative to the dataset root"),
    _f("width", "int32", (), "px", "image width"),
    _f("height", "int32", (), "px", "image height"),
    _f("K", "float32", (3, 3), "px", "intrinsics (pinhole, OpenCV)"),
    _f("R", "float32", (3, 3), "", "world -> camera rotation, X_cam = R X_world + t"),
    _f("t", "float32", (3,), "m", "world -> camera translation"),
    _f("bbox", "float32", (2, 4), "px", "per-hand boxes [x_min, y_min, width, height], [right, left]; NaN if absent",
       nullable=True),
    _f("hands_bbox", "float32", (4,), "px", "one box around all annotated hands, as a source gives it (InterHand)",
       nullable=True),
    _f("joints_2d", "float32", (2, 21, 2), "px", "2D joints given by the source (not projected); NaN if absent",
       nullable=True),
    _f("joints_image_valid", "bool", (2, 21), "", "per-image joint validity given by the source: annotated and "
       "inside the image (InterHand data.json joint_valid; finite 2D joints elsewhere)", nullable=True),
    _f("hand_type_valid", "bool", (), "", "the source's per-image hand-type validity (InterHand)", nullable=True),
    _f("hand_present", "bool", (2,), "", "hand annotated in this view, [right, left]: Dex-YCB decides per label "
       "file (camera view); elsewhere the frame's hand_present"),
    _f("hand_type", "string", (), "", "the annotation's hand type for this image: InterHand2.6M data.json's "
       "per-image hand_type; elsewhere derived from the view's hand_present"),
    _f("joints_deviation", "float32", (2,), "m", "largest distance between this view's own 3D joints, moved to the "
       "world frame, and the frame's joints (Dex-YCB annotates 3D per view); NaN where the source annotates 3D "
       "once per frame or the view has no hand", nullable=True),
    _f("segmentation_path", "string", (), "", "segmentation image path relative to the dataset root",
       nullable=True),
)


def arrow_schema(features: tuple[Feature, ...]) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.arrow_type(), nullable=f.nullable) for f in features])


FRAME_SCHEMA = arrow_schema(FRAME_FEATURES)
VIEW_SCHEMA = arrow_schema(VIEW_FEATURES)
FEATURES = {"frames": FRAME_FEATURES, "views": VIEW_FEATURES}
SCHEMAS = {"frames": FRAME_SCHEMA, "views": VIEW_SCHEMA}


def features_dict() -> dict:
    """The schema as it is written into ``meta/info.json``."""
    return {table: [f.to_dict() for f in feats] for table, feats in FEATURES.items()}
