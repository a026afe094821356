"""`handeval zoo`: the model zoo's entries, running them, their cost, and the post-processors."""

from __future__ import annotations

from pathlib import Path

import click
from handeval.cli.options import executor_options, json_option, mano_dir_option, resume_option
from handeval.cli.output import emit_json

_DEVICE = click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
_DTYPE = click.option("--dtype", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32", show_default=True,
                      help="Autocast dtype of the network (MANO, decoding and geometry stay float32).")


@click.group()
def zoo() -> None:
    """Models, baselines, filters and optimisers that produce predictions, run the same way.

    \b
    Example:
      handeval zoo list
      handeval zoo run tiny --gt shards/ih --root raw/ih --split test --out tiny.parquet
      handeval score --gt shards/ih --pred tiny.parquet --protocol interhand26m-5fps-ih/intaghand --out tiny.json
    """


@zoo.command("list")
@json_option
def list_entries(as_json: bool) -> None:
    """Every entry, built-in and from installed plug-ins (entry-point group handeval.models), with its flags.

    \b
    Example:
      handeval zoo list
      handeval zoo list --json | jq '.[] | select(.oracle | not) | .name'
    """
    from handeval.zoo.registry import entries

    known = entries()
    if as_json:
        emit_json([{**e.to_dict(), "flags": e.flags()} for e in known.values()])
        return
    width = max(len(n) for n in known)
    for entry in known.values():
        flags = ", ".join(entry.flags())
        click.echo(f"{entry.name:<{width}}  {entry.kind:<9}  {entry.summary}" + (f"  [{flags}]" if flags else ""))


@zoo.command("show")
@click.argument("entry")
@json_option
def show(entry: str, as_json: bool) -> None:
    """Everything an entry declares: inputs, outputs, weights, licence, flags, the paper's claims.

    \b
    Example:
      handeval zoo show internet
    """
    from handeval.zoo.registry import get_entry

    spec = get_entry(entry)
    data = {**spec.to_dict(), "flags": spec.flags()}
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if value not in (None, "", (), [], {}):
            click.echo(f"{key}: {value}")


@zoo.command("run")
@click.argument("entry")
@click.option("--gt", "gt_dir", required=True, help="The converted dataset (`handeval convert --out`).")
@click.option("--root", required=True, help="The folder the dataset was converted from: the images are read there.")
@click.option("--split", required=True, help="The split to predict.")
@click.option("--out", required=True, help="The submission to write (.parquet); its run manifest goes beside it "
              "as NAME.run.json.")
@click.option("--checkpoint", default=None, metavar="FILE", help="The entry's weights, a file you obtained "
              "(.safetensors preferred; a .pth is read with torch.load(weights_only=True), never unpickled).")
@click.option("--random-weights", is_flag=True, help="Run an adapter with random weights: its cost and the pipeline, "
              "not its accuracy (the rows are flagged).")
@_DEVICE
@_DTYPE
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True, help="Views per forward pass.")
@click.option("--loader-workers", type=click.IntRange(0), default=2, show_default=True,
              help="DataLoader processes decoding and cropping images.")
@click.option("--boxes", default=None, metavar="FILE.parquet", help="A detector's boxes (sequence, frame, camera, "
              "x0, y0, x1, y1) for entries whose box source is 'detector'.")
