"""The runners of the label sets (``handeval.labels.registry`` names each set's runner).

Each set has a module-level factory of its compute function, named to ``store.write_labels`` as
``"module:function"`` with JSON arguments, so that every worker builds its own labeler once.
Every runner takes ``resume``, ``progress``, ``executor`` (where the units run) and ``on_job``
(hears the runner's summary).
"""

from __future__ import annotations

from pathlib import Path

from handeval.labels.images import IMAGES, ImageStats
from handeval.labels.objects import ObjectMeshes
from handeval.labels.occlusion import DELTA, OCCLUSION, PRESETS, Masks, OcclusionLabeler
from handeval.labels.penetration import DEFAULTS, PENETRATION, PenetrationLabeler
from handeval.labels.store import write_labels
from handeval.labels.subsets import CLOSE_MM, SUBSETS, VALID_JOINTS_MIN, compute_subsets
from handeval.shards.manifest import LabelSetEntry
from handeval.shards.meshes import HandMeshes
from handeval.shards.reader import ShardDataset
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError


def _path(path) -> str | None:
    return None if path is None else str(path)


def subsets_labeler():
    return compute_subsets


def penetration_labeler(directory: str, mano_dir: str | None, objects: str | None, params: dict):
    return PenetrationLabeler(HandMeshes(ShardDataset(directory), mano_dir), ObjectMeshes(objects), **params)


def occlusion_labeler(directory: str, mano_dir: str | None, objects: str | None, preset: str, delta: float,
                      source_root: str | None):
    ds = ShardDataset(directory)
    masks = Masks(source_root, ds.manifest.conventions.segmentation)
    return OcclusionLabeler(HandMeshes(ds, mano_dir), ObjectMeshes(objects), masks, preset, delta)


def run_images(directory, source_root: str | None, **run) -> LabelSetEntry:
    """Image statistics from the images under ``source_root``, the folder the dataset was converted from."""
    ds = ShardDataset(directory)
    stats = ImageStats(source_root)
    sample = ds.read("views", columns=["image_path"]).column("image_path")[:16].to_pylist()
    if sample and not any((stats.root / p).exists() for p in sample):  # the wrong root, before any file is written
        raise HandevalError(f"--root {stats.root} holds none of the dataset's images (e.g. {sample[0]}); give the "
                            "folder the dataset was converted from")
    return write_labels(ds, IMAGES, {}, "handeval.labels.images:ImageStats", {"source_root": str(stats.root)}, **run)


def run_subsets(directory, **run) -> LabelSetEntry:
    params = {"valid_joints_min": VALID_JOINTS_MIN, "close_mm": CLOSE_MM}
    return write_labels(ShardDataset(directory), SUBSETS, params, "handeval.labels.run:subsets_labeler", {}, **run)


def _mesh_sources(ds: ShardDataset, mano_dir, objects) -> dict:
    """What the labels' meshes were built from, by content (never a local path); fails fast on a bad folder."""
    from handeval.mano import mano_files

    return {"synthetic_mano": HandMeshes(ds, mano_dir).synthetic,
            "mano_sha256": {side: sha256_file(path) for side, path in mano_files(mano_dir).items()},
            "objects_sha256": ObjectMeshes(objects).content_sha256()}


def run_penetration(directory, mano_dir=None, objects=None, params: dict | None = None, **run) -> LabelSetEntry:
    ds = ShardDataset(directory)
    params = {**DEFAULTS, **(params or {})}
    recorded = {**params, **_mesh_sources(ds, mano_dir, objects)}
    args = {"directory": str(ds.root), "mano_dir": _path(mano_dir), "objects": _path(objects), "params": params}
    return write_labels(ds, PENETRATION, recorded, "handeval.labels.run:penetration_labeler", args, **run)


def run_occlusion(directory, mano_dir=None, objects=None, preset: str = "h2onet-code", delta: float = DELTA,
                  source_root: str | None = None, **run) -> LabelSetEntry:
    """Occlusion labels; the hand masks of a dataset that has them are read under ``source_root``."""
    ds = ShardDataset(directory)
    if source_root is not None and not Path(source_root).is_dir():
        raise HandevalError(f"--root {source_root} is not a folder: give the folder the dataset was converted from "
                            "(for its hand masks), or leave --root out")
    params = {"preset": preset, **PRESETS[preset], "delta": delta, **_mesh_sources(ds, mano_dir, objects),
              "hand_masks": source_root is not None}
    args = {"directory": str(ds.root), "mano_dir": _path(mano_dir), "objects": _path(objects), "preset": preset,
            "delta": delta, "source_root": _path(source_root)}
    return write_labels(ds, OCCLUSION, params, "handeval.labels.run:occlusion_labeler", args, **run)
