"""Leaderboards from result files: one table per protocol, scored rows beside the papers' numbers.

Every result is read by ``Result.from_file`` and checked before it is listed
(``handeval.scoring.score.verify_result``): its
protocol is the shipped one (same content hash), its error table is the one beside it, and its
numbers are those the engine computes from that table, so a hand-edited result is refused. Its
frames and views are counted in the table. "Reported" rows carry numbers transcribed from the
papers' tables (``data_specs/protocols/reported.json``); they are marked as reported, not
reproduced, and each lands in the column of its own unit. Outputs: ``leaderboard.md``,
``leaderboard.csv`` (long format: one metric per line) and ``index.html``
(``handeval.leaderboard.page``); none of them holds a local path.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from handeval import __version__
from handeval.runner import Context, Executor, Job, Unit, content_key, run_job
from handeval.scoring.aggregate import clusters
from handeval.scoring.protocols import Protocol
from handeval.scoring.result import Result, why_not_a_result
from handeval.scoring.score import verify_result
from handeval.scoring.table import log_path
from handeval.util.atomic import write_text_atomic
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError


@dataclass
class Row:
    name: str
    kind: str                      # "scored" or "reported"
    metrics: dict[str, dict]       # column (metric name) -> {"value", "unit", "ci95"}
    flags: list[str] = field(default_factory=list)
    source: str = ""               # the result file as found under its argument, or the paper
    result: Result | None = None   # the full result (scored rows)
    comparable: bool = True
    warnings: list[str] = field(default_factory=list)
    frames: int | None = None      # scored (sequence, frame) pairs, from the error table
    views: int | None = None       # scored views (rows of the error table)
    provenance: str = ""           # what produced a scored row's predictions (the submission's provenance)
    speed: str = ""                # measured by handeval, with its device (scored rows)
    reported_speed: str = ""       # the paper's speed or cost claim, with its hardware (reported rows)

    @property
    def label(self) -> str:
        """The name with its markers: † not comparable, ⚠ scored with warnings."""
        return self.name + ("" if self.comparable else " †") + (" ⚠" if self.warnings else "")


@dataclass
class Board:
    protocol: dict                 # the protocol's summary: name, version, sha256, title, dataset
    metrics: list[dict]            # its metric definitions, in its order: one column each
    rows: list[Row]
    higher_is_better: dict[str, bool]  # per column, as the protocol's reduction and quantity say

    @classmethod
    def of(cls, protocol: Protocol) -> "Board":
        """An empty board of ``protocol``."""
        return cls(protocol.summary(), protocol.metrics, [],
                   {m["name"]: protocol.higher_is_better(m) for m in protocol.metrics})

    @property
    def metric_names(self) -> list[str]:
        return [m["name"] for m in self.metrics]

    @property
    def units(self) -> dict[str, str]:
        return {m["name"]: m.get("unit", "") for m in self.metrics}

    @property
    def lower_is_better(self) -> dict[str, bool]:
        return {name: not higher for name, higher in self.higher_is_better.items()}

    @property
    def occlusion(self) -> list[str]:
        """The metrics the protocol restricts to visible or occluded fingers (its occlusion breakdown)."""
        return [m["name"] for m in self.metrics if "fingers" in m.get("where", {})]

    def column(self, name: str, unit: str | None = None) -> dict:
        """The metric a number called ``name`` in ``unit`` is listed under: ``name`` itself in its own
        unit, else the protocol's metric that computes the same in ``unit`` (Accel_E per frame^2 for an
        acceleration error in mm/frame^2). A number is never converted, and a column never mixes units."""
        metric = {m["name"]: m for m in self.metrics}[name]
        if unit is None or unit == metric.get("unit", ""):
            return metric
        for other in self.metrics:
            if other.get("unit", "") == unit and _definition(other) == _definition(metric):
                return other
        raise ValueError(f"protocol {self.protocol['name']} has no metric computing {name} in {unit}")


def _definition(metric: dict) -> dict:
    """What a metric computes, whatever it is called and whichever unit it is printed in."""
    return {k: v for k, v in metric.items() if k not in ("name", "unit", "scale", "description")}


def reported_rows() -> list[dict]:
    return json.loads((resources.files("handeval.protocol_specs") / "reported.json").read_text())["rows"]


def find_results(args: list[str | Path]) -> tuple[list[tuple[Result, str]], list[str]]:
    """The results named by ``args``, each once, as (result, the name it is listed under), and one
    note per thing skipped.

    A file must be a result (anything else is a user error). A folder is searched recursively; its
    files that are not results are skipped with a note, except the error tables of its results. A
    result that is byte-identical to one already found (the same file twice, or a copy) is skipped
    with a note. A result is listed under its path below the folder it was found in, or its file
    name: never a path above what the user named."""
    found: list[tuple[Result, str]] = []
    notes: list[str] = []
    first: dict[str, Path] = {}  # sha256 of a result file -> where it was first found
    for arg in map(Path, args):
        if arg.is_dir():
            files = sorted(p for p in arg.rglob("*") if p.is_file())
            results = [p for p in files if why_not_a_result(p) is None]
            if not results:
                raise HandevalError(f"{arg}: no handeval result in this folder or below (RESULT.json files "
                                    "written by `handeval score`)")
            candidates = [(Result.from_file(p), p.relative_to(arg).as_posix()) for p in results]
            known = set(results) | {p for r, _ in candidates for p in (r.table_path, log_path(r.table_path))}
            others = [p.relative_to(arg).as_posix() for p in files if p not in known]
            if others:
                what = "a file that is not a handeval result" if len(others) == 1 else \
                    f"{len(others)} files that are not handeval results"
                more = f" and {len(others) - 5} more" if len(others) > 5 else ""
                notes.append(f"{arg}: skipped {what}: {', '.join(others[:5])}{more}")
        else:
            candidates = [(Result.from_file(arg), arg.name)]
        for result, shown in candidates:
            digest = sha256_file(result.path)
            if digest in first:
                notes.append(f"{result.path}: skipped, the same result as {first[digest]} (byte-identical), "
                             "listed once")
                continue
            first[digest] = result.path
            found.append((result, shown))
    return found, notes


def verify_unit(_context: None, path: str) -> dict:
    """The runner's task: one result checked against its error table (``verify_result``), and the
    frames and views the table counts."""
    _, table = verify_result(Result.from_file(path))
    return {"files": {}, "frames": clusters(table, "frame")[1], "views": len(table)}


def no_context() -> None:
    """Verifying a result needs nothing built beforehand."""


def build_boards(paths: list[str | Path], reported: bool = True, work: Path | None = None,
                 executor: Executor | None = None, progress: bool = False) -> tuple[list[Board], list[str]]:
    """One board per protocol, from the results named by ``paths`` (files or folders, see
    ``find_results``), with the papers' reported rows; and the notes on what was skipped. The
    results are verified as units of one job (``handeval.runner``) whose records and log go in
    ``work`` (default: a temporary folder)."""
    found, notes = find_results(paths)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(work or scratch)
        units = tuple(Unit(content_key("leaderboard", __version__, sha256_file(r.path), r.errors_table["sha256"]),
                           shown, {"path": str(Path(r.path).resolve())}) for r, shown in found)
        job = Job("leaderboard", "handeval.leaderboard.build:verify_unit",
                  Context("handeval.leaderboard.build:no_context"), units, folder, folder / ".units" / "leaderboard",
                  folder / "leaderboard.log.jsonl")
        report = run_job(job, executor, progress)
        report.close()
    boards: dict[str, Board] = {}
    for (r, shown), counted in zip(found, report.results):
        protocol = r.shipped_protocol()
        board = boards.setdefault(protocol.name, Board.of(protocol))
        flags = []
        warnings = [f"[{w['check']}] {w['message']}" for w in r.warnings]
        if not r.comparable:
            flags.append("not comparable: " + "; ".join(r.deviations))
        if warnings:
            flags.append("warnings: " + "; ".join(warnings))
        if r.synthetic:
            flags.append("synthetic data")
        made = r.submission.get("provenance") or {}
        flags += [f for f in made.get("flags", []) if f not in flags]
        board.rows.append(Row(r.name, "scored", r.metrics, flags, shown, r, r.comparable, warnings,
                              frames=counted["frames"], views=counted["views"], provenance=provenance_text(made),
                              speed=speed_text(r.submission.get("speed"))))
    if reported:
        for board in boards.values():
            board.rows += [_reported_row(rep, board) for rep in reported_rows()
                           if rep["protocol"] == board.protocol["name"]]
    for board in boards.values():
        first = board.metric_names[0]
        board.rows.sort(key=lambda row: (row.metrics.get(first, {}).get("value") is None,
                                         _sort_value(row, first, board.lower_is_better[first])))
    return list(boards.values()), notes


def _reported_row(rep: dict, board: Board) -> Row:
    """A paper's numbers, each under the column of its unit (``units`` in reported.json where the
    paper's unit is not the protocol metric's)."""
    metrics, flags = {}, ["reported in the paper, not reproduced"]
    for name, value in rep["metrics"].items():
        column = board.column(name, rep.get("units", {}).get(name))
        metrics[column["name"]] = {"value": value, "unit": column.get("unit", ""), "ci95": None}
        if column["name"] != name:
            flags.append(f"its {name} is under {column['name']}")
    return Row(rep["method"], "reported", metrics, flags + ([rep["note"]] if "note" in rep else []), rep["source"],
               reported_speed=reported_speed_text(rep.get("speed")))


def provenance_text(made: dict) -> str:
    """A submission's provenance in a cell: the zoo entry, its weights and where its roots come from."""
    if not made:
        return ""
    weights = made.get("weights") or {}
    parts = [made.get("entry", "?")]
    if weights.get("kind") == "checkpoint":
        parts.append(f"checkpoint sha256 {str(weights.get('sha256', '?'))[:12]}")
    elif weights.get("kind") == "random":
        parts.append("random weights")
    if made.get("placement"):
        parts.append({"gt-root": "GT root"}.get(made["placement"], made["placement"]))
    if made.get("input"):
        parts.append(f"on {provenance_text(made['input'])}")
    return " · ".join(parts)


