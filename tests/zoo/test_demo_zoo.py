"""The demo's zoo step: every zoo output on the leaderboard with its flags, InterNet's CPU profile, and
the IHMR paper's claim measured on the demo's interacting frames: starting from the ground truth's
MANO with parameter noise, refinement lowers the penetration and does not raise MPJPE."""

import json
from pathlib import Path

import pytest
from commandline import run

PROTOCOL = "interhand26m__ihmr-inter"


def _result(demo: Path, name: str, protocol: str = PROTOCOL) -> dict:
    return json.loads((demo / "results" / protocol / f"interhand26m-zoo-{name}.json").read_text())


def test_the_demo_reports_its_zoo_outputs(demo_report):
    zoo = demo_report["zoo"]
    for name in ("tiny", "oracle-noise+one-euro", "oracle-noise+savitzky-golay", "mano-noise", "mano-noise+ihmr-opt",
                 "refine record", "profile"):
        assert Path(zoo[name]).is_file(), name


def test_refinement_lowers_penetration_and_not_accuracy_on_the_demo(demo):
    before, after = _result(demo, "mano-noise")["metrics"], _result(demo, "mano-noise+ihmr-opt")["metrics"]
    assert after["AVE-P"]["value"] < before["AVE-P"]["value"]
    assert after["MAX-P"]["value"] < before["MAX-P"]["value"]
    assert after["IV"]["value"] < before["IV"]["value"]
    assert after["MPJPE"]["value"] <= before["MPJPE"]["value"]
    record = json.loads((demo / "zoo" / "mano-noise+ihmr-opt.refine.json").read_text())
    assert record["refined_views"] > 0 and set(record["summary"]["accepted_percent"]) == set(record["stages"])
    assert len(record["views"]["accepted"]) == record["refined_views"]


def test_zoo_rows_carry_their_flags_and_provenance(demo):
    board = (demo / "leaderboard" / "leaderboard.md").read_text()
    rows = {line.split(" | ")[1]: line for line in board.splitlines() if line.startswith("| ") and " (demo)" in line}
    assert "random weights; GT root" in rows["tiny (demo)"] and "tiny · random weights · GT root" in rows["tiny (demo)"]
    assert "/s, model alone" in rows["tiny (demo)"]
    assert "causal" in rows["oracle-noise+one-euro (demo) †"] and "oracle" in rows["oracle-noise+one-euro (demo) †"]
    assert "non-causal" in rows["oracle-noise+savitzky-golay (demo) †"]
    assert "oracle" in rows["mano-noise+ihmr-opt (demo) †"]
    assert "0.89 FPS" in board  # IHMR-OPT's reported speed, in its own column


def test_the_demo_profiles_internet_within_the_lwa_hand_figures(demo):
    profile = json.loads((demo / "zoo" / "profile-internet.json").read_text())
    assert profile["params"] == 47_305_474
    assert profile["gmacs_by_child"]["backbone_net"] == pytest.approx(5.37, rel=0.05)
    assert profile["latency_ms_p50"] > 0 and "FlopCounterMode" in profile["counter"]


@pytest.mark.parametrize("command", ["list", "show", "run", "profile", "filter", "refine", "fit"])
def test_every_zoo_command_has_help_with_examples(command, capsys):
    code, out, _ = run(["zoo", command, "--help"], capsys)
    assert code == 0 and "Example:" in out
