"""Running ``handeval`` in-process through its console entry point, as the tests do.

``handeval.cli.main`` is what turns a user error into exit 2 and a bug into exit 3; click's
``CliRunner`` on the group would see the raw exception instead.
"""

import re

import pytest
from handeval.cli import main


def run(args, capsys):
    """``handeval ARGS``: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def user_error(code, err, culprit=""):
    """Exit 2 with exactly one ``Error:`` message, at a line start (never inside a progress bar's
    line), naming ``culprit``, and no traceback; returns the message."""
    assert code == 2, err
    messages = re.findall(r"(?:^|[\n\r])Error: ([^\n\r]*)", err)
    assert len(messages) == 1 and culprit in messages[0], err
    assert "Traceback" not in err and "Internal error" not in err
    return messages[0].strip()
