"""The profiler: MACs in closed form, per part; the uncounted-operator warning; the InterNet cross-check
against LWA-HAND's Table 1 under the counting rules that reproduce it. No timing is asserted."""

from __future__ import annotations

import pytest
from torch import nn

from handeval.zoo.entry import Inputs, ModelEntry
from handeval.zoo.model import Prediction, ZooModel
from handeval.zoo.nets.internet import build
from handeval.zoo.profile import FVCORE_2020, count_flops, is_contraction, profile_model
from handeval.zoo.registry import get_entry

TINY = ModelEntry(name="tiny", kind="network", build="tests:none", summary="a conv and a linear layer",
                  inputs=Inputs(crop=(16, 16)))


class Tiny(ZooModel):
    def __init__(self, attention: bool = False):
        super().__init__(TINY)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8, 2 * 21 * 3)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True) if attention else None

    def forward(self, images):
        tokens = self.conv(images).flatten(2).mT   # (B, 256 positions, 8)
        if self.attention is not None:   # in eval mode the fused fast path runs, which has no formula
            tokens = self.attention(tokens, tokens, tokens, need_weights=False)[0]
        return {"joints": self.head(tokens.mean(1))}

    def decode(self, outputs, views):
        joints = outputs["joints"].float().view(-1, 2, 21, 3) * 1e-3 + views.gt_root[:, :, None]
        return Prediction(joints=joints, placement="gt-root")


def test_a_conv_and_a_linear_layer_count_their_macs_by_hand():
    prof = profile_model(Tiny(), batch=2, warmup=1, repeats=2)
    conv, head = 16 * 16 * 8 * (3 * 3 * 3), 8 * 126   # output positions x out x (in x kernel); in x out
    assert prof.gmacs_by_child == {"conv": conv / 1e9, "head": head / 1e9}
    assert prof.gmacs == (conv + head) / 1e9
    assert prof.params == 8 * 27 + 8 + 8 * 126 + 126
    assert prof.uncounted_ops == [] and prof.warnings == []
    assert prof.bf16_joints_max_mm >= prof.bf16_joints_mean_mm >= 0
    assert prof.to_dict()["counter"].startswith("torch.utils.flop_counter.FlopCounterMode")


def test_an_operator_without_a_formula_is_reported():
    with pytest.warns(RuntimeWarning, match="_native_multi_head_attention"):
        prof = profile_model(Tiny(attention=True), batch=1, warmup=0, repeats=1)
    assert "aten._native_multi_head_attention" in prof.uncounted_ops


@pytest.mark.parametrize("op, flagged", [
    ("aten._native_multi_head_attention", True), ("aten._scaled_dot_product_flash_attention_for_cpu", True),
    ("aten.mkldnn_convolution", True), ("aten._trilinear", True), ("aten.bmm", True),
    ("aten.add", False), ("aten.relu_", False), ("aten.upsample_bilinear2d", False), ("aten.cummax", False),
    ("aten._softmax", False), ("aten.native_batch_norm", False), ("aten.max_pool2d_with_indices", False)])
def test_only_contractions_are_flagged(op, flagged):
    assert is_contraction(op) is flagged


@pytest.fixture(scope="module")
def internet():
    model = build(get_entry("internet")).eval()
    return model, model.example_input(1)


def test_internet_pose_part_is_the_hand_count(internet):
    model, x = internet
    # Per hand: deconvs 2048->256 on 8x8, 256->256 on 16x16 and 32x32 (input positions x in x out x 4x4),
    # then the 1x1 conv to 21 x 64 channels on 64x64; root_fc and hand_fc: 2048->512->64 and 2048->512->2.
    per_hand = 64 * 2048 * 256 * 16 + 256 * 256 * 256 * 16 + 1024 * 256 * 256 * 16 + 4096 * 256 * 1344
    fcs = 2 * 2048 * 512 + 512 * 64 + 512 * 2
    assert count_flops(model, x).by_child["pose_net"] == 2 * (2 * per_hand + fcs)


def test_internet_reproduces_lwa_hand_table_1_under_fvcore_2020_rules(internet):
    model, x = internet
    parts = {k: v / 2e9 for k, v in count_flops(model, x, FVCORE_2020).by_child.items()}
    assert parts["backbone_net"] == pytest.approx(5.37, rel=0.05)
    assert parts["pose_net"] == pytest.approx(14.12, rel=0.05)
