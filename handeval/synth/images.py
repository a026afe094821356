"""Writing rendered images in the file formats datasets use (JPEG / PNG), atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from handeval.util.atomic import atomic_path


def write_image(path: str | Path, pixels: np.ndarray, quality: int = 90) -> None:
    """Write an (H, W) or (H, W, 3) uint8 / (H, W) uint16 array; the format follows the suffix."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fmt = "JPEG" if path.suffix.lower() in {".jpg", ".jpeg"} else "PNG"
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format=fmt,
                                                            **({"quality": quality} if fmt == "JPEG" else {}))
