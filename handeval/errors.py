"""The one exception type that carries a user's mistake to the CLI."""


class HandevalError(Exception):
    """A problem with the user's input: the message says what and how to fix it.

    The CLI prints only the message (no traceback unless ``--debug``) and exits
    non-zero. Anything else that escapes is a bug in handeval.
    """
