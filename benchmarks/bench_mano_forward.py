"""MANO forward throughput (frames/s) and peak memory at batch sizes 1, 64 and 1024, beside smplx.MANO's
own forward and the FLOP bound, all measured in the same run.

Each measurement runs in a fresh process so its peak RSS is its own. The layer is the one handeval uses
everywhere (``ManoLayer``: smplx's model under a ManoConvention, the skinning batched as GEMMs in
``handeval.mano.lbs``, 21 canonical joints out); the model is the synthetic stand-in, which has MANO's
array sizes, unless --mano-dir / HANDEVAL_MANO_DIR is given.

The FLOP bound: one frame's forward is ``FLOPS_PER_FRAME`` floating-point operations (``flops_per_frame``);
at the rate this machine's sgemm reaches on the same cores (``torch.mm`` of two 1024 × 1024 float32
matrices), that is at most ``rate / FLOPS_PER_FRAME`` frames per second.

    python benchmarks/bench_mano_forward.py                  # CPU, all cores
    python benchmarks/bench_mano_forward.py --threads 1      # per-core figures
    python benchmarks/bench_mano_forward.py --device cuda --json
    python benchmarks/speed.py --only mano                   # the speed table's row (batch 1024, 1 core)
"""

from __future__ import annotations

import argparse
import json
import time

import harness
from harness import in_child

#: The speed table's row: batch 1024 on one core; the bound's sgemm multiplies two SGEMM_SIZE² matrices.
BATCH, SGEMM_SIZE = 1024, 1024


def flops_per_frame(n_verts: int = 778, n_joints: int = 16, n_betas: int = 10) -> int:
    """Floating-point operations of one frame of the LBS formula (``data_specs/mano.md``, "Forward"), a
    multiply-add counting 2: shape blend 2·3V·β, joint regression 2·J·V·3, pose blend 2·3V·9(J−1), the
    skinning transforms W·A for the 12 entries of each affine 3×4, 2·V·J·12, applying them 6·3V, and three
    additions per coordinate (template, pose offsets, translation) 3·3V. The rotations and the kinematic chain
    (about 3 K) are left out. MANO: 1,071,306, about 1.07 MFLOP; smplx's evaluation, with all 16 entries of
    W·A and a 4×4 product per vertex, does 1.17 M (the "1.2 MFLOP" of issue 14)."""
    coords, pose_features = 3 * n_verts, 9 * (n_joints - 1)
    return (2 * coords * n_betas + 2 * n_joints * n_verts * 3 + 2 * coords * pose_features
            + 2 * n_verts * n_joints * 12 + 6 * coords + 3 * coords)


FLOPS_PER_FRAME = flops_per_frame()


def _repeat(call, min_seconds: float, sync=lambda: None) -> tuple[int, harness.Timing]:
    """Calls of ``call`` (after 3 warm-up calls) until ``min_seconds`` CPU seconds and 5 calls have passed."""
    for _ in range(3):
        call()
    sync()
    calls, start = 0, time.process_time()
    with harness.timed() as timing:
        while calls < 5 or time.process_time() - start < min_seconds:
            call()
            calls += 1
        sync()
    return calls, timing


