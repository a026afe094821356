"""`handeval labels`: penetration, occlusion and interaction-subset labels over converted shards."""

from __future__ import annotations

import json

import click

from handeval.cli.options import json_option, mano_dir_option


@click.group()
def labels() -> None:
    """Generate labels the datasets lack, beside a converted dataset's shards."""


def _common(f):
    f = click.option("--resume", is_flag=True, help="Keep label files whose source shards and parameters match.")(f)
    return click.argument("directory", type=str)(f)


@labels.command()
@_common
@mano_dir_option
@click.option("--objects", type=str, default=None, help="Folder of object meshes ({id}/textured_simple.obj, {id}.obj).")
@click.option("--tol", type=float, default=1e-4, show_default=True, help="Depth below which a vertex is not inside (m).")
@click.option("--tau", type=float, default=2e-3, show_default=True, help="Contact distance (m).")
@click.option("--pitch", type=float, default=0.005, show_default=True, help="Voxel size of the volume grid (m).")
@click.option("--method", type=click.Choice(["parity", "winding"]), default="parity", show_default=True,
              help="Inside test: Open3D ray parity (fast) or generalized winding numbers (robust to self-overlap).")
@json_option
def penetration(directory, resume, mano_dir, objects, tol, tau, pitch, method, as_json):
    """Hand-hand and hand-object penetration: per vertex, per frame, and volume.

    \b
    Example:
      handeval labels penetration ih5 --mano-dir ~/mano
      handeval labels penetration dex --objects $DEX_YCB_DIR/models
    """
    from handeval.labels.run import run_penetration

    entry = run_penetration(directory, mano_dir, objects, dict(tol=tol, tau=tau, pitch=pitch, method=method),
                            resume=resume, progress=not as_json)
    _report("penetration", entry, as_json)


@labels.command()
@_common
@json_option
def subsets(directory, resume, as_json):
    """Interacting, closely interacting (< 40 mm) and single-hand frames.

    \b
    Example:
      handeval labels subsets ih5
    """
    from handeval.labels.run import run_subsets

    _report("subsets", run_subsets(directory, resume=resume, progress=not as_json), as_json)


def _report(name: str, entry: dict, as_json: bool) -> None:
    rows = sum(f["rows"] for f in entry["files"].values())
    if as_json:
        click.echo(json.dumps({"labels": name, "files": len(entry["files"]), "rows": rows,
                               "parameters": entry["parameters"]}, indent=2))
    else:
        click.echo(f"{name}: {rows} rows in {len(entry['files'])} file(s)")
