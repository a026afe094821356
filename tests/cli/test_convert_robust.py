"""`handeval convert` under bad input and faults (issue 10), driven through the command line on
broken copies of real-layout files: exit codes, one message naming the culprit, no traceback,
nothing lost or half-written."""

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from commandline import run as cli
from commandline import user_error

from handeval.synth.native import write_native
from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
from handeval.synth.scene import make_scene

EXE = os.path.join(os.path.dirname(sys.executable), "handeval")


@pytest.fixture(scope="module")
def native(standin_dir, tmp_path_factory):
    """The four datasets in their native layouts, images included: {dataset: (root, variant)}."""
    scene = make_scene(seed=3, num_frames=4, num_cameras=2, image_size=(24, 18), objects=("box",))
    return write_native(scene, tmp_path_factory.mktemp("native"))


@pytest.fixture(scope="module")
def many(standin_dir, tmp_path_factory):
    """InterHand2.6M with six sequences: six shards at --target-frames 1."""
    scene = make_scene(seed=1, num_frames=3, num_cameras=2, image_size=(24, 18))
    root = tmp_path_factory.mktemp("many") / "raw"
    write_interhand26m(root, [InterHandSequence(scene, "test", i, f"s{i}") for i in range(6)])
    return root


def copy(native, dataset, tmp_path):
    root, variant = native[dataset]
    shutil.copytree(root, tmp_path / "raw")
    return tmp_path / "raw", variant


def convert_args(dataset, raw, variant, out, *flags):
    return ["convert", dataset, "--root", raw, "--out", out, *(["--variant", variant] if variant else []), *flags]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file convert writes, but its log (which says when and where each shard was written)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "logs" not in p.relative_to(folder).parts}


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


class _Pwn:
    def __reduce__(self):
        return os.system, ("touch pwned",)


# A. One bad source file: named, a user error, skipped and recorded with --skip-bad.

PER_SEQUENCE = {
    "dexycb-labels": ("dexycb", "20200709-subject-01/20200709_140000/836212060125/labels_000002.npz", truncate),
    "dexycb-pose": ("dexycb", "20200709-subject-01/20200709_140001/pose.npz", truncate),
    "dexycb-meta": ("dexycb", "20200709-subject-01/20200709_140000/meta.yml", truncate),  # read when planning
    "ho3d-meta": ("ho3d", "train/SM1/meta/0002.pkl", truncate),
    "ho3d-meta-code": ("ho3d", "train/SM1/meta/0001.pkl", lambda p: p.write_bytes(pickle.dumps(_Pwn(), protocol=2))),
    "hic-mesh": ("hic", "IJCV16___Results_MANO___parms_for___joints21/"
                        "IJCV16___fakeGT___IJCV___01___Model_Hand_R___ncomps45/002.ply", truncate),
    "hic-fit": ("hic", "IJCV16___Results_MANO___parms_for___joints21/"
                       "IJCV16___fakeGT___IJCV___01___Model_Hand_L___ncomps45/001.pkl", truncate),
    "hic-2d": ("hic", "01/1/joints_2D_GT/000.txt", lambda p: p.write_text("0\t1\n")),
}


@pytest.mark.parametrize("case", sorted(PER_SEQUENCE))
def test_a_bad_sequence_file_is_named_and_skipped_with_skip_bad(native, tmp_path, capsys, monkeypatch, case):
    dataset, rel, damage = PER_SEQUENCE[case]
    raw, variant = copy(native, dataset, tmp_path)
    clean = json.loads(_converted(native, dataset, tmp_path / "clean", capsys))
    damage(raw / rel)
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(convert_args(dataset, raw, variant, tmp_path / "o1"), capsys)
    user_error(code, err, str(raw / rel))
    assert "--skip-bad" in err
    assert not (tmp_path / "pwned").exists()
    # No manifest; the other splits' shards are kept for the rerun, or nothing is left when none finished.
    assert not (tmp_path / "o1/meta/info.json").exists()
    assert ("finished and kept" in err) == (tmp_path / "o1/data").is_dir()
    code, out, _ = cli(convert_args(dataset, raw, variant, tmp_path / "o2", "--skip-bad"), capsys)
    assert code == 0 and rel in out and "1 sequence(s) skipped" in out
    info = json.loads((tmp_path / "o2/meta/info.json").read_text())
    skipped = [k for s in info["splits"].values() for k in s["skipped"]]
    assert [k["file"] for k in skipped] == [rel] and str(tmp_path) not in json.dumps(info)
    converted = sum(s["sequences"] for s in info["splits"].values())
    assert converted == sum(s["sequences"] for s in clean["splits"].values()) - 1
    code, out, _ = cli(["info", tmp_path / "o2"], capsys)
    assert code == 0 and rel in out
    code, out, _ = cli(["validate", tmp_path / "o2"], capsys)
    assert code == 1 and re.search(rf"PROBLEM \[sources\] .*{re.escape(rel)}", out)


