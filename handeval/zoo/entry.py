"""What a zoo entry declares: its inputs, its outputs, its weights and its flags, as frozen data.

A network entry's model is a :class:`ZooModel`: ``forward`` is the network alone (what autocast
covers and what the profiler counts), ``decode`` turns its outputs into camera-frame predictions
in float32 (MANO, un-cropping, placement). The runner (``handeval.zoo.run``) crops each view by
the entry's :class:`Inputs` rule and writes what ``decode`` returns as a canonical submission,
with the placement rule recorded (``data_specs/zoo.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

#: Where a crop's box comes from: the ground truth's 2D joints under the entry's rule, the whole image,
#: or a detector's boxes read from a file (``--boxes``).
BOX_SOURCES = ("gt", "image", "detector")
#: What produced an entry's predictions.
KINDS = ("network", "baseline", "filter", "optimizer")
#: What an entry's weights are: none needed, a user's checkpoint file, or random weights (cost only).
WEIGHT_KINDS = ("none", "checkpoint", "random")


@dataclass(frozen=True)
class BoxRule:
    """A crop box from 2D joints: the tight box of ``hands`` ("both" or "each"), grown by ``expand``
    about its centre, made ``aspect`` (width / height) by growing the short side."""

    hands: str = "both"
    expand: float = 1.25
    aspect: float = 1.0


@dataclass(frozen=True)
class Inputs:
    """What the network reads. ``crop``: (height, width) in pixels, None for entries that read no image.
    ``mean``/``std``: per RGB channel, applied to pixels scaled to [0, 1]. ``window``/``gap``: a video
    model reads ``window`` frames taken every ``gap`` rows of a sequence (1, 1 for single frames)."""

    crop: tuple[int, int] | None = (256, 256)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    box: str = "gt"
    box_rule: BoxRule = field(default_factory=BoxRule)
    window: int = 1
    gap: int = 1


@dataclass(frozen=True)
class Outputs:
    """What the model predicts. ``frame``: "root-relative" (placed by the runner, see ``placement``)
    or "camera"; ``units``: of the network's raw output ("m" or "mm"); ``root``: the canonical joint
    a root-relative output is relative to."""

    joints: bool = True
    vertices: bool = False
    mano: bool = False
    frame: str = "root-relative"
    units: str = "m"
    root: int = 0


@dataclass(frozen=True)
class Weights:
    """``kind``: see :data:`WEIGHT_KINDS`. ``file``: the official file's name, ``key``: where its
    state_dict sits inside it (e.g. "network"), ``origin``: where users get it (never fetched),
    ``sha256``: the official file's, when known. ``parity``: how the adapter was checked."""

    kind: str = "none"
    file: str | None = None
    key: str | None = None
    origin: str | None = None
    sha256: str | None = None
    licence: str | None = None
    parity: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One zoo entry. ``build``: "module:function" giving the :class:`ZooModel` (networks) or the
    callable (baselines, filters, optimizers). ``oracle``: ground truth enters the prediction;
    ``causal``: a temporal method that reads no future frame (None: not temporal)."""

    name: str
    kind: str
    build: str
    summary: str
    paper: str | None = None
    code_licence: str | None = None
    datasets: tuple[str, ...] = ()
    inputs: Inputs = field(default_factory=Inputs)
    outputs: Outputs = field(default_factory=Outputs)
    weights: Weights = field(default_factory=Weights)
    oracle: bool = False
    causal: bool | None = None
    reported: dict = field(default_factory=dict)   # the paper's speed/cost claims with their hardware
    notes: str = ""

    def flags(self) -> list[str]:
        """The markers a leaderboard row carries."""
        out = ["oracle"] if self.oracle else []
        if self.causal is not None:
            out.append("causal" if self.causal else "non-causal")
        if self.weights.kind == "random":
            out.append("random weights")
        if self.weights.parity:
            out.append(self.weights.parity)
        return out

    def to_dict(self) -> dict:
        return asdict(self)


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
    ``placement``: how a root-relative output was placed ("gt-root", "predicted", "camera")."""

    joints: torch.Tensor                       # (B, 2, 21, 3)
    placement: str
    vertices: torch.Tensor | None = None       # (B, 2, 778, 3)
    hand_scores: torch.Tensor | None = None    # (B, 2)
    mano_pose: torch.Tensor | None = None      # (B, 2, 48) axis-angle, camera-frame global orientation first
    mano_shape: torch.Tensor | None = None     # (B, 2, 10)
    mano_trans: torch.Tensor | None = None     # (B, 2, 3)


class ZooModel(nn.Module):
    """A network entry's model: the network in ``forward``; float32 post-processing in ``decode``."""

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:  # (B, 3, H, W) normalised
        raise NotImplementedError

    def decode(self, outputs: dict[str, torch.Tensor], views: ViewBatch) -> Prediction:
        raise NotImplementedError

    def example_input(self, batch: int = 1, device: str | torch.device = "cpu") -> torch.Tensor:
        """A batch of the input the network reads, for the profiler."""
        h, w = self.entry.inputs.crop
        return torch.rand(batch, 3, h, w, device=device)

    entry: ModelEntry
