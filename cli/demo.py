"""`handeval demo`: the whole pipeline on built-in synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import click
from handeval.cli.options import json_option, mano_dir_option


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
@json_option
def demo(out: str, frames: int, fps: float, cameras: int, seed: int, objects: tuple[str, ...],
         mano_dir: str | None, as_json: bool) -> None:
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
    """
    from handeval.baselines import DEMO_PROTOCOLS, write_baselines
    from handeval.convert import convert
    from handeval.labels.run import run_images, run_occlusion, run_penetration, run_subsets
    from handeval.labels.store import SUMMARY_PLOT
    from handeval.labels.summary import plot_summary, summarise_labels
    from handeval.leaderboard import write_leaderboard
    from handeval.mano import mano_files
    from handeval.protocols import load_protocol
    from handeval.readers import open_reader
    from handeval.scoring.score import score
    from handeval.shards import ShardDataset
    from handeval.shards.validate import validate_dataset
    from handeval.synth.native import write_native
    from handeval.synth.picture import scene_picture
    from handeval.synth.scene import make_scene

    out_dir = Path(out).resolve()
    say = (lambda line: None) if as_json else click.echo  # click.echo flushes: lines appear as each step ends
    files = mano_files(mano_dir)
    scene = make_scene(seed=seed, num_frames=frames, fps=fps, num_cameras=cameras, objects=objects,
                       mano_dir=mano_dir, progress=not as_json)
    paths = scene.save(out_dir / "scene")
    picture = scene_picture(scene, out_dir / "scene.png")
    mano_note = "synthetic MANO stand-in" if scene.synthetic_mano else f"MANO from {files['right'].parent}"
    say(f"Synthetic scene ({mano_note}): {scene.num_frames} frames, {scene.cameras.num_cameras} cameras, "
        f"objects: {', '.join(o.name for o in scene.objects) or 'none'}")
    say(f"  scene arrays : {paths['arrays']}")
    say(f"  scene meta   : {paths['meta']}")
    say(f"  picture      : {picture}")
    datasets = {}
    for name, (raw_root, variant) in write_native(scene, out_dir / "raw", mano_dir, progress=not as_json).items():
        shards = out_dir / "shards" / name
        reader = open_reader(name, raw_root, variant)
        info = convert(reader, shards, progress=not as_json, overwrite=True, synthetic=True)
        objects = out_dir / "raw" / "DexYCB" / "models"  # the YCB-layout meshes of the demo's objects
        run_subsets(shards, progress=False)
        run_penetration(shards, mano_dir, objects, progress=False)
        run_occlusion(shards, mano_dir, objects, source_root=raw_root, progress=False)
        run_images(shards, raw_root, progress=False)
        summary = plot_summary(summarise_labels(shards), shards / SUMMARY_PLOT)
        problems, _ = validate_dataset(shards, mano_dir=str(files["right"].parent))
        d = datasets[name] = {"raw": str(raw_root), "shards": str(shards), "problems": len(problems),
                              "labels_plot": str(summary),
                              "frames": sum(s["frames"] for s in info["splits"].values()),
                              "views": sum(s["views"] for s in info["splits"].values())}
        status = "valid" if d["problems"] == 0 else f"{d['problems']} PROBLEMS (run handeval validate)"
        say(f"{name}: native files {d['raw']}")
        say(f"  shards       : {d['shards']} ({d['frames']} frames, {d['views']} views; {status})")
        say(f"  labels       : penetration, occlusion, subsets, image statistics; plots {d['labels_plot']}")
    results = []
    for name, protocols in DEMO_PROTOCOLS.items():
        ds = ShardDataset(out_dir / "shards" / name)
        # Dex-YCB's demo sequences all fall in S0's train split: scored there, marked not comparable.
        split = "s0_train" if name == "dexycb" else None
        subs = write_baselines(ds, split or load_protocol(protocols[0]).split, out_dir / "submissions" / name,
                               mano_dir=mano_dir)
        say(f"{name}: scores -> {out_dir / 'results'}")
        for protocol in protocols:
            for baseline, path in subs.items():
                out_json = out_dir / "results" / protocol.replace("/", "__") / f"{name}-{baseline}.json"
                result = score(ds.root, path, protocol, out_json, name=f"{baseline} (demo)", split=split,
                               mano_dir=mano_dir, allow_deviation=True, replicates=200, progress=False)
                say(f"  {protocol:<40} {baseline:<14} {_headline(result)}")
                results.append(out_json)
        datasets[name]["results"] = str(out_dir / "results")
    board, _ = write_leaderboard(results, out_dir / "leaderboard")
    if as_json:
        click.echo(json.dumps({
            "synthetic": True, "synthetic_mano": scene.synthetic_mano,
            "mano_files": {k: str(v) for k, v in files.items()},
            "frames": scene.num_frames, "cameras": scene.cameras.num_cameras,
            "outputs": {"scene_arrays": str(paths["arrays"]), "scene_meta": str(paths["meta"]),
                        "picture": str(picture)},
            "datasets": datasets,
            "results": [str(r) for r in results],
            "leaderboard": {k: str(v) for k, v in board.items()},
        }, indent=2))
        return
    say(f"Leaderboard ({len(results)} scored results + the papers' reported rows):")
    for kind, path in board.items():
        say(f"  {kind:<12} : {path}")


def _headline(result: dict, count: int = 3) -> str:
    """The result's first metrics, rounded as people read them (mm to 0.01, ratios to 1e-4)."""
    shown = []
    for metric, m in [(k, m) for k, m in result["metrics"].items() if m["value"] is not None][:count]:
        shown.append(f"{metric} {m['value']:.2f} {m['unit']}" if m["unit"] else f"{metric} {m['value']:.4f}")
    return ", ".join(shown) + (" †" if not result["comparable"] else "")
