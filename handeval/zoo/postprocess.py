"""Post-processors run on prediction files: the temporal filters, the IHMR-OPT refinement and the
joints-to-MANO fit (``handeval zoo filter|refine|fit``). Each reads a submission, writes the new
one with its provenance (the entry's flags, its parameters, the input's provenance) and, for the
optimisers, a per-view record beside it (``NAME.refine.json``, ``NAME.fit.json``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from handeval.scoring.submissions import Submission, read_submission, write_submission
from handeval.shards.reader import ShardDataset, rows_of, to_numpy
from handeval.util.atomic import write_text_atomic
from handeval.util.errors import HandevalError


def _dataset(gt_dir: str | Path | None) -> ShardDataset | None:
    return None if gt_dir is None else ShardDataset(gt_dir)


def filter_file(name: str, pred: str | Path, out: str | Path, gt_dir: str | Path | None = None,
                split: str | None = None, fps: float | None = None, params: dict | None = None) -> dict:
    """``handeval zoo filter``: the submission ``pred`` smoothed by filter ``name``, written to ``out``."""
    from handeval.zoo.filters import FILTERS, filter_submission, resolve_fps

    ds = _dataset(gt_dir)
    sub = read_submission(pred, ds, split)
    if fps is None and ds is not None:
        fps = resolve_fps(None, ds.manifest.dataset.name, ds.manifest.dataset.variant)
    fps = resolve_fps(fps)
    smoothed = filter_submission(sub, name, fps, **(params or {}))
    write_submission(out, smoothed)
    return {"out": str(out), "rows": int(len(smoothed.frame)), "filter": name, "causal": FILTERS[name].causal,
            "fps": fps, "settings": smoothed.provenance["params"]}


def view_intrinsics(ds: ShardDataset, split: str, sub: Submission) -> np.ndarray:
    """(N, 3, 3) each submission row's camera intrinsics, from the converted views (calibration, not
    annotation: the optimisers' 2D terms project with it)."""
    views = to_numpy(ds.read("views", split, columns=["sequence", "frame", "camera", "K"]), "views")
    rows = rows_of({"sequence": sub.sequence, "frame": sub.frame, "camera": sub.camera}, views,
                   ("sequence", "frame", "camera"))
    if (rows < 0).any():
        i = int(np.flatnonzero(rows < 0)[0])
        raise HandevalError(f"{sub.path}: view ({sub.sequence[i]!r}, {sub.frame[i]}, {sub.camera[i]!r}) is not in "
                            f"split {split!r} of {ds.root}; give the split the prediction is of")
    return views["K"][rows].astype(np.float64)


def record_path(out: Path, kind: str) -> Path:
    return out.with_name(out.name.removesuffix(".parquet") + f".{kind}.json")


def _write_record(out: Path, kind: str, record: dict) -> Path:
    path = record_path(out, kind)
    write_text_atomic(path, json.dumps(record, indent=1) + "\n")
    return path


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started
