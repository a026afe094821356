"""Prediction files: the canonical submission format, the native formats users already have,
and the checks ``handeval check-submission`` runs before anything is scored.

A submission is keyed per view, ``(sequence, frame, camera)`` as in the converted ground
truth, and holds each hand's 21 joints in that camera's OpenCV frame, in metres and the
canonical order (hands ``[right, left]``, NaN for a hand it does not predict), and
optionally 778 vertices per hand. Submissions are untrusted: nothing in them is ever
unpickled (``np.load(allow_pickle=False)``, pyarrow, json, plain text).

Native formats read unchanged (``formats_dexycb_ho3d.md``):
* HO3D ``pred.json``: ``[xyz_list, verts_list]`` in ``evaluation.txt`` order, metres,
  OpenGL camera frame, MANO joint order, right hand;
* Dex-YCB result txt: ``image_id, x1, y1, z1, ..., z21`` per line (64 fields), millimetres,
  OpenCV, Dex-YCB order; ``image_id`` is the toolkit's sample index of the split.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from handeval.conventions import CV_FROM_GL, MANO as MANO_ORDER, MM_PER_M
from handeval.errors import HandevalError
from handeval.shards.reader import ShardDataset, rows_of, to_numpy, world_to_camera


@dataclass
class Submission:
    path: Path
    format: str
    sequence: np.ndarray   # (N,) str
    frame: np.ndarray      # (N,) int64
    camera: np.ndarray     # (N,) str
    joints: np.ndarray     # (N, 2, 21, 3) float64, camera frame, metres
    vertices: np.ndarray | None = None  # (N, 2, 778, 3)
    hand_scores: np.ndarray | None = None  # (N, 2) presence probabilities [right, left]

    def keys(self) -> list[tuple[str, int, str]]:
        return list(zip(self.sequence.tolist(), self.frame.tolist(), self.camera.tolist()))

    def subset(self, rows: np.ndarray) -> "Submission":
        pick = (lambda a: None if a is None else a[rows])
        return Submission(self.path, self.format, self.sequence[rows], self.frame[rows], self.camera[rows],
                          self.joints[rows], pick(self.vertices), pick(self.hand_scores))


class SubmissionSource:
    """A submission read in pieces, so scoring stays within bounded memory.

    Keys, joints and hand scores are read at once (``all``: what ``check_submission``
    needs); ``select(sequences)`` gives the rows of some sequences with their vertices.
    A canonical Parquet file is read per selection with a filter on ``sequence`` (row
    groups are skipped by their statistics when the file is sorted by sequence); the other
    formats are small and held in memory.
    """

    def __init__(self, path: str | Path, ds: ShardDataset | None = None, split: str | None = None,
                 keep: int = 2):
        self.path = Path(path)
        if not self.path.is_file():
            raise HandevalError(f"submission {self.path} does not exist")
        self.streaming = self.path.suffix == ".parquet"
        self.all = (_canonical_parquet(self.path, vertices=False) if self.streaming
                    else read_submission(self.path, ds, split))
        self.has_vertices = (self.streaming and "vertices" in pq.read_schema(self.path).names) or \
            self.all.vertices is not None
        # The last ``keep`` sequences read: scoring asks for a sequence in several chunks in a row.
        self._recent: dict[str, Submission] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def select(self, sequences: list[str]) -> list[Submission]:
        """The rows of ``sequences``, one :class:`Submission` per sequence (no copy is made to join them)."""
        if not self.streaming:
            return [self.all.subset(np.isin(self.all.sequence, sequences))]
        with self._lock:
            for s in sequences:
                if s not in self._recent:
                    self._recent[s] = _canonical_parquet(self.path, sequences=[s])
            parts = [self._recent[s] for s in sequences]
            for s in list(self._recent)[:-max(self._keep, len(sequences))]:
                del self._recent[s]
        return parts


@dataclass
class GroundTruthViews:
    """The ground truth of one split per view: keys and joints in each view's camera frame."""

    sequence: np.ndarray
    frame: np.ndarray
    camera: np.ndarray
    joints: np.ndarray    # (V, 2, 21, 3) camera frame
    valid: np.ndarray     # (V, 2, 21)
    present: np.ndarray   # (V, 2)
    vertices: np.ndarray | None

    def keys(self) -> list[tuple[str, int, str]]:
        return list(zip(self.sequence.tolist(), self.frame.tolist(), self.camera.tolist()))


