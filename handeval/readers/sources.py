"""What every reader shares about its source files: one error naming the file, and missing files.

Readers open each annotation file with :func:`load` (parse it, check its keys) and read
values out of it inside :func:`fields`; whatever goes wrong, from a truncated zip to a
missing key, becomes one :class:`SourceError` that names the file, says what was
expected and how to fix it. ``handeval convert`` skips the sequence on ``--skip-bad``
and records the file. Files that are only referenced (images) are not opened: the
driver counts the missing ones with :func:`missing_files`, one folder listing at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from handeval.util.errors import HandevalError

FIX = "re-download or re-extract it"


class SourceError(HandevalError):
    """A source file that is missing, unreadable, or not what its reader expects: "PATH: problem"."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem

    def __reduce__(self):  # raised in a worker process, re-raised in the parent
        return type(self), (self.path, self.problem)


def missing(path: Path, expected: str) -> SourceError:
    return SourceError(path, f"missing; expected {expected}: {FIX}")


def corrupt(path: Path, expected: str, why: str | BaseException) -> SourceError:
    why = why if isinstance(why, str) else f"{type(why).__name__}: {why}"
    # One line, and the path once: libraries repeat it (the message starts with it) and some span lines.
    why = " ".join(why.replace(str(path), path.name).split())
    return SourceError(path, f"not {expected} ({why}); the file is truncated or corrupt: {FIX}")


def load(path: Path, parse: Callable[[Path], object], expected: str, keys: Iterable[str] = ()):
    """``parse(path)``, with every failure named: ``expected`` says what the file should be
    (e.g. "a Dex-YCB pose.npz with pose_m and pose_y"); ``keys`` must be in the result."""
    try:
        data = parse(path)
    except FileNotFoundError:
        raise missing(path, expected) from None
    except HandevalError:
        raise
    except Exception as exc:  # parsers raise anything on a bad file: BadZipFile, YAMLError, EOFError, ...
        raise corrupt(path, expected, exc) from None
    keys = list(keys)
    if keys and not isinstance(data, dict):
        raise corrupt(path, expected, f"a {type(data).__name__}, not a mapping")
    absent = [k for k in keys if k not in data]
    if absent:
        raise corrupt(path, expected, f"no key {absent[0]!r}")
    return data


@contextlib.contextmanager
def fields(path: Path, expected: str) -> Iterator[None]:
    """Reading values out of a parsed file: a wrong type, shape or a missing key names the file."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise corrupt(path, expected, exc) from None


# Parsers for load(); each reads one whole file.

def json_file(path: Path):
    return json.loads(path.read_bytes())


def text_file(path: Path) -> str:
    return path.read_text()


def npz_file(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:  # members are decompressed (and checked) here
        return {k: data[k] for k in data.files}


def pickle_file(path: Path):
    from handeval.util import safe_pickle  # never plain pickle: a source file must not run code

    return safe_pickle.load(path)[0]


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def missing_files(root: Path, paths: Iterable[str]) -> Counter:
    """The ``paths`` (relative to ``root``) that do not exist, as {path: count}.

    A missing folder is one entry, ``"folder/"``, counting the files below it (the highest
    folder missing, so an archive that was never extracted is one line). Costs one
    listing per folder, not a stat per file, and decodes nothing.
    """
    by_folder: dict[str, list[str]] = {}
    for p in paths:
        folder, _, name = p.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    out: Counter = Counter()
    for folder, names in by_folder.items():
        try:
            present = set(os.listdir(root / folder))
        except OSError:  # absent, not a folder, or unreadable
            out[_highest_missing(root, folder)] += len(names)
            continue
        prefix = f"{folder}/" if folder else ""
        out.update(prefix + n for n in names if n not in present)
    return out


def _highest_missing(root: Path, folder: str) -> str:
    parts = folder.split("/")
    for i in range(1, len(parts) + 1):
        if not (root / "/".join(parts[:i])).is_dir():
            return "/".join(parts[:i]) + "/"
    return folder + "/"  # it exists but cannot be listed


def missing_entries(counts: Counter) -> list[dict]:
    """Counts as the manifest stores them: ``[{"path", "files"}]`` sorted by path."""
    return [{"path": p, "files": n} for p, n in sorted(counts.items())]
