"""File checksums, and a memo that lets a reader verify a file once rather than on every read.

The memo maps a file (absolute path, size, modification time) to the sha256 it had when
last hashed, in the user's cache folder, so re-scoring a dataset does not re-hash
gigabytes of unchanged shards; any write to a file changes its size or mtime and so
forces a fresh hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from handeval.util.atomic import write_text_atomic
from handeval.util.errors import HandevalError

_MEMO_NAME = "verified-files.json"


def cache_root() -> Path:
    """``$HANDEVAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/handeval``, else ``~/.cache/handeval``."""
    root = os.environ.get("HANDEVAL_CACHE_DIR") or \
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "handeval"
    return Path(root)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def changed_file(root: str | os.PathLike, files: dict[str, str]) -> str | None:
    """The first of ``files`` ({path relative to ``root``: sha256}) that is missing or no longer has
    that sha256, else None."""
    for rel, sha in files.items():
        path = Path(root) / rel
        if not path.is_file() or sha256_file(path) != sha:
            return rel
    return None


def _memo_path() -> Path:
    return cache_root() / _MEMO_NAME


_MEMOS: dict[Path, dict] = {}  # per memo file, read once per process


def _load_memo() -> dict:
    path = _memo_path()
    if path not in _MEMOS:
        try:
            memo = json.loads(path.read_text())
        except (OSError, ValueError):
            memo = {}  # no memo yet, or a damaged one: hash afresh
        _MEMOS[path] = memo if isinstance(memo, dict) else {}
    return _MEMOS[path]


def verify_file(path: Path, expected: str, fix: str) -> None:
    """Raise a user error naming ``path`` unless its content hashes to ``expected``."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise HandevalError(f"{path} cannot be read ({exc.strerror}); {fix}") from None
    key = str(path.resolve())
    stamp = [st.st_size, st.st_mtime_ns]
    memo = _load_memo()
    seen = memo.get(key)
    if isinstance(seen, list) and seen[:2] == stamp:
        actual = seen[2]
    else:
        actual = sha256_file(path)
        memo[key] = stamp + [actual]
        try:
            write_text_atomic(_memo_path(), json.dumps(memo))
        except OSError:
            pass  # an unwritable cache only costs a re-hash next time
    if actual != expected:
        raise HandevalError(f"{path} is corrupt: its sha256 is not the one meta/info.json records (the file was "
                            f"truncated, edited or half-copied); {fix}")
