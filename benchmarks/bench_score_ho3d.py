"""HO3D v2 evaluation-set scoring (``ho3d-v2/official``, bootstrap 1000) against the official eval.py's loop.

A synthetic HO3D v2 evaluation split (11,524 frames by default: the real split's size) is written
in the native layout (meta pickles, ``evaluation.txt``, the released ``evaluation_xyz.json`` and
``evaluation_verts.json``) and converted; ``pred.json`` is the released ground truth plus 5 mm of
noise. ``handeval score`` then computes every quantity of eval.py (three joint alignments, mesh and
aligned mesh errors, F@5/F@15 raw and aligned, the AUCs) and a 1,000-replicate bootstrap, from
``pred.json``, in a fresh process pinned to one core with a fresh error-table cache.

The anchor is eval.py's computation, frame by frame as it runs (written from its definition in
``data_specs/metrics.md``, not copied): per-frame numpy arrays from the json lists, scipy's
orthogonal Procrustes, the ``EvalUtil`` per-joint lists (``tests/oracles.py``), and each F-score from
Open3D's point-cloud distance with eval.py's Python ``sum(d < th for d in ...)``. It runs on a sample
of the same frames, in the same run and on the same core, and is extrapolated per frame.

    python benchmarks/bench_score_ho3d.py                        # 11,524 frames
    python benchmarks/bench_score_ho3d.py --frames 1200 --loop-frames 40 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from harness import describe, in_child, measure, pin, speed_row, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the oracles are the tests' own
import oracles  # noqa: E402

PROTOCOL = "ho3d-v2/official"
PER_SEQUENCE = 200
SCENES = 4  # distinct synthetic scenes, reused across sequences: building one takes seconds


def _prepare(work: Path, frames: int) -> tuple[Path, Path, Path]:
    """(raw root, shards, pred.json), cached in ``work``."""
    from handeval.readers.ho3d import HO3D
    from handeval.shards import ShardDataset
    from handeval.shards.convert import convert
    from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
    from handeval.synth.scene import make_scene
    from handeval.util.errors import HandevalError

    raw, out, pred = work / f"raw-{frames}", work / f"shards-{frames}", work / f"pred-{frames}" / "pred.json"
    if pred.is_file() and (out / "meta" / "info.json").is_file():
        try:
            ShardDataset(out)
            return raw, out, pred
        except HandevalError as exc:  # a cache another handeval wrote: built again
            print(f"rebuilding {out}: {exc}", file=sys.stderr)
    n_seq = -(-frames // PER_SEQUENCE)
    scenes = [make_scene(seed=100 + i, num_frames=PER_SEQUENCE, num_cameras=1, render=False, objects=("box",))
              for i in range(min(SCENES, n_seq))]
    seqs = []
    for i in range(n_seq):
        scene = scenes[i % len(scenes)]
        n = min(PER_SEQUENCE, frames - i * PER_SEQUENCE)
        if n < PER_SEQUENCE:  # the last, shorter sequence
            scene = make_scene(seed=100 + i, num_frames=n, num_cameras=1, render=False, objects=("box",))
        seqs.append(HO3DSequence(scene, "evaluation", f"EV{i:03d}", 0))
    write_ho3d(raw, seqs, version="v2", images=False)
    convert(HO3D(raw, version="v2"), out, progress=False, overwrite=True)
    xyz = np.asarray(json.loads((raw / "evaluation_xyz.json").read_text()))
    verts = np.asarray(json.loads((raw / "evaluation_verts.json").read_text()))
    rng = np.random.default_rng(0)
    pred.parent.mkdir(parents=True, exist_ok=True)
    pred.write_text(json.dumps([(xyz + rng.normal(0, 0.005, xyz.shape)).tolist(),
                                (verts + rng.normal(0, 0.005, verts.shape)).tolist()]))
    return raw, out, pred


def _score(shards: str, pred: str, out: str, replicates: int, queue) -> None:
    pin(1)
    os.environ["HANDEVAL_CACHE_DIR"] = tempfile.mkdtemp(prefix="handeval-bench-cache-")  # no reused error table
    from handeval.scoring.score import score

    with timed() as t:
        result = score(shards, pred, PROTOCOL, out, replicates=replicates, progress=False)
    frames = sum(1 for _ in json.loads(Path(pred).read_text())[0])
    queue.put({"side": measure(frames, "frames", t),
               "metrics": {k: v["value"] for k, v in result["metrics"].items()}})


def _official_fscore(gt: np.ndarray, pr: np.ndarray, th: float) -> float:
    """eval.py's ``calculate_fscore``: Open3D's nearest distances, counted by a Python generator."""
    import open3d as o3d

    def cloud(points):
        pc = o3d.geometry.PointCloud()
        pc.points = o3d.utility.Vector3dVector(points)
        return pc

    g, p = cloud(gt), cloud(pr)
    d1, d2 = g.compute_point_cloud_distance(p), p.compute_point_cloud_distance(g)
    recall = float(sum(d < th for d in d2)) / float(len(d2))
    precision = float(sum(d < th for d in d1)) / float(len(d1))
    return 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0


def _official(raw: str, pred: str, frames: int, total: int, queue) -> None:
    """eval.py's loop over the first ``frames`` frames, from the json files as it reads them; the loop's
    time is extrapolated to ``total`` frames, the files' loading counted once."""
    from harness import Timing

    pin(1)
    with timed() as load:
        xyz_list = json.loads((Path(raw) / "evaluation_xyz.json").read_text())
        verts_list = json.loads((Path(raw) / "evaluation_verts.json").read_text())
        pred_xyz, pred_verts = json.loads(Path(pred).read_text())
    with timed() as loop:
        acc = {k: oracles.JointAccumulator(n) for k, n in
               (("xyz", 21), ("pa", 21), ("st", 21), ("mesh", 778), ("mesh_al", 778))}
        for i in range(frames):
            g, gv, p, pv = (np.array(x) for x in (xyz_list[i], verts_list[i], pred_xyz[i], pred_verts[i]))
            acc["xyz"].feed(g, p)
            acc["st"].feed(g, oracles.ho3d_scale_translation(g, p))
            acc["pa"].feed(g, oracles.similarity_align(g, p))
            acc["mesh"].feed(gv, pv)
            pva = oracles.similarity_align(gv, pv)
            acc["mesh_al"].feed(gv, pva)
            for th in (0.005, 0.015):
                _official_fscore(gv, pv, th)
                _official_fscore(gv, pva, th)
        for a in acc.values():
            a.mean(), a.auc(0.0, 0.05, 100)
    k = total / frames
    whole = Timing(load.wall_s + k * loop.wall_s, load.cpu_s + k * loop.cpu_s)
    queue.put(measure(total, "frames", whole, measured_frames=frames, load_cpu_s=load.cpu_s))


