"""Per-image statistics some protocols select by: IntagHand's and DIR's dark-image filter.

IntagHand's preprocessing (``dataset/interhand.py``) reads each full image with OpenCV and
drops it when its mean intensity, over all pixels and the three colour channels, is below
10. The statistic is computed once, from the source images, and stored beside the shards,
so scoring a protocol that needs it reads a column instead of decoding images again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from handeval.labels.store import LabelSet
from handeval.records.schema import Feature
from handeval.shards.reader import SequenceData, read_rgb
from handeval.util.errors import HandevalError

IMAGES = LabelSet("images", "1", "views", (
    Feature("mean_intensity", "float32", (), "8-bit level", "mean over all pixels and the 3 colour channels of the "
            "decoded 8-bit image (IntagHand keeps images with a mean of at least 10); NaN where the source lacks the "
            "image, so such a view fails the filter"),
))


class ImageStats:
    """Decodes a sequence's images on a few threads (decoding releases the GIL)."""

    def __init__(self, source_root: str | None, threads: int = 4):
        if not source_root:
            raise HandevalError("image statistics are computed from the source images: pass --root, the folder the "
                                "dataset was converted from (`handeval convert --root`)")
        if not Path(source_root).is_dir():
            raise HandevalError(f"--root {source_root} is not a folder: give the folder the dataset was converted "
                                "from, with its images")
        self.root = Path(source_root)
        self.threads = threads

    def __call__(self, seq: SequenceData) -> dict:
        paths = [self.root / p for p in seq.views["image_path"]]
        with ThreadPoolExecutor(self.threads) as pool:
            means = list(pool.map(_mean_intensity, paths))
        return {"mean_intensity": np.asarray(means, dtype=np.float32)}


def _mean_intensity(path: Path) -> float:
    """NaN for an image the source lacks (conversion counted it under ``missing_files``): a filter on the
    statistic leaves that view out rather than guessing; an image that exists but cannot be decoded is an error."""
    return read_rgb(path).mean(dtype=np.float64) if path.exists() else float("nan")
