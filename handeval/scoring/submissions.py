"""Prediction files: the canonical submission format, the native formats users already have,
and the checks ``handeval check-submission`` runs before anything is scored.

A submission is keyed per view, ``(sequence, frame, camera)`` as in the converted ground
truth, and holds each hand's 21 joints in that camera's OpenCV frame, in metres and the
canonical order (hands ``[right, left]``, NaN for a hand it does not predict), and
optionally 778 vertices per hand. The canonical format is :data:`SUBMISSION_FEATURES`
(``data_specs/submission.schema.json`` is generated from it). Submissions are untrusted:
nothing in them is ever unpickled (``np.load(allow_pickle=False)``, pyarrow, json, plain text).

Native formats read unchanged (``data_specs/submissions.md``):
* HO3D ``pred.json``: ``[xyz_list, verts_list]`` in ``evaluation.txt`` order, metres,
  OpenGL camera frame, MANO joint order, right hand;
* Dex-YCB result txt: ``image_id, x1, y1, z1, ..., z21`` per line (64 fields), millimetres,
  OpenCV, Dex-YCB order; ``image_id`` is the toolkit's sample index of the split.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from handeval.conventions import CV_FROM_GL, HAND_SIDES, MM_PER_M
from handeval.conventions import MANO as MANO_ORDER
from handeval.metrics.errors import nanmean
from handeval.records.schema import KEY_VIEWS, Feature
from handeval.shards.reader import ShardDataset, to_numpy
from handeval.shards.views import ViewTruth
from handeval.util.atomic import atomic_path
from handeval.util.errors import HandevalError, did_you_mean

#: The canonical submission: Parquet columns, or NPZ arrays of the same names; one row per view,
#: keyed as the converted ground truth's views are.
SUBMISSION_KEYS: tuple[Feature, ...] = tuple(
    replace(f, description=f"the view's {f.name}, as in the converted ground truth's views") for f in KEY_VIEWS)
SUBMISSION_VALUES: tuple[Feature, ...] = (
    Feature("joints", "float32", (2, 21, 3), "m", "each hand's 21 joints in the view's OpenCV camera frame, canonical "
            "order, hands [right, left]; NaN for a hand not predicted"),
    Feature("vertices", "float32", (2, 778, 3), "m", "each hand's 778 MANO vertices, same frame and hand order; NaN "
            "for a hand not predicted; enough alone under the protocols that derive joints from the meshes"),
    Feature("hand_scores", "float32", (2,), "", "presence probability of each hand, [right, left], for handedness "
            "accuracy"),
    Feature("mano_pose", "float32", (2, 48), "rad", "each hand's MANO pose, axis-angle: the camera-frame global "
            "orientation, then 15 joints relative to the mean hand (data_specs/zoo.md: the zoo's MANO convention), "
            "for refinement and fitting; NaN for a hand not predicted"),
    Feature("mano_shape", "float32", (2, 10), "", "each hand's MANO shape coefficients (betas)"),
    Feature("mano_trans", "float32", (2, 3), "m", "each hand's MANO translation: with mano_pose and mano_shape, the "
            "MANO layer gives the camera-frame mesh"),
)
SUBMISSION_FEATURES = SUBMISSION_KEYS + SUBMISSION_VALUES
#: Every submission holds the keys and at least one of these; which a protocol needs, `handeval protocols` lists.
SUBMISSION_ANY_OF = ("joints", "vertices")
SUBMISSION_COLUMNS: dict[str, Feature] = {f.name: f for f in SUBMISSION_FEATURES}
#: In memory, vertices keep a Parquet file's float32 (they are large); everything else is float64.
_PARQUET_DTYPES = {"vertices": np.float32}
#: Where a canonical Parquet submission keeps its provenance (JSON), in the file's key-value metadata.
PROVENANCE_KEY = b"handeval.provenance"


def _shape_text(f: Feature) -> str:
    return (f"{' x '.join(map(str, f.shape))} = " if len(f.shape) > 1 else "") + f"{f.size} numbers per row"


_HELP = (f"a submission needs {', '.join(f.name for f in SUBMISSION_KEYS)} and "
         + " and/or ".join(f"{name} ({_shape_text(SUBMISSION_COLUMNS[name])})" for name in SUBMISSION_ANY_OF)
         + "".join(f", optionally {f.name} ({_shape_text(f)})" for f in SUBMISSION_VALUES
                   if f.name not in SUBMISSION_ANY_OF)
         + "; vertices alone suit the protocols that derive joints from the meshes (data_specs/submissions.md)")


def submission_schema() -> dict:
    """The canonical submission format, as ``data_specs/submission.schema.json`` holds it."""
    return {"format": "handeval canonical submission: Parquet columns or NPZ arrays, one row per view",
            "required": [f.name for f in SUBMISSION_KEYS], "required_any_of": list(SUBMISSION_ANY_OF),
            "columns": [f.to_dict() for f in SUBMISSION_FEATURES]}


def _check_fields(path: Path, names, kind: str, ignore=()) -> None:
    """Refuse a file without the keys, with neither joints nor vertices, or with a field the format does not
    have (a misspelt one would otherwise be dropped unnoticed, and the metrics that need it come out n/a)."""
    missing = [f.name for f in SUBMISSION_KEYS if f.name not in names]
    if not set(SUBMISSION_ANY_OF) & set(names):
        missing.append(" or ".join(SUBMISSION_ANY_OF))
    unknown = [n for n in names if n not in SUBMISSION_COLUMNS and n not in ignore]
    if not (missing or unknown):
        return
    said = [f"missing {kind}(s) {', '.join(missing)}"] if missing else []
    for name in unknown:
        close = did_you_mean(name, SUBMISSION_COLUMNS)
        said.append(f"unknown {kind} {name!r}" + (f" (did you mean {close!r}?)" if close else ""))
    if unknown:
        said.append(f"the known {kind}s are {', '.join(SUBMISSION_COLUMNS)}")
    raise HandevalError(f"{path}: {'; '.join(said)}; {_HELP}")


@dataclass
class Submission:
    """A submission read into memory (or built there: ``write_submission`` writes it), one row per view.

    ``path``: the file it was read from, None for one built in memory. ``format``: the format it came
    in (``parquet``, ``npz``, ``ho3d-pred-json``, ``dexycb-txt``, or a name of the builder's). ``sequence``,
    ``frame``, ``camera``: each row's view, as in the converted ground truth's views. ``joints``: (N, 2,
    21, 3) in the view's OpenCV camera frame, metres, canonical order, hands [right, left], NaN for a
    hand not predicted; all NaN when not submitted (then ``has_joints`` is False: a vertex-only
    submission, its joints derived from the meshes). ``vertices``: (N, 2, 778, 3), same frame and hand
    order, or None; ``vertices_unread``: the file has them but they were left unread (a large Parquet
    file's keys and joints, as ``SubmissionSource`` reads them; ``has_vertices`` says either).
    ``hand_scores``: (N, 2) presence probabilities [right, left], or None. ``mano_pose``, ``mano_shape``,
    ``mano_trans``: (N, 2, 48), (N, 2, 10), (N, 2, 3) MANO parameters, or None. ``provenance``: what
    produced the predictions (a zoo run's entry, flags, placement, weights, speed; ``data_specs/zoo.md``),
    kept in a Parquet file's metadata, or None. ``problems``: structural
    facts the reader found (duplicate ids, a wrong vertex count), which ``check_submission`` reports
    as errors.
    """

    path: Path | None
    format: str
    sequence: np.ndarray   # (N,) str
    frame: np.ndarray      # (N,) int64
    camera: np.ndarray     # (N,) str
    joints: np.ndarray     # (N, 2, 21, 3) float64
    vertices: np.ndarray | None = None
    hand_scores: np.ndarray | None = None
    has_joints: bool = True
    problems: list = field(default_factory=list)
    vertices_unread: bool = False
    mano_pose: np.ndarray | None = None
    mano_shape: np.ndarray | None = None
    mano_trans: np.ndarray | None = None
    provenance: dict | None = None

    @property
    def has_vertices(self) -> bool:
        return self.vertices is not None or self.vertices_unread

    def keys(self) -> list[tuple[str, int, str]]:
        return list(zip(self.sequence.tolist(), self.frame.tolist(), self.camera.tolist()))

    def subset(self, rows: np.ndarray) -> "Submission":
        def pick(a):
            return None if a is None else a[rows]

        return Submission(self.path, self.format, self.sequence[rows], self.frame[rows], self.camera[rows],
                          self.joints[rows], pick(self.vertices), pick(self.hand_scores), self.has_joints,
                          vertices_unread=self.vertices_unread, mano_pose=pick(self.mano_pose),
                          mano_shape=pick(self.mano_shape), mano_trans=pick(self.mano_trans),
                          provenance=self.provenance)


class SubmissionSource:
    """A submission read in pieces, so scoring stays within bounded memory.

    Keys, joints and hand scores are read at once (``all``: what ``check_submission``
    needs); ``select(sequences)`` gives the rows of some sequences with their vertices;
    ``vertex_batches()`` streams every row's vertices for the checks. A canonical Parquet
    file is read per selection with a filter on ``sequence`` (row groups are skipped by
    their statistics when the file is sorted by sequence); the other formats are small
    and held in memory.
    """

    def __init__(self, path: str | Path, ds: ShardDataset | None = None, split: str | None = None,
                 keep: int = 2):
        self.path = Path(path)
        if not self.path.is_file():
            raise HandevalError(f"submission {self.path} does not exist")
        self.streaming = self.path.suffix == ".parquet"
        self.all = (_canonical_parquet(self.path, vertices=False) if self.streaming
                    else read_submission(self.path, ds, split))
        self.has_vertices = self.all.has_vertices
        # The last ``keep`` sequences read: scoring asks for a sequence in several chunks in a row.
        self._recent: dict[str, Submission] = {}
        self._verified: set[str] = set()  # sequences whose vertices have been checked for NaN and inf
        self._keep = keep
        self._lock = threading.Lock()

    def select(self, sequences: list[str]) -> list[Submission]:
        """The rows of ``sequences``, one :class:`Submission` per sequence (no copy is made to join them)."""
        if not self.streaming:
            return [self.all.subset(np.isin(self.all.sequence, sequences))]
        with self._lock:
            for s in sequences:
                if s not in self._recent:
                    self._recent[s] = self._read_verified([s])
            parts = [self._recent[s] for s in sequences]
            for s in list(self._recent)[:-max(self._keep, len(sequences))]:
                del self._recent[s]
        return parts

    def _read_verified(self, sequences: list[str]) -> Submission:
        """Rows of ``sequences`` with their vertices, refused on NaN or inf inside a predicted hand:
        scoring reads every vertex once, so the check costs no second pass over a large file."""
        part = _canonical_parquet(self.path, sequences=sequences)
        if part.vertices is not None:
            broken = predicted_hands(part.vertices)[1].any(axis=1)
            if broken.any():
                raise HandevalError(refusal(self.path, [_finite_problem(
                    "vertices", int(broken.sum()), part.keys()[int(np.flatnonzero(broken)[0])])]))
        self._verified.update(sequences)
        return part

    def verify_unread(self, read: set[str], chunk: int = 8) -> None:
        """Check the vertices of the sequences scoring did not ``read`` (a protocol selected none of
        their views), so that ``score`` refuses exactly what ``check-submission`` does."""
        if not (self.streaming and self.has_vertices):
            return
        rest = sorted(set(self.all.sequence.tolist()) - read - self._verified)
        for lo in range(0, len(rest), chunk):
            self._read_verified(rest[lo:lo + chunk])

    def vertex_batches(self, threads: int = 2, rows: int | None = None):
        """(first row, vertices (n, 2, 778, 3) float32) over every row (or the first ``rows``), in file
        order: one row group at a time, the next ``threads`` decoded ahead (decompression releases
        the GIL)."""
        if not self.has_vertices:
            return
        if not self.streaming:
            yield 0, self.all.vertices if rows is None else self.all.vertices[:rows]
            return
        pf = pq.ParquetFile(self.path)
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
        if rows is not None:
            sizes = sizes[:int(np.searchsorted(np.cumsum(sizes), rows)) + 1]
        firsts = np.r_[0, np.cumsum(sizes)[:-1]].astype(int) if sizes else []

        def read(g: int) -> tuple[int, np.ndarray]:
            with pq.ParquetFile(self.path) as own:  # a ParquetFile is not safe to share between threads
                col = own.read_row_group(g, columns=["vertices"]).column(0)
            verts = SUBMISSION_COLUMNS["vertices"].decode(col, str(self.path))
            return int(firsts[g]), verts.astype(np.float32, copy=False)

        with ThreadPoolExecutor(threads) as pool:
            ahead: deque = deque()
            for g in range(len(sizes)):
                ahead.append(pool.submit(read, g))
                if len(ahead) > threads:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()




def _canonical_parquet(path: Path, vertices: bool = True, sequences: list[str] | None = None) -> Submission:
    try:
        schema = pq.read_schema(path)
        names = schema.names
        columns = [f.name for f in SUBMISSION_FEATURES if f.name in names and (vertices or f.name != "vertices")]
        filters = None if sequences is None else pc.field("sequence").isin(list(sequences))
        table = pq.read_table(path, columns=columns, filters=filters)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise HandevalError(f"{path}: not a readable Parquet file ({exc})") from None
    # pandas keeps a non-default index as columns of its own, which are the file's row labels, not its data.
    index = [c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]
    _check_fields(path, names, "column", ignore=index)
    arrays = {f.name: f.decode(table.column(f.name), str(path)).astype(_PARQUET_DTYPES.get(f.name, np.float64),
                                                                       copy=False)
              for f in SUBMISSION_VALUES if f.name in table.column_names}
    return _submission(path, "parquet", table.column("sequence").to_pylist(), table.column("frame").to_pylist(),
                       table.column("camera").to_pylist(), arrays, vertices_unread="vertices" in names and not vertices,
                       provenance=_provenance(path, schema))


def _provenance(path: Path, schema: pa.Schema) -> dict | None:
    text = (schema.metadata or {}).get(PROVENANCE_KEY)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise HandevalError(f"{path}: its {PROVENANCE_KEY.decode()} metadata is not a JSON object; rewrite the file "
                            "with handeval.scoring.write_submission, or drop the metadata")
    return value


def _submission(path: Path, fmt: str, sequence, frame, camera, arrays: dict, vertices_unread: bool = False,
                provenance: dict | None = None) -> Submission:
    n = len(sequence)
    joints = arrays.get("joints")
    optional = {f.name: arrays.get(f.name) for f in SUBMISSION_VALUES if f.name != "joints"}
    return Submission(path, fmt, np.asarray(sequence, dtype=str), np.asarray(frame, dtype=np.int64),
                      np.asarray(camera, dtype=str), np.full((n, 2, 21, 3), np.nan) if joints is None else joints,
                      has_joints=joints is not None, vertices_unread=vertices_unread, provenance=provenance,
                      **optional)


def _canonical_npz(path: Path) -> Submission:
    import zipfile

    if not zipfile.is_zipfile(path):  # np.load would try to unpickle it and say so
        raise HandevalError(f"{path}: not an .npz archive; write the submission with np.savez (arrays sequence, frame, "
                            "camera, joints and/or vertices) or as Parquet")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise HandevalError(f"{path}: {exc}. Submissions are never unpickled: store sequence and camera as fixed-width "
                            "strings (np.array(names, dtype=str)), not Python objects") from None
    except (OSError, EOFError) as exc:
        raise HandevalError(f"{path}: not a readable .npz file ({exc})") from None
    _check_fields(path, data, "array")
    n = len(data["sequence"])
    arrays = {}
    for f in SUBMISSION_VALUES:
        if f.name in data:
            if data[f.name].shape != (n,) + f.shape:
                raise HandevalError(f"{path}: {f.name!r} has shape {data[f.name].shape}, expected {(n,) + f.shape}: "
                                    "per view, [right, left] hands, canonical joint order, metres")
            arrays[f.name] = data[f.name].astype(np.float64)
    return _submission(path, "npz", data["sequence"].astype(str), data["frame"], data["camera"].astype(str), arrays)


def _ho3d_json(path: Path, ds: ShardDataset, split: str) -> Submission:
    try:
        xyz, verts = json.loads(path.read_text())
    except (ValueError, TypeError) as exc:
        raise HandevalError(f"{path}: expected HO3D's pred.json, a JSON array [xyz_list, verts_list] ({exc})") from None
    order = _ho3d_order(ds, split)
    if len(xyz) != len(order) or len(verts) != len(order):
        raise HandevalError(f"{path}: {len(xyz)} joint and {len(verts)} vertex entries; evaluation.txt lists "
                            f"{len(order)} frames, and pred.json must follow its order exactly")
    n = len(order)
    arrays = {"joints": np.full((n, 2, 21, 3), np.nan)}
    arrays["joints"][:, 0] = MANO_ORDER.to_canonical(_ragged(xyz, (21, 3), path, "joint") @ CV_FROM_GL.T)
    counts = np.array([len(v) if isinstance(v, list) else -1 for v in verts])
    problems = []
    if (counts == 778).all() and n:
        arrays["vertices"] = np.full((n, 2, 778, 3), np.nan)
        arrays["vertices"][:, 0] = _ragged(verts, (778, 3), path, "vertex") @ CV_FROM_GL.T
    elif not (counts == 0).all():  # all empty: no vertices, the joint metrics only
        i = int(np.flatnonzero(counts != 778)[0])
        problems.append({"check": "shapes", "severity": "error",
                         "message": f"{int((counts != 778).sum())} vertex entries do not hold 778 vertices (entry {i} "
                                    f"holds {counts[i]})",
                         "fix": "give the 778 MANO vertices of every frame, or [] for none in every frame"})
    seq, frame = zip(*order) if n else ((), ())
    sub = _submission(path, "ho3d-pred-json", seq, frame, ["0"] * n, arrays)
    sub.problems = problems
    return sub


def _ragged(entries: list, shape: tuple[int, ...], path: Path, what: str) -> np.ndarray:
    """A list of equally shaped nested lists as one array; the first odd entry is named."""
    try:
        return np.asarray(entries, dtype=np.float64).reshape((len(entries),) + shape)
    except (ValueError, TypeError):
        for i, e in enumerate(entries):
            try:
                if np.asarray(e, dtype=np.float64).shape != shape:
                    raise ValueError
            except (ValueError, TypeError):
                raise HandevalError(f"{path}: {what} entry {i} is not {' x '.join(map(str, shape))} numbers "
                                    "(a ragged or malformed list)") from None
        raise HandevalError(f"{path}: {what} entries are not {' x '.join(map(str, shape))} numbers") from None


def _ho3d_order(ds: ShardDataset, split: str) -> list[tuple[str, int]]:
    """(sequence id, frame) in evaluation.txt's order: the HO3D reader records where each
    sequence's frames sit in the list (``meta.list_rows``, [first row, count] runs)."""
    frames = ds.read("frames", split, columns=["sequence", "frame"])
    keys = list(zip(frames.column("sequence").to_pylist(), frames.column("frame").to_pylist()))
    runs = [run for shard in ds.manifest.splits[split].shards for s in shard.sequences
            for run in s.meta.get("list_rows", [])]
    if not runs:  # converted before the rows were recorded: the shards' order
        return keys
    rows = np.concatenate([np.arange(start, start + n) for start, n in runs])
    return [keys[i] for i in np.argsort(rows, kind="stable")]


def _dexycb_txt(path: Path, ds: ShardDataset, split: str) -> Submission:
    """The toolkit's result file, keyed by its sample index. As in ``hpe_eval``, a line for a
    view without a hand (its label file all -1) is ignored, whatever it holds (zeros, say)."""
    from handeval.readers.dexycb import camera_serials

    # The toolkit's sample index: sequences in split order, then cameras in split order, then frames.
    cam_order = camera_serials(split)
    views = to_numpy(ds.read("views", split, columns=["sequence", "frame", "camera", "hand_present"]), "views")
    seq_pos = {name: i for i, name in enumerate(ds.sequences(split))}
    cam_pos = {serial: i for i, serial in enumerate(cam_order)}
    order = sorted(range(len(views["frame"])), key=lambda i: (seq_pos[views["sequence"][i]],
                                                                cam_pos[views["camera"][i]], views["frame"][i]))
    ids, values, lines = [], [], {}
    problems = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 64:
            raise HandevalError(f"{path}:{lineno}: {len(fields)} fields, expected 64 comma-separated "
                                "(image_id, then 21 x,y,z in mm, as the Dex-YCB toolkit writes them)")
        try:
            image_id = int(fields[0])
            values.append(np.asarray(fields[1:], dtype=np.float64).reshape(21, 3))
        except ValueError:
            raise HandevalError(f"{path}:{lineno}: fields must be an integer id and 63 numbers") from None
        if image_id in lines:
            problems.append({"check": "duplicates", "severity": "error",
                             "message": f"image_id {image_id} is on lines {lines[image_id]} and {lineno}",
                             "fix": "write one line per image id (the toolkit would silently keep the last)"})
        lines.setdefault(image_id, lineno)
        ids.append(image_id)
    bad = [i for i in ids if not 0 <= i < len(order)]
    if bad:
        raise HandevalError(f"{path}: image_id {bad[0]} is outside the split's {len(order)} samples "
                            f"(0..{len(order) - 1})")
    rows = np.asarray(order, dtype=np.int64)[np.asarray(ids, dtype=np.int64)] if ids else np.zeros(0, np.int64)
    present = views["hand_present"][rows]                                # (n, 2): the sequence's one hand
    joints = np.full((len(rows), 2, 21, 3), np.nan)
    mm = np.stack(values) / MM_PER_M if values else np.zeros((0, 21, 3))
    joints[:] = np.where(present[:, :, None, None], mm[:, None], np.nan)
    sub = _submission(path, "dexycb-txt", views["sequence"][rows], views["frame"][rows], views["camera"][rows],
                      {"joints": joints})
    sub.problems = problems
    return sub


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


#: What one number in each format's file is, in metres, and the unit's name there.
_FILE_UNIT = {"dexycb-txt": (1e-3, "millimetres")}
_UNIT_NAMES = {1.0: "metres", 1e-1: "decimetres", 1e-2: "centimetres", 1e-3: "millimetres", 1e-4: "tenths of a mm"}
#: HO3D's pred.json is in the OpenGL frame, the other formats in OpenCV's.
_FRAME_FIX = {"ho3d-pred-json": "negate y and z (x, -y, -z): pred.json is in the OpenGL camera frame (hand at -z)"}


def predicted_hands(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, P, 3) -> which hands are predicted (not all NaN) and which of those are broken
    (some value NaN or inf), each (n, 2)."""
    predicted = ~np.isnan(points).all(axis=(-1, -2))
    return predicted, predicted & ~np.isfinite(points).all(axis=(-1, -2))


def _finite_problem(what: str, rows: int, example) -> dict:
    n = 21 if what == "joints" else 778
    return {"check": "finite", "severity": "error",
            "message": f"{rows} rows hold NaN or inf inside a predicted hand's {what}, e.g. {example}",
            "fix": f"predict all {n} {what} of a hand, or leave the whole hand NaN"}


def refusal(path, problems: list[dict], hint: str = "") -> str:
    """The one message ``score`` refuses a submission with: its first problems and their fixes."""
    errors = any(p["severity"] == "error" for p in problems)
    return (f"{path} " + ("is not a valid submission: " if errors else "is refused under --strict: ")
            + "; ".join(f"[{p['check']}] {p['message']} (fix: {p['fix']})" for p in problems[:3]) + hint)


#: Views the units, frame and hand-order checks measure (medians over them): a strided sample of
#: the joints, and the first rows' vertices (778 per hand: a few thousand views are plenty).
SCALE_SAMPLE = 20_000
VERTEX_SAMPLE = 2_048


def _spread(points: np.ndarray) -> np.ndarray:
    """(..., P, 3) -> (...) root-mean-square distance of the finite points from their centroid."""
    c = nanmean(points, axis=-2, keepdims=True)
    return np.sqrt(nanmean(np.sum((points - c) ** 2, axis=-1), axis=-1))


def check_submission(sub: Submission, gt: ViewTruth, protocol=None, vertex_batches=None) -> list[dict]:
    """Every problem found, each ``{check, severity, message, fix}``.

    Severity ``error``: a fact that makes the scores wrong (keys, shapes, a field ``protocol.needs()``
    requires missing, a hand missing or in the wrong slot, NaN or inf inside a predicted hand, units
    off by 10x or more); ``score`` refuses.
    Severity ``warning``: a heuristic a poor model can trip (a likely left/right swap, a likely
    OpenGL/OpenCV flip); ``score`` records it and scores anyway (``--strict`` refuses).
    ``vertex_batches``: an iterator of (first row, vertices), for submissions too large to hold.
    """
    problems: list[dict] = list(sub.problems)

    def problem(check: str, message: str, fix: str, severity: str = "error") -> None:
        problems.append({"check": check, "severity": severity, "message": message, "fix": fix})

    keys = sub.keys()
    counts = Counter(keys)
    dup = [k for k, c in counts.items() if c > 1]
    if dup and not any(p["check"] == "duplicates" for p in problems):  # the reader named them more precisely
        problem("duplicates", f"{len(dup)} duplicate keys, e.g. {dup[0]}", "keep one row per (sequence, frame, camera)")
    all_keys = gt.keys()
    index = {k: i for i, k in enumerate(all_keys)}
    # Views without an annotated hand need no prediction (Dex-YCB's evaluator skips them too).
    want = {k for k, p in zip(all_keys, gt.present.any(axis=1)) if p}
    missing, extra = want - counts.keys(), counts.keys() - index.keys()
    if missing:
        problem("missing", f"{len(missing)} of {len(want)} ground-truth views with a hand have no prediction, e.g. "
                f"{sorted(missing)[0]}", "predict every view of the split (see `handeval info`)")
    if extra:
        problem("extra", f"{len(extra)} keys are not in the ground truth, e.g. {sorted(extra)[0]}",
                "key rows by the converted dataset's sequence, frame and camera, and leave out other splits")
    given = {"joints": sub.has_joints, "vertices": sub.has_vertices, "hand_scores": sub.hand_scores is not None}
    for name, need in (protocol.needs() if protocol is not None else {}).items():
        if need == "required" and not given[name]:
            problem("fields", f"no {name}: protocol {protocol.name} requires them",
                    f"submit {name} ({_shape_text(SUBMISSION_COLUMNS[name])}); `handeval protocols` lists what "
                    "each protocol requires")
    if not any(given[name] for name in SUBMISSION_ANY_OF):
        problem("fields", "neither joints nor vertices", _HELP)
    rows = np.array([index.get(k, -1) for k in keys], dtype=np.int64)

    # Which hands the submission predicts, and whether a predicted hand holds NaN or inf.
    predicted = np.zeros((len(keys), 2), dtype=bool)
    sample = []  # vertex rows kept for the units and frame checks
    if sub.has_joints:
        predicted, broken = predicted_hands(sub.joints)
        broken = broken.any(axis=1)
        if broken.any():
            problems.append(_finite_problem("joints", int(broken.sum()), keys[int(np.flatnonzero(broken)[0])]))
    batches = (vertex_batches if vertex_batches is not None
               else ([(0, sub.vertices)] if sub.vertices is not None else []))
    bad_rows, vert_predicted = 0, np.zeros((len(keys), 2), dtype=bool)
    first_bad = None
    for first, verts in batches:
        pv, broken = predicted_hands(verts)
        vert_predicted[first:first + len(verts)] = pv
        broken = broken.any(axis=1)
        if broken.any() and first_bad is None:
            first_bad = keys[first + int(np.flatnonzero(broken)[0])]
        bad_rows += int(broken.sum())
        if first < VERTEX_SAMPLE:  # the heuristics need a sample, not every row
            sample.append((first, verts[:VERTEX_SAMPLE - first]))
    if bad_rows:
        problems.append(_finite_problem("vertices", bad_rows, first_bad))
    if not sub.has_joints:
        predicted = vert_predicted

    known = rows >= 0
    if not known.any():
        return problems
    gp = gt.present[rows[known]]
    pp = predicted[known]
    lacking = gp & ~pp
    if lacking.any():
        wrong_slot = (lacking & pp[:, ::-1] & ~gp[:, ::-1]).any(axis=1)
        k = np.flatnonzero(known)
        if wrong_slot.any():
            i = int(np.flatnonzero(wrong_slot)[0])
            side = HAND_SIDES[int(np.argmax(lacking[i]))]
            problem("hands", f"{int(wrong_slot.sum())} views predict only the other hand where only the {side} hand is "
                    f"annotated, e.g. {keys[k[i]]}", "hands are ordered [right, left]: put each hand in its own slot")
        rest = lacking.any(axis=1) & ~wrong_slot
        if rest.any():
            i = int(np.flatnonzero(rest)[0])
            problem("missing", f"{int(rest.sum())} views leave an annotated hand unpredicted (NaN), e.g. {keys[k[i]]} "
                    f"{HAND_SIDES[int(np.argmax(lacking[i]))]} hand", "predict every annotated hand of every view")
    _check_scale(sub, gt, rows, predicted, sample, problem)
    return problems


def _check_scale(sub: Submission, gt: ViewTruth, rows: np.ndarray, predicted: np.ndarray, sample: list,
                 problem) -> None:
    """Units (a fact when 10x or more off), then the heuristics: camera frame and hand order."""
    unit, unit_name = _FILE_UNIT.get(sub.format, (1.0, "metres"))
    measured = []
    if sub.has_joints:  # medians: a strided sample of views is enough, and keeps this cheap on large splits
        at = np.arange(0, len(rows), max(1, len(rows) // SCALE_SAMPLE))
        measured.append(("joints", at, sub.joints[at]))
    for first, verts in sample:
        measured.append(("vertices", np.arange(first, first + len(verts)), verts))
    wrong_units = set()
    for what, at, points in measured:
        r = rows[at]
        ok = (r >= 0) & predicted[at].any(axis=1)
        if not ok.any():
            continue
        both = predicted[at][ok] & gt.present[r[ok]]
        points = points[ok].astype(np.float64)
        if what == "joints":  # joints the ground truth lacks are not scored, whatever they hold
            points = np.where(gt.valid[r[ok]][..., None], points, np.nan)
        size_p = _spread(points)
        size_g = _spread(gt.joints[r[ok]])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.nanmedian(np.where(both & (size_g > 0), size_p / size_g, np.nan))
        if not np.isfinite(ratio) or ratio <= 0:
            continue
        k = int(np.round(np.log10(ratio)))
        if k != 0:
            if what not in wrong_units:
                looks = _UNIT_NAMES.get(round(unit / 10.0 ** k, 10), f"{unit / 10.0 ** k:g} m")
                problem("units", f"predicted {what} are {ratio:.3g}x the size of the ground truth's hands: they look "
                        f"like {looks}",
                        f"multiply every {'joint' if what == 'joints' else 'vertex'} coordinate by {10.0 ** -k:g}: "
                        f"{sub.format} submissions are in {unit_name}")
            wrong_units.add(what)
            continue
        if wrong_units:  # the heuristics below read positions, which are meaningless at the wrong scale
            continue
        z_p = np.nanmedian(points[..., 2][np.repeat(both[:, :, None], points.shape[2], axis=2)]) \
            if both.any() else np.nan
        z_g = np.nanmedian(gt.joints[r[ok]][..., 2][np.repeat(both[:, :, None], 21, axis=2)]) if both.any() else np.nan
        if z_p < 0 < z_g:
            problem("frame", f"most predicted {what} have z < 0 while the hands are in front of the camera: this looks "
                    "like the OpenGL camera frame", _FRAME_FIX.get(sub.format, "negate y and z (x, -y, -z): "
                    "submissions are in the OpenCV camera frame (z forward)"), severity="warning")
        two = both.all(axis=1)
        if two.any() and what == measured[0][0]:
            cp = nanmean(points[two], axis=-2)                            # (n, 2, 3) hand centres
            cg = nanmean(gt.joints[r[ok]][two], axis=-2)
            straight = np.nanmedian(np.linalg.norm(cp - cg, axis=-1))
            swapped = np.nanmedian(np.linalg.norm(cp[:, ::-1] - cg, axis=-1))
            if swapped < 0.5 * straight:
                problem("hands", "predicted hands lie closer to the ground truth's when swapped (a likely left/right "
                        "swap)", "check the hand order: hands are ordered [right, left]", severity="warning")


def write_submission(path: str | Path, sub: Submission, rows_per_group: int = 4096) -> Path:
    """Write the canonical Parquet submission (:data:`SUBMISSION_FEATURES`), sorted by (sequence, frame,
    camera) so that scoring can read it sequence by sequence."""
    order = np.lexsort((sub.camera, sub.frame, sub.sequence))
    cols = {f.name: f.encode(getattr(sub, f.name)[order], len(order)) for f in SUBMISSION_FEATURES
            if getattr(sub, f.name) is not None and (f.name != "joints" or sub.has_joints)}
    table = pa.table(cols)
    if sub.provenance is not None:
        table = table.replace_schema_metadata({PROVENANCE_KEY: json.dumps(sub.provenance, sort_keys=True)})
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, row_group_size=rows_per_group, compression="zstd")
    return path
