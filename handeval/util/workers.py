"""Worker processes that die with their parent, and a commit that a signal cannot cut in two.

The runner's process pool starts its workers with :func:`init_worker`, and its Dask workers call
:func:`die_with_parent`: a parent killed with ``kill -9`` gets no chance to stop its workers, so
each asks the kernel to kill it when the parent dies (Linux ``PR_SET_PDEATHSIG``) instead of
living on as an orphan that keeps writing files.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_COMMIT_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def die_with_parent() -> None:
    """Have the kernel kill this process (SIGKILL) when its parent process ends (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def init_worker(parent: int) -> None:
    """Run first in every pool worker; ``parent`` is the pid of the process that made the pool.

    The worker ignores SIGINT: Ctrl-C reaches the whole process group, and the parent alone
    decides what to keep (it stops the pool after recording what is finished).
    """
    die_with_parent()
    # The parent may have died before prctl took effect: the death signal would never come.
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so that it happens entirely or not at all
    (a finished file and the journal line that records it)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _COMMIT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
