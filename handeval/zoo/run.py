"""Running a network entry over converted data (``handeval zoo run``): views streamed from the
shards, images decoded lazily and cropped in ``DataLoader`` workers, the network under autocast and
``inference_mode``, its outputs decoded in float32, a canonical submission with its provenance, and
a run manifest beside it (``data_specs/zoo.md``).

One unit per source shard of the split (``handeval.runner``), so a run resumes where it stopped and
``--executor dask`` spreads the shards over GPU workers; each worker builds the model once (its
context). The units' parts are joined in shard order into the one submission.
"""

from __future__ import annotations

import importlib
import inspect
import json
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, Dataset

from handeval import __version__
from handeval.runner import Context, Executor, Job, Unit, content_key, run_job
from handeval.scoring.submissions import SUBMISSION_VALUES, Submission, read_submission, write_submission
from handeval.shards.reader import ShardDataset, read_rgb, to_numpy
from handeval.shards.views import FRAME_COLUMNS, VIEW_COLUMNS, view_truth
from handeval.util.atomic import write_text_atomic
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve
from handeval.zoo.entry import BoxRule, ModelEntry
from handeval.zoo.model import Prediction, ViewBatch, ZooModel
from handeval.zoo.profile import DTYPES, device_record
from handeval.zoo.registry import get_entry, provenance

RUN_SCHEMA = "handeval-zoo-run/1"
_VIEW_COLUMNS = list(dict.fromkeys([*VIEW_COLUMNS, "K", "image_path", "width", "height"]))


def manifest_path(out: Path) -> Path:
    """Where the run manifest of submission ``out`` lies: ``NAME.run.json`` beside it."""
    return out.with_name(out.name.removesuffix(".parquet") + ".run.json")


# ---------------------------------------------------------------------------------------------
# Crops


