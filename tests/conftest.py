"""Shared fixtures: an isolated stand-in cache and MANO layers built once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test run builds the stand-in into its own cache and ignores the user's MANO dir."""
    cache = tmp_path_factory.mktemp("handeval-cache")
    old = {k: os.environ.get(k) for k in ("HANDEVAL_CACHE_DIR", "HANDEVAL_MANO_DIR")}
    os.environ["HANDEVAL_CACHE_DIR"] = str(cache)
    os.environ.pop("HANDEVAL_MANO_DIR", None)
    yield cache
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def standin_dir(_isolated_cache):
    from handeval.mano import ensure_standin

    return ensure_standin()


@pytest.fixture(scope="session")
def flat_layers(standin_dir):
    """Right and left layers: axis-angle, flat_hand_mean=True, left shapedirs fixed."""
    from handeval.mano import ManoConvention, load_mano

    conv = ManoConvention(flat_hand_mean=True, fix_left_shapedirs=True)
    return {side: load_mano(side, conv) for side in ("right", "left")}


@pytest.fixture(scope="session")
def demo(standin_dir, tmp_path_factory):
    """The demo pipeline on a small scene: shards with labels, baselines, results, leaderboard.
    Shared by the scoring and leaderboard tests; a test that changes a file copies it first."""
    from handeval.cli import main

    out = tmp_path_factory.mktemp("demo")
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--out", str(out), "--frames", "12", "--cameras", "3", "--json"])
    assert exit_.value.code == 0
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def converted_interhand(root, scene):
    """Write ``scene`` as InterHand2.6M sequence ``test/Capture0/s`` under root/raw; convert it into root/out."""
    from handeval.readers import open_reader
    from handeval.shards import ShardDataset
    from handeval.shards.convert import convert
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m

    write_interhand26m(root / "raw", [InterHandSequence(scene, "test", 0, "s")], images=False)
    convert(open_reader("interhand26m", root / "raw"), root / "out", progress=False)
    return ShardDataset(root / "out")


@pytest.fixture
def handeval(capsys):
    """Run the ``handeval`` command line in-process: ``(exit code, stdout, stderr)``."""
    from commandline import run

    return lambda *args: run(args, capsys)
