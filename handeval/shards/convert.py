"""Converting a dataset reader's sequences into shards, with a manifest, workers and resume.

The plan (which sequences go to which shard) depends only on the source, so shards are
independent units: workers write them in parallel, ``--resume`` skips the ones a
journal records as finished (and whose files still match their checksums), and a rerun
rewrites the same bytes. ``meta/info.json`` is written last, atomically, and depends
only on the source and the options that shape the output (``options``), never on where
the source or the output lie.

The journal ``meta/progress.jsonl`` holds the options, then per split its plan and what
the reader said about the split (so a resume with nothing left to write there never
parses the source again), then one line per finished shard, written by the process that
wrote it, in the same signal-proof step as the rename that put its files in place.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from handeval import __version__
from handeval.readers.base import DatasetReader
from handeval.readers.sources import SourceError, missing_entries, missing_files
from handeval.records.schema import SHARD_FORMAT_VERSION, features_dict
from handeval.shards.manifest import (
    INFO_PATH,
    Conventions,
    Converter,
    DatasetIdentity,
    Manifest,
    Options,
    ShardFile,
    SourceFile,
    SplitInfo,
    read_manifest,
    write_manifest,
)
from handeval.shards.writer import PlannedShard, plan_shards, write_shard
from handeval.util.atomic import check_destination, temporaries
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.util.workers import init_worker

JOURNAL = Path("meta") / "progress.jsonl"
#: What ``convert`` writes in its folder (``handeval labels`` adds ``labels/``); ``--overwrite`` removes these.
OUTPUTS = ("data", "meta", "labels")


_READER: DatasetReader | None = None  # the forked workers' reader (shared copy-on-write)


def _relative(path: Path, root: Path) -> str:
    """A source path as the manifest records it: relative to the source root, so that the
    manifest says what was converted, not where it lay."""
    return Path(path).relative_to(root).as_posix()


def _skipped(name: str, exc: HandevalError, root: Path) -> dict:
    if isinstance(exc, SourceError):
        return {"sequence": name, "file": _relative(exc.path, root), "reason": exc.problem}
    return {"sequence": name, "file": None, "reason": str(exc)}


def _not_skipped(name: str, exc: HandevalError) -> HandevalError:
    hint = f"; or pass --skip-bad to skip sequence {name} and record it"
    return SourceError(exc.path, exc.problem + hint) if isinstance(exc, SourceError) else HandevalError(f"{exc}{hint}")


def _append(path: Path, entry: dict) -> None:
    """One journal line in one O_APPEND write: lines from several workers never interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)


def _write_one(root: Path, shard: PlannedShard, chunk_frames: int, skip_bad: bool) -> dict:
    skipped, missing = [], Counter()

    def records():  # one sequence in memory at a time
        for name in shard.sequences:
            try:
                rec = _READER.read_sequence(shard.split, name)
            except HandevalError as exc:
                if not skip_bad:
                    raise _not_skipped(name, exc) from None
                skipped.append(_skipped(name, exc, _READER.root))
                continue
            # Images are referenced, not read: count the missing ones, one folder listing each.
            missing.update(missing_files(_READER.root, rec.views["image_path"]))
            missing.update(rec.missing)
            yield rec

    def journal(entry: dict) -> None:
        if not entry["sequences"]:  # every sequence was skipped: no files
            for f in shard.paths(root).values():
                f.unlink(missing_ok=True)
            entry["files"] = None
        entry["skipped"], entry["missing_files"] = skipped, missing_entries(missing)
        _append(root / JOURNAL, entry)

    return write_shard(root, shard, records(), chunk_frames, on_written=journal)


def _changed(root: Path, files: list[ShardFile]) -> str | None:
    """The first of a shard's files that is missing or differs from its checksum, else None."""
    for f in files:
        if not (root / f.path).is_file() or sha256_file(root / f.path) != f.sha256:
            return f.path
    return None


def _journaled_files(entry: dict) -> list[ShardFile]:
    return [ShardFile.from_dict(f, JOURNAL) for f in (entry.get("files") or {}).values()]