def boxes_from_points(points: np.ndarray, rule: BoxRule, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """(V, 4) boxes x0, y0, x1, y1 from (V, P, 2) image points (NaN ignored) by ``rule``: the tight
    box, grown ``expand`` times about its centre, its short side grown to the ``aspect``. A view
    with no finite point gets the whole image under the same aspect rule."""
    finite = np.isfinite(points).all(axis=-1)
    lo = np.where(finite[..., None], points, np.inf).min(axis=1)
    hi = np.where(finite[..., None], points, -np.inf).max(axis=1)
    none = ~finite.any(axis=1)
    lo[none] = 0.0
    hi[none] = np.stack([width[none], height[none]], axis=1).astype(np.float64) - 1.0
    grow = np.where(none, 1.0, rule.expand)[:, None]
    centre, size = (lo + hi) / 2, (hi - lo) * grow
    size = np.maximum(size, 1.0)
    w = np.maximum(size[:, 0], size[:, 1] * rule.aspect)
    h = np.maximum(size[:, 1], size[:, 0] / rule.aspect)
    return np.stack([centre[:, 0] - w / 2, centre[:, 1] - h / 2, centre[:, 0] + w / 2, centre[:, 1] + h / 2], axis=1)


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(V, P, 3) camera points, (V, 3, 3) intrinsics -> (V, P, 2) pixels (NaN behind the camera)."""
    uvw = np.einsum("vij,vpj->vpi", K, points)
    z = np.where(uvw[..., 2:] > 0, uvw[..., 2:], np.nan)
    return uvw[..., :2] / z


class ViewCrops(Dataset):
    """One item per view: its image cropped to the entry's box, (3, H, W) uint8, its row, and why its
    image could not be read ("" when it could). The
    crop is an affine resample (bilinear) putting crop pixel ``(u, v)`` at image point
    ``(x0 + u (x1 - x0) / W, y0 + v (y1 - y0) / H)``: the convention of ``handeval.zoo.model``."""

    def __init__(self, root: Path, image_paths: np.ndarray, boxes: np.ndarray, crop: tuple[int, int]):
        self.root, self.paths, self.boxes, self.crop = root, image_paths, boxes, crop

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from PIL import Image

        h, w = self.crop
        x0, y0, x1, y1 = self.boxes[i]
        sx, sy = (x1 - x0) / w, (y1 - y0) / h
        # PIL samples output pixel centres (u + 0.5) at input a (u + 0.5) + c in its half-integer
        # centred coordinates; these a, c put crop pixel u at image pixel x0 + u sx (integer centres).
        coeffs = (sx, 0.0, x0 + 0.5 - 0.5 * sx, 0.0, sy, y0 + 0.5 - 0.5 * sy)
        try:
            image = Image.fromarray(read_rgb(self.root / self.paths[i]))
        except HandevalError as exc:
            # Raised in a loader worker, torch would re-raise it with the worker's traceback in its
            # message; the main process raises it as it is.
            return torch.zeros(3, h, w, dtype=torch.uint8), i, str(exc)
        cropped = image.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR)
        return torch.from_numpy(np.asarray(cropped).copy()).permute(2, 0, 1), i, ""


# ---------------------------------------------------------------------------------------------
# The worker's model


@dataclass
class ZooRunner:
    """What a worker builds once: the entry's model on its device, with its weights."""

    entry: ModelEntry
    model: ZooModel
    device: torch.device
    dtype: str
    batch: int
    workers: int
    ds: ShardDataset
    split: str
    root: Path
    boxes: pd.DataFrame | None
    parts: Path


def build_model(entry: ModelEntry, checkpoint: str | None = None, random_weights: bool = False,
                mano_dir: str | None = None) -> tuple[ZooModel, dict | None]:
    """The entry's model, in eval mode, with the user's checkpoint loaded strictly (its sha256 and
    format in the returned record) or, for cost only, its random initialisation."""
    if entry.kind != "network":
        raise HandevalError(f"zoo entry {entry.name!r} is a {entry.kind}, not a network; `handeval zoo show "
                            f"{entry.name}` says how it runs")
    factory = resolve(entry.build)
    with torch.random.fork_rng():
        torch.manual_seed(0)  # random weights are the same on every run: a cost run, or a pipeline test, repeats
        model = factory(entry, mano_dir=mano_dir) if "mano_dir" in inspect.signature(factory).parameters \
            else factory(entry)
    record = None
    if checkpoint is not None:
        from handeval.zoo.checkpoints import load_checkpoint

        info = load_checkpoint(checkpoint, model, entry.weights.key, entry.weights.renames, entry.weights.sha256)
        record = {"file": Path(checkpoint).name, "sha256": info.sha256, "format": info.format,
                  "renamed": info.renamed}
    elif entry.weights.kind == "checkpoint" and not random_weights:
        raise HandevalError(f"zoo entry {entry.name!r} needs its checkpoint ({entry.weights.file or 'a file'}, "
                            f"licence {entry.weights.licence or 'see the paper'}): handeval downloads nothing, so "
                            f"get it from {entry.weights.origin or 'the authors'} and pass --checkpoint FILE; or "
                            "pass --random-weights to measure its cost and pipeline only")
    return model.eval(), record


def open_runner(entry: str, gt_dir: str, split: str, checkpoint: str | None, random_weights: bool, device: str,
                dtype: str, batch: int, workers: int, root: str, boxes: str | None, mano_dir: str | None,
                parts: str) -> ZooRunner:
    spec = get_entry(entry)
    model, _ = build_model(spec, checkpoint, random_weights, mano_dir)
    dev = torch.device(device)
    detections = pd.read_parquet(boxes) if boxes else None
    return ZooRunner(spec, model.to(dev), dev, dtype, batch, workers, ShardDataset(gt_dir), split, Path(root),
                     detections, Path(parts))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _view_boxes(runner: ZooRunner, truth, views: dict) -> np.ndarray:
    rule, source = runner.entry.inputs.box_rule, runner.entry.inputs.box
    if rule.hands != "both":
        raise HandevalError(f"zoo entry {runner.entry.name!r}: box rule hands={rule.hands!r}; the runner crops one box "
                            "per view (hands='both')")
    if source == "gt":
        points = project(truth.joints.reshape(len(truth), -1, 3), truth.K)
    elif source == "annotation":
        points = _annotation_corners(runner, views)
    elif source == "image":  # the whole image, [0, 0, w - 1, h - 1], under the rule as any box
        points = np.stack([np.zeros((len(truth), 2)), np.stack([views["width"], views["height"]], axis=1) - 1.0],
                          axis=1).astype(np.float64)
    else:
        points = _detector_boxes(runner, truth)
    return boxes_from_points(points, rule, views["width"], views["height"])


def _annotation_corners(runner: ZooRunner, views: dict) -> np.ndarray:
    """The annotation's box around the hands (x, y, w, h) as its corner points: ``hands_bbox`` where
    the source gives one, else the corners of every per-hand ``bbox``."""
    n = len(views["frame"])
    boxes = np.full((n, 3, 4), np.nan)           # the box around the hands, then each hand's
    if "hands_bbox" in views:
        boxes[:, 0] = views["hands_bbox"]
    missing = ~np.isfinite(boxes[:, 0]).all(axis=-1)
    if "bbox" in views:
        boxes[missing, 1:] = views["bbox"][missing]
    if not np.isfinite(boxes).all(axis=-1).any():
        raise HandevalError(f"zoo entry {runner.entry.name!r} crops by the annotation's boxes, and "
                            f"{runner.ds.root} has none (its source gives no bbox); use an entry whose box source is "
                            "'gt' or 'detector'")
    corners = np.stack([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=2)   # (V, B, 2, 2)
    return corners.reshape(len(corners), -1, 2).astype(np.float64)


def _detector_boxes(runner: ZooRunner, truth) -> np.ndarray:
    """A detector's boxes (``--boxes``: Parquet with sequence, frame, camera, x0, y0, x1, y1) as the
    two corner points of each view (NaN where the file has none: the whole image is used)."""
    if runner.boxes is None:
        raise HandevalError(f"zoo entry {runner.entry.name!r} crops by a detector's boxes: pass --boxes FILE (Parquet "
                            "with columns sequence, frame, camera, x0, y0, x1, y1 in image pixels)")
    keys = pd.DataFrame({"sequence": truth.sequence, "frame": truth.frame, "camera": truth.camera})
    found = keys.merge(runner.boxes, how="left", on=["sequence", "frame", "camera"])
    corners = found[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)
    return corners.reshape(-1, 2, 2)


def _roots(truth, root: int) -> tuple[np.ndarray, int]:
    """(V, 2, 3) each present hand's true root joint, for entries placed at it. Where the annotation
    lacks that joint, the centroid of the hand's annotated joints stands in (their count is in the
    manifest): a hand left unplaced would be refused as unpredicted."""
    roots = truth.joints[:, :, root].copy()
    lost = truth.present & ~np.isfinite(roots).all(axis=-1)
    if lost.any():
        joints = np.where(truth.valid[..., None], truth.joints, np.nan)
        with np.errstate(invalid="ignore"):
            roots[lost] = np.nanmean(joints[lost], axis=1)
    return roots, int(lost.sum())


def run_unit(runner: ZooRunner, index: int) -> dict:
    """The runner's task: every view of one source shard through the model, written as a part."""
    shard = next(s for s in runner.ds.manifest.splits[runner.split].shards if s.index == index)
    columns = _VIEW_COLUMNS + (["hands_bbox", "bbox"] if runner.entry.inputs.box == "annotation" else [])
    views = to_numpy(pq.read_table(runner.ds.shard_file(shard, "views"), columns=columns), "views")
    frames = to_numpy(pq.read_table(runner.ds.shard_file(shard, "frames"), columns=list(FRAME_COLUMNS)), "frames")
    truth = view_truth(frames, views)
    entry, device = runner.entry, runner.device
    boxes = _view_boxes(runner, truth, views)
    root_joint, fallback = _roots(truth, entry.outputs.root)
    loader = DataLoader(ViewCrops(runner.root, views["image_path"], boxes, entry.inputs.crop), runner.batch,
                        num_workers=runner.workers, pin_memory=device.type == "cuda",
                        persistent_workers=False)
    mean = torch.tensor(entry.inputs.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(entry.inputs.std, device=device).view(1, 3, 1, 1)
    amp = runner.dtype != "fp32"
    parts: list[tuple[np.ndarray, Prediction]] = []
    model_s, e2e_s, sizes = [], [], []
    started = last = time.perf_counter()
    with torch.inference_mode():
        for images, rows, failed in loader:
            if any(failed):
                raise HandevalError(next(f for f in failed if f))
            rows = rows.numpy()
            images = images.to(device, non_blocking=True).float().div_(255.0).sub_(mean).div_(std)
            _sync(device)
            t0 = time.perf_counter()
            with torch.autocast(device.type, dtype=DTYPES[runner.dtype], enabled=amp):
                outputs = runner.model(images)
            _sync(device)
            model_s.append(time.perf_counter() - t0)
            # Autocast covers the network only: decoding (MANO, un-cropping, placement) is float32.
            outputs = {k: v.float() for k, v in outputs.items()}
            batch = ViewBatch(torch.as_tensor(boxes[rows], dtype=torch.float32, device=device),
                              torch.as_tensor(truth.K[rows], dtype=torch.float32, device=device),
                              torch.as_tensor(root_joint[rows], dtype=torch.float32, device=device))
            pred = runner.model.decode(outputs, batch)
            parts.append((rows, _to_numpy(pred)))
            now = time.perf_counter()
            e2e_s.append(now - last)
            sizes.append(len(rows))
            last = now
    sub = _joined(truth, parts, entry)
    path = runner.parts / f"part-{index:05d}.parquet"
    write_submission(path, sub)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"files": {path.relative_to(runner.parts.parent).as_posix(): sha256_file(path)},
            "views": len(truth), "batch_sizes": sizes, "model_s": model_s, "end_to_end_s": e2e_s,
            "root_fallback_hands": fallback, "wall_s": time.perf_counter() - started,
            "placement": parts[0][1].placement if parts else None,
            "peak_memory_bytes": int(peak), "peak_memory_kind": "cuda allocated" if device.type == "cuda" else "RSS"}


def _to_numpy(pred: Prediction) -> Prediction:
    def cpu(t):
        return None if t is None else t.detach().float().cpu().numpy().astype(np.float64)

    return Prediction(cpu(pred.joints), pred.placement, cpu(pred.vertices), cpu(pred.hand_scores),
                      cpu(pred.mano_pose), cpu(pred.mano_shape), cpu(pred.mano_trans))


def _joined(truth, parts: list, entry: ModelEntry) -> Submission:
    """The shard's predictions in its views' order; a view the loader gave no output keeps NaN joints."""
    n = len(truth)
    order = np.concatenate([rows for rows, _ in parts]) if parts else np.zeros(0, dtype=int)
    fields = {}
    for f in SUBMISSION_VALUES:
        if parts and getattr(parts[0][1], f.name) is not None:
            fields[f.name] = np.full((n,) + f.shape, np.nan)
            fields[f.name][order] = np.concatenate([getattr(p, f.name) for _, p in parts])
    joints = fields.pop("joints", np.full((n, 2, 21, 3), np.nan))
    return Submission(None, f"zoo:{entry.name}", truth.sequence.astype(str), truth.frame.astype(np.int64),
                      truth.camera.astype(str), joints, **fields)


# ---------------------------------------------------------------------------------------------
# The run


def _timing(seconds: list[float], sizes: list[int]) -> dict:
    """Per-sample time (each batch's time over its size) at p50/p95, and throughput over all batches.
    The first batch of each unit is warm-up (allocation, autotuning, workers starting) and left out
    when there are others."""
    s, n = np.asarray(seconds, dtype=np.float64), np.asarray(sizes, dtype=np.float64)
    if len(s) > 1:
        s, n = s[1:], n[1:]
    if not len(s):
        return {"per_sample_ms_p50": None, "per_sample_ms_p95": None, "throughput_per_s": None, "batches": 0}
    per = 1000.0 * s / n
    return {"per_sample_ms_p50": float(np.percentile(per, 50)), "per_sample_ms_p95": float(np.percentile(per, 95)),
            "throughput_per_s": float(n.sum() / s.sum()), "batches": int(len(s))}


def run_entry(entry: str, gt_dir: str | Path, split: str, out: str | Path, root: str | Path | None = None,
              checkpoint: str | Path | None = None, random_weights: bool = False, device: str = "cpu",
              dtype: str = "fp32", batch: int = 16, workers: int = 2, boxes: str | Path | None = None,
              mano_dir: str | None = None, executor: Executor | None = None, progress: bool = True,
              resume: bool = True) -> dict:
    """Run a network entry over ``split`` of the converted data at ``gt_dir`` (images under ``root``,
    the folder it was converted from); write the submission ``out`` and its run manifest. Returns
    the manifest."""
    spec = get_entry(entry)
    if dtype not in DTYPES:
        raise HandevalError(f"--dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise HandevalError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device; use "
                            "--device cpu")
    if batch < 1:
        raise HandevalError("--batch must be at least 1")
    ds = ShardDataset(gt_dir)
    if split not in ds.manifest.splits:
        raise HandevalError(f"{gt_dir}: no split {split!r}; it has {', '.join(ds.manifest.splits)}")
    if root is None or not Path(root).is_dir():
        raise HandevalError(f"--root {root}: give the folder the dataset was converted from (`handeval convert "
                            "--root`): the network reads its images")
    model, ckpt = build_model(spec, checkpoint and str(checkpoint), random_weights, mano_dir)  # refuse early
    del model
    out = Path(out)
    parts = out.with_name(out.name + ".parts")
    shards = ds.manifest.splits[split].shards
    settings = {"entry": spec.to_dict(), "checkpoint": ckpt and ckpt["sha256"], "random": random_weights,
                "device": device, "dtype": dtype, "batch": batch, "boxes": boxes and sha256_file(Path(boxes)),
                "mano_dir": mano_dir is not None}
    key = content_key("zoo run", __version__, settings, _code(spec), split, [s.files["views"].sha256 for s in shards],
                      [s.files["frames"].sha256 for s in shards])
    manifest = manifest_path(out)
    if resume and out.is_file() and manifest.is_file():
        done = json.loads(manifest.read_text())
        if done.get("key") == key and done.get("submission", {}).get("sha256") == sha256_file(out):
            return {**done, "reused": True}
    context = Context("handeval.zoo.run:open_runner", {
        "entry": spec.name, "gt_dir": str(ds.root), "split": split, "checkpoint": checkpoint and str(checkpoint),
        "random_weights": random_weights, "device": device, "dtype": dtype, "batch": batch, "workers": workers,
        "root": str(root), "boxes": boxes and str(boxes), "mano_dir": mano_dir, "parts": str(parts)})
    units = tuple(Unit(content_key("zoo run unit", key, s.index), f"{split} shard {s.index}", {"index": s.index})
                  for s in shards)
    parts.mkdir(parents=True, exist_ok=True)
    job = Job(f"zoo run {spec.name}", "handeval.zoo.run:run_unit", context, units, out.parent, parts / "units",
              out.with_name(out.name.removesuffix(".parquet") + ".run.log.jsonl"))
    started = time.perf_counter()
    report = run_job(job, executor, progress, resume)
    wall = time.perf_counter() - started
    results = report.results
    pieces = [read_submission(parts / f"part-{s.index:05d}.parquet") for s in shards]
    sub = _concat(pieces, spec)

    def cat(name):
        return [x for r in results for x in r[name]]

    timing = {"model_alone": _timing(cat("model_s"), cat("batch_sizes")),
              "end_to_end": _timing(cat("end_to_end_s"), cat("batch_sizes"))}
    placement = next((r["placement"] for r in results if r["placement"]), None)
    dev = device_record(torch.device(device))
    weights = {"kind": "random" if random_weights else spec.weights.kind, **(ckpt or {})}
    sub.provenance = provenance(
        spec, flags=(["GT root"] if placement == "gt-root" else []) + (["random weights"] if random_weights else []),
        placement=placement, weights=weights, measurements=manifest.name)
    flags = sub.provenance["flags"]
    write_submission(out, sub)
    record = {
        "schema": RUN_SCHEMA, "key": key, "entry": spec.to_dict(), "flags": flags, "split": split,
        "dataset": ds.manifest.dataset.to_dict(), "checkpoint": ckpt,
        "weights": weights["kind"], "device": dev, "dtype": dtype, "batch": batch,
        "loader_workers": workers, "box_source": spec.inputs.box, "box_rule": spec.inputs.box_rule.__dict__,
        "placement": placement, "root_fallback_hands": sum(r["root_fallback_hands"] for r in results),
        "views": int(len(sub.frame)), "timing": timing, "wall_s": wall,
        "speed": {"end_to_end_per_s": timing["end_to_end"]["throughput_per_s"],
                  "model_per_s": timing["model_alone"]["throughput_per_s"], "device": dev["name"], "dtype": dtype,
                  "batch": batch},
        "peak_memory": {"bytes": max((r["peak_memory_bytes"] for r in results), default=0),
                        "kind": results[0]["peak_memory_kind"] if results else None},
        "units": report.summary(), "submission": {"file": out.name, "sha256": sha256_file(out)},
        "handeval_version": __version__}
    text = json.dumps(record, indent=1) + "\n"
    write_text_atomic(manifest, text)
    report.close()
    shutil.rmtree(parts, ignore_errors=True)
    return json.loads(text)


def _code(entry: ModelEntry) -> list[str]:
    """The sha256 of the code a run's bytes depend on (the entry's module, this runner), so that a
    changed model never reuses an earlier run's submission."""
    module = importlib.import_module(entry.build.partition(":")[0])
    return [sha256_file(Path(module.__file__)), sha256_file(Path(__file__))]


def _concat(pieces: list[Submission], entry: ModelEntry) -> Submission:
    def cat(name):
        values = [getattr(p, name) for p in pieces]
        return None if any(v is None for v in values) else np.concatenate(values)

    return Submission(None, f"zoo:{entry.name}", cat("sequence"), cat("frame"), cat("camera"), cat("joints"),
                      **{f.name: cat(f.name) for f in SUBMISSION_VALUES if f.name != "joints"})
