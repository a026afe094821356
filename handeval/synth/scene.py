"""Seeded synthetic scenes: two interacting MANO hands, optional held objects, calibrated cameras.

A scene is the ground truth that converter tests and the demo start from. Hands move
smoothly (sums of low-frequency sinusoids evaluated at ``frame / fps``, so motion is the
same whatever the frame rate), and the sequence is cut into episodes whose contact is
controlled. The *contact depth* of a frame is the largest depth of a left-side vertex
(left hand plus what it holds) inside the right side (right hand plus what it holds),
i.e. the maximum of minus the signed distance (to each closed mesh of the right side
separately): negative is a gap (the closest approach),
0 is touching, positive is interpenetration by that depth. Per frame, the shift of the
left side along the world x axis that meets the *scheduled* depth is solved exactly;
the shifts are then low-pass filtered, because the deepest vertex can switch from one
frame to the next and an exact solution would jerk. The depth actually reached is
recomputed and stored as ``contact_depth``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import trimesh
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from handeval import __version__
from handeval.conventions import HAND_SIDES
from handeval.geometry import raycasting_scene, signed_distance
from handeval.mano import ManoConvention, ManoLayer, load_mano
from handeval.synth.cameras import CameraRig, ring_rig
from handeval.util.atomic import atomic_path, write_text_atomic
from handeval.util.checksums import sha256_file

if TYPE_CHECKING:
    from handeval.records.sequence import SequenceRecords

#: The MANO convention of synthetic scenes (InterHand2.6M's; make_scene can switch the left fix off).
SCENE_CONVENTION = ManoConvention(pose_space="axis_angle", flat_hand_mean=False,
                                  fix_left_shapedirs=True, tips="manopth")
#: Depth (m) scheduled for each episode kind; "penetrate" uses the scene's depth.
EPISODE_KINDS = ("apart", "contact", "penetrate")
_APART_GAP = 0.04
_SHIFT_SMOOTHING_S = 0.1  # s.d. of the Gaussian that smooths the left side's shift
OBJECT_KINDS = ("box", "sphere", "cylinder")
SCENE_FILE_VERSION = 1

# Base orientations (rotation matrices; columns are the images of the model's x, y, z):
# fingers up (+z), palms facing each other across x, thumbs towards -y.
_BASE_ROT = {
    "right": np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]),
    "left": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]]),
}


@dataclass
class SceneObject:
    """A rigid mesh (object frame, metres) and its per-frame object-to-world pose."""

    name: str
    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray     # (F, 3)
    rotation: np.ndarray  # (T, 3, 3)
    translation: np.ndarray  # (T, 3)
    held_by: str

    def world_vertices(self) -> np.ndarray:
        return np.einsum("tij,vj->tvi", self.rotation, self.vertices) + self.translation[:, None]


@dataclass
class SyntheticScene:
    """Ground truth of one synthetic sequence, world frame, metres, hands ``[right, left]``."""

    seed: int
    fps: float
    convention: ManoConvention
    global_orient: np.ndarray  # (T, 2, 3) axis-angle, world frame
    hand_pose: np.ndarray      # (T, 2, 45) axis-angle, relative to hands_mean
    betas: np.ndarray          # (2, 10)
    transl: np.ndarray         # (T, 2, 3)
    vertices: np.ndarray       # (T, 2, 778, 3)
    joints: np.ndarray         # (T, 2, 21, 3) canonical order
    episode: np.ndarray        # (T,) index into EPISODE_KINDS
    scheduled_depth: np.ndarray  # (T,) metres: the episode's target contact depth
    contact_depth: np.ndarray    # (T,) metres: reached; <0 gap, 0 touching, >0 penetration
    cameras: CameraRig
    objects: list[SceneObject] = field(default_factory=list)
    segmentation: np.ndarray | None = None  # (T, C, H, W) uint8: 0 background, 1 right, 2 left, 3+ objects
    depth: np.ndarray | None = None         # (T, C, H, W) float32 metres, 0 where nothing is hit
    rgb: np.ndarray | None = None           # (T, C, H, W, 3) uint8, optional
    mano_sha256: dict = field(default_factory=dict)  # side -> sha256 of the model file: content, not a path
    synthetic_mano: bool = True

    @property
    def num_frames(self) -> int:
        return len(self.global_orient)

    def instance_names(self) -> list[str]:
        return ["background", *HAND_SIDES, *(o.name for o in self.objects)]

    # --- storage -------------------------------------------------------------------
    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``scene.npz`` (arrays) and ``scene.json`` (metadata) atomically."""
        folder = Path(folder)
        arrays = {k: getattr(self, k) for k in ("global_orient", "hand_pose", "betas", "transl", "vertices",
                                                 "joints", "episode", "scheduled_depth", "contact_depth")}
        for k in ("segmentation", "depth", "rgb"):
            if getattr(self, k) is not None:
                arrays[k] = getattr(self, k)
        for i, obj in enumerate(self.objects):
            for key in ("vertices", "faces", "rotation", "translation"):
                arrays[f"object{i}_{key}"] = getattr(obj, key)
        paths = {"arrays": folder / "scene.npz", "meta": folder / "scene.json"}
        with atomic_path(paths["arrays"], suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        meta = {
            "format_version": SCENE_FILE_VERSION, "handeval_version": __version__,
            "synthetic": True, "synthetic_mano": self.synthetic_mano,
            "seed": self.seed, "fps": self.fps, "num_frames": self.num_frames,
            "units": "metres", "frame": "world; cameras are OpenCV (x right, y down, z forward)",
            "hands": list(HAND_SIDES), "joint_order": "canonical",
            "mano_convention": self.convention.to_dict(),
            "mano_sha256": self.mano_sha256,
            "episode_kinds": list(EPISODE_KINDS),
            "instances": self.instance_names(),
            "cameras": self.cameras.to_dict(),
            "objects": [{"name": o.name, "held_by": o.held_by} for o in self.objects],
        }
        write_text_atomic(paths["meta"], json.dumps(meta, indent=2) + "\n")
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> "SyntheticScene":
        folder = Path(folder)
        meta = json.loads((folder / "scene.json").read_text())
        with np.load(folder / "scene.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        cam = meta["cameras"]
        rig = CameraRig(K=np.asarray(cam["K"]), R=np.asarray(cam["R"]), t=np.asarray(cam["t"]),
                        width=cam["width"], height=cam["height"])
        objects = [
            SceneObject(name=o["name"], held_by=o["held_by"],
                        **{k: arrays.pop(f"object{i}_{k}") for k in ("vertices", "faces", "rotation", "translation")})
            for i, o in enumerate(meta["objects"])
        ]
        return cls(seed=meta["seed"], fps=meta["fps"], convention=ManoConvention.from_dict(meta["mano_convention"]),
                   cameras=rig, objects=objects, mano_sha256=meta["mano_sha256"],
                   synthetic_mano=meta["synthetic_mano"], **arrays)


# --- generation --------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, times: np.ndarray, dims: int, amplitude: float,
                  max_hz: float = 0.6, terms: int = 3) -> np.ndarray:
    """(T, dims) smooth signal: a few sinusoids with seeded frequencies and phases."""
    freq = rng.uniform(0.1, max_hz, size=(terms, dims))
    phase = rng.uniform(0, 2 * np.pi, size=(terms, dims))
    amp = amplitude * rng.uniform(0.5, 1.0, size=(terms, dims)) / terms
    return (amp[None] * np.sin(2 * np.pi * freq[None] * times[:, None, None] + phase[None])).sum(axis=1)


def _episode_schedule(num_frames: int, fps: float, episodes: tuple[str, ...], depth: float):
    """Per-frame episode index and scheduled depth, with cosine ramps between episodes."""
    bounds = np.linspace(0, num_frames, len(episodes) + 1)
    targets = np.array([{"apart": -_APART_GAP, "contact": 0.0, "penetrate": depth}[e] for e in episodes])
    frames = np.arange(num_frames)
    index = np.clip(np.searchsorted(bounds, frames, side="right") - 1, 0, len(episodes) - 1)
    overlap = targets[index].astype(np.float64)
    ramp = max(1, int(round(0.15 * fps)))  # 150 ms transitions keep the motion smooth
    for k in range(1, len(episodes)):
        b = int(bounds[k])
        lo, hi = max(0, b - ramp), min(num_frames, b + ramp)
        s = (frames[lo:hi] - (b - ramp)) / (2 * ramp)
        overlap[lo:hi] = targets[k - 1] + (targets[k] - targets[k - 1]) * 0.5 * (1 - np.cos(np.pi * s))
    kinds = np.array([EPISODE_KINDS.index(e) for e in episodes])
    return kinds[index], overlap


def _axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(*aa.shape[:-1], 3, 3)


def _matrix_to_axis_angle(mat: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(mat.reshape(-1, 3, 3)).as_rotvec().reshape(*mat.shape[:-2], 3)


def _object_mesh(kind: str) -> trimesh.Trimesh:
    if kind == "box":
        return trimesh.creation.box(extents=(0.05, 0.035, 0.07))
    if kind == "sphere":
        return trimesh.creation.icosphere(subdivisions=3, radius=0.032)
    if kind == "cylinder":
        return trimesh.creation.cylinder(radius=0.025, height=0.09, sections=32)
    raise ValueError(f"unknown object kind {kind!r}; choose from {OBJECT_KINDS}")


def make_scene(seed: int = 0, num_frames: int = 60, fps: float = 30.0, num_cameras: int = 4,
               image_size: tuple[int, int] = (256, 192),
               episodes: tuple[str, ...] = ("apart", "contact", "penetrate"), penetration_depth: float = 0.008,
               objects: tuple[str, ...] = (), render: bool = True, rgb: bool = True,
               mano_dir: str | None = None, layers: dict[str, ManoLayer] | None = None,
               progress: bool = False, fix_left_shapedirs: bool = True, rig: CameraRig | None = None) -> SyntheticScene:
    """Generate a deterministic two-hand scene; ``render`` adds segmentation, depth (and RGB).

    ``fix_left_shapedirs`` picks the left-hand convention the scene's MANO parameters
    follow (True: InterHand2.6M's; False: Dex-YCB's), so each dataset's native files can
    carry parameters that reproduce the scene's left mesh exactly. ``rig`` replaces the
    ring of cameras (HIC's one camera is fixed by convention, not stored in any file).
    """
    for e in episodes:
        if e not in EPISODE_KINDS:
            raise ValueError(f"unknown episode kind {e!r}; choose from {EPISODE_KINDS}")
    rng = np.random.default_rng(seed)
    convention = replace(SCENE_CONVENTION, fix_left_shapedirs=fix_left_shapedirs)
    layers = layers or {side: load_mano(side, convention, mano_dir) for side in HAND_SIDES}
    times = np.arange(num_frames) / fps
    betas = np.tile(rng.normal(0.0, 0.7, size=10), (2, 1))

    global_orient = np.zeros((num_frames, 2, 3))
    hand_pose = np.zeros((num_frames, 2, 45))
    wrist_target = np.zeros((num_frames, 2, 3))
    drift = _smooth_noise(rng, times, 3, 0.03)  # both hands move together
    for h, side in enumerate(HAND_SIDES):
        wobble = _axis_angle_to_matrix(_smooth_noise(rng, times, 3, 0.25))
        global_orient[:, h] = _matrix_to_axis_angle(_BASE_ROT[side][None] @ wobble)
        comps = layers[side].pca_components.double().numpy()[:6]
        coeffs = _smooth_noise(rng, times, 6, 1.2) * np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.3])
        hand_pose[:, h] = coeffs @ comps
        wrist_target[:, h] = np.array([-0.06 if side == "right" else 0.06, 0.0, 0.0]) + drift
        wrist_target[:, h] += _smooth_noise(rng, times, 3, 0.01)

    # Pose both hands; transl puts the rest wrist J0 at the target (MANO rotates about J0).
    verts, joints = [], []
    transl, j0 = np.zeros((num_frames, 2, 3)), np.zeros((2, 3))
    for h, side in enumerate(HAND_SIDES):
        layer = layers[side]
        with torch.no_grad():
            j0[h] = layer(np.zeros((1, 3)), np.zeros((1, 45)), betas[h : h + 1]).joints[0, 0].double().numpy()
            transl[:, h] = wrist_target[:, h] - j0[h]
            out = layer(global_orient[:, h], hand_pose[:, h], betas[h], transl[:, h])
        verts.append(out.vertices.double().numpy())
        joints.append(out.joints.double().numpy())
    verts, joints = np.stack(verts, axis=1), np.stack(joints, axis=1)
    if len(objects) > len(HAND_SIDES):
        raise ValueError(f"at most {len(HAND_SIDES)} held objects (one per hand), got {len(objects)}")
    scene_objects = [
        _held_object(kind, i, HAND_SIDES[i], global_orient[:, i], transl[:, i], j0[i], layers[HAND_SIDES[i]])
        for i, kind in enumerate(objects)
    ]

    # Shift the left side along x to follow the scheduled depth, smoothly.
    episode, scheduled = _episode_schedule(num_frames, fps, episodes, penetration_depth)
    exact = _solve_shifts(verts, scene_objects, layers["right"].seal, scheduled)
    shift = gaussian_filter1d(exact, sigma=_SHIFT_SMOOTHING_S * fps, mode="nearest")
    verts[:, 1, :, 0] += shift[:, None]
    joints[:, 1, :, 0] += shift[:, None]
    transl[:, 1, 0] += shift
    for obj in scene_objects:
        if obj.held_by == "left":
            obj.translation[:, 0] += shift
    reached = contact_depths(verts, scene_objects, layers["right"].seal)

    centre = np.array([0.0, 0.0, 0.08])
    # The ring is drawn even when a rig is given, so the random stream stays the same.
    ring = ring_rig(num_cameras, 0.6, 0.12, centre, image_size[0], image_size[1], rng)
    rig = rig or ring
    scene = SyntheticScene(
        seed=seed, fps=fps, convention=convention, global_orient=global_orient, hand_pose=hand_pose,
        betas=betas, transl=transl, vertices=verts.astype(np.float32), joints=joints.astype(np.float32),
        episode=episode, scheduled_depth=scheduled, contact_depth=reached, cameras=rig, objects=scene_objects,
        mano_sha256={side: sha256_file(layers[side].model_path) for side in HAND_SIDES},
        synthetic_mano=any(layers[s].synthetic for s in HAND_SIDES),
    )
    if render:
        from handeval.synth.render import render_scene

        render_scene(scene, layers, rgb=rgb, progress=progress)
    return scene


