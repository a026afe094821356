"""`handeval labels`: a command per label set of the registry (``handeval.labels.registry``), all of them
at once, and their summary.

Penetration and occlusion have commands of their own for their parameters; every other set gets the
common one, with the options its runner's inputs need."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from handeval.cli.options import executor_options, json_option, mano_dir_option, resume_option
from handeval.cli.output import emit_json, number

if TYPE_CHECKING:
    from handeval.shards.manifest import LabelSetEntry


class _LabelSets(click.Group):
    """Finds a label set's command in the registry when it has none of its own."""

    def list_commands(self, ctx) -> list[str]:
        from handeval.labels.registry import LABEL_SETS

        return sorted(set(super().list_commands(ctx)) | set(LABEL_SETS))

    def get_command(self, ctx, name):
        from handeval.labels.registry import LABEL_SETS

        command = super().get_command(ctx, name)
        return _set_command(LABEL_SETS[name]) if command is None and name in LABEL_SETS else command


@click.group(cls=_LabelSets)
def labels() -> None:
    """Generate labels the datasets lack, beside a converted dataset's shards."""


def _common(f):
    """The dataset folder, and where and how the units (one per source shard) run."""
    return click.argument("directory", type=str)(resume_option(executor_options(f)))


@labels.command()
@_common
@mano_dir_option
@click.option("--objects", type=str, default=None, help="Folder of object meshes ({id}/textured_simple.obj, {id}.obj).")
@click.option("--tol", type=float, default=1e-4, show_default=True,
              help="Depth below which a vertex is not inside (m).")
@click.option("--tau", type=float, default=2e-3, show_default=True, help="Contact distance (m).")
@click.option("--pitch", type=float, default=0.005, show_default=True, help="Voxel size of the volume grid (m).")
@click.option("--method", type=click.Choice(["parity", "winding"]), default="parity", show_default=True,
              help="Inside test: Open3D ray parity (fast) or generalized winding numbers (robust to self-overlap).")
@json_option
def penetration(directory, resume, executor, mano_dir, objects, tol, tau, pitch, method, as_json):
    """Hand-hand and hand-object penetration: per vertex, per frame, and volume.

    \b
    Example:
      handeval labels penetration ih5 --mano-dir ~/mano
      handeval labels penetration dex --objects $DEX_YCB_DIR/models --workers 4
      handeval labels penetration /shared/ih30 --mano-dir /shared/mano --cluster slurm --cluster-config slurm.yaml
    """
    from handeval.labels.registry import label_set

    params = dict(tol=tol, tau=tau, pitch=pitch, method=method)
    jobs = []
    entry = label_set("penetration").run(directory, mano_dir, objects, params=params, resume=resume,
                                         progress=not as_json, executor=executor, on_job=jobs.append)
    _report("penetration", entry, jobs, as_json)


@labels.command()
@_common
@mano_dir_option
@click.option("--objects", type=str, default=None, help="Folder of object meshes, to count objects as occluders.")
@click.option("--preset", type=click.Choice(["h2onet-code", "h2onet-paper"]), default="h2onet-code", show_default=True,
              help="Finger and hand thresholds: the released code's (< 30 visible, ratio < 0.40) or the paper's.")
@click.option("--root", type=str, default=None,
              help="The source root the dataset was converted from: its hand masks refine the labels (Dex-YCB, HO3D).")
@json_option
def occlusion(directory, resume, executor, mano_dir, objects, preset, root, as_json):
    """Per image: vertex, finger, joint and hand visibility (ray casting, plus hand masks where they exist).

    \b
    Example:
      handeval labels occlusion dex --objects $DEX_YCB_DIR/models --preset h2onet-paper --root $DEX_YCB_DIR
    """
    from handeval.labels.registry import label_set

    jobs = []
    entry = label_set("occlusion").run(directory, mano_dir, objects, root, preset=preset, resume=resume,
                                       progress=not as_json, executor=executor, on_job=jobs.append)
    _report("occlusion", entry, jobs, as_json)


@labels.command(name="all")
@_common
@mano_dir_option
@click.option("--objects", type=str, default=None, help="Folder of object meshes.")
@click.option("--preset", type=click.Choice(["h2onet-code", "h2onet-paper"]), default="h2onet-code", show_default=True,
              help="Finger and hand thresholds: the released code's (< 30 visible, ratio < 0.40) or the paper's.")
@click.option("--root", type=str, default=None,
              help="The source root the dataset was converted from: image statistics and hand masks need it.")
@json_option
def all_(directory, resume, executor, mano_dir, objects, preset, root, as_json):
    """Every label set (each command here but summary), with default parameters.

    \b
    Example:
      handeval labels all ih5 --mano-dir ~/mano --root /data/InterHand2.6M_5fps
    """
    from handeval.labels.objects import ObjectMeshes
    from handeval.labels.registry import LABEL_SETS

    ObjectMeshes(objects)  # a wrong --objects folder stops the run before any label is written
    options = {"preset": preset}  # the label sets' own parameters this command takes
    report = []
    with executor:  # one set of workers for every set
        for entry in LABEL_SETS.values():
            report.append(_run_one(entry, directory, mano_dir, objects, root, options, resume, executor, as_json))
    if as_json:
        emit_json(report)


