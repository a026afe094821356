"""MANO: model files, the synthetic stand-in, the batched layer, watertight closing, parts."""

from handeval.util.lazy import lazy_exports

# Imported on first use: the conventions and model files need neither torch nor smplx.
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "ManoConvention": "convention", "TIP_PRESETS": "convention",
    "ManoLayer": "layer", "ManoOutput": "layer", "left_shapedirs_state": "layer", "load_mano": "layer",
    "mano_files": "layer",
    "ModelFile": "model_file", "import_models": "model_file", "read_model_file": "model_file",
    "resolve_mano_dir": "model_file",
    "PARTS": "parts", "vertex_parts": "parts",
    "build_standin": "standin", "ensure_standin": "standin",
    "WristSeal": "watertight", "seal_wrist": "watertight",
})
