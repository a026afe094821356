"""The model zoo: entries that declare their inputs, outputs, weights and flags; the registry of
built-in and plug-in entries; the runner, the profiler, the reference methods that need no
weights, and the checkpoint adapters (``data_specs/zoo.md``)."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "BoxRule": "entry", "Inputs": "entry", "Outputs": "entry", "Weights": "entry", "ModelEntry": "entry",
    "ZOO_MANO": "entry", "ViewBatch": "model", "Prediction": "model", "ZooModel": "model",
})
