"""MANO forward throughput (frames/s) and peak memory at batch sizes 1, 64 and 1024.

Each batch size runs in a fresh process so its peak RSS is its own. The layer is the one
handeval uses everywhere (smplx.MANO under a ManoConvention, 21 canonical joints out);
the model is the synthetic stand-in unless --mano-dir / HANDEVAL_MANO_DIR is given.

    python benchmarks/bench_mano_forward.py                  # CPU, all cores
    python benchmarks/bench_mano_forward.py --threads 1      # per-core figure
    python benchmarks/bench_mano_forward.py --device cuda --json
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from harness import in_child


def _run(batch: int, device: str, threads: int | None, mano_dir: str | None, min_seconds: float, queue) -> None:
    import numpy as np
    import torch

    from handeval.mano import ManoConvention, load_mano

    if threads:
        torch.set_num_threads(threads)
    layer = load_mano("right", ManoConvention(flat_hand_mean=False), mano_dir).to(device)
    rng = np.random.default_rng(0)
    args = [torch.as_tensor(rng.normal(0, s, (batch, n)), dtype=torch.float32, device=device)
            for s, n in ((0.5, 3), (0.3, 45), (1.0, 10), (0.1, 3))]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        for _ in range(3):
            layer(*args)
        sync()
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        calls, start = 0, time.perf_counter()
        while True:
            layer(*args)
            calls += 1
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds and calls >= 5:
                break
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    queue.put({"batch": batch, "device": device, "threads": torch.get_num_threads(),
               "frames_per_s": calls * batch / elapsed, "ms_per_call": 1000 * elapsed / calls,
               "peak_mib": peak, "peak_kind": "GPU allocated" if device.startswith("cuda") else "process RSS",
               "synthetic_mano": layer.synthetic})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--mano-dir", default=None)
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per batch size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for batch in args.batches:
        rows.append(in_child(_run, batch, args.device, args.threads, args.mano_dir, args.seconds))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"MANO forward ({'synthetic stand-in' if rows[0]['synthetic_mano'] else 'user MANO'}), "
          f"device {args.device}, {rows[0]['threads']} torch thread(s)")
    print(f"{'batch':>6} {'frames/s':>12} {'ms/call':>9} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['batch']:>6} {r['frames_per_s']:>12,.0f} {r['ms_per_call']:>9.2f} {r['peak_mib']:>9.0f}  "
              f"({r['peak_kind']})")


if __name__ == "__main__":
    main()
