"""Validating a converted dataset: every problem is listed, none stops the others."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from handeval.conventions import HAND_SIDES, HAND_TYPE_PRESENCE, MM_PER_M, hand_types
from handeval.readers.sources import missing_files
from handeval.records.schema import SCHEMAS
from handeval.shards.manifest import INFO_PATH, ShardEntry
from handeval.shards.reader import ShardDataset
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError

#: Views of one frame whose own 3D joints differ by more than this are flagged (Dex-YCB annotates per view).
VIEW_TOLERANCE_MM = 2.0


def validate_dataset(directory, mano_dir=None, mano_tolerance_mm: float = 15.0,
                     source_root=None) -> tuple[list[dict], list[str]]:
    """Return (problems, names of the checks run). MANO agreement is checked against ``mano_dir``,
    else ``$HANDEVAL_MANO_DIR``; with neither, that check is skipped (the stand-in says nothing
    about real fits). With ``source_root``, every view's image must exist there (stat only)."""
    from handeval.mano.model_file import resolve_mano_dir

    if source_root is not None and not Path(source_root).is_dir():
        raise HandevalError(f"--root {source_root} is not a folder: give the source root the dataset was converted "
                            "from, or leave --root out")
    problems: list[dict] = []

    def problem(check, where, message):
        problems.append({"check": check, "where": where, "message": message})

    try:
        ds = ShardDataset(directory)
    except HandevalError as exc:
        where = str(Path(directory) / INFO_PATH)
        # The message names the manifest itself; the problem's place says it once.
        return [{"check": "manifest", "where": where, "message": str(exc).removeprefix(f"{where}: ")}], ["manifest"]
    checked = ["manifest", "schema", "checksums", "files", "sources", "frames", "values", "validity", "views"]
    for meta in ds.manifest.splits.values():
        for shard in meta.shards:
            for kind, f in shard.files.items():
                path = ds.root / f.path
                if not path.is_file():
                    problem("checksums", f.path, "file is missing")
                    continue
                if sha256_file(path) != f.sha256:
                    problem("checksums", f.path, "sha256 differs from meta/info.json: the file changed "
                            "after conversion; re-run `handeval convert`")
                try:
                    schema = pq.read_schema(path)
                    rows = pq.ParquetFile(path).metadata.num_rows
                except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                    problem("schema", f.path, f"not a readable Parquet file ({exc})")
                    continue
                if not schema.equals(SCHEMAS[kind], check_metadata=False):
                    problem("schema", f.path, f"columns differ from the {kind} schema of format "
                            f"{ds.manifest.format_version}")
                if rows != f.rows:
                    problem("checksums", f.path, f"{rows} rows, the manifest says {f.rows}")
    _check_files(ds, problem)
    _check_sources(ds, source_root, problem)
    if source_root is not None:
        checked.append("images")
    if ds.manifest.labels:
        from handeval.shards.layout import stale_labels

        checked.append("labels")
        for name, rel in stale_labels(ds):
            problem("labels", rel, f"{name} labels are stale: their source shard changed or is missing; "
                    f"run `handeval labels {name} {ds.root}` again")
    mano_dir = resolve_mano_dir(mano_dir)
    meshes = None
    if mano_dir and ds.manifest.conventions.mano is not None:
        from handeval.shards.meshes import HandMeshes

        meshes = HandMeshes(ds, mano_dir)
        checked.append("mano")
    for name in ds.sequences():
        try:
            seq = ds.sequence(name)
        except Exception as exc:  # unreadable shard: already reported above, keep going
            problem("frames", name, f"cannot read the sequence ({type(exc).__name__}: {exc})")
            continue
        _check_sequence(seq, problem)
        if meshes is not None:
            _check_mano(seq, meshes, mano_tolerance_mm, problem)
    return problems, checked


def _check_files(ds: ShardDataset, problem) -> None:
    """Files in the folder that neither `convert` nor `labels` wrote."""
    from handeval.shards.layout import LOGS, labels_written

    expected = {INFO_PATH.as_posix()} | labels_written(ds.manifest)
    expected |= {p.relative_to(ds.root).as_posix() for p in (ds.root / LOGS).glob("*.log.jsonl")}
    expected |= {f.path for meta in ds.manifest.splits.values() for shard in meta.shards for f in shard.files.values()}
    found = sorted((Path(folder) / name).relative_to(ds.root).as_posix()
                   for folder, _, names in os.walk(ds.root) for name in names)
    for rel in found:
        if rel not in expected:
            problem("files", rel, "not written by `handeval convert` or `handeval labels` (a leftover of an "
                    "interrupted write, or a file put here by hand): remove it, or move it out of the dataset folder")


def _check_sources(ds: ShardDataset, source_root, problem) -> None:
    """Source files missing or unreadable at conversion; with ``source_root``, as the source is now."""
    for split, meta in ds.manifest.splits.items():
        for k in meta.skipped:
            problem("sources", k.sequence, "skipped at conversion (--skip-bad): " +
                    (f"{k.file}: " if k.file else "") + k.reason)
        recorded = {m.path: m.files for m in meta.missing_files}
        if source_root is None:
            for path, n in recorded.items():
                problem("sources", f"{split}: {path}", f"{n} source file(s) missing at conversion; extract them and "
                        "convert again (pass --root to check the source as it is now)")
            continue
        root = Path(source_root)
        now = missing_files(root, [p for shard in meta.shards for p in _image_paths(ds, shard)])
        for path, n in recorded.items():
            if path in now:
                continue
            if (root / path).is_dir() if path.endswith("/") else (root / path).is_file():
                problem("sources", f"{split}: {path}", f"missing at conversion, present in {root} now: convert "
                        "again (--overwrite) to include it")
            else:
                now[path] = n
        for path, n in sorted(now.items()):
            problem("sources", f"{split}: {path}", f"{n} source file(s) missing from {root}")


