"""A torch ``Dataset`` over converted shards: single frames or temporal windows, images on demand.

A window is ``T`` frames of one sequence taken every ``gap`` rows (the papers' frame gap
k, e.g. T=10 with k=5 or 30 on 30 fps InterHand2.6M), and windows start every ``stride``
rows. Rows, not frame numbers, are stepped, because source frame numbers are not
uniformly spaced. Annotation columns are loaded once per split into memory (they are
small); images are read from the original dataset root only when ``image_root`` is set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from handeval.shards.reader import ShardDataset, read_rgb, to_numpy
from handeval.util.errors import HandevalError

DEFAULT_FRAME_COLUMNS = ["sequence", "frame", "joints", "joints_valid", "hand_present", "mano_pose", "mano_shape",
                         "mano_trans", "mano_valid"]


class HandFrames(Dataset):
    """Frames (``window=1``) or windows of frames from one split, optionally with one camera's views."""

    def __init__(self, root: str | Path, split: str, window: int = 1, gap: int = 1, stride: int = 1,
                 columns: list[str] | None = None, camera: str | None = None, image_root: str | Path | None = None,
                 hand_types: list[str] | None = None):
        if window < 1 or gap < 1 or stride < 1:
            raise HandevalError("window, gap and stride must be positive")
        self.ds = ShardDataset(root)
        cols = list(dict.fromkeys(["sequence", "frame", *(columns or DEFAULT_FRAME_COLUMNS)]))
        table = self.ds.read("frames", split, columns=cols, hand_types=hand_types)
        self.frames = to_numpy(table, "frames")
        self.camera, self.image_root = camera, Path(image_root) if image_root else None
        if camera is not None:
            views = to_numpy(self.ds.read("views", split, columns=["sequence", "frame", "camera", "image_path", "K",
                                                                   "R", "t", "width", "height"]), "views")
            keep = views["camera"] == camera
            if not keep.any():
                raise HandevalError(f"camera {camera!r} is not in split {split!r}")
            key = {(s, f): i for i, (s, f) in enumerate(zip(views["sequence"][keep], views["frame"][keep]))}
            rows = np.array([key.get((s, f), -1) for s, f in zip(self.frames["sequence"], self.frames["frame"])])
            self.views = {k: v[keep] for k, v in views.items()}
            self.view_row = rows
        seq = self.frames["sequence"]
        starts = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1]])
        ends = np.r_[starts[1:], len(seq)]
        span = (window - 1) * gap
        self.index = np.concatenate([np.arange(a, b - span, stride) for a, b in zip(starts, ends) if b - a > span]
                                    or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
        self.window, self.gap = window, gap

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        rows = self.index[i] + self.gap * np.arange(self.window)
        item = {}
        for name, values in self.frames.items():
            v = values[rows]
            item[name] = list(v) if v.dtype == object else torch.from_numpy(np.ascontiguousarray(v))
        if self.camera is not None:
            view_rows = self.view_row[rows]
            if (view_rows < 0).any():
                raise HandevalError(f"camera {self.camera} has no view of {item['sequence'][0]} at some frames")
            for name in ("K", "R", "t", "width", "height"):
                item[name] = torch.from_numpy(np.ascontiguousarray(self.views[name][view_rows]))
            item["image_path"] = list(self.views["image_path"][view_rows])
            if self.image_root is not None:
                item["image"] = torch.stack([_load_image(self.image_root / p) for p in item["image_path"]])
        if self.window == 1:
            item = {k: (v[0] if isinstance(v, (torch.Tensor, list)) else v) for k, v in item.items()}
        return item


def _load_image(path: Path) -> torch.Tensor:
    return torch.from_numpy(read_rgb(path).copy()).permute(2, 0, 1).contiguous()
