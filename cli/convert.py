"""`handeval convert`, `handeval info`, `handeval validate`: canonical shards."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from handeval.cli.options import executor_options, json_option, mano_dir_option, resume_option
from handeval.cli.output import emit_json

from handeval.readers import READERS
from handeval.util.errors import ExitCode

_SPLITS_HELP = ("Split(s) to convert (default: " + "; ".join(f"{key} {reader.default_splits_help}"
                                                             for key, reader in READERS.items()) + ").")


@click.command()
@click.argument("dataset", type=click.Choice(sorted(READERS)))
@click.option("--root", required=True, type=str, help="The dataset's root folder, in its official layout.")
@click.option("--out", required=True, type=str, help="Folder for the converted dataset (meta/ and data/): "
              "new or empty, or an earlier run of the same command to continue, unless --overwrite.")
@click.option("--split", "splits", multiple=True, help=_SPLITS_HELP)
@click.option("--variant", default=None, help="Dataset variant, e.g. interhand26m: 5fps|30fps, v1.0|v0.0, H|M|H+M.")
@executor_options
@resume_option
@click.option("--overwrite", is_flag=True, help="Replace the converted dataset already in --out.")
@click.option("--skip-bad", is_flag=True, help="Skip (and record) sequences whose source files are corrupt or missing.")
@click.option("--target-frames", type=click.IntRange(1), default=100_000, show_default=True,
              help="Shard size target, in frames (whole sequences per shard).")
@click.option("--chunk-frames", type=click.IntRange(1), default=10_000, show_default=True,
              help="Longest row group: sequences longer than this are split into chunks.")
@json_option
def convert(dataset, root, out, splits, variant, executor, resume, overwrite, skip_bad, target_frames, chunk_frames,
            as_json):
    """Convert a dataset from its official layout into canonical Parquet shards.

    Missing images and skipped sequences are counted in the summary and recorded in
    meta/info.json. The shards are units of one job: Ctrl-C, a killed machine or a failed
    shard keeps every finished one, and running the same command again writes the rest.
    Per-shard timings go to meta/logs/convert.log.jsonl.

    \b
    Examples:
      handeval convert interhand26m --root /data/InterHand2.6M_5fps --out ih5 --split test
      handeval convert interhand26m --root /data/IH_30fps --out ih30 --variant 30fps --workers 4
      handeval convert interhand26m --root /shared/IH_30fps --out /shared/ih30 --variant 30fps \\
          --cluster slurm --cluster-config slurm.yaml
    """
    from handeval.api import convert as run
    from handeval.shards.convert import JOURNAL

    jobs = []
    try:
        manifest = run(dataset, root, out, variant, splits=list(splits) or None, target_frames=target_frames,
                       chunk_frames=chunk_frames, executor=executor, resume=resume, overwrite=overwrite,
                       skip_bad=skip_bad, progress=not as_json, on_job=jobs.append)
    except KeyboardInterrupt:
        journal = Path(out) / JOURNAL
        click.echo("Interrupted: the finished shards are kept; run the same command again to continue."
                   if journal.is_file() else "Interrupted before anything was written.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    shown = ("frames", "views", "sequences", "skipped", "missing_files", "left_out")
    summary = {}
    for split, meta in manifest.splits.items():
        listed = meta.to_dict()
        summary[split] = {k: listed[k] for k in shown}
    if as_json:
        emit_json({"out": out, "splits": summary, "job": jobs[0] if jobs else None})
        return
    d = manifest.dataset
    click.echo(f"{d.name} {d.version} ({d.variant})")
    for split, s in summary.items():
        click.echo(f"{split}: {s['sequences']} sequences, {s['frames']} frames, {s['views']} views")
        for line in source_problems(split, s):
            click.echo(f"  {line}")
        for item in s["left_out"][:10]:
            click.echo(f"  left out: {item}")
        if len(s["left_out"]) > 10:
            click.echo(f"  ... and {len(s['left_out']) - 10} more left out (meta/info.json splits.{split}.left_out)")
    click.echo(f"written to {out}")


def source_problems(split: str, meta: dict, shown: int = 10) -> list[str]:
    """The split's skipped sequences and missing source files, counted, the first ``shown`` of each listed."""
    skipped, missing = meta.get("skipped", []), meta.get("missing_files", [])
    if not skipped and not missing:
        return []
    absent = sum(m["files"] for m in missing)
    parts = [f"{len(skipped)} sequence(s) skipped"] * bool(skipped) + [f"{absent} file(s) missing"] * bool(absent)
    keys = " and ".join(k for k, v in (("skipped", skipped), ("missing_files", missing)) if v)
    lines = [f"{len(skipped) + absent} source file(s) missing or unreadable: {', '.join(parts)} (meta/info.json "
             f"splits.{split}: {keys})"]
    lines += [f"skipped {k['sequence']}: " + (f"{k['file']}: " if k.get("file") else "") + k["reason"]
              for k in skipped[:shown]]
    lines += [f"missing: {m['path']}" + (f" ({m['files']} files)" if m["path"].endswith("/") else "")
              for m in missing[:shown]]
    if len(skipped) > shown or len(missing) > shown:
        lines.append("... (the rest in meta/info.json)")
    return lines


