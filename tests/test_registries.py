"""The registries: a quantity kind or a label set added in one place is picked up everywhere.

The toy kind and the toy label set here are the worked examples of ``data_specs/extending.md``:
registered by monkeypatching the registry, with no other change, they are validated, computed,
tabulated, run by the API, the command line and ``labels all``, and accepted by protocols.
"""

import json

import numpy as np
import pytest
from commandline import run, user_error
from factory import converted_interhand

import handeval
from handeval.labels.registry import LABEL_SETS, LabelGenerator, label_set
from handeval.labels.run import run_subsets
from handeval.labels.store import LabelSet, read_label_arrays, write_labels
from handeval.labels.subsets import SUBSET_NAMES, SUBSETS, subset_columns
from handeval.records.schema import Feature
from handeval.scoring.protocols import load_protocol, validate_spec
from handeval.scoring.quantities import QUANTITY_KINDS, Inputs, QuantityKind, quantity_table
from handeval.scoring.score import score
from handeval.scoring.submissions import write_submission
from handeval.scoring.table import TABLE_LABELS, read_table
from handeval.shards import ShardDataset
from handeval.shards.manifest import LabelSetEntry
from handeval.shards.views import read_view_truth
from handeval.synth.scene import make_scene
from handeval.util.errors import HandevalError

# -- the worked example of a quantity kind (data_specs/extending.md) ----------------------------------

def _depth(q: dict, x: Inputs) -> np.ndarray:
    j = q.get("joint", 0)
    e = np.abs(x.joints[:, :, j, 2] - x.truth.joints[:, :, j, 2])
    return np.where(x.truth.valid[:, :, j], e, np.nan).astype(np.float32)


DEPTH = QuantityKind(
    "depth", _depth, shape=lambda q: [2], higher_is_better=False,
    check=lambda q: None if q.get("joint", 0) in range(21) else ("joint", "a joint index, 0 to 20"),
    fields="`joint` (default 0)", field_names=("joint",), per_view="(2,)",
    meaning="absolute depth (camera z) error of one joint, unaligned")


# -- the worked example of a label set ----------------------------------------------------------------

WRIST_DISTANCE = LabelSet("wrist_distance", "1", "frames", (
    Feature("wrist_distance", "float32", (), "m", "distance between the two wrists; NaN unless both are valid",
            nullable=True),
))


def compute_wrist_distance(seq) -> dict:
    joints, valid = seq.frames["joints"].astype(np.float64), seq.frames["joints_valid"]
    d = np.linalg.norm(joints[:, 0, 0] - joints[:, 1, 0], axis=-1)
    return {"wrist_distance": np.where(valid[:, 0, 0] & valid[:, 1, 0], d, np.nan).astype(np.float32)}


def wrist_distance_labeler():
    return compute_wrist_distance


def run_wrist_distance(directory, **run) -> LabelSetEntry:
    return write_labels(ShardDataset(directory), WRIST_DISTANCE, {}, f"{__name__}:wrist_distance_labeler", {}, **run)


WRIST_ENTRY = LabelGenerator("wrist_distance", f"{__name__}:WRIST_DISTANCE", f"{__name__}:run_wrist_distance",
                            "Distance between the two wrists per frame.")


@pytest.fixture(scope="module")
def dataset(standin_dir, tmp_path_factory):
    scene = make_scene(seed=8, num_frames=6, num_cameras=2, image_size=(32, 24), render=False)
    return converted_interhand(tmp_path_factory.mktemp("registry"), scene)


def _toy_protocol(ds: ShardDataset, quantity: dict, **extra) -> dict:
    return {"schema": "handeval-protocol/1", "name": "toy/depth", "version": 1, "title": "toy", "source": "tests",
            "dataset": {"name": ds.manifest.dataset.name, "split": "test"},
            "quantities": {"depth": quantity, "joints": {"kind": "points", "points": "joints"}},
            "metrics": [{"name": "depth", "quantity": "depth", "reduce": "pooled", "scale": 1000, "unit": "mm"},
                        {"name": "MPJPE", "quantity": "joints", "reduce": "pooled", "scale": 1000, "unit": "mm"}],
            **extra}


def test_a_quantity_kind_registered_once_is_validated_computed_and_tabulated(dataset, monkeypatch, tmp_path):
    from handeval.zoo.baselines import ground_truth_submission, oracle_noise

    spec = _toy_protocol(dataset, {"kind": "depth", "joint": 0})
    with pytest.raises(HandevalError, match=r"quantities\.depth\.kind: 'depth' is not one of"):
        validate_spec(spec, "toy.json")
    monkeypatch.setitem(QUANTITY_KINDS, "depth", DEPTH)
    validate_spec(spec, "toy.json")
    with pytest.raises(HandevalError, match=r"quantities\.depth\.joint: a joint index, 0 to 20"):
        validate_spec(_toy_protocol(dataset, {"kind": "depth", "joint": 21}), "toy.json")
    assert "| `depth` | `joint` (default 0) | (2,) | lower | absolute depth" in quantity_table()

    path = tmp_path / "toy.json"
    path.write_text(json.dumps(spec))
    protocol = load_protocol(str(path))
    assert protocol.needs() == {"joints": "required", "vertices": "unused", "hand_scores": "unused"}
    assert protocol.higher_is_better(protocol.metrics[0]) is False

    sub = oracle_noise(ground_truth_submission(dataset, "test", vertices=False), 0.004, seed=1)
    result = score(dataset.root, write_submission(tmp_path / "p.parquet", sub), str(path), tmp_path / "r.json",
                   replicates=0, progress=False)
    table = read_table(tmp_path / "r.errors.parquet")
    assert table.columns["depth"].shape == (len(table), 2)
    truth = read_view_truth(dataset, "test")
    rows = {k: i for i, k in enumerate(zip(truth.sequence, truth.frame, truth.camera))}
    gt = np.array([rows[k] for k in zip(table.sequence, table.frame, table.camera)])
    pred = {k: i for i, k in enumerate(zip(sub.sequence, sub.frame, sub.camera))}
    pj = sub.joints[[pred[k] for k in zip(table.sequence, table.frame, table.camera)]].astype(np.float32)
    want = np.where(truth.valid[gt, :, 0], np.abs(pj[:, :, 0, 2] - truth.joints[gt, :, 0, 2]), np.nan)
    np.testing.assert_allclose(table.columns["depth"], want, rtol=1e-5, atol=1e-7)
    assert result["metrics"]["depth"]["value"] == pytest.approx(np.nanmean(want) * 1000, rel=1e-5)


