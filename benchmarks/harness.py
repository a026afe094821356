"""What the benchmarks share: running a measurement in a fresh process, so that its peak memory and its
threads are its own."""

from __future__ import annotations

import multiprocessing as mp
import queue as queues


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
