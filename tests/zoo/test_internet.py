"""InterNet: the official key manifest, strict loading, the argmax read-out and the decode in closed form,
and the committed random-weight parity record."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import torch

from handeval.zoo.model import ViewBatch
from handeval.zoo.nets.internet import InterNet, build
from handeval.zoo.registry import get_entry

GOLDEN = Path(__file__).parents[1] / "golden" / "zoo"
MANIFEST = json.loads((GOLDEN / "internet_keys.json").read_text())
PARITY = json.loads((GOLDEN / "internet_parity.json").read_text())
ENTRY = get_entry("internet")
PARITY_TOLERANCE = 1e-5   # relative to the largest official value of each output


@pytest.fixture(scope="module")
def model() -> InterNet:
    torch.manual_seed(0)
    return build(get_entry("internet")).eval()


def test_the_state_dict_is_the_official_manifest(model):
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert ours == list(MANIFEST["keys"].items())


def test_an_official_style_checkpoint_loads_strictly_after_the_renames(model):
    gen = torch.Generator().manual_seed(1)
    saved = {f"module.{k}": torch.randn(shape, generator=gen) if not k.endswith("num_batches_tracked")
             else torch.tensor(7) for k, shape in MANIFEST["keys"].items()}
    renamed = {}
    for key, value in saved.items():
        for pattern, repl in ENTRY.weights.renames:
            key = re.sub(pattern, repl, key)
        renamed[key] = value
    fresh = InterNet(ENTRY)
    fresh.load_state_dict(renamed, strict=True)
    assert torch.equal(fresh.pose_net.joint_conv_2[0].bias, saved["module.pose_net.joint_conv_2.0.bias"])
    assert int(fresh.backbone_net.resnet.bn1.num_batches_tracked) == 7


def test_forward_reads_each_heatmap_maximum_as_x_y_z(model, monkeypatch):
    heatmaps = torch.zeros(1, 42, 64, 64, 64)
    heatmaps[0, 3, 5, 10, 40] = 1.0   # joint 3: z 5, y 10, x 40
    heatmaps[0, 30, 63, 0, 2] = 1.0
    root, hand = torch.full((1, 1), 31.5), torch.tensor([[0.9, 0.2]])
    monkeypatch.setattr(model.pose_net, "forward", lambda feat: (heatmaps, root, hand))
    out = model(torch.rand(1, 3, 64, 64))
    assert out["joint_coord"][0, 3].tolist() == [40.0, 10.0, 5.0]
    assert out["joint_coord"][0, 30].tolist() == [2.0, 0.0, 63.0]
    assert out["joint_coord"][0, 0].tolist() == [0.0, 0.0, 0.0]
    assert out["rel_root_depth"] is root and out["hand_type"] is hand


def test_decode_places_a_voxel_at_its_camera_point(model):
    # Every joint at voxel (x 32, y 16, z 48) except the right wrist (official index 20) at (0, 64, 16).
    coord = torch.tensor([32.0, 16.0, 48.0]).repeat(1, 42, 1)
    coord[0, 20] = torch.tensor([0.0, 64.0, 16.0])
    outputs = {"joint_coord": coord, "rel_root_depth": torch.zeros(1, 1), "hand_type": torch.tensor([[0.7, 0.4]])}
    # A 512 px box from (100, 50): 2 image pixels per crop pixel, 8 per heatmap voxel.
    views = ViewBatch(boxes=torch.tensor([[100.0, 50.0, 612.0, 562.0]]),
                      K=torch.tensor([[[1000.0, 0.0, 300.0], [0.0, 800.0, 200.0], [0.0, 0.0, 1.0]]]),
                      gt_root=torch.tensor([[[0.0, 0.0, 0.5], [0.0, 0.0, 0.8]]]))
    pred = model.decode(outputs, views)
    assert pred.placement == "gt-root" and pred.joints.shape == (1, 2, 21, 3) and pred.joints.dtype == torch.float32
    # x 32 -> crop 128 -> image 356; y 16 -> 64 -> 178; z 48 -> +100 mm; right root 0.5 m -> Z 0.6.
    right_tip = torch.tensor([(356 - 300) / 1000 * 0.6, (178 - 200) / 800 * 0.6, 0.6])
    # wrist: x 0 -> image 100; y 64 -> 562; z 16 -> -100 mm -> Z 0.4.
    right_wrist = torch.tensor([(100 - 300) / 1000 * 0.4, (562 - 200) / 800 * 0.4, 0.4])
    left_any = torch.tensor([(356 - 300) / 1000 * 0.9, (178 - 200) / 800 * 0.9, 0.9])
    torch.testing.assert_close(pred.joints[0, 0, 0], right_wrist)       # canonical 0 = wrist
    torch.testing.assert_close(pred.joints[0, 0, 4], right_tip)         # canonical 4 = thumb tip
    torch.testing.assert_close(pred.joints[0, 1], left_any.expand(21, 3))
    torch.testing.assert_close(pred.hand_scores, outputs["hand_type"])


def test_the_entry_builds_the_model_and_names_the_official_file():
    module, function = ENTRY.build.split(":")
    assert getattr(importlib.import_module(module), function) is build
    assert (ENTRY.kind, ENTRY.code_licence, ENTRY.datasets) == ("network", "CC-BY-NC-4.0", ("interhand26m",))
    assert (ENTRY.inputs.crop, ENTRY.inputs.mean, ENTRY.inputs.std) == ((256, 256), (0.0,) * 3, (1.0,) * 3)
    assert (ENTRY.inputs.box, ENTRY.inputs.box_rule.expand, ENTRY.inputs.box_rule.aspect) == ("annotation", 1.25, 1.0)
    assert (ENTRY.weights.kind, ENTRY.weights.file, ENTRY.weights.key) == ("checkpoint", "snapshot_20.pth.tar",
                                                                           "network")


def test_the_recorded_parity_is_within_the_tolerance():
    assert PARITY["source"] == {k: MANIFEST["source"][k] for k in ("repo", "commit")}
    assert set(PARITY["outputs"]) >= {"joint_coord", "rel_root_depth", "hand_type"}
    for name, rec in PARITY["outputs"].items():
        assert rec["max_rel"] <= PARITY_TOLERANCE, name
