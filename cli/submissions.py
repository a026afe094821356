"""`handeval check-submission`: validate a prediction file before scoring."""

from __future__ import annotations

import json
import sys

import click

from handeval.cli.options import json_option


@click.command("check-submission")
@click.option("--gt", "gt_dir", required=True, help="The converted ground-truth dataset.")
@click.option("--pred", "pred_file", required=True, help="Submission: .parquet / .npz (canonical), HO3D pred.json, "
              "or a Dex-YCB result .txt.")
@click.option("--split", default=None, help="Split to check against (default: the dataset's only split).")
@json_option
def check_submission(gt_dir: str, pred_file: str, split: str | None, as_json: bool) -> None:
    """Check a submission: keys (missing, extra, duplicate), values, units, camera frame, hand order.

    Every problem is listed with its fix; the exit status is 1 if there is any.

    \b
    Example:
      handeval check-submission --gt ho3d --pred pred.json --split evaluation
    """
    from handeval.errors import HandevalError
    from handeval.shards import ShardDataset
    from handeval.submissions import check_submission as check
    from handeval.submissions import ground_truth_views, read_submission

    ds = ShardDataset(gt_dir)
    if split is None:
        if len(ds.splits) != 1:
            raise HandevalError(f"{gt_dir} has splits {', '.join(ds.splits)}: choose one with --split")
        split = ds.splits[0]
    sub = read_submission(pred_file, ds, split)
    problems = check(sub, ground_truth_views(ds, split))
    if as_json:
        click.echo(json.dumps({"ok": not problems, "format": sub.format, "rows": len(sub.frame),
                               "problems": problems}, indent=2))
    else:
        click.echo(f"{pred_file}: {sub.format}, {len(sub.frame)} rows against {split}")
        for p in problems:
            click.echo(f"PROBLEM [{p['check']}] {p['message']}. Fix: {p['fix']}")
        click.echo("OK" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(1)
