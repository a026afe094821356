"""The zoo runner with the tiny CI network: crops against closed forms, the submission with its
provenance and run manifest, resume, scoring and the leaderboard row; and the user's mistakes."""

import json
import shutil

import numpy as np
import pytest
import torch
from commandline import run, user_error

from handeval.scoring.submissions import read_submission
from handeval.util.errors import HandevalError
from handeval.zoo.entry import BoxRule
from handeval.zoo.run import ViewCrops, boxes_from_points, manifest_path, run_entry


def test_boxes_follow_the_rule_in_closed_form():
    points = np.array([[[10.0, 20.0], [30.0, 60.0], [np.nan, np.nan]]])
    box = boxes_from_points(points, BoxRule("both", 1.5, 1.0), np.array([640]), np.array([480]))
    # tight 20 x 40 about (20, 40); x1.5 -> 30 x 60; square -> 60 x 60
    np.testing.assert_allclose(box, [[-10.0, 10.0, 50.0, 70.0]])
    wide = boxes_from_points(points, BoxRule("both", 1.0, 2.0), np.array([640]), np.array([480]))
    np.testing.assert_allclose(wide, [[-20.0, 20.0, 60.0, 60.0]])  # 20 x 40 -> 80 x 40
    empty = boxes_from_points(np.full((1, 2, 2), np.nan), BoxRule("both", 1.25, 1.0), np.array([64]), np.array([32]))
    np.testing.assert_allclose(empty, [[0.0, -16.0, 63.0, 47.0]])  # the whole image, squared, not grown


def test_crops_sample_the_image_where_the_convention_says(tmp_path):
    from PIL import Image

    h, w = 40, 60
    ramp = np.zeros((h, w, 3), np.uint8)
    ramp[..., 0] = np.arange(w)[None, :] * 2      # R = 2 x
    ramp[..., 1] = np.arange(h)[:, None] * 3      # G = 3 y
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    box = np.array([[10.0, 5.0, 30.0, 25.0]])     # 20 x 20 px -> 10 x 10 crop: 2 px per crop pixel
    crop, _, failed = ViewCrops(tmp_path, np.array(["ramp.png"]), box, (10, 10))[0]
    assert failed == ""
    u = np.arange(10)
    # crop pixel u samples image x = x0 + 2 u exactly (integer points: no interpolation error)
    np.testing.assert_array_equal(crop[0, 0].numpy(), 2 * (10 + 2 * u))
    np.testing.assert_array_equal(crop[1, :, 0].numpy(), 3 * (5 + 2 * u))


@pytest.fixture(scope="module")
def tiny_run(demo_data, tmp_path_factory):
    raw, _ = demo_data.native("interhand26m")
    gt = demo_data.shards("interhand26m")
    out = tmp_path_factory.mktemp("zoo-run") / "tiny.parquet"
    record = run_entry("tiny", gt, "test", out, raw, batch=4, workers=0, progress=False)
    return gt, raw, out, record


def test_the_run_writes_a_submission_with_its_provenance_and_manifest(tiny_run):
    gt, _, out, record = tiny_run
    sub = read_submission(out)
    assert record["views"] == len(sub.frame) > 0
    assert np.isfinite(sub.joints).any() and sub.hand_scores.shape == (len(sub.frame), 2)
    made = sub.provenance
    assert made["entry"] == "tiny" and made["placement"] == "gt-root"
    assert "GT root" in made["flags"] and "random weights" in made["flags"]
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest == record
    for key in ("device", "dtype", "batch", "box_source", "timing", "peak_memory", "checkpoint"):
        assert key in manifest
    assert manifest["device"]["torch"] == torch.__version__
    assert set(manifest["timing"]) == {"model_alone", "end_to_end"}
    assert manifest["timing"]["end_to_end"]["throughput_per_s"] > 0
    assert manifest["submission"]["sha256"]


def test_a_rerun_reuses_the_submission_and_another_dtype_does_not(tiny_run):
    gt, raw, out, record = tiny_run
    again = run_entry("tiny", gt, "test", out, raw, batch=4, workers=0, progress=False)
    assert again["reused"] and again["key"] == record["key"]
    other = out.with_name("tiny-bf16.parquet")
    bf16 = run_entry("tiny", gt, "test", other, raw, dtype="bf16", batch=4, workers=0, progress=False)
    assert bf16["key"] != record["key"] and bf16["dtype"] == "bf16"
    a, b = read_submission(out), read_submission(other)
    # autocast covers the network only: the difference is bf16 round-off of the offsets, far below a mm
    assert np.nanmax(np.abs(a.joints - b.joints)) < 1e-3


