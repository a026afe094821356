"""Penetration and occlusion label throughput on two-hand frames, with peak memory and --workers scaling.

A synthetic two-hand scene (apart, touching, interpenetrating) is written in
InterHand2.6M's layout and converted into several shards; labels are then computed from
the shards: MANO forward included, no image decoded. Each run is a fresh process pinned
to as many cores as it has workers, so "per core" means one core (Open3D and torch would
otherwise use every core from one worker).

    python benchmarks/bench_labels.py --frames 600 --cameras 4
    python benchmarks/bench_labels.py --json
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from harness import in_child


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
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
