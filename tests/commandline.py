"""Running ``handeval`` in-process through its console entry point, as the tests do.

``handeval.cli.main`` is what turns a user error into exit 2 and a bug into exit 3; click's
``CliRunner`` on the group would see the raw exception instead.
"""

import pytest
from handeval.cli import main


def run(args, capsys):
    """``handeval ARGS``: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err