def _converted(native, dataset, out, capsys) -> str:
    root, variant = native[dataset]
    code, out_text, _ = cli(convert_args(dataset, root, variant, out) + ["--json"], capsys)
    assert code == 0
    return (out / "meta" / "info.json").read_text()


SPLIT_LEVEL = {  # files every sequence of the split needs: named, and --skip-bad cannot skip them
    "interhand-data": ("interhand26m", "annotations/test/InterHand2.6M_test_data.json", truncate),
    "interhand-joint3d": ("interhand26m", "annotations/test/InterHand2.6M_test_joint_3d.json", truncate),
    "interhand-mano": ("interhand26m", "annotations/test/InterHand2.6M_test_MANO_NeuralAnnot.json", truncate),
    "interhand-camera": ("interhand26m", "annotations/test/InterHand2.6M_test_camera.json", truncate),
    "hic-index": ("hic", "HIC.json", truncate),
    "ho3d-verts": ("ho3d", "evaluation_verts.json", truncate),
    "ho3d-list": ("ho3d", "evaluation.txt", lambda p: p.write_text("AP10\n")),
}


@pytest.mark.parametrize("case", sorted(SPLIT_LEVEL))
def test_a_bad_split_file_is_named(native, tmp_path, capsys, case):
    dataset, rel, damage = SPLIT_LEVEL[case]
    raw, variant = copy(native, dataset, tmp_path)
    damage(raw / rel)
    for flags in ([], ["--skip-bad"]):
        code, _, err = cli(convert_args(dataset, raw, variant, tmp_path / f"o{len(flags)}", *flags), capsys)
        user_error(code, err, str(raw / rel))
    if case == "ho3d-verts":  # the vertices file, not the joints file beside it
        assert "evaluation_xyz.json" not in err


MISSING = {  # the image (or folder) removed, as the manifest records it
    "interhand26m": "images/test/Capture0/0000_synthetic_demo/cam400273/image112.jpg",
    "hic": "01/1/rgb/002.png",
    "hic-raw": "01/1/rgb/002.png",  # without HIC.json: every frame with an image or a fit
    "dexycb": "20200709-subject-01/20200709_140001/839512060362/color_000003.jpg",
    "ho3d": "evaluation/AP10/rgb/",
}


@pytest.mark.parametrize("case", sorted(MISSING))
def test_a_missing_images_are_counted_recorded_and_validated(native, tmp_path, capsys, case):
    dataset = case.split("-")[0]
    rel = MISSING[case]
    raw, variant = copy(native, dataset, tmp_path)
    if case == "hic-raw":
        (raw / "HIC.json").unlink()
    clean = json.loads(_converted({dataset: (raw, variant)}, dataset, tmp_path / "clean", capsys))
    gone = tmp_path / "gone"
    shutil.move(raw / rel, gone)
    code, out, _ = cli(convert_args(dataset, raw, variant, tmp_path / "o"), capsys)
    assert code == 0 and f"missing: {rel}" in out and "source file(s) missing" in out
    info = json.loads((tmp_path / "o/meta/info.json").read_text())
    recorded = [m for s in info["splits"].values() for m in s["missing_files"]]
    assert [m["path"] for m in recorded] == [rel] and recorded[0]["files"] >= 1
    # No frame or view is dropped for a missing image.
    for split, meta in clean["splits"].items():
        assert (info["splits"][split]["frames"], info["splits"][split]["views"]) == (meta["frames"], meta["views"])
    code, out, _ = cli(["info", tmp_path / "o"], capsys)
    assert code == 0 and rel in out
    code, out, _ = cli(["validate", tmp_path / "o"], capsys)
    assert code == 1 and re.search(rf"PROBLEM \[sources\] \w+: {re.escape(rel)}: .*missing at conversion", out)
    code, out, _ = cli(["validate", tmp_path / "o", "--root", raw], capsys)
    assert code == 1 and f"{rel}: " in out and "missing from" in out and "images" in out.splitlines()[-1]
    shutil.move(gone, raw / rel)
    code, out, _ = cli(["validate", tmp_path / "o", "--root", raw], capsys)
    assert code == 1 and "present in" in out and "convert again" in out
    code, out, _ = cli(["validate", tmp_path / "clean", "--root", raw], capsys)
    assert code == 0


