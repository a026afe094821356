"""Conversion throughput and peak memory on a large synthetic InterHand2.6M-layout annotation set,
and shard read throughput (full scan, one random sequence).

The annotation files are generated in InterHand2.6M's exact v1.0 layout (data, camera,
joint_3d and MANO_NeuralAnnot json) with random but well-formed values: ``--images``
image records over 80 cameras per frame. Generation is not timed. The conversion runs in
a child process so its peak RSS is measured alone.

    python benchmarks/bench_convert.py --images 1000000 --workers 1
    python benchmarks/bench_convert.py --images 1000000 --workers 2 --json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import in_child

CAMERAS = 80
FRAMES_PER_SEQUENCE = 250


def generate(root: Path, images: int, seed: int = 0) -> dict:
    """Write a v1.0 test split with ``images`` image records; returns counts."""
    rng = np.random.default_rng(seed)
    frames = -(-images // CAMERAS)
    sequences = -(-frames // FRAMES_PER_SEQUENCE)
    ann = root / "annotations" / "test"
    ann.mkdir(parents=True)
    cams = [str(400000 + c) for c in range(CAMERAS)]
    captures = {}
    valid = json.dumps([[1]] * 42)
    with open(ann / "InterHand2.6M_test_data.json", "w") as fh:
        fh.write('{"images": [')
        n = 0
        for kind in ("images", "annotations"):
            if kind == "annotations":
                fh.write('], "annotations": [')
            n = 0
            for s in range(sequences):
                cap, seq = s % 8, f"seq{s:05d}"
                for f in range(FRAMES_PER_SEQUENCE):
                    fidx = 3 * (s * FRAMES_PER_SEQUENCE + f)
                    captures.setdefault(cap, set()).add(fidx)
                    parts = []
                    for c in cams:
                        if n >= images:
                            break
                        if kind == "images":
                            parts.append(f'{{"id": {n}, "file_name": "Capture{cap}/{seq}/cam{c}/image{fidx}.jpg", '
                                         f'"width": 334, "height": 512, "capture": {cap}, "subject": 0, '
                                         f'"seq_name": "{seq}", "camera": "{c}", "frame_idx": {fidx}}}')
                        else:
                            parts.append(f'{{"id": {n}, "image_id": {n}, "bbox": [10.5, 20.5, 100.0, 120.0], '
                                         f'"joint_valid": {valid}, "hand_type": "interacting", "hand_type_valid": 1}}')
                        n += 1
                    if parts:
                        fh.write(("," if n > len(parts) else "") + ",".join(parts))
        fh.write("]}")
    camera = {str(cap): {"campos": {c: rng.normal(0, 500, 3).tolist() for c in cams},
                         "camrot": {c: np.eye(3).tolist() for c in cams},
                         "focal": {c: [1200.0, 1200.0] for c in cams}, "princpt": {c: [167.0, 256.0] for c in cams}}
              for cap in captures}
    (ann / "InterHand2.6M_test_camera.json").write_text(json.dumps(camera))
    world = np.round(rng.normal(0, 100, (42, 3)), 3).tolist()
    with open(ann / "InterHand2.6M_test_joint_3d.json", "w") as fh:
        fh.write("{" + ",".join(
            f'"{cap}": {{' + ",".join(f'"{f}": {{"world_coord": {json.dumps(world)}, '
                                       f'"joint_valid": {json.dumps([1] * 42)}, '
                                       f'"hand_type": "interacting"}}' for f in sorted(fr)) + "}"
            for cap, fr in captures.items()) + "}")
    hand = json.dumps({"pose": [0.1] * 48, "shape": [0.0] * 10, "trans": [0.0, 0.0, 0.5]})
    with open(ann / "InterHand2.6M_test_MANO_NeuralAnnot.json", "w") as fh:
        fh.write("{" + ",".join(
            f'"{cap}": {{' + ",".join(f'"{f}": {{"right": {hand}, "left": {hand}}}' for f in sorted(fr)) + "}"
            for cap, fr in captures.items()) + "}")
    size = sum(p.stat().st_size for p in ann.iterdir())
    return {"images": images, "frames": frames, "sequences": sequences, "json_bytes": size}


def _convert_child(raw: str, out: str, workers: int, queue) -> None:
    from handeval.readers.interhand26m import InterHand26M
    from handeval.runner import Executor
    from handeval.shards.convert import convert

    start = time.perf_counter()
    test = convert(InterHand26M(raw), out, progress=False, executor=Executor(workers=workers)).splits["test"]
    queue.put({"seconds": time.perf_counter() - start, "frames": test.frames, "views": test.views})


def bench_read(out: Path) -> dict:
    from handeval.shards import ShardDataset

    ds = ShardDataset(out)
    start = time.perf_counter()
    frames = ds.read("frames")
    views = ds.read("views")
    scan = time.perf_counter() - start
    names = ds.sequences()
    random.seed(0)
    picks = random.sample(names, min(20, len(names)))
    start = time.perf_counter()
    for name in picks:
        seq = ds.sequence(name)
    one = (time.perf_counter() - start) / len(picks)
    return {"scan_seconds": scan, "scan_frames_per_s": frames.num_rows / scan,
            "scan_views_per_s": views.num_rows / scan, "sequence_ms": 1000 * one,
            "sequence_frames": len(seq.frames["frame"]), "sequence_views": len(seq.views["frame"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", default=None, help="keep the generated files in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="handeval-bench-"))
    try:
        raw, out = work / "raw", work / "out"
        shutil.rmtree(out, ignore_errors=True)
        if not (raw / "annotations").is_dir():
            t = time.perf_counter()
            counts = generate(raw, args.images)
            counts["generate_seconds"] = time.perf_counter() - t
        else:
            counts = {"images": args.images,
                      "json_bytes": sum(p.stat().st_size for p in (raw / "annotations" / "test").iterdir())}
        result = in_child(_convert_child, str(raw), str(out), args.workers)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = {**counts, "workers": args.workers, "convert_seconds": result["seconds"],
                  "images_per_s": result["views"] / result["seconds"],
                  "frames_per_s": result["frames"] / result["seconds"],
                  "peak_rss_mib": peak, **bench_read(out)}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"InterHand2.6M-layout conversion: {report['images']:,} image records "
                  f"({report.get('json_bytes', 0) / 2**20:,.0f} MiB of json), {args.workers} worker(s)")
            print(f"  {report['convert_seconds']:.1f} s: {report['images_per_s']:,.0f} image records/s, "
                  f"{report['frames_per_s']:,.0f} frames/s; "
                  f"peak RSS {report['peak_rss_mib']:,.0f} MiB (largest process)")
            print(f"  full scan: {report['scan_seconds']:.2f} s, {report['scan_views_per_s']:,.0f} views/s; "
                  f"one random sequence ({report['sequence_frames']} frames, {report['sequence_views']} views): "
                  f"{report['sequence_ms']:.1f} ms")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
