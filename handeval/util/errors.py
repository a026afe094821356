"""The exception that carries a user's mistake to the CLI, the exit codes the CLI documents, and how a
user's JSON value is tested and quoted in a message."""

import difflib
import json
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of every ``handeval`` command (README, "Exit codes")."""

    OK = 0
    PROBLEMS = 1      # validate / check-submission ran and found problems in the user's files
    USER_ERROR = 2    # the command could not run as asked: a bad option, path or input file
    INTERNAL = 3      # a bug in handeval
    UNITS_FAILED = 4  # a job's units failed after their retries for a reason other than the input (a worker lost,
    #                   an exception); each is named, the others are finished and kept, and a rerun resumes
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class HandevalError(Exception):
    """A problem with the user's input: the message says what and how to fix it.

    The CLI prints only the message (no traceback unless ``--debug``) and exits with
    ``ExitCode.USER_ERROR``. Anything else that escapes is a bug in handeval.
    """


def shown(value) -> str:
    """A JSON value as an error message quotes it, cut to 40 characters."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_number(value) -> bool:
    """A JSON number (true and false are not, though Python counts them as integers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integer(value) -> bool:
    """A JSON integer (not true or false)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_choice(value, choices) -> bool:
    """``value`` is one of ``choices``, of the same JSON type (``1`` is not ``true``, ``1.0`` not ``1``)."""
    return any(value == c and type(value) is type(c) for c in choices)


def did_you_mean(name, choices) -> str | None:
    """The one of ``choices`` a misspelt ``name`` most likely meant, if any is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return close[0] if close else None