def _sides(verts: np.ndarray, objects: list[SceneObject], right_seal, t: int):
    """Frame t's right-side meshes and left-side points (vertices of the hand and its objects)."""
    meshes = [(right_seal.close(verts[t, 0]), right_seal.faces)]
    meshes += [(o.world_vertices()[t], o.faces) for o in objects if o.held_by == "right"]
    points = np.concatenate([verts[t, 1]] + [o.world_vertices()[t] for o in objects if o.held_by == "left"])
    return meshes, points


def _right_side_distance(meshes):
    """Signed distance to the right side: the minimum over its meshes, each queried alone.

    A held object overlaps the fingers holding it; one ray-casting scene of both would
    count an even number of crossings inside the overlap and call it outside.
    """
    scenes = [raycasting_scene([mesh]) for mesh in meshes]
    return lambda points: np.min([signed_distance(sc, points) for sc in scenes], axis=0)


def contact_depths(verts: np.ndarray, objects: list[SceneObject], right_seal) -> np.ndarray:
    """(T,) contact depth: max over left-side points of minus their signed distance to the right side."""
    out = np.zeros(len(verts))
    for t in range(len(verts)):
        meshes, points = _sides(verts, objects, right_seal, t)
        out[t] = -_right_side_distance(meshes)(points).min()
    return out


