"""Scoring throughput under ``interhand26m-5fps-ih/intaghand``, against a per-frame Python loop.

A synthetic InterHand2.6M test split (two interacting hands in every frame, many cameras per
frame as in the real release) is written in the native layout and converted; a noisy
prediction with joints and vertices is written as a canonical Parquet submission, one row
group per sequence. Then, in a fresh process, ``handeval score`` computes every metric of
the protocol (joints and vertices; MS, M and PA variants; per hand; AUC) with
no bootstrap, streaming shard by shard; wall time and peak memory are reported. The loop
baseline, the tests' oracle ``intaghand_eval`` (``tests/oracles.py``, written the way the
official scripts are), scores a sample of views for the same joint and vertex errors (MS, M, PA)
and is extrapolated: once as the official scripts compute (per sample, per point, errors appended
to per-point lists) and once vectorised within each frame.

    python benchmarks/bench_score.py                       # 261,000 views (6,525 frames x 40 cameras)
    python benchmarks/bench_score.py --frames 600 --cameras 10 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

import numpy as np
from harness import Timing, config, in_child, measure, pin, speed_row, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the oracles are the tests' own
import oracles  # noqa: E402

PROTOCOL = "interhand26m-5fps-ih/intaghand"


def _prepare(work: Path, frames: int, cameras: int) -> Path:
    from handeval.readers.interhand26m import InterHand26M
    from handeval.shards import ShardDataset
    from handeval.shards.convert import convert
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
    from handeval.synth.scene import make_scene
    from handeval.util.errors import HandevalError

    out = work / f"shards-{frames}x{cameras}"
    if (out / "meta" / "info.json").is_file():
        try:
            ShardDataset(out)
            return out
        except HandevalError as exc:  # a cache another handeval wrote: built again
            print(f"rebuilding {out}: {exc}", file=sys.stderr)
    per = 150
    seqs = [InterHandSequence(make_scene(seed=i, num_frames=min(per, frames - i * per), num_cameras=cameras,
                                         render=False, image_size=(64, 48)), "test", 0, f"seq{i:04d}")
            for i in range(-(-frames // per))]
    raw = work / f"raw-{frames}x{cameras}"
    write_interhand26m(raw, seqs, images=False)
    convert(InterHand26M(raw), out, progress=True, target_frames=1500, overwrite=True)
    _image_labels(out)
    return out


def _image_labels(shards: Path) -> None:
    """The protocol selects by the images labels; the scenes are not rendered, so every image gets a
    bright mean. Scoring reads the label column either way; decoding images is ``labels images``'s cost."""
    from handeval.labels.images import IMAGES
    from handeval.labels.store import write_labels
    from handeval.shards import ShardDataset

    write_labels(ShardDataset(shards), IMAGES, {"bench": "constant 128"}, f"{__name__}:bright_labeler", {},
                 progress=False)


def bright_labeler():
    """Every image bright (mean 128): the compute function of the benchmark's stand-in image labels."""
    def bright(seq):
        return {"mean_intensity": np.full(len(seq.views["frame"]), 128.0, dtype=np.float32)}

    return bright


