"""Label distributions: the numbers `handeval labels summary` prints, and its PNG plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handeval.conventions import MM_PER_M
from handeval.labels.store import read_labels
from handeval.mano.parts import PARTS
from handeval.plots import plt, save_png
from handeval.shards.reader import ShardDataset


def _rows(table, name, width):
    return np.array([np.full(width, np.nan) if v is None else v for v in table.column(name).to_pylist()], dtype=float)


def summarise_labels(directory) -> dict:
    ds = ShardDataset(directory)
    have = ds.info.get("labels", {})
    report: dict = {"dataset": ds.info["dataset"]["name"], "labels": sorted(have)}
    if "penetration" in have:
        t = read_labels(ds, "penetration", ["hh_max_depth", "hh_volume", "ho_max_depth"])
        hh = _rows(t, "hh_max_depth", 2)
        ho = _rows(t, "ho_max_depth", 2)
        two = np.isfinite(hh).all(axis=1)
        deepest = hh[two].max(axis=1)
        report["penetration"] = {
            "two_hand_frames": int(two.sum()),
            "penetrating_share": float((deepest > 0).mean()) if two.any() else None,
            "max_depth_mm": _stats(deepest * MM_PER_M),
            "volume_cm3": _stats(np.array([np.nan if v is None else v for v in t.column("hh_volume").to_pylist()])[two]
                                 * 1e6),
            "hand_object_frames": int(np.isfinite(ho).any(axis=1).sum()),
            "hand_object_penetrating_share": float((np.nanmax(ho[np.isfinite(ho).any(axis=1)], axis=1) > 0).mean())
            if np.isfinite(ho).any() else None,
            "_depths_mm": deepest * MM_PER_M,
        }
    if "occlusion" in have:
        t = read_labels(ds, "occlusion", ["part_occluded", "hand_occluded"])
        parts = [v for v in t.column("part_occluded").to_pylist() if v is not None]
        arr = np.array([[x if x is not None else np.nan for x in p] for p in parts], dtype=float).reshape(-1, 2, 6)
        rates = np.nanmean(arr, axis=(0, 1)) if len(arr) else np.full(6, np.nan)
        hands = np.array([[np.nan if x is None else x for x in v] for v in t.column("hand_occluded").to_pylist()
                          if v is not None], dtype=float)
        report["occlusion"] = {"views": t.num_rows, "part_occlusion_rate": dict(zip(PARTS, rates.round(4).tolist())),
                               "hand_occlusion_rate": float(np.nanmean(hands)) if hands.size else None}
    if "subsets" in have:
        t = read_labels(ds, "subsets", ["interacting", "close", "single_hand"])
        report["subsets"] = {k: int(np.asarray(t.column(k)).sum()) for k in ("interacting", "close", "single_hand")}
        report["subsets"]["frames"] = t.num_rows
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
            names = ["interacting", "close", "single_hand"]
            ax.bar(names, [r[n] for n in names], color="#15803d")
            ax.set_title(f"interaction subsets ({r['frames']} frames)", fontsize=9)
    fig.suptitle(f"{report['dataset']} labels", fontsize=10)
    return save_png(fig, path)
