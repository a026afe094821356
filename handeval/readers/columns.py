"""Columns on disk for a reader's annotation index: one raw file of fixed-size rows per column.

Rows are appended while a source file is parsed, written in place when the index is reordered,
and read a slice (or a set of runs) at a time with plain reads, never memory-mapped: a process
holds the rows it asked for, not every page of the index it once touched, so its memory does
not grow with the dataset. The page cache still shares the files between the workers of a node.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class Columns:
    """The columns ``spec`` (``{name: (dtype, row shape)}``) stored as ``folder/{prefix}.{name}.bin``."""

    def __init__(self, folder: str | Path, prefix: str, spec: dict[str, tuple[str, tuple[int, ...]]]):
        self.folder, self.prefix = Path(folder), prefix
        self.spec = {name: (np.dtype(dtype), tuple(shape)) for name, (dtype, shape) in spec.items()}

    def path(self, name: str) -> Path:
        return self.folder / f"{self.prefix}.{name}.bin"

    def _row_bytes(self, name: str) -> int:
        dtype, shape = self.spec[name]
        return dtype.itemsize * math.prod(shape)

    def __len__(self) -> int:
        name = next(iter(self.spec))
        path = self.path(name)
        return path.stat().st_size // self._row_bytes(name) if path.exists() else 0

    def _bytes(self, name: str, values) -> memoryview:
        dtype, shape = self.spec[name]
        return memoryview(np.ascontiguousarray(values, dtype=dtype).reshape(-1, *shape)).cast("B")

    def append(self, **values) -> None:
        """Rows added at the end of each named column."""
        for name, rows in values.items():
            with open(self.path(name), "ab") as fh:
                fh.write(self._bytes(name, rows))

    def allocate(self, rows: int) -> None:
        """Every column ``rows`` long (zeros), to be filled by :meth:`writer`."""
        for name in self.spec:
            with open(self.path(name), "wb") as fh:
                fh.truncate(rows * self._row_bytes(name))

    @contextlib.contextmanager
    def writer(self) -> Iterator:
        """``write(name, start, rows)``: rows written in place from row ``start``."""
        with contextlib.ExitStack() as files:
            handles = {name: files.enter_context(open(self.path(name), "r+b")) for name in self.spec}

            def write(name: str, start: int, rows) -> None:
                fh = handles[name]
                fh.seek(start * self._row_bytes(name))
                fh.write(self._bytes(name, rows))
                fh.flush()  # read back by path while the file is open

            yield write

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of one column."""
        dtype, shape = self.spec[name]
        count = max(stop - start, 0)
        values = np.fromfile(self.path(name), dtype=dtype, count=count * math.prod(shape),
                             offset=start * self._row_bytes(name))
        return values.reshape(count, *shape)

    def rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """The given rows of one column, in their order, read run by run."""
        rows = np.asarray(rows, dtype=np.int64)
        dtype, shape = self.spec[name]
        if not len(rows):
            return np.zeros((0, *shape), dtype=dtype)
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        runs = np.split(ordered, np.flatnonzero(np.diff(ordered) != 1) + 1)
        out = np.empty((len(rows), *shape), dtype=dtype)
        out[order] = np.concatenate([self.read(name, int(run[0]), int(run[-1]) + 1) for run in runs])
        return out

    def remove(self) -> None:
        for name in self.spec:
            self.path(name).unlink(missing_ok=True)
