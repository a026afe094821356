"""MANO: model files, the synthetic stand-in, the batched layer, watertight closing, parts."""

from handeval.mano.layer import (
    TIP_PRESETS,
    ManoConvention,
    ManoLayer,
    ManoOutput,
    left_shapedirs_state,
    load_mano,
    mano_files,
)
from handeval.mano.model_file import ModelFile, import_models, read_model_file
from handeval.mano.parts import PARTS, vertex_parts
from handeval.mano.standin import build_standin, ensure_standin
from handeval.mano.watertight import WristSeal, seal_wrist

__all__ = [
    "PARTS", "TIP_PRESETS", "ManoConvention", "ManoLayer", "ManoOutput", "ModelFile", "WristSeal",
    "build_standin", "ensure_standin", "import_models", "left_shapedirs_state", "load_mano",
    "mano_files", "read_model_file", "seal_wrist", "vertex_parts",
]
