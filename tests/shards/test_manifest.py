"""The typed manifest: exact round trip, checks on load, the version gate."""

import copy
import json

import pytest
from commandline import user_error

from handeval.records import SHARD_FORMAT_VERSION
from handeval.shards import Manifest, ShardDataset, read_manifest, write_manifest
from handeval.shards.manifest import ANY_CONVERSION, INFO_PATH
from handeval.util.errors import HandevalError

DATASETS = ("dexycb", "hic", "ho3d", "interhand26m")


@pytest.fixture(scope="module")
def manifests(labelled_shards):
    """Every demo dataset's manifest as written: {dataset: (text, dict)}; labels included."""
    texts = {name: (labelled_shards(name) / INFO_PATH).read_text() for name in DATASETS}
    return {name: (text, json.loads(text)) for name, text in texts.items()}


def _folder(tmp_path, data) -> str:
    (tmp_path / "ds" / "meta").mkdir(parents=True)
    (tmp_path / "ds" / INFO_PATH).write_text(json.dumps(data))
    return str(tmp_path / "ds")


def test_round_trip_keeps_every_demo_manifest(manifests, labelled_shards, tmp_path):
    for name, (text, data) in manifests.items():
        manifest = Manifest.from_dict(data)
        assert manifest.to_dict() == data, name
        assert manifest.labels and all(s.shards for s in manifest.splits.values()), name
        write_manifest(tmp_path / name, manifest)
        assert (tmp_path / name / INFO_PATH).read_text() == text, name  # byte-identical
        assert read_manifest(tmp_path / name) == manifest == ShardDataset(labelled_shards(name)).manifest


def _place(data: dict, path: str):
    """The object at a dotted place such as ``splits.test.shards.0.files.frames``."""
    for key in path.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


@pytest.mark.parametrize("place, shown", [
    ("", "unknown key extra (known: format_version, dataset"),
    ("conventions", "conventions: unknown key extra"),
    ("splits.test.shards.0.files.frames", "splits.test.shards[0].files.frames: unknown key extra"),
    ("splits.test.shards.0.sequences.0", "splits.test.shards[0].sequences[0]: unknown key extra"),
    ("options", "options: unknown key extra"),
    ("labels.subsets", "labels.subsets: unknown key extra"),
])
def test_unknown_keys_are_refused_by_place(manifests, place, shown):
    data = copy.deepcopy(manifests["hic"][1])
    (_place(data, place) if place else data)["extra"] = 1
    with pytest.raises(HandevalError) as exc:
        Manifest.from_dict(data)
    message = str(exc.value)
    assert message.startswith(f"{INFO_PATH}: {shown}") and "convert the dataset again" in message
    # The command rebuilt from the options, unless they are what is wrong.
    assert message.endswith(ANY_CONVERSION if place == "options" else "handeval convert hic --root SOURCE_ROOT "
                            "--out OUT_DIR --split test --target-frames 100000 --chunk-frames 10000")


@pytest.mark.parametrize("change, shown", [
    (lambda d: d["splits"]["test"]["shards"][0]["files"].pop("views"),
     "splits.test.shards[0].files: expected frames and views, got frames"),
    (lambda d: d["splits"]["test"]["shards"][0]["files"]["frames"].update(rows="12"),
     'splits.test.shards[0].files.frames.rows: expected an integer, got "12"'),
    (lambda d: d["splits"]["test"]["shards"][0]["sequences"][0].update(row_groups=[0]),
     "splits.test.shards[0].sequences[0].row_groups: expected a list of 2 integers, got [0]"),
    (lambda d: d["splits"]["test"].pop("frames"), "splits.test: missing frames"),
    (lambda d: d.update(synthetic="yes"), 'synthetic: expected true or false, got "yes"'),
    (lambda d: d["labels"]["subsets"]["files"]["labels/subsets/test/frames-00000.parquet"].pop("sha256"),
     'labels.subsets.files["labels/subsets/test/frames-00000.parquet"]: missing sha256'),
    (lambda d: d["labels"]["subsets"].update(table="images"), "labels.subsets.table: expected frames or views"),
    (lambda d: [d.pop(k) for k in ("dataset", "sources")], "missing dataset, sources"),
])
def test_missing_and_ill_typed_fields_are_named(manifests, tmp_path, handeval, change, shown):
    data = copy.deepcopy(manifests["hic"][1])
    change(data)
    code, _, err = handeval("info", _folder(tmp_path, data))
    message = user_error(code, err, f"{tmp_path / 'ds' / INFO_PATH}: {shown}")
    assert "convert the dataset again into a fresh folder: handeval convert hic" in message


@pytest.mark.parametrize("version", ["3.0", "2.9"])
def test_data_of_a_newer_format_asks_for_a_newer_handeval(manifests, tmp_path, handeval, version):
    data = {**manifests["ho3d"][1], "format_version": version, "converter": {"handeval_version": "9.0.0"}}
    data["newer_section"] = {}  # what a newer format may add: the gate speaks before the unknown key
    code, _, err = handeval("info", _folder(tmp_path, data))
    message = user_error(code, err, str(tmp_path / "ds" / INFO_PATH))
    assert f"format version {version!r} (written by handeval 9.0.0) is newer than the {SHARD_FORMAT_VERSION}" in message
    assert message.endswith("upgrade handeval (pip install -U handeval, or pull and reinstall your clone)")


def test_a_newer_format_that_this_handeval_wrote_is_an_edited_file(manifests, tmp_path, handeval):
    data = {**manifests["ho3d"][1], "format_version": "9.0"}  # converter: this very handeval
    code, _, err = handeval("info", _folder(tmp_path, data))
    message = user_error(code, err, str(tmp_path / "ds" / INFO_PATH))
    assert "is newer than any handeval" in message and "convert the dataset again" in message
    assert "pip install" not in message


def test_data_of_an_older_format_says_how_to_migrate(manifests, tmp_path, handeval):
    data = {**manifests["ho3d"][1], "format_version": "1.0", "old_section": {}}
    code, _, err = handeval("info", _folder(tmp_path, data))
    message = user_error(code, err, str(tmp_path / "ds" / INFO_PATH))
    assert f"format version '1.0' is older than the {SHARD_FORMAT_VERSION} this handeval reads" in message
    assert message.endswith(Manifest.from_dict(manifests["ho3d"][1]).options.command())
    assert "--variant v3 --split train --split evaluation" in message
    # Options this handeval cannot read: the command with placeholders for what they would have told.
    del data["options"]
    with pytest.raises(HandevalError, match="Re-convert from the source files with this version") as exc:
        ShardDataset(_folder(tmp_path / "b", data))
    assert str(exc.value).endswith(ANY_CONVERSION)


@pytest.mark.parametrize("version", ["2", "two", None])
def test_a_format_version_that_is_no_version_is_named(tmp_path, version):
    with pytest.raises(HandevalError, match="format_version: expected a version such as '2.0'"):
        ShardDataset(_folder(tmp_path, {"format_version": version}))
    with pytest.raises(HandevalError, match="format_version: missing"):
        Manifest.from_dict({})