# B. Identity is content: the same source gives the same bytes wherever it lies or goes.

def test_b_two_folders_give_byte_identical_files(native, tmp_path, capsys, monkeypatch):
    raw, variant = copy(native, "interhand26m", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli(convert_args("interhand26m", raw, variant, "one"), capsys)[0] == 0
    assert cli(convert_args("interhand26m", "raw", variant, str(tmp_path / "two") + "/", "--workers", "2"),
               capsys)[0] == 0
    assert cli(convert_args("interhand26m", "raw", variant, "three", "--executor", "dask", "--workers", "2"),
               capsys)[0] == 0
    one, two, three = tree(tmp_path / "one"), tree(tmp_path / "two"), tree(tmp_path / "three")
    assert one.keys() == two.keys() == three.keys() and all(one[k] == two[k] == three[k] for k in one)
    info = json.loads(one["meta/info.json"])
    assert str(tmp_path) not in one["meta/info.json"].decode() and "command" not in info["converter"]
    assert "source_root" not in info and info["sources"]["test"][0]["path"].startswith("annotations/test/")
    assert info["options"] == {"dataset": "interhand26m", "variant": "v1.0:5fps:H+M", "splits": ["test"],
                               "target_frames": 100000, "chunk_frames": 10000}
    # An old major version is refused with a command built from the options, paths left to fill in.
    info["format_version"] = "1.0"
    (tmp_path / "one/meta/info.json").write_text(json.dumps(info))
    code, _, err = cli(["info", "one"], capsys)
    assert code == 2 and ("handeval convert interhand26m --root SOURCE_ROOT --out OUT_DIR --variant v1.0:5fps:H+M "
                          "--split test --target-frames 100000 --chunk-frames 10000") in err


def test_b_image_labels_take_the_source_root(native, tmp_path, capsys):
    raw, variant = copy(native, "interhand26m", tmp_path)
    assert cli(convert_args("interhand26m", raw, variant, tmp_path / "o"), capsys)[0] == 0
    code, _, err = cli(["labels", "images", tmp_path / "o"], capsys)
    assert code == 2 and "--root" in err and "Traceback" not in err
    code, _, err = cli(["labels", "images", tmp_path / "o", "--root", tmp_path / "nowhere"], capsys)
    assert code == 2 and "nowhere" in err
    code, out, _ = cli(["labels", "images", tmp_path / "o", "--root", raw, "--json"], capsys)
    assert code == 0 and json.loads(out)["rows"] > 0


# C. Outputs: an existing conversion is never replaced silently; stray files are reported.

def test_c_existing_output_is_resumed_with_its_options_refused_otherwise(native, tmp_path, capsys):
    raw, variant = copy(native, "hic", tmp_path)
    dex, _ = copy(native, "dexycb", tmp_path / "d")
    out = tmp_path / "o"
    assert cli(convert_args("hic", raw, variant, out), capsys)[0] == 0
    before = tree(out)
    code, _, err = cli(convert_args("hic", raw, variant, out), capsys)  # --resume is the default
    assert code == 0 and "nothing left to do" in err and tree(out) == before
    code, _, err = cli(convert_args("hic", raw, variant, out, "--no-resume"), capsys)
    assert code == 2 and str(out) in err and "already holds a converted HIC" in err and "--overwrite" in err
    code, _, err = cli(convert_args("dexycb", dex, None, out), capsys)
    assert code == 2 and "other options" in err and "dataset hic there, dexycb asked" in err
    code, _, err = cli(convert_args("hic", raw, variant, out, "--target-frames", "7"), capsys)
    assert code == 2 and "target_frames 100000 there, 7 asked" in err
    code, _, err = cli(convert_args("hic", raw, variant, out, "--resume"), capsys)
    assert code == 0 and "nothing left to do" in err and tree(out) == before
    code, _, _ = cli(convert_args("dexycb", dex, None, out, "--overwrite"), capsys)
    assert code == 0 and json.loads((out / "meta/info.json").read_text())["dataset"]["name"] == "Dex-YCB"
    assert not (out / "data/test").exists()  # nothing of the HIC conversion is left
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, _, err = cli(convert_args("hic", raw, variant, foreign, "--overwrite"), capsys)
    assert code == 2 and "not empty" in err and "notes.txt" in err and (foreign / "notes.txt").read_text() == "keep me"


def test_c_validate_reports_files_convert_did_not_write(native, tmp_path, capsys):
    raw, variant = copy(native, "interhand26m", tmp_path)
    out = tmp_path / "o"
    assert cli(convert_args("interhand26m", raw, variant, out), capsys)[0] == 0
    for command in (["labels", "subsets", out], ["labels", "summary", out]):  # what `labels` writes is expected
        assert cli(command, capsys)[0] == 0
    assert cli(["validate", out], capsys)[0] == 0
    (out / "notes.txt").write_text("x")
    (out / "data/test/.frames-00000.parquet.k2j4h5g6.parquet").write_bytes(b"half")
    (out / "labels/subsets/test/extra.parquet").write_bytes(b"x")
    code, out_text, _ = cli(["validate", out], capsys)
    flagged = re.findall(r"PROBLEM \[files\] (\S+):", out_text)
    assert code == 1 and flagged == ["data/test/.frames-00000.parquet.k2j4h5g6.parquet",
                                     "labels/subsets/test/extra.parquet", "notes.txt"]


# D. Output paths that cannot be written are user errors, not internal ones.

def test_d_unwritable_out_is_a_user_error(native, tmp_path, capsys):
    raw, variant = copy(native, "hic", tmp_path)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = cli(convert_args("hic", raw, variant, blocker / "out"), capsys)
    assert code == 2 and f"{blocker} is a file" in err and "Traceback" not in err and "Internal" not in err
    code, _, err = cli(convert_args("hic", raw, variant, blocker), capsys)
    assert code == 2 and "is a file, not a folder" in err
    if os.geteuid() == 0:  # permissions do not stop root; /proc refuses everyone
        locked = Path("/proc/self/handeval-out")
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        locked = tmp_path / "ro" / "out"
    code, _, err = cli(convert_args("hic", raw, variant, locked), capsys)
    assert code == 2 and str(locked.parent) in err and "choose a folder you can write to" in err
    assert "Internal" not in err and blocker.read_text() == "x"


# E. Faults: kill -9, Ctrl-C, resume.

# Makes every process that starts with it on PYTHONPATH (the client, and the workers it spawns) write
# each shard from index SLOW_FROM and then sleep before the unit is recorded, so that a test can
# interrupt the run while workers are busy.
SLOW_HOOK = """
import os, time
if os.environ.get("SLOW_FROM"):
    import handeval.shards.convert as c
    write = c.write_shard
    def slow(root, shard, *a, **k):
        out = write(root, shard, *a, **k)
        if shard.index >= int(os.environ["SLOW_FROM"]):
            time.sleep(60)
        return out
    c.write_shard = slow
"""


@pytest.fixture
def slow_convert(tmp_path_factory):
    """Start a slowed `handeval convert` in its own process group; whatever of it is left is killed after."""
    hook = tmp_path_factory.mktemp("hook")
    (hook / "sitecustomize.py").write_text(SLOW_HOOK)
    started = []

    def start(raw, out, workers, slow_from=1, executor="local"):
        args = ["convert", "interhand26m", "--root", str(raw), "--out", str(out), "--target-frames", "1",
                "--workers", str(workers), "--executor", executor]
        env = {**os.environ, "SLOW_FROM": str(slow_from),
               "PYTHONPATH": os.pathsep.join(filter(None, (str(hook), os.environ.get("PYTHONPATH"))))}
        proc = subprocess.Popen([EXE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.communicate()


def _journaled(out: Path) -> list[dict]:
    """The shards whose units the runner recorded as finished."""
    records = [json.loads(p.read_text()) for p in sorted((out / "meta/units/convert").glob("*.json"))]
    return [r["result"]["entry"] for r in records if r["status"] == "done"]


def _on_disk(out: Path) -> set[int]:
    return {int(p.stem.split("-")[1]) for p in (out / "data/test").glob("frames-*.parquet")}


def _wait_for(predicate, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline and not predicate():
        time.sleep(0.1)
    assert predicate()


def _group(pgid: int) -> list[int]:
    """Live processes of a process group, from /proc (zombies are dead)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _count_writes(monkeypatch) -> list[int]:
    """The shard indexes this process writes from now on (the resumes below run their units here)."""
    import handeval.shards.convert as c

    written, write = [], c.write_shard
    monkeypatch.setattr(c, "write_shard", lambda root, shard, *a, **k: written.append(shard.index) or
                        write(root, shard, *a, **k))
    return written


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_e_kill9_leaves_no_worker_and_resume_equals_a_clean_run(many, tmp_path, capsys, monkeypatch, slow_convert,
                                                                executor):
    """The client killed mid-job: its workers (a local pool, or a Dask LocalCluster's) die with it, and the
    same command completes the job with 0 duplicate and 0 missing shards."""
    proc = slow_convert(many, tmp_path / "part", workers=2, executor=executor)
    # shard 0 recorded; 1 and 2 written and sleeping in the workers before their records
    _wait_for(lambda: len(_journaled(tmp_path / "part")) >= 1 and len(_on_disk(tmp_path / "part")) >= 3)
    assert len(_group(proc.pid)) >= 3  # the parent and its two workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_for(lambda: not _group(proc.pid), seconds=5)  # the workers died with their parent
    done = {e["index"] for e in _journaled(tmp_path / "part")}
    time.sleep(1)
    assert {e["index"] for e in _journaled(tmp_path / "part")} == done  # no orphan wrote more
    written = _count_writes(monkeypatch)
    code, _, _ = cli(["convert", "interhand26m", "--root", many, "--out", tmp_path / "part", "--target-frames", "1",
                      "--json"], capsys)
    assert code == 0 and sorted(written) == sorted(set(range(6)) - done)  # 0 duplicate, 0 missing
    monkeypatch.undo()
    code, _, _ = cli(["convert", "interhand26m", "--root", many, "--out", tmp_path / "clean", "--target-frames", "1"],
                     capsys)
    assert code == 0 and tree(tmp_path / "part") == tree(tmp_path / "clean")


@pytest.mark.parametrize("workers", [1, 2])
def test_e_ctrl_c_keeps_every_finished_shard_and_resume_redoes_none(many, tmp_path, capsys, monkeypatch, workers,
                                                                    slow_convert):
    out = tmp_path / "part"
    proc = slow_convert(many, out, workers)
    _wait_for(lambda: len(_journaled(out)) >= 1 and len(_on_disk(out)) >= (3 if workers == 2 else 2))
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "run the same command again" in err and "Traceback" not in err
    assert re.search(r"(^|[\n\r])Interrupted:", err)
    journaled = {e["index"] for e in _journaled(out)}
    # A shard whose files were in place before its unit was recorded is written again, with the same bytes.
    assert journaled <= _on_disk(out) and not list((out / "data").rglob(".*"))
    written = _count_writes(monkeypatch)
    code, _, _ = cli(["convert", "interhand26m", "--root", many, "--out", out, "--target-frames", "1"], capsys)
    assert code == 0 and sorted(written) == sorted(set(range(6)) - journaled)
    monkeypatch.undo()
    assert cli(["convert", "interhand26m", "--root", many, "--out", tmp_path / "clean", "--target-frames", "1"],
               capsys)[0] == 0
    assert tree(out) == tree(tmp_path / "clean")


def test_e_resume_never_parses_the_source_again(many, tmp_path, capsys, monkeypatch, slow_convert):
    """The annotation index written when planning serves the resume: data.json is parsed once, unless
    the index is lost; a changed source is refused by its checksum."""
    import handeval.readers.interhand26m as ih
    import handeval.shards.convert as c

    out = tmp_path / "part"
    args = ["convert", "interhand26m", "--root", many, "--out", out, "--target-frames", "1"]

    def no_manifest(*a, **k):
        raise KeyboardInterrupt  # interrupted once every shard is written, before the manifest

    monkeypatch.setattr(c, "write_manifest", no_manifest)
    assert cli(args, capsys)[0] == 130
    monkeypatch.undo()
    parse = ih._parse_data
    monkeypatch.setattr(ih, "_parse_data", lambda *a, **k: pytest.fail("data.json parsed again"))
    assert cli(args, capsys)[0] == 0
    clean = tmp_path / "clean"
    monkeypatch.setattr(ih, "_parse_data", parse)
    assert cli(["convert", "interhand26m", "--root", many, "--out", clean, "--target-frames", "1"], capsys)[0] == 0
    assert tree(out) == tree(clean) and not (out / "meta/index").exists() and not (out / "meta/units").exists()
    # With work left, too: killed while shard 2 sleeps, resumed from the index.
    shutil.rmtree(out)
    proc = slow_convert(many, out, workers=1, slow_from=2)
    _wait_for(lambda: len(_journaled(out)) >= 2 and len(_on_disk(out)) >= 3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    monkeypatch.setattr(ih, "_parse_data", lambda *a, **k: pytest.fail("data.json parsed again"))
    code, _, err = cli(args, capsys)
    assert code == 0 and tree(out) == tree(clean)
    # An index lost with the machine's scratch is rebuilt, saying so; a changed source is refused.
    monkeypatch.setattr(ih, "_parse_data", parse)
    shutil.rmtree(out)
    proc = slow_convert(many, out, workers=1, slow_from=2)
    _wait_for(lambda: len(_journaled(out)) >= 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    shutil.rmtree(out / "meta/index")
    code, _, err = cli(args, capsys)
    assert code == 0 and "annotation index" in err and "parsing the source again" in err and tree(out) == tree(clean)
    shutil.rmtree(out)
    proc = slow_convert(many, out, workers=1, slow_from=2)
    _wait_for(lambda: len(_journaled(out)) >= 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    changed = tmp_path / "changed"
    shutil.copytree(many, changed)
    camera = changed / "annotations/test/InterHand2.6M_test_camera.json"
    camera.write_text(camera.read_text() + " ")
    code, _, err = cli(["convert", "interhand26m", "--root", changed, "--out", out, "--target-frames", "1"], capsys)
    user_error(code, err, "changed since the interrupted conversion")


# F. Help and progress.

def test_f_help_names_each_datasets_default_splits(capsys):
    code, out, _ = cli(["convert", "--help"], capsys)
    text = " ".join(out.split())
    assert code == 0
    for words in ("interhand26m every split present", "hic test", "dexycb the S0 setup", "ho3d train and evaluation"):
        assert words in text


def test_f_data_json_progress_counts_bytes(native, monkeypatch):
    import handeval.readers.interhand26m as ih

    seen = {}

    class Bar(ih.tqdm):
        def close(self):
            seen[self.desc] = (self.n, self.total)
            super().close()

    monkeypatch.setattr(ih, "tqdm", Bar)
    root, _ = native["interhand26m"]
    reader = ih.InterHand26M(root, progress=True)
    reader.sequence_lengths("test")
    for kind in ("data", "joint_3d", "MANO_NeuralAnnot"):  # each file streamed once, every byte counted
        path = root / f"annotations/test/InterHand2.6M_test_{kind}.json"
        assert seen[path.name] == (path.stat().st_size,) * 2


def test_console_script_reports_a_bad_file_in_one_line(native, tmp_path):
    raw, _ = copy(native, "dexycb", tmp_path)
    truncate(raw / "20200709-subject-01/20200709_140000/pose.npz")
    r = subprocess.run([EXE, "convert", "dexycb", "--root", str(raw), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "pose.npz" in r.stderr
