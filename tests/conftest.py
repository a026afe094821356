"""Shared fixtures: an isolated stand-in cache, MANO layers, the demo's data from the factory, and the demo itself."""

from __future__ import annotations

import contextlib
import io
import json
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
def _demo_run(standin_dir, tmp_path_factory):
    """``handeval demo`` on the pinned scene: its folder and its ``--json`` report."""
    from factory import DEMO_OPTIONS
    from handeval.cli import main

    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_:
        main(["demo", "--out", str(out), *DEMO_OPTIONS, "--json"])
    assert exit_.value.code == 0
    return out, json.loads(printed.getvalue())


@pytest.fixture(scope="session")
def demo(_demo_run):
    """What ``handeval demo`` writes, for the tests of the demo itself; the other tests build the
    pieces they need through the factory's fixtures below."""
    return _demo_run[0]


@pytest.fixture(scope="session")
def demo_report(_demo_run):
    """What ``handeval demo --json`` printed."""
    return _demo_run[1]


@pytest.fixture(scope="session")
def demo_data(standin_dir, tmp_path_factory):
    """The demo's data, built by the factory a piece at a time as tests ask for it (see tests/factory.py).
    Shared by the whole session: a test that changes a file copies it first."""
    from factory import DemoData

    return DemoData(tmp_path_factory.mktemp("demo-data"))


@pytest.fixture(scope="session")
def native_files(demo_data):
    """``native_files(dataset)``: the folder of the dataset's native files, and its variant."""
    return demo_data.native


@pytest.fixture(scope="session")
def object_meshes(demo_data):
    """The folder of the demo's object meshes (YCB layout), which its labels were computed with."""
    return demo_data.objects


@pytest.fixture(scope="session")
def labelled_shards(demo_data):
    """``labelled_shards(dataset)``: the folder of the dataset's shards, with every label set."""
    return demo_data.shards


@pytest.fixture(scope="session")
def interhand_shards(labelled_shards):
    """``labelled_shards("interhand26m")``."""
    return labelled_shards("interhand26m")


@pytest.fixture(scope="session")
def baseline_submissions(demo_data):
    """``baseline_submissions(dataset)``: {baseline: its Parquet submission} on the dataset's scored split."""
    return demo_data.submissions


@pytest.fixture(scope="session")
def baseline_results(demo_data):
    """``baseline_results(protocol)``: the folder of every baseline's result under the protocol."""
    return demo_data.results


@pytest.fixture(scope="session")
def all_results(demo_data):
    """The folder of every demo protocol's results, one folder each."""
    return demo_data.all_results()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def handeval(capsys):
    """Run the ``handeval`` command line in-process: ``(exit code, stdout, stderr)``."""
    from commandline import run

    return lambda *args: run(args, capsys)
