"""Scoring a submission under a protocol: per-view error table (cached), then the result JSON.

Flow: protocol + converted ground truth + submission -> checks (refuse an invalid
submission) -> per source shard, views in bounded chunks: ground truth, aligned
predictions, quantities -> error table (Parquet, resumable, reused when nothing changed)
-> metrics, bootstrap intervals, curves, breakdowns -> ``RESULT.json`` (schema:
``handeval.scoring.result``, ``data_specs/result.schema.json``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from handeval import __version__
from handeval.mano.model_file import resolve_mano_dir
from handeval.metrics.errors import nanmean
from handeval.runner import Context, Executor, Job, Unit, content_key, run_job
from handeval.scoring import aggregate as agg
from handeval.scoring.protocols import Protocol, load_protocol
from handeval.scoring.quantities import compute_quantities, kind_of, prepare_quantities, temporal_quantities
from handeval.scoring.result import RESULT_KEYS, RESULT_SCHEMA, Result
from handeval.scoring.submissions import VERTEX_SAMPLE, SubmissionSource, check_submission, refusal
from handeval.scoring.table import (
    TABLE_LABELS,
    TableWriter,
    cached_key,
    log_path,
    part_path,
    read_table,
    table_verdict,
    write_part,
)
from handeval.scoring.truth import TruthBuilder, check_labels
from handeval.shards.manifest import INFO_PATH
from handeval.shards.reader import ShardDataset, rows_of
from handeval.shards.views import ViewTruth, read_view_truth
from handeval.util.atomic import check_destination, write_text_atomic
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError, is_number

CHUNK_VIEWS = 2048


def same_dataset(ds: ShardDataset, protocol: Protocol) -> None:
    """Refuse a protocol of another dataset, before anything else is said about the data."""
    want, have = protocol.spec["dataset"]["name"], ds.manifest.dataset.name
    if want != have:
        raise HandevalError(f"protocol {protocol.name} scores {want}, but {ds.root} holds {have!r}; choose a "
                            f"{have} protocol (`handeval protocols`)")


def deviations(ds: ShardDataset, protocol: Protocol, split: str) -> list[str]:
    """How the data differ from what the protocol pins (same dataset: ``same_dataset`` checked it)."""
    want, have = protocol.spec["dataset"], ds.manifest.dataset
    out = []
    if want.get("version") and want["version"] != have.version:
        out.append(f"dataset version {have.version!r}, protocol pins {want['version']!r}")
    if want.get("fps") and not have.variant.startswith(f"{want['fps']} fps"):
        out.append(f"dataset variant {have.variant!r}, protocol pins {want['fps']} fps")
    if split != want["split"]:
        out.append(f"split {split!r}, protocol pins {want['split']!r}")
    return out


def _cache_key(protocol: Protocol, ds: ShardDataset, split: str, pred_sha256: str, mano_dir: str | None) -> str:
    parts = {"protocol": protocol.sha256, "submission": pred_sha256, "gt": sha256_file(ds.root / INFO_PATH),
             "split": split, "handeval": __version__, "engine": _engine_fingerprint()}
    if protocol.needs_vertices():
        from handeval.mano import mano_files

        parts["mano"] = {k: sha256_file(v) for k, v in mano_files(mano_dir).items()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


#: Parts of the package an error table cannot depend on: what it reads from them arrives as files
#: whose hashes the key holds already (shards, labels), or they never run while scoring. Everything
#: else is in the fingerprint, so a new module counts until it is listed here.
_NOT_IN_TABLE = ("leaderboard", "readers", "synth", "convert.py", "zoo", "plots.py")


def _engine_fingerprint() -> str:
    """The code an error table is computed with, so that a cached table never outlives a change to it."""
    package = Path(__file__).resolve().parents[1]
    files = sorted(f for f in package.rglob("*.py") if f.relative_to(package).parts[0] not in _NOT_IN_TABLE)
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(package)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _gather(parts: list, truth: ViewTruth, name: str, dtype) -> np.ndarray | None:
    """The predictions of ``truth``'s views, gathered from the per-sequence parts (NaN where a part has none)."""
    first = getattr(parts[0][0], name)
    if first is None:
        return None
    out = np.full((len(truth),) + first.shape[1:], np.nan, dtype=dtype)
    for part, rows in parts:
        hit = rows >= 0
        out[hit] = getattr(part, name)[rows[hit]]
    return out


