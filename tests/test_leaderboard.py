"""Leaderboards: Markdown, CSV and the HTML page, opened in headless Chromium."""

import csv
import json
import re
import shutil
import subprocess

import pytest

from handeval.leaderboard import build_boards, write_leaderboard
from handeval.leaderboard.build import reported_rows
from handeval.protocols import load_protocol, protocol_names

EVIL = '<img src="http://example.invalid/x.png" onerror="document.title=\'pwned\'"> & "quotes"'


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two results of one protocol, one with a hostile name, made without scoring anything."""
    root = tmp_path_factory.mktemp("lb")
    proto = load_protocol("interhand26m-30fps/temporal")
    paths = []
    for k, name in enumerate(("plain method", EVIL)):
        metrics = {m["name"]: {"value": 10.0 + 5 * k if m["reduce"] not in ("auc", "pck") else 0.9 - 0.1 * k,
                               "unit": m.get("unit", ""), "ci95": None, "n": 100,
                               "quantity": m["quantity"], "reduce": m["reduce"]} for m in proto.metrics}
        result = {"schema": "handeval-result/2", "name": name, "protocol": proto.summary(),
                  "dataset": {"name": "InterHand2.6M", "split": "test", "manifest_sha256": "0" * 64},
                  "synthetic": True, "deviations": [], "comparable": True, "metrics": metrics,
                  "submission": {"file": f"{k}.parquet"},
                  "curves": {"AUC": {"thresholds_mm": [0, 25, 50], "pck": [0.0, 0.6 - 0.1 * k, 1.0]}},
                  "series": {"Accel_E": {"quantity": "accel", "sequence": "s", "camera": "0", "frame": [1, 2, 3],
                                         "value": [1.0, None, 2.0 + k], "unit": "mm/s^2"}},
                  "breakdowns": {"MPJPE": {"fingers": {"visible": 9.0 + k, "occluded": 12.0 + k}}}}
        path = root / f"r{k}.json"
        path.write_text(json.dumps(result))
        paths.append(path)
    return paths


def test_reported_rows_name_shipped_protocols_and_their_metrics():
    names = set(protocol_names())
    for row in reported_rows():
        assert row["protocol"] in names
        metrics = {m["name"] for m in load_protocol(row["protocol"]).metrics}
        assert set(row["metrics"]) <= metrics, (row["method"], set(row["metrics"]) - metrics)


def test_markdown_and_csv(results, tmp_path):
    files = write_leaderboard(results, tmp_path)
    md = files["markdown"].read_text()
    assert "interhand26m-30fps/temporal" in md and "reported" in md
    assert "<img" not in md and "&lt;img" in md
    rows = list(csv.DictReader(files["csv"].open()))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"scored", "reported"}
    board = build_boards(results)[0]
    assert board.rows[0].name == "plain method"  # lowest MPJPE first (reported rows are higher)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_page_renders_sorts_loads_images_and_requests_nothing_external(results, tmp_path):
    files = write_leaderboard(results, tmp_path / "board", reported=False)
    page = files["html"]
    text = page.read_text()
    assert "<img src=\"http" not in text and "&lt;img src=&quot;http://example.invalid" in text
    net_log = tmp_path / "net.json"
    col = 2 + [m["name"] for m in load_protocol("interhand26m-30fps/temporal").metrics].index("MPJPE")
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={net_log}", "--virtual-time-budget=5000",
         "--dump-dom", f"file://{page}#sort=0:{col}:desc"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<title>handeval leaderboard</title>" in dom  # rendered; the hostile onerror did not run
    assert 'data-sorted="%d:desc"' % col in dom
    loaded, total = map(int, re.search(r'data-images="(\d+)/(\d+)"', dom).groups())
    assert total == 3 and loaded == total  # PCK curves, acceleration series, occlusion breakdown
    body = dom[dom.index("<tbody>"):dom.index("</tbody>")]
    first = re.findall(r"<td class=\"name\">(.*?)</td>", body)[0]
    assert "example.invalid" in first  # descending MPJPE puts the 15 mm hostile row first...
    assert "<img" not in first  # ...as text, not as an element
    # Every asset of the rendered page is inline, and the hostile name's URL was never fetched
    # (the browser's own background traffic, to google.com, is not the page's).
    assets = re.findall(r'<(?:img|script|link|iframe|source)\b[^>]*?\s(?:src|href)="([^"]*)"', dom)
    assert assets and all(a.startswith("data:") for a in assets), assets
    assert "example.invalid" not in net_log.read_text()
