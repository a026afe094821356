"""InterWild (Moon, CVPR 2023), re-implemented so that the official checkpoint loads strictly.

Source read: ``facebookresearch/InterWild`` (main/model.py, main/config.py, common/nets/module.py,
common/nets/layer.py, common/nets/resnet.py, common/utils/transforms.py, common/utils/mano.py,
common/base.py). Parameter names and shapes follow the official ``Model`` minus its MANO layers,
which ``save_model`` (common/base.py) drops from every snapshot; the checkpoint's ``network`` dict
carries a ``module.`` prefix (:data:`RENAMES`). ``data_specs/zoo_interwild.md`` gives the formulas.

Pipeline: the 512x384 person crop is halved to 256x192 for the body ResNet-50; BoxNet finds each
hand's box centre (soft-argmax on a 64x48 map), size and confidence; each box is squared and
doubled, and a 256x256 crop is cut from the full-resolution input (the left one mirrored) for the
shared hand ResNet-50; PositionNet gives 21 joints on an 8x8x8 grid, RotationNet 6D rotations and
betas; TransNet renders both hands' joints as Gaussian volumes in the hands' union box and reads
the left-minus-right wrist translation (metres) off a ResNet-18 without its stem.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from handeval.conventions import MANO as MANO_ORDER
from handeval.mano.convention import TIP_PRESETS
from handeval.mano.layer import ManoLayer, load_mano
from handeval.zoo.entry import ZOO_MANO, ModelEntry
from handeval.zoo.model import Prediction, ViewBatch, ZooModel
from handeval.zoo.nets.resnet import ResNet

INPUT_SHAPE = (512, 384)     # cfg.input_img_shape
BODY_SHAPE = (256, 192)      # cfg.input_body_shape
HAND_SHAPE = (256, 256)      # cfg.input_hand_shape
BODY_HM = (64, 48)           # cfg.output_body_hm_shape[1:]
HAND_HM = 8                  # cfg.output_hand_hm_shape (depth = height = width)
TRANS_HM = 64                # cfg.input_hm_shape
SIGMA = 2.5                  # cfg.sigma
_NUM_JOINTS = 21
_NUM_MANO_JOINTS = 16
_HAND_BOX_EXTEND = 2.0       # main/model.py restore_bbox(..., 2.0) for the crops
_JOINT_BOX_EXTEND = 1.2      # TransNet.get_bbox


def _conv(cin: int, cout: int, kernel: int = 1, bn_relu: bool = True) -> list[nn.Module]:
    layers = [nn.Conv2d(cin, cout, kernel, padding=kernel // 2)]
    return layers + [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)] if bn_relu else layers


def _mlp(*dims: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip(dims[:-1], dims[1:])):
        layers += [nn.Linear(cin, cout)] + ([nn.ReLU(inplace=True)] if i < len(dims) - 2 else [])
    return nn.Sequential(*layers)


def soft_argmax(heatmap: torch.Tensor) -> torch.Tensor:
    """(N, J, *grid) -> (N, J, len(grid)) expected coordinates, x (last grid axis) first."""
    n, j, *grid = heatmap.shape
    prob = F.softmax(heatmap.reshape(n, j, -1), dim=2).reshape(n, j, *grid)
    axes = range(len(grid) - 1, -1, -1)
    coords = []
    for a in axes:
        marginal = prob.sum(dim=[2 + b for b in range(len(grid)) if b != a])
        coords.append((marginal * torch.arange(grid[a], dtype=prob.dtype, device=prob.device)).sum(2))
    return torch.stack(coords, dim=2)


def sample_features(feat: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear features (N, C, H, W) at points (N, J, 2) in feature pixels (centres at integers) -> (N, J, C)."""
    h, w = feat.shape[2:]
    grid = torch.stack((xy[..., 0] / (w - 1) * 2 - 1, xy[..., 1] / (h - 1) * 2 - 1), dim=-1)
    return F.grid_sample(feat, grid[:, :, None], align_corners=True)[..., 0].permute(0, 2, 1)


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Zhou et al.'s 6D representation (..., 6) -> rotation matrices (..., 3, 3), Gram-Schmidt rows."""
    b1 = F.normalize(d6[..., :3], dim=-1)
    a2 = d6[..., 3:]
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    return torch.stack((b1, b2, torch.linalg.cross(b1, b2)), dim=-2)