def _score_chunk(protocol: Protocol, builder: TruthBuilder, source: SubmissionSource, prepared: dict,
                 truth: ViewTruth) -> tuple[ViewTruth, dict, np.ndarray]:
    """One chunk of views: its predictions, row-aligned to the ground truth, and its quantities."""
    keys = {"sequence": truth.sequence, "frame": truth.frame, "camera": truth.camera}
    parts = [(part, rows_of(keys, {"sequence": part.sequence, "frame": part.frame, "camera": part.camera},
                            keys=("sequence", "frame", "camera")))
             for part in source.select(sorted(set(truth.sequence.tolist())))]
    found = np.any([rows >= 0 for _, rows in parts], axis=0)
    lacking = ~found & truth.present.any(axis=1)  # a view without an annotated hand needs no prediction
    if lacking.any():
        raise HandevalError(f"{source.path}: no prediction for {int(lacking.sum())} views of the protocol, "
                            f"e.g. {truth.sequence[lacking][0]} frame {truth.frame[lacking][0]}")
    pv = _gather(parts, truth, "vertices", builder.vertex_dtype)  # the ground truth's precision
    # IntagHand and InterWild score joints re-regressed from the meshes, the prediction's too (their
    # protocols require vertices: check_submission refused a submission without them).
    pj = builder.regress(pv) if builder.from_vertices else _gather(parts, truth, "joints", np.float64)
    cols = compute_quantities(protocol, truth, pj, pv, _gather(parts, truth, "hand_scores", np.float64), prepared)
    truth.vertices = None  # the rest of the shard's pass needs joints only
    return truth, cols, pj


@dataclass
class Scorer:
    """A worker's scoring of one submission under one protocol: the ground-truth builder (with its MANO
    layers), the submission read in pieces, the prepared quantities; built once per worker."""

    protocol: Protocol
    builder: TruthBuilder
    source: SubmissionSource
    prepared: dict
    table: Path


def open_scorer(gt_dir: str, pred: str, protocol: str, split: str, mano_dir: str | None, table: str) -> Scorer:
    """``protocol``: the path of the protocol's file (a shipped one's lies in the installed package)."""
    ds = ShardDataset(gt_dir)
    spec = load_protocol(protocol)
    builder = TruthBuilder(ds, spec, split, mano_dir)
    return Scorer(spec, builder, SubmissionSource(pred, ds, split), prepare_quantities(spec, builder), Path(table))


def score_unit(scorer: Scorer, index: int) -> dict:
    """The runner's task: one source shard's part of the error table, its views in bounded chunks."""
    shard = next(s for s in scorer.builder.shards if s.index == index)
    chunks = [_score_chunk(scorer.protocol, scorer.builder, scorer.source, scorer.prepared, truth)
              for truth in scorer.builder.chunks(shard, CHUNK_VIEWS)]
    part = write_part(scorer.table, index, _shard_table(scorer.protocol, chunks))
    meshes = scorer.builder.meshes
    return {"files": {part.relative_to(scorer.table.parent).as_posix(): sha256_file(part)},
            "built_with_mano": bool(meshes is not None and meshes.built_with_mano)}


