"""The command line: help, demo, mano commands, and one-line errors without tracebacks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from commandline import run
from handeval.cli import main


@pytest.mark.parametrize("args", [[], ["demo"], ["mano"], ["mano", "import"], ["mano", "info"]])
def test_help_everywhere(args, capsys):
    code, out, _ = run(args + ["--help"], capsys)
    assert code == 0 and "Usage:" in out


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and "handeval, version" in out


def test_demo_writes_and_reports_outputs(demo_report):
    result = demo_report  # what `handeval demo --json` printed (the session's demo run)
    assert result["synthetic"] and result["synthetic_mano"]
    assert (result["frames"], result["cameras"]) == (12, 3)
    for path in result["outputs"].values():
        assert os.path.getsize(path) > 0
    with open(result["outputs"]["picture"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_mano_info_and_import(standin_dir, tmp_path, capsys):
    code, out, _ = run(["mano", "info", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["synthetic"] and info["left_shapedirs"] == "same-as-right"
    assert len(info["models"]["right"]["wrist_ring"]) == 16
    code, out, _ = run(["mano", "import", str(standin_dir), str(tmp_path / "m")], capsys)
    assert code == 0 and "MANO_RIGHT.npz" in out
    code, out, _ = run(["mano", "info", "--mano-dir", str(tmp_path / "m")], capsys)
    assert code == 0 and "SYNTHETIC" in out and "MANO_LEFT.npz" in out


def test_missing_mano_dir_is_one_clear_line(tmp_path, capsys):
    code, out, err = run(["mano", "info", "--mano-dir", str(tmp_path / "nope")], capsys)
    assert code == 2 and "Traceback" not in err
    assert "--mano-dir" in err and "HANDEVAL_MANO_DIR" in err and "handeval mano import" in err


def test_wrong_shape_file_message(standin_dir, tmp_path, capsys):
    from handeval.mano import read_model_file

    folder = tmp_path / "bad"
    folder.mkdir()
    for side in ("RIGHT", "LEFT"):
        arrays = dict(read_model_file(standin_dir / f"MANO_{side}.pkl").arrays)
        arrays["posedirs"] = np.zeros((778, 3, 134))
        np.savez(folder / f"MANO_{side}.npz", **arrays)
    code, _, err = run(["mano", "info", "--mano-dir", str(folder)], capsys)
    assert code == 2 and "'posedirs'" in err and "(778, 3, 135)" in err and "(778, 3, 134)" in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(Exception) as err:
        main(["mano", "info", "--mano-dir", str(tmp_path / "nope"), "--debug"])
    assert "does not exist" in str(err.value)


def test_console_script_end_to_end(tmp_path):
    """The installed `handeval` entry point, as a user runs it."""
    exe = os.path.join(os.path.dirname(sys.executable), "handeval")
    bad = subprocess.run([exe, "mano", "import", str(tmp_path / "x"), str(tmp_path / "y")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("Error:") and "Traceback" not in bad.stderr