def ground_truth_views(ds: ShardDataset, split: str, vertices: bool = False) -> GroundTruthViews:
    """Every view's joints in its camera frame (and, on request, the source's own vertices)."""
    views = to_numpy(ds.read("views", split, columns=["sequence", "frame", "camera", "R", "t"]), "views")
    frames = to_numpy(ds.read("frames", split, columns=["sequence", "frame", "joints", "joints_valid", "hand_present"]
                              + (["vertices"] if vertices else [])), "frames")
    rows = rows_of(views, frames)
    R, t = views["R"].astype(np.float64), views["t"].astype(np.float64)
    world = frames["joints"][rows].astype(np.float64)
    cam = world_to_camera(world, R, t)
    verts = None
    if vertices and np.isfinite(frames["vertices"]).any():
        verts = world_to_camera(frames["vertices"][rows].astype(np.float64), R, t)
    return GroundTruthViews(views["sequence"], views["frame"], views["camera"], cam, frames["joints_valid"][rows],
                            frames["hand_present"][rows], verts)


def _canonical_parquet(path: Path, vertices: bool = True, sequences: list[str] | None = None) -> Submission:
    try:
        names = pq.read_schema(path).names
        columns = [c for c in names if c != "vertices" or vertices]
        filters = None if sequences is None else pc.field("sequence").isin(list(sequences))
        table = pq.read_table(path, columns=columns, filters=filters)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise HandevalError(f"{path}: not a readable Parquet file ({exc})") from None
    need = {"sequence", "frame", "camera", "joints"}
    missing = need - set(table.column_names)
    if missing:
        raise HandevalError(f"{path}: missing column(s) {sorted(missing)}; a submission needs sequence, frame, camera, "
                            "joints (2 x 21 x 3 = 126 floats per row) and optionally vertices (4668 per row)")
    n = table.num_rows
    joints = _fixed(table, "joints", n, (2, 21, 3), path)
    verts = _fixed(table, "vertices", n, (2, 778, 3), path, np.float32) if "vertices" in table.column_names else None
    scores = _fixed(table, "hand_scores", n, (2,), path) if "hand_scores" in table.column_names else None
    return Submission(path, "parquet", np.asarray(table.column("sequence").to_pylist(), dtype=str),
                      np.asarray(table.column("frame").to_pylist(), dtype=np.int64),
                      np.asarray(table.column("camera").to_pylist(), dtype=str), joints, verts, scores)


def _fixed(table, name: str, n: int, shape: tuple[int, ...], path: Path, dtype=np.float64) -> np.ndarray:
    col = table.column(name).combine_chunks()
    size = int(np.prod(shape))
    values = col.values.to_numpy(zero_copy_only=False) if hasattr(col, "values") else np.zeros(0)
    if len(values) != n * size:
        raise HandevalError(f"{path}: column {name!r} must hold {size} numbers per row ({' x '.join(map(str, shape))}), "
                            f"found {len(values)} for {n} rows")
    return values.astype(dtype, copy=False).reshape((n,) + shape)


def _canonical_npz(path: Path) -> Submission:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise HandevalError(f"{path}: {exc}. Submissions are never unpickled: store sequence and camera as fixed-width "
                            "strings (np.array(names, dtype=str)), not Python objects") from None
    except (OSError, EOFError) as exc:
        raise HandevalError(f"{path}: not a readable .npz file ({exc})") from None
    for key in ("sequence", "frame", "camera", "joints"):
        if key not in data:
            raise HandevalError(f"{path}: array {key!r} is missing; a submission needs sequence, frame, camera, joints")
    n = len(data["sequence"])
    joints = np.asarray(data["joints"], dtype=np.float64)
    if joints.shape != (n, 2, 21, 3):
        raise HandevalError(f"{path}: 'joints' has shape {joints.shape}, expected ({n}, 2, 21, 3): per view, "
                            "[right, left] hands x 21 canonical joints x xyz in metres")
    verts = data.get("vertices")
    if verts is not None and verts.shape != (n, 2, 778, 3):
        raise HandevalError(f"{path}: 'vertices' has shape {verts.shape}, expected ({n}, 2, 778, 3)")
    scores = data.get("hand_scores")
    if scores is not None and scores.shape != (n, 2):
        raise HandevalError(f"{path}: 'hand_scores' has shape {scores.shape}, expected ({n}, 2): presence "
                            "probabilities [right, left]")
    return Submission(path, "npz", data["sequence"].astype(str), data["frame"].astype(np.int64),
                      data["camera"].astype(str), joints, None if verts is None else verts.astype(np.float64),
                      None if scores is None else scores.astype(np.float64))


