"""Leaderboards from the demo's results (built by the factory): inputs (folders, non-results, duplicates, hand edits),
the three files (units, frames, paths, CSV formulas, reruns), the plots, and the HTML page
opened in headless Chromium."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from commandline import run, user_error
from matplotlib.colors import to_hex

from handeval.leaderboard import build_boards, write_leaderboard
from handeval.leaderboard.build import Board, csv_cell, reported_rows
from handeval.leaderboard.page import figures, inline_markdown
from handeval.scoring.protocols import load_protocol, protocol_names
from handeval.scoring.table import read_table
from handeval.util.plots import distinct_colours, plt

EVIL = '<img src="http://example.invalid/x.png" onerror="document.title=\'pwned\'"> & "quotes"'
TEMPORAL = "interhand26m-30fps__temporal"
OCCLUSION = "interhand26m-5fps-ih__intaghand-occlusion"


@pytest.fixture
def results(all_results, tmp_path):
    """A copy of the demo's results (one folder per protocol, each result with its error table)."""
    return shutil.copytree(all_results, tmp_path / "results")


def _edit(path, change):
    r = json.loads(path.read_text())
    change(r)
    path.write_text(json.dumps(r, indent=1))


def _csv(path):
    return list(csv.DictReader(path.open(newline="")))


def test_reported_rows_name_shipped_protocols_and_their_metrics():
    names = set(protocol_names())
    for row in reported_rows():
        assert row["protocol"] in names
        protocol = load_protocol(row["protocol"])
        assert set(row["metrics"]) <= {m["name"] for m in protocol.metrics}, row["method"]
        board = Board.of(protocol)
        for name in row["metrics"]:  # every number has a column in its own unit
            unit = row.get("units", {}).get(name)
            assert board.column(name, unit).get("unit", "") == (unit or board.units[name])


def test_reported_numbers_sit_in_the_column_of_their_unit(baseline_results):
    (board,), _ = build_boards([baseline_results("interhand26m-30fps/temporal")])
    reported = [r for r in board.rows if r.kind == "reported"]
    assert reported and board.units["Accel_E"] == "mm/s^2"
    for row in reported:  # the papers' per-frame^2 numbers, never beside scored mm/s^2 values
        assert "Accel_E" not in row.metrics and row.metrics["Accel_E per frame^2"]["unit"] == "mm/frame^2"
        assert any("Accel_E is under Accel_E per frame^2" in f for f in row.flags)
    for row in board.rows:
        for name, cell in row.metrics.items():
            assert cell["unit"] == board.units[name], (row.name, name)


def test_a_folder_finds_its_results_recursively_and_skips_other_files(results, tmp_path, capsys):
    (results / "notes.txt").write_text("not a result")
    (results / "deep" / "er").mkdir(parents=True)
    (results / "deep" / "er" / "other.json").write_text('{"a": 1}')
    code, out, err = run(["leaderboard", str(results), "--out", str(tmp_path / "board")], capsys)
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("Note:")]  # the rest: the progress bar
    assert notes == [f"Note: {results}: skipped 2 files that are not handeval results: "
                     "deep/er/other.json, notes.txt"]  # the error tables and logs beside results are expected
    sources = {r["source"] for r in _csv(tmp_path / "board" / "leaderboard.csv") if r["kind"] == "scored"}
    assert len(sources) == 30 and f"{TEMPORAL}/interhand26m-mean-pose.json" in sources
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "x.txt").write_text("")
    line = user_error(*run(["leaderboard", str(empty), "--out", str(tmp_path / "b2")], capsys)[::2])
    assert line.startswith(f"{empty}: no handeval result") and "handeval score" in line


@pytest.mark.parametrize("make, reason", [
    (lambda d, r: shutil.copy(r.with_name(r.stem + ".errors.parquet"), d / "t.errors.parquet"), "not JSON"),
    (lambda d, r: (d / "x.json").write_text('{"a": {"schema": "handeval-result/1"}}'), "without a schema key"),
    (lambda d, r: (d / "x.json").write_text("[1, 2]"), "not an object"),
    (lambda d, r: (d / "x.json").write_text('{"schema": "other/1"}'), "its schema is 'other/1'"),
    (lambda d, r: (d / "x.json").write_text(""), "it is empty"),
    (lambda d, r: (d / "x.json").write_text(r.read_text()[:300]), "truncated"),
    (lambda d, r: (d / "x.json").write_text(json.dumps({**json.loads(r.read_text()), "metrics": None})),
     "a damaged handeval result: `metrics` is null, expected an object"),
], ids=["parquet", "json-object", "json-list", "other-schema", "empty", "truncated", "incomplete"])
def test_a_file_that_is_not_a_result_is_auser_error(results, tmp_path, capsys, make, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder, results / TEMPORAL / "interhand26m-mean-pose.json")
    (path,) = folder.iterdir()
    line = user_error(*run(["leaderboard", str(path), "--out", str(tmp_path / "board")], capsys)[::2])
    assert line.startswith(f"{path}: ") and reason in line, line
    assert "handeval score" in line  # what was expected, and how to make one


