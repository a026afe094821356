"""handeval: canonical data, labels and pinned metrics for 3D hand reconstruction.

The main entry points are here, each imported on first use (``import handeval`` starts neither
torch nor Open3D): :func:`convert`, :func:`open_dataset`, :func:`label`, :func:`score`,
:func:`compare`, :func:`build_leaderboard`, :func:`load_protocol`, :class:`Submission` with
:func:`read_submission` and :func:`write_submission`, and :func:`run_demo`. Each stage's package
lists the rest of its public names in ``__all__``.
"""

from handeval.util.lazy import lazy_exports

__version__ = "0.1.0"

# No name here may be a subpackage's (handeval.demo is one: the demo is run_demo).
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "convert": "api", "label": "api",
    "open_dataset": "shards.reader:ShardDataset",
    "Submission": "scoring.submissions", "read_submission": "scoring.submissions",
    "write_submission": "scoring.submissions",
    "load_protocol": "scoring.protocols", "score": "scoring.score", "compare": "scoring.score",
    "build_leaderboard": "leaderboard.build:write_leaderboard",
    "run_demo": "demo.pipeline",
    "Executor": "runner.backends",
})
