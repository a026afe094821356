"""The manifest ``meta/info.json`` as typed data, its version gate and its one writer.

``convert`` writes the manifest and ``handeval labels`` rewrites it with its ``labels``
section, both through :func:`write_manifest`; everything else reads it through
:func:`read_manifest`. A loaded manifest is checked whole before any shard is touched: an
unknown key, a missing field or a value of the wrong type is named by where it sits
(``splits.test.shards[3].files``). ``to_dict`` gives back exactly the dict ``from_dict``
read, so a manifest that is read and written again keeps its bytes.

The version gate runs first, on the raw JSON, because data of another format need not fit
these classes: data of a newer format asks for a newer handeval, and data of an older one
says how to migrate (convert again, with the command rebuilt from its ``options``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shlex
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from handeval import __version__
from handeval.conventions import HAND_SIDES
from handeval.records.schema import SHARD_FORMAT_VERSION
from handeval.util.atomic import write_text_atomic
from handeval.util.errors import HandevalError, is_integer
from handeval.util.errors import shown as _shown

INFO_PATH = Path("meta") / "info.json"
#: What the current major format added, for the message that asks to migrate older data.
FORMAT_CHANGES = "2.0 added per-view hand presence, hand type and joint deviation"
#: The ``handeval convert`` line when a manifest's options cannot tell the dataset and its options.
ANY_CONVERSION = "handeval convert DATASET --root SOURCE_ROOT --out OUT_DIR"
_REDO = ("it is not the manifest handeval wrote (it was edited or damaged): convert the dataset again into a fresh "
         "folder")


class _Invalid(Exception):
    """A value that does not fit its field: where it sits and what is wrong (made into a HandevalError)."""

    def __init__(self, where: str, problem: str):
        super().__init__(where, problem)
        self.where, self.problem = where, problem


def _omitted(default=None):
    """A field that is left out of the JSON while it holds its default (None or empty): the keys and
    sections only some manifests have. Every other field is required."""
    if default == {}:
        return field(default_factory=dict, metadata={"omitted": True})
    return field(default=default, metadata={"omitted": True})


class _Record:
    """``from_dict``/``to_dict`` for the manifest's dataclasses, driven by their type hints."""

    @classmethod
    def from_dict(cls, data, source: str | Path = INFO_PATH):
        """``data`` (JSON from ``source``) as this record; a HandevalError names any field that does not fit."""
        return _load(cls, data, source, _REDO)

    def to_dict(self) -> dict:
        return _encode(self)

    def _check(self) -> tuple[str, str] | None:
        """(field, what is wrong with it) beyond its type, or None: a hook for the records that need one."""
        return None


def _load(cls, data, source, fix: str):
    try:
        return _decode(cls, data, "")
    except _Invalid as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise HandevalError(f"{source}: {where}{exc.problem}; {fix}") from None


def _at(where: str, key) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


_EXPECTED = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}