def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3), angle in [0, pi].

    Through the unit quaternion, computed from whichever of w, x, y, z is largest (the others
    divide by it), which stays accurate near pi where the trace formula loses the axis."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    four_sq = torch.stack((1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), -1)
    big = torch.sqrt(four_sq.clamp(min=0)).clamp(min=0.1)  # 2|q_i|; the floor only guards unused rows
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s10, s20, s21 = m[..., 1, 0] + m[..., 0, 1], m[..., 2, 0] + m[..., 0, 2], m[..., 2, 1] + m[..., 1, 2]
    candidates = torch.stack((
        torch.stack((big[..., 0] ** 2, d21, d02, d10), -1),
        torch.stack((d21, big[..., 1] ** 2, s10, s20), -1),
        torch.stack((d02, s10, big[..., 2] ** 2, s21), -1),
        torch.stack((d10, s20, s21, big[..., 3] ** 2), -1),
    ), -2) / (2 * big[..., None])
    q = torch.take_along_dim(candidates, four_sq.argmax(-1)[..., None, None], dim=-2)[..., 0, :]
    q = torch.where(q[..., :1] < 0, -q, q)
    vec_norm = torch.linalg.vector_norm(q[..., 1:], dim=-1, keepdim=True)
    angle = 2 * torch.atan2(vec_norm, q[..., :1])
    # angle / sin(angle / 2), with its series where the axis vanishes
    small = angle.abs() < 1e-6
    factor = torch.where(small, 2 + angle**2 / 12, angle / torch.where(small, 1.0, torch.sin(angle / 2)))
    return q[..., 1:] * factor


def restore_box(center: torch.Tensor, size: torch.Tensor, square: bool, extend: float) -> torch.Tensor:
    """BoxNet's centre and size (N, 2) on the 64x48 map -> xyxy (N, 4) in body-input pixels (256x192),
    squared by growing the short side if ``square``, then scaled by ``extend`` (transforms.restore_bbox)."""
    scale = center.new_tensor([BODY_SHAPE[1] / BODY_HM[1], BODY_SHAPE[0] / BODY_HM[0]])
    lo, hi = (center - size / 2) * scale, (center + size / 2) * scale
    mid, wh = lo + (hi - lo) / 2, hi - lo
    if square:
        wh = wh.max(dim=1, keepdim=True).values.expand(-1, 2)
    wh = wh * extend
    return torch.cat((mid - wh / 2, mid - wh / 2 + wh), dim=1)