def _read_journal(root: Path, verify: bool = True) -> dict:
    """{"options", "plans": {split: plan line}, "done": {(split, index): shard entry}}; a line cut
    short by the interruption, or (``verify``) a shard whose files changed since, is left out."""
    out = {"options": None, "plans": {}, "done": {}}
    for line in (root / JOURNAL).read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "options" in entry:
            out["options"] = entry["options"]
        elif "plan" in entry:
            out["plans"][entry["plan"]] = entry
        elif not verify or _changed(root, _journaled_files(entry)) is None:
            out["done"][(entry["split"], entry["index"])] = entry
    return out


def _recorded_options(root: Path, state: str, journal: dict | None) -> dict | None:
    if journal is not None:
        return journal["options"]
    if state == "dataset":
        try:
            return read_manifest(root).options.to_dict()
        except (OSError, HandevalError):
            return None
    return None


def _note(message: str) -> None:
    tqdm.write(message, file=sys.stderr)  # never into a progress bar's line


def _describe(root: Path, state: str) -> str:
    if state == "interrupted":
        options = _read_journal(root, verify=False)["options"] or {}
        what = f" of {options['dataset']} (splits {', '.join(options['splits'])})" if options else ""
        return f"an interrupted conversion{what}"
    try:
        manifest = read_manifest(root)
    except (OSError, HandevalError):
        return f"a converted dataset ({INFO_PATH} is unreadable)"
    d, splits = manifest.dataset, ", ".join(manifest.splits)
    return f"a converted {d.name} {d.version} ({d.variant}; splits {splits})"


def _output_state(root: Path) -> str:
    """'new', 'dataset' (a finished conversion) or 'interrupted'; refuses folders convert must not touch."""
    check_destination(root, "--out")
    if not root.exists():
        return "new"
    if (root / INFO_PATH).is_file():
        return "dataset"
    if (root / JOURNAL).is_file():
        return "interrupted"
    found = sorted(p.name for p in root.iterdir())
    if found:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise HandevalError(f"--out {root} is not empty and holds no converted dataset (it has {shown}): choose a "
                            "new or empty folder")
    return "new"


def _refuse_existing(root: Path, state: str, resume: bool, overwrite: bool, options: dict,
                     recorded: dict | None) -> None:
    if state == "new" or overwrite:
        return
    if not resume:
        again = "--resume to continue it, or --overwrite to start again" if state == "interrupted" else \
            "--overwrite to replace it, or choose another --out"
        raise HandevalError(f"--out {root} already holds {_describe(root, state)}: pass {again}")
    if recorded != options:
        raise HandevalError(f"--out {root} holds {_describe(root, state)} made with other options "
                            f"({_differences(recorded or {}, options)}): run with its options to resume it, or pass "
                            "--overwrite instead of --resume to replace it")


def _differences(recorded: dict, options: dict) -> str:
    def text(v):
        return "none" if v is None else " ".join(v) if isinstance(v, list) else str(v)

    return "; ".join(f"{k} {text(recorded.get(k)) if k in recorded else 'not recorded'} there, {text(v)} asked"
                     for k, v in options.items() if recorded.get(k) != v)


def _nothing_to_do(root: Path) -> Manifest:
    """--resume on a finished conversion: every file must still match the manifest."""
    manifest = read_manifest(root)
    for split in manifest.splits.values():
        for shard in split.shards:
            changed = _changed(root, list(shard.files.values()))
            if changed is not None:
                raise HandevalError(f"{root / changed} is missing or no longer matches {INFO_PATH}: pass --overwrite "
                                    "instead of --resume to convert again")
    (root / JOURNAL).unlink(missing_ok=True)
    _note(f"{root} already holds this conversion, complete: nothing left to do")
    return manifest


def _plan(reader: DatasetReader, split: str, target_frames: int, skip_bad: bool) -> dict:
    """The split's journal plan line: shards, what the reader says about the split, plan-time skips."""
    try:
        return _plan_split(reader, split, target_frames, skip_bad)
    except SourceError as exc:
        if "--skip-bad" in exc.problem:  # a sequence's own file: the message already says what to do
            raise
        # A file the whole split needs (an annotation file, a split list): no sequence can be skipped around it.
        others = [s for s in reader.splits() if s != split]
        leave = f"; or convert the other split(s) alone with --split {' --split '.join(others)}" if others else ""
        raise SourceError(exc.path, f"{exc.problem} (every sequence of split {split!r} needs it, so --skip-bad "
                                    f"cannot skip it{leave})") from None


