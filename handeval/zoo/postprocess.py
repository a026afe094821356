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
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.zoo.registry import get_entry, input_provenance, provenance


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


def _layers(device: str, mano_dir: str | None) -> dict:
    import torch

    from handeval.conventions import HAND_SIDES
    from handeval.mano import load_mano
    from handeval.zoo.entry import ZOO_MANO

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise HandevalError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device; use "
                            "--device cpu")
    return {side: load_mano(side, ZOO_MANO, mano_dir).to(device) for side in HAND_SIDES}


def _targets(sub: Submission, targets: str | Path | None, ds: ShardDataset, split: str
             ) -> tuple[np.ndarray, dict | str, bool]:
    """The joints the refinement fits: another prediction's, matched by view, or the input's own."""
    if targets is None:
        return sub.joints, "the input's own joints", False
    other = read_submission(targets, ds, split)
    rows = rows_of({"sequence": sub.sequence, "frame": sub.frame, "camera": sub.camera},
                   {"sequence": other.sequence, "frame": other.frame, "camera": other.camera},
                   ("sequence", "frame", "camera"))
    joints = np.where((rows >= 0)[:, None, None, None], other.joints[np.maximum(rows, 0)], np.nan)
    made = input_provenance(other)
    return joints, made, "oracle" in made.get("flags", [])


def refine_file(pred: str | Path, gt_dir: str | Path, split: str, out: str | Path, iterations: int = 300,
                device: str = "cpu", batch: int = 512, mano_dir: str | None = None,
                targets: str | Path | None = None) -> dict:
    """``handeval zoo refine``: IHMR-OPT over every view of ``pred`` with both hands' MANO, fitted to
    ``targets``' joints (another prediction, matched by view) or, without it, the input's own. Other
    views are copied. Writes ``out`` and ``NAME.refine.json`` (per view: stages accepted, penetration
    before and after)."""
    import torch

    from handeval.zoo.refine import RefineConfig, refine

    ds = ShardDataset(gt_dir)
    sub = read_submission(pred, ds, split)
    if sub.mano_pose is None or sub.mano_shape is None or sub.mano_trans is None:
        raise HandevalError(f"{pred}: no MANO parameters (mano_pose, mano_shape, mano_trans): the refinement "
                            "optimises them; give a prediction that has them, or fit them first with "
                            "`handeval zoo fit`")
    K = view_intrinsics(ds, split, sub)
    goal, made_targets, oracle_targets = _targets(sub, targets, ds, split)
    rows = np.flatnonzero(np.isfinite(sub.mano_pose).all(axis=(1, 2)) & np.isfinite(sub.mano_shape).all(axis=(1, 2))
                          & np.isfinite(sub.mano_trans).all(axis=(1, 2)) & np.isfinite(goal).all(axis=(1, 2, 3)))
    layers = _layers(device, mano_dir)
    config = RefineConfig().with_iterations(iterations)
    pose, shape, trans = sub.mano_pose.copy(), sub.mano_shape.copy(), sub.mano_trans.copy()
    joints = sub.joints.copy()
    vertices = sub.vertices.copy() if sub.vertices is not None else np.full((len(joints), 2, 778, 3), np.nan)
    stages = [s.name for s in config.stages]
    per_view = {"row": [], "accepted": [], **{f"{m}_{when}": [] for m in ("mmpd", "ave_p", "max_p", "volume")
                                               for when in ("before", "after")}}
    seconds = 0.0
    for lo in range(0, len(rows), batch):
        r = rows[lo:lo + batch]
        with torch.enable_grad():
            res = refine(pose[r], shape[r], trans[r], K[r], layers, goal[r], config)
        seconds += res.seconds
        for into, values in ((pose, res.pose), (shape, res.shape), (trans, res.trans)):
            into[r] = values.detach().double().cpu().numpy()
        joints[r] = res.joints.detach().double().cpu().numpy()
        vertices[r] = res.vertices.detach().double().cpu().numpy()
        per_view["row"] += r.tolist()
        per_view["accepted"] += res.accepted.cpu().numpy().astype(bool).tolist()
        for m in ("mmpd", "ave_p", "max_p", "volume"):
            per_view[f"{m}_before"] += res.penetration_before[m].tolist()
            per_view[f"{m}_after"] += res.penetration_after[m].tolist()
    rate = len(rows) / seconds if seconds > 0 else None
    refined = Submission(None, f"{sub.format}+ihmr-opt", sub.sequence, sub.frame, sub.camera, joints, vertices,
                         sub.hand_scores, mano_pose=pose, mano_shape=shape, mano_trans=trans)
    refined.provenance = provenance(
        get_entry("ihmr-opt"), flags=["oracle"] if oracle_targets else [], input=input_provenance(sub),
        targets=made_targets, params={"iterations_per_stage": iterations, "stages": stages, "batch": batch},
        measurements=record_path(Path(out), "refine").name)
    out = Path(out)
    write_submission(out, refined)
    summary = _refine_summary(per_view, stages)
    done = per_view.pop("row")
    record = {"views": {"sequence": sub.sequence[done].tolist(), "frame": sub.frame[done].tolist(),
                        "camera": sub.camera[done].tolist(), **per_view},
              "stages": stages, "units": {"mmpd": "m", "ave_p": "m", "max_p": "m", "volume": "m^3"},
              "refined_views": len(rows), "copied_views": int(len(sub.frame) - len(rows)), "targets": made_targets,
              "iterations_per_stage": iterations, "device": device, "batch": batch, "samples_per_s": rate,
              "summary": summary, **_measured(out, rate, device, batch)}
    path = _write_record(out, "refine", record)
    text = (f"{len(rows)} views refined ({record['copied_views']} copied), stages accepted "
            + ", ".join(f"{s} {p:.0f}%" for s, p in summary["accepted_percent"].items())
            + f"; AVE-P {summary['ave_p_mm'][0]:.3f} -> {summary['ave_p_mm'][1]:.3f} mm, volume "
            f"{summary['volume_cm3'][0]:.3f} -> {summary['volume_cm3'][1]:.3f} cm3")
    return {"out": str(out), "record": str(path), "summary": text, **summary}


