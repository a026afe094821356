"""`handeval score`, `compare`, `regroup` and `protocols`: pinned metrics for a submission."""

from __future__ import annotations

import click
from handeval.cli.options import executor_options, json_option, mano_dir_option
from handeval.cli.output import emit_json, number


@click.command()
@click.option("--gt", "gt_dir", required=True, help="The converted ground-truth dataset (`handeval convert`).")
@click.option("--pred", "pred_file", required=True, help="Submission: .parquet / .npz (canonical), HO3D pred.json, "
              "or a Dex-YCB result .txt.")
@click.option("--protocol", "protocol_name", required=True, help="A protocol name (`handeval protocols`) or a "
              "protocol .json file.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Result JSON to write; the per-view "
              "errors go beside it as <name>.errors.parquet.")
@click.option("--name", default=None, help="Name shown on leaderboards (default: the submission file's stem).")
@click.option("--split", default=None, help="Score another split than the protocol's (needs --allow-deviation).")
@click.option("--allow-deviation", is_flag=True, help="Score data that differ from what the protocol pins (version, "
              "fps, split); the result is marked not comparable.")
@click.option("--bootstrap", "replicates", type=click.IntRange(0, 100_000), default=1000, show_default=True,
              help="Bootstrap replicates for the 95% intervals (0: none).")
@click.option("--bootstrap-unit", type=click.Choice(["auto", "sequence", "frame"]), default="auto", show_default=True,
              help="What is resampled; auto: whole sequences with at least 20 sequences, else frames.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap's resampling: the same seed gives the same intervals.")
@click.option("--strict", is_flag=True, help="Refuse a submission with warnings too (a likely hand swap or camera-"
              "frame flip); by default they are printed, recorded in the result and flagged on leaderboards.")
@mano_dir_option
@executor_options
@json_option
def score(gt_dir, pred_file, protocol_name, out, name, split, allow_deviation, replicates, bootstrap_unit, seed,
          strict, mano_dir, executor, as_json) -> None:
    """Score a submission under a pinned protocol and write RESULT.json.

    The submission is checked first and refused if invalid (errors: keys, shapes, units,
    missing or misplaced hands, NaN); warnings (heuristics) are printed and recorded, and
    the submission is scored anyway unless --strict. Per-view errors are cached
    beside the result: a rerun with the same inputs only re-aggregates, and an
    interrupted run resumes. Each source shard is a unit: --workers or a Dask cluster
    score them in parallel, with the same table as one process.

    \b
    Example:
      handeval score --gt shards/interhand26m --pred preds.parquet \\
          --protocol interhand26m-5fps-ih/intaghand --out results/mine.json --workers 2
    """
    from handeval.scoring.score import STAND_IN_DEVIATION
    from handeval.scoring.score import score as run

    table, jobs = {}, []
    result = run(gt_dir, pred_file, protocol_name, out, name=name, split=split, mano_dir=mano_dir,
                 allow_deviation=allow_deviation, replicates=replicates, unit=bootstrap_unit, seed=seed,
                 progress=not as_json, executor=executor, strict=strict, on_job=jobs.append,
                 on_table=lambda path, reused: table.update(path=path, reused=reused))
    for w in result["warnings"]:
        click.echo(f"Warning: [{w['check']}] {w['message']} (fix: {w['fix']})", err=True)
    if STAND_IN_DEVIATION in result["deviations"]:
        click.echo(f"Warning: {STAND_IN_DEVIATION}; pass --mano-dir or set HANDEVAL_MANO_DIR", err=True)
    if as_json:
        emit_json({**result, "job": jobs[0] if jobs else None})
        return
    p = result["protocol"]
    click.echo(f"{result['name']} under {p['name']} v{p['version']} (sha256 {p['sha256'][:12]})"
               + ("" if result["comparable"] else "  NOT COMPARABLE: " + "; ".join(result["deviations"]))
               + ("  [synthetic data]" if result["synthetic"] else ""))
    for metric, m in result["metrics"].items():
        ci = f"  [{number(m['ci95'][0], m['unit'])}, {number(m['ci95'][1], m['unit'])}]" if m["ci95"] else ""
        click.echo(f"  {metric:<40} {number(m['value'], m['unit']):>10} {m['unit']}{ci}")
    click.echo(f"result: {out}\nper-view errors: {table['path']} ({'reused' if table['reused'] else 'computed'})")


@click.command()
@click.argument("result_a", type=click.Path(exists=True, dir_okay=False))
@click.argument("result_b", type=click.Path(exists=True, dir_okay=False))
@click.option("--bootstrap", "replicates", type=click.IntRange(100, 100_000), default=1000, show_default=True,
              help="Paired bootstrap replicates for the difference's 95% interval and p-value.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap's resampling: the same seed gives the same intervals.")
@json_option
def compare(result_a, result_b, replicates, seed, as_json) -> None:
    """Paired bootstrap comparison of two results under the same protocol: B minus A.

    \b
    Example:
      handeval compare results/baseline.json results/mine.json
    """
    from handeval.scoring.score import compare as run

    out = run(result_a, result_b, replicates, seed)
    if as_json:
        emit_json(out)
        return
    click.echo(f"{out['b']} minus {out['a']} under {out['protocol']['name']} "
               f"(paired bootstrap over {out['bootstrap']['unit']}s, {replicates} replicates)")
    for name, m in out["metrics"].items():
        ci = f"[{m['ci95'][0]:+.4f}, {m['ci95'][1]:+.4f}]" if m["ci95"] else "n/a"
        floor = 1 / (replicates + 1)  # the smallest p a bootstrap of this size can show
        p = "n/a" if m["p_value"] is None else f"< {floor:.2g}" if m["p_value"] < floor else f"{m['p_value']:.4f}"
        click.echo(f"  {name:<40} {m['a']:>10.4f} -> {m['b']:>10.4f}  diff {m['difference']:+.4f}  95% CI {ci}  p {p}")


@click.command()
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", required=True, help="sequence, camera, hand_type, or a subset label (interacting, close, "
              "single_hand).")
@json_option
def regroup(result, by, as_json) -> None:
    """Re-aggregate a result's metrics by sequence, camera, hand type or subset, from its cached errors.

    \b
    Example:
      handeval regroup results/mine.json --by sequence --json
    """
    from handeval.scoring.score import regroup as run

    out = run(result, by)
    if as_json:
        emit_json(out)
        return
    for metric, groups in out.items():
        click.echo(metric)
        for g, v in groups.items():
            click.echo(f"  {g:<40} {number(v)}")


@click.command()
@json_option
def protocols(as_json) -> None:
    """List the pinned protocols: versions, content hashes, and the fields a submission needs.

    `--json` also says which fields are optional (e.g. vertices for the mesh metrics).
    """
    from handeval.scoring.protocols import load_protocol, protocol_names

    rows = [load_protocol(n).summary() for n in protocol_names()]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        need = "+".join(k for k, v in r["submission"].items() if v == "required")
        click.echo(f"{r['name']:<42} v{r['version']}  {r['sha256'][:12]}  needs {need:<9} {r['title']}")