def _forward(kind: str, batch: int, device: str, threads: int | None, mano_dir: str | None, min_seconds: float,
             queue) -> None:
    """``kind`` "handeval" (``ManoLayer``) or "smplx" (the ``smplx.MANO`` it holds, called directly)."""
    if threads:
        harness.pin(threads)
    import numpy as np
    import torch

    from handeval.mano import ManoConvention, load_mano

    layer = load_mano("right", ManoConvention(flat_hand_mean=False), mano_dir).to(device)
    rng = np.random.default_rng(0)
    orient, pose, betas, transl = [torch.as_tensor(rng.normal(0, s, (batch, n)), dtype=torch.float32, device=device)
                                   for s, n in ((0.5, 3), (0.3, 45), (1.0, 10), (0.1, 3))]
    if kind == "handeval":
        def call():
            return layer(orient, pose, betas, transl)
    else:
        def call():
            return layer.smplx(global_orient=orient, hand_pose=pose, betas=betas, transl=transl)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        calls, timing = _repeat(call, min_seconds, torch.cuda.synchronize if cuda else (lambda: None))
    extra = {"batch": batch, "device": device, "threads": torch.get_num_threads(), "synthetic_mano": layer.synthetic,
             "ms_per_call": 1000 * timing.wall_s / calls, "config": harness.config()}
    if cuda:
        extra["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put(harness.measure(calls * batch, "frames", timing, **extra))


def _sgemm(size: int, threads: int | None, min_seconds: float, queue) -> None:
    """The FLOP bound as a side of a row: sgemm's FLOPs counted in frames of FLOPS_PER_FRAME."""
    if threads:
        harness.pin(threads)
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    calls, timing = _repeat(lambda: torch.mm(a, b, out=out), min_seconds)
    flops = 2 * size**3 * calls
    queue.put(harness.measure(flops / FLOPS_PER_FRAME, "frames", timing, gflops_per_cpu_s=flops / timing.cpu_s / 1e9,
                              gflops_per_s=flops / timing.wall_s / 1e9, flops_per_frame=FLOPS_PER_FRAME,
                              sgemm_size=size, config=harness.config()))


def speed_rows(quick: bool) -> list[dict]:
    """The speed table's MANO row: handeval's forward at batch 1024 on one core against the FLOP bound,
    with smplx.MANO's own forward measured beside them (``row["smplx"]``)."""
    batch, seconds = BATCH, 0.5 if quick else 5.0
    ours = in_child(_forward, "handeval", batch, "cpu", 1, None, seconds)
    smplx = in_child(_forward, "smplx", batch, "cpu", 1, None, seconds)
    bound = in_child(_sgemm, SGEMM_SIZE, 1, seconds)
    name = (f"FLOP bound ({FLOPS_PER_FRAME / 1e6:.2f} MFLOP/frame at sgemm's {bound['gflops_per_cpu_s']:.0f} "
            f"GFLOP/CPU-s)")
    work = (f"MANO forward, CPU, batch {batch}, 1 thread (smplx.MANO itself: {smplx['per_cpu_s']:,.0f} "
            f"frames/CPU-s; handeval {ours['per_cpu_s'] / smplx['per_cpu_s']:.2f}× it)")
    row = harness.speed_row(work, ours, bound, name, "≥ 0.25 of the FLOP bound", 0.25)
    row["smplx"] = smplx
    row["config"] = ours["config"]  # the pinned child's, not this unpinned parent's
    return [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="cores (pinned) and torch threads (default: all)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, BATCH])
    parser.add_argument("--mano-dir", default=None)
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timed CPU seconds per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [{kind: in_child(_forward, kind, batch, args.device, args.threads, args.mano_dir, args.seconds)
             for kind in ("handeval", "smplx")} for batch in args.batches]
    bound = in_child(_sgemm, SGEMM_SIZE, args.threads, args.seconds) if args.device == "cpu" else None
    if args.json:
        print(json.dumps({"batches": rows, "flop_bound": bound}, indent=2))
        return
    first = rows[0]["handeval"]
    # CPU seconds on one core (steadier on a shared machine); with more threads, or on a GPU, wall seconds:
    # idle OpenMP threads spin and count as CPU time, and a GPU's host CPU time says nothing.
    rate, unit = ("per_cpu_s", "frames/CPU-s") if bound and args.threads == 1 else ("per_s", "frames/s")
    print(f"MANO forward ({'synthetic stand-in' if first['synthetic_mano'] else 'user MANO'}), device {args.device}, "
          f"{first['threads']} torch thread(s); {FLOPS_PER_FRAME:,} FLOP per frame")
    if bound:
        print(f"FLOP bound: sgemm {bound['gflops_' + rate]:.1f} GFLOP per {unit.split('/')[1]}: {bound[rate]:,.0f} "
              f"{unit}")
    print(f"{'batch':>6} {'handeval ' + unit:>22} {'smplx ' + unit:>19} {'ratio':>6} {'of bound':>9} {'ms/call':>8} "
          f"{'peak MiB':>9}")
    for r in rows:
        o, s = r["handeval"], r["smplx"]
        share = f"{o[rate] / bound[rate]:.2f}" if bound else "-"
        peak = o.get("gpu_peak_mib", o["peak_mib"])
        print(f"{o['batch']:>6} {o[rate]:>22,.0f} {s[rate]:>19,.0f} {o[rate] / s[rate]:>6.2f} {share:>9} "
              f"{o['ms_per_call']:>8.2f} {peak:>9.0f}")
    print("peak: " + ("GPU memory allocated" if not bound else "process RSS, Python and torch included"))


if __name__ == "__main__":
    main()
