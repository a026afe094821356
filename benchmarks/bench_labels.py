"""Penetration and occlusion label throughput on two-hand frames, with peak memory and --workers scaling.

A synthetic two-hand scene (apart, touching, interpenetrating) is written in
InterHand2.6M's layout and converted into several shards; labels are then computed from
the shards: MANO forward included, no image decoded. Each run is a fresh process pinned
to as many cores as it has workers, so "per core" means one core (Open3D and torch would
otherwise use every core from one worker).

    python benchmarks/bench_labels.py --frames 600 --cameras 4
    python benchmarks/bench_labels.py --json

``speed_rows`` (``benchmarks/speed.py --only labels``) gives the speed table's two rows: the steady
state of the label units on one core (the units after the first, whose worker builds its labeler:
that start-up is reported apart), against bare Open3D over the same frames in the same run, pinned
to the same core: the issue's anchors, a scene per sealed hand and a 1-ray ``compute_occupancy`` of
the other hand's 778 vertices (penetration), one scene of both sealed hands per frame and one
``cast_rays`` of 2 x 778 rays per view (occlusion). The goals are absolute: 1,000 frames and 1,000
views per CPU second.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from harness import Timing, describe, in_child, measure, pin, speed_row, timed


def _prepare(work: Path, frames: int, cameras: int) -> Path:
    from handeval.readers.interhand26m import InterHand26M
    from handeval.shards.convert import convert
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
    from handeval.synth.scene import make_scene

    seqs = []
    per = 150
    for i in range(-(-frames // per)):
        scene = make_scene(seed=i, num_frames=min(per, frames - i * per), num_cameras=cameras, render=False)
        seqs.append(InterHandSequence(scene, "test", 0, f"seq{i:03d}"))
    write_interhand26m(work / "raw", seqs, images=False)
    convert(InterHand26M(work / "raw"), work / "out", progress=False, target_frames=per)
    return work / "out"


def _run(root: str, which: str, workers: int, queue) -> None:
    import os

    from handeval.labels import run
    from handeval.runner import Executor

    os.sched_setaffinity(0, set(range(workers)))  # N workers get N cores; their children inherit it
    start = time.perf_counter()
    jobs = []
    entry = getattr(run, f"run_{which}")(root, progress=False, resume=False, executor=Executor(workers=workers),
                                         on_job=jobs.append)
    wall = time.perf_counter() - start
    rows = sum(f.rows for f in entry.files.values())
    # The units' own time, from the job's log: the throughput without start-up (context builds left out).
    units = [json.loads(line) for line in Path(jobs[0]["log"]).read_text().splitlines()[1:]]
    busy = sum(u["seconds"] for u in units)
    queue.put({"seconds": wall, "rows": rows, "steady_per_s": rows / busy if busy else None})  # per core


#: (frames, cameras) of the table's run, and of --quick's (two shards: one warm-up unit, one measured).
FULL, QUICK = (1200, 4), (300, 2)
GOAL_PER_S = 1000.0


def _ours(root: str, which: str, queue) -> None:
    """The label runner on one core; the steady state from the units' own records, after the first."""
    from handeval.labels import run
    from handeval.runner import Executor
    from handeval.shards.layout import label_path

    pin(1)
    jobs = []
    with timed() as total:
        entry = getattr(run, f"run_{which}")(root, progress=False, resume=False, executor=Executor(workers=1),
                                             on_job=jobs.append)
    units = [json.loads(line) for line in Path(jobs[0]["log"]).read_text().splitlines()[1:]]
    table = "frames" if which == "penetration" else "views"
    unit_rows = []
    for u in units:  # "SPLIT shard N" -> its label file's rows
        split, _, index = u["name"].split()
        rel = label_path(Path(root), which, split, table, int(index)).relative_to(root).as_posix()
        unit_rows.append(entry.files[rel].rows)
    steady, rows = units[1:], sum(unit_rows[1:])
    timing = Timing(sum(u["seconds"] for u in steady), sum(u["cpu_seconds"] for u in steady))
    # Start-up: what the first unit took beyond its rows at the steady rate (imports, MANO, first calls).
    startup = units[0]["seconds"] - unit_rows[0] * timing.wall_s / rows
    queue.put(measure(rows, table, timing, ms_per_item=1000 * timing.cpu_s / rows, startup_s=startup,
                      total_wall_s=total.wall_s))


