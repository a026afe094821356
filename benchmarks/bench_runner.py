"""The unit runner's scaling: convert, label and score the same units with 1 and 2 workers, on the local
backend and on a Dask LocalCluster, side by side in one run.

A synthetic two-hand scene is written as InterHand2.6M sequences (``--sequences`` of ``--frames`` frames,
``--cameras`` views each) and converted into one shard per sequence, so every stage has one unit per
sequence. Each configuration runs in a fresh process pinned to as many cores as it has workers (its
peak RSS is the client's; the workers' are in the job logs). Reported per stage and configuration:
wall time, throughput, the scaling ratio of 2 workers over 1, the per-unit overhead (wall time x
workers minus the units' own time, per unit), and the Dask backend's overhead against local on the
same units, with and without the cluster's start-up. The outputs of every configuration are
compared byte for byte.

    python benchmarks/bench_runner.py                       # 6 sequences x 400 frames x 4 cameras
    python benchmarks/bench_runner.py --sequences 12 --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from harness import in_child

from handeval.runner import LOG_SUFFIX

CONFIGS = [("local", 1), ("local", 2), ("dask", 1), ("dask", 2)]
PROTOCOL = "interhand26m-5fps-ih/intaghand"


def _prepare(work: Path, sequences: int, frames: int, cameras: int) -> tuple[Path, Path]:
    """The native files, and one submission for every configuration to score (made from a conversion of
    its own, so that the configurations' inputs are the same bytes)."""
    from handeval.api import convert
    from handeval.shards import ShardDataset
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
    from handeval.synth.scene import make_scene
    from handeval.zoo.baselines import write_baselines

    scene = make_scene(seed=0, num_frames=frames, num_cameras=cameras, render=False, progress=False)
    write_interhand26m(work / "raw", [InterHandSequence(scene, "test", i, f"seq{i:03d}") for i in range(sequences)],
                       images=False)
    convert("interhand26m", work / "raw", work / "gt", progress=False, target_frames=frames)
    subs = write_baselines(ShardDataset(work / "gt"), "test", work / "subs")
    return work / "raw", subs["oracle-noise"]


def _stage(stage: str, raw: Path, pred: Path, out: Path, frames: int, executor, jobs: list) -> int:
    """Run one stage into ``out``; returns how many frames (convert, labels) or views (score) it did."""
    from handeval.api import convert
    from handeval.labels.run import run_penetration
    from handeval.scoring.score import score

    if stage == "convert":
        manifest = convert("interhand26m", raw, out / "shards", progress=False, target_frames=frames,
                           executor=executor, on_job=jobs.append)
        return manifest.splits["test"].frames
    if stage == "labels":
        entry = run_penetration(out / "shards", progress=False, executor=executor, on_job=jobs.append)
        return sum(f.rows for f in entry.files.values())
    result = score(out / "shards", pred, PROTOCOL, out / "result.json", allow_deviation=True,
                   replicates=0, progress=False, executor=executor, on_job=jobs.append)
    return result["submission"]["rows"]


def _run(raw: str, pred: str, out: str, frames: int, backend: str, workers: int, queue) -> None:
    """One configuration, every stage, in this fresh process, pinned to as many cores as it has workers
    (Open3D's ray casting would otherwise spread one worker's unit over every core)."""
    import os

    from bench_score import _image_labels

    from handeval.runner import Executor

    os.sched_setaffinity(0, set(range(workers)))  # the workers (and their children) inherit it
    out = Path(out)
    rows = {}
    started = time.perf_counter()
    with Executor(backend, workers) as executor:
        executor.open()  # the cluster's start-up, timed apart from the stages
        startup = time.perf_counter() - started
        for stage in ("convert", "labels", "score"):
            if stage == "score":  # untimed: image labels (IntagHand drops dark images; these are not rendered)
                _image_labels(out / "shards")
            jobs = []
            t = time.perf_counter()
            done = _stage(stage, Path(raw), Path(pred), out, frames, executor, jobs)
            wall = time.perf_counter() - t
            units = [json.loads(line) for line in Path(jobs[0]["log"]).read_text().splitlines()[1:]]
            busy = sum(u["seconds"] for u in units)  # context builds included
            rows[stage] = {"wall_s": wall, "items": done, "units": len(units), "unit_s": busy,
                           "overhead_per_unit_s": (wall * workers - busy) / len(units),
                           "worker_peak_rss_mib": max(u["peak_rss_mib"] for u in units)}
    queue.put({"startup_s": startup, "stages": rows,
               "client_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _digest(out: Path) -> str:
    """The outputs' bytes (shards, labels, manifest, error table, result), the jobs' logs left out."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.endswith(LOG_SUFFIX):
            h.update(rel.encode() + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=6, help="units per stage (one shard per sequence)")
    parser.add_argument("--frames", type=int, default=400, help="frames per sequence")
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="handeval-bench-runner-"))
    try:
        raw, pred = _prepare(work, args.sequences, args.frames, args.cameras)
        runs = {}
        for backend, workers in CONFIGS:
            out = work / f"{backend}-{workers}"
            runs[(backend, workers)] = {**in_child(_run, str(raw), str(pred), str(out), args.frames, backend, workers),
                                        "digest": _digest(out)}
        report = _report(runs, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"runner: {args.sequences} units per stage ({args.frames} frames x {args.cameras} cameras each, two hands)")
    for stage, s in report["stages"].items():
        what = "views" if stage == "score" else "frames"
        for c in s["configs"]:
            print(f"  {stage:<8} {c['backend']:<5} {c['workers']} worker(s): {c['wall_s']:6.1f} s, "
                  f"{c['per_s']:8,.0f} {what}/s, overhead {c['overhead_per_unit_s']:5.2f} s/unit, "
                  f"worker peak {c['worker_peak_rss_mib']:,.0f} MiB")
        print(f"  {stage:<8} 2 workers / 1: local {s['scaling_local']:.2f}x, dask {s['scaling_dask']:.2f}x; "
              f"dask vs local at 2 workers: {s['dask_overhead_pct']:+.1f}% "
              f"({s['dask_overhead_with_startup_pct']:+.1f}% with the cluster's start-up)")
    print("  start-up: " + ", ".join(f"{b} {w}: {r['startup_s']:.1f} s" for (b, w), r in runs.items()))
    print(f"  outputs byte-identical across the four: {report['identical']}")


def _report(runs: dict, args) -> dict:
    stages = {}
    for stage in ("convert", "labels", "score"):
        configs = []
        for (backend, workers), r in runs.items():
            s = r["stages"][stage]
            configs.append({"backend": backend, "workers": workers, **s, "per_s": s["items"] / s["wall_s"]})
        by = {(c["backend"], c["workers"]): c for c in configs}
        startup = {k: r["startup_s"] for k, r in runs.items()}
        stages[stage] = {
            "configs": configs,
            "scaling_local": by[("local", 1)]["wall_s"] / by[("local", 2)]["wall_s"],
            "scaling_dask": by[("dask", 1)]["wall_s"] / by[("dask", 2)]["wall_s"],
            "dask_overhead_pct": 100 * (by[("dask", 2)]["wall_s"] / by[("local", 2)]["wall_s"] - 1),
            "dask_overhead_with_startup_pct": 100 * ((by[("dask", 2)]["wall_s"] + startup[("dask", 2)]) /
                                                     (by[("local", 2)]["wall_s"] + startup[("local", 2)]) - 1),
        }
    return {"sequences": args.sequences, "frames": args.frames, "cameras": args.cameras, "stages": stages,
            "startup_s": {f"{b}-{w}": r["startup_s"] for (b, w), r in runs.items()},
            "client_peak_rss_mib": {f"{b}-{w}": r["client_peak_rss_mib"] for (b, w), r in runs.items()},
            "identical": len({r["digest"] for r in runs.values()}) == 1}


if __name__ == "__main__":
    main()
