"""Canonical records: the column schema every table follows (:class:`Feature`s with their one Arrow
encoding) and one sequence's frames and views in that schema, as the readers produce them."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FEATURES": "schema", "FRAME_FEATURES": "schema", "SHARD_FORMAT_VERSION": "schema", "VIEW_FEATURES": "schema",
    "Feature": "schema", "arrow_schema": "schema", "features_dict": "schema",
    "SequenceRecords": "sequence",
})
