"""The dataset readers by the name ``handeval convert DATASET`` takes, and opening one."""

from __future__ import annotations

from pathlib import Path

from handeval.readers.base import DatasetReader
from handeval.readers.dexycb import DexYCB
from handeval.readers.hic import HIC
from handeval.readers.ho3d import HO3D
from handeval.readers.interhand26m import InterHand26M
from handeval.util.errors import HandevalError

#: Every reader class by its ``key``, in the order `handeval convert --help` lists them.
READERS: dict[str, type[DatasetReader]] = {cls.key: cls for cls in (InterHand26M, HIC, DexYCB, HO3D)}


def open_reader(dataset: str, root: str | Path, variant: str | None = None, progress: bool = False) -> DatasetReader:
    """The reader of ``dataset`` at ``root``; ``progress`` shows bars while it parses large indexes."""
    if dataset not in READERS:
        raise HandevalError(f"unknown dataset {dataset!r}; choose one of {', '.join(READERS)}")
    return READERS[dataset].open(root, variant, progress)
