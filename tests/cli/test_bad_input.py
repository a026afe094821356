"""Broken copies of the demo's data (from the factory), driven through the command line.

Each case checks the exit code (README, "Exit codes"), that one message names the culprit,
that no traceback is shown, and that nothing was lost or left half-written.
"""

import os
import shutil
import stat

import pytest
from commandline import user_error

from handeval.util.errors import ExitCode


def _copy(shards, tmp_path):
    return shutil.copytree(shards, tmp_path / shards.name)


def _shard(root, kind="views"):
    return sorted((root / "data").glob(f"*/{kind}-*.parquet"))[0]


def test_a_flipped_byte_in_a_shard_is_named_not_scored(labelled_shards, baseline_submissions, tmp_path, handeval):
    gt = _copy(labelled_shards("hic"), tmp_path)
    shard = _shard(gt)
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    code, _, err = handeval("score", "--gt", gt, "--pred", baseline_submissions("hic")["oracle-noise"],
                            "--protocol", "hic/interwild", "--out", tmp_path / "r.json")
    user_error(code, err, str(shard))
    assert "is corrupt" in err and not (tmp_path / "r.json").exists()


def test_a_truncated_shard_is_named_by_labels(labelled_shards, tmp_path, handeval):
    gt = _copy(labelled_shards("ho3d"), tmp_path)
    shard = _shard(gt)
    shard.write_bytes(shard.read_bytes()[:1000])
    before = (gt / "meta" / "info.json").read_bytes()
    code, _, err = handeval("labels", "occlusion", gt)
    user_error(code, err, str(shard))
    assert (gt / "meta" / "info.json").read_bytes() == before  # the manifest is untouched


def test_a_missing_label_file_is_named_by_labels_summary(labelled_shards, tmp_path, handeval):
    gt = _copy(labelled_shards("hic"), tmp_path)
    label = sorted((gt / "labels" / "penetration").rglob("*.parquet"))[0]
    label.unlink()
    code, _, err = handeval("labels", "summary", gt)
    user_error(code, err, str(label))
    assert "handeval labels penetration" in err  # the fix


