"""`handeval mano`: inspect and import MANO model files."""

from __future__ import annotations

import click
import numpy as np
from handeval.cli.options import json_option, mano_dir_option
from handeval.cli.output import emit_json


@click.group()
def mano() -> None:
    """Inspect and import MANO model files."""


@mano.command("import")
@click.argument("src", type=str)
@click.argument("dst", type=str)
@json_option
def import_(src: str, dst: str, as_json: bool) -> None:
    """Convert the official MANO pkl files at SRC into plain .npz files in DST.

    SRC is MANO_RIGHT.pkl, MANO_LEFT.pkl, or a folder holding them (for example the
    unpacked mano_v1_2/models). The official files pickle chumpy objects, which do not
    load on Python 3.11 with numpy 2; handeval rebuilds the arrays without chumpy,
    checks every key's shape, and writes pickle-free files. Then use --mano-dir DST or
    set HANDEVAL_MANO_DIR=DST.

    \b
    Example:
      handeval mano import ~/Downloads/mano_v1_2/models ~/mano
    """
    from handeval.mano import import_models

    written = import_models(src, dst)
    rows = [{"side": m.side, "source": str(m.path), "written": str(out), "had_chumpy": m.had_chumpy,
             "synthetic": m.synthetic} for m, out in written]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        note = " (chumpy objects converted)" if row["had_chumpy"] else ""
        click.echo(f"{row['side']:>5}: {row['source']} -> {row['written']}{note}")
    click.echo(f"Use it with --mano-dir {dst} or export HANDEVAL_MANO_DIR={dst}")


@mano.command()
@mano_dir_option
@json_option
def info(mano_dir: str | None, as_json: bool) -> None:
    """Describe the MANO model files in use: paths, shapes, topology and conventions.

    \b
    Example:
      handeval mano info --mano-dir ~/mano
    """
    from handeval.mano import left_shapedirs_state, mano_files, read_model_file, seal_wrist, vertex_parts
    from handeval.mano.parts import PARTS

    files = mano_files(mano_dir)
    models = {side: read_model_file(path, side=side) for side, path in files.items()}
    report = {"synthetic": any(m.synthetic for m in models.values()), "models": {}}
    for side, m in models.items():
        seal = seal_wrist(m.arrays["f"], m.arrays["v_template"])
        parts = np.bincount(vertex_parts(m.arrays["weights"]), minlength=len(PARTS))
        report["models"][side] = {
            "path": str(m.path), "synthetic": m.synthetic, "had_chumpy": m.had_chumpy,
            "shapes": {k: list(np.shape(v)) for k, v in m.arrays.items() if np.ndim(v) > 0},
            "wrist_ring": seal.ring.tolist(), "closed_faces": len(seal.faces),
            "faces_flipped_when_closed": seal.flipped,
            "part_vertex_counts": dict(zip(PARTS, parts.tolist())),
        }
    report["left_shapedirs"] = left_shapedirs_state(models["left"], models["right"])
    if as_json:
        emit_json(report)
        return
    if report["synthetic"]:
        click.echo("SYNTHETIC: the procedural MANO stand-in (not the real MANO model); "
                   "pass --mano-dir or set HANDEVAL_MANO_DIR for real files.")
    for side, r in report["models"].items():
        click.echo(f"{side}: {r['path']}")
        click.echo("  " + ", ".join(f"{k} {tuple(v)}" for k, v in r["shapes"].items()))
        click.echo(f"  wrist opening: {len(r['wrist_ring'])} vertices; closed mesh: {r['closed_faces']} faces"
                   f"{' (winding flipped)' if r['faces_flipped_when_closed'] else ''}")
        click.echo("  parts: " + ", ".join(f"{k} {v}" for k, v in r["part_vertex_counts"].items()))
    explain = {"same-as-right": "same as the right hand's (the official files' bug; fix per dataset)",
               "mirrored": "already mirrored (the fix is applied in the file)", "other": "neither (custom file)"}
    click.echo(f"left shapedirs: {explain[report['left_shapedirs']]}")
