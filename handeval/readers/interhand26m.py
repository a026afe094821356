"""InterHand2.6M: the official annotation files -> canonical sequence records.

Layouts (``data_specs/datasets.md``, InterHand2.6M): v1.0 keeps ``annotations/{split}/`` with the
data, camera, joint_3d and MANO_NeuralAnnot json files (H+M only); v0.0 kept
``annotations/{all,human_annot,machine_annot}/`` and no MANO file. The 5 fps and 30 fps
releases share the layout. The annotation files are streamed a batch of items at a time
(``json_stream``; the 30 fps data.json is several GB) into an index of columns on disk
(``columns``), grouped by sequence, which the conversion's workers read a sequence at a time:
memory does not grow with the dataset.

Conversion: joints tip-first -> canonical, mm -> m; cameras ``X_cam = R (X - C)``, so
``t = -R C / 1000``; the per-image ``joint_valid`` (truncation-aware) goes to the views,
the per-frame 3D validity to the frames, data.json's per-image ``hand_type`` and
``hand_type_valid`` to the views; MANO stays in the world frame with InterHand's
convention (axis-angle relative to the mean pose, left shapedirs fixed).
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path

import numpy as np
import simdjson
from tqdm import tqdm

from handeval.conventions import MM_PER_M, hand_presence, interhand42_to_canonical
from handeval.mano import ManoConvention
from handeval.readers import sources
from handeval.readers.base import DatasetReader, variant_tokens
from handeval.readers.columns import Columns
from handeval.readers.json_stream import JSONError, JsonStream
from handeval.records.sequence import SequenceRecords
from handeval.util.errors import HandevalError

SPLITS = ("train", "val", "test")
VERSIONS = ("v1.0", "v0.0")
SUBSET_FOLDERS = {"H": "human_annot", "M": "machine_annot", "H+M": "all"}
MANO_CONVENTION = ManoConvention(pose_space="axis_angle", flat_hand_mean=False, fix_left_shapedirs=True,
                                 tips="interhand")
_HAND_TYPES = ("right", "left", "interacting")


DATA = "InterHand2.6M's data.json (COCO images[] and annotations[])"
CAMERA = "InterHand2.6M's camera.json (per capture: campos, camrot, focal, princpt per camera)"
JOINT_3D = "InterHand2.6M's joint_3d.json (per capture and frame: world_coord 42 x 3, joint_valid, hand_type)"
MANO_FILE = "InterHand2.6M's MANO_NeuralAnnot.json (per capture and frame: right/left pose, shape, trans or null)"


class _ByteProgress:
    """A binary file whose reads advance a bar by the bytes read (``readinto`` too, which a wrapped
    ``read`` would never see)."""

    def __init__(self, fh, bar):
        self.fh, self.bar = fh, bar

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.bar.update(len(data))
        return data

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(buffer)
        self.bar.update(n or 0)
        return n


@contextmanager
def _json(path: Path, expected: str, progress: bool) -> Iterator[JsonStream]:
    """``path`` as a :class:`JsonStream`, with a progress bar in bytes; broken JSON names the file."""
    try:
        with open(path, "rb") as fh, tqdm(total=path.stat().st_size, desc=path.name, unit="B", unit_scale=True,
                                          disable=not progress, leave=False) as bar:
            yield JsonStream(_ByteProgress(fh, bar))
    except JSONError as exc:
        raise sources.corrupt(path, expected, exc) from None


def _plain(value):
    """A simdjson proxy as Python lists and dicts (values a batch parsed alone already are)."""
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


class _Codes:
    """String -> small integer codes, in first-seen order."""

    def __init__(self, values: list[str] | None = None):
        self.values: list[str] = list(values or [])
        self._index: dict[str, int] = {v: i for i, v in enumerate(self.values)}

    def __call__(self, value: str) -> int:
        code = self._index.get(value)
        if code is None:
            code = self._index[value] = len(self.values)
            self.values.append(value)
        return code

    def many(self, values) -> array:
        """The codes of ``values`` (hashable), as int32."""
        for value in dict.fromkeys(values):
            self(value)
        return array("i", map(self._index.__getitem__, values))


@contextmanager
def _no_gc():
    """Parsing creates millions of small acyclic objects; the cyclic collector would rescan
    them again and again (3x slower) and find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: data.json as parsed, in file order: images[] and annotations[] (joined by image id afterwards).