def test_the_same_result_twice_is_one_row(results, tmp_path, capsys):
    result = results / "hic__interwild" / "hic-oracle-noise.json"
    twin = tmp_path / "twin"
    twin.mkdir()
    for f in (result, result.with_name("hic-oracle-noise.errors.parquet")):
        shutil.copy(f, twin / f.name)
    code, _, err = run(["leaderboard", str(result), str(result), str(twin / result.name), "--out",
                        str(tmp_path / "board")], capsys)
    assert code == 0 and err.count("byte-identical), listed once") == 2, err
    lines = [(r["method"], r["metric"]) for r in _csv(tmp_path / "board" / "leaderboard.csv") if r["kind"] == "scored"]
    assert lines and len(lines) == len(set(lines))


@pytest.mark.parametrize("change, named", [
    (lambda r: r["metrics"]["MPJPE"].update(value=r["metrics"]["MPJPE"]["value"] - 0.01), "metric MPJPE.value is "),
    (lambda r: r["metrics"]["MMPD"].update(n=1), "metric MMPD.n is 1 in the result"),
    (lambda r: r["metrics"].pop("MPVPE"), "metric MPVPE does not match"),
    (lambda r: r["curves"]["AUC"]["pck"].__setitem__(10, 1.0), "curves.AUC.pck[10] is 1.0 in the result"),
    (lambda r: r["breakdowns"]["MPJPE"]["fingers"].update(visible=1.0), "breakdowns.MPJPE.fingers.visible is 1.0"),
    (lambda r: r.update(comparable=True, deviations=[]), "deviations does not match"),
    (lambda r: r.update(synthetic=False), "synthetic is False in the result but True"),
    (lambda r: r.update(warnings=[{"check": "x", "severity": "warning", "message": "m", "fix": "f"}]),
     "warnings does not match"),
], ids=["value", "count", "dropped", "curve", "breakdown", "comparable", "synthetic", "warnings"])
def test_a_hand_edited_result_is_refused(results, tmp_path, capsys, change, named):
    path = results / TEMPORAL / "interhand26m-oracle-noise.json"
    _edit(path, change)
    line = user_error(*run(["leaderboard", str(results / TEMPORAL), "--out", str(tmp_path / "b")], capsys)[::2])
    assert line.startswith(f"{path}: {named}"), line
    assert "from its error table interhand26m-oracle-noise.errors.parquet" in line or "does not match" in line
    assert line.endswith("the result was edited after scoring; rescore with `handeval score`")


def test_a_result_without_its_own_table_is_refused_with_the_fix(results, tmp_path, capsys):
    path = results / TEMPORAL / "interhand26m-oracle-noise.json"
    table = path.with_name("interhand26m-oracle-noise.errors.parquet")
    lone = tmp_path / "lone.json"
    shutil.copy(path, lone)
    line = user_error(*run(["leaderboard", str(lone), "--out", str(tmp_path / "b")], capsys)[::2])
    assert line.startswith(f"{lone}: its per-view error table {table.name} is not beside it")
    assert "copy the table next to the result" in line and "rescore" in line
    table.write_bytes(table.read_bytes() + b"\0")
    line = user_error(*run(["leaderboard", str(path), "--out", str(tmp_path / "b")], capsys)[::2])
    assert line.startswith(f"{path}: its error table {table.name} changed since the result was written")
    _edit(path, lambda r: r.pop("errors_table"))
    line = user_error(*run(["leaderboard", str(path), "--out", str(tmp_path / "b")], capsys)[::2])
    assert "`errors_table` is missing" in line and "rescore" in line


