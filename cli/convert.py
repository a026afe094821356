"""`handeval convert`, `handeval info`, `handeval validate`: canonical shards."""

from __future__ import annotations

import json
import sys

import click

from handeval.cli.options import json_option, mano_dir_option
from handeval.errors import ExitCode
from handeval.readers import READERS


@click.command()
@click.argument("dataset", type=click.Choice(sorted(READERS)))
@click.option("--root", required=True, type=str, help="The dataset's root folder, in its official layout.")
@click.option("--out", required=True, type=str, help="Folder for the converted dataset (meta/ and data/).")
@click.option("--split", "splits", multiple=True, help="Split(s) to convert (default: every split present).")
@click.option("--variant", default=None, help="Dataset variant, e.g. interhand26m: 5fps|30fps, v1.0|v0.0, H|M|H+M.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True, help="Shards written in parallel.")
@click.option("--resume", is_flag=True, help="Keep the shards an interrupted run finished; write the rest.")
@click.option("--skip-bad", is_flag=True, help="Skip (and record) sequences whose source files are corrupt or missing.")
@click.option("--target-frames", type=click.IntRange(1), default=100_000, show_default=True,
              help="Shard size target, in frames (whole sequences per shard).")
@click.option("--chunk-frames", type=click.IntRange(1), default=10_000, show_default=True,
              help="Longest row group: sequences longer than this are split into chunks.")
@json_option
def convert(dataset, root, out, splits, variant, workers, resume, skip_bad, target_frames, chunk_frames, as_json):
    """Convert a dataset from its official layout into canonical Parquet shards.

    \b
    Examples:
      handeval convert interhand26m --root /data/InterHand2.6M_5fps --out ih5 --split test
      handeval convert interhand26m --root /data/IH_30fps --out ih30 --variant 30fps --workers 4 --resume
    """
    from handeval.convert import convert as run
    from handeval.readers import open_reader

    reader = open_reader(dataset, root, variant, progress=not as_json)
    info = run(reader, out, splits=list(splits) or None, target_frames=target_frames, chunk_frames=chunk_frames,
               workers=workers, resume=resume, skip_bad=skip_bad, progress=not as_json,
               command=["handeval", *sys.argv[1:]])
    summary = {split: {k: v for k, v in meta.items() if k in ("frames", "views", "sequences", "skipped", "left_out")}
               for split, meta in info["splits"].items()}
    if as_json:
        click.echo(json.dumps({"out": out, "splits": summary}, indent=2))
        return
    d = info["dataset"]
    click.echo(f"{d['name']} {d['version']} ({d['variant']})")
    for split, s in summary.items():
        skipped = f", {len(s['skipped'])} skipped" if s["skipped"] else ""
        click.echo(f"{split}: {s['sequences']} sequences, {s['frames']} frames, {s['views']} views{skipped}")
        for item in s["left_out"][:10]:
            click.echo(f"  left out: {item}")
        if len(s["left_out"]) > 10:
            click.echo(f"  ... and {len(s['left_out']) - 10} more left out (meta/info.json splits.{split}.left_out)")
    click.echo(f"written to {out}")


@click.command()
@click.argument("directory", type=str)
@json_option
def info(directory: str, as_json: bool) -> None:
    """Summarise a converted dataset: counts per split and which annotations exist.

    \b
    Example:
      handeval info ih5
    """
    from handeval.shards.inspect import summarise

    report = summarise(directory)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    d = report["dataset"]
    click.echo(f"{d['name']} {d['version']} ({d['variant']}), format {report['format_version']}")
    for split, s in report["splits"].items():
        click.echo(f"  {split}: {s['sequences']} sequences, {s['frames']} frames, {s['views']} views")
        have = ", ".join(f"{k} {v:.0%}" for k, v in s["annotated"].items())
        click.echo(f"    annotated (non-null share): {have}")
        for key, why in s["missing"].items():
            click.echo(f"    missing {key}: {why}")


@click.command()
@click.argument("directory", type=str)
@mano_dir_option
@click.option("--mano-tolerance-mm", type=float, default=15.0, show_default=True,
              help="Largest mean joint distance between MANO and the stored joints before it is a problem.")
@json_option
def validate(directory: str, mano_dir: str | None, mano_tolerance_mm: float, as_json: bool) -> None:
    """Check a converted dataset: schema, checksums, frames, values, validity, MANO.

    MANO-versus-joints agreement is checked when --mano-dir (or HANDEVAL_MANO_DIR) is given.
    Every problem is listed; the exit status is 1 if there is any.

    \b
    Example:
      handeval validate ih5 --mano-dir ~/mano
    """
    from handeval.shards.validate import validate_dataset

    problems, checked = validate_dataset(directory, mano_dir=mano_dir, mano_tolerance_mm=mano_tolerance_mm)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "checked": checked, "problems": problems}, indent=2))
    else:
        for p in problems:
            click.echo(f"PROBLEM [{p['check']}] {p['where']}: {p['message']}")
        click.echo(f"{len(problems)} problem(s); checked: {', '.join(checked)}")
    if problems:
        sys.exit(ExitCode.PROBLEMS)
