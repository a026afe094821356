"""Every stage on the runner, on the demo's data through the command line: convert, every label set and
score give byte-identical outputs with one worker, a local pool of two and a Dask LocalCluster of two;
a worker killed mid-shard leaves no partial file; a corrupt sequence is recorded (--skip-bad) or fails
its unit alone while the rest finish."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from commandline import run as cli
from commandline import user_error

from handeval.runner import LOG_SUFFIX
from handeval.util.atomic import temporaries

EXECUTORS = {"one": [], "pool": ["--workers", "2"], "dask": ["--executor", "dask", "--workers", "2"]}
PROTOCOL = "interhand26m-5fps-ih/intaghand-occlusion"


def outputs(folder: Path) -> dict[str, bytes]:
    """Every file but the jobs' logs (they say when and where each unit ran)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(LOG_SUFFIX)}


@pytest.fixture(scope="module")
def three_sequences(demo_data, tmp_path_factory):
    """The demo's scene as three InterHand2.6M sequences (three units per stage), and a submission."""
    from handeval.shards import ShardDataset
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
    from handeval.zoo.baselines import write_baselines

    root = tmp_path_factory.mktemp("three")
    write_interhand26m(root / "raw", [InterHandSequence(demo_data.scene(), "test", i, f"s{i}") for i in range(3)])
    assert cli_quiet(["convert", "interhand26m", "--root", root / "raw", "--out", root / "gt", "--target-frames", "12"])
    subs = write_baselines(ShardDataset(root / "gt"), "test", root / "subs")
    return root / "raw", subs["oracle-noise"]


def cli_quiet(args) -> bool:
    from handeval.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args] + ["--json"])
    return exit_.value.code == 0


@pytest.mark.slow
def test_every_stage_writes_the_same_bytes_on_every_backend(three_sequences, object_meshes, tmp_path, capsys):
    raw, pred = three_sequences
    seen = {}
    for name, flags in EXECUTORS.items():
        out = tmp_path / name
        code, text, err = cli(["convert", "interhand26m", "--root", raw, "--out", out / "shards",
                               "--target-frames", "12", "--json", *flags], capsys)
        assert code == 0, err
        job = json.loads(text)["job"]
        assert job["units"] == 3 and job["done"] == 3 and job["failed"] == []
        code, text, err = cli(["labels", "all", out / "shards", "--objects", object_meshes, "--root", raw, "--json",
                               *flags], capsys)
        assert code == 0, err
        assert all(entry["job"]["units"] == 3 for entry in json.loads(text))
        code, text, err = cli(["score", "--gt", out / "shards", "--pred", pred, "--protocol", PROTOCOL,
                               "--allow-deviation", "--bootstrap", "50", "--out", out / "results" / "r.json", "--json",
                               *flags], capsys)
        assert code == 0, err
        assert json.loads(text)["job"]["units"] == 3
        seen[name] = outputs(out)
    assert seen["one"].keys() == seen["pool"].keys() == seen["dask"].keys()
    assert [k for k in seen["one"] if not seen["one"][k] == seen["pool"][k] == seen["dask"][k]] == []


KILL_HOOK = """
import os, signal
marker = os.environ.get("KILL_MARKER")
if marker:
    import handeval.shards.writer as w
    check = w._check_sorted
    def kill_once(rec, views):  # inside write_shard, with the shard's temporaries open
        if not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return check(rec, views)
    w._check_sorted = kill_once
"""


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["pool", "dask"])
def test_a_worker_killed_mid_shard_leaves_no_partial_file(three_sequences, tmp_path, capsys, monkeypatch, executor):
    raw, _ = three_sequences
    args = ["convert", "interhand26m", "--root", raw, "--target-frames", "12", "--json"]
    assert cli([*args, "--out", tmp_path / "clean"], capsys)[0] == 0
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_HOOK)
    # The workers start with the hook (the client already runs): the first to write a shard dies mid-write.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(hook), os.environ.get("PYTHONPATH")))))
    monkeypatch.setenv("KILL_MARKER", str(tmp_path / "killed"))
    code, text, err = cli([*args, "--out", tmp_path / "out", *EXECUTORS[executor]], capsys)
    assert code == 0, err
    job = json.loads(text)["job"]
    assert (tmp_path / "killed").exists() and job["retried"] >= 1 and job["failed"] == [] and job["done"] == 3
    assert temporaries(tmp_path / "out") == [] and outputs(tmp_path / "out") == outputs(tmp_path / "clean")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["pool", "dask"])
def test_a_corrupt_sequence_fails_its_unit_alone_or_is_recorded(native_files, tmp_path, capsys, executor):
    raw, _ = native_files("dexycb")
    shutil.copytree(raw, tmp_path / "raw")
    bad = "20200709-subject-01/20200709_140001/pose.npz"
    data = (tmp_path / "raw" / bad).read_bytes()
    (tmp_path / "raw" / bad).write_bytes(data[: len(data) // 2])
    args = ["convert", "dexycb", "--root", tmp_path / "raw", "--target-frames", "1", *EXECUTORS[executor]]
    code, _, err = cli([*args, "--out", tmp_path / "o"], capsys)
    message = user_error(code, err, bad)
    assert "--skip-bad" in message and "finished and kept" in err
    finished = [json.loads(p.read_text()) for p in (tmp_path / "o/meta/units/convert").glob("*.json")]
    assert sorted(r["status"] for r in finished) == ["done", "failed"]
    code, text, err = cli([*args, "--out", tmp_path / "skip", "--skip-bad", "--json"], capsys)
    assert code == 0, err
    skipped = json.loads(text)["splits"]["s0_train"]["skipped"]
    assert [(k["file"], "pose.npz" in k["reason"] or "corrupt" in k["reason"]) for k in skipped] == [(bad, True)]
    os.replace(tmp_path / "raw" / bad, tmp_path / "raw" / (bad + ".broken"))
    (tmp_path / "raw" / bad).write_bytes(data)  # fixed: the same command writes the failed shard alone
    code, text, _ = cli([*args, "--out", tmp_path / "o", "--json"], capsys)
    job = json.loads(text)["job"]
    assert code == 0 and (job["done"], job["skipped"]) == (1, 1)
