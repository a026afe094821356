"""Converting a dataset reader's sequences into shards, with a manifest, on the unit runner.

The plan (which sequences go to which shard) depends only on the source, so shards are
independent units of one job (``handeval.runner``): workers write them in parallel, a rerun
(``--resume``, the default) skips the ones whose records say they are finished and whose
files still match their checksums, and every backend writes the same bytes. ``meta/info.json``
is the job's merge step, written last, atomically, in plan order; it depends only on the source
and the options that shape the output (``options``), never on where the source or the output lie.

While a conversion is under way, ``meta/progress.jsonl`` holds the options, then per split its
plan and what the reader said about the split; ``meta/units/convert/`` holds the runner's record of
each finished shard; ``meta/index/`` holds the annotation index of a reader whose split is one
large file (InterHand2.6M's ``data.json``), parsed once here in one streaming pass and read by
every worker a sequence at a time. A resume never parses the source again: it checks the source
files' checksums against the plan. All three are removed once the manifest is written; the
per-shard timings stay in ``meta/logs/convert.log.jsonl``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from handeval import __version__
from handeval.readers.base import DatasetReader
from handeval.readers.sources import SourceError, missing_entries, missing_files
from handeval.records.schema import SHARD_FORMAT_VERSION, features_dict
from handeval.runner import Context, Executor, Job, Unit, UnitsFailed, content_key, run_job
from handeval.runner.journal import Journal
from handeval.shards.layout import job_files
from handeval.shards.manifest import (
    INFO_PATH,
    Conventions,
    Converter,
    DatasetIdentity,
    Manifest,
    Options,
    SourceFile,
    SplitInfo,
    read_manifest,
    write_manifest,
)
from handeval.shards.writer import PlannedShard, plan_shards, write_shard
from handeval.util.atomic import append_line, check_destination, temporaries
from handeval.util.checksums import changed_file, sha256_file
from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve

JOURNAL = Path("meta") / "progress.jsonl"
INDEX = Path("meta") / "index"
#: What ``convert`` writes in its folder (``handeval labels`` adds ``labels/``); ``--overwrite`` removes these.
OUTPUTS = ("data", "meta", "labels")


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
    append_line(path, json.dumps(entry, sort_keys=True))


@dataclass
class Source:
    """A worker's view of the conversion: the reader (on the annotation indexes the client wrote)
    and how to write; built once per worker (``open_source``), shared by its units."""

    reader: DatasetReader
    out: Path
    chunk_frames: int
    skip_bad: bool


def open_source(reader: str, root: str, variant: str | None, indexes: dict[str, str], out: str, chunk_frames: int,
                skip_bad: bool) -> Source:
    opened = resolve(reader).open(root, variant)
    for split, folder in indexes.items():
        opened.use_index(split, Path(folder))
    return Source(opened, Path(out), chunk_frames, skip_bad)


def write_unit(source: Source, split: str, index: int, sequences: list[str]) -> dict:
    """The runner's task: write one planned shard; its result holds the shard's journal entry."""
    shard, reader = PlannedShard(split, index, tuple(sequences)), source.reader
    skipped, missing = [], Counter()

    def records():  # one sequence in memory at a time
        for name in shard.sequences:
            try:
                rec = reader.read_sequence(shard.split, name)
            except HandevalError as exc:
                if not source.skip_bad:
                    raise _not_skipped(name, exc) from None
                skipped.append(_skipped(name, exc, reader.root))
                continue
            # Images are referenced, not read: count the missing ones, one folder listing each.
            missing.update(missing_files(reader.root, rec.views["image_path"]))
            missing.update(rec.missing)
            yield rec

    entry = write_shard(source.out, shard, records(), source.chunk_frames)
    if not entry["sequences"]:  # every sequence was skipped: no files
        for f in shard.paths(source.out).values():
            f.unlink(missing_ok=True)
        entry["files"] = None
    entry["skipped"], entry["missing_files"] = skipped, missing_entries(missing)
    return {"files": {f["path"]: f["sha256"] for f in (entry["files"] or {}).values()}, "entry": entry}


def _read_journal(root: Path) -> dict:
    """{"options", "plans": {split: plan line}}; a line cut short by the interruption is left out."""
    out = {"options": None, "plans": {}}
    for line in (root / JOURNAL).read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "options" in entry:
            out["options"] = entry["options"]
        elif "plan" in entry:
            out["plans"][entry["plan"]] = entry
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
        options = _read_journal(root)["options"] or {}
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
        again = "leave out --no-resume to continue it, or pass --overwrite to start again" if state == "interrupted" \
            else "pass --overwrite to replace it, or choose another --out"
        raise HandevalError(f"--out {root} already holds {_describe(root, state)}: {again}")
    if recorded != options:
        raise HandevalError(f"--out {root} holds {_describe(root, state)} made with other options "
                            f"({_differences(recorded or {}, options)}): run with its options to resume it, or pass "
                            "--overwrite to replace it")


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
            changed = changed_file(root, {f.path: f.sha256 for f in shard.files.values()})
            if changed is not None:
                raise HandevalError(f"{root / changed} is missing or no longer matches {INFO_PATH}: pass --overwrite "
                                    "to convert again")
    _clear_progress(root)
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


def convert(reader: DatasetReader, out: str | Path, splits: list[str] | None = None, target_frames: int = 100_000,
            chunk_frames: int = 10_000, executor: Executor | None = None, resume: bool = True,
            overwrite: bool = False, skip_bad: bool = False, progress: bool = True, synthetic: bool = False,
            on_job: Callable[[dict], None] | None = None) -> Manifest:
    """Convert ``splits`` (default: the reader's default splits) into ``out``; returns the manifest.

    An ``out`` that holds a conversion is continued (``resume``, the default: with the same
    options) or replaced (``overwrite``); with neither it is refused. ``executor`` says where the
    shards are written (default: this process). ``synthetic`` marks a source that handeval
    generated (the demo), so that scores on it are never taken as real. ``on_job`` hears the
    runner's summary (units done, skipped, retried, failed; wall time) when shards were written.
    """
    root = Path(out)
    resume = resume and not overwrite
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

    if journal is not None:
        for leftover in temporaries(root / "data"):  # files a killed worker was writing
            leftover.unlink()
    try:
        plans = {split: _split_plan(reader, root, split, journal, start, target_frames, skip_bad) for split in splits}
        report = run_job(_job(reader, root, options, plans, chunk_frames, skip_bad), executor, progress)
    except BaseException as exc:
        if started:  # the files killed workers were writing (the records keep what finished)
            for leftover in temporaries(root / "data"):
                leftover.unlink(missing_ok=True)
        finished = exc.finished if isinstance(exc, UnitsFailed) else 0
        if journal is None and started and not finished and not isinstance(exc, KeyboardInterrupt):
            # Nothing finished: remove what this run made, so that nothing half-made is left to explain.
            for name in OUTPUTS:
                shutil.rmtree(root / name, ignore_errors=True)
        raise
    entries: dict[str, list[dict]] = {split: [] for split in splits}
    for result in report.results:
        entries[result["entry"]["split"]].append(result["entry"])
    manifest = Manifest(
        format_version=SHARD_FORMAT_VERSION,
        dataset=DatasetIdentity(name=reader.name, version=reader.version, variant=reader.variant),
        conventions=Conventions(**reader.conventions),
        features=features_dict(),
        splits={split: _split_info(plans[split], entries[split]) for split in splits},
        sources={split: [SourceFile.from_dict(f, JOURNAL) for f in plans[split]["sources"]] for split in splits},
        options=options,
        synthetic=synthetic,
        converter=Converter(handeval_version=__version__),
    )
    write_manifest(root, manifest)
    for leftover in temporaries(root / "data"):  # what workers killed mid-shard were writing (rerun since)
        leftover.unlink(missing_ok=True)
    _clear_progress(root)
    report.close()
    if on_job is not None:
        on_job(report.summary())
    return manifest


def _job(reader: DatasetReader, root: Path, options: Options, plans: dict, chunk_frames: int, skip_bad: bool) -> Job:
    """One unit per planned shard, keyed by what its bytes depend on."""
    units = tuple(Unit(content_key("convert", __version__, options.to_dict(), split, index, names, plan["sources"]),
                       f"{split} shard {index}", {"split": split, "index": index, "sequences": names})
                  for split, plan in plans.items() for index, names in enumerate(plan["shards"]))
    cls = type(reader)
    context = Context("handeval.shards.convert:open_source", {
        "reader": f"{cls.__module__}:{cls.__qualname__}", "root": str(reader.root), "variant": reader.variant_option,
        "indexes": {split: str(root / INDEX / split) for split, plan in plans.items() if plan["index"]},
        "out": str(root), "chunk_frames": chunk_frames, "skip_bad": skip_bad})
    return Job(f"convert {reader.name}", "handeval.shards.convert:write_unit", context, units, root,
               *job_files(root, "convert"))


def _clear_progress(root: Path) -> None:
    """What only an unfinished conversion needs: its journal, annotation indexes and unit records."""
    (root / JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(root / INDEX, ignore_errors=True)
    Journal(job_files(root, "convert")[0]).clear()


def _split_plan(reader: DatasetReader, root: Path, split: str, journal: dict | None, start, target_frames: int,
                skip_bad: bool) -> dict:
    """The split's plan: from the journal when resuming (the source must not have changed since,
    by its files' checksums: nothing is parsed again unless its index was lost), else made now,
    with the reader's annotation index written before the plan line that says it exists."""
    plan = journal["plans"].get(split) if journal else None
    index = root / INDEX / split
    if plan is None:
        plan = _plan(reader, split, target_frames, skip_bad)
        start()
        plan["index"] = reader.write_index(split, index)
        _append(root / JOURNAL, plan)
        return plan
    sources = [{"path": _relative(p, reader.root), "sha256": sha256_file(p)} for p in reader.source_files(split)]
    if sources != plan["sources"]:
        raise HandevalError(f"the source in {reader.root} changed since the interrupted conversion in {root}: "
                            "pass --overwrite to convert it again")
    if plan["index"] and not (index / "index.json").is_file():
        _note(f"{reader.name} {split}: the annotation index in {index} is gone; parsing the source again")
        reader.write_index(split, index)
    return plan


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
