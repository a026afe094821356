"""MANO model files: find, read (official chumpy pkl, plain pkl or npz), validate, import.

The official ``MANO_RIGHT.pkl``/``MANO_LEFT.pkl`` pickle ``shapedirs`` as a chumpy object,
and chumpy does not import on Python 3.11 with numpy 2. We never import chumpy: a
restricted unpickler maps chumpy and scipy.sparse classes to inert stubs that keep the
pickled state, and the arrays are rebuilt from that state (``data_specs/geometry.md`` §1.2). The
same reader serves the user's files and the synthetic stand-in, so both take one path.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse

from handeval.util import safe_pickle
from handeval.util.atomic import atomic_path
from handeval.util.errors import HandevalError
from handeval.util.safe_pickle import Stub

NUM_VERTS = 778
NUM_FACES = 1538
NUM_JOINTS = 16
NUM_BETAS = 10
NUM_POSE_BASIS = 135
NUM_HAND_POSE = 45

#: Keys smplx.MANO needs, with the shape the official files have.
REQUIRED_SHAPES: dict[str, tuple[int, ...]] = {
    "v_template": (NUM_VERTS, 3),
    "f": (NUM_FACES, 3),
    "shapedirs": (NUM_VERTS, 3, NUM_BETAS),
    "posedirs": (NUM_VERTS, 3, NUM_POSE_BASIS),
    "J_regressor": (NUM_JOINTS, NUM_VERTS),
    "weights": (NUM_VERTS, NUM_JOINTS),
    "kintree_table": (2, NUM_JOINTS),
    "hands_components": (NUM_HAND_POSE, NUM_HAND_POSE),
    "hands_mean": (NUM_HAND_POSE,),
}
#: Keys the official files carry but smplx ignores; checked when present (None = any length).
OPTIONAL_SHAPES: dict[str, tuple[int | None, ...]] = {
    "hands_coeffs": (None, NUM_HAND_POSE),
    "J": (NUM_JOINTS, 3),
}
INTEGER_KEYS = ("f", "kintree_table")
#: Marker key that every file written by the synthetic stand-in carries.
SYNTHETIC_KEY = "handeval_synthetic"
ENV_VAR = "HANDEVAL_MANO_DIR"
SIDES = ("right", "left")
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

_HOW_TO_GET = (
    "Pass --mano-dir DIR or set HANDEVAL_MANO_DIR to a folder holding MANO_RIGHT and MANO_LEFT "
    "(the official .pkl files from https://mano.is.tue.mpg.de, or the .npz files written by "
    "`handeval mano import SRC DST`)"
)


@dataclass
class ModelFile:
    """The validated arrays of one MANO model file."""

    path: Path
    side: str
    arrays: dict[str, np.ndarray]
    synthetic: bool
    had_chumpy: bool = False


# --- chumpy and scipy.sparse objects, rebuilt from their pickled state ----------------
def _materialise(obj, key: str):
    """Turn stubs into numpy arrays (chumpy objects are evaluated, sparse matrices densified)."""
    if not isinstance(obj, Stub):
        return obj
    state = obj.state if isinstance(obj.state, dict) else {}
    if obj.module.startswith("scipy.sparse"):
        try:
            shape = state.get("_shape", state.get("shape"))
            mat = scipy.sparse.csc_matrix if "csc" in obj.name else scipy.sparse.csr_matrix
            return mat((state["data"], state["indices"], state["indptr"]), shape=shape).toarray()
        except (KeyError, TypeError, ValueError) as exc:
            raise HandevalError(f"key {key!r}: cannot rebuild the sparse matrix {obj.name} ({exc})") from None
    if "x" in state:  # chumpy.ch.Ch: a plain array wrapper
        return np.asarray(_materialise(state["x"], key))
    if obj.name == "Select" and "a" in state:  # chumpy.reordering.Select
        base = np.asarray(_materialise(state["a"], key))
        out = base.ravel()[np.asarray(state["idxs"])]
        shape = state.get("preferred_shape")
        return out.reshape(shape) if shape is not None else out
    raise HandevalError(
        f"key {key!r} holds a chumpy {obj.name} object that handeval cannot evaluate; convert "
        "the file in a Python 2 / chumpy environment with smplx's tools/clean_ch.py"
    )


def _load_pickle(path: Path) -> tuple[dict, bool]:
    data, stubbed = safe_pickle.load(path, stub_modules=("chumpy", "scipy.sparse"))
    if not isinstance(data, dict):
        raise HandevalError(f"{path}: expected a pickled dict of MANO arrays, found {type(data).__name__}")
    return {k: _materialise(v, k) for k, v in data.items()}, "chumpy" in stubbed


def read_model_file(path: str | os.PathLike, side: str | None = None) -> ModelFile:
    """Read and validate a MANO model file (.pkl with or without chumpy, or .npz)."""
    path = Path(path)
    if not path.is_file():
        raise HandevalError(f"MANO model file {path} does not exist. {_HOW_TO_GET}.")
    side = side or side_from_filename(path)
    had_chumpy = False
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                data = {k: npz[k] for k in npz.files}
        else:
            data, had_chumpy = _load_pickle(path)
    except HandevalError as exc:
        raise HandevalError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError,
            AttributeError, ImportError, IndexError, TypeError, UnicodeDecodeError) as exc:
        raise HandevalError(
            f"cannot read MANO model file {path}: the file is corrupt or not a MANO model "
            f"({type(exc).__name__}: {exc}). Re-download it, or re-run `handeval mano import`."
        ) from None
    arrays = validate_arrays(data, path)
    synthetic = bool(np.asarray(data.get(SYNTHETIC_KEY, False)).item()) if SYNTHETIC_KEY in data else False
    return ModelFile(path=path, side=side, arrays=arrays, synthetic=synthetic, had_chumpy=had_chumpy)


def side_from_filename(path: Path) -> str:
    stem = path.name.upper()
    if "RIGHT" in stem:
        return "right"
    if "LEFT" in stem:
        return "left"
    raise HandevalError(f"{path}: cannot tell the hand side; name the file MANO_RIGHT.* or MANO_LEFT.*")


def validate_arrays(data: dict, path: Path) -> dict[str, np.ndarray]:
    """Check every key's presence, shape, dtype and values; return the arrays handeval keeps."""
    out: dict[str, np.ndarray] = {}
    for key, expected in REQUIRED_SHAPES.items():
        if key not in data:
            raise HandevalError(
                f"{path}: key {key!r} is missing; a MANO model file must hold "
                f"{', '.join(REQUIRED_SHAPES)}"
            )
        out[key] = _check_array(data[key], key, expected, path)
    for key, expected in OPTIONAL_SHAPES.items():
        if key in data:
            out[key] = _check_array(data[key], key, expected, path)
    for key in ("bs_style", "bs_type"):
        if key in data:
            out[key] = np.asarray(str(np.asarray(data[key])))
    faces = out["f"]
    if faces.min() < 0 or faces.max() >= NUM_VERTS:
        raise HandevalError(f"{path}: key 'f' indexes vertices {faces.min()}..{faces.max()}, "
                            f"expected 0..{NUM_VERTS - 1}")
    parents = out["kintree_table"][0].astype(np.int64)
    parents[0] = -1  # the official files store 2**32 - 1 in a uint32 array
    if tuple(parents) != MANO_PARENTS:
        raise HandevalError(
            f"{path}: key 'kintree_table' row 0 is {tuple(parents)}, expected MANO's tree {MANO_PARENTS}"
        )
    return out