@mano_dir_option
@executor_options
@resume_option
@json_option
def run(entry, gt_dir, root, split, out, checkpoint, random_weights, device, dtype, batch, loader_workers, boxes,
        mano_dir, executor, resume, as_json) -> None:
    """Run a network entry over a converted split: crops by the entry's rule, autocast on the network only,
    a canonical submission with its provenance, and a run manifest (device, versions, timings, memory).

    One unit per source shard: an interrupted run resumes, and --executor dask spreads the shards
    over (GPU) workers. Score the submission with `handeval score` as any other.

    \b
    Example:
      handeval zoo run tiny --gt shards/ih --root raw/ih --split test --out tiny.parquet
      handeval zoo run internet --checkpoint snapshot_20.safetensors --device cuda --dtype bf16 --batch 64 \\
          --gt shards/ih --root /data/InterHand2.6M --split test --out internet.parquet
    """
    from handeval.zoo.run import manifest_path, run_entry

    record = run_entry(entry, gt_dir, split, out, root, checkpoint, random_weights, device, dtype, batch,
                       loader_workers, boxes, mano_dir, executor, progress=not as_json, resume=resume)
    if as_json:
        emit_json({**record, "manifest": str(manifest_path(Path(out)))})
        return
    t = record["timing"]
    click.echo(f"{out}: {record['views']} views by {entry} [{', '.join(record['flags'])}]"
               + (" (up to date)" if record.get("reused") else ""))
    click.echo(f"  end to end {_rate(t['end_to_end'])}, model alone {_rate(t['model_alone'])} on "
               f"{record['device']['name']} ({record['dtype']}, batch {record['batch']})")
    click.echo(f"  run manifest: {manifest_path(Path(out))}")


def _rate(timing: dict) -> str:
    rate = timing["throughput_per_s"]
    return "n/a (one batch: warm-up only)" if rate is None else f"{rate:.3g} views/s"


@zoo.command("profile")
@click.argument("entry")
@_DEVICE
@_DTYPE
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True, help="Batch of the throughput run.")
@click.option("--repeats", type=click.IntRange(3), default=20, show_default=True, help="Timed forward passes.")
@mano_dir_option
@json_option
def profile(entry, device, dtype, batch, repeats, mano_dir, as_json) -> None:
    """A network's cost: parameters, GMACs per part (torch.utils.flop_counter), latency p50/p95 at batch 1,
    throughput at --batch, and the fp32-versus-bf16 output difference in mm. Weights do not change the cost:
    adapters are profiled with random weights.

    \b
    Example:
      handeval zoo profile internet
      handeval zoo profile interwild --device cuda --dtype bf16 --batch 64 --json
    """
    from handeval.zoo.profile import profile_model
    from handeval.zoo.registry import get_entry
    from handeval.zoo.run import build_model

    model, _ = build_model(get_entry(entry), random_weights=True, mano_dir=mano_dir)
    result = profile_model(model, device=device, dtype=dtype, batch=batch, repeats=repeats)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(result.text())


