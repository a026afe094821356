"""The public API: ``import handeval``'s lazy entry points and each stage package's ``__all__``."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import handeval
from handeval.util.errors import HandevalError

STAGES = ("util", "mano", "geometry", "metrics", "readers", "records", "runner", "shards", "labels", "scoring",
          "leaderboard", "demo", "synth")
#: Stages whose package import loads no torch (geometry computes with it; its package imports it).
LIGHT = tuple(s for s in STAGES if s != "geometry")
ENTRY_POINTS = {"convert", "open_dataset", "label", "score", "compare", "build_leaderboard", "load_protocol",
                "Submission", "read_submission", "write_submission", "run_demo", "Executor"}


def _run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_import_handeval_loads_neither_torch_nor_open3d_and_every_entry_point_resolves():
    _run("import sys\nimport handeval\n"
         "heavy = [m for m in ('torch', 'open3d') if m in sys.modules]\n"
         "assert not heavy, heavy\n"
         "assert set(handeval.__all__) <= set(dir(handeval))\n"
         "unresolved = [n for n in handeval.__all__ if not callable(getattr(handeval, n))]\n"
         "assert not unresolved, unresolved\n")


def test_the_entry_points_are_the_stages_own():
    from handeval.demo.pipeline import run_demo
    from handeval.leaderboard.build import write_leaderboard
    from handeval.scoring import score, submissions
    from handeval.shards.reader import ShardDataset

    assert set(handeval.__all__) == ENTRY_POINTS
    assert handeval.open_dataset is ShardDataset and handeval.build_leaderboard is write_leaderboard
    assert handeval.score is score.score and handeval.compare is score.compare and handeval.run_demo is run_demo
    assert handeval.write_submission is submissions.write_submission and handeval.Submission is submissions.Submission
    with pytest.raises(AttributeError, match="has no attribute 'demo_run'"):
        getattr(handeval, "demo_run")


def test_stage_packages_and_the_command_line_import_without_torch():
    _run("import sys\n" + "".join(f"import handeval.{s}\n" for s in LIGHT) + "import handeval.cli\n"
         "heavy = [m for m in ('torch', 'open3d', 'trimesh') if m in sys.modules]\n"
         "assert not heavy, heavy\n")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_lists_its_public_names_and_each_resolves(stage):
    package = importlib.import_module(f"handeval.{stage}")
    names = package.__all__
    assert names and len(set(names)) == len(names)
    assert set(names) <= set(dir(package))
    for name in names:
        assert getattr(package, name) is not None, name
    # A public name that is also a submodule's would be replaced by the module once that is imported.
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    # geometry imports its modules eagerly, so its penetration is the function before anything imports the module.
    clashes = set(names) & submodules - ({"penetration"} if stage == "geometry" else set())
    assert not clashes


def test_no_entry_point_is_a_subpackage():
    assert not ENTRY_POINTS & {m.name for m in pkgutil.iter_modules(handeval.__path__)}


def test_an_unknown_label_set_is_named(tmp_path):
    with pytest.raises(HandevalError, match="unknown label set 'pen'; choose one of subsets, penetration, occlusion, "
                                            "images"):
        handeval.label(tmp_path, "pen")