def _measured(out: Path, rate: float | None, device: str, batch: int) -> dict:
    """What a record says of the run that wrote ``out``: its speed, and the file it measured (``handeval
    score`` copies the speed into the result when the file is that one)."""
    import torch

    from handeval.zoo.profile import device_record

    speed = {"end_to_end_per_s": rate, "device": device_record(torch.device(device))["name"],
             "dtype": "fp32", "batch": batch}
    return {"speed": speed, "submission": {"file": out.name, "sha256": sha256_file(out)}}


def _refine_summary(per_view: dict, stages: list[str]) -> dict:
    accepted = np.asarray(per_view["accepted"], dtype=bool).reshape(-1, len(stages))

    def mean(name, scale):
        return [float(np.mean(per_view[f"{name}_{w}"]) * scale) if per_view[f"{name}_{w}"] else None
                for w in ("before", "after")]

    return {"accepted_percent": {s: float(100 * accepted[:, i].mean()) if len(accepted) else 0.0
                                 for i, s in enumerate(stages)},
            "ave_p_mm": mean("ave_p", 1e3), "max_p_mm": mean("max_p", 1e3), "mmpd_mm": mean("mmpd", 1e3),
            "volume_cm3": mean("volume", 1e6)}


def fit_file(pred: str | Path, gt_dir: str | Path, split: str, out: str | Path, iterations: int = 200,
             device: str = "cpu", batch: int = 512, mano_dir: str | None = None) -> dict:
    """``handeval zoo fit``: MANO fitted to every predicted hand's joints; writes ``out`` (joints as given,
    the fit's vertices and parameters) and ``NAME.fit.json`` (per view: each hand's joint residual)."""
    import torch

    from handeval.zoo.fit import FIT_STAGES, FitConfig, fit_to_joints

    ds = ShardDataset(gt_dir)
    sub = read_submission(pred, ds, split)
    if not sub.has_joints:
        raise HandevalError(f"{pred}: no joints to fit MANO to (it holds vertices only)")
    K = view_intrinsics(ds, split, sub)
    present = np.isfinite(sub.joints).all(axis=(2, 3))
    layers = _layers(device, mano_dir)
    config = FitConfig().with_iterations(iterations / max(s.iterations for s in FIT_STAGES))
    n = len(sub.frame)
    pose, shape, trans = np.full((n, 2, 48), np.nan), np.full((n, 2, 10), np.nan), np.full((n, 2, 3), np.nan)
    vertices, residual = np.full((n, 2, 778, 3), np.nan), np.full((n, 2), np.nan)
    rows = np.flatnonzero(present.any(axis=1))
    started = time.perf_counter()
    for lo in range(0, len(rows), batch):
        r = rows[lo:lo + batch]
        with torch.enable_grad():
            res = fit_to_joints(sub.joints[r], present[r], K[r], layers, config)
        pose[r], shape[r], trans[r] = (t.detach().double().cpu().numpy() for t in (res.pose, res.shape, res.trans))
        vertices[r] = res.vertices.detach().double().cpu().numpy()
        residual[r] = res.residual_mm.detach().double().cpu().numpy()
    seconds = time.perf_counter() - started
    rate = len(rows) / seconds if seconds > 0 else None
    vertices[~present] = np.nan
    fitted = Submission(None, f"{sub.format}+fit-mano", sub.sequence, sub.frame, sub.camera, sub.joints, vertices,
                        sub.hand_scores, mano_pose=pose, mano_shape=shape, mano_trans=trans)
    fitted.provenance = provenance(get_entry("fit-mano"), input=input_provenance(sub),
                                   params={"iterations": iterations}, measurements=record_path(Path(out), "fit").name)
    out = Path(out)
    write_submission(out, fitted)
    finite = residual[np.isfinite(residual)]
    record = {"views": {"sequence": sub.sequence.tolist(), "frame": sub.frame.tolist(), "camera": sub.camera.tolist(),
                        "residual_mm": [[None if not np.isfinite(x) else float(x) for x in row] for row in residual]},
              "hands": int(present.sum()), "residual_mm_mean": float(finite.mean()) if len(finite) else None,
              "residual_mm_max": float(finite.max()) if len(finite) else None, "device": device, "batch": batch,
              "samples_per_s": rate, **_measured(out, rate, device, batch)}
    path = _write_record(out, "fit", record)
    text = (f"{record['hands']} hands fitted, joint residual mean {record['residual_mm_mean']:.2f} mm, max "
            f"{record['residual_mm_max']:.2f} mm" if len(finite) else "no hand to fit")
    return {"out": str(out), "record": str(path), "summary": text, **{k: record[k] for k in (
        "hands", "residual_mm_mean", "residual_mm_max", "samples_per_s")}}