def _anchor(root: str, which: str, queue) -> None:
    """Bare Open3D over the same frames: the meshes are made first, outside the timing."""
    import numpy as np

    from handeval.geometry import import_open3d, raycasting_scene
    from handeval.shards import ShardDataset
    from handeval.shards.meshes import HandMeshes

    pin(1)
    o3d = import_open3d()
    ds = ShardDataset(root)
    hands = HandMeshes(ds)
    frames, views = [], []
    for name in ds.sequences():
        seq = ds.sequence(name)
        verts, present = hands.vertices(seq.frames)
        for t in np.flatnonzero(present.all(axis=1)):
            sealed = [(np.ascontiguousarray(hands.seal(h).close(verts[t, h]), dtype=np.float32),
                       hands.seal(h).faces) for h in range(2)]
            points = [o3d.core.Tensor(verts[t, h].astype(np.float32)) for h in range(2)]
            rays = []
            for i in np.flatnonzero(seq.views["frame"] == seq.frames["frame"][t]):
                centre = -seq.views["R"][i].astype(np.float64).T @ seq.views["t"][i].astype(np.float64)
                dirs = verts[t].reshape(-1, 3) - centre
                rays.append(o3d.core.Tensor(np.hstack([np.broadcast_to(centre, dirs.shape), dirs]).astype(np.float32)))
            frames.append((sealed, points))
            views.append((sealed, rays))
    with timed() as t:
        if which == "penetration":
            for sealed, points in frames:
                for h in range(2):
                    raycasting_scene([sealed[h]]).compute_occupancy(points[1 - h])
        else:
            for sealed, rays in views:
                scene = raycasting_scene(sealed)
                for r in rays:
                    scene.cast_rays(r)
    count = len(frames) if which == "penetration" else sum(len(r) for _, r in views)
    queue.put(measure(count, "frames" if which == "penetration" else "views", t))


def speed_rows(quick: bool) -> list[dict]:
    frames, cameras = QUICK if quick else FULL
    work = Path(tempfile.mkdtemp(prefix="handeval-bench-labels-"))
    try:
        root = str(_prepare(work, frames, cameras))
        rows = []
        for which, what, anchor in (
                ("penetration", "hand-hand, both directions, depth, contact and volume at 5 mm",
                 "bare Open3D: a scene per sealed hand, 1-ray compute_occupancy of the other's 778 vertices"),
                ("occlusion", f"both hands, {cameras} cameras per frame",
                 "bare Open3D: one scene of both sealed hands per frame, one cast of 2 x 778 rays per view")):
            ours, base = in_child(_ours, root, which), in_child(_anchor, root, which)
            unit = ours["unit"]
            rows.append(speed_row(f"{which} labels ({what}; {frames} synthetic two-hand frames, MANO forward, "
                                  f"reading and writing included; start-up {ours['startup_s']:.1f} s apart)",
                                  ours, base, anchor, f">= {GOAL_PER_S:,.0f} {unit}/s per core", None,
                                  absolute={"ms_per_item": 1000 / GOAL_PER_S}))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--speed", action="store_true", help="the speed table's rows instead (--quick: small)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.speed:
        rows = speed_rows(args.quick)
        print(json.dumps(rows, indent=2) if args.json else "\n".join(describe(r) for r in rows))
        return
    work = Path(tempfile.mkdtemp(prefix="handeval-bench-labels-"))
    try:
        root = _prepare(work, args.frames, args.cameras)
        rows = []
        for which in ("penetration", "occlusion"):
            for w in args.workers:
                r = in_child(_run, str(root), which, w)
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                rows.append({"labels": which, "workers": w, **r, "per_s": r["rows"] / r["seconds"],
                             "per_s_per_worker": r["rows"] / r["seconds"] / w, "peak_rss_mib_so_far": peak})
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        print(f"labels on {args.frames} two-hand frames x {args.cameras} cameras (synthetic, MANO forward included)")
        for r in rows:
            unit = "frames" if r["labels"] == "penetration" else "views"
            steady = f"; {r['steady_per_s']:,.0f} {unit}/s per core in the units" if r["steady_per_s"] else ""
            print(f"  {r['labels']:<11} on {r['workers']} core(s): {r['per_s']:8,.0f} {unit}/s wall "
                  f"({r['seconds']:.1f} s for {r['rows']} {unit}, start-up included{steady}); "
                  f"peak RSS so far {r['peak_rss_mib_so_far']:,.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
