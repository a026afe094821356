"""Leaderboards from result files: one table per protocol, scored rows beside the papers' numbers.

Rows of a table share the protocol's name *and* content hash: a result computed under an
older definition goes to its own table. "Reported" rows carry numbers transcribed from the
papers' tables (``data_specs/protocols/reported.json``); they are marked as reported, not
reproduced. Outputs: ``leaderboard.md``, ``leaderboard.csv`` (long format: one metric per
line) and ``index.html`` (``handeval.leaderboard.page``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from handeval.atomic import write_text_atomic
from handeval.protocols import load_protocol
from handeval.scoring.score import load_result


@dataclass
class Row:
    name: str
    kind: str                      # "scored" or "reported"
    metrics: dict[str, dict]       # name -> {"value", "unit", "ci95"}
    flags: list[str] = field(default_factory=list)
    source: str = ""
    result: dict | None = None     # the full result (scored rows)
    comparable: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The name with its markers: † not comparable, ⚠ scored with warnings."""
        return self.name + ("" if self.comparable else " †") + (" ⚠" if self.warnings else "")


@dataclass
class Board:
    protocol: dict                 # name, version, sha256, title, dataset
    metric_names: list[str]
    units: dict[str, str]
    lower_is_better: dict[str, bool]
    rows: list[Row]


def reported_rows() -> list[dict]:
    return json.loads((resources.files("handeval.protocol_specs") / "reported.json").read_text())["rows"]


def _higher_is_better(metric: dict) -> bool:
    return metric["reduce"] in ("auc", "pck", "accuracy") or metric["name"].lower().startswith("f_")


def build_boards(paths: list[str | Path], reported: bool = True) -> list[Board]:
    """Group results by protocol (name and hash) and add the reported rows of each protocol."""
    boards: dict[tuple[str, str], Board] = {}
    for path in paths:
        r = load_result(path)
        key = (r["protocol"]["name"], r["protocol"]["sha256"])
        if key not in boards:
            spec = load_protocol(r["protocol"]["name"])
            metrics = spec.metrics if spec.sha256 == key[1] else [
                {"name": k, "reduce": v.get("reduce", "pooled"), "unit": v.get("unit", "")}
                for k, v in r["metrics"].items()]
            boards[key] = Board(r["protocol"], [m["name"] for m in metrics],
                                {m["name"]: m.get("unit", "") for m in metrics},
                                {m["name"]: not _higher_is_better(m) for m in metrics}, [])
        flags = []
        warnings = [f"[{w['check']}] {w['message']}" for w in r.get("warnings", [])]
        if not r["comparable"]:
            flags.append("not comparable: " + "; ".join(r["deviations"]))
        if warnings:
            flags.append("warnings: " + "; ".join(warnings))
        if r["synthetic"]:
            flags.append("synthetic data")
        boards[key].rows.append(Row(r["name"], "scored", r["metrics"], flags, r["submission"]["file"], r,
                                    r["comparable"], warnings))
    if reported:
        for board in boards.values():
            for rep in reported_rows():
                if rep["protocol"] == board.protocol["name"]:
                    board.rows.append(Row(rep["method"], "reported", {
                        k: {"value": v, "unit": board.units.get(k, ""), "ci95": None} for k, v in rep["metrics"].items()},
                        ["reported in the paper, not reproduced"], rep["source"]))
    for board in boards.values():
        first = board.metric_names[0]
        board.rows.sort(key=lambda row: (row.metrics.get(first, {}).get("value") is None,
                                         _sort_value(row, first, board.lower_is_better[first])))
    return list(boards.values())


def _sort_value(row: Row, metric: str, lower: bool) -> float:
    v = row.metrics.get(metric, {}).get("value")
    return 0.0 if v is None else (v if lower else -v)


def cell_text(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "–"
    fmt = "{:.4f}" if m.get("unit", "") in ("", "px") else "{:.2f}"
    text = fmt.format(m["value"])
    if m.get("ci95"):
        text += " [" + ", ".join(fmt.format(x) for x in m["ci95"]) + "]"
    return text


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(boards: list[Board]) -> str:
    out = ["# handeval leaderboard", "",
           "Scored rows were computed by `handeval score` (95% bootstrap intervals in brackets); *reported* rows are "
           "the papers' printed numbers, not reproduced. † not comparable (the data or the MANO model differ from "
           "what the protocol pins); ⚠ scored with warnings (a likely hand swap or camera-frame flip).", ""]
    for b in boards:
        p = b.protocol
        out += [f"## {p['name']} (v{p['version']}, sha256 {p['sha256'][:12]})", "", p["title"], ""]
        head = ["#", "method", "kind"] + [f"{m} ({b.units[m]})" if b.units[m] else m for m in b.metric_names] + ["notes"]
        out.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        out.append("|" + "---|" * len(head))
        for i, row in enumerate(b.rows, 1):
            cells = [str(i), _md_escape(row.label), row.kind] + [cell_text(row.metrics.get(m)) for m in b.metric_names] + \
                [_md_escape("; ".join(row.flags))]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def csv_text(boards: list[Board]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["protocol", "protocol_version", "protocol_sha256", "method", "kind", "metric", "value", "unit",
                "ci95_low", "ci95_high", "comparable", "warnings", "synthetic", "source"])
    for b in boards:
        for row in b.rows:
            for m in b.metric_names:
                cell = row.metrics.get(m)
                if not cell or cell.get("value") is None:
                    continue
                ci = cell.get("ci95") or [None, None]
                w.writerow([b.protocol["name"], b.protocol["version"], b.protocol["sha256"], row.name, row.kind, m,
                            cell["value"], b.units[m], ci[0], ci[1], row.comparable, "; ".join(row.warnings),
                            "synthetic data" in row.flags, row.source])
    return buf.getvalue()


def write_leaderboard(paths: list[str | Path], out_dir: str | Path, reported: bool = True) -> dict[str, Path]:
    from handeval.leaderboard.page import html_page

    boards = build_boards(paths, reported)
    out = Path(out_dir)
    files = {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv", "html": out / "index.html"}
    write_text_atomic(files["markdown"], markdown(boards))
    write_text_atomic(files["csv"], csv_text(boards))
    write_text_atomic(files["html"], html_page(boards))
    return files