def _params(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: give NAME=VALUE", param_hint="--param")
        try:
            out[key] = float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: the value must be a number", param_hint="--param") from None
    return out


@zoo.command("filter")
@click.argument("name", type=click.Choice(["one-euro", "savitzky-golay"]))
@click.option("--pred", required=True, help="The submission to smooth (any format `score` reads).")
@click.option("--out", required=True, help="The smoothed submission (.parquet).")
@click.option("--gt", "gt_dir", default=None, help="The converted dataset: its released frame rate, and the views "
              "of HO3D/Dex-YCB native files.")
@click.option("--split", default=None, help="With --gt, for native prediction formats.")
@click.option("--fps", type=float, default=None, help="Released frames per second of the sequences (default: the "
              "dataset's, where handeval knows it).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A filter parameter: one-euro "
              "min_cutoff_hz, beta, d_cutoff_hz; savitzky-golay window_s, polyorder.")
@json_option
def filter_(name, pred, out, gt_dir, split, fps, params, as_json) -> None:
    """Smooth a prediction along each camera's track: One-Euro (causal: reads no future frame) or
    Savitzky–Golay (centred: not causal). Cut-offs are in Hz and windows in seconds at the sequences'
    frame rate; tune them on a validation split only. The output's rows carry the causal flag.

    \b
    Example:
      handeval zoo filter one-euro --pred noisy.parquet --out smooth.parquet --gt shards/ih --param min_cutoff_hz=3
      handeval zoo filter savitzky-golay --pred noisy.parquet --out sg.parquet --fps 30 --param window_s=0.3
    """
    from handeval.zoo.postprocess import filter_file

    record = filter_file(name, pred, out, gt_dir, split, fps, _params(params))
    if as_json:
        emit_json(record)
    else:
        click.echo(f"{out}: {record['rows']} rows, {name} ({'causal' if record['causal'] else 'non-causal'}) at "
                   f"{record['fps']:g} fps: {record['settings']}")


@zoo.command("refine")
@click.option("--pred", required=True, help="A submission with MANO parameters (mano_pose, mano_shape, mano_trans).")
@click.option("--gt", "gt_dir", required=True, help="The converted dataset: the views' intrinsics for the 2D term "
              "(never its annotations: the targets are the prediction's own joints).")
@click.option("--split", required=True, help="The split the prediction is of.")
@click.option("--out", required=True, help="The refined submission (.parquet); NAME.refine.json beside it holds the "
              "per-sample stages accepted and penetration before and after.")
@click.option("--targets", default=None, metavar="FILE", help="The joints to fit: another prediction of the same "
              "views (IHMR fits its joint head's output). Default: the input's own joints, which the input fits "
              "exactly, so the verification keeps every view as it is. Ground-truth-made targets flag the output "
              "oracle.")
@click.option("--iterations", type=click.IntRange(1), default=300, show_default=True,
              help="Adam steps per stage (the paper's 300; fewer for a quick look).")
@_DEVICE
@click.option("--batch", type=click.IntRange(1), default=512, show_default=True, help="Views optimised together.")
@mano_dir_option
@json_option
def refine(pred, gt_dir, split, out, targets, iterations, device, batch, mano_dir, as_json) -> None:
    """IHMR-OPT: collision-aware factorised refinement of both hands' MANO (relative translation, global
    orientations, finger poses, shapes), each stage kept per view only where the joint fit is no worse
    and the collision lower. Views with one hand are left as they are.

    \b
    Example:
      handeval zoo refine --pred mano-noise.parquet --targets oracle-noise.parquet --gt shards/ih --split test \\
          --out refined.parquet --iterations 20
      handeval zoo refine --pred mesh-model.parquet --targets joint-model.parquet --gt shards/ih --split test \\
          --out refined.parquet --device cuda --batch 512
    """
    from handeval.zoo.postprocess import refine_file

    record = refine_file(pred, gt_dir, split, out, iterations, device, batch, mano_dir, targets)
    _optimised(out, record, as_json)


@zoo.command("fit")
@click.option("--pred", required=True, help="A joints-only submission.")
@click.option("--gt", "gt_dir", required=True, help="The converted dataset: the views' intrinsics.")
@click.option("--split", required=True, help="The split the prediction is of.")
@click.option("--out", required=True, help="The submission with MANO parameters and meshes (.parquet).")
@click.option("--iterations", type=click.IntRange(1), default=200, show_default=True, help="Adam steps per stage.")
@_DEVICE
@click.option("--batch", type=click.IntRange(1), default=512, show_default=True, help="Views fitted together.")
@mano_dir_option
@json_option
def fit(pred, gt_dir, split, out, iterations, device, batch, mano_dir, as_json) -> None:
    """Fit MANO to a joints-only prediction (the refinement's optimiser), so that MPVPE and the penetration
    metrics can score it; the per-view joint residual is recorded.

    \b
    Example:
      handeval zoo fit --pred internet.parquet --gt shards/ih --split test --out internet-mano.parquet
    """
    from handeval.zoo.postprocess import fit_file

    record = fit_file(pred, gt_dir, split, out, iterations, device, batch, mano_dir)
    _optimised(out, record, as_json)


def _optimised(out: str, record: dict, as_json: bool) -> None:
    if as_json:
        emit_json(record)
        return
    click.echo(f"{out}: {record['summary']}")
    click.echo(f"  per-view record: {record['record']}")
