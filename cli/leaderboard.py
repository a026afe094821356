"""`handeval leaderboard`: tables and plots from result files."""

from __future__ import annotations

import click
from handeval.cli.options import executor_options, json_option
from handeval.cli.output import emit_json


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for leaderboard.md, "
              "leaderboard.csv and index.html.")
@click.option("--no-reported", is_flag=True, help="Leave out the numbers reported in the papers.")
@executor_options
@json_option
def leaderboard(results, out, no_reported, executor, as_json) -> None:
    """Build a leaderboard (Markdown, CSV, self-contained HTML) from RESULT.json files,
    or folders searched for them.

    Each result is checked against the per-view error table beside it (a hand-edited
    result is refused) and listed once. One table per protocol, sortable in the HTML
    page, with PCK curves, acceleration error over time and, where the protocol has
    one, the finger-occlusion breakdown. Rows from the papers are marked as reported.

    The results are verified side by side (--workers, or a Dask cluster): a host
    rebuilding a board of many submissions waits for the slowest, not the sum.

    \b
    Example:
      handeval leaderboard results/ --out board/
      handeval leaderboard /shared/submissions/ --out board/ --workers 8
    """
    from handeval.leaderboard import write_leaderboard

    files, notes = write_leaderboard(list(results), out, reported=not no_reported, executor=executor,
                                     progress=not as_json)
    for note in notes:
        click.echo(f"Note: {note}", err=True)
    if as_json:
        emit_json({k: str(v) for k, v in files.items()})
        return
    for kind, path in files.items():
        click.echo(f"{kind:<9}: {path}")