@pytest.mark.parametrize("where", ["under-a-file", "in-proc"])
def test_an_unusable_out_is_a_user_error(labelled_shards, baseline_submissions, tmp_path, handeval, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "r.json" if where == "under-a-file" else "/proc/handeval-nope/r.json"
    code, _, err = handeval("score", "--gt", labelled_shards("hic"), "--pred",
                            baseline_submissions("hic")["oracle-noise"], "--protocol", "hic/interwild", "--out", out)
    user_error(code, err, "--out")
    assert blocker.read_text() == "x"


def test_a_non_npz_submission_is_never_unpickled(labelled_shards, tmp_path, handeval):
    fake = tmp_path / "sub.npz"
    fake.write_text('{"joints": []}')
    code, _, err = handeval("check-submission", "--gt", labelled_shards("hic"), "--pred", fake)
    user_error(code, err, str(fake))


def test_check_submission_picks_the_split_as_score_does(labelled_shards, baseline_submissions, handeval):
    code, out, _ = handeval("check-submission", "--gt", labelled_shards("ho3d"), "--pred",
                            baseline_submissions("ho3d")["oracle-noise"])
    assert code == ExitCode.OK and "against evaluation" in out  # HO3D has train and evaluation


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_honour_the_umask(labelled_shards, baseline_submissions, tmp_path, handeval, umask, mode):
    old = os.umask(umask)
    try:
        code, _, _ = handeval("score", "--gt", labelled_shards("hic"), "--pred",
                              baseline_submissions("hic")["oracle-noise"], "--protocol", "hic/interwild",
                              "--out", tmp_path / "r.json", "--bootstrap", "0")
    finally:
        os.umask(old)
    assert code == ExitCode.OK
    for f in (tmp_path / "r.json", tmp_path / "r.errors.parquet"):
        assert stat.S_IMODE(f.stat().st_mode) == mode, f


def test_a_damaged_cached_stand_in_is_rebuilt(tmp_path):
    from handeval.mano import ensure_standin, read_model_file

    folder = ensure_standin(tmp_path / "standin")
    right = folder / "MANO_RIGHT.pkl"
    good = right.read_bytes()
    right.write_bytes(good[: len(good) // 3])
    assert ensure_standin(folder) == folder and right.read_bytes() == good
    assert read_model_file(right).synthetic


def test_labels_and_results_are_byte_identical_on_rerun(labelled_shards, native_files, object_meshes,
                                                        baseline_submissions, tmp_path, handeval):
    gt = _copy(labelled_shards("hic"), tmp_path)
    files = sorted((gt / "labels").rglob("*.parquet"))
    before = {f: f.read_bytes() for f in files} | {gt / "meta/info.json": (gt / "meta/info.json").read_bytes()}
    models = shutil.copytree(object_meshes, tmp_path / "elsewhere" / "models")
    raw = shutil.copytree(native_files("hic")[0], tmp_path / "elsewhere" / "HIC")
    assert handeval("labels", "all", gt, "--objects", models, "--root", raw)[0] == ExitCode.OK  # copies elsewhere
    assert {f: f.read_bytes() for f in before} == before
    args = ("score", "--gt", gt, "--pred", baseline_submissions("hic")["oracle-noise"], "--protocol",
            "hic/interwild", "--bootstrap", "50")
    assert handeval(*args, "--out", tmp_path / "a" / "r.json")[0] == ExitCode.OK
    assert handeval(*args, "--out", tmp_path / "b" / "r.json")[0] == ExitCode.OK
    for name in ("r.json", "r.errors.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_manifest_without_its_sections_is_named(tmp_path, handeval):
    (tmp_path / "ds" / "meta").mkdir(parents=True)
    (tmp_path / "ds" / "meta" / "info.json").write_text('{"format_version": "2.0"}')
    code, _, err = handeval("info", tmp_path / "ds")
    user_error(code, err, str(tmp_path / "ds" / "meta" / "info.json"))
    code, out, _ = handeval("validate", tmp_path / "ds")
    assert code == ExitCode.PROBLEMS and "[manifest]" in out


def test_a_result_of_an_older_schema_says_how_to_migrate(baseline_results, tmp_path, handeval):
    import json

    result = baseline_results("hic/interwild") / "hic-oracle-noise.json"
    old = json.loads(result.read_text()) | {"schema": "handeval-result/1"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    code, _, err = handeval("regroup", tmp_path / "old.json", "--by", "sequence")
    user_error(code, err, "handeval-result/1")
    assert "Score the submission again" in err


@pytest.mark.parametrize("command", ["score", "check-submission"])
def test_a_protocol_of_another_dataset_is_named_first(labelled_shards, baseline_submissions, tmp_path, handeval,
                                                      command):
    args = [command, "--gt", labelled_shards("ho3d"), "--pred", baseline_submissions("ho3d")["oracle-noise"],
            "--protocol", "interhand26m-5fps-ih/dir"] + (["--out", tmp_path / "r.json"] if command == "score" else [])
    code, _, err = handeval(*args)
    user_error(code, err, "protocol interhand26m-5fps-ih/dir scores InterHand2.6M")


def test_a_missing_image_is_a_null_statistic_not_a_stop(interhand_shards, native_files, baseline_submissions, tmp_path,
                                                         handeval):
    gt = _copy(interhand_shards, tmp_path)
    raw = shutil.copytree(native_files("interhand26m")[0], tmp_path / "raw")
    sorted(raw.rglob("*.jpg"))[0].unlink()
    code, _, err = handeval("labels", "images", gt, "--root", raw)
    assert code == ExitCode.OK, err
    code, _, err = handeval("score", "--gt", gt, "--pred", baseline_submissions("interhand26m")["oracle-noise"],
                            "--protocol", "interhand26m-5fps-ih/dir", "--out", tmp_path / "r.json", "--bootstrap", "0",
                            "--allow-deviation")
    assert code == ExitCode.OK, err


def test_validate_on_a_folder_that_is_no_dataset_is_a_user_error(tmp_path, handeval):
    code, _, err = handeval("validate", tmp_path / "nope")
    user_error(code, err, "does not exist")


def test_a_plot_path_under_a_file_is_refused_before_plotting(labelled_shards, tmp_path, handeval):
    (tmp_path / "afile").write_text("")
    code, _, err = handeval("labels", "summary", labelled_shards("hic"), "--plot", tmp_path / "afile" / "x.png")
    user_error(code, err, "--plot")
    assert "is a file, not a folder" in err
