"""Shard format: records -> Parquet -> numpy round trip, row groups, nulls, determinism."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from handeval import __version__
from handeval.records import SHARD_FORMAT_VERSION
from handeval.records.schema import features_dict
from handeval.shards import ShardDataset, plan_shards, write_manifest, write_shard
from handeval.shards.manifest import Conventions, Converter, DatasetIdentity, Manifest, Options, SplitInfo
from handeval.synth.scene import make_scene, scene_records
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def scene(standin_dir):
    return make_scene(seed=5, num_frames=12, num_cameras=2, image_size=(64, 48), objects=("box",), render=False)


def _write(root, records, target=20, chunk=5):
    plan = plan_shards("train", [(r.sequence, r.num_frames) for r in records], target)
    by_name = {r.sequence: r for r in records}
    entries = [write_shard(root, sh, [by_name[n] for n in sh.sequences], chunk) for sh in plan]
    split = SplitInfo.from_dict({"frames": sum(e["files"]["frames"]["rows"] for e in entries),
                                 "views": sum(e["files"]["views"]["rows"] for e in entries), "sequences": len(records),
                                 "skipped": [], "missing_files": [], "missing": {}, "left_out": [], "shards": entries})
    write_manifest(root, Manifest(
        format_version=SHARD_FORMAT_VERSION, dataset=DatasetIdentity(name="scene", version="1", variant="test"),
        conventions=Conventions(), features=features_dict(), splits={"train": split}, sources={"train": []},
        options=Options(dataset="scene", variant=None, splits=["train"], target_frames=target, chunk_frames=chunk),
        synthetic=True, converter=Converter(handeval_version=__version__)))
    return entries


def test_round_trip_and_row_groups(scene, tmp_path):
    records = [scene_records(scene, f"s{i}") for i in range(3)]
    entries = _write(tmp_path, records, target=30, chunk=5)
    assert [e["sequences"][0]["sequence"] for e in entries] == ["s0", "s2"]  # s0+s1 fit in 30 frames
    pf = pq.ParquetFile(tmp_path / entries[0]["files"]["frames"]["path"])
    assert pf.metadata.num_row_groups == 6  # 2 sequences x ceil(12 / 5)
    ds = ShardDataset(tmp_path)
    seq = ds.sequence("s1")
    truth = records[1]
    np.testing.assert_array_equal(seq.frames["joints"], truth.frames["joints"])
    np.testing.assert_allclose(seq.views["K"], truth.views["K"], rtol=1e-7)
    np.testing.assert_allclose(seq.views["joints_2d"], truth.views["joints_2d"], atol=1e-3)
    assert list(seq.views["camera"][:4]) == ["0", "1", "0", "1"]
    assert seq.frames["object_ids"][0] == ["box0"]
    np.testing.assert_allclose(np.asarray(seq.frames["object_poses"][3]).reshape(3, 4)[:, :3],
                               scene.objects[0].rotation[3], atol=1e-6)


def test_records_refuse_columns_the_schema_does_not_know(scene):
    rec = scene_records(scene, "s")
    rec.frames["joints_mm"] = rec.frames["joints"] * 1000  # would be dropped on the way to Parquet
    with pytest.raises(KeyError, match="sequence s: unknown column.*joints_mm"):
        rec.frame_table()


def test_nulls_for_missing_annotations(scene, tmp_path):
    rec = scene_records(scene, "s")
    rec.views["joints_2d"] = rec.views["joints_2d"].copy()
    rec.views["joints_2d"][1::2] = np.nan       # camera 1 has no 2D annotation
    valid = np.ma.masked_array(rec.views["joints_image_valid"], mask=False)
    valid[1::2] = np.ma.masked
    rec.views["joints_image_valid"] = valid
    rec.frames["mano_pose"] = rec.frames["mano_pose"].copy()
    rec.frames["mano_pose"][4] = np.nan          # no MANO fit on frame 4
    _write(tmp_path, [rec])
    ds = ShardDataset(tmp_path)
    views = ds.read("views", columns=["joints_2d", "joints_image_valid", "hands_bbox"])
    assert views.column("joints_2d").null_count == 12 and views.column("joints_image_valid").null_count == 12
    assert views.column("hands_bbox").null_count == 24  # not given at all
    frames = ds.read("frames", columns=["mano_pose"])
    assert frames.column("mano_pose").null_count == 1
    assert np.isnan(ds.sequence("s").frames["mano_pose"][4]).all()


def test_filters_and_pruning(scene, tmp_path):
    a, b = scene_records(scene, "a"), scene_records(scene, "b")
    b.frames["hand_type"] = ["right"] * b.num_frames
    _write(tmp_path, [a, b])
    ds = ShardDataset(tmp_path)
    t = ds.read("frames", columns=["sequence", "frame"], hand_types=["right"])
    assert t.column_names == ["sequence", "frame"] and set(t.column("sequence").to_pylist()) == {"b"}
    v = ds.read("views", columns=["camera"], hand_types=["interacting"])
    assert v.num_rows == 24
    assert ds.read("frames", sequences=["a"]).num_rows == 12


def test_rewrite_is_byte_identical(scene, tmp_path):
    rec = scene_records(scene, "s")
    e1 = _write(tmp_path / "one", [rec])
    e2 = _write(tmp_path / "two", [rec])
    for kind in ("frames", "views"):
        assert e1[0]["files"][kind]["sha256"] == e2[0]["files"][kind]["sha256"]


def test_external_readers(scene, tmp_path):
    import pandas as pd

    entries = _write(tmp_path, [scene_records(scene, "s")])
    df = pd.read_parquet(tmp_path / entries[0]["files"]["frames"]["path"], columns=["sequence", "frame", "joints"])
    assert len(df) == 12 and len(df["joints"].iloc[0]) == 126


def test_not_a_dataset(tmp_path):
    with pytest.raises(HandevalError, match="meta/info.json is missing"):
        ShardDataset(tmp_path)


def test_footer_null_counts_equal_the_data(scene, tmp_path):
    from handeval.shards.inspect import footer_nulls

    rec = scene_records(scene, "s")
    rec.frames["mano_pose"] = rec.frames["mano_pose"].copy()
    rec.frames["mano_pose"][[2, 7]] = np.nan
    entries = _write(tmp_path, [rec])
    path = tmp_path / entries[0]["files"]["frames"]["path"]
    table = pq.read_table(path)
    names = ["mano_pose", "vertices", "object_ids", "object_poses"]
    assert footer_nulls(path, names) == {n: table.column(n).null_count for n in names}
    assert footer_nulls(path, ["mano_pose"])["mano_pose"] == 2


def test_feature_encode_decode_round_trip():
    """The one Arrow encoding: nulls where documented, shapes back, chunked and sliced columns alike."""
    import pyarrow as pa

    from handeval.records.schema import Feature

    boxes = Feature("bbox", "float32", (2, 4), "px", "", nullable=True)
    values = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    values[1] = np.nan
    col = boxes.encode(values, 3)
    assert col.type == boxes.arrow_type() and col.null_count == 1
    np.testing.assert_array_equal(boxes.decode(col), values)
    chunked = pa.chunked_array([col.slice(0, 1), col.slice(1)])
    np.testing.assert_array_equal(boxes.decode(chunked), values)
    np.testing.assert_array_equal(boxes.decode(col.slice(2)), values[2:])
    valid = Feature("valid", "bool", (2,), "", "", nullable=True)
    masked = np.ma.masked_array([[True, False], [True, True]], mask=[[False, False], [True, True]])
    col = valid.encode(masked, 2)
    assert col.null_count == 1 and valid.decode(col).tolist() == [[True, False], [False, False]]
    ids = Feature("ids", "string", (None,), "", "", nullable=True)
    assert list(ids.decode(ids.encode([["a", "b"], None], 2))) == [["a", "b"], None]
    assert Feature("n", "int32", (), "", "").decode(pa.array([1, 2], pa.int32())).tolist() == [1, 2]