def _plan_split(reader: DatasetReader, split: str, target_frames: int, skip_bad: bool) -> dict:
    lengths, skipped = [], []
    for name, length in reader.sequence_lengths(split):
        if isinstance(length, SourceError):
            if not skip_bad:
                raise _not_skipped(name, length)
            skipped.append(_skipped(name, length, reader.root))
        else:
            lengths.append((name, length))
    return {"plan": split, "shards": [list(sh.sequences) for sh in plan_shards(split, lengths, target_frames)],
            "skipped": skipped, "missing": reader.missing(split), "left_out": reader.left_out(split),
            "missing_files": missing_entries(Counter(reader.missing_sources(split))),
            "sources": [{"path": _relative(p, reader.root), "sha256": sha256_file(p)}
                        for p in reader.source_files(split)]}


def _run(root: Path, todo: list[PlannedShard], chunk_frames: int, skip_bad: bool, workers: int, done) -> None:
    """Write ``todo``, calling ``done(entry)`` as each shard finishes (workers journal it themselves)."""
    if workers > 1 and len(todo) > 1:
        # Fork: the workers share the parsed source; they die with this process (init_worker).
        with mp.get_context("fork").Pool(min(workers, len(todo)), initializer=init_worker,
                                          initargs=(os.getpid(),)) as pool:
            pending = [pool.apply_async(_write_one, (root, sh, chunk_frames, skip_bad), callback=done) for sh in todo]
            for result in pending:
                result.get()
    else:
        for sh in todo:
            done(_write_one(root, sh, chunk_frames, skip_bad))


def convert(reader: DatasetReader, out: str | Path, splits: list[str] | None = None, target_frames: int = 100_000,
            chunk_frames: int = 10_000, workers: int = 1, resume: bool = False, overwrite: bool = False,
            skip_bad: bool = False, progress: bool = True, synthetic: bool = False) -> Manifest:
    """Convert ``splits`` (default: the reader's default splits) into ``out``; returns the manifest.

    An ``out`` that holds a conversion is refused unless ``overwrite`` (replace it) or
    ``resume`` (continue it, with the same options). ``synthetic`` marks a source that
    handeval generated (the demo), so that scores on it are never taken as real.
    """
    global _READER
    root = Path(out)
    if resume and overwrite:
        raise HandevalError("--resume and --overwrite exclude each other: --resume continues the conversion in --out, "
                            "--overwrite replaces it")
    available = reader.splits()
    splits = list(splits or reader.default_splits())
    for split in splits:
        if split not in available:
            raise HandevalError(f"split {split!r} is not in the source; found: {', '.join(available) or 'none'}")
    options = Options(dataset=reader.key, variant=reader.variant_option, splits=splits,
                      target_frames=target_frames, chunk_frames=chunk_frames)
    state = _output_state(root)
    journal = _read_journal(root) if resume and state == "interrupted" else None
    _refuse_existing(root, state, resume, overwrite, options.to_dict(), _recorded_options(root, state, journal))
    if resume and state == "dataset":
        return _nothing_to_do(root)

    started = journal is not None

    def start() -> None:
        """Clear and open the folder only once the source has planned: a bad --root or split leaves it be."""
        nonlocal started
        if started:
            return
        if state != "new":
            for name in OUTPUTS:
                shutil.rmtree(root / name, ignore_errors=True)
        try:
            (root / "meta").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HandevalError(f"--out {root}: cannot create it ({exc.strerror}); choose a folder you can write "
                                "to") from None
        _append(root / JOURNAL, {"options": options.to_dict()})
        started = True

    _READER = reader
    if journal is not None:
        for leftover in temporaries(root / "data"):  # files a killed worker was writing
            leftover.unlink()
    info_splits, sources = {}, {}
    try:
        for split in splits:
            plan, done = _split_plan(reader, root, split, journal, start, target_frames, skip_bad)
            entries = _write_split(reader.name, root, plan, done, chunk_frames, skip_bad, workers, progress)
            info_splits[split] = _split_info(plan, entries)
            sources[split] = [SourceFile.from_dict(f, JOURNAL) for f in plan["sources"]]
    except BaseException as exc:
        if started:  # the files killed workers were writing (the journal keeps what finished)
            for leftover in temporaries(root / "data"):
                leftover.unlink(missing_ok=True)
        if started and not isinstance(exc, KeyboardInterrupt) and not _read_journal(root, verify=False)["done"]:
            # Nothing finished: remove what this run made, so that the same command can simply run again.
            for name in OUTPUTS:
                shutil.rmtree(root / name, ignore_errors=True)
        raise
    finally:
        _READER = None
    manifest = Manifest(
        format_version=SHARD_FORMAT_VERSION,
        dataset=DatasetIdentity(name=reader.name, version=reader.version, variant=reader.variant),
        conventions=Conventions(**reader.conventions),
        features=features_dict(),
        splits=info_splits,
        sources=sources,
        options=options,
        synthetic=synthetic,
        converter=Converter(handeval_version=__version__),
    )
    write_manifest(root, manifest)
    (root / JOURNAL).unlink(missing_ok=True)
    return manifest