_RAW_IMAGES = {"id": ("<i8", ()), "capture": ("<i4", ()), "seq": ("<i4", ()), "camera": ("<i4", ()),
               "frame_idx": ("<i8", ()), "width": ("<i4", ()), "height": ("<i4", ())}
_ANNOTATIONS = {"bbox": ("<f4", (4,)), "joint_valid": ("|b1", (42,)), "hand_type": ("|i1", ()),
                "hand_type_valid": ("|b1", ())}
_RAW_ANNOTATIONS = {"image_id": ("<i8", ()), **_ANNOTATIONS}
#: The index's image rows: one row per image, each sequence one block sorted by frame then camera.
_IMAGES = {**{k: v for k, v in _RAW_IMAGES.items() if k != "id"}, **_ANNOTATIONS}
#: joint_3d and MANO rows, in file order; ``{table}.{capture,frame,row}.npy`` sort them by (capture, frame).
_TABLES = {"joints": {"world": ("<f8", (42, 3)), "valid": ("|b1", (42,)), "hand_type": ("|i1", ())},
           "mano": {"pose": ("<f8", (2, 48)), "shape": ("<f8", (2, 10)), "trans": ("<f8", (2, 3))}}
_HAND_TYPE_CODES = {t: i for i, t in enumerate(_HAND_TYPES)}
_AS_DOUBLES = methodcaller("as_buffer", of_type="d")
_ROWS = 1 << 16  # rows per step when joining and reordering the index
_INDEX_FORMAT = 2  # 1: .npy arrays memory-mapped whole


def _image_columns(batch: list, seqs: _Codes, cams: _Codes) -> dict:
    """A batch of images[] as columns; raises on anything the exact path must look at."""
    ids, caps, names, cameras, fidx, widths, heights, files = zip(*[
        (im["id"], im["capture"], im["seq_name"], im["camera"], im["frame_idx"], im["width"], im["height"],
         im["file_name"]) for im in batch])
    if set(map(type, names)) | set(map(type, cameras)) | set(map(type, files)) != {str}:
        raise TypeError("names that are not strings")
    cols = {"id": array("q", ids), "capture": array("i", caps), "seq": seqs.many(names),
            "camera": cams.many(cameras), "frame_idx": array("q", fidx), "width": array("i", widths),
            "height": array("i", heights)}
    cols["odd"] = [(i, f) for i, (c, s, n, k, f) in enumerate(zip(caps, names, cameras, fidx, files))
                   if f != f"Capture{c}/{s}/cam{n}/image{k}.jpg"]
    return cols


def _image_columns_exact(path: Path, batch: list, first: int, seqs: _Codes, cams: _Codes) -> dict:
    """:func:`_image_columns` an image at a time, each checked as the official loader would read it."""
    cols = {name: array("q" if dtype == "<i8" else "i") for name, (dtype, _) in _RAW_IMAGES.items()}
    cols["odd"] = []
    for i, im in enumerate(batch):
        try:
            im = _plain(im)
            c, s_name, c_name, f = im["capture"], im["seq_name"], str(im["camera"]), im["frame_idx"]
            row = (im["id"], c, seqs(s_name), cams(c_name), f, im["width"], im["height"])
            for name, value in zip(_RAW_IMAGES, row):
                cols[name].append(value)
            if im["file_name"] != f"Capture{c}/{s_name}/cam{c_name}/image{f}.jpg":
                cols["odd"].append((i, im["file_name"]))
        except (KeyError, TypeError, OverflowError) as exc:
            raise sources.corrupt(path, DATA, f"images[{first + i}] is malformed ({type(exc).__name__}: {exc}); "
                                  "each image has integer id, width, height, capture, frame_idx, and file_name, "
                                  "seq_name, camera") from None
    return cols


def _numbers(values: list, size: int) -> np.ndarray:
    """simdjson arrays of ``size`` numbers each (nested lists flattened) as rows of float32."""
    flat = np.frombuffer(b"".join(map(_AS_DOUBLES, values)), dtype=np.float64)
    if flat.size != size * len(values):
        raise ValueError("not numbers of the expected count")
    return flat.astype(np.float32).reshape(len(values), size)


