"""InterNet, InterHand2.6M's reference network (Moon et al., ECCV 2020), re-implemented under the official
parameter names (``data_specs/zoo_internet.md``).

A ResNet-50 trunk (``backbone_net.resnet``) and a ``pose_net`` with, per hand, three stride-2 deconvolutions
(2048 -> 256 -> 256 -> 256, 8x8 -> 64x64) and a 1x1 convolution to 21 x 64 channels read as a 64^3 2.5D
heatmap (depth, height, width); from the pooled trunk features ``root_fc`` gives the left root's depth
relative to the right root (64 bins, soft-argmax) and ``hand_fc`` the two handedness scores (sigmoid).
Hands are [right, left] as in the official joint order (21 right joints, then 21 left).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from handeval.conventions import INTERHAND
from handeval.zoo.entry import ModelEntry
from handeval.zoo.model import Prediction, ViewBatch, ZooModel
from handeval.zoo.nets.resnet import ResNet

JOINTS = 21              # per hand
HEATMAP = (64, 64, 64)   # depth, height, width (main/config.py output_hm_shape)
ROOT_BINS = 64           # main/config.py output_root_hm_shape
DEPTH_SPAN_MM = 400.0    # main/config.py bbox_3d_size (joints) and bbox_3d_size_root (root), both 400


def _deconvs(cin: int) -> nn.Sequential:
    """common/nets/layer.py make_deconv_layers([cin, 256, 256, 256]): BN and ReLU after every deconv."""
    layers: list[nn.Module] = []
    for c in (cin, 256, 256):
        layers += [nn.ConvTranspose2d(c, 256, 4, stride=2, padding=1, output_padding=0, bias=False),
                   nn.BatchNorm2d(256), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _mlp(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, 512), nn.ReLU(inplace=True), nn.Linear(512, cout))


class BackboneNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet(50)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.resnet(images)


class PoseNet(nn.Module):
    """Trunk features (B, 2048, h, w) -> heatmaps (B, 42, 64, 64, 64), relative root depth (B, 1) in bins,
    handedness (B, 2)."""

    def __init__(self, channels: int = 2048):
        super().__init__()
        depth = HEATMAP[0]
        self.joint_deconv_1 = _deconvs(channels)
        self.joint_conv_1 = nn.Sequential(nn.Conv2d(256, JOINTS * depth, 1))
        self.joint_deconv_2 = _deconvs(channels)
        self.joint_conv_2 = nn.Sequential(nn.Conv2d(256, JOINTS * depth, 1))
        self.root_fc = _mlp(channels, ROOT_BINS)
        self.hand_fc = _mlp(channels, 2)

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        right = self.joint_conv_1(self.joint_deconv_1(feat)).view(-1, JOINTS, *HEATMAP)
        left = self.joint_conv_2(self.joint_deconv_2(feat)).view(-1, JOINTS, *HEATMAP)
        pooled = F.avg_pool2d(feat, feat.shape[2:]).flatten(1)
        bins = torch.arange(ROOT_BINS, dtype=feat.dtype, device=feat.device)
        root_depth = (F.softmax(self.root_fc(pooled), 1) * bins).sum(1, keepdim=True)
        return torch.cat((right, left), 1), root_depth, torch.sigmoid(self.hand_fc(pooled))


class InterNet(ZooModel):
    """``forward``: images (B, 3, 256, 256) in [0, 1] -> ``joint_coord`` (B, 42, 3) heatmap voxels x, y, z
    of each heatmap's maximum (the official test's argmax, main/model.py), ``rel_root_depth`` (B, 1) in
    root bins, ``hand_type`` (B, 2) [right, left] in (0, 1)."""

    def __init__(self, entry: ModelEntry):
        super().__init__(entry)
        self.backbone_net = BackboneNet()
        self.pose_net = PoseNet(self.backbone_net.resnet.channels)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        heatmaps, root_depth, hand_type = self.pose_net(self.backbone_net(images))
        flat = heatmaps.flatten(2).argmax(2)
        z, y, x = torch.unravel_index(flat, HEATMAP)
        return {"joint_coord": torch.stack((x, y, z), 2).float(), "rel_root_depth": root_depth,
                "hand_type": hand_type}

    def decode(self, outputs: dict[str, torch.Tensor], views: ViewBatch) -> Prediction:
        """Heatmap voxels -> crop pixels -> image pixels (the box) -> depth relative to the root (400 mm over
        64 bins) plus the ground truth's root depth per hand -> camera frame through K^-1
        (data/InterHand2.6M/dataset.py evaluate; common/utils/transforms.py pixel2cam)."""
        coord = outputs["joint_coord"].float().view(-1, 2, JOINTS, 3)
        h, w = self.entry.inputs.crop
        x0, y0, x1, y1 = views.boxes.float().unbind(1)
        u = coord[..., 0] / HEATMAP[2] * w
        v = coord[..., 1] / HEATMAP[1] * h
        px = x0[:, None, None] + u * ((x1 - x0) / w)[:, None, None]
        py = y0[:, None, None] + v * ((y1 - y0) / h)[:, None, None]
        rel_mm = (coord[..., 2] / HEATMAP[0] * 2 - 1) * (DEPTH_SPAN_MM / 2)
        depth = rel_mm / 1000.0 + views.gt_root[..., 2, None].float()
        rays = torch.linalg.solve(views.K.float()[:, None], torch.stack((px, py, torch.ones_like(px)), -1).mT).mT
        joints = rays * depth[..., None]
        canonical = torch.as_tensor(INTERHAND.source_of_canonical, device=joints.device)
        return Prediction(joints=joints[:, :, canonical], placement="gt-root",
                          hand_scores=outputs["hand_type"].float())


def build(entry: ModelEntry) -> InterNet:
    return InterNet(entry)