def _check_array(value, key: str, expected: tuple[int | None, ...], path: Path) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object:
        raise HandevalError(f"{path}: key {key!r} holds {type(value).__name__} objects, expected a numeric array")
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        shown = tuple("N" if e is None else e for e in expected)
        raise HandevalError(f"{path}: key {key!r} has shape {arr.shape}, expected {shown}")
    if key in INTEGER_KEYS:
        if arr.dtype.kind not in "iu":
            raise HandevalError(f"{path}: key {key!r} has dtype {arr.dtype}, expected integers")
    elif arr.dtype.kind != "f" or not np.isfinite(arr).all():
        raise HandevalError(f"{path}: key {key!r} must be finite floats (dtype {arr.dtype})")
    return arr


# --- locating model files -----------------------------------------------------------
_SUBDIRS = ("", "mano", "models", "mano_v1_2/models")


def find_model_file(mano_dir: Path, side: str) -> Path:
    """``MANO_{SIDE}.npz`` (preferred) or ``.pkl`` in the folder or its usual subfolders."""
    stem = f"MANO_{side.upper()}"
    for sub in _SUBDIRS:
        for ext in (".npz", ".pkl"):
            candidate = mano_dir / sub / f"{stem}{ext}"
            if candidate.is_file():
                return candidate
    raise HandevalError(f"no {stem}.npz or {stem}.pkl in MANO directory {mano_dir}. {_HOW_TO_GET}.")


def resolve_mano_dir(mano_dir: str | os.PathLike | None) -> Path | None:
    """The user's MANO directory (option, else ``HANDEVAL_MANO_DIR``), or None for the stand-in."""
    source = "--mano-dir"
    if mano_dir is None or str(mano_dir) == "":
        mano_dir, source = os.environ.get(ENV_VAR) or None, ENV_VAR
    if mano_dir is None:
        return None
    path = Path(mano_dir).expanduser()
    if not path.is_dir():
        raise HandevalError(f"MANO directory {path} (from {source}) does not exist. {_HOW_TO_GET}.")
    return path


# --- import -------------------------------------------------------------------------
def write_model_npz(model: ModelFile, dst: Path) -> None:
    """Write validated arrays as a pickle-free .npz that smplx and handeval both load."""
    arrays = dict(model.arrays)
    if model.synthetic:
        arrays[SYNTHETIC_KEY] = np.asarray(True)
    with atomic_path(dst, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def import_models(src: str | os.PathLike, dst: str | os.PathLike) -> list[tuple[ModelFile, Path]]:
    """Convert the model file(s) at ``src`` (a file or a folder) into ``dst/MANO_{SIDE}.npz``."""
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    if src.is_file():
        sources = [src]
    elif src.is_dir():
        sources = []
        for side in SIDES:
            try:
                sources.append(find_model_file(src, side))
            except HandevalError:
                pass
        if not sources:
            raise HandevalError(f"no MANO_RIGHT or MANO_LEFT model file under {src}. {_HOW_TO_GET}.")
    else:
        raise HandevalError(f"{src} does not exist: give the official MANO_RIGHT.pkl/MANO_LEFT.pkl or their folder")
    if dst.exists() and not dst.is_dir():
        raise HandevalError(f"destination {dst} is a file; give a folder for MANO_RIGHT.npz and MANO_LEFT.npz")
    written = []
    for path in sources:
        model = read_model_file(path)
        out = dst / f"MANO_{model.side.upper()}.npz"
        write_model_npz(model, out)
        written.append((model, out))
    return written
