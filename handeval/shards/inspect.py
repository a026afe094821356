"""Summaries of a converted dataset: counts from the manifest, annotation coverage from Parquet footers."""

from __future__ import annotations

import pyarrow.parquet as pq

from handeval.records.schema import FEATURES
from handeval.shards.reader import ShardDataset


def footer_nulls(path, columns: list[str]) -> dict[str, int]:
    """Null rows per column from the Parquet footer, without reading data.

    handeval writes list children that are never null, so a list column's leaf null count
    is its number of null rows. A column whose footer lacks statistics is read instead.
    """
    pf = pq.ParquetFile(path)
    meta = pf.metadata
    counts: dict[str, int | None] = dict.fromkeys(columns, 0)
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            top = col.path_in_schema.split(".")[0]
            if top in counts and counts[top] is not None:
                stats = col.statistics
                counts[top] = counts[top] + stats.null_count if stats is not None and stats.has_null_count else None
    unknown = [name for name, n in counts.items() if n is None]
    if unknown:
        table = pf.read(columns=unknown)
        counts.update({name: table.column(name).null_count for name in unknown})
    return counts


def summarise_dataset(directory) -> dict:
    ds = ShardDataset(directory)
    manifest = ds.manifest
    report = {"format_version": manifest.format_version, "dataset": manifest.dataset.to_dict(),
              "command": manifest.options.command(), "synthetic": manifest.synthetic,
              "labels": sorted(manifest.labels), "splits": {}}
    for split, meta in manifest.splits.items():
        annotated = {}
        for kind in ("frames", "views"):
            rows = getattr(meta, kind)
            nullable = [f.name for f in FEATURES[kind] if f.nullable]
            nulls = dict.fromkeys(nullable, 0)
            for shard in meta.shards:
                for name, count in footer_nulls(ds.root / shard.files[kind].path, nullable).items():
                    nulls[name] += count
            annotated.update({name: (1 - nulls[name] / rows) if rows else 0.0 for name in nullable})
        report["splits"][split] = {"sequences": meta.sequences, "frames": meta.frames, "views": meta.views,
                                   "annotated": annotated, "missing": dict(meta.missing),
                                   # source files missing or unreadable at conversion
                                   "skipped": [k.to_dict() for k in meta.skipped],
                                   "missing_files": [m.to_dict() for m in meta.missing_files]}
    return report
