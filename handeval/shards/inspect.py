"""Summaries of a converted dataset: counts from the manifest, annotation coverage from the nullable columns."""

from __future__ import annotations

import pyarrow.parquet as pq

from handeval.shards.reader import ShardDataset
from handeval.shards.schema import FEATURES


def summarise(directory) -> dict:
    ds = ShardDataset(directory)
    report = {"format_version": ds.info["format_version"], "dataset": ds.info["dataset"], "splits": {}}
    for split, meta in ds.info["splits"].items():
        annotated = {}
        for kind in ("frames", "views"):
            rows = meta[kind]
            nullable = [f.name for f in FEATURES[kind] if f.nullable]
            nulls = dict.fromkeys(nullable, 0)
            for shard in meta["shards"]:
                table = pq.read_table(ds.root / shard["files"][kind]["path"], columns=nullable)
                for name in nullable:
                    nulls[name] += table.column(name).null_count
            annotated.update({name: (1 - nulls[name] / rows) if rows else 0.0 for name in nullable})
        report["splits"][split] = {"sequences": meta["sequences"], "frames": meta["frames"], "views": meta["views"],
                                   "skipped": len(meta.get("skipped", [])), "annotated": annotated,
                                   "missing": meta.get("missing", {})}
    return report
