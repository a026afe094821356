"""handeval's numbers against the official evaluators' own, on native-layout edge cases.

``tests/golden/official.json`` holds what HO3D's ``eval.py`` (v2, v3), Dex-YCB's ``hpe_eval``,
InterHand2.6M's ``evaluate`` and InterWild's HIC ``evaluate`` printed on the cases that
``tests/fidelity_cases.py`` writes (the official code was run outside the repository; its
repository and commit are recorded per case). IntagHand's and DIR's evaluation needs CUDA and
their processed data, so their sample selection and numbers are derived here independently,
from the native files and the definitions.
"""

import json
from pathlib import Path

import numpy as np
import oracles
import pytest
from fidelity_cases import CASES, write_cases
from PIL import Image

from handeval.conventions import HAND_SIDES
from handeval.labels.run import run_images
from handeval.readers import open_reader
from handeval.scoring.score import score
from handeval.scoring.submissions import read_submission
from handeval.scoring.table import read_table
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.meshes import HandMeshes

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "official.json").read_text())


@pytest.fixture(scope="module")
def cases(standin_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("fidelity")
    out = {}
    for name, path in write_cases(root / "cases").items():
        shards = root / "shards" / name
        convert(open_reader(CASES[name][0], path / "raw"), shards, progress=False)
        out[name] = (path, shards)
    return out


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_equals_the_official_evaluator(cases, name, tmp_path):
    path, shards = cases[name]
    _, protocol, _ = CASES[name]
    tol = GOLDEN["tolerance"]
    for pred, want in GOLDEN["cases"][name]["predictions"].items():
        file = next((path / "pred").glob(f"{pred}.*"))
        result = score(shards, file, protocol, tmp_path / f"{pred}.json", replicates=0, progress=False)
        for metric, value in want.items():
            got = result["metrics"][metric]["value"]
            assert got == pytest.approx(value, rel=tol["rel"], abs=tol["abs"]), (name, pred, metric)
        if pred == "swapped":  # a heuristic: warned, recorded, scored anyway
            assert [w["check"] for w in result["warnings"]] == ["hands"]


def test_the_cases_hold_the_edge_cases(cases):
    ds = ShardDataset(cases["dexycb"][1])
    v = ds.read("views", "s0_test", columns=["frame", "camera", "hand_present"]).to_pandas()
    present = np.stack(v.hand_present.to_list()).any(axis=1)
    absent = set(zip(v.frame[~present], v.camera[~present]))
    from handeval.readers.dexycb import SERIALS

    assert {(2, SERIALS[0]), (3, SERIALS[2])} | {(1, s) for s in SERIALS[:3]} == absent  # master camera included
    ih = ShardDataset(cases["interhand"][1])
    views = ih.read("views", "test", columns=["hand_type", "hand_type_valid", "joints_image_valid"]).to_pandas()
    assert set(views.hand_type) == {"right", "left", "interacting"} and (~views.hand_type_valid).sum() >= 3
    assert not np.stack(views.joints_image_valid.to_list()).all()  # truncated joints
    left_out = ShardDataset(cases["hic"][1]).manifest.splits["test"].left_out
    assert any("does not list" in x for x in left_out)


def _intaghand_selection(raw: Path) -> set:
    """IntagHand's dataset/interhand.py selection, from the native files alone: interacting,
    hand_type_valid, both NeuralAnnot fits, mean image intensity >= 10."""
    ann = raw / "annotations" / "test"
    data = json.loads((ann / "InterHand2.6M_test_data.json").read_text())
    mano = json.loads((ann / "InterHand2.6M_test_MANO_NeuralAnnot.json").read_text())
    keep = set()
    for im, a in zip(data["images"], data["annotations"]):  # paired by position, as IntagHand does
        fits = mano.get(str(im["capture"]), {}).get(str(im["frame_idx"]))
        if a["hand_type"] != "interacting" or not a["hand_type_valid"] or not fits or None in fits.values():
            continue
        if np.asarray(Image.open(raw / "images" / "test" / im["file_name"]).convert("RGB")).mean() < 10:
            continue
        keep.add((f"test/Capture{im['capture']}/{im['seq_name']}", im["frame_idx"], im["camera"]))
    return keep


def test_intaghand_and_dir_select_and_score_as_defined(cases, tmp_path):
    path, shards = cases["interhand"]
    run_images(shards, path / "raw", progress=False)
    want = _intaghand_selection(path / "raw")
    assert 0 < len(want) < len(ShardDataset(shards).read("views", "test", columns=["frame"]))
    sub = read_submission(path / "pred" / "noise.npz")
    index = {k: i for i, k in enumerate(sub.keys())}
    meshes = HandMeshes(ShardDataset(shards))
    for protocol in ("interhand26m-5fps-ih/intaghand", "interhand26m-5fps-ih/dir"):
        out = tmp_path / f"{protocol.split('/')[1]}.json"
        result = score(shards, path / "pred" / "noise.npz", protocol, out, replicates=0, progress=False)
        table = read_table(out.with_name(out.stem + ".errors.parquet"))
        keys = list(zip(table.sequence.tolist(), table.frame.tolist(), table.camera.tolist()))
        assert set(keys) == want
        if protocol.endswith("intaghand"):
            # The meshes the engine scores against are the NeuralAnnot fits put through MANO.
            from handeval.zoo.baselines import ground_truth_submission

            gt = ground_truth_submission(ShardDataset(shards), "test")
            gi = {k: i for i, k in enumerate(gt.keys())}
            rows_gt = np.array([gi[k] for k in keys])
            rows = np.array([index[k] for k in keys])
            regs = np.stack([meshes.layers[s].joint_regressor("intaghand") for s in HAND_SIDES])
            expected = oracles.intaghand_eval(gt.vertices[rows_gt].astype(np.float32).astype(np.float64),
                                              sub.vertices[rows].astype(np.float32).astype(np.float64), regs)
            for k, v in expected.items():
                assert result["metrics"][k]["value"] == pytest.approx(v, rel=1e-5), k
        assert set(result["breakdowns"]["MPJPE"]["hand"]) == {"right", "left"}