def test_a_result_of_a_protocol_file_reusing_a_shipped_name_is_named_as_such(labelled_shards, baseline_submissions,
                                                                             tmp_path, handeval):
    name = "ho3d-v3/official"
    spec = json.loads(json.dumps(load_protocol(name).spec))
    spec["quantities"]["f_5"]["threshold"] = 0.006  # the same name, another F-score
    (tmp_path / "official.json").write_text(json.dumps(spec))
    path = tmp_path / "results" / "mine.json"
    code, _, err = handeval("score", "--gt", labelled_shards("ho3d"), "--pred",
                            baseline_submissions("ho3d")["oracle-noise"], "--protocol", tmp_path / "official.json",
                            "--out", path, "--bootstrap", 0)
    assert code == 0, err
    line = user_error(*handeval("leaderboard", path.parent, "--out", tmp_path / "b")[::2], f"{path}: ")
    assert line.startswith(f"{path}: scored under a protocol named {name} that is not the shipped {name} (its "
                           f"sha256 {json.loads(path.read_text())['protocol']['sha256'][:12]}"), line
    assert "has changed since" not in line and line.endswith(f"`handeval score --protocol {name}`"), line
    _edit(path, lambda r: r["protocol"].update(name="mine/official"))
    line = user_error(*handeval("leaderboard", path, "--out", tmp_path / "b")[::2], f"{path}: ")
    assert "scored under protocol 'mine/official', which handeval does not ship" in line, line


def test_frames_and_views_are_what_was_scored(baseline_results, tmp_path):
    folder = baseline_results("interhand26m-30fps/temporal")
    files, _ = write_leaderboard([folder, baseline_results("ho3d-v3/official")], tmp_path, reported=False)
    rows = _csv(files["csv"])
    assert {r["source"] for r in rows} >= {"interhand26m-mean-pose.json", "ho3d-mean-pose.json"}
    for row in rows:
        if row["protocol"] == "interhand26m-30fps/temporal":
            table = read_table(folder / row["source"].replace(".json", ".errors.parquet"))
            assert int(row["views"]) == len(table)
            assert int(row["frames"]) == len(set(zip(table.sequence.tolist(), table.frame.tolist())))
    ho3d = [r for r in rows if r["protocol"] == "ho3d-v3/official"]
    assert {r["frames"] for r in ho3d} == {"12"}  # the demo's 12 frames, not the 20137 its title pins
    assert "| 12 | 12 |" in files["markdown"].read_text()


def test_no_local_path_is_published(results, tmp_path, tmp_path_factory, capsys):
    code, _, err = run(["leaderboard", str(results), "--out", str(tmp_path / "board")], capsys)
    assert code == 0, err
    local = {str(tmp_path_factory.getbasetemp()), str(tmp_path_factory.getbasetemp().resolve()), os.getcwd()}
    published = [tmp_path / "board" / name for name in ("leaderboard.md", "leaderboard.csv", "index.html")]
    for path in published + sorted(results.rglob("*.json")):  # results are shared too
        text = path.read_text()
        assert not [p for p in local if p in text], path


def test_csv_neutralises_formulas_but_keeps_numbers(results, tmp_path, capsys):
    names = ["=HYPERLINK(\"http://example.invalid\")", "+1+2", "-2+3", "@SUM(A1)"]
    folder = results / TEMPORAL
    for path, name in zip(sorted(folder.glob("*.json")), names, strict=True):
        _edit(path, lambda r: r.update(name=name))
    code, _, err = run(["leaderboard", str(folder), "--out", str(tmp_path / "board"), "--no-reported"], capsys)
    assert code == 0, err
    rows = _csv(tmp_path / "board" / "leaderboard.csv")
    assert {r["method"] for r in rows} == {"'" + n for n in names}
    assert all(float(r["value"]) >= 0 for r in rows)  # values stay plain numbers
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3 and csv_cell("-0.5") == "'-0.5" and csv_cell("a-b") == "a-b"
    assert csv_cell("\t=1") == "'\t=1"


def test_markdown_in_titles_and_notes_is_rendered(baseline_results, tmp_path):
    files, _ = write_leaderboard([baseline_results("interhand26m-5fps-ih/intaghand-occlusion")], tmp_path)
    page = files["html"].read_text()
    body = page[:page.index("<script>")]
    assert "<code>handeval labels occlusion</code>" in body and "`" not in body
    assert inline_markdown("a `<b>` **c** *d* <i>x</i> IHMR-OPT* 2 * 3") == \
        "a <code>&lt;b&gt;</code> <strong>c</strong> <em>d</em> &lt;i&gt;x&lt;/i&gt; IHMR-OPT* 2 * 3"


def test_wide_tables_scroll_in_their_own_box(baseline_results, tmp_path):
    files, _ = write_leaderboard([baseline_results("ho3d-v3/official")], tmp_path)
    page = files["html"].read_text()
    assert ".scroll{overflow-x:auto" in page
    assert page.count("<table") == page.count("<div class='scroll'><table") == 1


