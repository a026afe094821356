"""`handeval demo`: the whole pipeline on built-in synthetic data."""

from __future__ import annotations

import click
from handeval.cli.options import executor_options, json_option, mano_dir_option
from handeval.cli.output import emit_json, number


@click.command()
@click.option("--out", type=click.Path(file_okay=False), default="handeval-demo", show_default=True,
              help="Folder for everything the demo writes.")
@click.option("--frames", type=click.IntRange(3, 10_000), default=45, show_default=True, help="Frames to generate.")
@click.option("--fps", type=click.FloatRange(1, 240), default=30.0, show_default=True,
              help="Frame rate at which the scene is sampled (motion speed per frame, temporal metrics' time step).")
@click.option("--cameras", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Calibrated cameras around the hands (every dataset's views come from them).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the scene and of the baselines' noise: the same seed gives the same files.")
@click.option("--object", "objects", type=click.Choice(["box", "sphere", "cylinder"]), multiple=True,
              default=("box",), show_default=True,
              help="Held objects: the first in the right hand, the second in the left.")
@mano_dir_option
@executor_options
@json_option
def demo(out: str, frames: int, fps: float, cameras: int, seed: int, objects: tuple[str, ...],
         mano_dir: str | None, executor, as_json: bool) -> None:
    """Run the pipeline on a synthetic two-hand scene and print where the outputs are.

    Steps: a seeded scene of two interacting hands (apart, contact, interpenetration)
    holding an object, seen by calibrated cameras with rendered segmentation and depth
    (scene.npz + scene.json + a PNG picture); the scene written in the native layout of
    each supported dataset (raw/); each converted into canonical shards (shards/),
    labelled (penetration, occlusion, interaction subsets, image statistics, with
    summary plots) and
    validated, MANO included; four baselines (ground truth with 5 mm noise, the mean
    pose, the noise smoothed over time, and where both hands appear the noisy hands
    swapped) scored under each dataset's demo protocols
    (results/); and a leaderboard of them all beside the papers' reported numbers
    (leaderboard/).

    \b
    Example:
      handeval demo --out /tmp/demo --frames 60 --object box --object sphere
      handeval demo --out /tmp/demo --executor dask --workers 2
    """
    from handeval.demo import run_demo

    outputs = run_demo(out, frames, fps, cameras, seed, objects, mano_dir, progress=not as_json,
                       on_step=None if as_json else _print_step, executor=executor)
    if as_json:
        emit_json(outputs.to_dict())
        return
    click.echo(f"Leaderboard ({len(outputs.results)} scored results + the papers' reported rows):")
    for kind, path in outputs.leaderboard.items():
        click.echo(f"  {kind:<12} : {path}")


def _print_step(step: str, facts: dict) -> None:
    """Each step's lines as it ends (click.echo flushes)."""
    if step == "scene":
        o = facts["outputs"]
        mano_note = "synthetic MANO stand-in" if o.synthetic_mano else f"MANO from {o.mano_files['right'].parent}"
        click.echo(f"Synthetic scene ({mano_note}): {o.frames} frames, {o.cameras} cameras, "
                   f"objects: {', '.join(o.objects) or 'none'}")
        click.echo(f"  scene arrays : {o.scene['scene_arrays']}")
        click.echo(f"  scene meta   : {o.scene['scene_meta']}")
        click.echo(f"  picture      : {o.scene['picture']}")
    elif step == "dataset":
        status = "valid" if facts["problems"] == 0 else f"{facts['problems']} PROBLEMS (run handeval validate)"
        click.echo(f"{facts['name']}: native files {facts['raw']}")
        click.echo(f"  shards       : {facts['shards']} ({facts['frames']} frames, {facts['views']} views; {status})")
        click.echo(f"  labels       : {', '.join(facts['labels'])}; plots {facts['labels_plot']}")
    elif step == "scoring":
        click.echo(f"{facts['name']}: scores -> {facts['results']}")
    elif step == "zoo":
        click.echo(f"zoo: {facts['name']:<28} {facts['path']}")
    elif step == "profile":
        click.echo(f"zoo profile ({facts['path']}):")
        click.echo("\n".join("  " + line for line in facts["text"].splitlines()))
    elif step == "score":
        click.echo(f"  {facts['protocol']:<40} {facts['baseline']:<14} {_headline(facts['result'])}")


def _headline(result: dict, count: int = 3) -> str:
    """The result's first metrics, with a dagger when not comparable with the papers'."""
    shown = [f"{metric} {number(m['value'], m['unit'])}" + (f" {m['unit']}" if m["unit"] else "")
             for metric, m in [(k, m) for k, m in result["metrics"].items() if m["value"] is not None][:count]]
    return ", ".join(shown) + (" †" if not result["comparable"] else "")
