"""The canonical shard schema, as data: every column's dtype, shape, units and meaning.

Two tables per shard. ``frames`` holds what exists once per time step (3D joints, MANO,
validity, hand type, object poses); ``views`` holds what exists per (frame, camera)
(image path, size, intrinsics, extrinsics, bbox, 2D joints, segmentation path). Both
are sorted by (sequence, frame[, camera]) and each sequence (or bounded chunk of it) is
one row group. Hands are stacked ``[right, left]``; lengths are metres; 3D is in the
sequence's *world* frame, which each view's extrinsics map to its OpenCV camera frame.
Missing values are Arrow nulls or ``*_valid`` masks, never sentinels.

A :class:`Feature` also carries the one Arrow encoding of its values (:meth:`Feature.encode`,
:meth:`Feature.decode`), which every table handeval writes or reads uses: shards, labels,
submissions and the per-view error tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from handeval.util.errors import HandevalError

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

    def encode(self, values, rows: int) -> pa.Array:
        """``rows`` values, ``(rows, *shape)``, as an Arrow array of :meth:`arrow_type`. A nullable
        float feature is null on rows that are all NaN (nothing was annotated); a nullable feature
        is null on rows masked in a ``numpy.ma`` array."""
        typ = self.arrow_type()
        nulls = self._null_rows(values, rows)
        mask = pa.array(nulls) if nulls is not None and nulls.any() else None
        if self.variable or (not self.shape and self.dtype == "string"):
            return pa.array(values if not isinstance(values, np.ndarray) else values.tolist(), type=typ)
        arr = np.ma.filled(values, False) if isinstance(values, np.ma.MaskedArray) else values
        arr = np.asarray(arr, dtype=self.dtype).reshape(rows, self.size)
        if not self.shape:
            return pa.array(arr.ravel(), type=typ, mask=None if mask is None else np.asarray(nulls))
        return pa.FixedSizeListArray.from_arrays(pa.array(arr.ravel()), self.size, mask=mask)

    def _null_rows(self, values, rows: int) -> np.ndarray | None:
        if not self.nullable:
            return None
        if isinstance(values, np.ma.MaskedArray):
            return np.ma.getmaskarray(values).reshape(rows, -1).all(axis=1)
        if self.dtype.startswith("float"):
            return np.isnan(np.asarray(values, dtype=np.float64).reshape(rows, -1)).all(axis=1)
        return None

    def decode(self, column: pa.Array | pa.ChunkedArray, source: str = "a table") -> np.ndarray:
        """An Arrow column as numpy, ``(rows, *shape)`` in the column's own element type: null rows
        NaN (floats), False or 0 (bool, int); variable-length features as an object array of lists.

        A fixed shape is read from fixed-size lists, or from variable-length lists whose rows all
        hold ``size`` values (what pandas writes). A column that is not such a list is refused,
        naming ``source`` (a file), the column and the first row that does not fit."""
        col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if not self.shape:
            return col.to_numpy(zero_copy_only=False)
        if self.variable:
            out = np.empty(len(col), dtype=object)
            out[:] = col.to_pylist()
            return out
        child = self._flat_values(col, source)
        if child.null_count and not pa.types.is_floating(child.type):  # floats turn nulls into NaN themselves
            child = pc.fill_null(child, False if pa.types.is_boolean(child.type) else 0)
        values = child.to_numpy(zero_copy_only=False).reshape((len(col),) + self.shape)
        if col.null_count:
            values = values.copy()
            values[np.asarray(col.is_null())] = np.nan if values.dtype.kind == "f" else 0
        return values

    def _flat_values(self, col: pa.Array, source: str) -> pa.Array:
        """The ``rows * size`` values of a list column in row order, null rows' slots included."""
        shape = " x ".join(map(str, self.shape))
        typ = col.type
        if not (pa.types.is_fixed_size_list(typ) or pa.types.is_list(typ) or pa.types.is_large_list(typ)):
            raise HandevalError(f"{source}: column {self.name!r} must be a list of {self.size} numbers per row, "
                                f"not {typ}")
        element = typ.value_type
        if not (pa.types.is_integer(element) or pa.types.is_floating(element) or pa.types.is_boolean(element)):
            nested = " (flatten each row: lists of lists are not read)" if pa.types.is_list(element) or \
                pa.types.is_fixed_size_list(element) or pa.types.is_large_list(element) else ""
            raise HandevalError(f"{source}: column {self.name!r} must be a list of {self.size} numbers per row "
                                f"({shape}), not {typ}{nested}")
        rows = len(col)
        if pa.types.is_fixed_size_list(typ):
            if typ.list_size != self.size:
                raise HandevalError(f"{source}: column {self.name!r} must hold {self.size} numbers per row ({shape}), "
                                    f"found {rows * typ.list_size} for {rows} rows")
            return col.values.slice(col.offset * self.size, rows * self.size)
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~np.asarray(col.is_null()) & (lengths != self.size))
        if len(bad):
            raise HandevalError(f"{source}: column {self.name!r} row {bad[0]} holds {int(lengths[bad[0]])} numbers, "
                                f"expected {self.size} ({shape}); every row must have the same shape")
        if not col.null_count:
            return pc.list_flatten(col)
        # Null rows hold no values: give them slots (decode resets them), so rows stay aligned.
        return pc.list_flatten(pc.if_else(col.is_null(), pa.scalar([None] * self.size, typ), col))


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
