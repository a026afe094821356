"""The CI entry's network: four strided convolutions, a pooled feature and a linear head giving each
hand's root-relative joints, as offsets from MANO's rest hand, and a presence logit. Random weights
(seeded): it exists so that the runner, the profiler and the scoring of a network's output run end
to end on a CPU in seconds; its hands have a hand's size, so the submission checks pass."""

from __future__ import annotations

import torch
from torch import nn

from handeval.zoo.entry import ModelEntry
from handeval.zoo.model import Prediction, ViewBatch, ZooModel


class TinyNet(ZooModel):
    def __init__(self, entry: ModelEntry, width: int = 16, seed: int = 0, mano_dir: str | None = None):
        super().__init__(entry)
        from handeval.conventions import HAND_SIDES
        from handeval.mano import load_mano
        from handeval.zoo.entry import ZOO_MANO

        with torch.no_grad():
            rest = torch.stack([load_mano(side, ZOO_MANO, mano_dir)(torch.zeros(1, 3), torch.zeros(1, 45)).joints[0]
                                for side in HAND_SIDES])
        self.register_buffer("rest", rest - rest[:, :1], persistent=False)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            layers, c = [], 3
            for k in range(4):
                layers += [nn.Conv2d(c, width << k, 3, stride=2, padding=1), nn.BatchNorm2d(width << k), nn.ReLU()]
                c = width << k
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(c, 2 * 21 * 3 + 2)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.head(self.features(images))
        offsets = 0.01 * out[:, :126].reshape(-1, 2, 21, 3)
        joints = self.rest + offsets - offsets[:, :, :1]
        return {"joints": joints, "hand_logits": out[:, 126:]}

    def decode(self, outputs: dict[str, torch.Tensor], views: ViewBatch) -> Prediction:
        joints = outputs["joints"].float() + views.gt_root[:, :, None]
        return Prediction(joints, "gt-root", hand_scores=torch.sigmoid(outputs["hand_logits"].float()))


def build(entry: ModelEntry, mano_dir: str | None = None) -> TinyNet:
    return TinyNet(entry, mano_dir=mano_dir)