def compute_error_table(ds: ShardDataset, protocol: Protocol, split: str, source: SubmissionSource, path: Path,
                        key: str, mano_dir: str | None, progress: bool, verdict: Callable[[bool], dict],
                        executor: Executor | None = None, on_job: Callable[[dict], None] | None = None) -> None:
    """One unit per source shard (``handeval.runner``), each writing its part of the table; the
    parts are then joined in shard order, so the table is the same on every backend. ``verdict(mano)``
    gives the result's verdict once it is known whether the MANO layers built ground truth."""
    writer = TableWriter(path, key)
    shards = ds.manifest.splits[split].shards
    context = Context("handeval.scoring.score:open_scorer", {
        "gt_dir": str(ds.root), "pred": str(source.path), "protocol": str(protocol.path), "split": split,
        "mano_dir": mano_dir, "table": str(path)})
    units = tuple(Unit(content_key("score", key, s.index), f"{split} shard {s.index}", {"index": s.index})
                  for s in shards)
    job = Job(f"score {protocol.name}", "handeval.scoring.score:score_unit", context, units, path.parent,
              writer.parts / "units", log_path(path))
    report = run_job(job, executor, progress)
    source.verify_unread(writer.sequences([s.index for s in shards]))  # a refused file never leaves a table
    # A quantity is absent (None) when the submission cannot give it, e.g. vertices not submitted.
    written = set().union(*(pq.read_schema(part_path(path, s.index)).names for s in shards))
    # Joints regressed from meshes use MANO's regressor even when the meshes are the source's own.
    mano = protocol.needs_vertices() and (protocol.joints_from_vertices or
                                          any(r["built_with_mano"] for r in report.results))
    writer.finish([s.index for s in shards], {q: kind_of(spec).shape(spec) if q in written else None
                                                 for q, spec in protocol.quantities.items()}, verdict(mano))
    if on_job is not None:
        on_job(report.summary())


def _shard_table(protocol: Protocol, chunks: list) -> agg.ErrorTable:
    if not chunks:
        return agg.ErrorTable(*(np.zeros(0, dtype=d) for d in (str, np.int64, str, str)), {}, {})

    def cat(name):
        return np.concatenate([getattr(t, name) for t, _, _ in chunks])

    truth = ViewTruth(cat("sequence"), cat("frame"), cat("camera"), cat("present"), cat("joints"), cat("valid"),
                      K=cat("K"), hand_type=cat("hand_type"), hand_type_valid=cat("hand_type_valid"),
                      labels={k: np.concatenate([t.labels[k] for t, _, _ in chunks]) for k in chunks[0][0].labels})
    columns = {}
    for name in chunks[0][1]:
        parts = [c[name] for _, c, _ in chunks]
        columns[name] = None if any(p is None for p in parts) else np.concatenate(parts)
    columns.update(temporal_quantities(protocol, truth, np.concatenate([pj for _, _, pj in chunks])))
    return agg.ErrorTable(truth.sequence, truth.frame, truth.camera, truth.hand_type, truth.labels,
                          {q: columns.get(q) for q in protocol.quantities})


