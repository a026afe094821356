"""The zoo's registry: built-in entries are well formed, and a third-party package's entries arrive
through the ``handeval.models`` entry-point group (the test installs one with pip)."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve
from handeval.zoo.entry import BOX_SOURCES, KINDS, WEIGHT_KINDS
from handeval.zoo.registry import BUILTIN, entries, get_entry

README = Path(__file__).resolve().parents[2] / "README.md"
#: The README's example plug-in, installed here as its users would.
PLUGIN = re.search(r"### Plug in your model.*?```python\n(.*?)```", README.read_text(), flags=re.S).group(1)


def test_builtin_entries_are_well_formed():
    names = [e.name for e in BUILTIN]
    assert len(set(names)) == len(names)
    for e in BUILTIN:
        assert e.kind in KINDS and e.inputs.box in BOX_SOURCES and e.weights.kind in WEIGHT_KINDS
        module, _, attribute = e.build.partition(":")
        assert module.startswith("handeval.zoo.") and attribute
        if e.kind == "baseline":
            assert e.oracle, f"{e.name}: the ground truth enters every baseline"
        if e.kind == "filter":
            assert e.causal is not None, f"{e.name}: a temporal method says whether it is causal"
        json.dumps(e.to_dict())
    assert "oracle" in get_entry("oracle-noise").flags()
    assert get_entry("one-euro").flags() == ["causal"] and get_entry("savitzky-golay").flags() == ["non-causal"]


@pytest.mark.parametrize("name", [e.name for e in BUILTIN])
def test_every_builtin_entry_resolves(name):
    assert callable(resolve(get_entry(name).build))


def test_an_unknown_entry_is_refused_with_a_suggestion():
    with pytest.raises(HandevalError, match="did you mean 'tiny'"):
        get_entry("tinny")


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A third-party package declaring an entry point in ``handeval.models``, pip-installed into a folder."""
    src = tmp_path_factory.mktemp("plugin-src")
    (src / "my_hands.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "my-hands"
        version = "0.1"
        [project.entry-points."handeval.models"]
        my-hands = "my_hands:ENTRY"
        [tool.setuptools]
        py-modules = ["my_hands"]
        """))
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(src)], check=True)
    return target


def test_a_plugin_installed_with_pip_is_listed_and_runs(plugin, demo_data, tmp_path, monkeypatch):
    env = {**os.environ, "PYTHONPATH": str(plugin)}
    listed = subprocess.run([str(Path(sys.executable).with_name("handeval")), "zoo", "list", "--json"], env=env,
                            capture_output=True, text=True, check=True)
    names = {e["name"]: e for e in json.loads(listed.stdout)}
    assert "my-hands" in names and names["my-hands"]["weights"]["kind"] == "checkpoint"

    monkeypatch.syspath_prepend(str(plugin))
    from handeval.scoring.submissions import read_submission
    from handeval.zoo.run import run_entry

    raw, _ = demo_data.native("interhand26m")
    out = tmp_path / "my-hands.parquet"
    with pytest.raises(HandevalError, match="--checkpoint"):
        run_entry("my-hands", demo_data.shards("interhand26m"), "test", out, raw, progress=False)
    run_entry("my-hands", demo_data.shards("interhand26m"), "test", out, raw, random_weights=True, batch=8, workers=0,
              progress=False)
    sub = read_submission(out)
    assert sub.provenance["entry"] == "my-hands" and {"GT root", "random weights"} <= set(sub.provenance["flags"])


def test_a_plugin_that_reuses_a_name_is_refused(plugin, tmp_path, monkeypatch):
    clash = tmp_path / "clash"
    (clash / "clash-0.1.dist-info").mkdir(parents=True)
    (clash / "clash-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: clash\nVersion: 0.1\n")
    (clash / "clash-0.1.dist-info" / "entry_points.txt").write_text(
        "[handeval.models]\ntiny = handeval.zoo.registry:BUILTIN\n")
    monkeypatch.syspath_prepend(str(clash))
    with pytest.raises(HandevalError, match="exists already"):
        entries()
