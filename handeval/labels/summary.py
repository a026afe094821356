"""Label distributions: the numbers `handeval labels summary` prints, and its PNG plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handeval.conventions import MM_PER_M
from handeval.labels.registry import label_set
from handeval.labels.store import read_label_arrays
from handeval.labels.subsets import SUBSET_NAMES
from handeval.mano.parts import PARTS
from handeval.shards.reader import ShardDataset
from handeval.util.plots import plt, save_png


def summarise_labels(directory) -> dict:
    ds = ShardDataset(directory)
    have = ds.manifest.labels
    report: dict = {"dataset": ds.manifest.dataset.name, "labels": sorted(have)}
    if "penetration" in have:
        t = read_label_arrays(ds, label_set("penetration").label, ["hh_max_depth", "hh_volume", "ho_max_depth"])
        hh, ho = t["hh_max_depth"], t["ho_max_depth"]
        two = np.isfinite(hh).all(axis=1)
        deepest = hh[two].max(axis=1)
        with_objects = np.isfinite(ho).any(axis=1)
        report["penetration"] = {
            "two_hand_frames": int(two.sum()),
            "penetrating_share": float((deepest > 0).mean()) if two.any() else None,
            "max_depth_mm": _stats(deepest * MM_PER_M),
            "volume_cm3": _stats(t["hh_volume"][two] * 1e6),
            "hand_object_frames": int(with_objects.sum()),
            "hand_object_penetrating_share": float((np.nanmax(ho[with_objects], axis=1) > 0).mean())
            if with_objects.any() else None,
            "_depths_mm": deepest * MM_PER_M,
        }
    if "occlusion" in have:
        t = read_label_arrays(ds, label_set("occlusion").label,
                              ["part_occluded", "hand_occluded", "hand_visible_ratio"])
        shown = np.isfinite(t["hand_visible_ratio"])  # (V, 2): the hands that were labelled
        rates = t["part_occluded"][shown].mean(axis=0) if shown.any() else np.full(6, np.nan)
        report["occlusion"] = {"views": len(shown), "part_occlusion_rate": dict(zip(PARTS, rates.round(4).tolist())),
                               "hand_occlusion_rate": float(t["hand_occluded"][shown].mean()) if shown.any() else None}
    if "subsets" in have:
        t = read_label_arrays(ds, label_set("subsets").label, list(SUBSET_NAMES))
        report["subsets"] = {k: int(t[k].sum()) for k in SUBSET_NAMES}
        report["subsets"]["frames"] = len(t[SUBSET_NAMES[0]])
    return report


def _stats(x: np.ndarray) -> dict | None:
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    return {"mean": float(x.mean()), "median": float(np.median(x)), "p95": float(np.percentile(x, 95)),
            "max": float(x.max())}


def plot_summary(report: dict, path: str | Path) -> Path:
    """One PNG: depth histogram, penetrating share, per-finger occlusion rates, subset counts."""
    panels = [k for k in ("penetration", "occlusion", "subsets") if k in report]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4.6 * max(len(panels), 1), 3.4), squeeze=False)
    for ax, key in zip(axes[0], panels):
        r = report[key]
        if key == "penetration":
            depths = r["_depths_mm"]
            ax.hist(depths[depths > 0], bins=30, color="#c2410c")
            share = r["penetrating_share"]
            ax.set_title(f"hand-hand max depth (penetrating: {share:.0%} of {r['two_hand_frames']} frames)"
                         if share is not None else "hand-hand max depth", fontsize=9)
            ax.set_xlabel("max penetration depth (mm)")
            ax.set_ylabel("frames")
        elif key == "occlusion":
            rates = r["part_occlusion_rate"]
            ax.bar(list(rates), [np.nan_to_num(v) for v in rates.values()], color="#1d4ed8")
            ax.set_ylim(0, 1)
            ax.set_title(f"occlusion rate per part ({r['views']} views)", fontsize=9)
        else:
            ax.bar(list(SUBSET_NAMES), [r[n] for n in SUBSET_NAMES], color="#15803d")
            ax.set_title(f"interaction subsets ({r['frames']} frames)", fontsize=9)
    fig.suptitle(f"{report['dataset']} labels", fontsize=10)
    return save_png(fig, path)
