"""Results read back through one loader (``Result.from_file``): a good result as written, and a damaged
one refused by compare, regroup and the leaderboard with one message naming the file and the field."""

import json
import shutil

import pytest
from commandline import run, user_error

from handeval.scoring.result import RESULT_KEYS, Result

TEMPORAL = "interhand26m-30fps__temporal"


@pytest.fixture
def folder(baseline_results, tmp_path):
    """A copy of one protocol's demo results, each with its error table."""
    return shutil.copytree(baseline_results("interhand26m-30fps/temporal"), tmp_path / TEMPORAL)


def test_a_result_reads_as_written(folder):
    path = folder / "interhand26m-oracle-noise.json"
    result = Result.from_file(path)
    assert result.path == path and result.table_path == folder / "interhand26m-oracle-noise.errors.parquet"
    assert result.protocol["name"] == "interhand26m-30fps/temporal" and "MPJPE" in result.metrics
    data = result.to_dict()
    assert list(data) == list(RESULT_KEYS)
    assert json.dumps(data, indent=1) + "\n" == path.read_text()  # score's own bytes


@pytest.mark.parametrize("change, named", [
    (lambda r: r.pop("bootstrap"), "`bootstrap` is missing"),
    (lambda r: r["metrics"]["MPJPE"].update(value="4.5"), '`metrics.MPJPE.value` is "4.5", expected a number or null'),
    (lambda r: r["protocol"].update(sha256="abc"), '`protocol.sha256` is "abc", expected 64 lowercase hex digits'),
    (lambda r: r.update(extra=1), "`extra` is not a field of a result"),
    (lambda r: r["metrics"]["MPJPE"].update(ci95=[1, "x"]), '`metrics.MPJPE.ci95[1]` is "x", expected a number'),
    (lambda r: r.update(warnings=[{"check": "x"}]), "`warnings[0].severity` is missing"),
    (lambda r: r.update(comparable="yes"), '`comparable` is "yes", expected true or false'),
    (lambda r: r["errors_table"].pop("path"), "`errors_table.path` is missing"),
], ids=["missing", "type", "pattern", "extra", "item", "nested", "boolean", "table"])
@pytest.mark.parametrize("command", ["compare", "regroup", "leaderboard"])
def test_a_damaged_result_names_the_file_and_the_field(folder, tmp_path, capsys, change, named, command):
    path = folder / "interhand26m-oracle-noise.json"
    result = json.loads(path.read_text())
    change(result)
    path.write_text(json.dumps(result, indent=1))
    args = {"compare": ["compare", folder / "interhand26m-mean-pose.json", path],
            "regroup": ["regroup", path, "--by", "sequence"],
            "leaderboard": ["leaderboard", folder, "--out", tmp_path / "board"]}[command]
    line = user_error(*run(args, capsys)[::2])
    assert line.startswith(f"{path}: a damaged handeval result: {named}"), line
    assert line.endswith("(data_specs/result.schema.json); rescore with `handeval score`"), line


@pytest.mark.parametrize("schema, says, other", [
    ("handeval-result/9", "written by a newer handeval than this one", "Score the submission again"),
    ("handeval-result/1", "Score the submission again with this version", "upgrade handeval"),
], ids=["newer", "older"])
@pytest.mark.parametrize("command", ["regroup", "leaderboard"])
def test_a_result_of_another_schema_says_what_to_do(folder, tmp_path, handeval, schema, says, other, command):
    path = folder / "interhand26m-oracle-noise.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"schema": schema}, indent=1))
    args = {"regroup": ["regroup", path, "--by", "sequence"],
            "leaderboard": ["leaderboard", path, "--out", tmp_path / "board"]}[command]
    line = user_error(*handeval(*args)[::2], f"{path}: ")
    assert f"it is a {schema} result" in line and says in line and other not in line, line
    if schema.endswith("/9"):
        assert line.endswith("upgrade handeval (pip install -U handeval)"), line