def _run_one(entry, directory, mano_dir, objects, root, options, resume, executor, as_json) -> dict:
    """One set of ``labels all``: its summary, or why it was skipped."""
    from handeval.util.errors import HandevalError

    parameters = {name: options[name] for name in entry.parameters}
    jobs = []
    try:
        done = _summary(entry.name, entry.run(directory, mano_dir, objects, root, **parameters, resume=resume,
                                              progress=not as_json, executor=executor, on_job=jobs.append), jobs)
    except HandevalError as exc:
        if not entry.requires or getattr(exc, "internal", False):
            raise
        # e.g. a dataset without its images (or its --root) still gets the other labels
        done = {"labels": entry.name, "skipped": str(exc)}
        click.echo(f"{entry.name}: skipped ({exc})", err=True)
    if not as_json and "skipped" not in done:
        click.echo(_line(done))
    return done


@labels.command()
@click.argument("directory", type=str)
@click.option("--plot", type=str, default=None, help="PNG path for the plots (default: DIR/labels/summary.png).")
@json_option
def summary(directory, plot, as_json):
    """Print label distributions and plot them to PNG.

    \b
    Example:
      handeval labels summary ih5
    """
    from pathlib import Path

    from handeval.labels.subsets import SUBSET_NAMES
    from handeval.labels.summary import plot_summary, summarise_labels
    from handeval.shards.layout import SUMMARY_PLOT
    from handeval.util.atomic import check_destination

    report = summarise_labels(directory)
    if plot is not None:
        check_destination(plot, "--plot", is_folder=False)
    png = plot_summary(report, plot or Path(directory) / SUMMARY_PLOT)
    if "penetration" in report:
        report["penetration"].pop("_depths_mm")
    report["plot"] = str(png)
    if as_json:
        emit_json(report)
        return
    click.echo(f"{report['dataset']}: labels {', '.join(report['labels']) or 'none'}")
    pen = report.get("penetration")
    if pen:
        share = "n/a" if pen["penetrating_share"] is None else f"{pen['penetrating_share']:.1%}"
        click.echo(f"  hand-hand: {pen['two_hand_frames']} frames, penetrating {share}; max depth (mm) "
                   f"{_depths(pen['max_depth_mm'])}; volume (cm3) {_depths(pen['volume_cm3'])}")
        if pen["hand_object_frames"]:
            click.echo(f"  hand-object: {pen['hand_object_frames']} frames, penetrating "
                       f"{pen['hand_object_penetrating_share']:.1%}")
    occ = report.get("occlusion")
    if occ:
        rates = ", ".join(f"{k} {v:.0%}" for k, v in occ["part_occlusion_rate"].items())
        click.echo(f"  occlusion ({occ['views']} views): {rates}; hands {occ['hand_occlusion_rate']:.0%}")
    sub = report.get("subsets")
    if sub:
        counts = ", ".join(f"{name.replace('_', '-')} {sub[name]}" for name in SUBSET_NAMES)
        click.echo(f"  subsets ({sub['frames']} frames): {counts}")
    click.echo(f"  plot: {png}")


def _depths(stats: dict | None) -> str:
    if not stats:
        return "n/a"
    return ", ".join(f"{k} {number(stats[k], digits=1)}" for k in ("mean", "median", "max"))


#: The option each runner input is given by, on a label set's common command.
_INPUT_OPTIONS = {
    "mano_dir": mano_dir_option,
    "objects": click.option("--objects", type=str, default=None, help="Folder of object meshes."),
    "source_root": click.option("--root", "source_root", type=str, default=None,
                                help="The source root the dataset was converted from (`handeval convert --root`), "
                                     "with its images."),
}


def _set_command(entry) -> click.Command:
    """The common command of a label set: the dataset, the options of its runner's inputs, no parameters."""

    def command(directory, resume, executor, as_json, **inputs):
        jobs = []
        _report(entry.name, entry.run(directory, **inputs, resume=resume, progress=not as_json, executor=executor,
                                      on_job=jobs.append), jobs, as_json)

    example = f"handeval labels {entry.name} ih5" + (" --root /data/InterHand2.6M_5fps"
                                                      if "source_root" in entry.requires else "")
    command.__doc__ = f"{entry.description}\n\n\b\nExample:\n  {example}\n"
    for name in reversed(entry.inputs):
        command = _INPUT_OPTIONS[name](command)
    return click.command(name=entry.name)(_common(json_option(command)))


def _summary(name: str, entry: LabelSetEntry, jobs: list[dict]) -> dict:
    """The set's files and rows, and the runner's summary of the job that wrote them."""
    return {"labels": name, "files": len(entry.files), "rows": sum(f.rows for f in entry.files.values()),
            "parameters": entry.parameters, "job": jobs[0] if jobs else None}


def _line(summary: dict) -> str:
    return f"{summary['labels']}: {summary['rows']} rows in {summary['files']} file(s)"


def _report(name: str, entry: LabelSetEntry, jobs: list[dict], as_json: bool) -> None:
    summary = _summary(name, entry, jobs)
    if as_json:
        emit_json(summary)
    else:
        click.echo(_line(summary))
