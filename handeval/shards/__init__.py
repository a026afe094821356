"""Canonical sequence shards: writer, manifest, reader, validation, the torch Dataset.

The conversion driver is :func:`handeval.shards.convert.convert` (a module of that name, so not
re-exported here); ``handeval.convert`` opens the reader and runs it.
"""

from handeval.util.lazy import lazy_exports

# Imported on first use: HandFrames and HandMeshes need torch, the rest only pyarrow.
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "SequenceData": "reader", "ShardDataset": "reader", "to_numpy": "reader",
    "world_to_camera": "reader",
    "PlannedShard": "writer", "plan_shards": "writer", "write_shard": "writer",
    "HandFrames": "torch_dataset", "HandMeshes": "meshes",
    "ViewTruth": "views", "read_view_truth": "views", "view_truth": "views",
    "validate_dataset": "validate",
    "label_file": "layout", "label_path": "layout", "stale_labels": "layout",
    "INFO_PATH": "manifest", "Manifest": "manifest", "read_manifest": "manifest", "write_manifest": "manifest",
})