def _image_paths(ds: ShardDataset, shard: ShardEntry) -> list[str]:
    try:
        return pq.read_table(ds.root / shard.files["views"].path, columns=["image_path"]) \
            .column("image_path").to_pylist()
    except (OSError, ValueError):  # an unreadable shard: the schema check reports it
        return []


def _check_sequence(seq, problem) -> None:
    f, v = seq.frames, seq.views
    frames = f["frame"]
    if (np.diff(frames) <= 0).any():
        problem("frames", seq.name, "frame indices are not strictly increasing")
    missing = ~np.isin(v["frame"], frames)
    if missing.any():
        problem("frames", seq.name, f"{int(missing.sum())} views refer to frames the sequence does not have")
    joints, valid = f["joints"], f["joints_valid"]
    finite = np.isfinite(joints).all(axis=-1)
    if (valid & ~finite).any():
        t = int(np.argwhere(valid & ~finite)[0, 0])
        problem("values", f"{seq.name} frame {frames[t]}", "a joint marked valid is not finite")
    if (~valid & finite).any():
        t = int(np.argwhere(~valid & finite)[0, 0])
        problem("validity", f"{seq.name} frame {frames[t]}", "an invalid joint has coordinates (expected NaN)")
    present = f["hand_present"]
    if (valid.any(axis=-1) & ~present).any():
        t = int(np.argwhere(valid.any(axis=-1) & ~present)[0, 0])
        problem("validity", f"{seq.name} frame {frames[t]}", "valid joints on a hand marked absent")
    unknown = sorted(set(f["hand_type"]) - set(HAND_TYPE_PRESENCE))
    if unknown:
        problem("values", seq.name, f"unknown hand_type {unknown[0]!r}; expected one of {sorted(HAND_TYPE_PRESENCE)}")
    elif hand_types(present) != list(f["hand_type"]):
        problem("validity", seq.name, "hand_type disagrees with hand_present")
    rows = np.searchsorted(frames, v["frame"]).clip(0, max(len(frames) - 1, 0))
    if "hand_present" in v and len(frames):
        seen = np.zeros_like(present)
        np.logical_or.at(seen, rows, v["hand_present"])
        if (seen != present).any():
            t = int(np.argwhere(seen != present)[0, 0])
            problem("validity", f"{seq.name} frame {frames[t]}", "the frame's hand_present is not the union of its "
                    "views' hand_present")
    if "joints_deviation" in v:
        dev = np.nan_to_num(v["joints_deviation"], nan=0.0) * MM_PER_M
        if (dev > VIEW_TOLERANCE_MM).any():
            i = int(np.argmax(dev.max(axis=1)))
            problem("views", f"{seq.name} frame {v['frame'][i]} camera {v['camera'][i]}",
                    f"{int((dev > VIEW_TOLERANCE_MM).any(axis=1).sum())} views' own 3D joints disagree with their "
                    f"frame's by more than {VIEW_TOLERANCE_MM:g} mm (worst {dev.max():.1f} mm): the source's per-view "
                    "annotations are inconsistent; scores in those views use the frame's joints")
    for key in ("K", "R", "t"):
        if not np.isfinite(v[key]).all():
            problem("values", seq.name, f"camera {key} is not finite")
    rr = np.einsum("nij,nkj->nik", v["R"].astype(np.float64), v["R"].astype(np.float64))
    if np.abs(rr - np.eye(3)).max() > 1e-4:
        problem("values", seq.name, "a camera rotation R is not orthonormal")
    if (v["width"] <= 0).any() or (v["height"] <= 0).any():
        problem("values", seq.name, "image size is not positive")
    if "mano_valid" in f and "mano_pose" in f:
        mv = f["mano_valid"]
        if not np.isfinite(f["mano_pose"][mv]).all():
            problem("values", seq.name, "a MANO fit marked valid is not finite")


def _check_mano(seq, meshes, tolerance_mm: float, problem) -> None:
    f = seq.frames
    for h, side in enumerate(HAND_SIDES):
        rows, out = meshes.fits(f, h)
        if out is None:
            continue
        joints = meshes.world(out.joints)
        valid = f["joints_valid"][rows, h]
        dist = np.linalg.norm(joints - f["joints"][rows, h], axis=-1)
        mean = np.where(valid, dist, 0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1) * MM_PER_M
        bad = mean > tolerance_mm
        if bad.any():
            problem("mano", f"{seq.name} {side}", f"{int(bad.sum())}/{len(rows)} frames have MANO joints more than "
                    f"{tolerance_mm:g} mm from the stored joints (worst {mean.max():.1f} mm, frame "
                    f"{f['frame'][rows[int(np.argmax(mean))]]})")
