"""Dex-YCB: the official layout -> canonical sequence records.

Layout and conventions: ``data_specs/datasets.md``, Dex-YCB. The world frame is the master
camera's; extrinsics give camera -> world, so a view's ``R, t`` are their inverse.
Hand presence is per label file, that is per camera view, because the official HPE
evaluator decides it per label file (a view whose ``joint_3d`` is all -1 is not scored,
whatever the other views of the frame hold). Frames carry the 3D joints of the
sequence's one hand, taken from the first view (in camera order) that has them and moved
to the world frame, with each view's deviation from them recorded (``validate`` flags
views that disagree), and the world-frame MANO of ``pose.npz`` (45 PCA coefficients,
``flat_hand_mean=False``, no left-shapedirs fix). A frame no view annotates is kept and
marked absent; the variant token ``toolkit-hpe`` drops it and every view without a hand.
Splits ``s0..s3 x train/val/test`` are the toolkit's (§1.11); sequence ids are prefixed
with the split, because the same recording belongs to several setups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from handeval.conventions import HAND_SIDES
from handeval.mano import ManoConvention
from handeval.readers import sources
from handeval.readers.base import DatasetReader, variant_tokens
from handeval.readers.sources import SourceError
from handeval.records.sequence import SequenceRecords
from handeval.util.errors import HandevalError

#: Camera serials in the toolkit's order (the index the S2 split uses), and subject folders.
SERIALS = ("836212060125", "839512060362", "840412060917", "841412060263",
           "932122060857", "932122060861", "932122061900", "932122062010")
SUBJECTS = ("20200709-subject-01", "20200813-subject-02", "20200820-subject-03", "20200903-subject-04",
            "20200908-subject-05", "20200918-subject-06", "20200928-subject-07", "20201002-subject-08",
            "20201015-subject-09", "20201022-subject-10")

MANO_CONVENTION = ManoConvention(pose_space="pca", num_pca_comps=45, flat_hand_mean=False,
                                 fix_left_shapedirs=False, tips="manopth")
YCB_CLASSES = ("002_master_chef_can", "003_cracker_box", "004_sugar_box", "005_tomato_soup_can",
               "006_mustard_bottle", "007_tuna_fish_can", "008_pudding_box", "009_gelatin_box",
               "010_potted_meat_can", "011_banana", "019_pitcher_base", "021_bleach_cleanser", "024_bowl", "025_mug",
               "035_power_drill", "036_wood_block", "037_scissors", "040_large_marker", "051_large_clamp",
               "052_extra_large_clamp", "061_foam_brick")


def _subjects(setup: str, split: str) -> list[int]:
    if setup == "s1":
        return {"train": [0, 1, 2, 3, 4, 5, 9], "val": [6], "test": [7, 8]}[split]
    if setup == "s0" and split != "train":
        return [0, 1] if split == "val" else list(range(2, 10))
    return list(range(10))


def camera_serials(split: str) -> list[str]:
    """The serials of a split's cameras (e.g. ``s0_test``), in the toolkit's order, which its sample
    index follows."""
    setup, part = split.split("_")
    cameras = {"train": [0, 1, 2, 3, 4, 5], "val": [6], "test": [7]}[part] if setup == "s2" else range(8)
    return [SERIALS[c] for c in cameras]


def _takes_sequence(setup: str, split: str, i: int) -> bool:
    if setup == "s0":
        return (i % 5 != 4) if split == "train" else (i % 5 == 4)
    if setup == "s3":
        block = i // 5
        return {"train": block not in (3, 7, 11, 15, 19), "val": block in (3, 19), "test": block in (7, 11, 15)}[split]
    return True


SPLITS = tuple(f"s{k}_{s}" for k in range(4) for s in ("train", "val", "test"))


class _TupleLoader(yaml.SafeLoader):
    """Safe YAML plus the ``!!python/tuple`` tag the extrinsics files use."""


_TupleLoader.add_constructor("tag:yaml.org,2002:python/tuple",
                             lambda loader, node: tuple(loader.construct_sequence(node)))


def _yaml_file(path: Path):
    with open(path) as fh:
        return yaml.load(fh, Loader=_TupleLoader)


META = "a Dex-YCB meta.yml (serials, num_frames, ycb_ids, mano_sides, mano_calib, extrinsics)"
POSE = "a Dex-YCB pose.npz with pose_m (T x 1 x 51) and pose_y (T x objects x 7)"
LABEL = "a Dex-YCB label file with joint_3d (1 x 21 x 3) and joint_2d (1 x 21 x 2)"


def _label(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One view's (21, 3) camera-frame joints and (21, 2) pixels; the masks are read by labels."""
    lab = sources.load(path, sources.npz_file, LABEL, keys=("joint_3d", "joint_2d"))
    with sources.fields(path, LABEL):
        return lab["joint_3d"].reshape(21, 3), lab["joint_2d"].reshape(21, 2)


