"""Image statistics (``handeval labels images``) against a sequential decode loop.

Writes ``--images`` JPEGs of InterHand2.6M's size (334 x 512, camera-like noise and gradients)
as one sequence's views, then computes their mean intensity with
``handeval.labels.images.ImageStats`` (decoding on threads), and with a plain loop that
opens, decodes and averages one image after another, as IntagHand's preprocessing does.
Throughput and peak memory are printed for both; the label values are checked to agree.

    python benchmarks/bench_images.py --images 2000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np


def _write(root: Path, n: int) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    base = np.linspace(0, 200, 334, dtype=np.float32)[None, :, None]
    names = []
    for i in range(n):
        name = f"cam{i % 40}/image{i:06d}.jpg"
        path = root / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            img = np.clip(base + rng.normal(0, 20, (512, 334, 3)) * (i % 7 + 1) / 4, 0, 255).astype(np.uint8)
            Image.fromarray(img).save(path, quality=90)
        names.append(name)
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--work", default="/tmp/handeval-bench-images")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from handeval.labels.images import ImageStats
    from handeval.shards.reader import SequenceData, read_rgb

    root = Path(args.work)
    names = _write(root, args.images)
    seq = SequenceData("s", "test", {}, {"image_path": np.asarray(names, dtype=object)})
    start = time.perf_counter()
    loop = np.array([read_rgb(root / n).mean(dtype=np.float64) for n in names])
    t_loop = time.perf_counter() - start
    start = time.perf_counter()
    label = ImageStats(str(root))(seq)["mean_intensity"]
    t_label = time.perf_counter() - start
    assert np.allclose(label, loop, atol=1e-3)
    report = {"images": len(names), "size": [334, 512],
              "labels_images_per_s": len(names) / t_label, "sequential_loop_per_s": len(names) / t_loop,
              "speedup": t_loop / t_label, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"mean intensity of {len(names):,} JPEGs (334 x 512):")
    print(f"  labels images   : {report['labels_images_per_s']:,.0f} images/s")
    print(f"  sequential loop : {report['sequential_loop_per_s']:,.0f} images/s ({report['speedup']:.2f}x)")
    print(f"  peak RSS        : {report['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