def score(gt_dir: str | Path, pred: str | Path, protocol_name: str, out: str | Path, name: str | None = None,
          split: str | None = None, mano_dir: str | None = None, allow_deviation: bool = False,
          replicates: int = 1000, unit: str = "auto", seed: int = 0, progress: bool = True,
          executor: Executor | None = None, strict: bool = False, on_table: Callable[[Path, bool], None] | None = None,
          on_job: Callable[[dict], None] | None = None) -> dict:
    """Score ``pred`` against the converted ground truth under a protocol; write and return the result.

    The submission's errors refuse it; its warnings (heuristics) are recorded in the result
    and scoring goes on, unless ``strict``. Ground truth built with the synthetic MANO
    stand-in is a deviation: the result is marked not comparable. ``on_table(path, reused)``
    hears whether the per-view error table was reused from the cache (the result itself
    does not say, so that a rerun writes the same bytes); ``executor`` says where its units
    (source shards) run, and ``on_job`` hears the runner's summary when they did."""
    check_destination(out, "--out", is_folder=False, create=True)
    ds = ShardDataset(gt_dir)
    protocol = load_protocol(protocol_name)
    same_dataset(ds, protocol)
    split = split or protocol.split
    if split not in ds.splits:
        raise HandevalError(f"{ds.root} has no split {split!r} (it has {', '.join(ds.splits)}); the protocol pins "
                            f"{protocol.split!r}; convert that split, or pass --split with --allow-deviation")
    check_labels(ds, protocol)  # here, before any worker starts to find it out
    devs = deviations(ds, protocol, split)
    if devs and not allow_deviation:
        raise HandevalError(f"{ds.root} differs from what {protocol.name} pins: {'; '.join(devs)}. Pass "
                            "--allow-deviation to score anyway; the result is then marked not comparable")
    pred, out = Path(pred), Path(out)
    source = SubmissionSource(pred, ds, split)
    # The vertices of a large file are checked as scoring reads them (SubmissionSource); here a
    # sample of them feeds the units and frame checks.
    problems = check_submission(source.all, read_view_truth(ds, split), protocol,
                                source.vertex_batches(rows=VERTEX_SAMPLE) if source.streaming else None)
    refused = [p for p in problems if p["severity"] == "error" or strict]
    if refused:
        errors = any(p["severity"] == "error" for p in refused)
        raise HandevalError(refusal(pred, refused, f". Run `handeval check-submission --gt {gt_dir} --pred {pred} "
                                    f"--protocol {protocol.name}{'' if errors else ' --strict'}` for the full list"))
    warnings = [p for p in problems if p["severity"] == "warning"]
    table_path = out.with_name(out.stem + ".errors.parquet")
    pred_sha256 = sha256_file(pred)
    key = _cache_key(protocol, ds, split, pred_sha256, mano_dir)
    cached = cached_key(table_path) == key
    stand_in = resolve_mano_dir(mano_dir) is None

    def verdict(mano: bool) -> dict:
        # Ground truth that MANO built with the stand-in is scored, but never comparable with MANO's numbers.
        marks = devs + ([STAND_IN_DEVIATION] if mano and stand_in else [])
        return {"deviations": marks, "comparable": not marks, "warnings": warnings,
                "synthetic": ds.manifest.synthetic or (mano and stand_in)}

    if not cached:  # a cached table was computed from this very file, which passed then
        compute_error_table(ds, protocol, split, source, table_path, key, mano_dir, progress, verdict, executor,
                            on_job)
    if on_table is not None:
        on_table(table_path, cached)
    table = read_table(table_path)
    result = summarise_errors(table, protocol, replicates, unit, seed)
    result.update({
        "schema": RESULT_SCHEMA,
        "name": name or pred.stem,
        "protocol": protocol.summary(),
        # No local paths: a result is shared, and its identity is the content it was scored on.
        "dataset": {**ds.manifest.dataset.to_dict(), "split": split,
                    "manifest_sha256": sha256_file(ds.root / INFO_PATH)},
        "submission": {"file": pred.name, "format": source.all.format, "sha256": pred_sha256,
                       "rows": int(len(source.all.frame)), "vertices": source.has_vertices,
                       **({"provenance": source.all.provenance} if source.all.provenance else {}),
                       **_measured_speed(pred, pred_sha256, source.all.provenance)},
        **table_verdict(table_path),
        "errors_table": {"path": table_path.name, "sha256": sha256_file(table_path)},
        "handeval_version": __version__,
    })
    result = {k: result[k] for k in RESULT_KEYS if k in result}
    write_text_atomic(out, json.dumps(result, indent=1) + "\n")
    return result


def _measured_speed(pred: Path, sha256: str, made: dict | None) -> dict:
    """The speed the run that wrote ``pred`` measured, from the record its provenance names beside it
    (``NAME.run.json`` of ``handeval zoo run``; ``data_specs/zoo.md``), when that record measured this
    very file. A measurement is kept out of the submission's bytes, which depend on content only."""
    record = pred.parent / str((made or {}).get("measurements", ""))
    if not (made and made.get("measurements")) or not record.is_file():
        return {}
    try:
        data = json.loads(record.read_text())
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("submission", {}).get("sha256") != sha256 or "speed" not in data:
        return {}
    return {"speed": data["speed"]}


#: The deviation recorded when a protocol builds ground truth with MANO and no MANO files were given.
STAND_IN_DEVIATION = ("ground-truth meshes built with the synthetic MANO stand-in (no --mano-dir or "
                      "$HANDEVAL_MANO_DIR): numbers are not MANO's")