def _submission(shards: Path, path: Path, sigma: float = 0.005) -> Path:
    """GT + noise, written sequence by sequence so memory stays bounded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from handeval.scoring.submissions import SUBMISSION_FEATURES
    from handeval.shards import ShardDataset
    from handeval.shards.meshes import HandMeshes
    from handeval.shards.views import view_truth

    if path.is_file():
        return path
    ds = ShardDataset(shards)
    meshes = HandMeshes(ds)
    rng = np.random.default_rng(0)
    writer = None
    tmp = path.with_suffix(".tmp")
    for seq in ds.iter_sequences("test"):
        v, truth = seq.views, view_truth(seq.frames, seq.views, meshes=meshes)
        verts, joints = truth.vertices, np.where(np.isfinite(truth.joints), truth.joints, 0.0)
        verts = verts + rng.normal(0, sigma, verts.shape)
        joints = joints + rng.normal(0, sigma, joints.shape)
        values = {"sequence": v["sequence"], "frame": v["frame"], "camera": v["camera"], "joints": joints,
                  "vertices": verts}
        table = pa.table({feat.name: feat.encode(values[feat.name], len(truth)) for feat in SUBMISSION_FEATURES
                          if feat.name in values})
        writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
        writer.write_table(table)
    writer.close()
    tmp.rename(path)
    return path


def _score(shards: str, pred: str, out: str, cores: int, queue) -> None:
    pin(cores)
    from handeval.scoring.score import score

    with timed() as t:
        result = score(shards, pred, PROTOCOL, out, replicates=0, progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"wall_s": t.wall_s, "cpu_s": t.cpu_s, "peak_rss_mib": peak, "config": config(),
               "metrics": {k: v["value"] for k, v in result["metrics"].items()}})


def _loop(shards: Path, pred: Path, n_views: int) -> dict:
    """The per-frame loop on the first ``n_views`` scored views, from the same arrays the engine reads."""
    import pyarrow.parquet as pq

    from handeval.conventions import HAND_SIDES
    from handeval.scoring.submissions import SUBMISSION_COLUMNS
    from handeval.shards import ShardDataset
    from handeval.shards.meshes import HandMeshes
    from handeval.shards.views import view_truth

    ds = ShardDataset(shards)
    meshes = HandMeshes(ds)
    regs = np.stack([meshes.layers[s].joint_regressor("intaghand") for s in HAND_SIDES])
    pf = pq.ParquetFile(pred)
    gts, preds = [], []
    for g, seq in enumerate(ds.iter_sequences("test")):
        gts.append(view_truth(seq.frames, seq.views, meshes=meshes).vertices)
        preds.append(SUBMISSION_COLUMNS["vertices"].decode(pf.read_row_group(g, columns=["vertices"]).column(0))
                     .astype(np.float64))
        if sum(len(x) for x in gts) >= 2 * n_views:
            break
    gt, pr = np.concatenate(gts), np.concatenate(preds)
    keep = np.isfinite(gt).all(axis=(1, 2, 3))  # the protocol needs both hands' MANO, as the engine selects
    gt, pr = gt[keep][:n_views], pr[keep][:n_views]
    out = {"views": len(gt)}
    for name, per_point_lists, n in (("official_style", True, max(1, len(gt) // 10)),
                                     ("frame_vectorised", False, len(gt))):
        with timed() as t:
            oracles.intaghand_eval(gt[:n], pr[:n], regs, per_point_lists=per_point_lists)
        out[name] = {"views": n, "views_per_s": n / t.wall_s, "cpu_s": t.cpu_s, "wall_s": t.wall_s}
    return out


def _loop_child(shards: str, pred: str, n_views: int, queue) -> None:
    pin(1)
    queue.put(_loop(Path(shards), Path(pred), n_views))


def speed_rows(quick: bool) -> list[dict]:
    """The table's row: the engine on one core against the numpy loop over frames, both extrapolated per view."""
    frames, cameras, loop_views = (600, 10, 300) if quick else (6525, 40, 1000)
    work = Path("/tmp/handeval-bench-score")
    work.mkdir(parents=True, exist_ok=True)
    shards = _prepare(work, frames, cameras)
    pred = _submission(shards, work / f"pred-{frames}x{cameras}.parquet")
    out = work / "result.json"
    for stale in (out, out.with_name("result.errors.parquet")):
        stale.unlink(missing_ok=True)
    engine = in_child(_score, str(shards), str(pred), str(out), 1)
    views = frames * cameras
    ours = {**measure(views, "views", Timing(engine["wall_s"], engine["cpu_s"])), "peak_mib": engine["peak_rss_mib"],
            "config": engine["config"]}
    loop = in_child(_loop_child, str(shards), str(pred), loop_views)["frame_vectorised"]
    k = views / loop["views"]
    anchor = measure(views, "views", Timing(k * loop["wall_s"], k * loop["cpu_s"]))
    return [speed_row(f"InterHand2.6M IntagHand setting: {views:,} views, joints and vertices, MS/M/PA, AUC", ours,
                      anchor, f"numpy loop over frames, {loop['views']} views extrapolated",
                      "≥ 10× the numpy loop; ≤ 20 s", 10, absolute={"wall_s": 20 * views / 261000})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=6525)
    ap.add_argument("--cameras", type=int, default=40)
    ap.add_argument("--loop-views", type=int, default=1000)
    ap.add_argument("--work", default="/tmp/handeval-bench-score", help="cache for the dataset and submission")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    shards = _prepare(work, args.frames, args.cameras)
    pred = _submission(shards, work / f"pred-{args.frames}x{args.cameras}.parquet")
    out = work / "result.json"
    for stale in (out, out.with_name("result.errors.parquet")):
        stale.unlink(missing_ok=True)
    engine = in_child(_score, str(shards), str(pred), str(out), len(os.sched_getaffinity(0)))
    views = args.frames * args.cameras
    loop = _loop(shards, pred, args.loop_views)
    report = {"protocol": PROTOCOL, "views": views, "frames": args.frames, "cameras": args.cameras,
              "engine": {**engine, "views_per_s": views / engine["wall_s"]}, "loops": loop,
              "submission_mib": pred.stat().st_size / 2**20}
    for name in ("official_style", "frame_vectorised"):
        report[f"speedup_vs_{name}"] = report["engine"]["views_per_s"] / loop[name]["views_per_s"]
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{PROTOCOL}: {views:,} two-hand views ({args.frames:,} frames x {args.cameras} cameras), "
          f"submission {report['submission_mib']:.0f} MiB")
    print(f"  engine : {engine['wall_s']:.1f} s end to end, {report['engine']['views_per_s']:,.0f} views/s, "
          f"peak RSS {engine['peak_rss_mib']:.0f} MiB")
    for name in ("official_style", "frame_vectorised"):
        lp = loop[name]
        print(f"  loop ({name}): {lp['views_per_s']:,.1f} views/s on {lp['views']} views -> "
              f"{views / lp['views_per_s'] / 60:.1f} min for the split; "
              f"engine {report[f'speedup_vs_{name}']:.1f}x faster")


if __name__ == "__main__":
    main()
