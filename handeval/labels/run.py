"""The runners of the label sets (``handeval.labels.registry`` names each set's runner).

Each label set has a module-level factory so that worker processes can build their own
labeler (see ``store.write_labels``).
"""

from __future__ import annotations

from functools import partial
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


def _subsets():
    return compute_subsets


def _penetration(directory, mano_dir, objects, params):
    return PenetrationLabeler(HandMeshes(ShardDataset(directory), mano_dir), ObjectMeshes(objects), **params)


def _occlusion(directory, mano_dir, objects, preset, delta, source_root):
    ds = ShardDataset(directory)
    masks = Masks(source_root, ds.manifest.conventions.segmentation)
    return OcclusionLabeler(HandMeshes(ds, mano_dir), ObjectMeshes(objects), masks, preset, delta)


def run_images(directory, source_root: str | None, resume: bool = False, progress: bool = True,
               workers: int = 1) -> LabelSetEntry:
    """Image statistics from the images under ``source_root``, the folder the dataset was converted from."""
    ds = ShardDataset(directory)
    stats = ImageStats(source_root)
    sample = ds.read("views", columns=["image_path"]).column("image_path")[:16].to_pylist()
    if sample and not any((stats.root / p).exists() for p in sample):  # the wrong root, before any file is written
        raise HandevalError(f"--root {stats.root} holds none of the dataset's images (e.g. {sample[0]}); give the "
                            "folder the dataset was converted from")
    return write_labels(ds, IMAGES, {}, partial(ImageStats, str(stats.root)), resume=resume, progress=progress,
                        workers=workers)


def run_subsets(directory, resume: bool = False, progress: bool = True, workers: int = 1) -> LabelSetEntry:
    params = {"valid_joints_min": VALID_JOINTS_MIN, "close_mm": CLOSE_MM}
    return write_labels(ShardDataset(directory), SUBSETS, params, _subsets, resume=resume, progress=progress,
                        workers=workers)


def _mesh_sources(ds: ShardDataset, mano_dir, objects) -> dict:
    """What the labels' meshes were built from, by content (never a local path); fails fast on a bad folder."""
    from handeval.mano import mano_files

    return {"synthetic_mano": HandMeshes(ds, mano_dir).synthetic,
            "mano_sha256": {side: sha256_file(path) for side, path in mano_files(mano_dir).items()},
            "objects_sha256": ObjectMeshes(objects).content_sha256()}


def run_penetration(directory, mano_dir=None, objects=None, params: dict | None = None, resume: bool = False,
                    progress: bool = True, workers: int = 1) -> LabelSetEntry:
    ds = ShardDataset(directory)
    params = {**DEFAULTS, **(params or {})}
    recorded = {**params, **_mesh_sources(ds, mano_dir, objects)}
    return write_labels(ds, PENETRATION, recorded, partial(_penetration, str(ds.root), mano_dir, objects, params),
                        resume=resume, progress=progress, workers=workers)


def run_occlusion(directory, mano_dir=None, objects=None, preset: str = "h2onet-code", delta: float = DELTA,
                  source_root: str | None = None, resume: bool = False, progress: bool = True,
                  workers: int = 1) -> LabelSetEntry:
    """Occlusion labels; the hand masks of a dataset that has them are read under ``source_root``."""
    ds = ShardDataset(directory)
    if source_root is not None and not Path(source_root).is_dir():
        raise HandevalError(f"--root {source_root} is not a folder: give the folder the dataset was converted from "
                            "(for its hand masks), or leave --root out")
    params = {"preset": preset, **PRESETS[preset], "delta": delta, **_mesh_sources(ds, mano_dir, objects),
              "hand_masks": source_root is not None}
    make = partial(_occlusion, str(ds.root), mano_dir, objects, preset, delta, source_root)
    return write_labels(ds, OCCLUSION, params, make, resume=resume, progress=progress, workers=workers)