def _ho3d_json(path: Path, ds: ShardDataset, split: str) -> Submission:
    try:
        xyz, verts = json.loads(path.read_text())
    except (ValueError, TypeError) as exc:
        raise HandevalError(f"{path}: expected HO3D's pred.json, a JSON array [xyz_list, verts_list] ({exc})") from None
    order = _ho3d_order(ds, split)
    if len(xyz) != len(order) or len(verts) != len(order):
        raise HandevalError(f"{path}: {len(xyz)} joint and {len(verts)} vertex entries; evaluation.txt lists "
                            f"{len(order)} frames, and pred.json must follow its order exactly")
    try:
        xyz = np.asarray(xyz, dtype=np.float64)
        verts = np.asarray(verts, dtype=np.float64)
    except ValueError:
        raise HandevalError(f"{path}: every entry must be 21 x 3 joints and V x 3 vertices") from None
    if xyz.shape[1:] != (21, 3):
        raise HandevalError(f"{path}: joint entries have shape {xyz.shape[1:]}, expected (21, 3)")
    n = len(order)
    joints = np.full((n, 2, 21, 3), np.nan)
    joints[:, 0] = MANO_ORDER.to_canonical(xyz @ CV_FROM_GL.T)  # OpenGL -> OpenCV, MANO -> canonical
    vout = None
    if verts.ndim == 3 and verts.shape[1:] == (778, 3):
        vout = np.full((n, 2, 778, 3), np.nan)
        vout[:, 0] = verts @ CV_FROM_GL.T
    seq, frame = zip(*order)
    return Submission(path, "ho3d-pred-json", np.asarray(seq, dtype=str), np.asarray(frame, dtype=np.int64),
                      np.full(n, "0"), joints, vout)


def _ho3d_order(ds: ShardDataset, split: str) -> list[tuple[str, int]]:
    """(sequence id, frame) in evaluation.txt's order (from the source root, else the shards')."""
    root = Path(ds.info.get("source_root", ""))
    txt = root / f"{split}.txt"
    if txt.is_file():
        return [(f"{split}/{line.split('/')[0]}", int(line.split("/")[1]))
                for line in txt.read_text().split() if line.strip()]
    frames = ds.read("frames", split, columns=["sequence", "frame"])
    return list(zip(frames.column("sequence").to_pylist(), frames.column("frame").to_pylist()))


def _dexycb_txt(path: Path, ds: ShardDataset, split: str) -> Submission:
    from handeval.readers.dexycb import SERIALS, _cameras

    # The toolkit's sample index: sequences in split order, then cameras in split order, then frames.
    setup, part = split.split("_")
    cam_order = [SERIALS[c] for c in _cameras(setup, part)]
    views = to_numpy(ds.read("views", split, columns=["sequence", "frame", "camera"]), "views")
    frames = to_numpy(ds.read("frames", split, columns=["sequence", "frame", "hand_present"]), "frames")
    side = {}
    for s, p in zip(frames["sequence"], frames["hand_present"]):
        if p.any():
            side.setdefault(s, int(np.argmax(p)))
    seq_pos = {name: i for i, name in enumerate(ds.sequences(split))}
    cam_pos = {serial: i for i, serial in enumerate(cam_order)}
    keys = sorted(zip(views["sequence"].tolist(), views["camera"].tolist(), views["frame"].tolist()),
                  key=lambda k: (seq_pos[k[0]], cam_pos[k[1]], k[2]))
    rows: dict[int, np.ndarray] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 64:
            raise HandevalError(f"{path}:{lineno}: {len(fields)} fields, expected 64 (image_id, then 21 x y z in mm)")
        try:
            rows[int(fields[0])] = np.asarray(fields[1:], dtype=np.float64).reshape(21, 3)
        except ValueError:
            raise HandevalError(f"{path}:{lineno}: fields must be an integer id and 63 numbers") from None
    bad = [i for i in rows if not 0 <= i < len(keys)]
    if bad:
        raise HandevalError(f"{path}: image_id {bad[0]} is outside the split's {len(keys)} samples (0..{len(keys) - 1})")
    ids = sorted(rows)
    joints = np.full((len(ids), 2, 21, 3), np.nan)
    seqs, cams, frs = [], [], []
    for k, i in enumerate(ids):
        s, c, f = keys[i]
        joints[k, side.get(s, 0)] = rows[i] / MM_PER_M
        seqs.append(s), cams.append(c), frs.append(f)
    return Submission(path, "dexycb-txt", np.asarray(seqs, dtype=str), np.asarray(frs, dtype=np.int64),
                      np.asarray(cams, dtype=str), joints)


def read_submission(path: str | Path, ds: ShardDataset | None = None, split: str | None = None) -> Submission:
    """Read a submission in the canonical (Parquet, NPZ) or a native (HO3D json, Dex-YCB txt) format."""
    path = Path(path)
    if not path.is_file():
        raise HandevalError(f"submission {path} does not exist")
    if path.suffix == ".parquet":
        return _canonical_parquet(path)
    if path.suffix == ".npz":
        return _canonical_npz(path)
    if ds is None or split is None:
        raise HandevalError(f"{path}: native formats are keyed by the dataset's order; give --gt DIR and --split")
    if path.suffix == ".json":
        return _ho3d_json(path, ds, split)
    if path.suffix == ".txt":
        return _dexycb_txt(path, ds, split)
    raise HandevalError(f"{path}: unknown submission format; use .parquet or .npz (canonical), HO3D's pred.json or "
                        "Dex-YCB's result .txt")


