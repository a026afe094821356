"""How commands print: one JSON writer for ``--json`` and one number formatter for text."""

from __future__ import annotations

import json

import click


def emit_json(value) -> None:
    """``value`` as indented JSON on stdout, for scripts (``--json``)."""
    click.echo(json.dumps(value, indent=2))


def number(value: float | None, unit: str = "", digits: int | None = None) -> str:
    """A number as people read it: ``n/a`` for None; values with a unit (mm, px, mm/frame²) to 0.01,
    unitless ones (ratios, AUCs) to 1e-4 unless 10 or more, unless ``digits`` says otherwise. Finer digits
    would show the last bits of BLAS results, which differ between machines."""
    if value is None:
        return "n/a"
    if digits is None:
        digits = 4 if not unit and abs(value) < 10 else 2
    return f"{value:.{digits}f}"
