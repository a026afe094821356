"""Matplotlib on a headless machine, and atomic PNG output for every plot handeval draws."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from handeval.atomic import atomic_path  # noqa: E402


def save_png(fig, path: str | Path, dpi: int = 90) -> Path:
    """Lay out, write atomically as PNG, and close the figure."""
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path
