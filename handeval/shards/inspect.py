"""Summaries of a converted dataset: counts from the manifest, annotation coverage from Parquet footers."""

from __future__ import annotations

import pyarrow.parquet as pq

from handeval.shards.reader import ShardDataset, convert_command
from handeval.shards.schema import FEATURES


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
    report = {"format_version": ds.info["format_version"], "dataset": ds.info["dataset"],
              "command": convert_command(ds.info.get("options")), "splits": {}}
    for split, meta in ds.info["splits"].items():
        annotated = {}
        for kind in ("frames", "views"):
            rows = meta[kind]
            nullable = [f.name for f in FEATURES[kind] if f.nullable]
            nulls = dict.fromkeys(nullable, 0)
            for shard in meta["shards"]:
                for name, count in footer_nulls(ds.root / shard["files"][kind]["path"], nullable).items():
                    nulls[name] += count
            annotated.update({name: (1 - nulls[name] / rows) if rows else 0.0 for name in nullable})
        report["splits"][split] = {"sequences": meta["sequences"], "frames": meta["frames"], "views": meta["views"],
                                   "annotated": annotated, "missing": meta.get("missing", {}),
                                   # source files missing or unreadable at conversion
                                   "skipped": meta.get("skipped", []), "missing_files": meta.get("missing_files", [])}
    return report
