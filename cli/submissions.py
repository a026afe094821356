"""`handeval check-submission`: validate a prediction file before scoring."""

from __future__ import annotations

import sys

import click
from handeval.cli.options import json_option
from handeval.cli.output import emit_json

from handeval.util.errors import ExitCode


@click.command("check-submission")
@click.option("--gt", "gt_dir", required=True, help="The converted ground-truth dataset.")
@click.option("--pred", "pred_file", required=True, help="Submission: .parquet / .npz (canonical), HO3D pred.json, "
              "or a Dex-YCB result .txt.")
@click.option("--split", default=None, help="Split to check against (default: as `score` picks it, the protocol's "
              "split; without --protocol, the split the dataset's protocols score, e.g. HO3D's evaluation).")
@click.option("--protocol", "protocol_name", default=None, help="Also check the fields this protocol needs (e.g. "
              "joints, where it does not derive them from vertices).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, as `score --strict` refuses them.")
@json_option
def check_submission(gt_dir: str, pred_file: str, split: str | None, protocol_name: str | None, strict: bool,
                     as_json: bool) -> None:
    """Check a submission: keys (missing, extra, duplicate), shapes, values, units, camera frame, hand order.

    Errors are facts that make scores wrong (keys, shapes, units off by 10x or more, a hand
    missing or in the wrong slot, NaN or inf in a predicted hand): `score` refuses them.
    Warnings are heuristics a poor model can trip (a likely hand swap or OpenGL/OpenCV
    flip): `score` records them and scores anyway. Each is listed with its fix; the exit
    status is 1 if there is an error (or, with --strict, a warning).

    \b
    Example:
      handeval check-submission --gt ho3d --pred pred.json --split evaluation
      handeval check-submission --gt ih5 --pred preds.parquet --protocol interhand26m-5fps-ih/intaghand
    """
    from handeval.scoring.protocols import evaluation_split, load_protocol
    from handeval.scoring.score import same_dataset
    from handeval.scoring.submissions import SubmissionSource
    from handeval.scoring.submissions import check_submission as check
    from handeval.shards import ShardDataset
    from handeval.shards.views import read_view_truth
    from handeval.util.errors import HandevalError

    ds = ShardDataset(gt_dir)
    protocol = load_protocol(protocol_name) if protocol_name else None
    if protocol is not None:
        same_dataset(ds, protocol)
    if split is None:  # as `score` picks it: the protocol's split, else the one the dataset's protocols score
        split = protocol.split if protocol is not None else \
            evaluation_split(ds.manifest.dataset.name, ds.splits) or (ds.splits[0] if len(ds.splits) == 1 else None)
    if split not in ds.splits:
        raise HandevalError(f"{gt_dir} has splits {', '.join(ds.splits)}" + ("" if split is None else
                            f", not {split!r}") + ": choose one with --split")
    source = SubmissionSource(pred_file, ds, split)
    sub = source.all
    problems = check(sub, read_view_truth(ds, split), protocol, source.vertex_batches())
    errors = [p for p in problems if p["severity"] == "error"]
    failed = bool(errors) or (strict and bool(problems))
    if as_json:
        emit_json({"ok": not failed, "format": sub.format, "rows": len(sub.frame), "errors": len(errors),
                               "warnings": len(problems) - len(errors), "problems": problems})
    else:
        click.echo(f"{pred_file}: {sub.format}, {len(sub.frame)} rows against {split}"
                   + ("" if sub.has_joints else " (vertices only)"))
        for p in problems:
            click.echo(f"{'ERROR' if p['severity'] == 'error' else 'WARNING'} [{p['check']}] {p['message']}. "
                       f"Fix: {p['fix']}")
        click.echo("OK" if not problems else f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
                   + ("" if errors else (": refused under --strict" if strict else ": `score` scores it and records "
                                         "the warnings")))
    if failed:
        sys.exit(ExitCode.PROBLEMS)
