"""The demo: the whole pipeline on a synthetic scene, from native files to the leaderboard."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DEMO_PROTOCOLS": "pipeline", "DEMO_SPLITS": "pipeline", "DemoOutputs": "pipeline", "run_demo": "pipeline",
})
