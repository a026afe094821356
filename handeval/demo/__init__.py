"""The demo: the whole pipeline on a synthetic scene, and the reference predictions it scores."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DEMO_PROTOCOLS": "pipeline", "DEMO_SPLITS": "pipeline", "DemoOutputs": "pipeline", "run_demo": "pipeline",
    "BASELINES": "baselines", "mean_pose": "baselines", "oracle_noise": "baselines", "smoothed_noise": "baselines",
    "swapped_hands": "baselines", "write_baselines": "baselines",
})