def _solve_shifts(verts: np.ndarray, objects: list[SceneObject], right_seal, depth: np.ndarray,
                  step: float = 0.004) -> np.ndarray:
    """Per-frame x shift of the left side whose contact depth is ``depth``.

    Depth is not monotone in the shift (a fingertip can pass through a thin finger), so
    shifts are scanned from 5 cm apart inwards (one vectorised query per frame) and the
    first crossing, the contact a hand approaching from outside makes first, is linearly
    interpolated. The shifts are smoothed afterwards and the depth reached is recomputed
    exactly, so the scan only has to be close.
    """
    grid = 0.05 - step * np.arange(int(0.11 / step) + 1)
    shifts = np.zeros(len(verts))
    for t in range(len(verts)):
        meshes, points = _sides(verts, objects, right_seal, t)
        touch = max(m[0][:, 0].max() for m in meshes) - points[:, 0].min()
        moved = points[None] + np.stack([touch + grid, 0 * grid, 0 * grid], axis=1)[:, None]
        reach = -_right_side_distance(meshes)(moved).min(axis=1)
        crossed = np.flatnonzero(reach >= depth[t])
        if len(crossed) == 0 or crossed[0] == 0:
            k = int(np.argmax(reach)) if len(crossed) == 0 else 0
            shifts[t] = touch + grid[k]
            continue
        k = crossed[0]
        w = (depth[t] - reach[k - 1]) / (reach[k] - reach[k - 1])
        shifts[t] = touch + grid[k - 1] + w * (grid[k] - grid[k - 1])
    return shifts