def test_pck_legends_show_the_auc_and_every_curve_has_its_own_colour(baseline_results):
    (board,), _ = build_boards([baseline_results("ho3d-v3/official")])
    title, fig = figures(board)[0]
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert title == "PCK curves" and len(ax.lines) == 15  # 3 results x 5 AUC metrics: more than tab10 has
    for row in (r for r in board.rows if r.kind == "scored"):
        assert f"{row.name}: mesh_auc3d (AUC {row.metrics['mesh_auc3d']['value']:.3f})" in labels
    assert len({to_hex(line.get_color()) for line in ax.lines}) == 15
    for n in (4, 15, 33):
        assert len({to_hex(c) for c in distinct_colours(n)}) == n
    plt.close("all")


def test_the_occlusion_breakdown_only_where_the_protocol_has_one(baseline_results):
    boards, _ = build_boards([baseline_results("interhand26m-30fps/temporal"),
                              baseline_results("interhand26m-5fps-ih/intaghand-occlusion")])
    plots = {b.protocol["name"]: [title for title, _ in figures(b)] for b in boards}
    plt.close("all")
    temporal = next(b for b in boards if b.protocol["name"] == "interhand26m-30fps/temporal")
    assert any("fingers" in r.result.breakdowns.get("MPJPE", {}) for r in temporal.rows if r.result)
    assert plots["interhand26m-30fps/temporal"] == ["PCK curves", "Acceleration error over time"]
    assert plots["interhand26m-5fps-ih/intaghand-occlusion"] == ["PCK curves", "Breakdown by finger occlusion"]


def test_a_rebuild_is_byte_identical(baseline_results, tmp_path, capsys):
    args = [str(baseline_results("interhand26m-30fps/temporal")),
            str(baseline_results("interhand26m-5fps-ih/intaghand-occlusion"))]
    code, _, err = run(["leaderboard", *args, "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    exe = os.path.join(os.path.dirname(sys.executable), "handeval")  # another process: nothing shared in memory
    subprocess.run([exe, "leaderboard", *args, "--out", str(tmp_path / "b")], check=True, capture_output=True)
    for name in ("leaderboard.md", "leaderboard.csv", "index.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_markdown_and_csv(results, tmp_path):
    _edit(results / TEMPORAL / "interhand26m-swapped-hands.json", lambda r: r.update(name=EVIL))
    files, _ = write_leaderboard([results / TEMPORAL], tmp_path)
    md = files["markdown"].read_text()
    assert "interhand26m-30fps/temporal" in md and "reported" in md
    assert "<img" not in md and "&lt;img" in md
    assert {r["kind"] for r in _csv(files["csv"])} == {"scored", "reported"}
    (board,), _ = build_boards([results / TEMPORAL])
    assert board.rows[0].name == "smoothed-noise (demo)"  # lowest MPJPE first


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_page_renders_sorts_loads_images_and_requests_nothing_external(results, tmp_path):
    # the highest MPJPE of the temporal table, so that a descending sort puts the hostile name first
    _edit(results / TEMPORAL / "interhand26m-swapped-hands.json", lambda r: r.update(name=EVIL))
    files, _ = write_leaderboard([results / TEMPORAL, results / OCCLUSION], tmp_path / "board", reported=False)
    page = files["html"]
    text = page.read_text()
    assert "<img src=\"http" not in text and "&lt;img src=&quot;http://example.invalid" in text
    net_log = tmp_path / "net.json"
    col = 4 + [m["name"] for m in load_protocol("interhand26m-30fps/temporal").metrics].index("MPJPE")
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={net_log}", "--virtual-time-budget=5000",
         "--dump-dom", f"file://{page}#sort=0:{col}:desc"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<title>handeval leaderboard</title>" in dom  # rendered; the hostile onerror did not run
    assert 'data-sorted="%d:desc"' % col in dom
    loaded, total = map(int, re.search(r'data-images="(\d+)/(\d+)"', dom).groups())
    assert total == 4 and loaded == total  # PCK curves and acceleration; PCK curves and occlusion breakdown
    body = dom[dom.index("<tbody>"):dom.index("</tbody>")]
    first = re.findall(r"<td class=\"name\">(.*?)</td>", body)[0]
    assert "example.invalid" in first  # descending MPJPE puts the hostile row first...
    assert "<img" not in first  # ...as text, not as an element
    # Every asset of the rendered page is inline, and the hostile name's URL was never fetched
    # (the browser's own background traffic, to google.com, is not the page's).
    assets = re.findall(r'<(?:img|script|link|iframe|source)\b[^>]*?\s(?:src|href)="([^"]*)"', dom)
    assert assets and all(a.startswith("data:") for a in assets), assets
    assert "example.invalid" not in net_log.read_text()
