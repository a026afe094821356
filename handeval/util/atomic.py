"""Atomic file writes: a reader never sees a half-written file, and a crash leaves the old one.

The temporary file is created private (``mkstemp`` makes it 0600, so a half-written file is
never readable by others) and given the mode a plain ``open()`` would have given it, 0666
less the umask, just before the rename: outputs are as shareable as the user's other files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from handeval.util.errors import HandevalError


def _current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` would race threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    ``suffix`` keeps the extension libraries look at (``np.savez`` appends ``.npz`` otherwise).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) != tmp:
            raise
        # The user asked for ``path``: the temporary name would only puzzle them.
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def check_destination(path: str | os.PathLike, option: str, is_folder: bool = True, create: bool = False) -> Path:
    """Say in one line why ``path``, given with ``option``, cannot be written, before any work is done.

    ``is_folder``: ``path`` is a folder to write into, else a file. ``create``: make the folder (or the
    file's folder) now; otherwise it is made when the first file is written.
    """
    path = Path(path)
    if not is_folder and path.is_dir():
        raise HandevalError(f"{option} {path} is a folder: give a file path")
    folder = path if is_folder else path.parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise HandevalError(f"{option} {path}: {existing} is a file, not a folder, so nothing can be made under it; "
                            f"choose another {option}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise HandevalError(f"{option} {path}: cannot write in {existing} (permission denied); choose a folder you "
                            "can write to")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HandevalError(f"{option} {path}: cannot create {folder} ({exc.strerror}); choose a folder you can "
                                "write to") from None
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def append_line(path: str | os.PathLike, line: str) -> None:
    """``line`` and a newline appended in one O_APPEND write: lines from several processes never
    interleave (a journal's)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def temporaries(folder: str | os.PathLike) -> list[Path]:
    """Files under ``folder`` that look like :func:`atomic_path`'s temporaries (``.NAME.XXXXXXXX``),
    left behind by a process killed while writing."""
    return sorted(p for p in Path(folder).rglob(".*") if p.is_file() and p.name.count(".") >= 2)