def _held_object(kind: str, index: int, side: str, orient: np.ndarray, transl: np.ndarray, j0: np.ndarray,
                 layer: ManoLayer) -> SceneObject:
    """An object resting on a palm, moving rigidly with that hand's global transform."""
    mesh = _object_mesh(kind)
    template = layer.smplx.v_template.double().numpy()
    palm = template[layer.parts == 0]
    # In the model frame the palmar side faces -y: rest the object's +y face on the palm.
    offset = np.array([palm[:, 0].mean(), palm[:, 1].min() - float(mesh.bounds[1, 1]), palm[:, 2].mean()])
    rot = _axis_angle_to_matrix(orient)
    # World = R (x_model - J0) + J0 + transl, with x_model = object vertex + offset.
    translation = np.einsum("tij,j->ti", rot, offset - j0) + j0 + transl
    return SceneObject(name=f"{kind}{index}", vertices=np.asarray(mesh.vertices), faces=np.asarray(mesh.faces),
                       rotation=rot, translation=translation, held_by=side)


def scene_records(scene: SyntheticScene, sequence: str, image_pattern: str = "{sequence}/cam{camera}/{frame:06d}.png"
                  ) -> SequenceRecords:
    """The scene's ground truth as canonical records: what every converter must reproduce.

    Views carry the exact projections of the joints (``joints_2d``) and tight boxes of the
    projected vertices; cameras are named ``0..C-1``.
    """
    from handeval.records.sequence import SequenceRecords

    T, C = scene.num_frames, scene.cameras.num_cameras
    frames = {
        "frame": np.arange(T, dtype=np.int64),
        "source_frame": [str(t) for t in range(T)],
        "hand_type": ["interacting"] * T,
        "hand_present": np.ones((T, 2), dtype=bool),
        "joints": scene.joints,
        "joints_valid": np.ones((T, 2, 21), dtype=bool),
        "mano_pose": np.concatenate([scene.global_orient, scene.hand_pose], axis=-1),
        "mano_shape": np.broadcast_to(scene.betas, (T, 2, 10)),
        "mano_trans": scene.transl,
        "mano_valid": np.ones((T, 2), dtype=bool),
    }
    if scene.objects:
        frames["object_ids"] = [[o.name for o in scene.objects]] * T
        frames["object_poses"] = [
            np.concatenate([np.hstack([o.rotation[t], o.translation[t][:, None]]).ravel()
                            for o in scene.objects]).tolist()
            for t in range(T)
        ]
    rig = scene.cameras
    uv_joints = rig.project(scene.joints.astype(np.float64).reshape(T, 42, 3)).reshape(T, C, 2, 21, 2)
    uv_verts = rig.project(scene.vertices.astype(np.float64).reshape(T, -1, 3)).reshape(T, C, 2, 778, 2)
    lo, hi = uv_verts.min(axis=3), uv_verts.max(axis=3)
    bbox = np.concatenate([lo, hi - lo], axis=-1)  # (T, C, 2, 4)
    frame_of_view = np.repeat(np.arange(T), C)
    cam_of_view = np.tile(np.arange(C), T)
    views = {
        "frame": frame_of_view,
        "camera": [str(c) for c in cam_of_view],
        "image_path": [image_pattern.format(sequence=sequence, camera=c, frame=t)
                       for t, c in zip(frame_of_view, cam_of_view)],
        "width": np.full(T * C, rig.width, dtype=np.int32),
        "height": np.full(T * C, rig.height, dtype=np.int32),
        "K": rig.K[cam_of_view], "R": rig.R[cam_of_view], "t": rig.t[cam_of_view],
        "bbox": bbox.reshape(T * C, 2, 4),
        "joints_2d": uv_joints.reshape(T * C, 2, 21, 2),
        "joints_image_valid": np.ones((T * C, 2, 21), dtype=bool),
    }
    return SequenceRecords(sequence=sequence, frames=frames, views=views)
