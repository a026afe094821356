"""What the benchmarks share: a measurement in a fresh process (so that its peak memory and its threads
are its own), pinned to a number of cores, timed in wall and CPU seconds, and reported as a row of the
speed table beside the anchor measured in the same run.

A row is a dict (``speed_row``) that ``benchmarks/speed.py`` prints as the README's table:

    work, ours {per_s, unit, wall_s, cpu_s, peak_mib}, anchor {name, per_s, ...}, ratio, goal, met, config
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queues
import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass


def in_child(target, *args):
    """``target(*args, queue)`` in a fresh spawned process; returns what it put on the queue. A child that
    dies first (its traceback is on stderr) stops the benchmark instead of leaving it waiting."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except queues.Empty:
            if not proc.is_alive():
                raise SystemExit(f"{target.__name__} died (exit code {proc.exitcode}); its traceback is above")
    proc.join()
    return result


def pin(cores: int = 1) -> None:
    """This process (and what it spawns) on ``cores`` cores, with BLAS, OpenMP and torch limited to as many
    threads: the per-core figures are one core's, whatever the machine."""
    from threadpoolctl import threadpool_limits

    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    threadpool_limits(cores)
    os.environ["OMP_NUM_THREADS"] = str(cores)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(cores)


def config() -> str:
    """The thread and BLAS configuration in force, as threadpoolctl reports it: one line for the table."""
    from threadpoolctl import threadpool_info

    parts = [f"{len(os.sched_getaffinity(0))} core(s)"]
    for lib in threadpool_info():
        arch = f" {lib['architecture']}" if lib.get("architecture") else ""
        parts.append(f"{lib['internal_api']} {lib.get('version') or ''}{arch}: {lib['num_threads']} thr".strip())
    return "; ".join(dict.fromkeys(parts))


def peak_mib() -> float:
    """This process's peak RSS so far (MiB): a fresh child's is its measurement's own."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextmanager
def timed():
    """Wall and CPU seconds (all threads of this process) of the block."""
    t = Timing()
    w, c = time.perf_counter(), time.process_time()
    try:
        yield t
    finally:
        t.wall_s, t.cpu_s = time.perf_counter() - w, time.process_time() - c


def measure(count: float, unit: str, timing: Timing, **extra) -> dict:
    """One side of a row: ``count`` items of ``unit`` in ``timing``, with the peak RSS so far. The rate is
    per CPU second, which moves less than wall time on a shared machine; both are kept, with the thread
    configuration it ran under (call it in the measuring process)."""
    return {"count": count, "unit": unit, "wall_s": timing.wall_s, "cpu_s": timing.cpu_s,
            "per_s": count / timing.wall_s, "per_cpu_s": count / timing.cpu_s, "peak_mib": peak_mib(),
            "config": config(), **extra}


def speed_row(work: str, ours: dict, anchor: dict, anchor_name: str, goal: str, ratio_goal: float | None,
              absolute: dict | None = None, rate: str = "per_cpu_s") -> dict:
    """A row of the speed table: ``ratio`` = ours / anchor in items per CPU second (``rate``), ``met`` when
    the ratio reaches ``ratio_goal`` and every ``absolute`` bound (``{"wall_s": 10, "peak_mib": 1024}``,
    upper bounds on ours) holds."""
    ratio = ours[rate] / anchor[rate]
    met = ratio_goal is None or ratio >= ratio_goal
    for key, bound in (absolute or {}).items():
        met = met and ours[key] <= bound
    return {"work": work, "ours": ours, "anchor": {"name": anchor_name, **anchor}, "ratio": ratio,
            "rate": rate, "goal": goal, "met": met, "config": ours["config"]}


def describe(r: dict) -> str:
    """One row as text: ours, the anchor, the ratio and the goal."""
    o, a = r["ours"], r["anchor"]
    side = ("{per_cpu_s:,.1f} {unit}/CPU-s ({count:,.0f} in {wall_s:.2f} s wall, {cpu_s:.2f} CPU-s, "
            "peak {peak_mib:,.0f} MiB)")
    return (f"{r['work']}\n  handeval: {side.format(**o)}\n  anchor ({a['name']}): {side.format(**a)}\n"
            f"  ratio {r['ratio']:.2f}x; goal {r['goal']}: {'met' if r['met'] else 'NOT met'}\n  [{r['config']}]")
