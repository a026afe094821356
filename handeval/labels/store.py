"""Writing and reading label files beside the shards: same keys and row order, one file per source shard.

Where they lie is ``handeval.shards.layout``'s. The
manifest's ``labels.{set}`` records the set's version and parameters and, per file, the
sha256 of the source shard it was computed from, so a rerun with the same parameters
skips finished files (``--resume``) or rewrites identical bytes, and ``validate`` can tell
when a label file is stale because its source shard changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.parquet as pq

from handeval.records.schema import FEATURES, Feature, arrow_schema
from handeval.runner import Context, Executor, Job, Unit, content_key, run_job
from handeval.shards.layout import job_files, label_file, label_path
from handeval.shards.manifest import INFO_PATH, LabelFile, LabelSetEntry, write_manifest
from handeval.shards.reader import SequenceData, ShardDataset, to_numpy
from handeval.util.atomic import atomic_path, temporaries
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve

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


@dataclass
class Labeler:
    """A worker's labelling of one dataset: its shards, the set, and the set's compute function
    (with its MANO layers and Open3D scenes), built once per worker."""

    ds: ShardDataset
    label: LabelSet
    compute: Callable[[SequenceData], dict]


def open_labeler(directory: str, label: str, compute: str, args: dict) -> Labeler:
    """``label``: the set's name in the registry; ``compute``: the ``"module:function"`` that builds its
    compute function from ``args``."""
    from handeval.labels.registry import label_set

    return Labeler(ShardDataset(directory), label_set(label).label, resolve(compute)(**args))


def label_unit(labeler: Labeler, split: str, index: int) -> dict:
    """The runner's task: the label file of one source shard."""
    ds, label = labeler.ds, labeler.label
    shard = ds.manifest.splits[split].shards[index]
    keys = key_features(label.table)
    schema = arrow_schema(keys + label.features)
    tables = []
    for entry in shard.sequences:
        seq = ds.sequence(entry.sequence)
        values = labeler.compute(seq)
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
    source, rel, sha = shard.files[label.table], out.relative_to(ds.root).as_posix(), sha256_file(out)
    entry = LabelFile(source=source.path, source_sha256=source.sha256, sha256=sha, rows=sum(t.num_rows for t in tables))
    return {"files": {rel: sha}, "file": rel, "entry": entry.to_dict()}


def write_labels(ds: ShardDataset, label: LabelSet, params: dict, compute: str, args: dict, resume: bool = True,
                 progress: bool = True, executor: Executor | None = None,
                 on_job: Callable[[dict], None] | None = None) -> LabelSetEntry:
    """Compute ``label`` for every sequence, write one file per source shard, update the manifest.

    ``compute`` (``"module:function"``) builds the set's compute function from the JSON ``args``,
    once in each worker (``handeval.runner``): nothing heavy travels with a unit. A file the
    manifest records with the same version and parameters, for the same source shard, is kept
    (``resume``); so is one an interrupted run finished. ``on_job`` hears the runner's summary.
    """
    previous = ds.manifest.labels.get(label.name)
    same = previous is not None and previous.version == label.version and previous.parameters == params
    files, known, units = {}, {}, []
    for split, meta in ds.manifest.splits.items():
        for shard in meta.shards:
            source = shard.files[label.table]
            out = label_path(ds.root, label.name, split, label.table, shard.index)
            rel = out.relative_to(ds.root).as_posix()
            key = content_key("labels", label.name, label.version, params, split, shard.index, source.sha256)
            units.append(Unit(key, f"{split} shard {shard.index}", {"split": split, "index": shard.index}))
            done = previous.files.get(rel) if same else None
            if resume and done and done.source_sha256 == source.sha256 and out.is_file() \
                    and sha256_file(out) == done.sha256:
                known[key] = {"files": {rel: done.sha256}, "file": rel, "entry": done.to_dict()}
    context = Context("handeval.labels.store:open_labeler", {"directory": str(ds.root), "label": label.name,
                                                            "compute": compute, "args": args})
    job = Job(f"labels {label.name}", "handeval.labels.store:label_unit", context, tuple(units), ds.root,
              *job_files(ds.root, f"labels-{label.name}"))
    report = run_job(job, executor, progress, resume, known)
    for leftover in temporaries(ds.root / "labels" / label.name):  # what workers killed mid-unit were writing
        leftover.unlink(missing_ok=True)
    for result in report.results:
        files[result["file"]] = LabelFile.from_dict(result["entry"], INFO_PATH)
    entry = LabelSetEntry(version=label.version, table=label.table, parameters=params,
                          features=[f.to_dict() for f in label.features], files=dict(sorted(files.items())))
    ds.manifest = replace(ds.manifest, labels={**ds.manifest.labels, label.name: entry})
    write_manifest(ds.root, ds.manifest)
    report.close()
    if on_job is not None:
        on_job(report.summary())
    return entry


def read_label_arrays(ds: ShardDataset, label: LabelSet, columns: list[str]) -> dict:
    """Label columns as numpy arrays of their documented shapes (null rows NaN / False)."""
    return to_numpy(read_labels(ds, label.name, columns), key_features(label.table) + label.features)


def read_labels(ds: ShardDataset, name: str, columns: list[str] | None = None) -> pa.Table:
    if name not in ds.manifest.labels:
        raise HandevalError(f"{ds.root} has no {name!r} labels; run `handeval labels {name} {ds.root}`")
    files = ds.manifest.labels[name].files
    return pa.concat_tables([pq.read_table(label_file(ds, name, rel), columns=columns) for rel in sorted(files)])