def speed_rows(quick: bool, frames: int | None = None, loop_frames: int | None = None,
               replicates: int = 1000, work: str | None = None) -> list[dict]:
    frames = frames or (1200 if quick else 11524)
    loop_frames = loop_frames or (40 if quick else 268)
    work_dir = Path(work or "/tmp/handeval-bench-score-ho3d")
    work_dir.mkdir(parents=True, exist_ok=True)
    raw, shards, pred = _prepare(work_dir, frames)
    out = work_dir / "result.json"
    for stale in (out, out.with_name("result.errors.parquet")):
        stale.unlink(missing_ok=True)
    ours = in_child(_score, str(shards), str(pred), str(out), replicates)
    anchor = in_child(_official, str(raw), str(pred), min(loop_frames, frames), frames)
    row = speed_row(f"HO3D v2 evaluation set: {frames:,} frames, every eval.py quantity, bootstrap {replicates}",
                    ours["side"], anchor, f"eval.py's loop (Open3D distances), {min(loop_frames, frames)} frames "
                    "extrapolated", "≥ 300× eval.py; ≤ 10 s; < 1 GB",
                    300, absolute={"wall_s": 10 * frames / 11524, "peak_mib": 1024})
    row["metrics"] = ours["metrics"]
    return [row]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=11524)
    ap.add_argument("--loop-frames", type=int, default=268)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--work", default="/tmp/handeval-bench-score-ho3d", help="cache for the dataset and pred.json")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = speed_rows(False, args.frames, args.loop_frames, args.replicates, args.work)
    print(json.dumps(rows, indent=1) if args.json else "\n".join(describe(r) for r in rows))


if __name__ == "__main__":
    main()
