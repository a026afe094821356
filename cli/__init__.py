"""The ``handeval`` command line (installed as ``handeval.cli``)."""

from __future__ import annotations

import errno
import sys

import click

from handeval import __version__
from handeval.util.errors import ExitCode, HandevalError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handeval")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors (accepted anywhere on the line).")
def cli(debug: bool) -> None:
    """handeval: canonical data, labels and pinned metrics for 3D hand reconstruction.

    Start with `handeval demo`, which runs the whole pipeline on built-in synthetic data.
    """


def _register() -> None:
    from handeval.cli.convert import convert, info, validate
    from handeval.cli.demo import demo
    from handeval.cli.labels import labels
    from handeval.cli.leaderboard import leaderboard
    from handeval.cli.mano import mano
    from handeval.cli.score import compare, protocols, regroup, score
    from handeval.cli.submissions import check_submission
    from handeval.cli.zoo import zoo

    for command in (demo, mano, convert, info, validate, labels, check_submission, protocols, score, compare, regroup,
                    leaderboard, zoo):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one message and exit 2; tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args = ["--debug"] + [a for a in args if a != "--debug"]
    try:
        try:
            code = cli.main(args=args, prog_name="handeval", standalone_mode=False)
        finally:
            _close_progress_bars()
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HandevalError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(ExitCode.UNITS_FAILED if getattr(exc, "internal", False) else ExitCode.USER_ERROR)
    except OSError as exc:
        if debug or exc.errno not in _HINTS:
            _internal_error(exc, debug)
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"Error: {where}{exc.strerror}; {_HINTS[exc.errno]}", err=True)
        sys.exit(ExitCode.USER_ERROR)
    except Exception as exc:  # a bug in handeval, not a user error
        _internal_error(exc, debug)
    sys.exit(code or 0)


def _close_progress_bars() -> None:
    """End any bar an error left open, so that the message starts on a line of its own."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


#: What the user can do about an operating-system error on one of their paths.
_HINTS = {
    errno.EACCES: "you cannot write or read there: choose a path you own, or fix its permissions",
    errno.EPERM: "the operation is not permitted there: choose a path you own",
    errno.EROFS: "that file system is read-only: write somewhere else",
    errno.ENOTDIR: "part of that path is a regular file, not a folder: choose a path under a folder",
    errno.EISDIR: "that is a folder: give a file path",
    errno.EEXIST: "a file is in the way of a folder on that path: choose a path under a folder",
    errno.ENOENT: "it does not exist: check the path",
    errno.ENOSPC: "the disk is full: free space or write somewhere else",
    errno.EDQUOT: "your disk quota is used up: free space or write somewhere else",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
}


def _internal_error(exc: Exception, debug: bool) -> None:
    """A bug in handeval: the traceback with --debug, else one line asking for a report."""
    if debug:
        raise exc
    click.echo(f"Internal error: {type(exc).__name__}: {exc}\n"
               "Run again with --debug for the traceback, and please report it.", err=True)
    sys.exit(ExitCode.INTERNAL)