@click.command()
@click.argument("directory", type=str)
@json_option
def info(directory: str, as_json: bool) -> None:
    """Summarise a converted dataset: counts per split, which annotations exist, missing source files.

    \b
    Example:
      handeval info ih5
    """
    from handeval.shards.inspect import summarise_dataset

    report = summarise_dataset(directory)
    if as_json:
        emit_json(report)
        return
    d = report["dataset"]
    click.echo(f"{d['name']} {d['version']} ({d['variant']}), format {report['format_version']}")
    if report["synthetic"]:
        click.echo("  SYNTHETIC: generated by handeval (the demo), not the real dataset; no score on it is a real one")
    click.echo(f"  converted by: {report['command']}")
    click.echo(f"  labels: {', '.join(report['labels']) or 'none (`handeval labels all`)'}")
    for split, s in report["splits"].items():
        click.echo(f"  {split}: {s['sequences']} sequences, {s['frames']} frames, {s['views']} views")
        have = ", ".join(f"{k} {v:.0%}" for k, v in s["annotated"].items())
        click.echo(f"    annotated (non-null share): {have}")
        for key, why in s["missing"].items():
            click.echo(f"    missing {key}: {why}")
        for line in source_problems(split, s):
            click.echo(f"    {line}")


@click.command()
@click.argument("directory", type=str)
@mano_dir_option
@click.option("--mano-tolerance-mm", type=float, default=15.0, show_default=True,
              help="Largest mean joint distance between MANO and the stored joints before it is a problem.")
@click.option("--root", type=str, default=None,
              help="The source root it was converted from: check that every view's image exists (no decoding).")
@json_option
def validate(directory: str, mano_dir: str | None, mano_tolerance_mm: float, root: str | None, as_json: bool) -> None:
    """Check a converted dataset: schema, checksums, files, sources, frames, values, validity, MANO, images.

    MANO-versus-joints agreement is checked when --mano-dir (or HANDEVAL_MANO_DIR) is given,
    and the images when --root is. Every problem is listed; the exit status is 1 if there is any.

    \b
    Example:
      handeval validate ih5 --mano-dir ~/mano --root /data/InterHand2.6M_5fps
    """
    from handeval.shards.manifest import INFO_PATH
    from handeval.shards.validate import validate_dataset
    from handeval.util.errors import HandevalError

    if not (Path(directory) / INFO_PATH).is_file():  # nothing to validate: a wrong path, not a problem found
        raise HandevalError(f"{directory} " + ("does not exist" if not Path(directory).exists() else
                            f"is not a converted dataset: {INFO_PATH} is missing") + "; give the --out folder of "
                            "`handeval convert`")
    problems, checked = validate_dataset(directory, mano_dir=mano_dir, mano_tolerance_mm=mano_tolerance_mm,
                                         source_root=root)
    if as_json:
        emit_json({"ok": not problems, "checked": checked, "problems": problems})
    else:
        for p in problems:
            click.echo(f"PROBLEM [{p['check']}] {p['where']}: {p['message']}")
        click.echo(f"{len(problems)} problem(s); checked: {', '.join(checked)}")
    if problems:
        sys.exit(ExitCode.PROBLEMS)