def summarise_errors(table: agg.ErrorTable, protocol: Protocol, replicates: int, unit: str, seed: int) -> dict:
    """Metrics with 95% intervals, PCK curves, the acceleration series and breakdowns, from the table."""
    n_seq = len(set(table.sequence.tolist()))
    if unit == "auto":
        unit = "sequence" if n_seq >= 20 else "frame"
    metrics, curves, breakdowns = {}, {}, {}
    for m in protocol.metrics:
        value, n = agg.metric_value(table, m)
        ci = agg.confidence_interval(table, m, unit, replicates, seed) \
            if value is not None and replicates > 0 else None
        metrics[m["name"]] = {"value": value, "unit": m.get("unit", ""), "ci95": ci, "n": n,
                              "quantity": m["quantity"], "reduce": m["reduce"]}
        if value is None:
            metrics[m["name"]]["note"] = "not computable from this submission (vertices or hand scores missing?)"
        if m["reduce"] == "auc" and value is not None:
            curves[m["name"]] = agg.pck_curve(table, m)
        b = agg.breakdowns(table, m) if value is not None else {}
        if b:
            breakdowns[m["name"]] = b
    return {"metrics": metrics,
            "bootstrap": {"unit": unit, "replicates": replicates, "seed": seed,
                          "clusters": agg.clusters(table, unit)[1], "sequences": n_seq},
            "curves": curves, "series": _acceleration_series(table, protocol), "breakdowns": breakdowns}


def _acceleration_series(table: agg.ErrorTable, protocol: Protocol) -> dict:
    """Per frame of the longest (sequence, camera) track, a track quantity's (the acceleration error's)
    values averaged over joints."""
    out = {}
    for m in protocol.metrics:
        values = table.columns.get(m["quantity"])
        if not kind_of(protocol.quantities[m["quantity"]]).whole_tracks or values is None \
                or m["quantity"] in {v["quantity"] for v in out.values()}:
            continue
        track = np.char.add(np.char.add(table.sequence.astype(str), "|"), table.camera.astype(str))
        names, counts = np.unique(track, return_counts=True)
        rows = np.flatnonzero(track == names[np.argmax(counts)])
        rows = rows[np.argsort(table.frame[rows])]
        per_frame = nanmean(values[rows].reshape(len(rows), -1), axis=1) * float(m.get("scale", 1))
        out[m["name"]] = {"quantity": m["quantity"], "sequence": str(table.sequence[rows[0]]),
                          "camera": str(table.camera[rows[0]]), "frame": table.frame[rows].tolist(),
                          "value": [None if not np.isfinite(v) else float(v) for v in per_frame],
                          "unit": m.get("unit", "")}
    return out


def result_table(result: Result) -> agg.ErrorTable:
    """The per-view error table a result was computed from: the file beside it with the recorded hash."""
    table = result.table_path
    if not table.is_file():
        raise HandevalError(f"{result.path}: its per-view error table {table.name} is not beside it; copy the table "
                            "next to the result (a result travels with its .errors.parquet), or rescore with "
                            "`handeval score`")
    if sha256_file(table) != result.errors_table["sha256"]:
        raise HandevalError(f"{result.path}: its error table {table.name} changed since the result was written "
                            "(sha256 differs); rescore with `handeval score`")
    return read_table(table)


