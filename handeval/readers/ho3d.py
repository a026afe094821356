"""HO3D v2 / v3: the official layout -> canonical sequence records.

Layout and conventions: ``data_specs/datasets.md``, HO3D. Each sequence is one camera, so
the canonical world frame is that camera's OpenCV frame (``R = I``, ``t = 0``). HO3D
stores everything in the OpenGL frame: joints and object poses are flipped to OpenCV
here (``X_cv = F X_gl``, ``F = diag(1, -1, -1)``); MANO parameters are kept as stored,
with ``mano_frame = "opengl_camera"`` (vertices in the world frame are ``F`` times the
MANO output), because moving the global rotation into another frame needs the model's
rest wrist J0(beta). Frames come from ``train.txt`` / ``evaluation.txt``, which leave out
unannotated frames. The evaluation split's meta holds only the root joint and a box; the
released ground truth (``evaluation_xyz.json``, ``evaluation_verts.json``) completes it
when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handeval.conventions import CV_FROM_GL
from handeval.conventions import MANO as MANO_ORDER
from handeval.mano import ManoConvention
from handeval.readers import sources
from handeval.readers.base import DatasetReader, variant_tokens
from handeval.readers.sources import SourceError
from handeval.records.sequence import SequenceRecords
from handeval.util.errors import HandevalError

MANO_CONVENTION = ManoConvention(pose_space="axis_angle", flat_hand_mean=True, fix_left_shapedirs=False, tips="ho3d")
#: Metres per unit of the 16-bit depth value split over the red (low) and green (high) bytes.
DEPTH_SCALE = 0.00012498664727900177
SPLITS = ("train", "evaluation")
DEFAULT_SIZE = (640, 480)


#: What each split's meta pickles must hold (the dataset's README.txt; data_specs/datasets.md, HO3D).
META_KEYS = {"train": ("handJoints3D", "handPose", "handBeta", "handTrans", "objRot", "objTrans", "objName", "camMat"),
             "evaluation": ("handJoints3D", "handBoundingBox", "objRot", "objTrans", "objName", "camMat")}


META_FILE = {split: f"an HO3D {split} meta pickle ({', '.join(keys)})" for split, keys in META_KEYS.items()}
LIST_FILE = "HO3D's {}.txt, one SEQUENCE/FRAME_ID per line"


def _meta(path: Path, split: str) -> dict:
    return sources.load(path, sources.pickle_file, META_FILE[split], keys=META_KEYS[split])


#: Keys only v3's training meta files have (per-vertex contact with the object).
V3_META_KEYS = ("handVertContact", "handVertDist", "handVertIntersec", "handVertObjSurfProj")


def detect_release(root: Path) -> tuple[str | None, list[str]]:
    """HO3D v2 or v3, from the tree itself, and the evidence (data_specs/datasets.md, HO3D: the repository's README).

    v2 stores RGB as .png, v3 as .jpg; only v3 ships ``calibration/`` and
    ``manual_annotations/``, and only v3's training meta files hold the contact fields.
    Returns (None, evidence) when the tree says nothing either way or contradicts itself.
    """
    votes: dict[str, list[str]] = {"v2": [], "v3": []}
    for folder in ("calibration", "manual_annotations"):
        if (root / folder).is_dir():
            votes["v3"].append(f"{folder}/ exists (v3 only)")
    for split in SPLITS:
        txt = root / f"{split}.txt"
        if not txt.is_file():
            continue
        text = sources.load(txt, sources.text_file, LIST_FILE.format(split))
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), None)
        if first is None or "/" not in first:
            continue
        seq, fid = first.split("/", 1)
        for ext, version in (("png", "v2"), ("jpg", "v3")):
            if (root / split / seq / "rgb" / f"{fid}.{ext}").is_file():
                votes[version].append(f"{split}/{seq}/rgb/{fid}.{ext} ({'PNG' if ext == 'png' else 'JPEG'} RGB: "
                                      f"{version})")
        if split == "train" and (root / split / seq / "meta" / f"{fid}.pkl").is_file():
            try:
                meta = _meta(root / split / seq / "meta" / f"{fid}.pkl", split)
            except SourceError:  # no evidence; converting that sequence reports the file
                continue
            has = [k for k in V3_META_KEYS if k in meta]
            votes["v3" if has else "v2"].append(f"train/{seq}/meta/{fid}.pkl {'has' if has else 'lacks'} the v3 "
                                                "contact fields")
    found = [v for v in votes if votes[v]]
    evidence = [e for v in found for e in votes[v]]
    return (found[0] if len(found) == 1 else None), evidence


class HO3D(DatasetReader):
    """Reader of an HO3D v2 or v3 root; the release is detected from the tree unless given."""

    key = "ho3d"
    name = "HO3D"
    default_splits_help = "train and evaluation, those present"

    def __init__(self, root: str | Path, version: str | None = None, progress: bool = False):
        super().__init__(root, progress)
        if version not in (None, "v2", "v3"):
            raise HandevalError(f"HO3D version must be v2 or v3, not {version!r}")
        if not any((self.root / f"{s}.txt").is_file() for s in SPLITS):
            raise HandevalError(f"{self.root} is not an HO3D root: expected train.txt and/or evaluation.txt "
                                "beside train/ and evaluation/ as in the official download")
        detected, evidence = detect_release(self.root)
        if version is None:
            if detected is None:
                raise HandevalError(f"{self.root}: cannot tell HO3D v2 from v3 ("
                                    + ("; ".join(evidence) + ": contradictory" if evidence else
                                       "no RGB images, calibration/ or training meta to go by")
                                    + "); pass --variant v2 or --variant v3")
            version = detected
        elif detected is not None and detected != version:
            raise HandevalError(f"{self.root} looks like HO3D {detected}, not {version}: {'; '.join(evidence)}. "
                                f"Pass --variant {detected}, or leave --variant out to use the detected release")
        self.version = version
        self.evidence = evidence
        self._lists: dict[str, list[tuple[str, str]]] = {}
        self._rows_of: dict[str, dict[tuple[str, str], int]] = {}
        self._eval_gt = None

    @classmethod
    def variant_options(cls, variant: str | None) -> dict:
        tokens = variant_tokens(variant)
        if len(tokens) > 1 or (tokens and tokens[0] not in ("v2", "v3")):
            raise HandevalError(f"HO3D variant must be v2 or v3, not {variant!r}")
        return {"version": tokens[0] if tokens else None}  # None: detected from the tree

    @property
    def variant(self) -> str:
        return f"{self.version}, right hand + object"

    @property
    def variant_option(self) -> str:
        return self.version

    @property
    def conventions(self) -> dict:
        return {"mano": MANO_CONVENTION.to_dict(), "mano_frame": "opengl_camera",
                "segmentation": {"format": "png", "channel": 2, "hand_values": [255]}}

    def _list(self, split: str) -> list[tuple[str, str]]:
        if split not in self._lists:
            path = self.root / f"{split}.txt"
            expected = LIST_FILE.format(split)
            lines = [ln.strip() for ln in sources.load(path, sources.text_file, expected).splitlines() if ln.strip()]
            pairs = [tuple(ln.split("/")) for ln in lines]
            bad = next((i for i, p in enumerate(pairs) if len(p) != 2), None)
            if bad is not None:
                raise sources.corrupt(path, expected, f"line {bad + 1} is {lines[bad]!r}")
            self._lists[split] = pairs
        return self._lists[split]

    def _index(self, split: str) -> dict[tuple[str, str], int]:
        """(sequence, frame id) -> its row in {split}.txt."""
        if split not in self._rows_of:
            self._rows_of[split] = {key: i for i, key in enumerate(self._list(split))}
        return self._rows_of[split]

    def splits(self) -> list[str]:
        return [s for s in SPLITS if (self.root / f"{s}.txt").is_file()]

    def source_files(self, split: str) -> list[Path]:
        extra = ([self.root / n for n in ("evaluation_xyz.json", "evaluation_verts.json")]
                 if split == "evaluation" else [])
        return [self.root / f"{split}.txt"] + [p for p in extra if p.is_file()]

    def sequence_lengths(self, split: str) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for seq, _ in self._list(split):
            counts[seq] = counts.get(seq, 0) + 1
        return [(f"{split}/{seq}", n) for seq, n in counts.items()]

    def missing(self, split: str) -> dict[str, str]:
        out = {"joints_2d": "HO3D gives no 2D joints; project the 3D joints", "hands_bbox": "per-hand bbox only"}
        if split == "evaluation":
            out["mano"] = "withheld in the evaluation split"
            if self._released_gt() is None:
                out["joints"] = "evaluation split: root joint only (no evaluation_xyz.json in the root)"
        else:
            out["bbox"] = "the train split has no boxes; derive them from projected joints"
        return out

    def _released_gt(self):
        """(row of each evaluation.txt entry, joints, vertices or None) from the released ground truth."""
        xyz, verts = self.root / "evaluation_xyz.json", self.root / "evaluation_verts.json"
        if self._eval_gt is None and xyz.is_file():
            order = self._index("evaluation")
            arrays = [self._gt_file(xyz, (21, 3), len(order)),
                      self._gt_file(verts, (778, 3), len(order)) if verts.is_file() else None]
            self._eval_gt = (order, *arrays)
        return self._eval_gt

    @staticmethod
    def _gt_file(path: Path, shape: tuple[int, int], n: int) -> np.ndarray:
        expected = f"HO3D's released {path.name}, {n} entries (evaluation.txt's) of {shape[0]} x {shape[1]} numbers"
        data = sources.load(path, sources.json_file, expected)
        with sources.fields(path, expected):
            data = np.asarray(data, dtype=np.float64).reshape((-1,) + shape)
        if len(data) != n:
            raise sources.corrupt(path, expected, f"{len(data)} entries")
        return data

    def read_sequence(self, split: str, sequence: str) -> SequenceRecords:
        # 0.35 s to import: here rather than in every command (the command line imports the readers)
        from scipy.spatial.transform import Rotation

        seq = sequence.split("/", 1)[1]
        fids = sorted((fid for s, fid in self._list(split) if s == seq), key=int)
        T = len(fids)
        F = CV_FROM_GL
        joints = np.full((T, 2, 21, 3), np.nan)
        valid = np.zeros((T, 2, 21), dtype=bool)
        pose, shape, trans = (np.full((T, 2, n), np.nan) for n in (48, 10, 3))
        verts = np.full((T, 2, 778, 3), np.nan)
        bbox = np.full((T, 2, 4), np.nan)
        K = np.zeros((T, 3, 3))
        objects, object_poses = [], []
        gt = self._released_gt() if split == "evaluation" else None
        for f, fid in enumerate(fids):
            path = self.root / split / seq / "meta" / f"{fid}.pkl"
            m = _meta(path, split)
            with sources.fields(path, META_FILE[split]):
                j = np.asarray(m["handJoints3D"], dtype=np.float64)
                if split == "train":
                    joints[f, 0] = MANO_ORDER.to_canonical(j.reshape(21, 3) @ F.T)
                    valid[f, 0] = True
                    pose[f, 0], shape[f, 0], trans[f, 0] = m["handPose"], m["handBeta"], m["handTrans"]
                else:
                    box = np.asarray(m["handBoundingBox"], dtype=np.float64)
                    bbox[f, 0] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
                    if gt is not None:
                        row = gt[0][(seq, fid)]
                        joints[f, 0] = MANO_ORDER.to_canonical(gt[1][row] @ F.T)
                        valid[f, 0] = True
                        if gt[2] is not None:
                            verts[f, 0] = gt[2][row] @ F.T
                    else:
                        joints[f, 0, 0] = F @ j.reshape(3)
                        valid[f, 0, 0] = True
                K[f] = np.asarray(m["camMat"], dtype=np.float64).reshape(3, 3)
                rot = F @ Rotation.from_rotvec(np.ravel(m["objRot"])).as_matrix()
                object_poses.append(np.hstack([rot, (F @ np.ravel(m["objTrans"]))[:, None]]).ravel().tolist())
                objects.append([str(m["objName"])])
        frames = {
            "frame": np.array([int(x) for x in fids], dtype=np.int64), "source_frame": [f"{seq}/{x}" for x in fids],
            "hand_type": ["right"] * T, "hand_present": np.tile([True, False], (T, 1)),
            "joints": joints, "joints_valid": valid, "mano_pose": pose, "mano_shape": shape, "mano_trans": trans,
            "mano_valid": np.isfinite(pose).all(axis=-1), "vertices": verts,
            "object_ids": objects, "object_poses": object_poses,
        }
        ext = "png" if self.version == "v2" else "jpg"
        images = [f"{split}/{seq}/rgb/{fid}.{ext}" for fid in fids]
        first = self.root / images[0]
        # A missing image is the driver's to report; the size then falls back to HO3D's only one.
        size = sources.load(first, sources.image_size, f"an HO3D RGB image (.{ext})") if first.is_file() \
            else DEFAULT_SIZE
        seg = [f"{split}/{seq}/seg/{fid}.png" for fid in fids]
        views = {
            "frame": frames["frame"], "camera": ["0"] * T, "image_path": images,
            "width": np.full(T, size[0], dtype=np.int32), "height": np.full(T, size[1], dtype=np.int32),
            "K": K, "R": np.tile(np.eye(3), (T, 1, 1)), "t": np.zeros((T, 3)), "bbox": bbox,
            "segmentation_path": [p if (self.root / p).is_file() else None for p in seg],
        }
        return SequenceRecords(sequence=sequence, frames=frames, views=views,
                               meta={"list_rows": self._rows(split, seq, fids)})

    def _rows(self, split: str, seq: str, fids: list[str]) -> list[list[int]]:
        """Where the sequence's frames (in frame order) sit in {split}.txt, as [first row, count]
        runs: HO3D's submissions follow the list's order, which the shards' order need not be."""
        index = self._index(split)
        rows = np.array([index[(seq, fid)] for fid in fids], dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, np.diff(rows) != 1])
        ends = np.r_[starts[1:], len(rows)]
        return [[int(rows[a]), int(b - a)] for a, b in zip(starts, ends)]
