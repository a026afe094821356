"""A network entry's model: ``forward`` is the network alone (what autocast covers and what the
profiler counts), ``decode`` turns its outputs into camera-frame predictions in float32 (MANO,
un-cropping, placement).

Crop coordinates: the runner cuts each view's box ``x0, y0, x1, y1`` (image pixels) to the entry's
crop of ``W x H`` pixels so that crop pixel ``(u, v)`` (pixel centres at integers) samples image
point ``x = x0 + u * (x1 - x0) / W``, ``y = y0 + v * (y1 - y0) / H``: the box's corner maps to the
crop's corner and its centre to ``(W / 2, H / 2)``, as ``cv2.warpAffine`` does in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handeval.zoo.entry import ModelEntry


@dataclass
class ViewBatch:
    """What ``decode`` may use besides the network's outputs, per sample of the batch (float32, on
    the model's device). ``boxes``: (B, 4) crop boxes x0, y0, x1, y1 in image pixels; ``K``: (B, 3, 3)
    intrinsics; ``gt_root``: (B, 2, 3) the ground truth's root joints in the camera frame, metres
    (NaN where a hand is absent), for entries placed at the true root."""

    boxes: torch.Tensor
    K: torch.Tensor
    gt_root: torch.Tensor


@dataclass
class Prediction:
    """Camera-frame predictions in metres, hands [right, left], canonical joint order.
    ``placement``: how a root-relative output was placed ("gt-root", "predicted", "camera").
    The MANO fields, in the entry's ``outputs.mano_convention``, are what
    :class:`~handeval.mano.layer.ManoLayer` takes (``global_orient = mano_pose[..., :3]``,
    ``hand_pose = mano_pose[..., 3:]``, ``betas = mano_shape``, ``transl = mano_trans``) to give the
    camera-frame meshes."""

    joints: torch.Tensor                       # (B, 2, 21, 3)
    placement: str
    vertices: torch.Tensor | None = None       # (B, 2, 778, 3)
    hand_scores: torch.Tensor | None = None    # (B, 2)
    mano_pose: torch.Tensor | None = None      # (B, 2, 48) axis-angle, camera-frame global orientation first
    mano_shape: torch.Tensor | None = None     # (B, 2, 10)
    mano_trans: torch.Tensor | None = None     # (B, 2, 3)


class ZooModel(nn.Module):
    """A network entry's model: the network in ``forward``; float32 post-processing in ``decode``."""

    def __init__(self, entry: ModelEntry):
        super().__init__()
        self.entry = entry

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:  # (B, 3, H, W) normalised
        raise NotImplementedError

    def decode(self, outputs: dict[str, torch.Tensor], views: ViewBatch) -> Prediction:
        raise NotImplementedError

    def example_input(self, batch: int = 1, device: str | torch.device = "cpu") -> torch.Tensor:
        """A batch of the input the network reads, for the profiler."""
        h, w = self.entry.inputs.crop
        return torch.rand(batch, 3, h, w, device=device)

    def example_views(self, batch: int = 1, device: str | torch.device = "cpu") -> ViewBatch:
        """Plausible views for the profiler's decode: the crop's box at 1:1 scale in the middle of a
        640 x 480 image, a 1000 px focal length, the two roots 10 cm apart 0.6 m from the camera."""
        h, w = self.entry.inputs.crop
        boxes = torch.tensor([320 - w / 2, 240 - h / 2, 320 + w / 2, 240 + h / 2], device=device)
        K = torch.tensor([[1000.0, 0.0, 320.0], [0.0, 1000.0, 240.0], [0.0, 0.0, 1.0]], device=device)
        roots = torch.tensor([[-0.05, 0.0, 0.6], [0.05, 0.0, 0.6]], device=device)
        return ViewBatch(boxes=boxes.expand(batch, 4), K=K.expand(batch, 3, 3), gt_root=roots.expand(batch, 2, 3))