def verify_result(result: Result) -> tuple[Protocol, agg.ErrorTable]:
    """The protocol and error table of a result whose numbers are the engine's own: every metric value (and count),
    curve, series and breakdown is computed again from the table, without bootstrap replicates
    (intervals are as recorded), and its verdict (deviations, comparable, synthetic, warnings) is the one
    recorded with the table. A result edited after scoring is refused, naming what differs."""
    protocol = result.shipped_protocol()
    table = result_table(result)
    fresh = summarise_errors(table, protocol, replicates=0, unit="frame", seed=0)
    edited = "the result was edited after scoring; rescore with `handeval score`"
    recorded = result.metrics
    extra = next((n for n in recorded if n not in fresh["metrics"]), None)
    if extra is not None:
        raise HandevalError(f"{result.path}: metric {extra!r} is not one of protocol {protocol.name}'s: {edited}")

    def without_ci(m):
        return {k: v for k, v in m.items() if k != "ci95"} if isinstance(m, dict) else m

    checks = [(f"metric {n}", without_ci(recorded.get(n)), without_ci(m)) for n, m in fresh["metrics"].items()]
    checks += [(section, getattr(result, section), fresh[section]) for section in ("curves", "series", "breakdowns")]
    checks += [(name, getattr(result, name), value) for name, value in table_verdict(result.table_path).items()]
    for what, have, want in checks:
        diff = _difference(have, want)
        if diff:
            where, have, want = diff
            scalar = not any(isinstance(v, (dict, list)) for v in (have, want))
            says = f"is {have!r} in the result but {want!r} from" if scalar else "does not match"
            raise HandevalError(f"{result.path}: {what}{where} {says} its error table {result.table_path.name}: "
                                f"{edited}")
    return protocol, table


def _difference(have, want, where: str = "") -> tuple[str, object, object] | None:
    """The first place where a recorded JSON value and the recomputed one differ: (where, have, want).
    Numbers agree to 1e-9 relative, so a result read on another machine (other float rounding) still agrees."""
    if isinstance(want, dict):
        if not isinstance(have, dict) or set(have) != set(want):
            return where, have, want
        return next((d for k in want if (d := _difference(have[k], want[k], f"{where}.{k}"))), None)
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return where, have, want
        return next((d for i, (h, w) in enumerate(zip(have, want)) if (d := _difference(h, w, f"{where}[{i}]"))),
                    None)
    if all(is_number(v) for v in (have, want)):
        same = math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(have) and math.isnan(want))
    else:
        same = type(have) is type(want) and have == want
    return None if same else (where, have, want)


def compare(path_a: str | Path, path_b: str | Path, replicates: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of every metric: B minus A, over the views both scored."""
    ra, rb = Result.from_file(path_a), Result.from_file(path_b)
    if ra.protocol["sha256"] != rb.protocol["sha256"]:
        raise HandevalError(f"{path_a} and {path_b} were scored under different protocols "
                            f"({ra.protocol['name']} {ra.protocol['sha256'][:12]} vs "
                            f"{rb.protocol['name']} {rb.protocol['sha256'][:12]}); they cannot be compared")
    if ra.dataset["manifest_sha256"] != rb.dataset["manifest_sha256"]:
        raise HandevalError(f"{path_a} and {path_b} were scored against different ground truth "
                            "(manifest hashes differ); score both against the same converted dataset")
    protocol = ra.shipped_protocol()
    ta, tb = result_table(ra), result_table(rb)
    unit = ra.bootstrap["unit"]
    metrics = {m["name"]: agg.paired_comparison(ta, tb, m, unit, replicates, seed) for m in protocol.metrics}
    return {"a": ra.name, "b": rb.name, "protocol": protocol.summary(),
            "bootstrap": {"unit": unit, "replicates": replicates, "seed": seed},
            "metrics": {k: v for k, v in metrics.items() if v is not None}}


def regroup(path: str | Path, by: str) -> dict:
    """Every metric of a result re-aggregated by ``sequence``, ``camera``, ``hand_type`` or a subset,
    from the cached error table (no rescoring)."""
    result = Result.from_file(path)
    protocol = result.shipped_protocol()
    table = result_table(result)
    subsets = [f.name for f in TABLE_LABELS if not f.shape and f.name in table.labels]  # one value per view
    if by in ("sequence", "camera", "hand_type"):
        labels = getattr(table, by)
    elif by in subsets:
        labels = np.where(table.labels[by], by, f"not {by}")
    else:
        raise HandevalError(f"--by {by}: choose sequence, camera, hand_type" + "".join(f", {k}" for k in subsets))
    return {m["name"]: agg.by_group(table, m, labels) for m in protocol.metrics}