def test_scored_and_on_the_leaderboard_with_speed_and_provenance(tiny_run, tmp_path, capsys):
    gt, _, out, _ = tiny_run
    res = tmp_path / "res"
    code, _, err = run(["score", "--gt", gt, "--pred", out, "--protocol", "interhand26m-5fps/official",
                        "--out", res / "tiny.json", "--allow-deviation", "--bootstrap", "10"], capsys)
    assert code == 0, err
    result = json.loads((res / "tiny.json").read_text())
    assert result["submission"]["provenance"]["entry"] == "tiny"
    assert run(["leaderboard", res, "--out", tmp_path / "lb", "--no-reported"], capsys)[0] == 0
    board = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert "measured speed" in board and "tiny · random weights · GT root" in board
    assert "/s, model alone" in board


def test_the_users_mistakes(demo_data, tmp_path, capsys):
    raw, _ = demo_data.native("interhand26m")
    gt = demo_data.shards("interhand26m")
    with pytest.raises(HandevalError, match="--root"):
        run_entry("tiny", gt, "test", tmp_path / "a.parquet", tmp_path / "nowhere", progress=False)
    with pytest.raises(HandevalError, match="no split"):
        run_entry("tiny", gt, "nosuch", tmp_path / "a.parquet", raw, progress=False)
    with pytest.raises(HandevalError, match="--dtype"):
        run_entry("tiny", gt, "test", tmp_path / "a.parquet", raw, dtype="fp8", progress=False)
    with pytest.raises(HandevalError, match="not a network"):
        run_entry("oracle-noise", gt, "test", tmp_path / "a.parquet", raw, progress=False)
    code, _, err = run(["zoo", "run", "tiny", "--gt", gt, "--root", raw, "--split", "test", "--out",
                        tmp_path / "a.parquet", "--device", "cuda:0"], capsys)
    user_error(code, err, "no CUDA device")
    broken = tmp_path / "raw"
    shutil.copytree(raw, broken)
    lost = sorted(broken.rglob("*.jpg"))[0]
    lost.unlink()
    code, _, err = run(["zoo", "run", "tiny", "--gt", gt, "--root", broken, "--split", "test", "--out",
                        tmp_path / "b.parquet", "--loader-workers", "1"], capsys)
    assert code == 2 and str(lost) in err and "Traceback" not in err


def test_a_checkpoint_is_loaded_strictly_and_its_sha256_recorded(tiny_run, tmp_path):
    from safetensors.torch import save_file

    from handeval.util.checksums import sha256_file
    from handeval.zoo.registry import get_entry
    from handeval.zoo.run import build_model

    gt, raw, _, _ = tiny_run
    model, _ = build_model(get_entry("tiny"))
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    save_file(weights, tmp_path / "tiny.safetensors")
    out = tmp_path / "ckpt.parquet"
    record = run_entry("tiny", gt, "test", out, raw, checkpoint=tmp_path / "tiny.safetensors", batch=8, workers=0,
                       progress=False)
    assert record["checkpoint"]["sha256"] == sha256_file(tmp_path / "tiny.safetensors")
    assert read_submission(out).provenance["weights"]["sha256"] == record["checkpoint"]["sha256"]
    del weights["head.bias"]
    save_file(weights, tmp_path / "short.safetensors")
    with pytest.raises(HandevalError, match="head.bias"):
        run_entry("tiny", gt, "test", tmp_path / "short.parquet", raw, checkpoint=tmp_path / "short.safetensors",
                  progress=False)


@pytest.mark.slow
def test_the_run_spreads_over_dask_workers_and_writes_the_same_submission(tiny_run, tmp_path):
    from handeval.runner import Executor

    gt, raw, out, _ = tiny_run
    there = tmp_path / "dask.parquet"
    with Executor("dask", workers=1) as executor:
        record = run_entry("tiny", gt, "test", there, raw, batch=4, workers=0, executor=executor, progress=False)
    assert record["units"]["backend"] == "dask"
    a, b = read_submission(out), read_submission(there)
    np.testing.assert_array_equal(a.joints, b.joints)


def test_a_detectors_boxes_are_read_by_view(tiny_run, tmp_path, monkeypatch):
    from dataclasses import replace

    import pandas as pd

    from handeval.zoo import registry

    gt, raw, out, _ = tiny_run
    tiny = registry.get_entry("tiny")
    detector = replace(tiny, name="tiny-detector", inputs=replace(tiny.inputs, box="detector"))
    monkeypatch.setattr(registry, "BUILTIN", registry.BUILTIN + (detector,))
    with pytest.raises(HandevalError, match="--boxes"):
        run_entry("tiny-detector", gt, "test", tmp_path / "d.parquet", raw, workers=0, progress=False)
    sub = read_submission(out)
    boxes = pd.DataFrame({"sequence": sub.sequence, "frame": sub.frame, "camera": sub.camera,
                          "x0": 0.0, "y0": 0.0, "x1": 16.0, "y1": 16.0}).iloc[1:]  # the first view has none
    boxes.to_parquet(tmp_path / "boxes.parquet")
    record = run_entry("tiny-detector", gt, "test", tmp_path / "d.parquet", raw, boxes=tmp_path / "boxes.parquet",
                       workers=0, progress=False)
    assert record["box_source"] == "detector" and record["views"] == len(sub.frame)