def _split_plan(reader: DatasetReader, root: Path, split: str, journal: dict | None, start, target_frames: int,
                skip_bad: bool) -> tuple[dict, dict[int, dict]]:
    """The split's plan and its shards already written: from the journal when resuming (the
    source is read again only if shards are left, and must not have changed), else made now."""
    plan = journal["plans"].get(split) if journal else None
    done = {i: e for (s, i), e in journal["done"].items() if s == split} if journal else {}
    if plan is None:
        plan = _plan(reader, split, target_frames, skip_bad)
        start()
        _append(root / JOURNAL, plan)
    elif len(done) < len(plan["shards"]):
        _note(f"{reader.name} {split}: {len(plan['shards']) - len(done)} of {len(plan['shards'])} shards left to "
              "write; reading the source's annotations again to write them")
        again = _plan(reader, split, target_frames, skip_bad)
        if {k: again[k] for k in ("shards", "sources")} != {k: plan[k] for k in ("shards", "sources")}:
            raise HandevalError(f"the source in {reader.root} changed since the interrupted conversion in {root}: "
                                "pass --overwrite instead of --resume to convert it again")
    return plan, done


def _write_split(name: str, root: Path, plan: dict, done: dict[int, dict], chunk_frames: int, skip_bad: bool,
                 workers: int, progress: bool) -> list[dict]:
    """Write the plan's shards that are not done; returns every shard's entry, in plan order."""
    split = plan["plan"]
    shards = [PlannedShard(split, i, tuple(names)) for i, names in enumerate(plan["shards"])]
    todo = [sh for sh in shards if sh.index not in done]
    entries = dict(done)
    bar = tqdm(total=len(shards), initial=len(shards) - len(todo), desc=f"{name} {split}", unit="shard",
               disable=not progress)

    def finished(entry: dict) -> None:
        entries[entry["index"]] = entry
        bar.update(1)

    try:
        _run(root, todo, chunk_frames, skip_bad, workers, finished)
    finally:
        bar.close()  # before anything else is printed
    return [entries[i] for i in sorted(entries)]


def _split_info(plan: dict, entries: list[dict]) -> SplitInfo:
    missing = Counter({m["path"]: m["files"] for m in plan["missing_files"]})
    for e in entries:
        missing.update({m["path"]: m["files"] for m in e["missing_files"]})
    written = [e for e in entries if e["files"]]
    return SplitInfo.from_dict({
        "frames": sum(e["files"]["frames"]["rows"] for e in written),
        "views": sum(e["files"]["views"]["rows"] for e in written),
        "sequences": sum(len(e["sequences"]) for e in entries),
        "skipped": plan["skipped"] + [k for e in entries for k in e["skipped"]],
        "missing_files": missing_entries(missing),
        "missing": plan["missing"],
        "left_out": plan["left_out"],
        "shards": [{k: v for k, v in e.items() if k not in ("skipped", "missing_files")} for e in written],
    }, JOURNAL)
