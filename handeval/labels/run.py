"""Running label sets over a converted dataset (the CLI's entry points)."""

from __future__ import annotations

from handeval.labels.meshes import HandMeshes, ObjectMeshes
from handeval.labels.occlusion import DELTA, OCCLUSION, PRESETS, Masks, OcclusionLabeler
from handeval.labels.penetration import DEFAULTS, PENETRATION, PenetrationLabeler
from handeval.labels.store import write_labels
from handeval.labels.subsets import CLOSE_MM, SUBSETS, VALID_JOINTS_MIN, compute_subsets
from handeval.shards.reader import ShardDataset


def run_subsets(directory, resume: bool = False, progress: bool = True, workers: int = 1) -> dict:
    ds = ShardDataset(directory)
    params = {"valid_joints_min": VALID_JOINTS_MIN, "close_mm": CLOSE_MM}
    return write_labels(ds, SUBSETS, params, compute_subsets, resume=resume, progress=progress, workers=workers)


def run_penetration(directory, mano_dir=None, objects=None, params: dict | None = None, resume: bool = False,
                    progress: bool = True, workers: int = 1) -> dict:
    ds = ShardDataset(directory)
    params = {**DEFAULTS, **(params or {})}
    hands = HandMeshes(ds, mano_dir)
    labeler = PenetrationLabeler(hands, ObjectMeshes(objects), **params)
    recorded = {**params, "synthetic_mano": hands.synthetic, "objects": str(objects) if objects else None}
    return write_labels(ds, PENETRATION, recorded, labeler, resume=resume, progress=progress, workers=workers)


def run_occlusion(directory, mano_dir=None, objects=None, preset: str = "h2onet-code", delta: float = DELTA,
                  resume: bool = False, progress: bool = True, workers: int = 1) -> dict:
    ds = ShardDataset(directory)
    hands = HandMeshes(ds, mano_dir)
    masks = Masks(ds.info.get("source_root"), ds.info["conventions"].get("segmentation"))
    labeler = OcclusionLabeler(hands, ObjectMeshes(objects), masks, preset, delta)
    params = {"preset": preset, **PRESETS[preset], "delta": delta, "synthetic_mano": hands.synthetic,
              "objects": str(objects) if objects else None}
    return write_labels(ds, OCCLUSION, params, labeler, resume=resume, progress=progress, workers=workers)
