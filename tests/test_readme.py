"""The README's Python examples run, as printed, on the demo's output."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_on_the_demo_output(index, demo, tmp_path):
    (tmp_path / "handeval-demo").symlink_to(demo)  # the examples name the demo's default folder
    done = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_readmes_test_command():
    commands = re.findall(r"```bash\n(\(ldconfig.*?)\n```", README.read_text(), flags=re.S)
    assert len(commands) == 2 and commands[1].endswith("python -m pytest")
    assert commands[1] in (README.parent / ".ci" / "run").read_text()
