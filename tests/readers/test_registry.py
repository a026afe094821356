"""The reader registry and what the DatasetReader base class gives every reader."""

import pytest

from handeval.readers import READERS, DatasetReader, open_reader, variant_tokens
from handeval.util.errors import HandevalError


def test_the_registry_holds_each_reader_class_under_its_key():
    assert list(READERS) == ["interhand26m", "hic", "dexycb", "ho3d"]
    for key, cls in READERS.items():
        assert issubclass(cls, DatasetReader) and cls.key == key and cls.default_splits_help


def test_open_reader_names_an_unknown_dataset_a_bad_root_and_an_unknown_variant(tmp_path):
    with pytest.raises(HandevalError, match="unknown dataset 'ih'; choose one of interhand26m, hic, dexycb, ho3d"):
        open_reader("ih", tmp_path)
    (tmp_path / "file").write_text("")
    for root in (tmp_path / "nowhere", tmp_path / "file"):
        with pytest.raises(HandevalError, match=f"--root {root} does not exist or is not a folder"):
            open_reader("dexycb", root)
    with pytest.raises(HandevalError, match=r"HIC has no variants \(got 'v2'\)"):
        open_reader("hic", tmp_path, "v2")


def test_variant_tokens_split_on_commas_colons_slashes_and_spaces():
    assert variant_tokens("30fps, v0.0:H/x") == ["30fps", "v0.0", "H", "x"]
    assert variant_tokens(None) == variant_tokens("") == []


def test_variant_option_opens_the_same_variant_again(tmp_path):
    for folder in ("ih/annotations", "dex/calibration", "hic/01/1/rgb", "ho3d"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "ho3d/train.txt").write_text("")
    cases = [("interhand26m", "ih", "30fps,v0.0/H", "v0.0:30fps:H"), ("interhand26m", "ih", None, "v1.0:5fps:H+M"),
             ("dexycb", "dex", "toolkit-hpe", "toolkit-hpe"), ("dexycb", "dex", None, None),
             ("ho3d", "ho3d", "v2", "v2"), ("hic", "hic", None, None)]
    for dataset, folder, variant, option in cases:
        reader = open_reader(dataset, tmp_path / folder, variant)
        assert reader.variant_option == option
        again = open_reader(dataset, tmp_path / folder, option)
        assert (again.variant, again.version) == (reader.variant, reader.version)


def test_what_a_reader_does_not_report_defaults_to_nothing(tmp_path):
    (tmp_path / "calibration").mkdir()
    reader = open_reader("dexycb", tmp_path)
    assert reader.left_out("s0_test") == [] and reader.missing_sources("s0_test") == []
    assert reader.default_splits() == []  # nothing present