def _annotation_columns(batch: list) -> dict:
    ids, boxes, valid, types, type_valid = zip(*[
        (a["image_id"], a["bbox"], a["joint_valid"], a["hand_type"], a.get("hand_type_valid", 0)) for a in batch])
    if set(map(len, boxes)) != {4} or set(map(len, valid)) != {42}:
        raise ValueError("bbox must have 4 values and joint_valid 42")
    return {"image_id": ids, "bbox": _numbers(boxes, 4), "joint_valid": _numbers(valid, 42) > 0,
            "hand_type": array("b", map(_HAND_TYPE_CODES.__getitem__, types)),
            "hand_type_valid": list(map(bool, type_valid))}


def _annotation_columns_exact(path: Path, batch: list, first: int) -> dict:
    cols = {"image_id": [], "bbox": [], "joint_valid": [], "hand_type": array("b"), "hand_type_valid": []}
    for i, ann in enumerate(batch):
        try:
            ann = _plain(ann)
            if len(ann["bbox"]) != 4 or len(ann["joint_valid"]) != 42:
                raise ValueError("bbox must have 4 values and joint_valid 42")
            row = (ann["image_id"], _HAND_TYPES.index(ann["hand_type"]), bool(ann.get("hand_type_valid", 0)))
        except (KeyError, ValueError, TypeError) as exc:
            raise sources.corrupt(path, DATA, f"annotations[{first + i}] is malformed ({type(exc).__name__}: {exc}); "
                                  "each has bbox[4], joint_valid[42], hand_type in right/left/interacting") from None
        with sources.fields(path, f"{DATA}; annotations[{first + i}] holds numbers"):
            cols["bbox"].append(np.asarray(ann["bbox"], dtype=np.float32).reshape(4))
            cols["joint_valid"].append(np.asarray(ann["joint_valid"], dtype=np.float32).reshape(42) > 0)
        for name, value in zip(("image_id", "hand_type", "hand_type_valid"), row):
            cols[name].append(value)
    return cols


def _parse_data(path: Path, folder: Path, progress: bool = False) -> dict:
    """data.json in one streaming pass, as raw columns in ``folder`` (file order); returns the rest:
    counts, code tables, the file names off the official pattern, and the rows per sequence."""
    images, annotations = Columns(folder, "raw.images", _RAW_IMAGES), Columns(folder, "raw.annotations",
                                                                             _RAW_ANNOTATIONS)
    seqs, cams = _Codes(), _Codes()
    odd: dict[int, str] = {}
    groups: Counter = Counter()
    count = {"images": 0, "annotations": 0}
    with _json(path, DATA, progress) as stream, _no_gc():
        for key in stream.members():
            if key not in count:
                continue
            for batch in stream.batches(b"["):
                first = count[key]
                if key == "images":
                    try:
                        cols = _image_columns(batch, seqs, cams)
                    except (KeyError, TypeError, AttributeError, OverflowError):
                        cols = _image_columns_exact(path, batch, first, seqs, cams)
                    odd.update((first + i, name) for i, name in cols.pop("odd"))
                    keys, counts = np.unique(_group_key(np.frombuffer(cols["capture"], dtype=np.int32),
                                                        np.frombuffer(cols["seq"], dtype=np.int32)),
                                             return_counts=True)
                    groups.update(dict(zip(keys.tolist(), counts.tolist())))
                    images.append(**cols)
                else:
                    try:
                        cols = _annotation_columns(batch)
                    except (KeyError, ValueError, TypeError, AttributeError):
                        cols = _annotation_columns_exact(path, batch, first)
                    with sources.fields(path, f"{DATA}; annotations have integer image_id"):
                        cols["image_id"] = np.asarray(cols["image_id"], dtype=np.int64)
                    annotations.append(**cols)
                count[key] += len(batch)
        stream.finish()
    return {"images": count["images"], "annotations": count["annotations"], "seq_names": seqs.values,
            "camera_names": cams.values, "odd": odd, "groups": groups}


