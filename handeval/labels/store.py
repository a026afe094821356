"""Writing and reading label files beside the shards: same keys and row order, one file per source shard.

Where they lie is ``handeval.shards.layout``'s. The
manifest's ``labels.{set}`` records the set's version and parameters and, per file, the
sha256 of the source shard it was computed from, so a rerun with the same parameters
skips finished files (``--resume``) or rewrites identical bytes, and ``validate`` can tell
when a label file is stale because its source shard changed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from handeval.records.schema import FEATURES, Feature, arrow_schema
from handeval.shards.layout import label_file, label_path
from handeval.shards.manifest import LabelFile, LabelSetEntry, ShardEntry, write_manifest
from handeval.shards.reader import SequenceData, ShardDataset, to_numpy
from handeval.util.atomic import atomic_path
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.util.workers import init_worker

_OPTIONS = dict(compression="zstd", compression_level=3, write_statistics=True)


@dataclass(frozen=True)
class LabelSet:
    """A label set: its name, version, per-row features and the table it annotates."""

    name: str
    version: str
    table: str                      # "frames" or "views"
    features: tuple[Feature, ...]   # besides the keys


def key_features(table: str) -> tuple[Feature, ...]:
    keys = ("sequence", "frame") + (("camera",) if table == "views" else ())
    return tuple(f for f in FEATURES[table] if f.name in keys)


_COMPUTE: Callable[[SequenceData], dict] | None = None  # this process's labeler


def _init_worker(parent: int, make_compute: Callable[[], Callable[[SequenceData], dict]]) -> None:
    global _COMPUTE
    init_worker(parent)
    _COMPUTE = make_compute()


def _label_shard(root: str, label: LabelSet, split: str, shard: ShardEntry) -> tuple[str, LabelFile]:
    ds = ShardDataset(root)
    keys = key_features(label.table)
    schema = arrow_schema(keys + label.features)
    tables = []
    for entry in shard.sequences:
        seq = ds.sequence(entry.sequence)
        values = _COMPUTE(seq)
        table = seq.frames if label.table == "frames" else seq.views
        rows = len(table["frame"])
        data = {"frame": table["frame"], **values}
        if label.table == "views":
            data["camera"] = seq.views["camera"]
        cols = [pa.array([seq.name] * rows, type=pa.string())]
        cols += [f.encode(data[f.name], rows) for f in keys[1:] + label.features]
        tables.append(pa.Table.from_arrays(cols, schema=schema))
    out = label_path(ds.root, label.name, split, label.table, shard.index)
    with atomic_path(out) as tmp:
        pq.write_table(pa.concat_tables(tables), tmp, **_OPTIONS)
    source = shard.files[label.table]
    return str(out.relative_to(ds.root)), LabelFile(source=source.path, source_sha256=source.sha256,
                                                    sha256=sha256_file(out), rows=sum(t.num_rows for t in tables))


def write_labels(ds: ShardDataset, label: LabelSet, params: dict,
                 make_compute: Callable[[], Callable[[SequenceData], dict]], resume: bool = False,
                 progress: bool = True, workers: int = 1) -> LabelSetEntry:
    """Compute ``label`` for every sequence, write one file per source shard, update the manifest.

    ``make_compute`` builds the labeler; it must be picklable (a module-level function or
    a ``functools.partial`` of one), because with ``workers > 1`` each worker process is
    *spawned* and builds its own: forking after torch has started its OpenMP threads
    deadlocks the children.
    """
    global _COMPUTE
    previous = ds.manifest.labels.get(label.name)
    same = previous is not None and previous.version == label.version and previous.parameters == params
    files, todo = {}, []
    for split, meta in ds.manifest.splits.items():
        for shard in meta.shards:
            out = label_path(ds.root, label.name, split, label.table, shard.index)
            rel = str(out.relative_to(ds.root))
            done = previous.files.get(rel) if same else None
            if resume and done and done.source_sha256 == shard.files[label.table].sha256 \
                    and out.is_file() and sha256_file(out) == done.sha256:
                files[rel] = done
            else:
                todo.append((split, shard))
    bar = tqdm(total=len(todo), desc=f"labels {label.name}", unit="shard", disable=not progress)
    try:
        if workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                     initargs=(os.getpid(), make_compute)) as pool:
                futures = [pool.submit(_label_shard, str(ds.root), label, split, shard) for split, shard in todo]
                for fut in as_completed(futures):
                    rel, entry = fut.result()
                    files[rel] = entry
                    bar.update(1)
        elif todo:
            _COMPUTE = make_compute()
            for split, shard in todo:
                rel, entry = _label_shard(str(ds.root), label, split, shard)
                files[rel] = entry
                bar.update(1)
    finally:
        bar.close()
        _COMPUTE = None
    entry = LabelSetEntry(version=label.version, table=label.table, parameters=params,
                          features=[f.to_dict() for f in label.features], files=dict(sorted(files.items())))
    ds.manifest = replace(ds.manifest, labels={**ds.manifest.labels, label.name: entry})
    write_manifest(ds.root, ds.manifest)
    return entry


def read_label_arrays(ds: ShardDataset, label: LabelSet, columns: list[str]) -> dict:
    """Label columns as numpy arrays of their documented shapes (null rows NaN / False)."""
    return to_numpy(read_labels(ds, label.name, columns), key_features(label.table) + label.features)


def read_labels(ds: ShardDataset, name: str, columns: list[str] | None = None) -> pa.Table:
    if name not in ds.manifest.labels:
        raise HandevalError(f"{ds.root} has no {name!r} labels; run `handeval labels {name} {ds.root}`")
    files = ds.manifest.labels[name].files
    return pa.concat_tables([pq.read_table(label_file(ds, name, rel), columns=columns) for rel in sorted(files)])
