"""HIC ("Hands in action", Tzionas et al. IJCV 2016): the raw download -> canonical records.

Layout and sources: ``data_specs/datasets.md``, HIC (and its Sources). Every frame of
a sequence folder ``NN`` with an image in ``NN/1/rgb`` or a fit is a frame (a missing image
is counted, not a reason to drop the frame); hands are those with a MANO fit in the
``IJCV16___fakeGT___IJCV___NN___Model_Hand_{R,L}___ncomps45`` folders. The fits' ``v``
(778 x 3, metres, camera frame) is the ground-truth mesh and ``J_transformed___j21`` the
3D joints (MANO order, inferred). 2D joints exist on every 5th frame; ``0 0`` rows are
missing joints. The camera is fixed (f = 525, c = (319.5, 239.5)) and the camera frame is
the world frame. Sequences 01-14 come from the hand-hand download, 15-21 from the
hand-object one; the sequence index records which. HIC is test-only.

Where InterWild's ``HIC.json`` lies in the root (``data_specs/datasets.md``, ``HIC.json``), it defines
the test frames, as InterWild's loader does: its annotations, their ``hand_type``, and the
``.ply`` meshes they name (null: no ground truth for that hand), which are the ground-truth
vertices InterWild scores. An annotation without any mesh or whose mesh file does not
exist, an image it does not list and a fitted frame it does not list are reported (``left_out`` in the manifest and
``handeval convert``'s output), never dropped in silence; a missing mesh, or a missing fit
beside a listed mesh, is also counted with the missing source files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from handeval.conventions import HAND_SIDES, hand_types, hic28_to_canonical
from handeval.conventions import MANO as MANO_ORDER
from handeval.mano import ManoConvention
from handeval.readers import sources
from handeval.readers.base import DatasetReader
from handeval.records.sequence import SequenceRecords
from handeval.util.errors import HandevalError

HIC_CAMERA = {"focal": 525.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}
ANNOTATION_STEP = 5
FITS_ROOT = "IJCV16___Results_MANO___parms_for___joints21"
INDEX_FILE = "HIC.json"
FIT_FOLDER = "IJCV16___fakeGT___IJCV___{nn}___Model_Hand_{side}___ncomps45"
#: The fits' pose convention is undocumented (data_specs/datasets.md, HIC): assumed axis-angle
#: relative to the mean pose with the original (unfixed) left model; ``v`` is the ground truth.
MANO_CONVENTION = ManoConvention(pose_space="axis_angle", flat_hand_mean=False, fix_left_shapedirs=False,
                                 tips="manopth")


PLY = "a MANO fit's .ply mesh with 778 vertices"
FIT = "a HIC MANO fit pickle (pose, betas, trans, v, J_transformed___j21)"
POINTS_2D = "HIC 2D joints: 28 lines 'index<TAB>x<TAB>y'"
INDEX = ("InterWild's HIC.json (COCO images[] with id/file_name and annotations[] with image_id/hand_type/"
         "right_mano_path/left_mano_path)")


def _ply_vertices(path: Path) -> np.ndarray:
    """Faces are ignored and ascii or binary both load, as InterWild reads them."""
    # 0.8 s to import: only HIC.json's meshes need it, not every command (the command line imports the readers)
    import trimesh

    return np.asarray(trimesh.load(path, process=False, force="mesh").vertices, dtype=np.float64)


def _read_ply(path: Path) -> np.ndarray:
    verts = sources.load(path, _ply_vertices, PLY)
    if verts.shape != (778, 3):
        raise sources.corrupt(path, PLY, f"{len(verts)} vertices")
    return verts


def _read_2d(path: Path) -> np.ndarray:
    """(28, 2) pixel coordinates, NaN for rows written as ``0 0``."""
    text = sources.load(path, sources.text_file, POINTS_2D)
    with sources.fields(path, POINTS_2D):
        rows = [ln.split("\t") for ln in text.splitlines() if ln.strip()]
        pts = np.array([[float(r[1]), float(r[2])] for r in rows]).reshape(28, 2)
    pts[(pts == 0).all(axis=1)] = np.nan
    return pts


def _read_fit(path: Path) -> dict:
    fit = sources.load(path, sources.pickle_file, FIT, keys=("pose", "betas", "trans", "v", "J_transformed___j21"))
    with sources.fields(path, FIT):
        return {"v": np.asarray(fit["v"], dtype=np.float64).reshape(778, 3),
                "joints": MANO_ORDER.to_canonical(
                    np.asarray(fit["J_transformed___j21"], dtype=np.float64).reshape(21, 3)),
                "pose": np.asarray(fit["pose"], dtype=np.float64).reshape(48),
                "betas": np.asarray(fit["betas"], dtype=np.float64).reshape(10),
                "trans": np.asarray(fit["trans"], dtype=np.float64).reshape(3)}


class HIC(DatasetReader):
    """Reader of the HIC raw download (sequence folders plus the MANO-fits folder)."""

    key = "hic"
    name = "HIC"
    default_splits_help = "test (its only split)"
    version = "IJCV16"

    def __init__(self, root: str | Path, progress: bool = False):
        super().__init__(root, progress)
        # A sequence is a folder NN with images or fits: a frame whose image is missing is kept
        # (and its image counted as missing by the driver), never dropped.
        self._numbers = sorted(p.name for p in self.root.iterdir() if re.fullmatch(r"\d\d", p.name)
                               and ((p / "1" / "rgb").is_dir() or self._fit_folders(p.name))) \
            if self.root.is_dir() else []
        index_path = self.root / INDEX_FILE
        if not self._numbers and not index_path.is_file():
            raise HandevalError(f"{self.root} is not a HIC root: expected sequence folders NN/1/rgb (01..21) and "
                                f"{FITS_ROOT}/ as unpacked from the official download")
        self._missing: list[str] = []
        self._index, self._left_out = self._read_index(index_path)

    @property
    def variant(self) -> str:
        return "InterWild's HIC.json frames" if self._index is not None else "raw download (every frame)"

    def _fit_folders(self, nn: str) -> list[Path]:
        folders = [self.root / FITS_ROOT / FIT_FOLDER.format(nn=nn, side=side) for side in ("R", "L")]
        return [f for f in folders if f.is_dir()]

    def _read_index(self, path: Path):
        """HIC.json -> {NN: [(fff, hand_type, right .ply or None, left .ply or None)]}, and what it
        leaves out (None when there is no HIC.json). Frames are stored in frame order; InterWild's
        file order changes no number, every aggregate being a mean over entries."""
        if not path.is_file():
            return None, []
        data = sources.load(path, sources.json_file, INDEX, keys=("images", "annotations"))
        with sources.fields(path, INDEX):
            images = {im["id"]: im["file_name"] for im in data["images"]}
            anns = list(data["annotations"])
        index: dict[str, list] = {}
        left_out = []
        for i, ann in enumerate(anns):
            with sources.fields(path, f"{INDEX}; annotations[{i}] names an image NN/1/rgb/fff.png"):
                name = images[ann["image_id"]]
                nn, _, _, file = name.split("/")
                fff = file.rsplit(".", 1)[0]
                paths = [ann[f"{side}_mano_path"] for side in HAND_SIDES]
                hand_type = ann["hand_type"]
            if hand_type not in ("right", "left", "interacting"):
                raise sources.corrupt(path, INDEX, f"annotations[{i}] hand_type {hand_type!r}; expected right, left "
                                      "or interacting")
            missing = [p for p in paths if p is not None and not (self.root / p).is_file()]
            if missing:  # nothing to score it against: left out, and its file counted as missing
                self._missing += missing
                left_out.append(f"{name}: its mesh {missing[0]} is missing")
                continue
            if all(p is None for p in paths):
                left_out.append(f"{name}: listed in HIC.json without any mesh")
                continue
            index.setdefault(nn, []).append((fff, hand_type, *paths))
        for nn in self._numbers:
            listed = {f for f, *_ in index.get(nn, [])}
            left_out += [f"{nn}/1/rgb/{f}.png: an image HIC.json does not list"
                         for f in sorted(self._images(nn) - listed)]
            left_out += [f"{p}: a fit HIC.json does not list" for p in self._fits(nn, listed)]
        self._numbers = sorted(index)
        return index, left_out

    def _images(self, nn: str) -> set[str]:
        return {p.stem for p in (self.root / nn / "1" / "rgb").glob("*.png")}

    def _fits(self, nn: str, frames: set[str]) -> list[str]:
        """The fits (.ply) of sequence ``nn`` whose frame is not in ``frames``."""
        return sorted(str(p.relative_to(self.root)) for folder in self._fit_folders(nn)
                      for p in folder.glob("*.ply") if p.stem not in frames)

    def left_out(self, split: str) -> list[str]:
        return self._left_out

    def missing_sources(self, split: str) -> list[str]:
        return self._missing

    @property
    def conventions(self) -> dict:
        return {"mano": MANO_CONVENTION.to_dict(), "mano_frame": "world",
                "mano_note": "HIC's fit pose convention is undocumented; the vertices (fits' v) are the ground truth"}

    def splits(self) -> list[str]:
        return ["test"]

    def source_files(self, split: str) -> list[Path]:
        return [self.root / INDEX_FILE] if self._index is not None else []

    def missing(self, split: str) -> dict[str, str]:
        return {"joints_2d": f"only every {ANNOTATION_STEP}th frame has 2D joints", "bbox": "HIC gives no boxes",
                "segmentation_path": "HIC has no segmentation masks"}

    def _frames(self, nn: str) -> list[str]:
        """HIC.json's frames; without it, every frame with an image or a fit."""
        if self._index is not None:
            frames = {f for f, *_ in self._index[nn]}
        else:
            frames = self._images(nn) | {p.stem for folder in self._fit_folders(nn) for p in folder.glob("*.pkl")}
        return sorted(frames, key=int)

    def sequence_lengths(self, split: str) -> list[tuple[str, int]]:
        return [(f"test/{nn}", len(self._frames(nn))) for nn in self._numbers]

    def read_sequence(self, split: str, sequence: str) -> SequenceRecords:
        nn = sequence.split("/")[1]
        fids = self._frames(nn)
        T = len(fids)
        joints = np.full((T, 2, 21, 3), np.nan)
        verts = np.full((T, 2, 778, 3), np.nan)
        pose, shape, trans = (np.full((T, 2, n), np.nan) for n in (48, 10, 3))
        listed = {f: rest for f, *rest in self._index[nn]} if self._index is not None else None
        missing = []
        for h, side in enumerate(HAND_SIDES):
            folder = self.root / FITS_ROOT / FIT_FOLDER.format(nn=nn, side="R" if side == "right" else "L")
            for f, fid in enumerate(fids):
                path = folder / f"{fid}.pkl"
                if listed is not None:  # HIC.json: its .ply is the ground truth; the fit beside it gives joints
                    ply = listed[fid][1 + h]
                    if ply is None:
                        continue
                    verts[f, h] = _read_ply(self.root / ply)
                    path = (self.root / ply).with_suffix(".pkl")
                    if not path.is_file():  # InterWild scores the mesh alone; the joints are lost
                        missing.append(str(path.relative_to(self.root)))
                        continue
                elif not path.is_file():  # the raw layout: a hand has a fit where it is annotated
                    continue
                fit = _read_fit(path)
                if listed is None:
                    verts[f, h] = fit["v"]
                joints[f, h], pose[f, h] = fit["joints"], fit["pose"]
                shape[f, h], trans[f, h] = fit["betas"], fit["trans"]
        present = np.isfinite(verts).all(axis=(-1, -2))
        hand_type = hand_types(present)
        frames = {
            "frame": np.array([int(x) for x in fids], dtype=np.int64), "source_frame": fids, "hand_type": hand_type,
            "hand_present": present, "joints": joints, "joints_valid": np.isfinite(joints).all(axis=-1),
            "mano_pose": pose, "mano_shape": shape, "mano_trans": trans, "mano_valid": np.isfinite(pose).all(axis=-1),
            "vertices": verts,
        }
        j2d = np.full((T, 2, 21, 2), np.nan)
        for f, fid in enumerate(fids):
            path = self.root / nn / "1" / "joints_2D_GT" / f"{fid}.txt"
            if path.is_file():  # only every 5th frame has one
                j2d[f] = hic28_to_canonical(_read_2d(path))
        has_2d = np.isfinite(j2d).any(axis=(1, 2, 3))
        image_valid = np.ma.masked_array(np.isfinite(j2d).all(axis=-1), mask=np.repeat(~has_2d, 42).reshape(T, 2, 21))
        K = np.array([[HIC_CAMERA["focal"], 0, HIC_CAMERA["cx"]],
                      [0, HIC_CAMERA["focal"], HIC_CAMERA["cy"]],
                      [0, 0, 1]])
        views = {
            "frame": frames["frame"], "camera": ["0"] * T, "image_path": [f"{nn}/1/rgb/{fid}.png" for fid in fids],
            "width": np.full(T, HIC_CAMERA["width"], dtype=np.int32),
            "height": np.full(T, HIC_CAMERA["height"], dtype=np.int32),
            "K": np.tile(K, (T, 1, 1)), "R": np.tile(np.eye(3), (T, 1, 1)), "t": np.zeros((T, 3)),
            "joints_2d": j2d, "joints_image_valid": image_valid,
        }
        if listed is not None:  # the annotation's hand type, which InterWild groups its errors by
            views["hand_type"] = [listed[fid][0] for fid in fids]
        kind = "hand-hand" if int(nn) <= 14 else "hand-object"
        return SequenceRecords(sequence=sequence, frames=frames, views=views, meta={"interaction": kind},
                               missing=missing)