def _group_key(capture: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """(capture, sequence code) as one int64 that sorts like the pair."""
    return capture.astype(np.int64) * (1 << 32) + seq


def _steps(n: int) -> Iterator[tuple[int, int]]:
    return ((a, min(a + _ROWS, n)) for a in range(0, n, _ROWS))


def _joined(path: Path, folder: Path, n: int, m: int) -> Columns:
    """The annotation columns row-aligned with the images. The official files list the annotations
    in the images' order, ids increasing: checked a step at a time, that costs no memory; otherwise
    annotations are joined to images by id in memory, with every missing or unknown id named."""
    images, annotations = Columns(folder, "raw.images", _RAW_IMAGES), Columns(folder, "raw.annotations",
                                                                             _RAW_ANNOTATIONS)
    aligned, last = n == m, None
    for a, b in _steps(n if aligned else 0):
        ids = images.read("id", a, b)
        increasing = (last is None or ids[0] > last) and bool((np.diff(ids) > 0).all())
        if not increasing or not np.array_equal(ids, annotations.read("image_id", a, b)):
            aligned = False
            break
        last = ids[-1]
    if aligned:
        return annotations
    ids = images.read("id", 0, n)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    cols = {"bbox": np.full((n, 4), np.nan, dtype=np.float32), "joint_valid": np.zeros((n, 42), dtype=bool),
            "hand_type": np.full(n, -1, dtype=np.int8), "hand_type_valid": np.zeros(n, dtype=bool)}
    seen = np.zeros(n, dtype=bool)
    for a, b in _steps(m):
        want = annotations.read("image_id", a, b)
        pos = np.clip(np.searchsorted(sorted_ids, want), 0, max(n - 1, 0))
        bad = np.flatnonzero(sorted_ids[pos] != want) if n else np.arange(len(want))
        if len(bad):
            raise sources.corrupt(path, DATA, f"annotations[{a + bad[0]}] refers to image_id {want[bad[0]]}, "
                                  "which is not in images")
        rows = order[pos]
        for name, values in cols.items():
            values[rows] = annotations.read(name, a, b)
        seen[rows] = True
    if not seen.all():
        raise sources.corrupt(path, DATA, f"{int((~seen).sum())} images have no annotation")
    joined = Columns(folder, "joined", _ANNOTATIONS)
    joined.append(**cols)
    return joined


def _index_images(path: Path, folder: Path, split: str, parsed: dict) -> dict:
    """The raw columns reordered into ``images.*``: rows grouped by (capture, sequence), each group one
    block sorted by frame then camera (stable: ties keep the file's order). A bucket pass moves each
    step of rows to its groups' places, then each block is sorted alone; memory holds a step and the
    largest sequence, never the dataset. Returns the index's image metadata."""
    n = parsed["images"]
    images = Columns(folder, "raw.images", _RAW_IMAGES)
    annotations = _joined(path, folder, n, parsed["annotations"])
    keys = np.array(sorted(parsed["groups"]), dtype=np.int64)
    bounds = np.r_[0, np.cumsum([parsed["groups"][k] for k in keys.tolist()])].astype(np.int64)
    out = Columns(folder, "images", _IMAGES)
    out.allocate(n)
    cursor = bounds[:-1].copy()
    odd_rows = np.array(sorted(parsed["odd"]), dtype=np.int64)
    odd_at = np.zeros(len(odd_rows), dtype=np.int64)  # each odd row's place, once moved
    with out.writer() as write:
        for a, b in _steps(n):
            group = np.searchsorted(keys, _group_key(images.read("capture", a, b), images.read("seq", a, b)))
            order = np.argsort(group, kind="stable")
            group = group[order]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            stops = np.r_[starts[1:], len(group)]
            dest = np.empty(b - a, dtype=np.int64)
            for s, e in zip(starts, stops):
                dest[s:e] = cursor[group[s]] + np.arange(e - s)
                cursor[group[s]] += e - s
            for name in _IMAGES:
                values = (images if name in _RAW_IMAGES else annotations).read(name, a, b)[order]
                for s, e in zip(starts, stops):
                    write(name, int(dest[s]), values[s:e])
            mine = (odd_rows >= a) & (odd_rows < b)
            if mine.any():
                odd_at[mine] = dest[np.argsort(order)[odd_rows[mine] - a]]
        lengths = []
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            frame, camera = out.read("frame_idx", a, b), out.read("camera", a, b)
            perm = np.lexsort((camera, frame))
            lengths.append(int(len(np.unique(frame))))
            if (perm == np.arange(b - a)).all():
                continue
            for name in _IMAGES:
                write(name, a, out.read(name, a, b)[perm])
            mine = (odd_at >= a) & (odd_at < b)
            if mine.any():
                odd_at[mine] = a + np.argsort(perm)[odd_at[mine] - a]
    for table in (images, annotations):
        table.remove()
    seq_names = parsed["seq_names"]
    names = [f"{split}/Capture{k >> 32}/{seq_names[k & 0xFFFFFFFF]}" for k in keys.tolist()]
    return {"seq_names": seq_names, "camera_names": parsed["camera_names"], "groups": names,
            "bounds": bounds.tolist(), "lengths": lengths,
            "odd_names": {str(at): parsed["odd"][row] for row, at in zip(odd_rows.tolist(), odd_at.tolist())}}


def _capture_3d(frames: dict) -> dict:
    """Frames of one capture (a batch of them) as rows; ``has_validity`` is False for early v0.0's bare lists."""
    keys = sorted(frames, key=int)
    world = np.zeros((len(keys), 42, 3), dtype=np.float64)
    valid = np.ones((len(keys), 42), dtype=bool)
    types, has_validity = [], True
    for k, key in enumerate(keys):
        value = frames[key]
        if isinstance(value, list):  # early v0.0: a bare 42x3 list, no validity
            world[k], has_validity = value, False
            types.append(None)
            continue
        world[k] = value["world_coord"]
        valid[k] = np.asarray(value["joint_valid"], dtype=float).reshape(42) > 0
        types.append(value.get("hand_type"))
    return {"frames": [int(k) for k in keys], "world": world, "valid": valid, "hand_type": types,
            "has_validity": has_validity}


def _capture_mano(frames: dict) -> dict:
    keys = sorted(frames, key=int)
    pose = np.full((len(keys), 2, 48), np.nan)
    shape = np.full((len(keys), 2, 10), np.nan)
    trans = np.full((len(keys), 2, 3), np.nan)
    for k, key in enumerate(keys):
        for h, side in enumerate(("right", "left")):
            p = (frames[key] or {}).get(side)
            if p is not None:
                pose[k, h], shape[k, h], trans[k, h] = p["pose"], p["shape"], p["trans"]
    return {"frames": [int(k) for k in keys], "pose": pose, "shape": shape, "trans": trans}


def _parse_table(path: Path, expected: str, folder: Path, table: str, progress: bool) -> dict:
    """joint_3d.json or MANO_NeuralAnnot.json (capture -> frame -> value), a batch of frames at a time,
    as rows in file order plus ``{table}.{capture,frame,row}.npy``: sorted by (capture, frame), the
    last of a repeated frame kept. Returns the table's metadata."""
    columns = Columns(folder, table, _TABLES[table])
    capture_of, frame_of = array("q"), array("q")
    types, has_validity = _Codes(), True
    with _json(path, expected, progress) as stream, _no_gc():
        for cap in stream.members():
            with sources.fields(path, f"{expected}; capture {cap}"):
                capture = int(cap)
            for batch in stream.batches(b"{"):
                with sources.fields(path, f"{expected}; capture {cap}"):
                    frames = {key: _plain(value) for key, value in batch}
                    if table == "joints":
                        rows = _capture_3d(frames)
                        has_validity &= rows.pop("has_validity")
                        rows["hand_type"] = [types(str(t)) if t else -1 for t in rows["hand_type"]]
                    else:
                        rows = _capture_mano(frames)
                frame_of.extend(rows.pop("frames"))
                capture_of.extend([capture] * (len(frame_of) - len(capture_of)))
                columns.append(**rows)
        stream.finish()
    capture, frame = np.frombuffer(capture_of, dtype=np.int64), np.frombuffer(frame_of, dtype=np.int64)
    order = np.lexsort((np.arange(len(frame)), frame, capture))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (capture[order][1:] != capture[order][:-1]) | (frame[order][1:] != frame[order][:-1])
    for name, values in (("capture", capture[order][last]), ("frame", frame[order][last]), ("row", order[last])):
        np.save(folder / f"{table}.{name}.npy", values.astype(np.int64), allow_pickle=False)
    return {"hand_types": types.values, "has_validity": has_validity}


def _parse_split(reader: InterHand26M, split: str, folder: Path) -> None:
    """The split's annotation files parsed into the index ``folder``: written beside it, renamed into place."""
    files = reader.source_files(split)
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    parsed = _parse_data(files[0], tmp, reader.progress)
    meta = _index_images(files[0], tmp, split, parsed)
    meta["cameras"] = sources.load(files[1], sources.json_file, CAMERA)
    joints = _parse_table(files[2], JOINT_3D, tmp, "joints", reader.progress)
    meta.update(has_validity=joints["has_validity"], joint_hand_types=joints["hand_types"], mano=False)
    mano_path = reader.annotation_path(split, "MANO_NeuralAnnot")
    if mano_path.is_file():
        _parse_table(mano_path, MANO_FILE, tmp, "mano", reader.progress)
        meta["mano"] = True
    meta["format"] = _INDEX_FORMAT
    (tmp / "index.json").write_text(json.dumps(meta))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


@dataclass
class _Index:
    """A split's annotation index (:func:`_parse_split`), read a sequence at a time."""

    folder: Path
    meta: dict
    images: Columns
    tables: dict            # table -> (Columns, capture, frame, row)
    groups: dict            # sequence name -> its block's (start, stop)
    odd_rows: np.ndarray    # image rows whose file_name departs from the official pattern
    odd_files: list         # their file names

    @classmethod
    def open(cls, folder: Path) -> _Index:
        meta = json.loads((folder / "index.json").read_text())
        if meta.get("format") != _INDEX_FORMAT:
            raise HandevalError(f"{folder} holds an annotation index of another handeval version: pass --overwrite "
                                "to convert again")
        bounds = meta["bounds"]
        tables = {}
        for table in ("joints", "mano") if meta["mano"] else ("joints",):
            keys = [np.load(folder / f"{table}.{k}.npy", allow_pickle=False) for k in ("capture", "frame", "row")]
            tables[table] = (Columns(folder, table, _TABLES[table]), *keys)
        odd = sorted((int(row), name) for row, name in meta["odd_names"].items())
        return cls(folder, meta, Columns(folder, "images", _IMAGES), tables,
                   {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(meta["groups"])},
                   np.array([row for row, _ in odd], dtype=np.int64), [name for _, name in odd])

    def odd_names(self, start: int, stop: int) -> list[tuple[int, str]]:
        """The image rows in ``start:stop`` whose file_name departs from the official pattern, with it."""
        lo, hi = np.searchsorted(self.odd_rows, [start, stop])
        return list(zip(self.odd_rows[lo:hi].tolist(), self.odd_files[lo:hi]))

    def frames(self, table: str, capture: int, frames: np.ndarray) -> tuple[Columns, np.ndarray, np.ndarray]:
        """The table's rows of ``frames`` of ``capture`` (where found) and which were found."""
        columns, caps, keys, rows = self.tables[table]
        lo, hi = np.searchsorted(caps, capture, side="left"), np.searchsorted(caps, capture, side="right")
        pos, found = _lookup(keys[lo:hi], frames)
        return columns, rows[lo + pos[found]], found


def _lookup(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in sorted ``keys`` and whether each was found."""
    pos = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    found = (len(keys) > 0) & (keys[pos] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return pos, found


class InterHand26M(DatasetReader):
    """Reader of one InterHand2.6M release on disk."""

    key = "interhand26m"
    name = "InterHand2.6M"
    default_splits_help = "every split present (train, val, test)"

    def __init__(self, root: str | Path, version: str = "v1.0", fps: int = 5, subset: str = "H+M",
                 progress: bool = False):
        super().__init__(root, progress)
        if version not in VERSIONS:
            raise HandevalError(f"InterHand2.6M version must be v1.0 or v0.0, not {version!r}")
        if fps not in (5, 30):
            raise HandevalError(f"InterHand2.6M is released at 5 or 30 fps, not {fps}")
        if subset not in SUBSET_FOLDERS or (version == "v1.0" and subset != "H+M"):
            raise HandevalError(f"subset {subset!r}: v1.0 ships only H+M; v0.0 has H, M and H+M")
        if not (self.root / "annotations").is_dir():
            raise HandevalError(f"{self.root} is not an InterHand2.6M root: expected annotations/ (and images/) "
                                "as in the official download")
        self.version, self.fps, self.subset = version, fps, subset
        self._cache: tuple[str, _Index] | None = None
        self._indexes: dict[str, Path] = {}
        self._scratch: dict[str, tempfile.TemporaryDirectory] = {}

    @classmethod
    def variant_options(cls, variant: str | None) -> dict:
        options = {}
        for token in variant_tokens(variant):
            if re.fullmatch(r"\d+fps", token):
                options["fps"] = int(token[:-3])
            elif token in VERSIONS:
                options["version"] = token
            elif token in SUBSET_FOLDERS:
                options["subset"] = token
            else:
                raise HandevalError(f"unknown InterHand2.6M variant token {token!r}: use 5fps|30fps, v1.0|v0.0, "
                                    "H|M|H+M, e.g. --variant 30fps or --variant v0.0:H")
        return options

    @property
    def variant(self) -> str:
        return f"{self.fps} fps, {self.subset}"

    @property
    def variant_option(self) -> str:
        return f"{self.version}:{self.fps}fps:{self.subset}"

    @property
    def conventions(self) -> dict:
        return {"mano": MANO_CONVENTION.to_dict(), "mano_frame": "world"}

    def annotation_path(self, split: str, kind: str) -> Path:
        folder = split if self.version == "v1.0" else SUBSET_FOLDERS[self.subset]
        return self.root / "annotations" / folder / f"InterHand2.6M_{split}_{kind}.json"

    def splits(self) -> list[str]:
        return [s for s in SPLITS if self.annotation_path(s, "data").is_file()]

    def source_files(self, split: str) -> list[Path]:
        kinds = ("data", "camera", "joint_3d") + (("MANO_NeuralAnnot",) if self.version == "v1.0" else ())
        paths = [self.annotation_path(split, k) for k in kinds]
        for p, expected in zip(paths[:3], (DATA, CAMERA, JOINT_3D)):
            if not p.is_file():
                raise sources.missing(p, expected)
        return [p for p in paths if p.is_file()]

    def missing_sources(self, split: str) -> list[str]:
        """v1.0 ships a MANO file per split; v0.0 shipped none (``missing`` says so)."""
        mano = self.annotation_path(split, "MANO_NeuralAnnot")
        return [str(mano.relative_to(self.root))] if self.version == "v1.0" and not mano.is_file() else []

    def write_index(self, split: str, folder: Path) -> bool:
        folder = Path(folder)
        scratch = self._scratch.pop(split, None)
        if scratch is None:
            _parse_split(self, split, folder)
        else:  # parsed while planning: moved into place, not parsed again
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = folder.with_name(f".{folder.name}.partial")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.move(self._indexes[split], tmp)
            scratch.cleanup()
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        self.use_index(split, folder)
        return True

    def use_index(self, split: str, folder: Path) -> None:
        self._indexes[split] = Path(folder)
        self._cache = None

    def _split(self, split: str) -> _Index:
        if self._cache is None or self._cache[0] != split:
            self._cache = None
            if split not in self._indexes:  # parsed into a scratch folder that write_index may move
                scratch = tempfile.TemporaryDirectory(prefix="handeval-interhand26m-")
                _parse_split(self, split, Path(scratch.name) / split)
                self._scratch[split], self._indexes[split] = scratch, Path(scratch.name) / split
            self._cache = (split, _Index.open(self._indexes[split]))
        return self._cache[1]

    def sequence_lengths(self, split: str) -> list[tuple[str, int]]:
        meta = self._split(split).meta
        return list(zip(meta["groups"], meta["lengths"]))

    def missing(self, split: str) -> dict[str, str]:
        meta = self._split(split).meta
        out = {"joints_2d": "InterHand2.6M gives no 2D joints; project the 3D joints with the view's camera",
               "segmentation_path": "InterHand2.6M has no segmentation masks",
               "bbox": "only one box around all annotated hands (hands_bbox)"}
        if not meta["mano"]:
            out["mano"] = "no MANO_NeuralAnnot file for this split (v0.0 shipped none)"
        if not meta["has_validity"]:
            out["joints_valid"] = "joint_3d.json holds bare coordinates without joint_valid (early v0.0)"
        return out

    def read_sequence(self, split: str, name: str) -> SequenceRecords:
        index = self._split(split)
        start, stop = index.groups[name]
        im = {k: index.images.read(k, start, stop) for k in _IMAGES}
        capture = int(im["capture"][0])
        frames = np.unique(im["frame_idx"])
        T = len(frames)

        world = np.full((T, 42, 3), np.nan)
        valid42 = np.zeros((T, 42), dtype=bool)
        types = [None] * T
        joints, rows, found = index.frames("joints", capture, frames)
        world[found], valid42[found] = joints.rows("world", rows), joints.rows("valid", rows)
        names = index.meta["joint_hand_types"]
        for t, code in zip(np.flatnonzero(found).tolist(), joints.rows("hand_type", rows).tolist()):
            types[t] = names[code] if code >= 0 else None
        world[~valid42] = np.nan
        joints = interhand42_to_canonical(world / MM_PER_M).astype(np.float32)
        joints_valid = interhand42_to_canonical(valid42[..., None].astype(float))[..., 0] > 0

        # Hand type per frame: joint_3d's, else the first image's annotation.
        frame_of_row = np.searchsorted(frames, im["frame_idx"])
        first_row = np.r_[0, np.flatnonzero(np.diff(frame_of_row)) + 1]
        hand_type = [t if t else _HAND_TYPES[im["hand_type"][r]] for t, r in zip(types, first_row)]
        present = hand_presence(hand_type)

        frame_cols = {"frame": frames, "source_frame": [str(int(f)) for f in frames], "hand_type": hand_type,
                      "hand_present": present, "joints": joints, "joints_valid": joints_valid}
        if index.meta["mano"]:
            pose = np.full((T, 2, 48), np.nan)
            shape = np.full((T, 2, 10), np.nan)
            trans = np.full((T, 2, 3), np.nan)
            mano, rows, found = index.frames("mano", capture, frames)
            pose[found], shape[found], trans[found] = (mano.rows(k, rows) for k in ("pose", "shape", "trans"))
            frame_cols.update(mano_pose=pose, mano_shape=shape, mano_trans=trans,
                              mano_valid=np.isfinite(pose).all(axis=-1))
        else:
            frame_cols["mano_valid"] = np.zeros((T, 2), dtype=bool)

        views = self._views(split, index, im, start, capture)
        return SequenceRecords(sequence=name, frames=frame_cols, views=views)

    def _views(self, split: str, index: _Index, im: dict, start: int, capture: int) -> dict:
        path = self.annotation_path(split, "camera")
        cameras = index.meta["cameras"]
        cams = cameras.get(str(capture)) if isinstance(cameras, dict) else None
        if cams is None:
            raise sources.corrupt(path, CAMERA, f"no cameras for capture {capture}")
        codes = im["camera"]
        camera_names = index.meta["camera_names"]
        names = [camera_names[c] for c in codes.tolist()]
        K, R, t = np.zeros((len(codes), 3, 3)), np.zeros((len(codes), 3, 3)), np.zeros((len(codes), 3))
        for code in np.unique(codes).tolist():
            name = camera_names[code]
            with sources.fields(path, f"{CAMERA}; capture {capture}, camera {name}"):
                f = np.asarray(cams["focal"][name], dtype=np.float64).reshape(2)
                c = np.asarray(cams["princpt"][name], dtype=np.float64).reshape(2)
                rot = np.asarray(cams["camrot"][name], dtype=np.float64).reshape(3, 3)
                centre = np.asarray(cams["campos"][name], dtype=np.float64).reshape(3)
            sel = codes == code
            K[sel] = [[f[0], 0, c[0]], [0, f[1], c[1]], [0, 0, 1]]
            R[sel] = rot
            t[sel] = -rot @ centre / MM_PER_M
        folder = f"images/{split}/Capture{capture}/{index.meta['seq_names'][int(im['seq'][0])]}/cam"
        paths = [f"{folder}{n}/image{f}.jpg" for n, f in zip(names, im["frame_idx"].tolist())]
        for row, file_name in index.odd_names(start, start + len(codes)):
            if file_name:  # an empty file_name keeps the official pattern
                paths[row - start] = f"images/{split}/{file_name}"
        return {
            "frame": im["frame_idx"], "camera": names, "image_path": paths,
            "width": im["width"], "height": im["height"], "K": K, "R": R, "t": t,
            "hands_bbox": im["bbox"],
            "joints_image_valid": interhand42_to_canonical(im["joint_valid"][..., None].astype(float))[..., 0] > 0,
            "hand_type_valid": im["hand_type_valid"],
            # data.json's per-image hand type: the official evaluation groups single-hand and
            # interacting errors by it, and IntagHand selects its samples by it.
            "hand_type": np.asarray(_HAND_TYPES, dtype=object)[im["hand_type"]].tolist(),
        }