def _box_to_crop(boxes: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """(N, 3, 3) maps taking image pixels to crop pixels: the box's corner to the crop's corner,
    its centre to the crop's centre (kornia get_affine_matrix2d with angle 0, as the official code)."""
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = boxes[:, 2:] - boxes[:, :2] + 1e-8
    scale = boxes.new_tensor([out_hw[1], out_hw[0]]) / size
    half = boxes.new_tensor([out_hw[1] / 2, out_hw[0] / 2])
    mat = torch.zeros(len(boxes), 3, 3, dtype=boxes.dtype, device=boxes.device)
    mat[:, 0, 0], mat[:, 1, 1], mat[:, 2, 2] = scale[:, 0], scale[:, 1], 1.0
    mat[:, :2, 2] = half - scale * center
    return mat


def _pixels_to_unit(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel centres 0..w-1, 0..h-1 -> [-1, 1] (grid_sample's align_corners=True frame)."""
    return like.new_tensor([[2 / (w - 1), 0, -1], [0, 2 / (h - 1), -1], [0, 0, 1]])


def crop(images: torch.Tensor, boxes: torch.Tensor, out_hw: tuple[int, int] = HAND_SHAPE):
    """Cut ``out_hw`` crops of (N, C, H, W) images at xyxy ``boxes`` (N, 4) in image pixels, bilinear
    with zeros outside: crop pixel (u, v) samples x = x0 + u (x1 - x0) / W_out, y likewise
    (kornia warp_affine with align_corners=True, the official HandRoI). Returns the crops and the
    (N, 3, 3) image-to-crop maps."""
    to_crop = _box_to_crop(boxes, out_hw)
    h, w = images.shape[2:]
    unit = _pixels_to_unit(out_hw[0], out_hw[1], boxes) @ to_crop @ torch.linalg.inv(_pixels_to_unit(h, w, boxes))
    grid = F.affine_grid(torch.linalg.inv(unit)[:, :2], [len(boxes), images.shape[1], *out_hw], align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True), to_crop


def _affine(mat: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """(N, 2 or 3, 3) affine maps applied to points (N, J, 2)."""
    return xy @ mat[:, :2, :2].transpose(1, 2) + mat[:, None, :2, 2]


class BoxNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        for cin in (2048, 256, 256):
            layers += [nn.ConvTranspose2d(cin, 256, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(256),
                       nn.ReLU(inplace=True)]
        self.deconv = nn.Sequential(*layers)
        self.bbox_center = nn.Sequential(*_conv(256, 2, bn_relu=False))
        self.rhand_size = _mlp(256, 256, 2)
        self.lhand_size = _mlp(256, 256, 2)

    def forward(self, feat: torch.Tensor):
        feat = self.deconv(feat)
        heatmap = self.bbox_center(feat)
        centers = soft_argmax(heatmap)                                   # (B, 2 hands, xy)
        hand_feat = sample_features(feat, centers.detach())
        sizes = torch.stack((self.rhand_size(hand_feat[:, 0]), self.lhand_size(hand_feat[:, 1])), 1)
        prob = F.softmax(heatmap.flatten(2), 2).reshape(heatmap.shape)
        conf = torch.stack([sample_features(prob[:, k:k + 1], centers[:, k:k + 1])[:, 0, 0] for k in range(2)], 1)
        return centers, sizes, conf


class HandRoI(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = ResNet(50)

    def forward(self, images: torch.Tensor, boxes: torch.Tensor):
        """Boxes (B, 2, 4) in body-input pixels -> hand features (2B, 2048, 8, 8), right then mirrored
        left, and the (2B, 3, 3) input-to-crop maps."""
        up = boxes.new_tensor([INPUT_SHAPE[1] / BODY_SHAPE[1], INPUT_SHAPE[0] / BODY_SHAPE[0]]).repeat(2)
        with torch.no_grad():
            crops, to_crop = crop(images.repeat(2, 1, 1, 1), boxes.transpose(0, 1).reshape(-1, 4) * up)
            b = len(images)
            crops = torch.cat((crops[:b], crops[b:].flip(3)))
        return self.backbone(crops), to_crop


class PositionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(*_conv(2048, _NUM_JOINTS * HAND_HM, bn_relu=False))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        heatmap = self.conv(feat)
        return soft_argmax(heatmap.reshape(len(feat), _NUM_JOINTS, HAND_HM, *heatmap.shape[2:]))


class RotationNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(*_conv(2048, 512))
        self.root_pose_out = _mlp(_NUM_JOINTS * (512 + 3), 6)
        self.pose_out = _mlp(_NUM_JOINTS * (512 + 3), (_NUM_MANO_JOINTS - 1) * 6)
        self.shape_out = _mlp(2048, 10)
        # Only feeds the official 2D projections and renderings (the crop camera's translation),
        # which the root-relative meshes do not depend on; kept so that the checkpoint loads.
        self.cam_out = _mlp(2048, 3)

    def forward(self, feat: torch.Tensor, joint_img: torch.Tensor):
        n = len(feat)
        betas = self.shape_out(feat.mean((2, 3)))
        joint_feat = torch.cat((sample_features(self.conv(feat), joint_img[..., :2]), joint_img), 2).reshape(n, -1)
        root = matrix_to_axis_angle(rotation_6d_to_matrix(self.root_pose_out(joint_feat)))
        pose = matrix_to_axis_angle(rotation_6d_to_matrix(self.pose_out(joint_feat).reshape(n, -1, 6)))
        return root, pose.reshape(n, -1), betas


class TransNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = ResNet(18)  # its stem is unused: the rendered volumes enter at layer1
        self.conv = nn.Sequential(*_conv(2 * _NUM_JOINTS * TRANS_HM, 64, kernel=3))
        self.fc = _mlp(2 * (512 + 2), 3)

    def forward(self, joints: torch.Tensor) -> torch.Tensor:
        """Joints (B, 2, 21, 3): x, y in input pixels, z on the 8-bin grid -> left - right wrist (B, 3)."""
        xy = joints[..., :2]
        lo, hi = xy.amin(2), xy.amax(2)
        mid, half = (lo + hi) / 2, (hi - lo) / 2 * _JOINT_BOX_EXTEND
        lo, hi = (mid - half).amin(1), (mid + half).amax(1)          # union of the two hands' boxes
        mid, side = lo + (hi - lo) / 2, (hi - lo).amax(1, keepdim=True).expand(-1, 2)
        union = torch.cat((mid - side / 2, mid - side / 2 + side), 1)
        to_hm = _box_to_crop(union, (TRANS_HM, TRANS_HM))
        b = len(joints)
        xy = _affine(to_hm, xy.reshape(b, -1, 2)).reshape(b, 2, _NUM_JOINTS, 2)
        z = joints[..., 2] / HAND_HM * TRANS_HM
        grid = torch.arange(TRANS_HM, dtype=joints.dtype, device=joints.device)
        gx = torch.exp(-(((grid - xy[..., 0, None]) / SIGMA) ** 2) / 2)
        gy = torch.exp(-(((grid - xy[..., 1, None]) / SIGMA) ** 2) / 2)
        gz = torch.exp(-(((grid - z[..., None]) / SIGMA) ** 2) / 2)
        volume = gz[..., :, None, None] * gy[..., None, :, None] * gx[..., None, None, :] * 255
        x = self.conv(volume.reshape(b, -1, TRANS_HM, TRANS_HM))
        bb = self.backbone
        feat = bb.layer4(bb.layer3(bb.layer2(bb.layer1(x))))
        wrist = xy[:, :, 0] / (TRANS_HM / feat.shape[-1])
        return self.fc(torch.cat((sample_features(feat, wrist), wrist), 2).reshape(b, -1))


def _mirror(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle of a rotation seen in an x-mirrored image."""
    return rotvec * rotvec.new_tensor([1.0, -1.0, -1.0])


class InterWild(ZooModel):
    """The official ``Model`` minus its MANO layers; MANO runs in :meth:`decode` (float32)."""

    def __init__(self, entry: ModelEntry, mano_dir=None):
        super().__init__(entry)
        self.body_backbone = ResNet(50)
        self.body_box_net = BoxNet()
        self.hand_roi_net = HandRoI()
        self.hand_position_net = PositionNet()
        self.hand_rotation_net = RotationNet()
        self.hand_trans_net = TransNet()
        # Outside the module tree: the checkpoint holds no MANO arrays, and MANO stays float32
        # whatever the network's dtype; decode moves the layers to the outputs' device.
        self._mano: dict[str, ManoLayer] = {side: load_mano(side, ZOO_MANO, mano_dir) for side in ("right", "left")}
        self._regressor = {side: _joint_regressor(self._mano["right"], side) for side in ("right", "left")}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 3, 512, 384) RGB in [0, 1] -> per hand [right, left]: ``root_pose`` (B, 2, 3) and
        ``hand_pose`` (B, 2, 45) axis-angle (hand pose relative to the MANO mean), ``betas`` (B, 2, 10),
        ``hand_boxes`` (B, 2, 4) xyxy and ``joint_img`` (B, 2, 21, 3) (x, y in input pixels, z on the
        8-bin grid; canonical joint order, which is InterWild's sh_joints_name), ``hand_conf`` (B, 2);
        ``rel_trans`` (B, 3) left minus right wrist (m)."""
        b = len(images)
        feat = self.body_backbone(F.interpolate(images, BODY_SHAPE, mode="bilinear", align_corners=False))
        centers, sizes, conf = self.body_box_net(feat)
        crop_boxes = torch.stack([restore_box(centers[:, k], sizes[:, k], True, _HAND_BOX_EXTEND)
                                  for k in range(2)], 1).detach()
        hand_feat, to_crop = self.hand_roi_net(images, crop_boxes)
        joint_hm = self.hand_position_net(hand_feat)                         # (2B, 21, 3) on the 8^3 grid
        root, pose, betas = self.hand_rotation_net(hand_feat, joint_hm.detach())

        # The left crop was mirrored: flip x back, and mirror its rotations.
        cell = HAND_SHAPE[1] / HAND_HM
        left_x = (HAND_SHAPE[1] - 1 - joint_hm[b:, :, 0] * cell) / cell
        joint_hm = torch.cat((joint_hm[:b], torch.cat((left_x[..., None], joint_hm[b:, :, 1:]), 2)))
        root = torch.cat((root[:b], _mirror(root[b:])))
        pose = torch.cat((pose[:b], _mirror(pose[b:].reshape(b, -1, 3)).reshape(b, -1)))

        to_input = torch.linalg.inv(to_crop)
        xy = _affine(to_input, joint_hm[..., :2] * cell)
        joint_img = torch.cat((xy, joint_hm[..., 2:]), 2)

        def per_hand(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(2, b, *t.shape[1:]).transpose(0, 1)

        joint_img = per_hand(joint_img)
        rel_trans = self.hand_trans_net(joint_img.detach())
        up = images.new_tensor([INPUT_SHAPE[1] / BODY_SHAPE[1], INPUT_SHAPE[0] / BODY_SHAPE[0]]).repeat(2)
        boxes = torch.stack([restore_box(centers[:, k], sizes[:, k], False, 1.0) for k in range(2)], 1) * up
        return {"root_pose": per_hand(root), "hand_pose": per_hand(pose), "betas": per_hand(betas),
                "rel_trans": rel_trans, "hand_boxes": boxes, "hand_conf": conf, "joint_img": joint_img}

    def decode(self, outputs: dict[str, torch.Tensor], views: ViewBatch) -> Prediction:
        """Root-relative MANO meshes (the regressed wrist at the origin, main/model.py get_coord);
        the right wrist placed at ``views.gt_root[:, 0]``, the left at that plus ``rel_trans``, or at
        ``views.gt_root[:, 1]`` where the right hand has no true root."""
        device = outputs["root_pose"].device
        root_pose, hand_pose, betas = (outputs[k].float() for k in ("root_pose", "hand_pose", "betas"))
        rel_trans = outputs["rel_trans"].float()
        verts, roots = [], []
        for h, side in enumerate(("right", "left")):
            layer = self._mano[side].to(device)
            reg = self._regressor[side] = self._regressor[side].to(device)
            v = layer(root_pose[:, h], hand_pose[:, h], betas[:, h]).vertices
            verts.append(v)
            roots.append(torch.einsum("v,bvc->bc", reg[0], v))
        verts, roots = torch.stack(verts, 1), torch.stack(roots, 1)             # (B, 2, 778, 3), (B, 2, 3)
        right = views.gt_root[:, 0].float()
        left = torch.where(right.isnan().any(-1, keepdim=True), views.gt_root[:, 1].float(), right + rel_trans)
        place = torch.stack((right, left), 1)
        trans = place - roots
        vertices = verts + trans[:, :, None]
        joints = torch.stack([torch.einsum("jv,bvc->bjc", self._regressor[s], vertices[:, h])
                              for h, s in enumerate(("right", "left"))], 1)
        return Prediction(joints=joints, placement="gt-root", vertices=vertices,
                          hand_scores=outputs["hand_conf"].float(),
                          mano_pose=torch.cat((root_pose, hand_pose), 2), mano_shape=betas, mano_trans=trans)


def _joint_regressor(right: ManoLayer, side: str) -> torch.Tensor:
    """(21, 778) canonical joints from vertices: the right model's 16 regressor rows for both hands,
    as the official code does (common/utils/mano.py), plus ``side``'s fingertips under ZOO_MANO."""
    tips = torch.zeros(5, right.smplx.J_regressor.shape[1], dtype=torch.float64)
    tips[torch.arange(5), torch.as_tensor(TIP_PRESETS[ZOO_MANO.tips][side])] = 1.0
    rows = torch.cat((right.smplx.J_regressor.double(), tips))
    return rows[torch.as_tensor(MANO_ORDER.source_of_canonical)].float()


def build(entry: ModelEntry, mano_dir=None) -> InterWild:
    return InterWild(entry, mano_dir=mano_dir)