def _expect(value, tp: type, where: str, nullable: bool = False) -> None:
    ok = is_integer(value) if tp is int else isinstance(value, tp)
    if not ok:
        raise _Invalid(where, f"expected {_EXPECTED[tp]}{' or null' if nullable else ''}, got {_shown(value)}")


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _decode(tp, value, where: str, nullable: bool = False):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return copy.deepcopy(value)
    if origin in (typing.Union, types.UnionType):  # X | None
        (inner,) = [a for a in args if a is not type(None)]
        return None if value is None else _decode(inner, value, where, nullable=True)
    if dataclasses.is_dataclass(tp):
        _expect(value, dict, where, nullable)
        return _decode_record(tp, value, where)
    if origin is list:
        _expect(value, list, where, nullable)
        return [_decode(args[0], v, _at(where, i)) for i, v in enumerate(value)]
    if origin is tuple:  # a [start, stop) range
        if not isinstance(value, list) or len(value) != len(args):
            raise _Invalid(where, f"expected a list of {len(args)} integers, got {_shown(value)}")
        return tuple(_decode(a, v, _at(where, i)) for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        _expect(value, dict, where, nullable)
        return {k: _decode(args[1], v, _at(where, k)) for k, v in value.items()}
    _expect(value, tp, where, nullable)
    return value


def _decode_record(cls, value: dict, where: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        them = "them" if len(unknown) > 1 else "it"
        raise _Invalid(where, f"unknown key{'s' * (len(unknown) > 1)} {', '.join(unknown)} (known: "
                              f"{', '.join(fields)}; if you added {them} by hand, remove {them})")
    missing = [name for name, f in fields.items() if name not in value and not f.metadata.get("omitted")]
    if missing:
        raise _Invalid(where, f"missing {', '.join(missing)}")
    hints = _hints(cls)
    record = cls(**{name: _decode(hints[name], v, _at(where, name)) for name, v in value.items()})
    wrong = record._check()
    if wrong:
        raise _Invalid(_at(where, wrong[0]), wrong[1])
    return record


def _encode(value):
    if dataclasses.is_dataclass(value):
        out = {}
        # In the file's order (it is written with sorted keys): to_dict() equals the loaded JSON, order included.
        for f in sorted(dataclasses.fields(value), key=lambda f: f.name):
            v = getattr(value, f.name)
            if not (f.metadata.get("omitted") and v in (None, {})):
                out[f.name] = _encode(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


_RECORD = dict(frozen=True, kw_only=True)


@dataclass(**_RECORD)
class DatasetIdentity(_Record):
    """Which dataset the shards hold, as the reader names it (e.g. InterHand2.6M, v1.0, "5 fps, H+M")."""

    name: str
    version: str
    variant: str


@dataclass(**_RECORD)
class Conventions(_Record):
    """The frames and units of every conversion, and what the reader adds (its MANO convention)."""

    units: str = "metres"
    camera_frame: str = "OpenCV (x right, y down, z forward)"
    world_frame: str = "per sequence; views map it to their camera with X_cam = R X + t"
    joint_order: str = "canonical (data_specs/conventions.md)"
    hands: list[str] = field(default_factory=lambda: list(HAND_SIDES))
    mano: dict[str, Any] | None = _omitted()        # ManoConvention.to_dict()
    mano_frame: str | None = _omitted()             # "world" or "opengl_camera" (HO3D)
    mano_note: str | None = _omitted()
    segmentation: dict[str, Any] | None = _omitted()  # how the hand masks are stored (labels.occlusion.Masks)


@dataclass(**_RECORD)
class ShardFile(_Record):
    path: str      # relative to the dataset folder
    rows: int
    sha256: str


@dataclass(**_RECORD)
class SequenceEntry(_Record):
    """Where a sequence lies in its shard: [start, stop) rows of each table, and its row groups."""

    sequence: str
    frames: tuple[int, int]
    views: tuple[int, int]
    row_groups: tuple[int, int]
    meta: dict[str, Any] = _omitted({})  # the reader's facts, e.g. HIC's interaction, HO3D's list_rows


@dataclass(**_RECORD)
class ShardEntry(_Record):
    split: str
    index: int
    files: dict[str, ShardFile]  # "frames" and "views"
    sequences: list[SequenceEntry]

    def _check(self) -> tuple[str, str] | None:
        if sorted(self.files) != ["frames", "views"]:
            return "files", f"expected frames and views, got {', '.join(sorted(self.files)) or 'none'}"
        return None


@dataclass(**_RECORD)
class Skipped(_Record):
    """A sequence ``--skip-bad`` left out, with the source file at fault (None if no one file was)."""

    sequence: str
    file: str | None
    reason: str


@dataclass(**_RECORD)
class MissingFiles(_Record):
    """Source files that did not exist: a file, or a folder (``path`` ending in ``/``) counting those below it."""

    path: str
    files: int


@dataclass(**_RECORD)
class SplitInfo(_Record):
    frames: int
    views: int
    sequences: int
    skipped: list[Skipped]
    missing_files: list[MissingFiles]
    missing: dict[str, str]   # what the source lacks by design, and why
    left_out: list[str]       # source items not converted, each with why
    shards: list[ShardEntry]


@dataclass(**_RECORD)
class SourceFile(_Record):
    path: str  # relative to the source root
    sha256: str


@dataclass(**_RECORD)
class Options(_Record):
    """What shapes the output, as given to ``convert``: ``--resume`` refuses other options."""

    dataset: str             # the CLI name
    variant: str | None      # the --variant value that reproduces the reader
    splits: list[str]
    target_frames: int
    chunk_frames: int

    def command(self) -> str:
        """The ``handeval convert`` line that re-creates the conversion, with placeholders for the
        two paths (the manifest records neither)."""
        words = ["handeval", "convert", self.dataset, "--root", "SOURCE_ROOT", "--out", "OUT_DIR"]
        if self.variant:
            words += ["--variant", self.variant]
        for split in self.splits:
            words += ["--split", split]
        words += ["--target-frames", str(self.target_frames), "--chunk-frames", str(self.chunk_frames)]
        return shlex.join(words)


@dataclass(**_RECORD)
class Converter(_Record):
    handeval_version: str


@dataclass(**_RECORD)
class LabelFile(_Record):
    """A label file, and the source shard file it was computed from (stale once that changes)."""

    rows: int
    sha256: str
    source: str
    source_sha256: str


@dataclass(**_RECORD)
class LabelSetEntry(_Record):
    version: str
    table: str                        # "frames" or "views"
    parameters: dict[str, Any]
    features: list[dict[str, Any]]    # Feature.to_dict() of each column besides the keys
    files: dict[str, LabelFile]       # by path relative to the dataset folder

    def _check(self) -> tuple[str, str] | None:
        return None if self.table in ("frames", "views") else ("table", f"expected frames or views, got {self.table!r}")


@dataclass(**_RECORD)
class Manifest(_Record):
    """``meta/info.json``: see ``data_specs/shards.md`` for each field."""

    format_version: str
    dataset: DatasetIdentity
    conventions: Conventions
    features: dict[str, list[dict[str, Any]]]  # shards.schema.features_dict()
    splits: dict[str, SplitInfo]
    sources: dict[str, list[SourceFile]]
    options: Options
    synthetic: bool
    converter: Converter
    labels: dict[str, LabelSetEntry] = _omitted({})  # written by `handeval labels`

    @classmethod
    def from_dict(cls, data, source: str | Path = INFO_PATH) -> Manifest:
        if isinstance(data, dict):
            check_format_version(data, source)
        return _load(cls, data, source, f"{_REDO}: {_recreate(data)}")


def _recreate(data) -> str:
    """The command that converts the dataset of a raw manifest again, as far as its options tell."""
    try:
        return _decode(Options, data.get("options"), "options").command()
    except (_Invalid, AttributeError):
        return ANY_CONVERSION


def _version(value) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", value) if isinstance(value, str) else None
    return (int(match[1]), int(match[2])) if match else None


def _release(version: str) -> tuple[int, ...]:
    """A version's leading numbers, for comparing releases (``0.1.0`` < ``0.2.0.dev1``)."""
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def check_format_version(data: dict, source: str | Path = INFO_PATH) -> None:
    """Refuse a manifest of another format, saying what to do: upgrade handeval for a newer one
    (a newer minor version may add fields this one does not know), convert again for an older one."""
    value, ours = data.get("format_version"), _version(SHARD_FORMAT_VERSION)
    have = _version(value)
    if have is None:
        wrong = f"expected a version such as {SHARD_FORMAT_VERSION!r}, got {_shown(value)}" \
            if "format_version" in data else "missing"
        raise HandevalError(f"{source}: format_version: {wrong}; {_REDO}: {_recreate(data)}")
    if have > ours:
        converter = data.get("converter")
        writer = converter.get("handeval_version") if isinstance(converter, dict) else None
        if isinstance(writer, str) and _release(writer) <= _release(__version__):
            # This handeval, or an older one, never wrote that format: the file was edited.
            raise HandevalError(f"{source}: format version {value!r} is newer than any handeval {writer} writes "
                                f"({SHARD_FORMAT_VERSION}); {_REDO}: {_recreate(data)}")
        by = f" (written by handeval {writer})" if isinstance(writer, str) else ""
        raise HandevalError(f"{source}: format version {value!r}{by} is newer than the {SHARD_FORMAT_VERSION} this "
                            f"handeval ({__version__}) reads: upgrade handeval (pip install -U handeval, or pull "
                            "and reinstall your clone)")
    if have[0] < ours[0]:
        raise HandevalError(f"{source}: format version {value!r} is older than the {SHARD_FORMAT_VERSION} this "
                            f"handeval reads ({FORMAT_CHANGES}). Re-convert from the source files with this version: "
                            f"{_recreate(data)}")


def read_manifest(root: str | Path) -> Manifest:
    """The manifest of the dataset folder ``root``, checked (a HandevalError says what is wrong)."""
    root = Path(root)
    path = root / INFO_PATH
    if not path.is_file():
        raise HandevalError(f"{root} is not a converted dataset: {INFO_PATH} is missing (create one with "
                            "`handeval convert`)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise HandevalError(f"{path} is not valid JSON ({exc})") from None
    return Manifest.from_dict(data, path)


def write_manifest(root: str | Path, manifest: Manifest) -> None:
    """Write ``root/meta/info.json`` atomically, in the one byte layout every manifest has."""
    write_text_atomic(Path(root) / INFO_PATH, json.dumps(manifest.to_dict(), indent=1, sort_keys=True) + "\n")
