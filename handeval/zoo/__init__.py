"""The model zoo: entries that declare their inputs, outputs, weights and flags; the registry of
built-in and plug-in entries; the runner, the profiler, the reference methods that need no
weights, and the checkpoint adapters (``data_specs/zoo.md``)."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "BoxRule": "entry", "Inputs": "entry", "Outputs": "entry", "Weights": "entry", "ModelEntry": "entry",
    "ZOO_MANO": "entry", "ViewBatch": "model", "Prediction": "model", "ZooModel": "model",
    "entries": "registry", "get_entry": "registry", "provenance": "registry",
    "run_entry": "run", "build_model": "run", "profile_model": "profile", "load_checkpoint": "checkpoints",
    "convert_to_safetensors": "checkpoints", "filter_submission": "filters",
    "RefineConfig": "refine", "fit_to_joints": "fit", "FitConfig": "fit",
    "filter_file": "postprocess", "refine_file": "postprocess", "fit_file": "postprocess",
})
