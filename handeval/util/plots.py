"""Matplotlib on a headless machine, and reproducible PNG output for every plot handeval draws."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from handeval.util.atomic import write_bytes_atomic  # noqa: E402

#: Matplotlib writes its version into a PNG's "Software" chunk; without it, the same figure gives the
#: same bytes under any matplotlib release (PNG has no date chunk unless one is asked for).
_PNG_METADATA = {"Software": None}


def png_bytes(fig, dpi: int = 90) -> bytes:
    """Lay out, render as PNG and close the figure."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png", metadata=_PNG_METADATA)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig, path: str | Path, dpi: int = 90) -> Path:
    """``png_bytes``, written atomically."""
    path = Path(path)
    write_bytes_atomic(path, png_bytes(fig, dpi))
    return path


def distinct_colours(n: int) -> list:
    """``n`` colours, no two alike: the default cycle (tab10) repeats after 10, so more lines take
    tab20, and more than 20 take evenly spaced hues."""
    if n <= 10:
        return list(plt.get_cmap("tab10").colors[:n])
    if n <= 20:
        return list(plt.get_cmap("tab20").colors[:n])
    return [tuple(c) for c in plt.get_cmap("hsv")(np.arange(n) / n)]