def speed_text(speed: dict | None) -> str:
    """A measured speed: end-to-end throughput, then the model alone, on the device it ran on."""
    if not speed:
        return ""
    alone = f", model alone {speed['model_per_s']:.3g}/s" if speed.get("model_per_s") else ""
    return (f"{speed['end_to_end_per_s']:.3g}/s{alone} ({speed.get('device', '?')}, {speed.get('dtype', '?')}, "
            f"batch {speed.get('batch', '?')})")


def reported_speed_text(speed: dict | None) -> str:
    """A paper's claim, as printed, with its hardware (``speed`` in reported.json)."""
    if not speed:
        return ""
    return f"{speed['value']:g} {speed['unit']} ({speed.get('hardware', 'hardware not stated')})"


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


def count_text(n: int | None) -> str:
    return "–" if n is None else str(n)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(boards: list[Board]) -> str:
    out = ["# handeval leaderboard", "",
           "Scored rows were computed by `handeval score` (95% bootstrap intervals in brackets; frames and views "
           "scored, from the error table); *reported* rows are the papers' printed numbers, not reproduced. † not "
           "comparable (the data or the MANO model differ from what the protocol pins); ⚠ scored with warnings (a "
           "likely hand swap or camera-frame flip).", ""]
    for b in boards:
        p = b.protocol
        out += [f"## {p['name']} (v{p['version']}, sha256 {p['sha256'][:12]})", "", p["title"], ""]
        head = ["#", "method", "kind", "frames", "views"] + \
            [f"{m} ({b.units[m]})" if b.units[m] else m for m in b.metric_names] + \
            ["measured speed", "reported speed (hardware)", "provenance", "notes"]
        out.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        out.append("|" + "---|" * len(head))
        for i, row in enumerate(b.rows, 1):
            cells = [str(i), _md_escape(row.label), row.kind, count_text(row.frames), count_text(row.views)] + \
                [cell_text(row.metrics.get(m)) for m in b.metric_names] + \
                [_md_escape(t or "–") for t in (row.speed, row.reported_speed, row.provenance)] + \
                [_md_escape("; ".join(row.flags))]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def csv_cell(value):
    """A text cell that a spreadsheet would run as a formula (it begins with =, +, -, @, or a tab or
    carriage return before one) gets a leading apostrophe, OWASP's advice against CSV injection.
    Numbers are never text here, so a negative value stays a number."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_text(boards: list[Board]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["protocol", "protocol_version", "protocol_sha256", "method", "kind", "frames", "views", "metric",
                "value", "unit", "ci95_low", "ci95_high", "comparable", "warnings", "synthetic", "source",
                "measured_speed", "reported_speed", "provenance", "flags"])
    for b in boards:
        for row in b.rows:
            for m in b.metric_names:
                cell = row.metrics.get(m)
                if not cell or cell.get("value") is None:
                    continue
                ci = cell.get("ci95") or [None, None]
                w.writerow([csv_cell(v) for v in (
                    b.protocol["name"], b.protocol["version"], b.protocol["sha256"], row.name, row.kind, row.frames,
                    row.views, m, cell["value"], b.units[m], ci[0], ci[1], row.comparable, "; ".join(row.warnings),
                    "synthetic data" in row.flags, row.source, row.speed, row.reported_speed, row.provenance,
                    "; ".join(row.flags))])
    return buf.getvalue()


def write_leaderboard(paths: list[str | Path], out_dir: str | Path, reported: bool = True,
                      executor: Executor | None = None, progress: bool = False) -> tuple[dict[str, Path], list[str]]:
    """Write the three files; returns them and the notes on what was skipped (``find_results``).
    The verification's log is ``leaderboard.log.jsonl`` beside them."""
    from handeval.leaderboard.page import html_page

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    boards, notes = build_boards(paths, reported, out, executor, progress)
    files = {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv", "html": out / "index.html"}
    write_text_atomic(files["markdown"], markdown(boards))
    write_text_atomic(files["csv"], csv_text(boards))
    write_text_atomic(files["html"], html_page(boards))
    return files, notes
