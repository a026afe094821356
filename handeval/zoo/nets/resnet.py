"""ResNet trunks under torchvision's parameter names, built with random weights and nothing downloaded.

InterNet, InterWild, DIR, IntagHand and HandOccNet all wrap torchvision's ResNet, so one trunk with
the same names (``conv1``, ``bn1``, ``layer1.0.conv1``, ..., ``layer4.2.bn3``; ``downsample.0/1``)
and the same forward (stride on the 3x3 convolution, "ResNet v1.5"; BatchNorm eps 1e-5) serves
every adapter; each adapter maps the prefix its model uses. torchvision itself is not a dependency:
it has no CPU build here, and its constructors are what fetch ImageNet weights.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(cin, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


#: depth -> (block, blocks per stage), as in He et al. 2016, Table 1.
DEPTHS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3)),
          101: (Bottleneck, (3, 4, 23, 3)), 152: (Bottleneck, (3, 8, 36, 3))}


class ResNet(nn.Module):
    """The convolutional trunk: image (B, 3, H, W) -> features (B, C, H/32, W/32), C = 512 or 2048.

    ``classifier=True`` adds torchvision's ``fc`` (1000 classes) so that an ImageNet checkpoint loads
    strictly; the forward never uses it."""

    def __init__(self, depth: int = 50, classifier: bool = False):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth {depth} is not one of {sorted(DEPTHS)}")
        block, counts = DEPTHS[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._cin = 64
        for i, (width, count) in enumerate(zip((64, 128, 256, 512), counts)):
            setattr(self, f"layer{i + 1}", self._stage(block, width, count, stride=1 if i == 0 else 2))
        self.channels = 512 * block.expansion
        if classifier:
            self.fc = nn.Linear(self.channels, 1000)
        for m in self.modules():  # torchvision's initialisation, so random-weight outputs keep their scale
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _stage(self, block, width: int, count: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._cin != width * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self._cin, width * block.expansion, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(width * block.expansion))
        layers = [block(self._cin, width, stride, downsample)]
        self._cin = width * block.expansion
        layers += [block(self._cin, width) for _ in range(count - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
