"""The README's Python examples run, as printed, on the demo's output."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
PYTHON = r"```python\n(.*?)```"
#: The "Python API" section: one script in several blocks, from converting a dataset to a leaderboard.
API_BLOCKS = re.findall(PYTHON, TEXT.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0], flags=re.S)
BLOCKS = [b for b in re.findall(PYTHON, TEXT, flags=re.S) if b not in API_BLOCKS]


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_on_the_demo_output(index, demo, tmp_path):
    (tmp_path / "handeval-demo").symlink_to(demo)  # the examples name the demo's default folder
    done = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_readmes_test_command():
    commands = re.findall(r"```bash\n(\(ldconfig.*?)\n```", TEXT, flags=re.S)
    assert len(commands) == 2 and commands[1].endswith("python -m pytest")
    assert commands[1] in (README.parent / ".ci" / "run").read_text()


def test_the_python_api_examples_run_in_order_on_a_small_converted_dataset(standin_dir, tmp_path):
    """From the native files of a small synthetic InterHand2.6M where the examples expect the demo's."""
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m
    from handeval.synth.scene import make_scene

    assert len(API_BLOCKS) >= 3
    scene = make_scene(seed=0, num_frames=6, num_cameras=2, image_size=(32, 24), render=False)
    write_interhand26m(tmp_path / "handeval-demo/raw/InterHand2.6M", [InterHandSequence(scene, "test", 0, "demo")],
                       images=False)
    done = subprocess.run([sys.executable, "-c", "\n".join(API_BLOCKS)], cwd=tmp_path, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "(6, 2, 21, 3)" in done.stdout
    for path in ("ih-demo/labels", "noise-5mm.parquet", "results/noise-10mm.json", "board/index.html"):
        assert (tmp_path / path).exists(), path