class DexYCB(DatasetReader):
    """Reader of a Dex-YCB root (``$DEX_YCB_DIR``)."""

    key = "dexycb"
    name = "Dex-YCB"
    default_splits_help = "the S0 setup present (s0_train, s0_val, s0_test)"
    version = "v1"

    def __init__(self, root: str | Path, toolkit_hpe: bool = False, progress: bool = False):
        super().__init__(root, progress)
        if not (self.root / "calibration").is_dir():
            raise HandevalError(f"{self.root} is not a Dex-YCB root: expected calibration/ and the subject folders "
                                "(20200709-subject-01, ...) as in the official download")
        self.toolkit_hpe = toolkit_hpe
        self._metas: dict[tuple[str, str], dict | SourceError] = {}
        self._sequences = {s: sorted(p.name for p in (self.root / s).iterdir() if p.is_dir())
                           for s in SUBJECTS if (self.root / s).is_dir()}

    @classmethod
    def variant_options(cls, variant: str | None) -> dict:
        tokens = variant_tokens(variant)
        for token in tokens:
            if token != "toolkit-hpe":
                raise HandevalError(f"unknown Dex-YCB variant token {token!r}: the only one is toolkit-hpe "
                                    "(drop frames without a hand, as the official HPE evaluator does)")
        return {"toolkit_hpe": "toolkit-hpe" in tokens}

    @property
    def variant(self) -> str:
        return "toolkit-hpe (frames without a hand dropped)" if self.toolkit_hpe else "all frames"

    @property
    def variant_option(self) -> str | None:
        return "toolkit-hpe" if self.toolkit_hpe else None

    @property
    def conventions(self) -> dict:
        return {"mano": MANO_CONVENTION.to_dict(), "mano_frame": "world",
                "segmentation": {"format": "npz", "key": "seg", "hand_values": [255]}}

    def _members(self, split: str) -> list[tuple[str, str]]:
        """(subject, sequence) pairs of a split that have at least one of the split's cameras
        (or an unreadable meta.yml, which :meth:`sequence_lengths` reports)."""
        setup, part = split.split("_")
        cameras = set(camera_serials(split))
        out = []
        for s in _subjects(setup, part):
            subject = SUBJECTS[s]
            for i, name in enumerate(self._sequences.get(subject, [])):
                if not _takes_sequence(setup, part, i):
                    continue
                try:
                    if cameras & set(self._meta(subject, name)["serials"]):
                        out.append((subject, name))
                except SourceError:
                    out.append((subject, name))
        return out

    def _meta(self, subject: str, name: str) -> dict:
        """meta.yml, checked and typed; an unreadable one raises (again) its SourceError."""
        key = (subject, name)
        if key not in self._metas:
            path = self.root / subject / name / "meta.yml"
            try:
                raw = sources.load(path, _yaml_file, META, keys=("serials", "num_frames", "ycb_ids", "mano_sides",
                                                                  "mano_calib", "extrinsics"))
                with sources.fields(path, META):
                    meta = {"serials": [str(x) for x in raw["serials"]], "num_frames": int(raw["num_frames"]),
                            "ycb_ids": [int(i) for i in raw["ycb_ids"]], "side": str(raw["mano_sides"][0]),
                            "mano_calib": str(raw["mano_calib"][0]), "extrinsics": str(raw["extrinsics"])}
                if meta["side"] not in HAND_SIDES:
                    raise sources.corrupt(path, META, f"mano_sides [{meta['side']!r}]; expected right or left")
                self._metas[key] = meta
            except SourceError as exc:
                self._metas[key] = exc
        meta = self._metas[key]
        if isinstance(meta, SourceError):
            raise meta
        return meta

    def splits(self) -> list[str]:
        return [s for s in SPLITS if self._members(s)]

    def default_splits(self) -> list[str]:
        return [s for s in self.splits() if s.startswith("s0_")]

    def source_files(self, split: str) -> list[Path]:
        return sorted(self.root.glob("calibration/**/*.yml"))

    def missing(self, split: str) -> dict[str, str]:
        return {"hands_bbox": "Dex-YCB gives no boxes; derive them from joint_2d or seg",
                "bbox": "Dex-YCB gives no boxes; derive them from joint_2d or seg"}

    def sequence_lengths(self, split: str) -> list[tuple[str, int | SourceError]]:
        out = []
        for subject, name in self._members(split):
            try:
                length = self._meta(subject, name)["num_frames"]
            except SourceError as exc:  # the driver stops on it, or skips the sequence (--skip-bad)
                length = exc
            out.append((f"{split}/{subject}/{name}", length))
        return out

    def _calibration(self, meta: dict, serials: list[str]):
        """Per serial: K, world -> camera R and t, image size; and the hand's betas."""
        calib = self.root / "calibration"
        path = calib / f"extrinsics_{meta['extrinsics']}" / "extrinsics.yml"
        extr = sources.load(path, _yaml_file, "a Dex-YCB extrinsics.yml", keys=("extrinsics",))
        K, R, t, size = {}, {}, {}, {}
        for serial in serials:
            with sources.fields(path, f"a Dex-YCB extrinsics.yml with a 3 x 4 pose for camera {serial}"):
                m = np.asarray(extr["extrinsics"][serial], dtype=np.float64).reshape(3, 4)
            # Camera -> world [R | t] rows, inverted to world -> camera.
            R[serial] = m[:, :3].T
            t[serial] = -m[:, :3].T @ m[:, 3]
            matches = sorted((calib / "intrinsics").glob(f"{serial}_*x*.yml"))
            if not matches:
                raise sources.missing(calib / "intrinsics" / f"{serial}_640x480.yml",
                                      f"camera {serial}'s intrinsics, named SERIAL_WIDTHxHEIGHT.yml")
            intr = "a Dex-YCB intrinsics file, SERIAL_WxH.yml, with color fx, fy, ppx, ppy"
            c = sources.load(matches[0], _yaml_file, intr, keys=("color",))
            with sources.fields(matches[0], intr):
                size[serial] = tuple(int(v) for v in matches[0].stem.split("_")[-1].split("x"))
                c = {k: float(c["color"][k]) for k in ("fx", "fy", "ppx", "ppy")}
            K[serial] = np.array([[c["fx"], 0, c["ppx"]], [0, c["fy"], c["ppy"]], [0, 0, 1.0]])
        path = calib / f"mano_{meta['mano_calib']}" / "mano.yml"
        mano = sources.load(path, _yaml_file, "a Dex-YCB mano.yml with 10 betas", keys=("betas",))
        with sources.fields(path, "a Dex-YCB mano.yml with 10 betas"):
            betas = np.asarray(mano["betas"], dtype=np.float64).reshape(10)
        return K, R, t, size, betas

    def read_sequence(self, split: str, sequence: str) -> SequenceRecords:
        # 0.35 s to import: here rather than in every command (the command line imports the readers)
        from scipy.spatial.transform import Rotation

        _, subject, name = sequence.split("/")
        seq_dir = self.root / subject / name
        meta = self._meta(subject, name)
        serials = [s for s in camera_serials(split) if s in meta["serials"]]
        side = meta["side"]
        h = HAND_SIDES.index(side)
        T = meta["num_frames"]
        K, R, t, size, betas = self._calibration(meta, serials)
        ycb_ids = meta["ycb_ids"]
        pose = sources.load(seq_dir / "pose.npz", sources.npz_file, POSE, keys=("pose_m", "pose_y"))
        with sources.fields(seq_dir / "pose.npz", POSE):
            pm = pose["pose_m"].reshape(T, 51).astype(np.float64)
            py = pose["pose_y"].reshape(T, len(ycb_ids), 7).astype(np.float64)  # quaternion xyzw + t
        with sources.fields(seq_dir / "meta.yml", META):
            object_ids = [YCB_CLASSES[i - 1] for i in ycb_ids]

        labels = {s: [_label(seq_dir / s / f"labels_{f:06d}.npz") for f in range(T)] for s in serials}
        # Presence is per label file, i.e. per view, as the official evaluator decides it; the
        # frame's world-frame hand comes from the first view (in split camera order) that has one.
        cam = np.stack([np.stack([j3 for j3, _ in labels[s]]) for s in serials]).astype(np.float64)
        view_hand = ~np.all(cam == -1, axis=(2, 3))                      # (C, T)
        Rs, ts = np.stack([R[s] for s in serials]), np.stack([t[s] for s in serials])
        world_views = np.einsum("ctjk,ckl->ctjl", cam - ts[:, None, None, :], Rs)  # R^T (x - t), row form
        hand = view_hand.any(axis=0)
        source = np.argmax(view_hand, axis=0)                            # first view with a hand
        world = world_views[source, np.arange(T)]                        # (T, 21, 3)
        deviation = np.linalg.norm(world_views - world[None], axis=-1).max(axis=-1)
        deviation[~view_hand] = np.nan
        joints = np.full((T, 2, 21, 3), np.nan)
        joints[hand, h] = world[hand]
        valid = np.zeros((T, 2, 21), dtype=bool)
        valid[hand, h] = True
        present = np.zeros((T, 2), dtype=bool)
        present[hand, h] = True
        has_mano = ~np.all(pm == 0, axis=1)
        mano_pose = np.full((T, 2, 48), np.nan)
        mano_shape = np.full((T, 2, 10), np.nan)
        mano_trans = np.full((T, 2, 3), np.nan)
        mano_pose[has_mano, h], mano_trans[has_mano, h] = pm[has_mano, :48], pm[has_mano, 48:]
        mano_shape[has_mano, h] = betas
        no_pose = np.all(py == [0, 0, 0, 1, 0, 0, 0], axis=-1)
        rot = Rotation.from_quat(py[..., :4].reshape(-1, 4)).as_matrix().reshape(T, len(ycb_ids), 3, 3)
        poses = np.concatenate([rot, py[..., 4:, None]], axis=-1).reshape(T, len(ycb_ids), 12)
        poses[no_pose] = np.nan
        frames = {
            "frame": np.arange(T), "source_frame": [f"{f:06d}" for f in range(T)],
            "hand_type": [side if x else "none" for x in hand], "hand_present": present,
            "joints": joints, "joints_valid": valid,
            "mano_pose": mano_pose, "mano_shape": mano_shape, "mano_trans": mano_trans,
            "mano_valid": np.isfinite(mano_pose).all(axis=-1),
            "object_ids": [object_ids] * T,
            "object_poses": [p.ravel().tolist() for p in poses],
        }
        keep = hand if self.toolkit_hpe else np.ones(T, dtype=bool)
        views = self._views(sequence, serials, labels, K, R, t, size, h, keep, view_hand, deviation)
        if self.toolkit_hpe:
            frames = {k: (np.asarray(v)[keep] if isinstance(v, np.ndarray) else [x for x, k_ in zip(v, keep) if k_])
                      for k, v in frames.items()}
        return SequenceRecords(sequence=sequence, frames=frames, views=views)

    def _views(self, sequence, serials, labels, K, R, t, size, h, keep, view_hand, deviation) -> dict:
        """Views sorted by (frame, camera); with ``toolkit-hpe``, only the views that have a hand."""
        _, subject, name = sequence.split("/")
        rows = [(f, s) for f in np.flatnonzero(keep) for c, s in enumerate(serials)
                if view_hand[c, f] or not self.toolkit_hpe]
        cam_index = {s: c for c, s in enumerate(serials)}
        ci = np.array([cam_index[s] for _, s in rows], dtype=np.int64)
        fi = np.array([f for f, _ in rows], dtype=np.int64)
        present = np.zeros((len(rows), 2), dtype=bool)
        present[:, h] = view_hand[ci, fi]
        dev = np.full((len(rows), 2), np.nan)
        dev[:, h] = deviation[ci, fi]
        uv = np.stack([np.stack([j2 for _, j2 in labels[s]]) for s in serials]).astype(np.float64)
        uv = uv[ci, fi]                                                  # (V, 21, 2)
        jvalid = np.zeros((len(rows), 2, 21), dtype=bool)
        jvalid[:, h] = ~np.all(uv == -1, axis=-1)
        j2d = np.full((len(rows), 2, 21, 2), np.nan)
        j2d[:, h] = np.where(jvalid[:, h, :, None], uv, np.nan)
        return {
            "frame": np.array([f for f, _ in rows], dtype=np.int64), "camera": [s for _, s in rows],
            "image_path": [f"{subject}/{name}/{s}/color_{f:06d}.jpg" for f, s in rows],
            "width": np.array([size[s][0] for _, s in rows], dtype=np.int32),
            "height": np.array([size[s][1] for _, s in rows], dtype=np.int32),
            "K": np.stack([K[s] for _, s in rows]), "R": np.stack([R[s] for _, s in rows]),
            "t": np.stack([t[s] for _, s in rows]),
            "joints_2d": j2d, "joints_image_valid": jvalid, "hand_present": present, "joints_deviation": dev,
            "segmentation_path": [f"{subject}/{name}/{s}/labels_{f:06d}.npz#seg" for f, s in rows],
        }
