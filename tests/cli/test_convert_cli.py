"""convert / info / validate from the command line; the documented ways to read shards."""

import json

import pytest
from commandline import run

from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
from handeval.synth.scene import make_scene


@pytest.fixture(scope="module")
def raw(standin_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "raw"
    scene = make_scene(seed=9, num_frames=6, num_cameras=2, image_size=(40, 30))
    write_interhand26m(root, [InterHandSequence(scene, "test", 0, "s0"), InterHandSequence(scene, "val", 0, "s1")])
    return root


def test_convert_info_validate(raw, tmp_path, capsys, standin_dir):
    out = tmp_path / "ih"
    code, stdout, _ = run(["convert", "interhand26m", "--root", str(raw), "--out", str(out), "--split", "test",
                           "--json"], capsys)
    assert code == 0 and json.loads(stdout)["splits"]["test"]["frames"] == 6
    code, stdout, _ = run(["info", str(out), "--json"], capsys)
    assert code == 0 and json.loads(stdout)["splits"]["test"]["annotated"]["hands_bbox"] == 1.0
    code, stdout, _ = run(["validate", str(out), "--mano-dir", str(standin_dir), "--json"], capsys)
    assert code == 0 and json.loads(stdout)["ok"]
    # Damage a shard: validate lists the problem and exits 1.
    shard = next((out / "data" / "test").glob("frames-*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-100] + b"x" * 100)
    code, stdout, _ = run(["validate", str(out)], capsys)
    assert code == 1 and "PROBLEM [checksums]" in stdout


def test_user_errors_are_one_line(raw, tmp_path, capsys):
    code, _, err = run(["convert", "interhand26m", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "o")],
                       capsys)
    assert code == 2 and "--root" in err and "Traceback" not in err
    code, _, err = run(["convert", "interhand26m", "--root", str(raw), "--out", str(tmp_path / "o"), "--split", "dev"],
                       capsys)
    assert code == 2 and "split 'dev'" in err
    code, _, err = run(["info", str(tmp_path)], capsys)
    assert code == 2 and "meta/info.json is missing" in err
    for cmd in (["convert"], ["info"], ["validate"]):
        assert run(cmd + ["--help"], capsys)[0] == 0


def test_documented_external_readers(raw, tmp_path, monkeypatch):
    """The pandas, pyarrow and DuckDB lines of data_specs/shards.md work on a converted folder."""
    import duckdb
    import pandas as pd
    import pyarrow.parquet as pq

    from handeval.readers.interhand26m import InterHand26M
    from handeval.shards.convert import convert

    convert(InterHand26M(raw), tmp_path / "ih5", progress=False)
    monkeypatch.chdir(tmp_path)
    df = pd.read_parquet("ih5/data/test/frames-00000.parquet", columns=["sequence", "frame", "joints"])
    table = pq.read_table("ih5/data/test/views-00000.parquet", columns=["sequence", "frame", "camera", "K"])
    counts = duckdb.sql("SELECT sequence, count(*) AS frames FROM 'ih5/data/*/frames-*.parquet' GROUP BY sequence").df()
    assert len(df) == 6 and table.num_rows == 12 and sorted(counts["frames"]) == [6, 6]