def check_submission(sub: Submission, gt: GroundTruthViews) -> list[dict]:
    """Every problem found, each with what was expected and how to fix it."""
    problems: list[dict] = []

    def problem(check: str, message: str, fix: str) -> None:
        problems.append({"check": check, "message": message, "fix": fix})

    keys = sub.keys()
    seen, dup = set(), []
    for k in keys:
        if k in seen:
            dup.append(k)
        seen.add(k)
    if dup:
        problem("duplicates", f"{len(dup)} duplicate keys, e.g. {dup[0]}", "keep one row per (sequence, frame, camera)")
    all_keys = gt.keys()
    # Views without an annotated hand need no prediction (Dex-YCB's evaluator skips them too).
    want = {k for k, p in zip(all_keys, gt.present.any(axis=1)) if p}
    missing, extra = want - seen, seen - set(all_keys)
    if missing:
        problem("missing", f"{len(missing)} of {len(want)} ground-truth views with a hand have no prediction, e.g. "
                f"{sorted(missing)[0]}", "predict every view of the split (see `handeval info`)")
    if extra:
        problem("extra", f"{len(extra)} keys are not in the ground truth, e.g. {sorted(extra)[0]}",
                "key rows by the converted dataset's sequence, frame and camera")
    finite = np.isfinite(sub.joints)
    predicted = finite.all(axis=(-1, -2))  # (N, 2) hands predicted
    partial = finite.any(axis=(-1, -2)) & ~predicted
    if partial.any() or np.isinf(sub.joints).any():
        problem("finite", f"{int(partial.any(axis=1).sum())} rows hold NaN or inf inside a predicted hand",
                "predict all 21 joints of a hand, or leave the whole hand NaN")
    index = {k: i for i, k in enumerate(gt.keys())}
    rows = np.array([index.get(k, -1) for k in keys])
    both = rows >= 0
    if not both.any():
        return problems
    p, g = sub.joints[both], gt.joints[rows[both]]
    ok = predicted[both] & gt.present[rows[both]]
    if ok.any():
        depth = np.nanmedian(p[..., 2][ok])
        bone = np.nanmedian(np.linalg.norm(p[:, :, 9] - p[:, :, 0], axis=-1)[ok])
        if depth > 20 or bone > 1.0:
            problem("units", f"predictions look like millimetres (median depth {depth:.1f}, wrist-to-middle-MCP "
                    f"{bone:.1f})", "divide by 1000: submissions are in metres")
        elif depth < 0 and np.nanmedian(g[..., 2][ok]) > 0:
            problem("frame", "most predicted joints have z < 0: this looks like the OpenGL camera frame",
                    "negate y and z (x, -y, -z): submissions are in the OpenCV frame")
        two = ok.all(axis=1)
        if two.any():  # frames where both hands are predicted and annotated
            straight = np.nanmedian(np.linalg.norm(p[two] - g[two], axis=-1))
            swapped = np.nanmedian(np.linalg.norm(p[two][:, ::-1] - g[two], axis=-1))
            if swapped < 0.5 * straight:
                problem("hands", "predicted hands match the ground truth better when swapped",
                        "put the right hand first: hands are ordered [right, left]")
    return problems


def write_submission(path: str | Path, sub: Submission, rows_per_group: int = 4096) -> Path:
    """Write the canonical Parquet submission, sorted by (sequence, frame, camera) so that scoring
    can read it sequence by sequence. Joints and vertices are stored as float32."""
    from handeval.atomic import atomic_path
    import pyarrow as pa

    order = np.lexsort((sub.camera, sub.frame, sub.sequence))
    n = len(order)

    def fixed(a: np.ndarray) -> pa.Array:
        flat = np.ascontiguousarray(a[order], dtype=np.float32).reshape(n, -1)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])

    cols = {"sequence": pa.array(sub.sequence[order].astype(str)), "frame": pa.array(sub.frame[order].astype(np.int64)),
            "camera": pa.array(sub.camera[order].astype(str)), "joints": fixed(sub.joints)}
    if sub.vertices is not None:
        cols["vertices"] = fixed(sub.vertices)
    if sub.hand_scores is not None:
        cols["hand_scores"] = fixed(sub.hand_scores)
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(cols), tmp, row_group_size=rows_per_group, compression="zstd")
    return path