def test_a_label_set_registered_once_is_run_by_the_api_the_cli_and_labels_all(dataset, monkeypatch, tmp_path,
                                                                              capsys):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(dataset.root, root)
    with pytest.raises(HandevalError, match="unknown label set 'wrist_distance'; choose one of subsets, penetration"):
        handeval.label(root, "wrist_distance")
    monkeypatch.setitem(LABEL_SETS, "wrist_distance", WRIST_ENTRY)

    entry = handeval.label(root, "wrist_distance", progress=False, source_root="ignored: the set takes no inputs")
    assert entry.version == "1" and len(entry.files) == 1
    values = read_label_arrays(ShardDataset(root), label_set("wrist_distance").label, ["wrist_distance"])
    frames = ShardDataset(root).read("frames", columns=["joints"]).column("joints")
    assert len(values["wrist_distance"]) == len(frames) and np.isfinite(values["wrist_distance"]).any()

    code, out, _ = run(["labels", "--help"], capsys)
    assert code == 0 and "wrist_distance  Distance between the two wrists per frame." in out
    code, out, _ = run(["labels", "wrist_distance", root, "--json"], capsys)
    assert code == 0 and json.loads(out)["labels"] == "wrist_distance"

    code, out, err = run(["labels", "all", root, "--json"], capsys)
    assert code == 0
    report = json.loads(out)  # one JSON document, the skipped set in it too
    assert [r["labels"] for r in report] == ["subsets", "penetration", "occlusion", "images", "wrist_distance"]
    assert "source_root" in report[3]["skipped"] or "--root" in report[3]["skipped"]
    assert "images: skipped (" in err  # the fixture has no source images: the set that requires them is skipped
    manifest = json.loads((root / "meta" / "info.json").read_text())
    assert set(manifest["labels"]) == set(LABEL_SETS) - {"images"}

    spec = _toy_protocol(ShardDataset(root), {"kind": "points", "points": "joints"},
                         requires_labels=["wrist_distance"])
    validate_spec(spec, "toy.json")
    monkeypatch.delitem(LABEL_SETS, "wrist_distance")
    with pytest.raises(HandevalError, match=r"requires_labels: 'wrist_distance' is not a label set"):
        validate_spec(spec, "toy.json")
    code, _, err = run(["labels", "wrist_distance", root], capsys)
    assert code == 2 and "No such command 'wrist_distance'" in err


def test_the_subset_names_are_the_subsets_label_sets_boolean_features(dataset, tmp_path, capsys):
    assert SUBSET_NAMES == ("interacting", "close", "single_hand")
    assert SUBSET_NAMES == tuple(f.name for f in SUBSETS.features if f.dtype == "bool")
    assert set(SUBSET_NAMES) <= set(subset_columns(np.zeros((1, 2, 21, 3)), np.ones((1, 2, 21), bool)))
    assert [f.name for f in TABLE_LABELS][:len(SUBSET_NAMES)] == list(SUBSET_NAMES)
    spec = _toy_protocol(dataset, {"kind": "points", "points": "joints"})
    for where, field in ((spec["metrics"][1].setdefault("where", {}), r"metrics\[1\]\.where\.subset"),
                         (spec.setdefault("select", {}), r"select\.subset")):
        where["subset"] = "closely"
        with pytest.raises(HandevalError, match=field):
            validate_spec(spec, "toy.json")
        where["subset"] = "close"
        validate_spec(spec, "toy.json")
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(dataset.root, root)
    run_subsets(root, progress=False)
    code, out, _ = run(["labels", "summary", root], capsys)
    assert code == 0 and "subsets (6 frames): interacting " in out and ", single-hand " in out


def test_every_label_set_entry_declares_its_own_label_set():
    for name, entry in LABEL_SETS.items():
        assert entry.label.name == name == entry.name
        assert set(entry.requires) <= set(entry.inputs)
    with pytest.raises(HandevalError, match="unknown label set 'pen'"):
        label_set("pen")


def test_a_label_sets_common_command_has_the_options_of_its_inputs_only(dataset, capsys):
    code, _, err = run(["labels", "subsets", dataset.root, "--root", "x"], capsys)
    assert code == 2 and "No such option '--root'" in err
    code, out, _ = run(["labels", "images", "--help"], capsys)
    assert code == 0 and "--root" in out and "--mano-dir" not in out and "--objects" not in out
    code, _, err = run(["labels", "images", dataset.root], capsys)
    user_error(code, err, "pass --root")
