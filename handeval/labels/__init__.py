"""Label generators over converted shards: penetration, occlusion, interaction subsets, image statistics."""

from handeval.util.lazy import lazy_exports

# Imported on first use: penetration and occlusion need torch and Open3D, subsets and storage do not.
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "LabelSet": "store", "read_label_arrays": "store", "read_labels": "store",
    "write_labels": "store",
    "IMAGES": "images", "OCCLUSION": "occlusion", "PENETRATION": "penetration", "SUBSETS": "subsets",
    "ImageStats": "images", "OcclusionLabeler": "occlusion", "PenetrationLabeler": "penetration",
    "compute_subsets": "subsets",
    "ObjectMeshes": "objects",
    "run_images": "run", "run_occlusion": "run", "run_penetration": "run", "run_subsets": "run",
    "LABEL_SETS": "registry", "LabelGenerator": "registry", "label_set": "registry", "SUBSET_NAMES": "subsets",
    "plot_summary": "summary", "summarise_labels": "summary",
})
