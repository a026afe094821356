"""The import direction of data_specs/architecture.md: each package imports only what its row allows,
and no stage imports a later one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "data_specs" / "architecture.md"
#: The stages in import order: raw files -> reader -> canonical records -> shards -> labels and scores -> reports,
#: with the records first because they are the contract the readers fill (a reader imports their type).
FLOW = ("records", "readers", "shards", "labels", "scoring", "leaderboard")


def _units() -> dict[str, Path]:
    """Every package and top-level module of handeval, by the name the document gives it."""
    units = {p.name: p for p in (ROOT / "handeval").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    units |= {p.stem: p for p in (ROOT / "handeval").glob("*.py")}
    units["cli"] = ROOT / "cli"
    return units


def _allowed() -> dict[str, set[str]]:
    section = DOC.read_text().split("## Packages", 1)[1].split("\n## ", 1)[0]
    names = set(_units())
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        unit = cells[0].strip("`").rstrip("/").removesuffix(".py")
        may = cells[2]
        if may == "none":
            out[unit] = set()
        elif may == "every package":
            out[unit] = names - {unit}
        elif may == "every package but `cli`":
            out[unit] = names - {unit, "cli"}
        else:
            out[unit] = set(re.findall(r"`([a-z_]+)`", may))
    return out


def _imports(path: Path) -> dict[str, str]:
    """The handeval units the files under ``path`` import (module-level or inside functions), each with
    one file that does, including the names a lazy namespace table maps to other packages."""
    found = {}
    for f in sorted([path] if path.is_file() else path.rglob("*.py")):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "handeval":
                modules = [node.module] if node.module != "handeval" else [f"handeval.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                modules = re.findall(r"^handeval\.[a-z_.]+$", node.value)
            for m in modules:
                parts = m.split(".")
                if parts[0] == "handeval" and len(parts) > 1:
                    found.setdefault(parts[1], str(f.relative_to(ROOT)))
    return found


def test_every_package_has_a_row():
    assert set(_units()) <= set(_allowed()), set(_units()) - set(_allowed())


def test_no_stage_may_import_a_later_stage():
    allowed = _allowed()
    for i, stage in enumerate(FLOW):
        assert not allowed[stage] & set(FLOW[i + 1:]), stage


def test_every_import_is_allowed():
    allowed, units = _allowed(), _units()
    wrong = []
    for unit, path in units.items():
        for target, where in _imports(path).items():
            if target != unit and target in units and target not in allowed[unit]:
                wrong.append(f"{where} imports handeval.{target}, which data_specs/architecture.md does not allow "
                             f"{unit} to import")
    assert not wrong, "\n".join(wrong)


def test_the_modules_the_document_names_exist():
    text = DOC.read_text()
    for rel in sorted(set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)`", text))):
        candidates = [ROOT / "handeval" / rel, ROOT / rel]
        assert any(c.is_file() for c in candidates), rel
